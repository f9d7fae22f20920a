// messages.seq, messages.recipient_device and messages.sender_device, with one sequence row per recipient (inbox_heads).
// Before these existed, the global AUTOINCREMENT id was also the delivery cursor: right for
// SQLite's single writer, wrong for any store with concurrent transactions (issue 15). A database
// made before is migrated each time the store opens (additive and idempotent): old rows keep
// their id as their seq, and every existing account's sequence starts above the highest id ever
// given out, so a client's remembered last-seen id never hides a message that arrives later.
using Microsoft.Data.Sqlite;

namespace Parley.Server.Storage;

internal static class InboxSequenceColumns
{
    public static async Task EnsureAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT 1 FROM pragma_table_info('messages') WHERE name = 'seq'";
        bool migrated = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not null;
        if (!migrated)
        {
            await using SqliteTransaction transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            command.Transaction = transaction;
            command.CommandText = """
                ALTER TABLE messages ADD COLUMN seq INTEGER;
                ALTER TABLE messages ADD COLUMN recipient_device TEXT NOT NULL DEFAULT '';
                UPDATE messages SET seq = id;
                INSERT INTO inbox_heads (recipient, last_seq)
                    SELECT username, coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'messages'), 0) FROM accounts
                    WHERE true ON CONFLICT (recipient) DO NOTHING;
                """;
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            command.Transaction = null;
        }
        command.CommandText = "SELECT 1 FROM pragma_table_info('messages') WHERE name = 'sender_device'";
        if (await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is null)
        {
            command.CommandText = "ALTER TABLE messages ADD COLUMN sender_device TEXT NOT NULL DEFAULT ''";
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        // No index by age: the hourly expiry also looks for devices that are gone, so it reads the whole
        // table anyway, and keeping that index cost every message an insert and a delete in it (about
        // a tenth of the store's CPU per message, BENCHMARKS §2 (g)).
        command.CommandText = """
            DROP INDEX IF EXISTS messages_by_recipient;
            DROP INDEX IF EXISTS messages_by_age;
            CREATE UNIQUE INDEX IF NOT EXISTS messages_by_inbox ON messages (recipient, seq);
            """;
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
