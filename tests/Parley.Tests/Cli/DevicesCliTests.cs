using System.Globalization;
using Parley.Client;
using Parley.Messaging;
using Parley.Tests.Support;

namespace Parley.Tests.Cli;

/// <summary>`parley devices` and chat's `devices` / `revoke`, through the real executable against a real server.</summary>
public class DevicesCliTests
{
    private static ParleyProcess Parley(TempDirectory temp, string device, int port, params string[] command)
    {
        File.WriteAllText(temp.File("alice.password"), "alice's long passphrase\n");
        Dictionary<string, string> environment = new() { ["PARLEY_HOME"] = temp.File("home-" + device) };
        return ParleyProcess.Start(temp.Path, environment,
            [.. command, "--user", "alice", "--host", "127.0.0.1", "--port", port.ToString(CultureInfo.InvariantCulture),
             "--password-file", temp.File("alice.password"), "--trust-new", "--register"]);
    }

    [Fact]
    public async Task Devices_lists_this_account_s_devices_and_revokes_one()
    {
        using TempDirectory temp = new();
        await using TestServer server = await TestServer.StartAsync();
        await using (ParleyProcess laptop = Parley(temp, "laptop", server.Port, "devices"))
        {
            Assert.Contains("(this device)", await laptop.WaitForLineAsync("  "));
            Assert.Equal(0, await laptop.WaitForExitAsync());
        }
        string laptopToken = new ParleyHome(temp.File("home-laptop")).ReadToken(server.Server.Fingerprint, "alice")!;

        string laptopId;
        await using (ParleyProcess phone = Parley(temp, "phone", server.Port, "devices", "list"))
        {
            await phone.WaitForLineAsync("[DEVICES] 2 devices");
            Assert.Equal(0, await phone.WaitForExitAsync());
            string other = Assert.Single(phone.Stdout.Split('\n'), l => l.StartsWith("  ", StringComparison.Ordinal) && !l.Contains("(this device)", StringComparison.Ordinal));
            laptopId = other.Trim().Split(' ')[0];
        }
        Assert.Matches("^[0-9a-f]{12}$", laptopId);

        await using (ParleyProcess phone = Parley(temp, "phone", server.Port, "devices", "revoke", laptopId))
        {
            await phone.WaitForLineAsync($"[STATUS] Device {laptopId} revoked");
            Assert.Equal(0, await phone.WaitForExitAsync());
        }
        await using (ChatClient client = await ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions))
        {
            Assert.Equal("invalid or revoked device token", (await client.LoginAsync("alice", null, laptopToken).WithTimeout()).Error);
        }

        // The same from inside a chat; a device that is not this account's is refused clearly.
        await using ParleyProcess chat = Parley(temp, "phone", server.Port, "chat");
        await chat.WaitForLineAsync("[CLIENT] Authenticated as alice (device token)");
        await chat.WriteLineAsync("devices");
        await chat.WaitForLineAsync("[DEVICES] 1 device");
        await chat.WriteLineAsync($"revoke {laptopId}");
        await chat.WaitForLineAsync($"[ERROR] your account has no device '{laptopId}'");
        await chat.WriteLineAsync("quit");
        // The refused revoke is a failed command: a script sees it in the exit status.
        Assert.Equal(1, await chat.WaitForExitAsync());
    }

    [Fact]
    public async Task Devices_with_a_bad_action_is_a_usage_error()
    {
        using TempDirectory temp = new();
        await using ParleyProcess bad = Parley(temp, "laptop", 1, "devices", "delete-everything");
        Assert.Equal(2, await bad.WaitForExitAsync());
        Assert.Contains("Usage: parley devices", bad.Stdout + bad.Stderr);
    }
}
