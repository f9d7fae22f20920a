// Opening one of the server's SQLite files, the same way for each: the file is created owner-only
// before SQLite touches it (so nothing it holds is ever world-readable), then the one writer
// connection is opened. Each store sets its own pragmas and schema on that connection.
using Microsoft.Data.Sqlite;
using Parley.Transport.Files;

namespace Parley.Server.Storage;

internal static class SqliteDatabaseFile
{
    private static readonly Lazy<bool> s_configured = new(ConfigureSqlite);

    /// <summary>The full path, the connection string for readers, and the opened writer connection.</summary>
    public static async Task<(string FullPath, string ConnectionString, SqliteConnection Writer)> OpenWriterAsync(string databasePath, CancellationToken cancellationToken)
    {
        _ = s_configured.Value;
        string fullPath = Path.GetFullPath(databasePath);
        if (!File.Exists(fullPath) && !OperatingSystem.IsWindows())
        {
            using FileStream _ = OwnerOnly.OpenWrite(fullPath, FileMode.CreateNew);
        }
        string connectionString = new SqliteConnectionStringBuilder { DataSource = fullPath, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = true }.ToString();
        SqliteConnection writer = new(connectionString);
        try
        {
            await writer.OpenAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await writer.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return (fullPath, connectionString, writer);
    }

    /// <summary>
    /// SQLite counts every allocation for sqlite3_memory_used behind one global mutex, which each of
    /// the store's many small allocations takes; the server never reads the count, so the counting is
    /// turned off (about 5% of the store's CPU per message, BENCHMARKS §2 (g)). SQLite takes this only
    /// before it initialises: if something in the process opened a database first, it stays as it was.
    /// </summary>
    private static bool ConfigureSqlite()
    {
        SQLitePCL.Batteries_V2.Init();
        return SQLitePCL.raw.sqlite3_config(SQLitePCL.raw.SQLITE_CONFIG_MEMSTATUS, 0) == SQLitePCL.raw.SQLITE_OK;
    }
}
