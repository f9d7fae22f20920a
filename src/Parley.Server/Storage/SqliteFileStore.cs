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

    /// <summary>Files the sweep deletes in one transaction: the writer is never held for long, however many expire at once.</summary>
    internal const int SweepBatch = 64;

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
        SqliteFileStore store = new(connectionString, writer) { DatabasePath = fullPath };
        await store.WriteAsync(CreateTotalsAsync, durable: true, cancellationToken).ConfigureAwait(false);
        return store;
    }

    /// <summary>The running totals (FileTotals); a files.db from before them gets them summed once from its files.</summary>
    private static async Task<bool> CreateTotalsAsync(SqliteTransaction transaction)
    {
        await using SqliteCommand exists = Command(transaction, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'file_waiting'");
        bool existed = Convert.ToInt64(await exists.ExecuteScalarAsync().ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture) > 0;
        await using SqliteCommand create = Command(transaction, """
            CREATE TABLE IF NOT EXISTS file_waiting (
                owner   TEXT PRIMARY KEY,
                files   INTEGER NOT NULL,
                charged INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS inbox_file_use (
                username TEXT PRIMARY KEY,
                charged  INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS inbox_file_share (
                username TEXT NOT NULL,
                uploader TEXT NOT NULL,
                charged  INTEGER NOT NULL,
                PRIMARY KEY (username, uploader));
            """);
        await create.ExecuteNonQueryAsync().ConfigureAwait(false);
        if (existed)
        {
            return false;
        }
        await using SqliteCommand fill = Command(transaction, """
            INSERT INTO file_waiting (owner, files, charged)
              SELECT f.owner, COUNT(*), SUM(MAX(f.size, $min) + $per * (SELECT COUNT(*) FROM file_recipients r WHERE r.file_id = f.file_id))
              FROM files f WHERE f.complete GROUP BY f.owner;
            INSERT INTO inbox_file_share (username, uploader, charged)
              SELECT a.username, f.owner, SUM(MAX(f.size, $min))
              FROM (SELECT DISTINCT file_id, username FROM file_devices) a JOIN files f ON f.file_id = a.file_id
              WHERE f.complete GROUP BY a.username, f.owner;
            INSERT INTO inbox_file_use (username, charged) SELECT username, SUM(charged) FROM inbox_file_share GROUP BY username;
            """);
        fill.Parameters.AddWithValue("$min", FileCharges.MinimumFile);
        fill.Parameters.AddWithValue("$per", FileCharges.PerRecipient);
        await fill.ExecuteNonQueryAsync().ConfigureAwait(false);
        return true;
    }

    public async Task CreateUploadAsync(NewUpload upload, CancellationToken cancellationToken)
    {
        await EventThreads.Leave();
        await WriteAsync(async transaction =>
        {
            await InsertUploadAsync(transaction, upload, cancellationToken).ConfigureAwait(false);
            return 0;
        }, durable: false, cancellationToken).ConfigureAwait(false);
    }

    public async Task<UploadUsage?> TryCreateUploadAsync(NewUpload upload, UploadLimits limits, CancellationToken cancellationToken)
    {
        await EventThreads.Leave();
        // One writer: the count and the insert are one step.
        return await WriteAsync<UploadUsage?>(async transaction =>
        {
            await using SqliteCommand count = Command(transaction, "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM files WHERE owner = $o AND complete = 0");
            count.Parameters.AddWithValue("$o", upload.Owner);
            UploadUsage usage;
            await using (SqliteDataReader reader = await count.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                usage = new UploadUsage(reader.GetInt32(0), reader.GetInt64(1));
            }
            if (!limits.Admit(usage, upload.Size))
            {
                return usage;
            }
            await InsertUploadAsync(transaction, upload, cancellationToken).ConfigureAwait(false);
            return null;
        }, durable: false, cancellationToken).ConfigureAwait(false);
    }

    private static async Task InsertUploadAsync(SqliteTransaction transaction, NewUpload upload, CancellationToken cancellationToken)
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
            SELECT COALESCE((SELECT charged FROM inbox_file_use WHERE username = $u), 0),
                   COALESCE((SELECT charged FROM inbox_file_share WHERE username = $u AND uploader = $o), 0)
            """;
        command.Parameters.AddWithValue("$u", recipient);
        command.Parameters.AddWithValue("$o", uploader);
        await using SqliteDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return new InboxFileUse(reader.GetInt64(0), reader.GetInt64(1));
    }

    public async Task<WaitingFiles> WaitingFilesOfAsync(string uploader, CancellationToken cancellationToken)
    {
        await EventThreads.Leave();
        await using SqliteConnection connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT files, charged FROM file_waiting WHERE owner = $o";
        command.Parameters.AddWithValue("$o", uploader);
        await using SqliteDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? new WaitingFiles(reader.GetInt32(0), reader.GetInt64(1)) : default;
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

    public async Task<FileCompletion> CompleteAsync(string fileId, IReadOnlyList<(string User, string Device)> devices, FileBounds bounds, long now,
        CancellationToken cancellationToken)
    {
        await EventThreads.Leave();
        try
        {
            return await WriteAsync(async transaction =>
            {
                await using SqliteCommand read = Command(transaction, """
                    SELECT owner, size, complete, (SELECT COUNT(*) FROM file_recipients r WHERE r.file_id = f.file_id) FROM files f WHERE file_id = $f
                    """);
                read.Parameters.AddWithValue("$f", fileId);
                string owner;
                long size;
                int recipients;
                await using (SqliteDataReader reader = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
                {
                    if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        // Swept (or never made) meanwhile: no device rows for a file that is not there.
                        return new FileCompletion(CompletionResult.Gone);
                    }
                    if (reader.GetInt64(2) != 0)
                    {
                        // A repeated end: its devices were written once, and some may have taken it since.
                        return new FileCompletion(CompletionResult.AlreadyComplete);
                    }
                    (owner, size, recipients) = (reader.GetString(0), reader.GetInt64(1), reader.GetInt32(3));
                }
                FileTotalsChange change = new();
                change.Completed(owner, size, recipients, devices.Select(d => d.User));
                if (await change.ApplyAsync(new Totals(transaction), bounds, cancellationToken).ConfigureAwait(false) is { } refused)
                {
                    throw new RefusedCompletionException(refused);
                }
                await using SqliteCommand update = Command(transaction, "UPDATE files SET complete = 1, last_activity = $t WHERE file_id = $f");
                update.Parameters.AddWithValue("$f", fileId);
                update.Parameters.AddWithValue("$t", now);
                await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
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
                return new FileCompletion(CompletionResult.Completed);
            }, durable: true, cancellationToken).ConfigureAwait(false);
        }
        catch (RefusedCompletionException refused)
        {
            // The transaction was rolled back: nothing of the completion was written.
            return refused.Completion;
        }
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
            await using SqliteCommand read = Command(transaction, "SELECT owner, size FROM files WHERE file_id = $f AND complete = 1");
            read.Parameters.AddWithValue("$f", fileId);
            string owner;
            long size;
            await using (SqliteDataReader reader = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    return false;
                }
                (owner, size) = (reader.GetString(0), reader.GetInt64(1));
            }
            await using SqliteCommand delete = Command(transaction, "DELETE FROM file_devices WHERE file_id = $f AND username = $u AND device_id = $d");
            delete.Parameters.AddWithValue("$f", fileId);
            delete.Parameters.AddWithValue("$u", user);
            delete.Parameters.AddWithValue("$d", device);
            if (await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
            {
                return false;
            }
            await using SqliteCommand left = Command(transaction, """
                SELECT COUNT(*), COALESCE(SUM(username = $u), 0) FROM file_devices WHERE file_id = $f
                """);
            left.Parameters.AddWithValue("$f", fileId);
            left.Parameters.AddWithValue("$u", user);
            long devicesLeft, userDevicesLeft;
            await using (SqliteDataReader reader = await left.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                (devicesLeft, userDevicesLeft) = (reader.GetInt64(0), reader.GetInt64(1));
            }
            if (userDevicesLeft > 0)
            {
                return false;
            }
            FileTotalsChange change = new();
            change.TakenBy(user, owner, size);
            if (devicesLeft == 0)
            {
                change.Deleted(owner, size, await RecipientCountAsync(transaction, fileId, cancellationToken).ConfigureAwait(false), complete: true, []);
            }
            await change.ApplyAsync(new Totals(transaction), FileBounds.None, cancellationToken).ConfigureAwait(false);
            if (devicesLeft > 0)
            {
                return false;
            }
            await DeleteFileAsync(transaction, fileId, cancellationToken).ConfigureAwait(false);
            return true;
        }, durable: false, cancellationToken).ConfigureAwait(false);

    public async Task<FileSweep> DeleteExpiredAsync(long idleBefore, long createdBefore, CancellationToken cancellationToken)
    {
        await EventThreads.Leave();
        FileSweep sweep = new(0, 0);
        while (true)
        {
            FileSweep batch = await WriteAsync(async transaction =>
            {
                List<(string Id, string Owner, long Size, bool Complete)> doomed = [];
                await using (SqliteCommand select = Command(transaction, $"""
                    SELECT file_id, owner, size, complete FROM files WHERE (complete = 0 AND last_activity < $idle) OR created_at < $created LIMIT {SweepBatch}
                    """))
                {
                    select.Parameters.AddWithValue("$idle", idleBefore);
                    select.Parameters.AddWithValue("$created", createdBefore);
                    await using SqliteDataReader reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                    while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        doomed.Add((reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3) != 0));
                    }
                }
                FileTotalsChange change = new();
                await using SqliteCommand awaiting = Command(transaction, "SELECT DISTINCT username FROM file_devices WHERE file_id = $f");
                SqliteParameter file = awaiting.Parameters.Add("$f", SqliteType.Text);
                foreach ((string id, string owner, long size, bool complete) in doomed.Where(d => d.Complete))
                {
                    file.Value = id;
                    List<string> users = [];
                    await using (SqliteDataReader reader = await awaiting.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
                    {
                        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                        {
                            users.Add(reader.GetString(0));
                        }
                    }
                    change.Deleted(owner, size, await RecipientCountAsync(transaction, id, cancellationToken).ConfigureAwait(false), complete, users);
                }
                await change.ApplyAsync(new Totals(transaction), FileBounds.None, cancellationToken).ConfigureAwait(false);
                foreach ((string id, _, _, _) in doomed)
                {
                    await DeleteFileAsync(transaction, id, cancellationToken).ConfigureAwait(false);
                }
                return new FileSweep(doomed.Count(d => !d.Complete), doomed.Count(d => d.Complete));
            }, durable: false, cancellationToken).ConfigureAwait(false);
            sweep = new FileSweep(sweep.Abandoned + batch.Abandoned, sweep.Expired + batch.Expired);
            if (batch.Abandoned + batch.Expired < SweepBatch)
            {
                break;
            }
        }
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

    private static async Task<int> RecipientCountAsync(SqliteTransaction transaction, string fileId, CancellationToken cancellationToken)
    {
        await using SqliteCommand count = Command(transaction, "SELECT COUNT(*) FROM file_recipients WHERE file_id = $f");
        count.Parameters.AddWithValue("$f", fileId);
        return Convert.ToInt32(await count.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The running totals' rows in the writer's transaction.</summary>
    private sealed class Totals(SqliteTransaction transaction) : IFileTotalsRows
    {
        public async Task<(int Files, long Charged)> AddToUploaderAsync(string uploader, int files, long charged, CancellationToken cancellationToken)
        {
            await using SqliteCommand add = Command(transaction, """
                INSERT INTO file_waiting (owner, files, charged) VALUES ($o, $n, $c)
                ON CONFLICT (owner) DO UPDATE SET files = files + excluded.files, charged = charged + excluded.charged
                RETURNING files, charged
                """);
            add.Parameters.AddWithValue("$o", uploader);
            add.Parameters.AddWithValue("$n", files);
            add.Parameters.AddWithValue("$c", charged);
            (int nowFiles, long nowCharged) = (0, 0);
            await using (SqliteDataReader reader = await add.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                (nowFiles, nowCharged) = (reader.GetInt32(0), reader.GetInt64(1));
            }
            if (nowFiles <= 0)
            {
                await DropAsync("DELETE FROM file_waiting WHERE owner = $a", uploader, null, cancellationToken).ConfigureAwait(false);
            }
            return (nowFiles, nowCharged);
        }

        public async Task<long> AddToInboxAsync(string recipient, long charged, CancellationToken cancellationToken)
        {
            await using SqliteCommand add = Command(transaction, """
                INSERT INTO inbox_file_use (username, charged) VALUES ($u, $c)
                ON CONFLICT (username) DO UPDATE SET charged = charged + excluded.charged RETURNING charged
                """);
            add.Parameters.AddWithValue("$u", recipient);
            add.Parameters.AddWithValue("$c", charged);
            long now = Convert.ToInt64(await add.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
            if (now <= 0)
            {
                await DropAsync("DELETE FROM inbox_file_use WHERE username = $a", recipient, null, cancellationToken).ConfigureAwait(false);
            }
            return now;
        }

        public async Task<long> AddToShareAsync(string recipient, string uploader, long charged, CancellationToken cancellationToken)
        {
            await using SqliteCommand add = Command(transaction, """
                INSERT INTO inbox_file_share (username, uploader, charged) VALUES ($u, $o, $c)
                ON CONFLICT (username, uploader) DO UPDATE SET charged = charged + excluded.charged RETURNING charged
                """);
            add.Parameters.AddWithValue("$u", recipient);
            add.Parameters.AddWithValue("$o", uploader);
            add.Parameters.AddWithValue("$c", charged);
            long now = Convert.ToInt64(await add.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
            if (now <= 0)
            {
                await DropAsync("DELETE FROM inbox_file_share WHERE username = $a AND uploader = $b", recipient, uploader, cancellationToken).ConfigureAwait(false);
            }
            return now;
        }

        private async Task DropAsync(string sql, string a, string? b, CancellationToken cancellationToken)
        {
            await using SqliteCommand drop = Command(transaction, sql);
            drop.Parameters.AddWithValue("$a", a);
            if (b is not null)
            {
                drop.Parameters.AddWithValue("$b", b);
            }
            await drop.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
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
