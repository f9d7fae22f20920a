using Microsoft.Data.Sqlite;
using Parley.Server.Storage;
using Parley.Tests.Support;

namespace Parley.Tests.Messenger;

/// <summary>
/// The delivery cursor carried over from SQLite databases made when one global id was the cursor.
/// The cursor's contract itself (per-recipient ids in commit order, never reused, device-scoped
/// inboxes) is checked against every store by Storage/StoreContractTests.
/// </summary>
public class InboxSequenceTests
{
    private static NewMessage To(string recipient, string body, string device = "") =>
        new("sender", recipient, 1, "text/plain", System.Text.Encoding.UTF8.GetBytes(body), Broadcast: false, device);

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
