// The inbox log's heads in the database (inbox_heads): each recipient's last given id, written
// before the segments that held those ids are deleted, so an id is never given twice. A connection
// of its own, owned by the log (which every store handle on the same file in this process shares),
// used only under the log's writer lock.
using Microsoft.Data.Sqlite;
using Parley.Server.Storage.Inbox;
using SQLitePCL;

namespace Parley.Server.Storage;

internal sealed class SqliteInboxHeadRows : IInboxHeadRows
{
    private readonly SqliteConnection _connection;
    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _read;
    private readonly sqlite3_stmt _write;

    private SqliteInboxHeadRows(SqliteConnection connection)
    {
        _connection = connection;
        _db = connection.Handle ?? throw new InvalidOperationException("the heads connection is not open");
        _read = Prepare("SELECT last_seq FROM inbox_heads WHERE recipient = ?1");
        // Never lowered: a head only moves up.
        _write = Prepare("""
            INSERT INTO inbox_heads (recipient, last_seq) VALUES (?1, ?2)
            ON CONFLICT (recipient) DO UPDATE SET last_seq = max(last_seq, excluded.last_seq)
            """);
    }

    /// <summary>Opens a connection of its own on the store's database (already made, in WAL mode).</summary>
    internal static SqliteInboxHeadRows Open(string connectionString) =>
        // As the writer: durable when the commit returns, and waiting rather than failing on the writer's lock.
        SqliteRaw.OpenOwnConnection(connectionString, "PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;", c => new SqliteInboxHeadRows(c));

    public long? Read(string recipient)
    {
        try
        {
            SqliteRaw.Check(_db, raw.sqlite3_bind_text(_read, 1, recipient));
            int rc = raw.sqlite3_step(_read);
            return rc switch
            {
                raw.SQLITE_ROW => raw.sqlite3_column_int64(_read, 0),
                raw.SQLITE_DONE => null,
                _ => throw SqliteRaw.Error(_db, rc),
            };
        }
        finally
        {
            SqliteRaw.Reset(_read);
        }
    }

    public void Write(IReadOnlyList<(string Recipient, long Head)> heads)
    {
        Execute("BEGIN IMMEDIATE");
        try
        {
            foreach ((string recipient, long head) in heads)
            {
                try
                {
                    SqliteRaw.Check(_db, raw.sqlite3_bind_text(_write, 1, recipient));
                    SqliteRaw.Check(_db, raw.sqlite3_bind_int64(_write, 2, head));
                    int rc = raw.sqlite3_step(_write);
                    if (rc != raw.SQLITE_DONE)
                    {
                        throw SqliteRaw.Error(_db, rc);
                    }
                }
                finally
                {
                    SqliteRaw.Reset(_write);
                }
            }
            Execute("COMMIT");
        }
        catch
        {
            _ = raw.sqlite3_exec(_db, "ROLLBACK");
            throw;
        }
    }

    private void Execute(string sql) => SqliteRaw.Check(_db, raw.sqlite3_exec(_db, sql));

    private sqlite3_stmt Prepare(string sql)
    {
        SqliteRaw.Check(_db, raw.sqlite3_prepare_v3(_db, sql, raw.SQLITE_PREPARE_PERSISTENT, out sqlite3_stmt statement, out string _));
        return statement;
    }

    public void Dispose()
    {
        raw.sqlite3_finalize(_read);
        raw.sqlite3_finalize(_write);
        _connection.Dispose();
    }
}
