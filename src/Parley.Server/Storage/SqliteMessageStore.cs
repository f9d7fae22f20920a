// The embedded store: one SQLite file in WAL mode with synchronous=FULL for accounts, devices,
// keys and groups, and the inbox log beside it (Inbox/InboxLog, a directory named after the file with
// "-inbox") for the messages themselves: a commit that returned survives kill -9 and power loss
// alike in both. One connection writes (SQLite has one writer anyway); reads use their own pooled
// connections, which WAL lets run beside the writer. secure_delete is set on the writer, the only
// connection that deletes; the inbox log overwrites the segments it deletes with zeros.
using Microsoft.Data.Sqlite;
using Parley.Server.Storage.Inbox;
using Parley.Server.Hosting;

namespace Parley.Server.Storage;

public sealed partial class SqliteMessageStore : IMessageStore
{
    private const int SchemaVersion = 1;

    private readonly string _connectionString;
    private readonly SqliteConnection _writer;
    private readonly SharedInboxLogs.Lease _inboxLease;
    private readonly InboxLog _inbox;
    private readonly SqliteReaderPool _readers;
    private readonly SemaphoreSlim _writeLock = new(1, 1);

    /// <summary>The inbox log's index, for tests that hold its lock.</summary>
    internal InboxLog InboxLogForTests => _inbox;

    private SqliteMessageStore(string connectionString, SqliteConnection writer, SharedInboxLogs.Lease inbox)
    {
        _connectionString = connectionString;
        _writer = writer;
        _inboxLease = inbox;
        _inbox = inbox.Log;
        _readers = new SqliteReaderPool(connectionString);
    }

    /// <summary>The inbox log's directory for the database at <paramref name="databasePath"/>.</summary>
    public static string InboxLogDirectory(string databasePath) => Path.GetFullPath(databasePath) + "-inbox";

    /// <summary>Undelivered messages held, all recipients together.</summary>
    public long StoredMessages => _inbox.StoredMessages;

    /// <summary>Completes when the inbox log's deleted segments so far are overwritten and unlinked.</summary>
    internal Task Shredded => _inbox.Shredded;

    public string DatabasePath { get; private init; } = "";

    public static Task<SqliteMessageStore> OpenAsync(string databasePath, CancellationToken cancellationToken = default) =>
        OpenAsync(databasePath, null, cancellationToken);

