// The three statements every delivered message costs (next id, insert, delete on acknowledgement),
// compiled once on the writer connection and run through SQLitePCL directly. Through
// Microsoft.Data.Sqlite each execution built a data reader, re-enumerated the command's statements
// and bound parameters through its value binder, and each commit compiled the three statements
// again: a third of the store's CPU per message (BENCHMARKS.md §2 (e)). Same SQL, same
// transaction (the writer's connection), same results.
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Parley.Server.Storage;

internal sealed class SqliteInboxStatements : IDisposable
{
    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _nextSequence;
    private readonly sqlite3_stmt _insert;
    private readonly sqlite3_stmt _delete;

    internal SqliteInboxStatements(SqliteConnection writer)
    {
        _db = writer.Handle ?? throw new InvalidOperationException("the writer connection is not open");
        _nextSequence = Prepare("""
            INSERT INTO inbox_heads (recipient, last_seq) VALUES (?1, 1)
            ON CONFLICT (recipient) DO UPDATE SET last_seq = last_seq + 1 RETURNING last_seq
            """);
        _insert = Prepare("""
            INSERT INTO messages (recipient, sender, created_at, content_type, body, broadcast, seq, recipient_device, sender_device)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
            """);
        // A device removes the account's messages and its own, never another device's.
        _delete = Prepare("DELETE FROM messages WHERE recipient = ?1 AND seq = ?2 AND recipient_device IN ('', ?3) RETURNING length(body)");
    }

    /// <summary>The recipient's next id, counted in its own row inside the open transaction.</summary>
    internal long NextSequence(string recipient)
    {
        try
        {
            Check(raw.sqlite3_bind_text(_nextSequence, 1, recipient));
            Step(_nextSequence, expectRow: true);
            return raw.sqlite3_column_int64(_nextSequence, 0);
        }
        finally
        {
            Reset(_nextSequence);
        }
    }

    internal void Insert(NewMessage m, long sequence)
    {
        try
        {
            Check(raw.sqlite3_bind_text(_insert, 1, m.Recipient));
            Check(raw.sqlite3_bind_text(_insert, 2, m.Sender));
            Check(raw.sqlite3_bind_int64(_insert, 3, m.Timestamp));
            Check(raw.sqlite3_bind_text(_insert, 4, m.ContentType));
            Check(raw.sqlite3_bind_blob(_insert, 5, m.Body));
            Check(raw.sqlite3_bind_int64(_insert, 6, m.Broadcast ? 1 : 0));
            Check(raw.sqlite3_bind_int64(_insert, 7, sequence));
            Check(raw.sqlite3_bind_text(_insert, 8, m.RecipientDevice));
            Check(raw.sqlite3_bind_text(_insert, 9, m.SenderDevice));
            Step(_insert, expectRow: false);
        }
        finally
        {
            Reset(_insert);
        }
    }

    /// <summary>The body length of the message removed, or null when there was none for this device.</summary>
    internal long? Delete(InboxAck ack)
    {
        try
        {
            Check(raw.sqlite3_bind_text(_delete, 1, ack.Recipient));
            Check(raw.sqlite3_bind_int64(_delete, 2, ack.Id));
            Check(raw.sqlite3_bind_text(_delete, 3, ack.Device));
            if (!Step(_delete, expectRow: null))
            {
                return null;
            }
            long bytes = raw.sqlite3_column_int64(_delete, 0);
            // Run the statement to its end: a DELETE … RETURNING finishes its work only then.
            while (Step(_delete, expectRow: null))
            {
            }
            return bytes;
        }
        finally
        {
            Reset(_delete);
        }
    }

    public void Dispose()
    {
        raw.sqlite3_finalize(_nextSequence);
        raw.sqlite3_finalize(_insert);
        raw.sqlite3_finalize(_delete);
    }

    private sqlite3_stmt Prepare(string sql)
    {
        Check(raw.sqlite3_prepare_v3(_db, sql, raw.SQLITE_PREPARE_PERSISTENT, out sqlite3_stmt statement, out string _));
        return statement;
    }

    /// <summary>True when a row came back; <paramref name="expectRow"/> null accepts either.</summary>
    private bool Step(sqlite3_stmt statement, bool? expectRow)
    {
        int rc = raw.sqlite3_step(statement);
        bool row = rc == raw.SQLITE_ROW;
        if (!row && rc != raw.SQLITE_DONE)
        {
            throw Error(rc);
        }
        if (expectRow is { } expected && expected != row)
        {
            throw new SqliteException($"the statement returned {(row ? "a row" : "no row")}, which it never does", raw.SQLITE_INTERNAL);
        }
        return row;
    }

    private static void Reset(sqlite3_stmt statement)
    {
        // The error of a failed step was already thrown; reset only returns it again.
        raw.sqlite3_reset(statement);
        raw.sqlite3_clear_bindings(statement);
    }

    private void Check(int rc)
    {
        if (rc != raw.SQLITE_OK)
        {
            throw Error(rc);
        }
    }

    private SqliteException Error(int rc) => new(raw.sqlite3_errmsg(_db).utf8_to_string(), rc, raw.sqlite3_extended_errcode(_db));
}
