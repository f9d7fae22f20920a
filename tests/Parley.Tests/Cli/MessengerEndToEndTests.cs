using System.Text.RegularExpressions;
using Parley.Tests.Support;

namespace Parley.Tests.Cli;

/// <summary>The seed's three-terminal session and a crash test, through the real `parley` executable.</summary>
public partial class MessengerEndToEndTests
{
    private static async Task<(ParleyProcess Server, int Port)> StartServerAsync(TempDirectory temp, params string[] extra)
    {
        (ParleyProcess server, int port, _) = await StartServerWithFingerprintAsync(temp, extra);
        return (server, port);
    }

    private static async Task<(ParleyProcess Server, int Port, string Fingerprint)> StartServerWithFingerprintAsync(TempDirectory temp, params string[] extra)
    {
        ParleyProcess server = ParleyProcess.Start(temp.Path, null, ["server", "--port", "0", "--data", "data", .. extra]);
        string started = await server.WaitForLineAsync("[SERVER] Started on");
        string identity = await server.WaitForLineAsync("[SERVER] Identity");
        await server.WaitForLineAsync("[SERVER] Waiting for connections...");
        return (server, int.Parse(PortPattern().Match(started).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), identity.Split(' ')[^1]);
    }

    private static ParleyProcess StartChat(TempDirectory temp, string user, int port, params string[] extra) =>
        StartChatIn(temp, $"home-{user}", user, port, extra);

    /// <summary>A chat with its own Parley home: another device of <paramref name="user"/> when the home is new.</summary>
    private static ParleyProcess StartChatIn(TempDirectory temp, string home, string user, int port, params string[] extra)
    {
        File.WriteAllText(temp.File($"{user}.password"), $"{user}'s long passphrase\n");
        Dictionary<string, string> environment = new() { ["PARLEY_HOME"] = temp.File(home) };
        return ParleyProcess.Start(temp.Path, environment,
            ["chat", "--user", user, "--host", "localhost", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
             "--password-file", temp.File($"{user}.password"), "--trust-new", "--register", .. extra]);
    }

    [Fact]
    public async Task The_seed_session_alice_lists_bob_sends_alice_receives()
    {
        using TempDirectory temp = new();
        (ParleyProcess server, int port, string fingerprint) = await StartServerWithFingerprintAsync(temp);
        await using (server)
        {
            Assert.StartsWith("SHA256:", fingerprint);

            await using ParleyProcess alice = StartChat(temp, "alice", port);
            await alice.WaitForLineAsync("[CLIENT] Connected to server at localhost:" + port);
            await alice.WaitForLineAsync("[CLIENT] Key exchange completed successfully (x25519, aes-256-gcm)");
            await alice.WaitForLineAsync("[CLIENT] Authenticated as alice");
            await alice.WriteLineAsync("list");
            Assert.Equal("[ONLINE USERS] alice", (await alice.WaitForLineAsync("[ONLINE USERS]")).Trim());

            await using ParleyProcess bob = StartChat(temp, "bob", port);
            await bob.WaitForLineAsync("[CLIENT] Authenticated as bob");
            await bob.WriteLineAsync("send alice Hello Alice! This message is encrypted with AES-256!");
            await bob.WaitForLineAsync("[STATUS] Message delivered to alice");
            Assert.Contains("[NEW MESSAGE] From bob: Hello Alice! This message is encrypted with AES-256!",
                await alice.WaitForLineAsync("[NEW MESSAGE]"));

            await alice.WriteLineAsync("list");
            Assert.Equal("[ONLINE USERS] alice, bob", (await alice.WaitForLineAsync("[ONLINE USERS]")).Trim());
            await bob.WriteLineAsync("send carol are you there?");
            await bob.WaitForLineAsync("[ERROR] There is no user 'carol'");

            // A script learns from the exit status that one of its commands failed.
            await bob.WriteLineAsync("quit");
            Assert.Equal(1, await bob.WaitForExitAsync());
            await alice.WriteLineAsync("exit");
            Assert.Equal(0, await alice.WaitForExitAsync());
            // With stdin not a terminal there is no banner, only what was asked for.
            Assert.DoesNotContain("=== Secure Messaging Client ===", alice.Stdout);

            // The server key was pinned on first use, by the fingerprint the server printed.
            Assert.Contains(fingerprint[7..], Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(
                [.. "ed25519"u8, 0, .. Convert.FromBase64String(File.ReadAllText(temp.File("home-alice/known_hosts")).Split(' ')[2])])).TrimEnd('='));

            // Second login: the device token replaces the password.
            File.Delete(temp.File("alice.password"));
            Dictionary<string, string> environment = new() { ["PARLEY_HOME"] = temp.File("home-alice") };
            await using ParleyProcess again = ParleyProcess.Start(temp.Path, environment, "chat", "--user", "alice", "--host", "localhost", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture));
            await again.WaitForLineAsync("[CLIENT] Authenticated as alice (device token)");
            again.CloseInput();
            Assert.Equal(0, await again.WaitForExitAsync());

