using Microsoft.Data.Sqlite;
using Parley.Server.Storage;
using Parley.Tests.Support;

namespace Parley.Tests.Messenger;

/// <summary>
/// The delivery cursor: each recipient's inbox has its own sequence, assigned inside the commit
/// (IMessageStore.CommitAsync, PROTOCOL.md §11.3), never reused, and carried over from databases
/// made when one global id was the cursor.
/// </summary>
public class InboxSequenceTests
{
    private static NewMessage To(string recipient, string body, string device = "") =>
        new("sender", recipient, 1, "text/plain", System.Text.Encoding.UTF8.GetBytes(body), Broadcast: false, device);

    [Fact]
    public async Task Each_recipient_counts_its_own_ids_in_commit_order_and_never_reuses_one()
    {
        using TempDirectory data = new();
        await using SqliteMessageStore store = await SqliteMessageStore.OpenAsync(Path.Combine(data.Path, "parley.db"));
        CommitResult first = await store.CommitAsync([To("alice", "a1"), To("bob", "b1"), To("alice", "a2")], [], CancellationToken.None);
        Assert.Equal([1L, 1L, 2L], first.Stored.Select(m => m.Id));

        // Acknowledge alice's newest: the next one still gets a fresh id.
        await store.CommitAsync([], [new InboxAck("alice", "", 2)], CancellationToken.None);
        CommitResult second = await store.CommitAsync([To("alice", "a3")], [], CancellationToken.None);
        Assert.Equal(3, Assert.Single(second.Stored).Id);

        IReadOnlyList<StoredMessage> inbox = await store.LoadInboxAsync("alice", "any-device", 0, 100, long.MaxValue, CancellationToken.None);
        Assert.Equal([1L, 3L], inbox.Select(m => m.Id));
        Assert.Equal(["a1", "a3"], inbox.Select(m => System.Text.Encoding.UTF8.GetString(m.Body)));
    }

    [Fact]
    public async Task Ids_survive_a_reopen_of_the_store()
    {
        using TempDirectory data = new();
        string path = Path.Combine(data.Path, "parley.db");
        await using (SqliteMessageStore store = await SqliteMessageStore.OpenAsync(path))
        {
            await store.CommitAsync([To("alice", "1"), To("alice", "2")], [new InboxAck("alice", "", 1)], CancellationToken.None);
            await store.CommitAsync([], [new InboxAck("alice", "", 2)], CancellationToken.None);
        }
        await using SqliteMessageStore reopened = await SqliteMessageStore.OpenAsync(path);
        CommitResult next = await reopened.CommitAsync([To("alice", "3")], [], CancellationToken.None);
        Assert.Equal(3, Assert.Single(next.Stored).Id);
    }

    [Fact]
    public async Task A_device_loads_the_accounts_messages_and_its_own_but_not_another_devices()
    {
        using TempDirectory data = new();
        await using SqliteMessageStore store = await SqliteMessageStore.OpenAsync(Path.Combine(data.Path, "parley.db"));
        await store.CommitAsync([To("alice", "phone", "phone1"), To("alice", "all"), To("alice", "laptop", "laptop1")], [], CancellationToken.None);
        IReadOnlyList<StoredMessage> phone = await store.LoadInboxAsync("alice", "phone1", 0, 100, long.MaxValue, CancellationToken.None);
        Assert.Equal(["phone", "all"], phone.Select(m => System.Text.Encoding.UTF8.GetString(m.Body)));
        Assert.Equal(["phone1", ""], phone.Select(m => m.RecipientDevice));

        // The laptop cannot acknowledge the phone's message away.
        CommitResult acked = await store.CommitAsync([], [new InboxAck("alice", "laptop1", 1)], CancellationToken.None);
        Assert.Empty(acked.Removed);
        Assert.Equal(3, (await store.GetInboxUsageAsync("alice", CancellationToken.None)).Messages);
    }

    [Fact]
    public async Task A_database_from_before_per_recipient_ids_keeps_its_ids_and_continues_above_every_old_one()
    {
        using TempDirectory data = new();
        string path = Path.Combine(data.Path, "parley.db");
        await CreateOldDatabaseAsync(path);

        await using SqliteMessageStore store = await SqliteMessageStore.OpenAsync(path);
        IReadOnlyList<StoredMessage> alice = await store.LoadInboxAsync("alice", "d", 0, 100, long.MaxValue, CancellationToken.None);
        Assert.Equal([2L, 4L], alice.Select(m => m.Id));
        // Bob's client may have seen global id 6 (someone else's message id space): his next id is above it.
        CommitResult next = await store.CommitAsync([To("bob", "new"), To("carol", "first ever")], [], CancellationToken.None);
        Assert.Equal(7, next.Stored[0].Id);
        // An account registered after the migration starts at 1.
        Assert.Equal(1, next.Stored[1].Id);
        // An old id can still be acknowledged.
        Assert.Single((await store.CommitAsync([], [new InboxAck("alice", "d", 2)], CancellationToken.None)).Removed);
    }

    /// <summary>The schema before issue 15: one AUTOINCREMENT id for every message, no seq, no device column.</summary>
    private static async Task CreateOldDatabaseAsync(string path)
    {
        await using SqliteConnection connection = new(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        await connection.OpenAsync();
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = """
            CREATE TABLE schema_version (version INTEGER NOT NULL);
            INSERT INTO schema_version VALUES (1);
            CREATE TABLE accounts (username TEXT PRIMARY KEY, password_algorithm TEXT NOT NULL, password_iterations INTEGER NOT NULL,
                password_salt BLOB NOT NULL, password_hash BLOB NOT NULL, created_at INTEGER NOT NULL);
            CREATE TABLE device_tokens (token_hash BLOB PRIMARY KEY, username TEXT NOT NULL REFERENCES accounts(username),
                created_at INTEGER NOT NULL, last_used_at INTEGER NOT NULL);
            CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, recipient TEXT NOT NULL, sender TEXT NOT NULL,
                created_at INTEGER NOT NULL, content_type TEXT NOT NULL, body BLOB NOT NULL, broadcast INTEGER NOT NULL);
            CREATE INDEX messages_by_recipient ON messages (recipient, id);
            INSERT INTO accounts VALUES ('alice', 'pbkdf2-sha256', 1, x'00', x'00', 0), ('bob', 'pbkdf2-sha256', 1, x'00', x'00', 0);
            INSERT INTO messages (recipient, sender, created_at, content_type, body, broadcast) VALUES
                ('bob', 'x', 1, 't', x'01', 0), ('alice', 'x', 1, 't', x'02', 0), ('bob', 'x', 1, 't', x'03', 0),
                ('alice', 'x', 1, 't', x'04', 0), ('bob', 'x', 1, 't', x'05', 0), ('bob', 'x', 1, 't', x'06', 0);
            DELETE FROM messages WHERE recipient = 'bob';
            """;
        await command.ExecuteNonQueryAsync();
    }
}
