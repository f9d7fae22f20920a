// Messages an earlier version kept in the database's messages table, moved into the inbox log once
// when the store opens: read in pages of one recipient's ids, appended to the log (synced), then
// deleted from the table in one transaction (secure_delete overwrites them). A crash in between
// leaves them in both; the next open moves them again and the log takes each id only once.
using Microsoft.Data.Sqlite;
using Parley.Server.Storage.Inbox;

namespace Parley.Server.Storage;

internal static class LegacyInboxRows
{
    private const int PageRows = 4096;

    /// <summary>Moves every row of the messages table into <paramref name="inbox"/>; returns how many.</summary>
    public static async Task<int> MoveIntoAsync(SqliteConnection writer, InboxLog inbox, CancellationToken cancellationToken)
    {
        await using SqliteCommand command = writer.CreateCommand();
        command.CommandText = """
            SELECT recipient, seq, sender, created_at, content_type, body, broadcast, recipient_device, sender_device FROM messages
            WHERE (recipient, seq) > ($r, $s) ORDER BY recipient, seq LIMIT $n
            """;
        SqliteParameter afterRecipient = command.Parameters.AddWithValue("$r", "");
        SqliteParameter afterSeq = command.Parameters.AddWithValue("$s", long.MinValue);
        command.Parameters.AddWithValue("$n", PageRows);
        int moved = 0;
        while (true)
        {
            List<StoredMessage> page = [];
            await using (SqliteDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    page.Add(new StoredMessage(reader.GetInt64(1), reader.GetString(2), reader.GetString(0), reader.GetInt64(3), reader.GetString(4),
                        (byte[])reader.GetValue(5), reader.GetInt64(6) != 0, reader.GetString(7), reader.GetString(8)));
                }
            }
            if (page.Count == 0)
            {
                break;
            }
            inbox.Import(page);
            moved += page.Count;
            afterRecipient.Value = page[^1].Recipient;
            afterSeq.Value = page[^1].Id;
        }
        if (moved > 0)
        {
            await using SqliteTransaction transaction = (SqliteTransaction)await writer.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using SqliteCommand delete = writer.CreateCommand();
            delete.Transaction = transaction;
            delete.CommandText = "DELETE FROM messages";
            await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        return moved;
    }
}
