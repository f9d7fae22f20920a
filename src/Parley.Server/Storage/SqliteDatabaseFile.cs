// Opening one of the server's SQLite files, the same way for each: the file is created owner-only
// before SQLite touches it (so nothing it holds is ever world-readable), then the one writer
// connection is opened. Each store sets its own pragmas and schema on that connection.
using Microsoft.Data.Sqlite;
using Parley.Transport.Files;

namespace Parley.Server.Storage;

internal static class SqliteDatabaseFile
{
    /// <summary>The full path, the connection string for readers, and the opened writer connection.</summary>
    public static async Task<(string FullPath, string ConnectionString, SqliteConnection Writer)> OpenWriterAsync(string databasePath, CancellationToken cancellationToken)
    {
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
}
