// The shared store for several server nodes (issue 12): PostgreSQL through Npgsql's pool, every
// operation one transaction on one pooled connection, so nodes never coordinate except through
// the database. How it keeps IMessageStore's contract under concurrent writers:
// - ids: each recipient's next ids come from its row in inbox_heads, incremented inside the
//   committing transaction; the row lock is held until commit, so a transaction that takes id n+1
//   waits for the one that took n to commit (or roll back, returning n). A reader that sees n+1
//   therefore sees every id below it. Rows are locked in recipient order, so two batches naming
//   the same recipients cannot deadlock; a deadlock PostgreSQL still reports is retried.
// - durability: synchronous_commit as configured by the operator (on by default): a commit that
//   returned is on PostgreSQL's disk before any acknowledgement leaves a node.
// - secure delete: PostgreSQL has no secure_delete. A deleted body stays in its page until
//   vacuum reclaims it, so CheckpointAsync vacuums the messages table on every sweep (beside the
//   commits, never in the writer's loop), and the deployment notes require encryption at rest
//   (deploy/README.md, docs/decisions/0009).
// Partial files mirror SqliteMessageStore's: accounts and inbox here, device tokens, the key
// directory, groups (IGroupStore) and files in transit (IFileStore, SqliteFileStore's twin)
// beside it. A store of another kind adds its own partial file, its own schema block in
// CreateSchemaAsync, and its own contract tests (tests/.../Storage/).
using System.Data;
using Npgsql;
using NpgsqlTypes;

namespace Parley.Server.Storage.Postgres;

public sealed partial class PostgresMessageStore : IMessageStore
{
    /// <summary>Serialises schema creation between nodes starting at once (an arbitrary, fixed advisory lock key).</summary>
    private const long SchemaLockKey = 0x7061_726C_6579;

    /// <summary>Times a transaction that PostgreSQL chose as a deadlock victim is tried again.</summary>
    private const int DeadlockRetries = 3;

    /// <summary>SQLSTATE of a session PostgreSQL ended for idling in a transaction (not among Npgsql's named codes).</summary>
    private const string IdleInTransactionSessionTimeout = "25P03";

    private readonly NpgsqlDataSource _dataSource;

    private PostgresMessageStore(NpgsqlDataSource dataSource, string description)
    {
        _dataSource = dataSource;
        Description = description;
    }

    /// <summary>Where the store is, without a password (for log lines).</summary>
    public string Description { get; }

    /// <summary>Opens the store at <paramref name="connectionString"/> and creates its tables if they are missing.</summary>
    public static async Task<PostgresMessageStore> OpenAsync(string connectionString, CancellationToken cancellationToken = default)
    {
        NpgsqlDataSource dataSource = NpgsqlDataSource.Create(connectionString);
        PostgresMessageStore store = new(dataSource, PostgresAddress.Describe(connectionString));
        try
        {
            await store.RunAsync(async (connection, transaction) =>
            {
                await CreateSchemaAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
                return true;
            }, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await dataSource.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return store;
    }

    private static async Task CreateSchemaAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        await ExecuteAsync(connection, transaction, $"""
            SELECT pg_advisory_xact_lock({SchemaLockKey});
            CREATE TABLE IF NOT EXISTS accounts (
                username            text PRIMARY KEY,
                password_algorithm  text NOT NULL,
                password_iterations integer NOT NULL,
                password_salt       bytea NOT NULL,
                password_hash       bytea NOT NULL,
                created_at          bigint NOT NULL,
                account_id          text NOT NULL);
            CREATE TABLE IF NOT EXISTS inbox_heads (
                recipient text PRIMARY KEY,
                last_seq  bigint NOT NULL);
            CREATE TABLE IF NOT EXISTS messages (
                recipient        text NOT NULL,
                seq              bigint NOT NULL,
                sender           text NOT NULL,
                created_at       bigint NOT NULL,
                content_type     text NOT NULL,
                body             bytea NOT NULL,
                broadcast        boolean NOT NULL,
                recipient_device text NOT NULL DEFAULT '',
                sender_device    text NOT NULL DEFAULT '',
                PRIMARY KEY (recipient, seq));
            CREATE INDEX IF NOT EXISTS messages_by_age ON messages (created_at);
            """, cancellationToken).ConfigureAwait(false);
        await CreateDeviceTokensAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        await CreateKeyDirectoryAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        await CreateGroupsAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        await CreateFilesAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        await CreateFileTotalsAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
    }

    public Task<Account?> FindAccountAsync(string username, CancellationToken cancellationToken) =>
        ReadAsync(async connection =>
        {
            await using NpgsqlCommand command = new(
                "SELECT password_algorithm, password_iterations, password_salt, password_hash, created_at, account_id FROM accounts WHERE username = @u", connection);
            command.Parameters.AddWithValue("u", username);
            await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return null;
            }
            return new Account(username, new PasswordVerifier(reader.GetString(0), reader.GetInt32(1), (byte[])reader[2], (byte[])reader[3]),
                reader.GetInt64(4), reader.GetString(5));
        }, cancellationToken);

