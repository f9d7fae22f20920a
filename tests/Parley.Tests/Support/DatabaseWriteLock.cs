using Microsoft.Data.Sqlite;

namespace Parley.Tests.Support;

/// <summary>
/// Plays another process holding a SQLite database's write lock (a backup, an operator's sqlite3):
/// BEGIN IMMEDIATE on a connection of its own until <see cref="Release"/> or disposal.
/// </summary>
public sealed class DatabaseWriteLock : IDisposable
{
    private readonly SqliteConnection _connection;
    private bool _held;

    private DatabaseWriteLock(string path)
    {
        _connection = new SqliteConnection($"Data Source={path};Pooling=False");
        _connection.Open();
        Execute("BEGIN IMMEDIATE");
        _held = true;
    }

    public static DatabaseWriteLock Take(string path) => new(path);

    public void Release()
    {
        if (_held)
        {
            Execute("ROLLBACK");
            _held = false;
        }
    }

    public void Dispose()
    {
        Release();
        _connection.Dispose();
    }

    private void Execute(string sql)
    {
        using SqliteCommand command = _connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
