using Parley.Client;
using Parley.Messaging;
using Parley.Tests.Support;

namespace Parley.Tests.Client;

/// <summary>The client's files: tokens and message state per server key and account (issue 8, items 1 and 2).</summary>
public class ParleyHomeTests
{
    private const string KeyA = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+/A";
    private const string KeyB = "SHA256:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB+/B";

    [Fact]
    public void Tokens_belong_to_a_key_and_a_re_pinned_host_drops_the_old_keys_tokens()
    {
        using TempDirectory temp = new();
        ParleyHome home = new(temp.File("home"));
        Assert.False(home.RecordServerKey("example.org", 5555, KeyA));
        home.WriteToken(KeyA, "alice", "token-a");
        Assert.Equal("token-a", home.ReadToken(KeyA, "alice"));
        Assert.Null(home.ReadToken(KeyB, "alice"));

        Assert.False(home.RecordServerKey("example.org", 5555, KeyA));
        Assert.Equal("token-a", home.ReadToken(KeyA, "alice"));

        Assert.True(home.RecordServerKey("example.org", 5555, KeyB));
        Assert.Null(home.ReadToken(KeyA, "alice"));
        Assert.Null(home.ReadToken(KeyB, "alice"));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(temp.File("home/servers")));
        }
    }

    [Fact]
    public void Tokens_and_state_named_by_host_and_port_are_deleted_on_first_contact()
    {
        using TempDirectory temp = new();
        Directory.CreateDirectory(temp.File("home/tokens"));
        Directory.CreateDirectory(temp.File("home/state"));
        File.WriteAllText(temp.File("home/tokens/localhost_5555_alice"), "old token");
        File.WriteAllText(temp.File("home/state/localhost_5555_alice"), "500");
        File.WriteAllText(temp.File("home/tokens/elsewhere_5555_alice"), "kept");
        new ParleyHome(temp.File("home")).RecordServerKey("localhost", 5555, KeyA);
        Assert.False(File.Exists(temp.File("home/tokens/localhost_5555_alice")));
        Assert.False(File.Exists(temp.File("home/state/localhost_5555_alice")));
        Assert.True(File.Exists(temp.File("home/tokens/elsewhere_5555_alice")));
    }

    [Fact]
    public void Last_seen_ids_are_per_key_and_account_id()
    {
        using TempDirectory temp = new();
        ParleyHome home = new(temp.File("home"));
        home.WriteLastSeen(KeyA, "alice", "1111", 500);
        Assert.Equal(500, home.ReadLastSeen(KeyA, "alice", "1111"));
        Assert.Equal(0, home.ReadLastSeen(KeyA, "alice", "2222"));
        Assert.Equal(0, home.ReadLastSeen(KeyB, "alice", "1111"));
        Assert.Equal(0, home.ReadLastSeen(KeyA, "bob", "1111"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("../../etc/passwd")]
    [InlineData("a/b")]
    [InlineData("id\u001b")]
    public void An_account_id_that_cannot_name_a_file_is_not_used(string? accountId)
    {
        Assert.False(ParleyHome.IsUsableAccountId(accountId));
        Assert.False(ParleyHome.IsUsableAccountId(new string('a', ParleyHome.MaxAccountIdLength + 1)));
        Assert.True(ParleyHome.IsUsableAccountId(new string('a', ParleyHome.MaxAccountIdLength)));
    }

    private static async Task<ChatClient> LoginWithSavedStateAsync(TestServer server, ParleyHome home, string user, System.Threading.Channels.Channel<ChatMessage> inbox)
    {
        ChatClient client = await ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions).WithTimeout();
        client.BindSavedState(home, user);
        client.MessageHandler = message => inbox.Writer.WriteAsync(message);
        Assert.True((await client.LoginAsync(user, "correct horse", null).WithTimeout()).Success);
        return client;
    }

    [Fact]
    public async Task A_reset_database_under_the_same_key_starts_from_nothing_and_its_first_message_is_shown()
    {
        using TempDirectory temp = new();
        ParleyHome home = new(temp.File("home"));
        TempDirectory resetData = new();
        string fingerprint;
        await using (TestServer first = await TestServer.StartAsync())
        {
            fingerprint = first.Server.Fingerprint;
            System.Threading.Channels.Channel<ChatMessage> inbox = InboxExtensions.NewInbox();
            await using ChatClient alice = await LoginWithSavedStateAsync(first, home, "alice", inbox);
            await using ChatClient bob = await first.LoginAsync("bob");
            for (int i = 0; i < 3; i++)
            {
                await bob.SendTextAsync("alice", $"before {i}").WithTimeout();
                await inbox.NextAsync();
            }
            Assert.Equal(3, alice.LastSeenId);
            await alice.CloseAsync();
            // The next server keeps this one's identity key and nothing else.
            Directory.CreateDirectory(resetData.File("data"));
            File.Copy(Path.Combine(first.DataDirectory, "data", "server-identity.key"), resetData.File("data/server-identity.key"));
        }
        await using TestServer reset = await TestServer.StartAsync(data: resetData);
        Assert.Equal(fingerprint, reset.Server.Fingerprint);
        System.Threading.Channels.Channel<ChatMessage> after = InboxExtensions.NewInbox();
        await using ChatClient aliceAgain = await LoginWithSavedStateAsync(reset, home, "alice", after);
        Assert.Equal(0, aliceAgain.LastSeenId);
        await using ChatClient bobAgain = await reset.LoginAsync("bob");
        Assert.Equal(1, (await bobAgain.SendTextAsync("alice", "after the reset").WithTimeout()).MessageId);
        Assert.Equal("after the reset", (await after.NextAsync()).Text());
    }
}
