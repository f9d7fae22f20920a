using Parley.Client;
using Parley.Messaging;
using Parley.Server.Accounts;
using Parley.Tests.Support;

namespace Parley.Tests.Messenger;

/// <summary>Attacks on login and registration (issue 8), played against a real server over loopback.</summary>
public class LoginAbuseTests
{
    private static async Task<ChatClient[]> ConnectAsync(TestServer server, int count)
    {
        ChatClient[] clients = new ChatClient[count];
        for (int i = 0; i < count; i++)
        {
            clients[i] = await ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions).WithTimeout();
        }
        return clients;
    }

    private static async Task DisposeAllAsync(IEnumerable<ChatClient> clients)
    {
        foreach (ChatClient client in clients)
        {
            await client.DisposeAsync();
        }
    }

    [Fact]
    public async Task Concurrent_guesses_are_checked_one_at_a_time_and_the_back_off_holds()
    {
        // The clock stands still, so no back-off expires while the burst runs.
        await using TestServer server = await TestServer.StartAsync(o => o with { Time = new ManualClock() });
        await (await server.LoginAsync("alice", "right password")).DisposeAsync();
        ChatClient[] clients = await ConnectAsync(server, 31);
        try
        {
            long before = server.Server.PasswordHasher.Evaluations;
            // 30 wrong guesses and the right password, all at once from one address.
            LoginResult[] results = await Task.WhenAll(clients.Select((c, i) =>
                c.LoginAsync("alice", i == 30 ? "right password" : $"guess number {i}", null))).WithTimeout();
            long evaluated = server.Server.PasswordHasher.Evaluations - before;

            // The pair locks at the failure after its 3 free ones; the right password, if it is
            // checked, resets the pair once: never more than 3 + 1 + 4 checks, where the old code
            // ran all 31.
            int untilLocked = LoginThrottle.DefaultFreeFailuresPerPair + 1;
            Assert.InRange(evaluated, 1, 2 * untilLocked);
            Assert.Equal(evaluated, results.Count(r => r.Success || r.Code == ErrorCodes.InvalidCredentials));
            Assert.All(results.Where(r => !r.Success && r.Code != ErrorCodes.InvalidCredentials), r =>
            {
                Assert.Equal(ErrorCodes.RateLimited, r.Code);
                Assert.True(r.RetryAfterSeconds >= 1);
            });

            // Afterwards the back-off still holds: a further guess is not evaluated.
            await using ChatClient late = await ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions).WithTimeout();
            Assert.Equal(ErrorCodes.RateLimited, (await late.LoginAsync("alice", "one more guess", null).WithTimeout()).Code);
            Assert.Equal(evaluated, server.Server.PasswordHasher.Evaluations - before);
        }
        finally
        {
            await DisposeAllAsync(clients);
        }
    }

    [Fact]
    public async Task Password_back_off_does_not_block_device_tokens_and_failures_say_why()
    {
        await using TestServer server = await TestServer.StartAsync(o => o with { Time = new ManualClock() });
        string token;
        await using (ChatClient device = await ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions).WithTimeout())
        {
            token = (await device.LoginAsync("alice", "alice password", null).WithTimeout()).DeviceToken!;
        }
        await using ChatClient attacker = await ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions).WithTimeout();
        LoginResult wrong = await attacker.LoginAsync("alice", "guess", null).WithTimeout();
        Assert.Equal(ErrorCodes.InvalidCredentials, wrong.Code);
        for (int i = 0; i < 10; i++)
        {
            await attacker.LoginAsync("alice", "guess " + i, null).WithTimeout();
        }
        LoginResult locked = await attacker.LoginAsync("alice", "alice password", null).WithTimeout();
        Assert.False(locked.Success);
        Assert.Equal(ErrorCodes.RateLimited, locked.Code);

        // Alice's device, from the very same address, still gets in with its token.
        await using ChatClient again = await ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions).WithTimeout();
        LoginResult byToken = await again.LoginAsync("alice", null, token).WithTimeout();
        Assert.True(byToken.Success, byToken.Error);
        Assert.Null(byToken.Code);

        // Only a bad token is called one: this is the code on which clients drop a stored token.
        await using ChatClient forger = await ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions).WithTimeout();
        Assert.Equal(ErrorCodes.InvalidToken, (await forger.LoginAsync("alice", null, "garbage").WithTimeout()).Code);
        Assert.Equal(ErrorCodes.InvalidToken, (await forger.LoginAsync("mallory", null, token).WithTimeout()).Code);
    }

    [Fact]
    public async Task New_accounts_need_a_real_password_and_are_rationed_per_source()
    {
        ManualClock time = new();
        await using TestServer server = await TestServer.StartAsync(o => o with { Time = time, RegistrationsPerSourcePerHour = 2 });
        await using ChatClient client = await ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions).WithTimeout();

        LoginResult tooShort = await client.LoginAsync("newbie", "hunter", null).WithTimeout();
        Assert.Equal(ErrorCodes.WeakPassword, tooShort.Code);
        Assert.Contains($"at least {PasswordPolicy.MinLength} characters", tooShort.Error);
        LoginResult common = await client.LoginAsync("newbie", "Password123", null).WithTimeout();
        Assert.Equal(ErrorCodes.WeakPassword, common.Code);
        Assert.Contains("most common passwords", common.Error);

        // Refused passwords cost no registration: two still fit in this hour.
        Assert.True((await client.LoginAsync("first", "first's password", null).WithTimeout()).Registered);
        await using ChatClient second = await ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions).WithTimeout();
        Assert.True((await second.LoginAsync("second", "second's password", null).WithTimeout()).Registered);
        await using ChatClient third = await ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions).WithTimeout();
        LoginResult limited = await third.LoginAsync("third", "third's password", null).WithTimeout();
        Assert.False(limited.Success);
        Assert.Equal(ErrorCodes.RegistrationLimited, limited.Code);
        Assert.InRange(limited.RetryAfterSeconds, 1, 3600);

        // Existing accounts log in as usual; an hour later registering works again.
        Assert.True((await third.LoginAsync("first", "first's password", null).WithTimeout()).Success);
        time.Advance(TimeSpan.FromHours(1));
        await using ChatClient fourth = await ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions).WithTimeout();
        Assert.True((await fourth.LoginAsync("third", "third's password", null).WithTimeout()).Registered);
    }

    [Fact]
    public async Task A_login_overtakes_a_flood_of_registrations_waiting_for_pbkdf2()
    {
        // One PBKDF2 slot and real work per hash, so registrations queue up behind each other.
        await using TestServer server = await TestServer.StartAsync(o => o with { MaxConcurrentPasswordHashes = 1, PasswordIterations = 200_000 });
        await (await server.LoginAsync("alice", "alice password")).DisposeAsync();
        PriorityGate gate = server.Server.PasswordHasher.Gate;
        ChatClient[] flood = await ConnectAsync(server, 20);
        await using ChatClient alice = await ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions).WithTimeout();
        try
        {
            Task<LoginResult>[] registrations = flood.Select((c, i) => c.LoginAsync($"flood{i}", $"flood password {i}", null)).ToArray();
            await TestTimeouts.UntilAsync(() => gate.WaitingRegistrations >= 10);

            long before = server.Server.PasswordHasher.Evaluations;
            LoginResult login = await alice.LoginAsync("alice", "alice password", null).WithTimeout();
            long startedMeanwhile = server.Server.PasswordHasher.Evaluations - before;
            int stillWaiting = gate.WaitingRegistrations;

            Assert.True(login.Success, login.Error);
            // Alice's check, plus at most the registration that took the slot while her request
            // was on its way and the one that took it right after her: never her place in the queue.
            Assert.InRange(startedMeanwhile, 1, 3);
            Assert.True(stillWaiting >= 5, $"only {stillWaiting} registrations were still waiting");
            Assert.All(await Task.WhenAll(registrations).WithTimeout(), r => Assert.True(r.Registered, r.Error));
        }
        finally
        {
            await DisposeAllAsync(flood);
        }
    }

    [Fact]
    public async Task Login_names_reach_the_log_and_the_reply_sanitised_and_bounded()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using ChatClient client = await ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions).WithTimeout();
        string forged = "x\u001b[2J\r\nInformation: root logged in from 10.0.0.1\u001b]0;pwned\u0007";
        string flood = new string('a', 30_000) + "\u001b\r\n" + new string('b', 30_000);
        foreach (string name in new[] { forged, flood })
        {
            LoginResult result = await client.LoginAsync(name, "some password", null).WithTimeout();
            Assert.Equal(ErrorCodes.InvalidUsername, result.Code);
            Assert.DoesNotContain(result.User, char.IsControl);
            Assert.True(result.User.Length <= AccountService.MaxEchoedNameLength + 32, $"echoed {result.User.Length} characters");
            Assert.True(result.Error!.Length <= 512, $"error of {result.Error.Length} characters");
            Assert.DoesNotContain(result.Error, char.IsControl);
        }
        // A real account, to see that the lines we look at are there at all.
        Assert.True((await client.LoginAsync("alice", "alice password", null).WithTimeout()).Success);

        string[] lines = server.Log.Split('\n');
        Assert.Contains(lines, l => l.Contains("Failed login for x?[2J??Information: root logged in", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.StartsWith("Information: root", StringComparison.Ordinal));
        Assert.All(lines, l =>
        {
            Assert.DoesNotContain(l, char.IsControl);
            Assert.True(l.Length <= 1024, $"a log line of {l.Length} characters");
        });
    }

    [Fact]
    public async Task Failed_logins_cannot_flood_the_log()
    {
        ManualClock time = new();
        // The login deadline runs on the same clock: keep it beyond the minute this test moves.
        await using TestServer server = await TestServer.StartAsync(o => o with { Time = time, LoginTimeout = TimeSpan.FromHours(1) });
        await using ChatClient client = await ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions).WithTimeout();
        int limit = LogRateLimit.DefaultFailedLoginLinesPerMinute;
        // Malformed names cost the attacker nothing: no PBKDF2, no back-off.
        for (int i = 0; i < limit + 140; i++)
        {
            Assert.Equal(ErrorCodes.InvalidUsername, (await client.LoginAsync("bad name " + i, "whatever password", null).WithTimeout()).Code);
        }
        Assert.Equal(limit, server.Log.Split('\n').Count(l => l.Contains("Failed login for", StringComparison.Ordinal)));

        // A minute later one line says how many were held back, then logging goes on.
        time.Advance(TimeSpan.FromMinutes(1));
        await client.LoginAsync("bad name again", "whatever password", null).WithTimeout();
        string[] lines = server.Log.Split('\n');
        Assert.Contains(lines, l => l.Contains("140 failed logins were not logged", StringComparison.Ordinal));
        Assert.Equal(limit + 1, lines.Count(l => l.Contains("Failed login for", StringComparison.Ordinal)));
    }
}
