using Microsoft.Data.Sqlite;

namespace Parley.Tests.Support;

/// <summary>Reads a running server's database directly (WAL lets a reader in beside it), to check what was stored.</summary>
public static class StoredMessages
{
    public static string DatabasePath(TestServer server) => Path.Combine(server.DataDirectory, "data", "parley.db");

    public static async Task<long> CountForAsync(TestServer server, string recipient)
    {
        string connectionString = new SqliteConnectionStringBuilder { DataSource = DatabasePath(server), Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString();
        await using SqliteConnection connection = new(connectionString);
        await connection.OpenAsync();
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM messages WHERE recipient = $r";
        command.Parameters.AddWithValue("$r", recipient);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
