using System.Globalization;
using Parley.Tests.Support;

namespace Parley.Tests.Cli;

/// <summary>
/// A name the server does not know is created only when asked for (issue 14): `--register` in a
/// script, the question on a terminal; a typo in a script fails with its own exit code.
/// </summary>
public class RegistrationCliTests
{
    private static ParleyProcess Chat(TempDirectory temp, TestServer server, string user, string passwordFile, params string[] extra) =>
        ParleyProcess.Start(temp.Path, new Dictionary<string, string> { ["PARLEY_HOME"] = temp.File($"home-{user}-{Guid.NewGuid():N}") },
            ["chat", "--user", user, "--host", "127.0.0.1", "--port", server.Port.ToString(CultureInfo.InvariantCulture),
             "--password-file", passwordFile, "--trust-new", .. extra]);

    [Fact]
    public async Task A_script_creates_an_account_only_with_register()
    {
        using TempDirectory temp = new();
        await using TestServer server = await TestServer.StartAsync();
        File.WriteAllText(temp.File("password"), "alice's long passphrase\n");

        await using (ParleyProcess typo = Chat(temp, server, "alcie", temp.File("password")))
        {
            await typo.WaitForLineAsync("[ERROR] alcie is not registered on this server; to create the account, run again with --register.");
            Assert.Equal(7, await typo.WaitForExitAsync());
        }
        // The typo created nothing: the server still does not know the name.
        await using (Parley.Client.ChatClient probe = await Parley.Client.ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions))
        {
            Parley.Messaging.LoginResult result = await probe.LoginAsync("alcie", "alice's long passphrase", null, register: false);
            Assert.Equal(Parley.Messaging.ErrorCodes.UnknownUser, result.Code);
        }

        await using (ParleyProcess created = Chat(temp, server, "alice", temp.File("password"), "--register"))
        {
            await created.WaitForLineAsync("[CLIENT] Authenticated as alice (new account registered)");
            created.CloseInput();
            Assert.Equal(0, await created.WaitForExitAsync());
        }
        // An existing account needs no --register, from another device (no token saved there).
        await using (ParleyProcess again = Chat(temp, server, "alice", temp.File("password")))
        {
            string line = await again.WaitForLineAsync("[CLIENT] Authenticated as alice");
            Assert.DoesNotContain("new account", line);
            again.CloseInput();
            Assert.Equal(0, await again.WaitForExitAsync());
        }
    }

    [Fact]
    public async Task An_empty_password_is_bad_usage()
    {
        using TempDirectory temp = new();
        await using TestServer server = await TestServer.StartAsync();
        File.WriteAllText(temp.File("empty"), "\n");
        await using ParleyProcess chat = Chat(temp, server, "alice", temp.File("empty"), "--register");
        await chat.WaitForLineAsync("[ERROR] A password is required.");
        Assert.Equal(2, await chat.WaitForExitAsync());
    }
}
