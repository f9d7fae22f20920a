// The embedded store: one SQLite file in WAL mode with synchronous=FULL, so a commit that
// returned survives kill -9 and power loss alike. One connection writes (SQLite has one writer
// anyway); reads use their own pooled connections, which WAL lets run beside the writer.
// secure_delete is set on the writer, the only connection that deletes: an acknowledged or
// expired body is overwritten with zeros, so it cannot be recovered from the file afterwards.
using Microsoft.Data.Sqlite;

namespace Parley.Server.Storage;

public sealed partial class SqliteMessageStore : IMessageStore
{
    private const int SchemaVersion = 1;

    private readonly string _connectionString;
    private readonly SqliteConnection _writer;
    private readonly SqliteInboxStatements _inbox;
    private readonly SqliteReaderPool _readers;
    private readonly SemaphoreSlim _writeLock = new(1, 1);

    private SqliteMessageStore(string connectionString, SqliteConnection writer)
    {
        _connectionString = connectionString;
        _writer = writer;
        _inbox = new SqliteInboxStatements(writer);
        _readers = new SqliteReaderPool(connectionString);
    }

    public string DatabasePath { get; private init; } = "";

    public static async Task<SqliteMessageStore> OpenAsync(string databasePath, CancellationToken cancellationToken = default)
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
        return new SqliteMessageStore(connectionString, writer) { DatabasePath = fullPath };
    }

    public Task<Account?> FindAccountAsync(string username, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(_readers.Read(username, static (reader, user) => reader.FindAccount(user)));
    }

    public async Task<bool> AccountExistsAsync(string username, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT 1 FROM accounts WHERE username = $u";
        command.Parameters.AddWithValue("$u", username);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not null;
    }

    public async Task<bool> TryCreateAccountAsync(Account account, CancellationToken cancellationToken)
    {
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
        List<StoredMessage> stored = new(messages.Count);
        List<RemovedMessage> removed = [];
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            try
            {
                await using SqliteTransaction transaction = (SqliteTransaction)await _writer.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                _inbox.BeginTransaction();
                // The recipient's next id is counted in its own row, written inside this
                // transaction: the contract of IMessageStore.CommitAsync, which a store with many
                // writers keeps too. This store's one writer counts in memory and writes each
                // recipient's row once per commit.
                long[] sequences = new long[messages.Count];
                for (int i = 0; i < messages.Count; i++)
                {
                    NewMessage m = messages[i];
                    sequences[i] = _inbox.NextSequence(m.Recipient);
                    stored.Add(new StoredMessage(sequences[i], m.Sender, m.Recipient, m.Timestamp, m.ContentType, m.Body, m.Broadcast, m.RecipientDevice, m.SenderDevice));
                }
                _inbox.Insert(messages, sequences);
                _inbox.WriteHeads();
                _inbox.Delete(acknowledged, removed);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                _inbox.Failed();
                throw;
            }
            _inbox.Committed();
        }
        finally
        {
            _writeLock.Release();
        }
        return new CommitResult(stored, removed);
    }

    public Task<IReadOnlyList<StoredMessage>> LoadInboxAsync(string recipient, string device, long afterId, int limit, long maxBodyBytes, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        IReadOnlyList<StoredMessage> page = _readers.Read((recipient, device, afterId, limit, maxBodyBytes),
            static (reader, q) => reader.LoadInbox(q.recipient, q.device, q.afterId, q.limit, q.maxBodyBytes));
        return Task.FromResult(page);
    }

    public async Task<InboxUsage> GetInboxUsageAsync(string recipient, CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT count(*), coalesce(sum(length(body)), 0) FROM messages WHERE recipient = $r";
        command.Parameters.AddWithValue("$r", recipient);
        await using SqliteDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return new InboxUsage(reader.GetInt32(0), reader.GetInt64(1));
    }

    public async Task<int> DeleteExpiredAsync(long createdBefore, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using SqliteCommand command = _writer.CreateCommand();
            // Messages for a device that is gone (revoked, evicted or expired) go too: nobody can take them.
            command.CommandText = """
                DELETE FROM messages WHERE created_at < $c
                OR (recipient_device <> '' AND NOT EXISTS (
                    SELECT 1 FROM device_tokens WHERE username = messages.recipient AND device_id = messages.recipient_device))
                """;
            command.Parameters.AddWithValue("$c", createdBefore);
            int deleted = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
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
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
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
            _inbox.Dispose();
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
