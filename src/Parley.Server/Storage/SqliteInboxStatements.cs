// The statements every delivered message costs (next id, insert, delete on acknowledgement),
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
    private readonly sqlite3_stmt _deleteRange;

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
        // A client acknowledges what it received, and that is mostly a run of consecutive ids:
        // one statement for the run instead of one per id (the rows deleted are the same).
        _deleteRange = Prepare("DELETE FROM messages WHERE recipient = ?1 AND seq BETWEEN ?2 AND ?4 AND recipient_device IN ('', ?3) RETURNING length(body)");
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

    /// <summary>
    /// Deletes the acknowledged messages, a run of consecutive ids of one recipient's device at a
    /// time, and adds the body length of each message removed to <paramref name="removed"/>.
    /// </summary>
    internal void Delete(IReadOnlyList<InboxAck> acknowledged, List<RemovedMessage> removed)
    {
        int i = 0;
        while (i < acknowledged.Count)
        {
            InboxAck first = acknowledged[i];
            int end = i + 1;
            while (end < acknowledged.Count && acknowledged[end].Id == acknowledged[end - 1].Id + 1 &&
                   acknowledged[end].Recipient == first.Recipient && acknowledged[end].Device == first.Device)
            {
                end++;
            }
            long last = acknowledged[end - 1].Id;
            sqlite3_stmt statement = last == first.Id ? _delete : _deleteRange;
            try
            {
                Check(raw.sqlite3_bind_text(statement, 1, first.Recipient));
                Check(raw.sqlite3_bind_int64(statement, 2, first.Id));
                Check(raw.sqlite3_bind_text(statement, 3, first.Device));
                if (statement == _deleteRange)
                {
                    Check(raw.sqlite3_bind_int64(statement, 4, last));
                }
                // Run to the end: a DELETE … RETURNING finishes its work only then.
                while (Step(statement, expectRow: null))
                {
                    removed.Add(new RemovedMessage(first.Recipient, raw.sqlite3_column_int64(statement, 0)));
                }
            }
            finally
            {
                Reset(statement);
            }
            i = end;
        }
    }

    public void Dispose()
    {
        raw.sqlite3_finalize(_nextSequence);
        raw.sqlite3_finalize(_insert);
        raw.sqlite3_finalize(_delete);
        raw.sqlite3_finalize(_deleteRange);
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

    private static void Reset(sqlite3_stmt statement) => SqliteRaw.Reset(statement);

    private void Check(int rc) => SqliteRaw.Check(_db, rc);

    private SqliteException Error(int rc) => SqliteRaw.Error(_db, rc);
}
