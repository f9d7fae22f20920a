// Files in transit in a SQLite database of their own (files.db beside parley.db,
// docs/decisions/0010): one row per chunk of at most 64 KiB, so writing and reading a file never
// holds more than a chunk. WAL with synchronous=NORMAL: a chunk's commit does not wait for the
// disk (a file of 20,000 chunks would otherwise wait 20,000 times), and a crash can lose only the
// last chunks, which the upload journal sends again because the count of chunks held is in the
// same transactions. Completing a file is committed with synchronous=FULL, which makes every
// earlier chunk durable too, before the sender hears it is stored. auto_vacuum=INCREMENTAL gives
// the pages of deleted files back to the file system at each sweep; secure_delete=FAST zeroes
// what it can without extra I/O (the chunks are ciphertext under keys the server never sees).
using Microsoft.Data.Sqlite;
using Parley.Server.Hosting;

namespace Parley.Server.Storage;

public sealed class SqliteFileStore : IFileStore
{
    private readonly string _connectionString;
    private readonly SqliteConnection _writer;
    private readonly SemaphoreSlim _writeLock = new(1, 1);

    private SqliteFileStore(string connectionString, SqliteConnection writer)
    {
        _connectionString = connectionString;
        _writer = writer;
    }

    public string DatabasePath { get; private init; } = "";

    public static async Task<SqliteFileStore> OpenAsync(string databasePath, CancellationToken cancellationToken = default)
    {
        (string fullPath, string connectionString, SqliteConnection writer) = await SqliteDatabaseFile.OpenWriterAsync(databasePath, cancellationToken).ConfigureAwait(false);
        // auto_vacuum must be chosen before the first table exists.
        await ExecuteAsync(writer, """
            PRAGMA auto_vacuum = INCREMENTAL;
            PRAGMA journal_mode = WAL;
            PRAGMA synchronous = NORMAL;
            PRAGMA busy_timeout = 5000;
            PRAGMA secure_delete = FAST;
            CREATE TABLE IF NOT EXISTS files (
                file_id       TEXT PRIMARY KEY,
                owner         TEXT NOT NULL,
                owner_device  TEXT NOT NULL,
                size          INTEGER NOT NULL,
                chunk_size    INTEGER NOT NULL,
                chunk_count   INTEGER NOT NULL,
                received      INTEGER NOT NULL,
                complete      INTEGER NOT NULL,
                created_at    INTEGER NOT NULL,
                last_activity INTEGER NOT NULL);
            CREATE INDEX IF NOT EXISTS files_owner ON files (owner, complete);
            CREATE TABLE IF NOT EXISTS file_recipients (
                file_id  TEXT NOT NULL,
                username TEXT NOT NULL,
                PRIMARY KEY (file_id, username));
            CREATE INDEX IF NOT EXISTS file_recipients_user ON file_recipients (username);
            CREATE TABLE IF NOT EXISTS file_devices (
                file_id   TEXT NOT NULL,
                username  TEXT NOT NULL,
                device_id TEXT NOT NULL,
                PRIMARY KEY (file_id, username, device_id));
            CREATE TABLE IF NOT EXISTS file_chunks (
                file_id TEXT NOT NULL,
                idx     INTEGER NOT NULL,
                body    BLOB NOT NULL,
                PRIMARY KEY (file_id, idx));
            """, cancellationToken).ConfigureAwait(false);
        return new SqliteFileStore(connectionString, writer) { DatabasePath = fullPath };
    }

