// The device's end-to-end state at rest in a local SQLite database (docs/decisions/0006): one row
// for the device itself (identity, prekeys, pins, held messages) and one row per peer device for
// its sessions, so a message rewrites only the sessions it touched, in one transaction with the
// device row. Every value is AES-256-GCM under the random key in the owner-only key file beside
// the database, with a fresh nonce per write and associated data naming the owner and the row, so
// a value copied to another row, another user's database or another key fails closed.
using System.Security.Cryptography;
using System.Text;
using Microsoft.Data.Sqlite;
using Parley.EndToEnd;
using Parley.Transport.Files;

namespace Parley.Client.EndToEnd;

public sealed partial class E2eDeviceDatabase : IDisposable
{
    private const int KeySize = SealedValue.KeySize;
    private const int SchemaVersion = 1;

    private readonly SqliteConnection _connection;
    private readonly string _user;
    private readonly byte[] _key;

    /// <summary>Opens (or creates) the database of <paramref name="user"/>'s device at <paramref name="path"/>, in an owner-only folder.</summary>
    public E2eDeviceDatabase(string path, string user)
    {
        Path = System.IO.Path.GetFullPath(path);
        _user = user;
        OwnerOnly.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        if (File.Exists(Path) && !File.Exists(KeyPath))
        {
            // A new key would only make every row fail to authenticate: say what is missing.
            throw new E2eProtocolException(E2eError.MalformedData, $"{KeyPath} is missing: the end-to-end state in {Path} cannot be read without it");
        }
        _key = LoadOrCreateKey(KeyPath);
        _connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path, Pooling = false }.ToString());
        try
        {
            _connection.Open();
            Execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;");
            Execute("""
                CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);
                CREATE TABLE IF NOT EXISTS sessions (
                    peer_user TEXT NOT NULL, peer_device TEXT NOT NULL, last_used INTEGER NOT NULL, state BLOB NOT NULL,
                    PRIMARY KEY (peer_user, peer_device));
                """);
            using SqliteCommand version = _connection.CreateCommand();
            version.CommandText = "PRAGMA user_version";
            long found = (long)version.ExecuteScalar()!;
            if (found == 0)
            {
                Execute($"PRAGMA user_version = {SchemaVersion}");
            }
            else if (found != SchemaVersion)
            {
                throw new E2eProtocolException(E2eError.UnsupportedVersion, $"{Path} has schema {found}; this client knows {SchemaVersion}");
            }
        }
        catch
        {
            _connection.Dispose();
            CryptographicOperations.ZeroMemory(_key);
            throw;
        }
    }

    public string Path { get; }

    public string KeyPath => Path + ".key";

    /// <summary>True once a device has been saved here.</summary>
    public bool HasDevice
    {
        get
        {
            using SqliteCommand command = _connection.CreateCommand();
            command.CommandText = "SELECT count(*) FROM meta WHERE name = 'device'";
            return (long)command.ExecuteScalar()! > 0;
        }
    }

    /// <summary>Saves the device row and the sessions changed since the last save, atomically.</summary>
    public void Save(E2eDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        byte[] core = device.ExportCore();
        IReadOnlyList<(PeerDevice Peer, long LastUsed, byte[]? Sessions)> changes = device.TakeSessionChanges();
        try
        {
            using SqliteTransaction transaction = _connection.BeginTransaction();
            using (SqliteCommand meta = _connection.CreateCommand())
            {
                meta.Transaction = transaction;
                meta.CommandText = "INSERT INTO meta (name, value) VALUES ('device', $v) ON CONFLICT(name) DO UPDATE SET value = excluded.value";
                meta.Parameters.AddWithValue("$v", Seal(core, DeviceRow()));
                meta.ExecuteNonQuery();
            }
            using SqliteCommand upsert = _connection.CreateCommand();
            upsert.Transaction = transaction;
            upsert.CommandText = """
                INSERT INTO sessions (peer_user, peer_device, last_used, state) VALUES ($u, $d, $l, $s)
                ON CONFLICT(peer_user, peer_device) DO UPDATE SET last_used = excluded.last_used, state = excluded.state
                """;
            using SqliteCommand delete = _connection.CreateCommand();
            delete.Transaction = transaction;
            delete.CommandText = "DELETE FROM sessions WHERE peer_user = $u AND peer_device = $d";
            foreach ((PeerDevice peer, long lastUsed, byte[]? sessions) in changes)
            {
                SqliteCommand command = sessions is null ? delete : upsert;
                command.Parameters.Clear();
                command.Parameters.AddWithValue("$u", peer.User);
                command.Parameters.AddWithValue("$d", peer.DeviceId);
                if (sessions is not null)
                {
                    command.Parameters.AddWithValue("$l", lastUsed);
                    command.Parameters.AddWithValue("$s", Seal(sessions, SessionRow(peer)));
                }
                command.ExecuteNonQuery();
            }
            transaction.Commit();
        }
        finally
        {
            CryptographicOperations.ZeroMemory(core);
            foreach ((_, _, byte[]? sessions) in changes)
            {
                if (sessions is not null)
                {
                    CryptographicOperations.ZeroMemory(sessions);
                }
            }
        }
    }

    /// <summary>The saved device; a changed row, another user's database or another key fails closed.</summary>
    /// <exception cref="E2eProtocolException">A row does not authenticate, or is malformed.</exception>
    public E2eDevice Load()
    {
        byte[] core;
        using (SqliteCommand meta = _connection.CreateCommand())
        {
            meta.CommandText = "SELECT value FROM meta WHERE name = 'device'";
            core = meta.ExecuteScalar() is byte[] sealedCore
                ? Open(sealedCore, DeviceRow())
                : throw new E2eProtocolException(E2eError.MalformedData, $"{Path} holds no device");
        }
        List<(PeerDevice, byte[])> sessions = [];
        try
        {
            using SqliteCommand select = _connection.CreateCommand();
            select.CommandText = "SELECT peer_user, peer_device, state FROM sessions ORDER BY last_used";
            using SqliteDataReader reader = select.ExecuteReader();
            while (reader.Read())
            {
                PeerDevice peer = new(reader.GetString(0), reader.GetString(1));
                sessions.Add((peer, Open((byte[])reader[2], SessionRow(peer))));
            }
            E2eDevice device = E2eDevice.ImportState(core, sessions);
            if (device.User != _user)
            {
                device.Dispose();
                throw new E2eProtocolException(E2eError.MalformedData, $"{Path} is not the end-to-end state of {_user}");
            }
            return device;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(core);
            foreach ((_, byte[] stored) in sessions)
            {
                CryptographicOperations.ZeroMemory(stored);
            }
        }
    }

    /// <summary>Rows of stored sessions (for tests that check only changed sessions are written).</summary>
    internal long SessionRows
    {
        get
        {
            using SqliteCommand command = _connection.CreateCommand();
            command.CommandText = "SELECT count(*) FROM sessions";
            return (long)command.ExecuteScalar()!;
        }
    }

    private byte[] DeviceRow() => Encoding.UTF8.GetBytes($"parley-e2e-db-v1\0device\0{_user}");

    private byte[] SessionRow(PeerDevice peer) => Encoding.UTF8.GetBytes($"parley-e2e-db-v1\0sessions\0{_user}\0{peer.User}\0{peer.DeviceId}");

    private byte[] Seal(byte[] plaintext, byte[] associatedData) => SealedValue.Seal(_key, plaintext, associatedData);

    private byte[] Open(byte[] sealedValue, byte[] associatedData) => SealedValue.Open(_key, sealedValue, associatedData, Path);

    private static byte[] LoadOrCreateKey(string keyPath)
    {
        if (File.Exists(keyPath))
        {
            byte[] existing = File.ReadAllBytes(keyPath);
            return existing.Length == KeySize ? existing : throw new E2eProtocolException(E2eError.MalformedData, $"{keyPath} is not a key");
        }
        byte[] key = RandomNumberGenerator.GetBytes(KeySize);
        using (FileStream file = OwnerOnly.OpenWrite(keyPath, FileMode.CreateNew))
        {
            file.Write(key);
            file.Flush(flushToDisk: true);
        }
        return key;
    }

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
