using System.Globalization;
using Parley.Tests.Support;

namespace Parley.Tests.Cli;

/// <summary>
/// Issue 8, client state: what `parley chat` remembers (last message id, device token) belongs to a
/// server key and an account, so neither a reset database nor a new key on the same host:port loses
/// messages or receives a token meant for someone else. Through the real executable.
/// </summary>
public partial class MessengerEndToEndTests
{
    private static async Task<(ParleyProcess Server, string Fingerprint)> StartServerOnPortAsync(TempDirectory temp, int port, string data)
    {
        ParleyProcess server = ParleyProcess.Start(temp.Path, null, "server", "--port", port.ToString(CultureInfo.InvariantCulture), "--data", data);
        string identity = await server.WaitForLineAsync("[SERVER] Identity");
        await server.WaitForLineAsync("[SERVER] Waiting for connections...");
        return (server, identity.Split(' ')[^1]);
    }

    private static async Task StopAsync(ParleyProcess server)
    {
        await SignalAsync(server, "TERM");
        Assert.Equal(0, await server.WaitForExitAsync());
    }

    /// <summary>Bob sends alice <paramref name="count"/> messages and both leave: alice's remembered last id is then at least <paramref name="count"/>.</summary>
    private static async Task ExchangeAsync(TempDirectory temp, int port, int count)
    {
        await using ParleyProcess alice = StartChat(temp, "alice", port);
        await alice.WaitForLineAsync("[CLIENT] Authenticated as alice");
        await using ParleyProcess bob = StartChat(temp, "bob", port);
        await bob.WaitForLineAsync("[CLIENT] Authenticated as bob");
        for (int i = 1; i <= count; i++)
        {
            await bob.WriteLineAsync($"send alice before {i}");
            await alice.WaitForLineAsync($"[NEW MESSAGE] From bob: before {i}");
        }
        await bob.WriteLineAsync("quit");
        Assert.Equal(0, await bob.WaitForExitAsync());
        await alice.WriteLineAsync("quit");
        Assert.Equal(0, await alice.WaitForExitAsync());
    }

    [Fact]
    public async Task After_the_database_is_wiped_under_the_same_key_the_next_message_is_shown_not_acknowledged_unseen()
    {
        using TempDirectory temp = new();
        (ParleyProcess first, int port, string fingerprint) = await StartServerWithFingerprintAsync(temp);
        await using (first)
        {
            await ExchangeAsync(temp, port, count: 3);
            await StopAsync(first);
        }
        // The operator resets the database but keeps the server identity: message ids start again at 1.
        foreach (string file in Directory.GetFiles(temp.File("data"), "parley.db*"))
        {
            File.Delete(file);
        }
        Directory.Delete(temp.File("data/parley.db-inbox"), recursive: true);
        (ParleyProcess second, string sameFingerprint) = await StartServerOnPortAsync(temp, port, "data");
        await using (second)
        {
            Assert.Equal(fingerprint, sameFingerprint);
            await using ParleyProcess alice = StartChat(temp, "alice", port);
            await alice.WaitForLineAsync("[CLIENT] Authenticated as alice (new account registered)");
            await using ParleyProcess bob = StartChat(temp, "bob", port);
            await bob.WaitForLineAsync("[CLIENT] Authenticated as bob (new account registered)");
            await bob.WriteLineAsync("send alice after the reset");
            await bob.WaitForLineAsync("[STATUS] Message delivered to alice");
            await alice.WaitForLineAsync("[NEW MESSAGE] From bob: after the reset");
            await alice.WriteLineAsync("quit");
            Assert.Equal(0, await alice.WaitForExitAsync());
            await bob.WriteLineAsync("quit");
            Assert.Equal(0, await bob.WaitForExitAsync());
            await StopAsync(second);
        }
    }