            await SignalAsync(server, "TERM");
            await server.WaitForLineAsync("[SERVER] Stopped");
            Assert.Equal(0, await server.WaitForExitAsync());
        }
    }

    [Fact]
    public async Task Wrong_password_and_changed_server_key_give_distinct_exit_codes()
    {
        using TempDirectory temp = new();
        (ParleyProcess server, int port) = await StartServerAsync(temp);
        await using (server)
        {
            await using (ParleyProcess alice = StartChat(temp, "alice", port))
            {
                await alice.WaitForLineAsync("[CLIENT] Authenticated as alice");
                alice.CloseInput();
                Assert.Equal(0, await alice.WaitForExitAsync());
            }
            File.WriteAllText(temp.File("wrong.password"), "not it\n");
            Dictionary<string, string> fresh = new() { ["PARLEY_HOME"] = temp.File("home-mallory") };
            await using (ParleyProcess mallory = ParleyProcess.Start(temp.Path, fresh, "chat", "--user", "alice", "--host", "localhost",
                "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--password-file", temp.File("wrong.password"), "--trust-new"))
            {
                await mallory.WaitForLineAsync("[ERROR] Login failed: invalid username or password");
                Assert.Equal(4, await mallory.WaitForExitAsync());
            }
            // No server at all: connection failure.
            await using (ParleyProcess nowhere = ParleyProcess.Start(temp.Path, fresh, "chat", "--user", "alice", "--host", "127.0.0.1", "--port", "1", "--trust-new"))
            {
                await nowhere.WaitForLineAsync("[ERROR] Cannot connect to 127.0.0.1:1");
                Assert.Equal(3, await nowhere.WaitForExitAsync());
            }
        }
        // A new server identity on the same port: alice's pinned key no longer matches.
        Directory.Delete(temp.File("data"), recursive: true);
        await using ParleyProcess impostor = ParleyProcess.Start(temp.Path, null, "server", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--data", "data");
        await impostor.WaitForLineAsync("[SERVER] Waiting for connections...");
        await using ParleyProcess victim = StartChat(temp, "alice", port);
        Assert.Equal(5, await victim.WaitForExitAsync());
        Assert.Contains("SERVER IDENTIFICATION HAS CHANGED", victim.Stdout);
        Assert.Contains("remove line 1 of", victim.Stdout);
        Assert.Contains("parley known-hosts remove localhost:", victim.Stdout);
    }

    [Theory]
    [InlineData(null)]
    // Segments of 4 KiB: the inbox log starts a new file every few messages, so the kill lands among rotations.
    [InlineData("4096")]
    public async Task Every_message_the_server_acknowledged_survives_kill_9_exactly_once(string? segmentBytes)
    {
        const int messages = 300;
        using TempDirectory temp = new();
        string[] store = segmentBytes is null ? [] : ["--inbox-segment-bytes", segmentBytes];
        (ParleyProcess server, int port) = await StartServerAsync(temp, store);
        // Alice registers, then goes offline so everything queues in her inbox.
        await using (ParleyProcess alice = StartChat(temp, "alice", port))
        {
            await alice.WaitForLineAsync("[CLIENT] Authenticated as alice");
            alice.CloseInput();
            await alice.WaitForExitAsync();
        }
        await using ParleyProcess bob = StartChat(temp, "bob", port);
        await bob.WaitForLineAsync("[CLIENT] Authenticated as bob");
        Task writer = Task.Run(async () =>
        {
            for (int i = 0; i < messages; i++)
            {
                await bob.WriteLineAsync($"send alice msg-{i}");
            }
        });
        // Let some messages be acknowledged, then kill the server without warning.
        for (int i = 0; i < 50; i++)
        {
            await bob.WaitForLineAsync("[STATUS]");
        }
        server.Kill();
        await server.WaitForExitAsync();
        await server.DisposeAsync();
        // Bob tries to reconnect; a script that ends while he is offline exits "connection lost".
        await bob.WaitForLineAsync("reconnecting in");
        await writer.ContinueWith(_ => { }, TaskScheduler.Default);
        bob.CloseInput();
        int bobExit = await bob.WaitForExitAsync();
        Assert.Equal(3, bobExit);
        // Commands are handled in order, so the k-th status line acknowledges msg-(k-1).
        int acknowledged = Regex.Matches(bob.Stdout, @"\[STATUS\] alice is offline; message queued").Count;
        Assert.True(acknowledged >= 50, bob.Stdout);

        if (segmentBytes is not null)
        {
            Assert.True(Directory.GetFiles(temp.File("data/parley.db-inbox"), "*.log").Length > 2, "the run was meant to span several segments");
        }
        // Restart on the same data; alice logs in and reads her inbox, then a marker.
        (ParleyProcess restarted, int newPort) = await StartServerAsync(temp, store);
        await using (restarted)
        {
            await using ParleyProcess aliceAgain = StartChat(temp, "alice", newPort);
            await aliceAgain.WaitForLineAsync("[CLIENT] Authenticated as alice");
            await using ParleyProcess carol = StartChat(temp, "carol", newPort);
            await carol.WaitForLineAsync("[CLIENT] Authenticated as carol");
            await carol.WriteLineAsync("send alice END");
            await aliceAgain.WaitForLineAsync("[NEW MESSAGE] From carol: END");
            string[] received = aliceAgain.Stdout.Split('\n').Where(l => l.Contains("From bob: msg-")).Select(l => l.Trim()).ToArray();
            for (int i = 0; i < acknowledged; i++)
            {
                int copies = received.Count(l => l.EndsWith($"From bob: msg-{i}", StringComparison.Ordinal));
                Assert.True(copies == 1, $"msg-{i} (acknowledged, {acknowledged} in all) arrived {copies} times.\n--- bob ---\n{bob.Stdout}\n--- alice ---\n{aliceAgain.Stdout}");
            }
            // Nothing is delivered twice, acknowledged or not, and order is kept.
            Assert.Equal(received.Length, received.Distinct().Count());
            Assert.Equal(received, received.OrderBy(l => int.Parse(l[(l.LastIndexOf('-') + 1)..], System.Globalization.CultureInfo.InvariantCulture)).ToArray());
        }
    }

    private const int SIGTERM = 15;

    // libc's kill(2) directly: a fresh CI machine need not have procps' kill(1).
    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SendSignal(int pid, int signal);

    private static Task SignalAsync(ParleyProcess process, string signal)
    {
        Assert.Equal("TERM", signal);
        Assert.Equal(0, SendSignal(process.ProcessId, SIGTERM));
        return Task.CompletedTask;
    }

    [GeneratedRegex(@"Started on [^:]+:(\d+)")]
    private static partial Regex PortPattern();
}