    public async Task CreateUploadAsync(NewUpload upload, CancellationToken cancellationToken)
    {
        await EventThreads.Leave();
        await WriteAsync(async transaction =>
        {
            await using SqliteCommand insert = Command(transaction, """
                INSERT INTO files (file_id, owner, owner_device, size, chunk_size, chunk_count, received, complete, created_at, last_activity)
                VALUES ($f, $o, $d, $s, $c, $n, 0, 0, $t, $t)
                """);
            insert.Parameters.AddWithValue("$f", upload.FileId);
            insert.Parameters.AddWithValue("$o", upload.Owner);
            insert.Parameters.AddWithValue("$d", upload.OwnerDevice);
            insert.Parameters.AddWithValue("$s", upload.Size);
            insert.Parameters.AddWithValue("$c", upload.ChunkSize);
            insert.Parameters.AddWithValue("$n", upload.ChunkCount);
            insert.Parameters.AddWithValue("$t", upload.CreatedAt);
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            await using SqliteCommand recipient = Command(transaction, "INSERT OR IGNORE INTO file_recipients (file_id, username) VALUES ($f, $u)");
            recipient.Parameters.AddWithValue("$f", upload.FileId);
            SqliteParameter user = recipient.Parameters.Add("$u", SqliteType.Text);
            foreach (string name in upload.Recipients)
            {
                user.Value = name;
                await recipient.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            return 0;
        }, durable: false, cancellationToken).ConfigureAwait(false);
    }

    public async Task<StoredFile?> FindAsync(string fileId, CancellationToken cancellationToken)
    {
        await EventThreads.Leave();
        await using SqliteConnection connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT owner, size, chunk_size, chunk_count, received, complete, created_at, last_activity FROM files WHERE file_id = $f";
        command.Parameters.AddWithValue("$f", fileId);
        StoredFile file;
        await using (SqliteDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return null;
            }
            file = new StoredFile(fileId, reader.GetString(0), [], reader.GetInt64(1), reader.GetInt32(2), reader.GetInt64(3), reader.GetInt64(4),
                reader.GetInt64(5) != 0, reader.GetInt64(6), reader.GetInt64(7));
        }
        command.CommandText = "SELECT username FROM file_recipients WHERE file_id = $f ORDER BY username";
        List<string> recipients = [];
        await using (SqliteDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                recipients.Add(reader.GetString(0));
            }
        }
        return file with { Recipients = recipients };
    }

    public async Task<UploadUsage> UnfinishedUploadsAsync(string owner, CancellationToken cancellationToken)
    {
        await EventThreads.Leave();
        await using SqliteConnection connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM files WHERE owner = $o AND complete = 0";
        command.Parameters.AddWithValue("$o", owner);
        await using SqliteDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return new UploadUsage(reader.GetInt32(0), reader.GetInt64(1));
    }

    public async Task<InboxFileUse> BytesHeldForAsync(string recipient, string uploader, CancellationToken cancellationToken)
    {
        await EventThreads.Leave();
        await using SqliteConnection connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = """
            SELECT COALESCE(SUM(MAX(f.size, $min)), 0), COALESCE(SUM(CASE WHEN f.owner = $o THEN MAX(f.size, $min) ELSE 0 END), 0)
            FROM file_recipients r JOIN files f ON f.file_id = r.file_id WHERE r.username = $u AND f.complete
              AND EXISTS (SELECT 1 FROM file_devices d WHERE d.file_id = f.file_id AND d.username = r.username)
            """;
        command.Parameters.AddWithValue("$u", recipient);
        command.Parameters.AddWithValue("$o", uploader);
        command.Parameters.AddWithValue("$min", FileCharges.MinimumFile);
        await using SqliteDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return new InboxFileUse(reader.GetInt64(0), reader.GetInt64(1));
    }

    public async Task<WaitingFiles> WaitingFilesOfAsync(string uploader, CancellationToken cancellationToken)
    {
        await EventThreads.Leave();
        await using SqliteConnection connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = """
            SELECT COUNT(*), COALESCE(SUM(MAX(f.size, $min) + $per * (SELECT COUNT(*) FROM file_recipients r WHERE r.file_id = f.file_id)), 0)
            FROM files f WHERE f.owner = $o AND f.complete
            """;
        command.Parameters.AddWithValue("$o", uploader);
        command.Parameters.AddWithValue("$min", FileCharges.MinimumFile);
        command.Parameters.AddWithValue("$per", FileCharges.PerRecipient);
        await using SqliteDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return new WaitingFiles(checked((int)reader.GetInt64(0)), reader.GetInt64(1));
    }

    public async Task<long> AppendChunkAsync(string fileId, long index, ReadOnlyMemory<byte> body, long now, CancellationToken cancellationToken) =>
        await WriteAsync(async transaction =>
        {
            await using SqliteCommand read = Command(transaction, "SELECT received FROM files WHERE file_id = $f AND complete = 0");
            read.Parameters.AddWithValue("$f", fileId);
            object? current = await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            if (current is not long received || received != index)
            {
                return current is long held ? held : -1;
            }
            await using SqliteCommand insert = Command(transaction, "INSERT INTO file_chunks (file_id, idx, body) VALUES ($f, $i, $b)");
            insert.Parameters.AddWithValue("$f", fileId);
            insert.Parameters.AddWithValue("$i", index);
            insert.Parameters.Add("$b", SqliteType.Blob).Value = body.ToArray();
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            await using SqliteCommand update = Command(transaction, "UPDATE files SET received = received + 1, last_activity = $t WHERE file_id = $f");
            update.Parameters.AddWithValue("$f", fileId);
            update.Parameters.AddWithValue("$t", now);
            await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return received + 1;
        }, durable: false, cancellationToken).ConfigureAwait(false);

    public async Task<bool> CompleteAsync(string fileId, IReadOnlyList<(string User, string Device)> devices, long now, CancellationToken cancellationToken)
    {
        await EventThreads.Leave();
        return await WriteAsync(async transaction =>
        {
            await using SqliteCommand update = Command(transaction, "UPDATE files SET complete = 1, last_activity = $t WHERE file_id = $f");
            update.Parameters.AddWithValue("$f", fileId);
            update.Parameters.AddWithValue("$t", now);
            if (await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
            {
                // Swept (or never made) meanwhile: no device rows for a file that is not there.
                return false;
            }
            await using SqliteCommand insert = Command(transaction, "INSERT OR IGNORE INTO file_devices (file_id, username, device_id) VALUES ($f, $u, $d)");
            insert.Parameters.AddWithValue("$f", fileId);
            SqliteParameter user = insert.Parameters.Add("$u", SqliteType.Text);
            SqliteParameter device = insert.Parameters.Add("$d", SqliteType.Text);
            foreach ((string u, string d) in devices)
            {
                user.Value = u;
                device.Value = d;
                await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            return true;
        }, durable: true, cancellationToken).ConfigureAwait(false);
    }

    public async Task<byte[]?> ReadChunkAsync(string fileId, long index, CancellationToken cancellationToken)
    {
        await EventThreads.Leave();
        await using SqliteConnection connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT body FROM file_chunks WHERE file_id = $f AND idx = $i";
        command.Parameters.AddWithValue("$f", fileId);
        command.Parameters.AddWithValue("$i", index);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as byte[];
    }

    public async Task<bool> MarkDoneAsync(string fileId, string user, string device, CancellationToken cancellationToken) =>
        await WriteAsync(async transaction =>
        {
            // Only a complete file waits for devices: a gone one (taken by the others meanwhile) or an unfinished upload is not deleted here.
            await using SqliteCommand exists = Command(transaction, "SELECT 1 FROM files WHERE file_id = $f AND complete = 1");
            exists.Parameters.AddWithValue("$f", fileId);
            if (await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is null)
            {
                return false;
            }
            await using SqliteCommand delete = Command(transaction, "DELETE FROM file_devices WHERE file_id = $f AND username = $u AND device_id = $d");
            delete.Parameters.AddWithValue("$f", fileId);
            delete.Parameters.AddWithValue("$u", user);
            delete.Parameters.AddWithValue("$d", device);
            await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            await using SqliteCommand left = Command(transaction, "SELECT COUNT(*) FROM file_devices WHERE file_id = $f");
            left.Parameters.AddWithValue("$f", fileId);
            if (Convert.ToInt64(await left.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture) > 0)
            {
                return false;
            }
            await DeleteFileAsync(transaction, fileId, cancellationToken).ConfigureAwait(false);
            return true;
        }, durable: false, cancellationToken).ConfigureAwait(false);

    public async Task<FileSweep> DeleteExpiredAsync(long idleBefore, long createdBefore, CancellationToken cancellationToken)
    {
        await EventThreads.Leave();
        FileSweep sweep = await WriteAsync(async transaction =>
        {
            List<(string Id, bool Complete)> doomed = [];
            await using (SqliteCommand select = Command(transaction,
                "SELECT file_id, complete FROM files WHERE (complete = 0 AND last_activity < $idle) OR created_at < $created"))
            {
                select.Parameters.AddWithValue("$idle", idleBefore);
                select.Parameters.AddWithValue("$created", createdBefore);
                await using SqliteDataReader reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    doomed.Add((reader.GetString(0), reader.GetInt64(1) != 0));
                }
            }
            foreach ((string id, bool _) in doomed)
            {
                await DeleteFileAsync(transaction, id, cancellationToken).ConfigureAwait(false);
            }
            return new FileSweep(doomed.Count(d => !d.Complete), doomed.Count(d => d.Complete));
        }, durable: false, cancellationToken).ConfigureAwait(false);
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Gives the pages of deleted chunks back to the file system (the disk watermark sees them), then empties the log.
            await ExecuteAsync(_writer, "PRAGMA incremental_vacuum; PRAGMA wal_checkpoint(TRUNCATE);", cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
        return sweep;
    }

    private static async Task DeleteFileAsync(SqliteTransaction transaction, string fileId, CancellationToken cancellationToken)
    {
        await using SqliteCommand delete = Command(transaction, """
            DELETE FROM file_chunks WHERE file_id = $f;
            DELETE FROM file_devices WHERE file_id = $f;
            DELETE FROM file_recipients WHERE file_id = $f;
            DELETE FROM files WHERE file_id = $f;
            """);
        delete.Parameters.AddWithValue("$f", fileId);
        await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<T> WriteAsync<T>(Func<SqliteTransaction, Task<T>> work, bool durable, CancellationToken cancellationToken)
    {
        await EventThreads.Leave();
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (durable)
            {
                await ExecuteAsync(_writer, "PRAGMA synchronous = FULL", cancellationToken).ConfigureAwait(false);
            }
            try
            {
                await using SqliteTransaction transaction = (SqliteTransaction)await _writer.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                T result = await work(transaction).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return result;
            }
            finally
            {
                if (durable)
                {
                    await ExecuteAsync(_writer, "PRAGMA synchronous = NORMAL", CancellationToken.None).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private static SqliteCommand Command(SqliteTransaction transaction, string sql)
    {
        SqliteCommand command = transaction.Connection!.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command;
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
            await _writer.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }
}