    public Task<bool> AccountExistsAsync(string username, CancellationToken cancellationToken) =>
        ReadAsync(async connection =>
        {
            await using NpgsqlCommand command = new("SELECT 1 FROM accounts WHERE username = @u", connection);
            command.Parameters.AddWithValue("u", username);
            return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not null;
        }, cancellationToken);

    public Task<bool> TryCreateAccountAsync(Account account, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(account.AccountId);
        return ReadAsync(async connection =>
        {
            await using NpgsqlCommand command = new("""
                INSERT INTO accounts (username, password_algorithm, password_iterations, password_salt, password_hash, created_at, account_id)
                VALUES (@u, @a, @i, @s, @h, @c, @id) ON CONFLICT (username) DO NOTHING
                """, connection);
            command.Parameters.AddWithValue("u", account.Username);
            command.Parameters.AddWithValue("a", account.Password.Algorithm);
            command.Parameters.AddWithValue("i", account.Password.Iterations);
            command.Parameters.AddWithValue("s", account.Password.Salt);
            command.Parameters.AddWithValue("h", account.Password.Hash);
            command.Parameters.AddWithValue("c", account.CreatedAt);
            command.Parameters.AddWithValue("id", account.AccountId);
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        }, cancellationToken);
    }

    public Task<CommitResult> CommitAsync(IReadOnlyList<NewMessage> messages, IReadOnlyList<InboxAck> acknowledged, CancellationToken cancellationToken) =>
        RunAsync(async (connection, transaction) =>
        {
            List<StoredMessage> stored = new(messages.Count);
            if (messages.Count > 0)
            {
                Dictionary<string, long> nextId = await ReserveIdsAsync(connection, transaction, messages, cancellationToken).ConfigureAwait(false);
                foreach (NewMessage m in messages)
                {
                    long id = nextId[m.Recipient]++;
                    stored.Add(new StoredMessage(id, m.Sender, m.Recipient, m.Timestamp, m.ContentType, m.Body, m.Broadcast, m.RecipientDevice, m.SenderDevice));
                }
                await InsertAsync(connection, transaction, stored, cancellationToken).ConfigureAwait(false);
            }
            List<RemovedMessage> removed = acknowledged.Count == 0 ? [] :
                await DeleteAcknowledgedAsync(connection, transaction, acknowledged, cancellationToken).ConfigureAwait(false);
            return new CommitResult(stored, removed);
        }, cancellationToken);

