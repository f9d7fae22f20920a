// The reads every login costs (the account row, a device token the cache does not hold),
// compiled once per reader connection and run through SQLitePCL directly. Through Microsoft.Data.Sqlite each of them took a connection from its pool, parsed and compiled
// the SQL again, built a parameter binder and a data reader: the SQL compiler alone was ~12% of the
// server's CPU in a login storm (docs/decisions/0014). Same SQL, same results; each statement is
// reset after use, so no read transaction outlives the call (WAL checkpoints are never held up).
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Parley.Server.Storage;

internal sealed class SqliteReader : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _account;
    private readonly sqlite3_stmt _deviceToken;

    private SqliteReader(SqliteConnection connection)
    {
        _connection = connection;
        _db = connection.Handle ?? throw new InvalidOperationException("the reader connection is not open");
        try
        {
            _account = Prepare("SELECT password_algorithm, password_iterations, password_salt, password_hash, created_at, account_id FROM accounts WHERE username = ?1");
            _deviceToken = Prepare("SELECT device_id, username, created_at, last_used_at FROM device_tokens WHERE token_hash = ?1");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>A reader connection of its own (not one of Microsoft.Data.Sqlite's pool), with its statements compiled.</summary>
    internal static SqliteReader Open(string connectionString) =>
        // As the writer: a reader that meets a lock (WAL recovery) waits rather than fails.
        SqliteRaw.OpenOwnConnection(connectionString, "PRAGMA busy_timeout = 5000", c => new SqliteReader(c));

    internal Account? FindAccount(string username)
    {
        try
        {
            Check(raw.sqlite3_bind_text(_account, 1, username));
            if (!Step(_account))
            {
                return null;
            }
            PasswordVerifier password = new(Text(_account, 0), raw.sqlite3_column_int(_account, 1), Blob(_account, 2), Blob(_account, 3));
            string accountId = raw.sqlite3_column_type(_account, 5) == raw.SQLITE_NULL ? "" : Text(_account, 5);
            return new Account(username, password, raw.sqlite3_column_int64(_account, 4), accountId);
        }
        finally
        {
            Reset(_account);
        }
    }

    internal StoredDeviceToken? FindDeviceToken(byte[] tokenHash)
    {
        try
        {
            Check(raw.sqlite3_bind_blob(_deviceToken, 1, tokenHash));
            return Step(_deviceToken)
                ? new StoredDeviceToken(Text(_deviceToken, 0), Text(_deviceToken, 1), raw.sqlite3_column_int64(_deviceToken, 2), raw.sqlite3_column_int64(_deviceToken, 3))
                : null;
        }
        finally
        {
            Reset(_deviceToken);
        }
    }

    public void Dispose()
    {
        // A constructor that failed part-way leaves the later statements unprepared.
        Finalize(_account);
        Finalize(_deviceToken);
        _connection.Dispose();
    }

    private static void Finalize(sqlite3_stmt? statement)
    {
        if (statement is not null)
        {
            raw.sqlite3_finalize(statement);
        }
    }

    private sqlite3_stmt Prepare(string sql)
    {
        Check(raw.sqlite3_prepare_v3(_db, sql, raw.SQLITE_PREPARE_PERSISTENT, out sqlite3_stmt statement, out string _));
        return statement;
    }

    /// <summary>True when a row came back, false when the statement is done.</summary>
    private bool Step(sqlite3_stmt statement)
    {
        int rc = raw.sqlite3_step(statement);
        if (rc is not (raw.SQLITE_ROW or raw.SQLITE_DONE))
        {
            throw Error(rc);
        }
        return rc == raw.SQLITE_ROW;
    }

    private static string Text(sqlite3_stmt statement, int column) => raw.sqlite3_column_text(statement, column).utf8_to_string() ?? "";

    private static byte[] Blob(sqlite3_stmt statement, int column) => raw.sqlite3_column_blob(statement, column).ToArray();

    private static void Reset(sqlite3_stmt statement) => SqliteRaw.Reset(statement);

    private void Check(int rc) => SqliteRaw.Check(_db, rc);

    private SqliteException Error(int rc) => SqliteRaw.Error(_db, rc);
}
