using System.CommandLine;
using System.Globalization;
using Parley.Cli.Terminal;
using Parley.Client;
using Parley.Messaging;
using Parley.Protocol;
using Parley.Protocol.Text;

namespace Parley.Cli.Commands;

/// <summary>
/// <c>parley devices [list | revoke ID]</c>: the account's devices (device tokens), connecting and
/// logging in exactly like <c>parley chat</c>; the same views serve chat's `devices` and `revoke`.
/// </summary>
internal static class DevicesCommand
{
    internal static Command Create()
    {
        ChatConnectOptions connect = new();
        Argument<string> action = new("action") { Description = "list (default) or revoke", DefaultValueFactory = _ => "list" };
        Argument<string?> deviceId = new("id") { Description = "The device to revoke, as 'list' shows it", Arity = ArgumentArity.ZeroOrOne };
        Command command = new("devices", "List the devices logged in to your account, or revoke one") { action, deviceId };
        connect.AddTo(command);
        command.SetAction((result, cancellationToken) => RunAsync(connect.Read(result), result.GetValue(action)!, result.GetValue(deviceId), cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(ChatCommand.Settings settings, string action, string? deviceId, CancellationToken cancellationToken)
    {
        ChatConsole console = new();
        Func<ChatClient, CancellationToken, Task<bool>> run;
        switch (action)
        {
            case "list" when deviceId is null:
                run = (client, token) => ListAsync(console, client, token);
                break;
            case "revoke" when deviceId is not null:
                run = (client, token) => RevokeAsync(console, client, deviceId, token);
                break;
            default:
                console.WriteError("[ERROR] Usage: parley devices [list | revoke ID]");
                return ExitCodes.Usage;
        }
        return await new ChatCommand.Session(console).RunAsync(settings, cancellationToken,
            async (client, token) => await run(client, token) ? ExitCodes.Success : ExitCodes.Failure);
    }

    /// <summary>Prints the account's devices; false when the server refused or the connection failed.</summary>
    internal static async Task<bool> ListAsync(ChatConsole console, ChatClient client, CancellationToken cancellationToken) =>
        await TryAsync(console, async () =>
        {
            DeviceInfo[] devices = await client.ListDevicesAsync(cancellationToken);
            console.WriteLine($"[DEVICES] {devices.Length} device{(devices.Length == 1 ? "" : "s")} (revoke one with its id)");
            foreach (DeviceInfo device in devices)
            {
                console.WriteLine($"  {UntrustedText.Sanitize(device.DeviceId, 32),-12}  created {Time(device.CreatedAt)}  last used {Time(device.LastUsedAt)}{(device.Current ? "  (this device)" : "")}");
            }
        });

    internal static async Task<bool> RevokeAsync(ChatConsole console, ChatClient client, string deviceId, CancellationToken cancellationToken)
    {
        if (deviceId.Length == 0)
        {
            console.WriteError("[ERROR] Usage: revoke <device id> (see 'devices')");
            return false;
        }
        bool own = deviceId == client.DeviceId;
        return await TryAsync(console, async () =>
        {
            await client.RevokeDeviceAsync(deviceId, cancellationToken);
            console.WriteLine($"[STATUS] Device {UntrustedText.Sanitize(deviceId, 32)} revoked{(own ? " (this device: the server ends this connection)" : "")}");
        });
    }

    private static async Task<bool> TryAsync(ChatConsole console, Func<Task> request)
    {
        try
        {
            await request();
            return true;
        }
        catch (ChatException e)
        {
            console.WriteError($"[ERROR] {UntrustedText.Sanitize(e.Message)}");
            return false;
        }
        catch (Exception e) when (e is ChatConnectionException or ParleyProtocolException or IOException)
        {
            console.WriteError($"[ERROR] Disconnected: {UntrustedText.Sanitize(e.Message)}");
            return false;
        }
    }

    private static string Time(long unixMilliseconds) =>
        DateTimeOffset.FromUnixTimeMilliseconds(unixMilliseconds).ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);
}