    /// <summary>
    /// Takes as many ids from each recipient's sequence row as the batch has messages for it, the
    /// rows locked in recipient order; returns each recipient's first new id.
    /// </summary>
    private static async Task<Dictionary<string, long>> ReserveIdsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        IReadOnlyList<NewMessage> messages, CancellationToken cancellationToken)
    {
        SortedDictionary<string, long> counts = new(StringComparer.Ordinal);
        foreach (NewMessage m in messages)
        {
            counts[m.Recipient] = counts.GetValueOrDefault(m.Recipient) + 1;
        }
        Dictionary<string, long> first = new(counts.Count, StringComparer.Ordinal);
        // One statement for all recipients; rows are inserted (and locked) in one fixed order.
        await using NpgsqlCommand reserve = new("""
            INSERT INTO inbox_heads (recipient, last_seq)
            SELECT r, n FROM unnest(@r, @n) AS t(r, n) ORDER BY r COLLATE "C"
            ON CONFLICT (recipient) DO UPDATE SET last_seq = inbox_heads.last_seq + excluded.last_seq
            RETURNING recipient, last_seq
            """, connection, transaction);
        reserve.Parameters.AddWithValue("r", NpgsqlDbType.Array | NpgsqlDbType.Text, counts.Keys.ToArray());
        reserve.Parameters.AddWithValue("n", NpgsqlDbType.Array | NpgsqlDbType.Bigint, counts.Values.ToArray());
        await using NpgsqlDataReader reader = await reserve.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            string name = reader.GetString(0);
            first[name] = reader.GetInt64(1) - counts[name] + 1;
        }
        return first;
    }

    private static async Task InsertAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, List<StoredMessage> stored, CancellationToken cancellationToken)
    {
        // One statement for the whole batch: the columns travel as arrays.
        await using NpgsqlCommand insert = new("""
            INSERT INTO messages (recipient, seq, sender, created_at, content_type, body, broadcast, recipient_device, sender_device)
            SELECT * FROM unnest(@r, @q, @s, @c, @t, @b, @x, @d, @f)
            """, connection, transaction);
        insert.Parameters.AddWithValue("r", NpgsqlDbType.Array | NpgsqlDbType.Text, stored.Select(m => m.Recipient).ToArray());
        insert.Parameters.AddWithValue("q", NpgsqlDbType.Array | NpgsqlDbType.Bigint, stored.Select(m => m.Id).ToArray());
        insert.Parameters.AddWithValue("s", NpgsqlDbType.Array | NpgsqlDbType.Text, stored.Select(m => m.Sender).ToArray());
        insert.Parameters.AddWithValue("c", NpgsqlDbType.Array | NpgsqlDbType.Bigint, stored.Select(m => m.Timestamp).ToArray());
        insert.Parameters.AddWithValue("t", NpgsqlDbType.Array | NpgsqlDbType.Text, stored.Select(m => m.ContentType).ToArray());
        insert.Parameters.AddWithValue("b", NpgsqlDbType.Array | NpgsqlDbType.Bytea, stored.Select(m => m.Body).ToArray());
        insert.Parameters.AddWithValue("x", NpgsqlDbType.Array | NpgsqlDbType.Boolean, stored.Select(m => m.Broadcast).ToArray());
        insert.Parameters.AddWithValue("d", NpgsqlDbType.Array | NpgsqlDbType.Text, stored.Select(m => m.RecipientDevice).ToArray());
        insert.Parameters.AddWithValue("f", NpgsqlDbType.Array | NpgsqlDbType.Text, stored.Select(m => m.SenderDevice).ToArray());
        await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task<List<RemovedMessage>> DeleteAcknowledgedAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        IReadOnlyList<InboxAck> acknowledged, CancellationToken cancellationToken)
    {
        // A device removes the account's messages and its own, never another device's.
        await using NpgsqlCommand delete = new("""
            DELETE FROM messages m USING unnest(@r, @d, @i) AS a(recipient, device, seq)
            WHERE m.recipient = a.recipient AND m.seq = a.seq AND m.recipient_device IN ('', a.device)
            RETURNING m.recipient, length(m.body)
            """, connection, transaction);
        delete.Parameters.AddWithValue("r", NpgsqlDbType.Array | NpgsqlDbType.Text, acknowledged.Select(a => a.Recipient).ToArray());
        delete.Parameters.AddWithValue("d", NpgsqlDbType.Array | NpgsqlDbType.Text, acknowledged.Select(a => a.Device).ToArray());
        delete.Parameters.AddWithValue("i", NpgsqlDbType.Array | NpgsqlDbType.Bigint, acknowledged.Select(a => a.Id).ToArray());
        List<RemovedMessage> removed = [];
        await using NpgsqlDataReader reader = await delete.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            removed.Add(new RemovedMessage(reader.GetString(0), reader.GetInt32(1)));
        }
        return removed;
    }

    public Task<IReadOnlyList<StoredMessage>> LoadInboxAsync(string recipient, string device, long afterId, int limit, long maxBodyBytes, CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<StoredMessage>>(async connection =>
        {
            await using NpgsqlCommand command = new("""
                SELECT seq, sender, created_at, content_type, broadcast, length(body), recipient_device, sender_device, body FROM messages
                WHERE recipient = @r AND seq > @a AND recipient_device IN ('', @d) ORDER BY seq LIMIT @l
                """, connection);
            command.Parameters.AddWithValue("r", recipient);
            command.Parameters.AddWithValue("d", device);
            command.Parameters.AddWithValue("a", afterId);
            command.Parameters.AddWithValue("l", limit);
            List<StoredMessage> result = [];
            long bytes = 0;
            // Sequential access: the size column is read before the body, so a page never holds more than asked.
            await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(CommandBehavior.SequentialAccess, cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                long seq = reader.GetInt64(0);
                string sender = reader.GetString(1);
                long createdAt = reader.GetInt64(2);
                string contentType = reader.GetString(3);
                bool broadcast = reader.GetBoolean(4);
                bytes += reader.GetInt32(5);
                string recipientDevice = reader.GetString(6);
                string senderDevice = reader.GetString(7);
                if (result.Count > 0 && bytes > maxBodyBytes)
                {
                    break;
                }
                result.Add(new StoredMessage(seq, sender, recipient, createdAt, contentType, reader.GetFieldValue<byte[]>(8), broadcast, recipientDevice, senderDevice));
            }
            return result;
        }, cancellationToken);

    public Task<InboxUsage> GetInboxUsageAsync(string recipient, CancellationToken cancellationToken) =>
        ReadAsync(async connection =>
        {
            await using NpgsqlCommand command = new("SELECT count(*), coalesce(sum(length(body)), 0) FROM messages WHERE recipient = @r", connection);
            command.Parameters.AddWithValue("r", recipient);
            await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            return new InboxUsage(checked((int)reader.GetInt64(0)), Convert.ToInt64(reader.GetValue(1), System.Globalization.CultureInfo.InvariantCulture));
        }, cancellationToken);

    public Task<int> DeleteExpiredAsync(long createdBefore, CancellationToken cancellationToken) =>
        RunAsync(async (connection, transaction) =>
        {
            // Messages for a device that is gone (revoked, evicted or expired) go too: nobody can take them.
            await using NpgsqlCommand command = new("""
                DELETE FROM messages WHERE created_at < @c
                OR (recipient_device <> '' AND NOT EXISTS (
                    SELECT 1 FROM device_tokens t WHERE t.username = messages.recipient AND t.device_id = messages.recipient_device))
                """, connection, transaction);
            command.Parameters.AddWithValue("c", createdBefore);
            int deleted = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            await DeleteOrphanKeysAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
            return deleted;
        }, cancellationToken);

    /// <summary>Vacuums the messages table, so the pages that held deleted bodies are reclaimed (see the header).</summary>
    public Task CheckpointAsync(CancellationToken cancellationToken) =>
        ReadAsync(async connection =>
        {
            await VacuumAsync(connection, "messages", cancellationToken).ConfigureAwait(false);
            return true;
        }, cancellationToken);

    /// <summary>
    /// VACUUM with no time limit (on a large table it takes longer than any command timeout, and
    /// cancelled at 30 s it never finished), skipping the table when another session holds a lock
    /// it needs (another node's vacuum, an operator's maintenance): the next sweep tries again.
    /// </summary>
    private static async Task VacuumAsync(NpgsqlConnection connection, string table, CancellationToken cancellationToken)
    {
        await using NpgsqlCommand command = new($"VACUUM (SKIP_LOCKED) {table}", connection) { CommandTimeout = 0 };
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs <paramref name="work"/> on a pooled connection outside any explicit transaction (one statement, or reads).</summary>
    private async Task<T> ReadAsync<T>(Func<NpgsqlConnection, Task<T>> work, CancellationToken cancellationToken)
    {
        try
        {
            await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            return await work(connection).ConfigureAwait(false);
        }
        catch (Exception e) when (IsUnavailable(e))
        {
            throw Unavailable(e);
        }
    }

    /// <summary>Runs <paramref name="work"/> in one transaction, committed at the end; a deadlock victim is tried again.</summary>
    private async Task<T> RunAsync<T>(Func<NpgsqlConnection, NpgsqlTransaction, Task<T>> work, CancellationToken cancellationToken)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                await using NpgsqlTransaction transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                T result = await work(connection, transaction).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return result;
            }
            catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.SerializationFailure && attempt < DeadlockRetries)
            {
            }
            catch (Exception e) when (IsUnavailable(e))
            {
                throw Unavailable(e);
            }
        }
    }

    /// <summary>
    /// The database is down or unreachable (not a bad statement): a connection or socket failure,
    /// a timeout, PostgreSQL shutting down or starting up (SQLSTATE classes 08 and 57P), or this
    /// node's session ended for idling in a transaction (a node stalled past PostgresAddress.SessionOptions).
    /// </summary>
    private static bool IsUnavailable(Exception e) => e switch
    {
        PostgresException p => p.SqlState.StartsWith("08", StringComparison.Ordinal) || p.SqlState.StartsWith("57P", StringComparison.Ordinal)
            || p.SqlState == IdleInTransactionSessionTimeout,
        NpgsqlException => true,
        System.Net.Sockets.SocketException or TimeoutException => true,
        _ => false,
    };

    private StorageUnavailableException Unavailable(Exception e)
    {
        // Pooled connections to a server that went away are dead: the next operation opens new ones.
        // Not when the pool was only busy: closing every idle connection then made each of the
        // next requests open (and authenticate) one again, at the moment the database was loaded.
        if (!IsPoolExhausted(e))
        {
            _dataSource.Clear();
        }
        return new($"the database ({Description}) is unavailable: {e.Message}", e);
    }

    /// <summary>
    /// Every pooled connection was in use for the whole connection timeout. Npgsql says so only in
    /// its message (an NpgsqlException like any connection failure), so that is what is read.
    /// </summary>
    private static bool IsPoolExhausted(Exception e) =>
        e is NpgsqlException { InnerException: null or TimeoutException } and not PostgresException
        && e.Message.StartsWith("The connection pool has been exhausted", StringComparison.Ordinal);

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        await using NpgsqlCommand command = new(sql, connection, transaction);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}