    /// <exception cref="IOException">Another store has the inbox log open.</exception>
    /// <exception cref="InvalidDataException">The database is of another schema version, or the inbox log is damaged.</exception>
    internal static async Task<SqliteMessageStore> OpenAsync(string databasePath, InboxLogOptions? inboxLog, CancellationToken cancellationToken = default)
    {
        (string fullPath, string connectionString, SqliteConnection writer) = await SqliteDatabaseFile.OpenWriterAsync(databasePath, cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(writer, """
            PRAGMA journal_mode = WAL;
            PRAGMA synchronous = FULL;
            PRAGMA foreign_keys = ON;
            PRAGMA busy_timeout = 5000;
            PRAGMA secure_delete = ON;
            CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS accounts (
                username            TEXT PRIMARY KEY,
                password_algorithm  TEXT NOT NULL,
                password_iterations INTEGER NOT NULL,
                password_salt       BLOB NOT NULL,
                password_hash       BLOB NOT NULL,
                created_at          INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS device_tokens (
                token_hash   BLOB PRIMARY KEY,
                username     TEXT NOT NULL REFERENCES accounts(username),
                created_at   INTEGER NOT NULL,
                last_used_at INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS messages (
                id           INTEGER PRIMARY KEY AUTOINCREMENT,
                recipient    TEXT NOT NULL,
                sender       TEXT NOT NULL,
                created_at   INTEGER NOT NULL,
                content_type TEXT NOT NULL,
                body         BLOB NOT NULL,
                broadcast    INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS inbox_heads (
                recipient    TEXT PRIMARY KEY,
                last_seq     INTEGER NOT NULL);
            """, cancellationToken).ConfigureAwait(false);
        await AddDeviceIdsAsync(writer, cancellationToken).ConfigureAwait(false);
        await using (SqliteCommand version = writer.CreateCommand())
        {
            version.CommandText = "SELECT version FROM schema_version";
            object? current = await version.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            if (current is null)
            {
                version.CommandText = $"INSERT INTO schema_version VALUES ({SchemaVersion})";
                await version.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            else if (Convert.ToInt32(current, System.Globalization.CultureInfo.InvariantCulture) != SchemaVersion)
            {
                throw new InvalidDataException($"{fullPath} has schema version {current}; this server understands version {SchemaVersion}.");
            }
        }
        await AccountIdColumn.EnsureAsync(writer, cancellationToken).ConfigureAwait(false);
        await InboxSequenceColumns.EnsureAsync(writer, cancellationToken).ConfigureAwait(false);
        await CreateKeyDirectoryAsync(writer, cancellationToken).ConfigureAwait(false);
        await CreateGroupTablesAsync(writer, cancellationToken).ConfigureAwait(false);
        SharedInboxLogs.Lease? inbox = null;
        try
        {
            string directory = InboxLogDirectory(fullPath);
            inbox = SharedInboxLogs.Acquire(directory, () => InboxLog.Open(directory, SqliteInboxHeadRows.Open(connectionString), inboxLog));
            await LegacyInboxRows.MoveIntoAsync(writer, inbox.Log, cancellationToken).ConfigureAwait(false);
            return new SqliteMessageStore(connectionString, writer, inbox) { DatabasePath = fullPath };
        }
        catch
        {
            inbox?.Dispose();
            await writer.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public async Task<Account?> FindAccountAsync(string username, CancellationToken cancellationToken)
    {
        await EventThreads.Leave();
        cancellationToken.ThrowIfCancellationRequested();
        return _readers.Read(username, static (reader, user) => reader.FindAccount(user));
    }

    public async Task<bool> AccountExistsAsync(string username, CancellationToken cancellationToken)
    {
        await EventThreads.Leave();
        await using SqliteConnection connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT 1 FROM accounts WHERE username = $u";
        command.Parameters.AddWithValue("$u", username);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not null;
    }

    public async Task<bool> TryCreateAccountAsync(Account account, CancellationToken cancellationToken)
    {
        await EventThreads.Leave();
        ArgumentException.ThrowIfNullOrEmpty(account.AccountId);
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using SqliteCommand command = _writer.CreateCommand();
            command.CommandText = """
                INSERT INTO accounts (username, password_algorithm, password_iterations, password_salt, password_hash, created_at, account_id)
                VALUES ($u, $a, $i, $s, $h, $c, $id) ON CONFLICT (username) DO NOTHING
                """;
            command.Parameters.AddWithValue("$u", account.Username);
            command.Parameters.AddWithValue("$a", account.Password.Algorithm);
            command.Parameters.AddWithValue("$i", account.Password.Iterations);
            command.Parameters.AddWithValue("$s", account.Password.Salt);
            command.Parameters.AddWithValue("$h", account.Password.Hash);
            command.Parameters.AddWithValue("$c", account.CreatedAt);
            command.Parameters.AddWithValue("$id", account.AccountId);
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public async Task<CommitResult> CommitAsync(IReadOnlyList<NewMessage> messages, IReadOnlyList<InboxAck> acknowledged, CancellationToken cancellationToken)
    {
        await EventThreads.Leave();
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // The recipient's next id and the head rows: IMessageStore.CommitAsync's contract, kept by the log's one writer.
            return _inbox.Commit(messages, acknowledged);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public async Task<IReadOnlyList<StoredMessage>> LoadInboxAsync(string recipient, string device, long afterId, int limit, long maxBodyBytes, CancellationToken cancellationToken)
    {
        // Every login loads its inbox, and most find it empty. The in-memory index answers that
        // without a file read, so there is nothing that could block and no reason to leave the
        // event thread: the hop was the one thread wake-up left in a resumed login (decision 0026).
        if (_inbox.HoldsNothingAbove(recipient, afterId))
        {
            cancellationToken.ThrowIfCancellationRequested();
            return [];
        }
        await EventThreads.Leave();
        cancellationToken.ThrowIfCancellationRequested();
        return _inbox.Load(recipient, device, afterId, limit, maxBodyBytes);
    }

    public async Task<InboxUsage> GetInboxUsageAsync(string recipient, CancellationToken cancellationToken)
    {
        await EventThreads.Leave();
        cancellationToken.ThrowIfCancellationRequested();
        return _inbox.Usage(recipient);
    }

    public async Task<int> DeleteExpiredAsync(long createdBefore, CancellationToken cancellationToken)
    {
        await EventThreads.Leave();
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using SqliteCommand command = _writer.CreateCommand();
            // Messages for a device that is gone (revoked, evicted or expired) go too: nobody can take them.
            command.CommandText = "SELECT 1 FROM device_tokens WHERE username = $u AND device_id = $d";
            SqliteParameter user = command.Parameters.Add("$u", SqliteType.Text);
            SqliteParameter device = command.Parameters.Add("$d", SqliteType.Text);
            int deleted = _inbox.Expire(createdBefore, (recipient, deviceId) =>
            {
                user.Value = recipient;
                device.Value = deviceId;
                return command.ExecuteScalar() is not null;
            });
            command.Parameters.Clear();
            // Keys of devices that are gone are never handed out; the sweep drops them too.
            command.CommandText = """
                DELETE FROM one_time_prekeys WHERE NOT EXISTS (
                    SELECT 1 FROM device_tokens t WHERE t.username = one_time_prekeys.username AND t.device_id = one_time_prekeys.device_id);
                DELETE FROM device_keys WHERE NOT EXISTS (
                    SELECT 1 FROM device_tokens t WHERE t.username = device_keys.username AND t.device_id = device_keys.device_id);
                """;
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return deleted;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public async Task CheckpointAsync(CancellationToken cancellationToken)
    {
        await EventThreads.Leave();
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _inbox.Checkpoint();
            await ExecuteAsync(_writer, "PRAGMA wal_checkpoint(TRUNCATE)", cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private async Task<SqliteConnection> OpenReaderAsync(CancellationToken cancellationToken)
    {
        SqliteConnection connection = new(_connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        return connection;
    }

    private static async Task ExecuteAsync(SqliteConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            _inboxLease.Dispose();
            _readers.Dispose();
            await _writer.DisposeAsync().ConfigureAwait(false);
            SqliteConnection.ClearAllPools();
        }
        finally
        {
            _writeLock.Release();
        }
    }
}
