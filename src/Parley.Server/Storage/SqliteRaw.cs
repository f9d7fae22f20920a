// What the store's hand-prepared statements (SqliteInboxHeadRows on the writer, SqliteReader on
// each kept reader) share around SQLitePCL's raw calls: one way to open their own connection, one way
// to reset a statement and one way to turn a result code into the same SqliteException
// Microsoft.Data.Sqlite would have thrown.
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Parley.Server.Storage;

internal static class SqliteRaw
{
    /// <summary>Ready for the next execution, with no value left bound from this one.</summary>
    public static void Reset(sqlite3_stmt statement)
    {
        // The error of a failed step was already thrown; reset only returns it again.
        raw.sqlite3_reset(statement);
        raw.sqlite3_clear_bindings(statement);
    }

    public static void Check(sqlite3 db, int rc)
    {
        if (rc != raw.SQLITE_OK)
        {
            throw Error(db, rc);
        }
    }

    public static SqliteException Error(sqlite3 db, int rc) => new(raw.sqlite3_errmsg(db).utf8_to_string(), rc, raw.sqlite3_extended_errcode(db));

    /// <summary>
    /// A connection of its own on the store's database (not one of Microsoft.Data.Sqlite's pool:
    /// its statements are compiled for it and kept), with <paramref name="pragmas"/> run, handed
    /// to <paramref name="create"/>; closed again if anything fails.
    /// </summary>
    public static T OpenOwnConnection<T>(string connectionString, string pragmas, Func<SqliteConnection, T> create)
    {
        SqliteConnection connection = new(new SqliteConnectionStringBuilder(connectionString) { Pooling = false }.ToString());
        try
        {
            connection.Open();
            using (SqliteCommand command = connection.CreateCommand())
            {
                command.CommandText = pragmas;
                command.ExecuteNonQuery();
            }
            return create(connection);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }
}
