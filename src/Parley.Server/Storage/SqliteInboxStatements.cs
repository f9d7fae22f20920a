// The statements every delivered message costs (next id, insert, delete on acknowledgement),
// compiled once on the writer connection and run through SQLitePCL directly. Through
// Microsoft.Data.Sqlite each execution built a data reader, re-enumerated the command's statements
// and bound parameters through its value binder, and each commit compiled the three statements
// again: a third of the store's CPU per message (BENCHMARKS.md §2 (e)).
//
// None of them has a RETURNING clause. SQLite runs RETURNING as a trigger, and a statement with a
// trigger that may abort keeps a statement journal: a copy of every page it touches, spilled to a
// temporary file past 64 KiB, two write calls per page from then on. Under load that was ~3 times
// as many page writes as the log itself (BENCHMARKS §2 (h)). So the next id comes from InboxHeads
// and each recipient's head row is written once per commit, and the body sizes of acknowledged
// messages are read before they are deleted.
//
// New messages are inserted RowsPerInsert to a statement (a VALUES list of that many rows), the
// rest one at a time: every execution of a statement costs the same start and finish inside SQLite
// (cursors opened and closed, registers released, the statement reset) and a dozen calls through
// the interop layer, whatever it holds (store-cpu: −12% CPU per message at batches of 256).
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Parley.Server.Storage;

internal sealed class SqliteInboxStatements : IDisposable
{
    /// <summary>Rows of one multi-row insert (8, 16, 32 and 64 measured the same at batches of 256; 8 also serves moderate loads).</summary>
    internal const int RowsPerInsert = 8;

    private const int InsertColumns = 9;
    private const string InsertInto = "INSERT INTO messages (recipient, sender, created_at, content_type, body, broadcast, seq, recipient_device, sender_device) VALUES ";

    private readonly sqlite3 _db;
    private readonly InboxHeads _heads;
    private readonly sqlite3_stmt _dataVersion;
    private readonly sqlite3_stmt _readHead;
    private readonly sqlite3_stmt _insertHead;
    private readonly sqlite3_stmt _updateHead;
    private readonly sqlite3_stmt _insert;
    private readonly sqlite3_stmt _insertRows;
    // One delegate for the store's life: a method group converted at each call is a new delegate per message.
    private readonly Func<string, long?> _headReader;
    private readonly sqlite3_stmt _measureRange;
    private readonly sqlite3_stmt _deleteRange;

    internal SqliteInboxStatements(SqliteConnection writer, int maxCachedHeads = InboxHeads.DefaultCapacity)
    {
        _db = writer.Handle ?? throw new InvalidOperationException("the writer connection is not open");
        _heads = new InboxHeads(maxCachedHeads);
        _headReader = ReadHead;
        _dataVersion = Prepare("PRAGMA data_version");
        _readHead = Prepare("SELECT last_seq FROM inbox_heads WHERE recipient = ?1");
        _insertHead = Prepare("INSERT INTO inbox_heads (recipient, last_seq) VALUES (?1, ?2)");
        _updateHead = Prepare("UPDATE inbox_heads SET last_seq = ?2 WHERE recipient = ?1");
        _insert = Prepare(InsertInto + ValuesRow(0));
        _insertRows = Prepare(InsertInto + string.Join(", ", Enumerable.Range(0, RowsPerInsert).Select(ValuesRow)));
        // A device removes the account's messages and its own, never another device's. A client
        // acknowledges what it received, mostly a run of consecutive ids: one statement per run.
        _measureRange = Prepare("SELECT length(body) FROM messages WHERE recipient = ?1 AND seq BETWEEN ?2 AND ?4 AND recipient_device IN ('', ?3)");
        _deleteRange = Prepare("DELETE FROM messages WHERE recipient = ?1 AND seq BETWEEN ?2 AND ?4 AND recipient_device IN ('', ?3)");
    }

    private long _lastDataVersion = -1;

    /// <summary>
    /// Call inside the transaction (which holds the write lock), before its first <see cref="NextSequence"/>.
    /// When another connection committed to the file since this one's last transaction (a second
    /// handle on the same file, as the store tests open), the cached heads may be behind: they are dropped.
    /// </summary>
    internal void BeginTransaction()
    {
        long version;
        try
        {
            Step(_dataVersion, expectRow: true);
            version = raw.sqlite3_column_int64(_dataVersion, 0);
        }
        finally
        {
            Reset(_dataVersion);
        }
        if (version != _lastDataVersion)
        {
            _heads.Forget();
            _lastDataVersion = version;
        }
        _heads.BeginTransaction();
    }

    /// <summary>The recipient's next id. Its head row is written by <see cref="WriteHeads"/>, inside the same transaction.</summary>
    internal long NextSequence(string recipient) => _heads.Next(recipient, _headReader);