    [Fact]
    public async Task A_new_key_on_the_same_host_and_port_gets_neither_the_old_token_nor_the_old_message_state()
    {
        using TempDirectory temp = new();
        (ParleyProcess first, int port, string oldFingerprint) = await StartServerWithFingerprintAsync(temp);
        await using (first)
        {
            await ExchangeAsync(temp, port, count: 3);
            await StopAsync(first);
        }
        string oldTokens = temp.File("home-alice/tokens/sha256-" + oldFingerprint["SHA256:".Length..].Replace('+', '-').Replace('/', '_'));
        Assert.True(File.Exists(Path.Combine(oldTokens, "alice")), "the first server's token is stored under its key");

        // Another server (another key) answers on the same port, and both users re-pin it.
        (ParleyProcess other, string newFingerprint) = await StartServerOnPortAsync(temp, port, "other-data");
        await using (other)
        {
            Assert.NotEqual(oldFingerprint, newFingerprint);
            File.Delete(temp.File("home-alice/known_hosts"));
            File.Delete(temp.File("home-bob/known_hosts"));
            await using ParleyProcess alice = StartChat(temp, "alice", port);
            await alice.WaitForLineAsync("has a new key: device tokens issued under its old key were deleted");
            await alice.WaitForLineAsync("[CLIENT] Authenticated as alice (new account registered)");
            Assert.False(Directory.Exists(oldTokens), "the old key's tokens are gone");
            await using ParleyProcess bob = StartChat(temp, "bob", port);
            await bob.WaitForLineAsync("[CLIENT] Authenticated as bob (new account registered)");
            await bob.WriteLineAsync("send alice from the new server");
            await bob.WaitForLineAsync("[STATUS] Message delivered to alice");
            await alice.WaitForLineAsync("[NEW MESSAGE] From bob: from the new server");
            await alice.WriteLineAsync("quit");
            Assert.Equal(0, await alice.WaitForExitAsync());
            await bob.WriteLineAsync("quit");
            Assert.Equal(0, await bob.WaitForExitAsync());
            await StopAsync(other);
            // A token sent to it would have been logged as a failed login: it never saw one.
            Assert.DoesNotContain("Failed login", other.Stderr);
            Assert.Contains("alice logged in", other.Stderr);
        }
    }

    [Fact]
    public async Task A_100_KB_message_is_refused_by_the_client_and_the_session_goes_on()
    {
        using TempDirectory temp = new();
        (ParleyProcess server, int port) = await StartServerAsync(temp);
        await using (server)
        {
            await using ParleyProcess alice = StartChat(temp, "alice", port);
            await alice.WaitForLineAsync("[CLIENT] Authenticated as alice");
            await using ParleyProcess bob = StartChat(temp, "bob", port);
            await bob.WaitForLineAsync("[CLIENT] Authenticated as bob");
            string huge = new('x', 100 * 1024);
            await alice.WriteLineAsync("send bob " + huge);
            // The limit left for the text is the body limit less the end-to-end envelope's overhead.
            Assert.Contains($"the message is 102400 bytes; the server accepts at most {65536 - Parley.Cli.Commands.ChatEndToEnd.EnvelopeOverhead} bytes",
                await alice.WaitForLineAsync("[ERROR] Not sent:"));
            await alice.WriteLineAsync("broadcast " + huge);
            await alice.WaitForLineAsync("[ERROR] Not sent:");
            await alice.WriteLineAsync("send bob still here");
            await alice.WaitForLineAsync("[STATUS] Message delivered to bob");
            await bob.WaitForLineAsync("[NEW MESSAGE] From alice: still here");
            await alice.WriteLineAsync("quit");
            // Alice's refused messages were failed commands: her script's exit status says so.
            Assert.Equal(1, await alice.WaitForExitAsync());
            await bob.WriteLineAsync("quit");
            Assert.Equal(0, await bob.WaitForExitAsync());
        }
    }

    [Fact]
    public async Task Without_a_home_folder_nothing_is_written_to_the_current_directory_and_PARLEY_HOME_still_works()
    {
        using TempDirectory temp = new();
        Dictionary<string, string> noHome = new() { ["HOME"] = temp.File("no-such-folder"), ["PARLEY_HOME"] = "" };
        await using (ParleyProcess id = ParleyProcess.Start(temp.Path, noHome, "id"))
        {
            id.CloseInput();
            Assert.Equal(1, await id.WaitForExitAsync());
            Assert.Contains("cannot find your home folder", id.Stderr);
        }
        await using (ParleyProcess chat = ParleyProcess.Start(temp.Path, noHome, "chat", "--user", "alice", "--host", "127.0.0.1", "--port", "1", "--trust-new"))
        {
            chat.CloseInput();
            Assert.Equal(2, await chat.WaitForExitAsync());
            Assert.Contains("Cannot find your home folder", chat.Stdout);
            Assert.DoesNotContain("Cannot connect", chat.Stdout);
        }
        Assert.Empty(Directory.EnumerateFileSystemEntries(temp.Path));

        Dictionary<string, string> parleyHome = new() { ["HOME"] = temp.File("no-such-folder"), ["PARLEY_HOME"] = temp.File("parley-home") };
        await using (ParleyProcess id = ParleyProcess.Start(temp.Path, parleyHome, "id"))
        {
            id.CloseInput();
            Assert.Equal(0, await id.WaitForExitAsync());
        }
        Assert.True(File.Exists(temp.File("parley-home/identity.key")));
        Assert.Equal([temp.File("parley-home")], Directory.EnumerateFileSystemEntries(temp.Path));
    }
}
