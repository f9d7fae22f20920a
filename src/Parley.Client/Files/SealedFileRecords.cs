// What a client keeps about file transfers between runs: the unfinished uploads (UploadJournal)
// and the offers received and not saved yet (parley chat). Each holds a file's key, so each is a
// row of the device database (docs/decisions/0006) sealed under the device's state key, with
// associated data naming the owner, the kind and the file id: a copied folder or backup without
// the key file reveals no file key, and a row moved to another file id, kind or user fails closed.
// A removed row is overwritten (secure_delete) and the log emptied, as the file it replaces was.
using System.Security.Cryptography;
using System.Text;
using Microsoft.Data.Sqlite;
using Parley.Client.EndToEnd;
using Parley.EndToEnd;

namespace Parley.Client.Files;

public enum FileRecordKind
{
    /// <summary>An upload not finished or not offered yet (<see cref="UploadEntry"/>).</summary>
    Upload,

    /// <summary>A file offer received and not saved yet.</summary>
    Offer,
}

public sealed class SealedFileRecords : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly string _path;
    private readonly string _user;
    private readonly byte[] _key;
    private readonly Lock _lock = new();

    internal SealedFileRecords(string databasePath, string user, byte[] key)
    {
        _path = databasePath;
        _user = user;
        _key = (byte[])key.Clone();
        _connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = databasePath, Pooling = false }.ToString());
        try
        {
            _connection.Open();
            Execute("""
                PRAGMA busy_timeout = 5000;
                PRAGMA synchronous = FULL;
                PRAGMA secure_delete = ON;
                CREATE TABLE IF NOT EXISTS file_records (
                    kind TEXT NOT NULL, file_id TEXT NOT NULL, value BLOB NOT NULL,
                    PRIMARY KEY (kind, file_id));
                """);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The records of <paramref name="kind"/>, by file id, opened (the caller wipes the values).</summary>
    /// <exception cref="E2eProtocolException">A row does not authenticate (see <see cref="DropUnreadable"/>).</exception>
    public IReadOnlyList<(string FileId, byte[] Value)> All(FileRecordKind kind)
    {
        List<(string, byte[])> records = [];
        lock (_lock)
        {
            foreach ((string fileId, byte[] sealedValue) in Rows(kind))
            {
                records.Add((fileId, SealedValue.Open(_key, sealedValue, Row(kind, fileId), _path)));
            }
        }
        return records;
    }

    /// <summary>Stores (or replaces) a record, durably; <paramref name="value"/> is wiped.</summary>
    public void Put(FileRecordKind kind, string fileId, byte[] value)
    {
        ArgumentNullException.ThrowIfNull(value);
        try
        {
            lock (_lock)
            {
                using SqliteCommand command = _connection.CreateCommand();
                command.CommandText = """
                    INSERT INTO file_records (kind, file_id, value) VALUES ($k, $f, $v)
                    ON CONFLICT (kind, file_id) DO UPDATE SET value = excluded.value
                    """;
                command.Parameters.AddWithValue("$k", Name(kind));
                command.Parameters.AddWithValue("$f", fileId);
                command.Parameters.AddWithValue("$v", SealedValue.Seal(_key, value, Row(kind, fileId)));
                command.ExecuteNonQuery();
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(value);
        }
    }

    /// <summary>Removes a record if it is there: its row is overwritten and the log emptied, so the file key is gone from disk.</summary>
    public void Remove(FileRecordKind kind, string fileId)
    {
        lock (_lock)
        {
            using SqliteCommand command = _connection.CreateCommand();
            command.CommandText = "DELETE FROM file_records WHERE kind = $k AND file_id = $f";
            command.Parameters.AddWithValue("$k", Name(kind));
            command.Parameters.AddWithValue("$f", fileId);
            if (command.ExecuteNonQuery() > 0)
            {
                // The row's earlier versions are still in the log until a checkpoint copies it and starts it again.
                Execute("PRAGMA wal_checkpoint(TRUNCATE)");
            }
        }
    }

    /// <summary>
    /// Deletes the rows that do not authenticate (changed in the file, or sealed under another key)
    /// and returns how many: nothing can be done with them, and every later read would fail on them.
    /// </summary>
    public int DropUnreadable()
    {
        int dropped = 0;
        lock (_lock)
        {
            foreach (FileRecordKind kind in Enum.GetValues<FileRecordKind>())
            {
                foreach ((string fileId, byte[] sealedValue) in Rows(kind))
                {
                    try
                    {
                        CryptographicOperations.ZeroMemory(SealedValue.Open(_key, sealedValue, Row(kind, fileId), _path));
                    }
                    catch (E2eProtocolException)
                    {
                        using SqliteCommand delete = _connection.CreateCommand();
                        delete.CommandText = "DELETE FROM file_records WHERE kind = $k AND file_id = $f";
                        delete.Parameters.AddWithValue("$k", Name(kind));
                        delete.Parameters.AddWithValue("$f", fileId);
                        delete.ExecuteNonQuery();
                        dropped++;
                    }
                }
            }
        }
        return dropped;
    }

    private List<(string FileId, byte[] Sealed)> Rows(FileRecordKind kind)
    {
        List<(string, byte[])> rows = [];
        using SqliteCommand select = _connection.CreateCommand();
        select.CommandText = "SELECT file_id, value FROM file_records WHERE kind = $k ORDER BY file_id";
        select.Parameters.AddWithValue("$k", Name(kind));
        using SqliteDataReader reader = select.ExecuteReader();
        while (reader.Read())
        {
            rows.Add((reader.GetString(0), (byte[])reader[1]));
        }
        return rows;
    }

    private static string Name(FileRecordKind kind) => kind switch
    {
        FileRecordKind.Upload => "upload",
        FileRecordKind.Offer => "offer",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    private byte[] Row(FileRecordKind kind, string fileId) => Encoding.UTF8.GetBytes($"parley-e2e-db-v1\0files\0{_user}\0{Name(kind)}\0{fileId}");

    private void Execute(string sql)
    {
        using SqliteCommand command = _connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    public void Dispose()
    {
        _connection.Dispose();
        CryptographicOperations.ZeroMemory(_key);
    }
}