    /// <summary>Writes the head row of every recipient this transaction gave an id to.</summary>
    internal void WriteHeads()
    {
        foreach ((string recipient, long last, bool stored) in _heads.Moved)
        {
            sqlite3_stmt statement = stored ? _updateHead : _insertHead;
            try
            {
                Check(raw.sqlite3_bind_text(statement, 1, recipient));
                Check(raw.sqlite3_bind_int64(statement, 2, last));
                Step(statement, expectRow: false);
            }
            finally
            {
                Reset(statement);
            }
        }
    }

    /// <summary>The transaction committed: the heads it moved are now the stored ones.</summary>
    internal void Committed() => _heads.Committed();

    /// <summary>The transaction failed or its outcome is unknown: nothing cached is trusted any more.</summary>
    internal void Failed() => _heads.Forget();

    private long? ReadHead(string recipient)
    {
        try
        {
            Check(raw.sqlite3_bind_text(_readHead, 1, recipient));
            return Step(_readHead, expectRow: null) ? raw.sqlite3_column_int64(_readHead, 0) : null;
        }
        finally
        {
            Reset(_readHead);
        }
    }

    /// <summary>"(?1, …, ?9)" for row 0 of a VALUES list, "(?10, …, ?18)" for row 1, and so on.</summary>
    private static string ValuesRow(int row) =>
        "(" + string.Join(", ", Enumerable.Range(row * InsertColumns + 1, InsertColumns).Select(n => "?" + n.ToString(System.Globalization.CultureInfo.InvariantCulture))) + ")";

    /// <summary>Inserts <paramref name="messages"/> in their order, message i with <paramref name="sequences"/>[i].</summary>
    internal void Insert(IReadOnlyList<NewMessage> messages, IReadOnlyList<long> sequences)
    {
        int i = 0;
        for (; i + RowsPerInsert <= messages.Count; i += RowsPerInsert)
        {
            try
            {
                for (int row = 0; row < RowsPerInsert; row++)
                {
                    Bind(_insertRows, row * InsertColumns, messages[i + row], sequences[i + row]);
                }
                Step(_insertRows, expectRow: false);
            }
            finally
            {
                Reset(_insertRows);
            }
        }
        for (; i < messages.Count; i++)
        {
            try
            {
                Bind(_insert, 0, messages[i], sequences[i]);
                Step(_insert, expectRow: false);
            }
            finally
            {
                Reset(_insert);
            }
        }
    }

    /// <summary>Binds one message to the nine parameters after <paramref name="at"/>.</summary>
    private void Bind(sqlite3_stmt statement, int at, NewMessage m, long sequence)
    {
        Check(raw.sqlite3_bind_text(statement, at + 1, m.Recipient));
        Check(raw.sqlite3_bind_text(statement, at + 2, m.Sender));
        Check(raw.sqlite3_bind_int64(statement, at + 3, m.Timestamp));
        Check(raw.sqlite3_bind_text(statement, at + 4, m.ContentType));
        Check(raw.sqlite3_bind_blob(statement, at + 5, m.Body));
        Check(raw.sqlite3_bind_int64(statement, at + 6, m.Broadcast ? 1 : 0));
        Check(raw.sqlite3_bind_int64(statement, at + 7, sequence));
        Check(raw.sqlite3_bind_text(statement, at + 8, m.RecipientDevice));
        Check(raw.sqlite3_bind_text(statement, at + 9, m.SenderDevice));
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
            // The same rows, read then deleted, in the one writer's open transaction.
            BindRun(_measureRange, first, last);
            try
            {
                while (Step(_measureRange, expectRow: null))
                {
                    removed.Add(new RemovedMessage(first.Recipient, raw.sqlite3_column_int64(_measureRange, 0)));
                }
            }
            finally
            {
                Reset(_measureRange);
            }
            BindRun(_deleteRange, first, last);
            try
            {
                Step(_deleteRange, expectRow: false);
            }
            finally
            {
                Reset(_deleteRange);
            }
            i = end;
        }
    }

    private void BindRun(sqlite3_stmt statement, InboxAck first, long last)
    {
        Check(raw.sqlite3_bind_text(statement, 1, first.Recipient));
        Check(raw.sqlite3_bind_int64(statement, 2, first.Id));
        Check(raw.sqlite3_bind_text(statement, 3, first.Device));
        Check(raw.sqlite3_bind_int64(statement, 4, last));
    }

    public void Dispose()
    {
        raw.sqlite3_finalize(_dataVersion);
        raw.sqlite3_finalize(_readHead);
        raw.sqlite3_finalize(_insertHead);
        raw.sqlite3_finalize(_updateHead);
        raw.sqlite3_finalize(_insert);
        raw.sqlite3_finalize(_insertRows);
        raw.sqlite3_finalize(_measureRange);
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
