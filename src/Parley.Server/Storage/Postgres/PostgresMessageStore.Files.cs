// Files in transit in PostgreSQL (IFileStore), as SqliteFileStore: a row per file, its recipients,
// the recipient devices that still have to take it, and one bytea row per chunk of at most 64 KiB
// (docs/decisions/0010), so storing or reading a file never holds more than a chunk. Several nodes
// may serve one upload or one file's downloads, so every change is one transaction (RunAsync):
// - a chunk locks its file's row (FOR UPDATE) before it compares its index with the count held, so
//   two nodes storing the same next chunk at once store it once, and the count is always exactly
//   the chunks held;
// - the last device taking a file locks the file's row before it counts the devices left, so two
//   devices finishing at once on two nodes delete the file once, and exactly one of them is told so.
// Durability: every commit waits for PostgreSQL's disk (synchronous_commit as the operator set it);
// unlike SQLite's NORMAL chunks, the chunk commits here are durable too. Space: deleted chunks are
// reclaimed by VACUUM at each sweep (PostgreSQL has no secure_delete; the chunks are ciphertext
// under keys the server never holds, and docs/decisions/0009 asks for encryption at rest).
using Npgsql;
using NpgsqlTypes;

namespace Parley.Server.Storage.Postgres;

public sealed partial class PostgresMessageStore : IFileStore
{
    private static Task CreateFilesAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken) =>
        ExecuteAsync(connection, transaction, """
            CREATE TABLE IF NOT EXISTS files (
                file_id       text PRIMARY KEY,
                owner         text NOT NULL,
                owner_device  text NOT NULL,
                size          bigint NOT NULL,
                chunk_size    integer NOT NULL,
                chunk_count   bigint NOT NULL,
                received      bigint NOT NULL,
                complete      boolean NOT NULL,
                created_at    bigint NOT NULL,
                last_activity bigint NOT NULL);
            CREATE INDEX IF NOT EXISTS files_owner ON files (owner, complete);
            CREATE TABLE IF NOT EXISTS file_recipients (
                file_id  text NOT NULL REFERENCES files (file_id) ON DELETE CASCADE,
                username text COLLATE "C" NOT NULL,
                PRIMARY KEY (file_id, username));
            CREATE INDEX IF NOT EXISTS file_recipients_user ON file_recipients (username);
            CREATE TABLE IF NOT EXISTS file_devices (
                file_id   text NOT NULL REFERENCES files (file_id) ON DELETE CASCADE,
                username  text NOT NULL,
                device_id text NOT NULL,
                PRIMARY KEY (file_id, username, device_id));
            CREATE TABLE IF NOT EXISTS file_chunks (
                file_id text NOT NULL REFERENCES files (file_id) ON DELETE CASCADE,
                idx     bigint NOT NULL,
                body    bytea NOT NULL,
                PRIMARY KEY (file_id, idx));
            """, cancellationToken);

    /// <summary>The running totals (FileTotals); a database from before them gets them summed once from its files (under the schema lock).</summary>
    private static async Task CreateFileTotalsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        bool existed;
        await using (NpgsqlCommand exists = new("SELECT to_regclass('file_waiting') IS NOT NULL", connection, transaction))
        {
            existed = (bool)(await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        }
        await ExecuteAsync(connection, transaction, """
            CREATE TABLE IF NOT EXISTS file_waiting (
                owner   text PRIMARY KEY,
                files   integer NOT NULL,
                charged bigint NOT NULL);
            CREATE TABLE IF NOT EXISTS inbox_file_use (
                username text PRIMARY KEY,
                charged  bigint NOT NULL);
            CREATE TABLE IF NOT EXISTS inbox_file_share (
                username text NOT NULL,
                uploader text NOT NULL,
                charged  bigint NOT NULL,
                PRIMARY KEY (username, uploader));
            """, cancellationToken).ConfigureAwait(false);
        if (existed)
        {
            return;
        }
        await using NpgsqlCommand fill = new("""
            INSERT INTO file_waiting (owner, files, charged)
              SELECT f.owner, count(*), sum(greatest(f.size, @min) + @per * (SELECT count(*) FROM file_recipients r WHERE r.file_id = f.file_id))
              FROM files f WHERE f.complete GROUP BY f.owner;
            INSERT INTO inbox_file_share (username, uploader, charged)
              SELECT a.username, f.owner, sum(greatest(f.size, @min))
              FROM (SELECT DISTINCT file_id, username FROM file_devices) a JOIN files f ON f.file_id = a.file_id
              WHERE f.complete GROUP BY a.username, f.owner;
            INSERT INTO inbox_file_use (username, charged) SELECT username, sum(charged) FROM inbox_file_share GROUP BY username;
            """, connection, transaction);
        fill.Parameters.AddWithValue("min", FileCharges.MinimumFile);
        fill.Parameters.AddWithValue("per", FileCharges.PerRecipient);
        await fill.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public Task CreateUploadAsync(NewUpload upload, CancellationToken cancellationToken) =>
        RunAsync(async (connection, transaction) =>
        {
            await InsertUploadAsync(connection, transaction, upload, cancellationToken).ConfigureAwait(false);
            return true;
        }, cancellationToken);

    public Task<UploadUsage?> TryCreateUploadAsync(NewUpload upload, UploadLimits limits, CancellationToken cancellationToken) =>
        RunAsync<UploadUsage?>(async (connection, transaction) =>
        {
            // The owner's begins take turns across every node until commit: the count each sees includes the one before.
            await using (NpgsqlCommand turn = new("SELECT pg_advisory_xact_lock(hashtextextended('parley upload ' || @o, 0))", connection, transaction))
            {
                turn.Parameters.AddWithValue("o", upload.Owner);
                await turn.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            UploadUsage usage;
            await using (NpgsqlCommand count = new("SELECT count(*), coalesce(sum(size), 0)::bigint FROM files WHERE owner = @o AND NOT complete", connection, transaction))
            {
                count.Parameters.AddWithValue("o", upload.Owner);
                await using NpgsqlDataReader reader = await count.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                usage = new UploadUsage(checked((int)reader.GetInt64(0)), reader.GetInt64(1));
            }
            if (!limits.Admit(usage, upload.Size))
            {
                return usage;
            }
            await InsertUploadAsync(connection, transaction, upload, cancellationToken).ConfigureAwait(false);
            return null;
        }, cancellationToken);

    private static async Task InsertUploadAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, NewUpload upload, CancellationToken cancellationToken)
    {
        await using (NpgsqlCommand insert = new("""
            INSERT INTO files (file_id, owner, owner_device, size, chunk_size, chunk_count, received, complete, created_at, last_activity)
            VALUES (@f, @o, @d, @s, @c, @n, 0, false, @t, @t)
            """, connection, transaction))
        {
            insert.Parameters.AddWithValue("f", upload.FileId);
            insert.Parameters.AddWithValue("o", upload.Owner);
            insert.Parameters.AddWithValue("d", upload.OwnerDevice);
            insert.Parameters.AddWithValue("s", upload.Size);
            insert.Parameters.AddWithValue("c", upload.ChunkSize);
            insert.Parameters.AddWithValue("n", upload.ChunkCount);
            insert.Parameters.AddWithValue("t", upload.CreatedAt);
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await using NpgsqlCommand recipients = new("""
            INSERT INTO file_recipients (file_id, username) SELECT @f, u FROM unnest(@u) AS t(u) ON CONFLICT DO NOTHING
            """, connection, transaction);
        recipients.Parameters.AddWithValue("f", upload.FileId);
        recipients.Parameters.AddWithValue("u", NpgsqlDbType.Array | NpgsqlDbType.Text, upload.Recipients.ToArray());
        await recipients.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public Task<StoredFile?> FindAsync(string fileId, CancellationToken cancellationToken) =>
        ReadAsync(async connection =>
        {
            // The file and its recipients in one statement: one snapshot.
            await using NpgsqlCommand command = new("""
                SELECT f.owner, f.size, f.chunk_size, f.chunk_count, f.received, f.complete, f.created_at, f.last_activity, r.username
                FROM files f LEFT JOIN file_recipients r ON r.file_id = f.file_id WHERE f.file_id = @f ORDER BY r.username
                """, connection);
            command.Parameters.AddWithValue("f", fileId);
            await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            StoredFile? file = null;
            List<string> recipients = [];
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                file ??= new StoredFile(fileId, reader.GetString(0), recipients, reader.GetInt64(1), reader.GetInt32(2), reader.GetInt64(3), reader.GetInt64(4),
                    reader.GetBoolean(5), reader.GetInt64(6), reader.GetInt64(7));
                if (!reader.IsDBNull(8))
                {
                    recipients.Add(reader.GetString(8));
                }
            }
            return file;
        }, cancellationToken);

    public Task<UploadUsage> UnfinishedUploadsAsync(string owner, CancellationToken cancellationToken) =>
        ReadAsync(async connection =>
        {
            await using NpgsqlCommand command = new("SELECT count(*), coalesce(sum(size), 0)::bigint FROM files WHERE owner = @o AND NOT complete", connection);
            command.Parameters.AddWithValue("o", owner);
            await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            return new UploadUsage(checked((int)reader.GetInt64(0)), reader.GetInt64(1));
        }, cancellationToken);

    public Task<InboxFileUse> BytesHeldForAsync(string recipient, string uploader, CancellationToken cancellationToken) =>
        ReadAsync(async connection =>
        {
            await using NpgsqlCommand command = new("""
                SELECT coalesce((SELECT charged FROM inbox_file_use WHERE username = @u), 0),
                       coalesce((SELECT charged FROM inbox_file_share WHERE username = @u AND uploader = @o), 0)
                """, connection);
            command.Parameters.AddWithValue("u", recipient);
            command.Parameters.AddWithValue("o", uploader);
            await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            return new InboxFileUse(reader.GetInt64(0), reader.GetInt64(1));
        }, cancellationToken);

    public Task<WaitingFiles> WaitingFilesOfAsync(string uploader, CancellationToken cancellationToken) =>
        ReadAsync(async connection =>
        {
            await using NpgsqlCommand command = new("SELECT files, charged FROM file_waiting WHERE owner = @o", connection);
            command.Parameters.AddWithValue("o", uploader);
            await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? new WaitingFiles(reader.GetInt32(0), reader.GetInt64(1)) : default;
        }, cancellationToken);

    public Task<long> AppendChunkAsync(string fileId, long index, ReadOnlyMemory<byte> body, long now, CancellationToken cancellationToken) =>
        RunAsync(async (connection, transaction) =>
        {
            // Locked: another node storing a chunk of this file waits, then sees this one's count.
            await using (NpgsqlCommand read = new("SELECT received FROM files WHERE file_id = @f AND NOT complete FOR UPDATE", connection, transaction))
            {
                read.Parameters.AddWithValue("f", fileId);
                object? current = await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
                if (current is not long received || received != index)
                {
                    return current is long held ? held : -1;
                }
            }
            await using (NpgsqlCommand insert = new("INSERT INTO file_chunks (file_id, idx, body) VALUES (@f, @i, @b)", connection, transaction))
            {
                insert.Parameters.AddWithValue("f", fileId);
                insert.Parameters.AddWithValue("i", index);
                insert.Parameters.Add(new NpgsqlParameter<ReadOnlyMemory<byte>>("b", NpgsqlDbType.Bytea) { TypedValue = body });
                await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            await using NpgsqlCommand update = new("UPDATE files SET received = received + 1, last_activity = @t WHERE file_id = @f", connection, transaction);
            update.Parameters.AddWithValue("f", fileId);
            update.Parameters.AddWithValue("t", now);
            await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return index + 1;
        }, cancellationToken);

    public async Task<FileCompletion> CompleteAsync(string fileId, IReadOnlyList<(string User, string Device)> devices, FileBounds bounds, long now,
        CancellationToken cancellationToken)
    {
        try
        {
            return await RunAsync(async (connection, transaction) =>
            {
                // Locked: a second end of the same file (on another node) waits, then sees it complete.
                string owner;
                long size;
                int recipients;
                await using (NpgsqlCommand read = new("""
                    SELECT owner, size, complete, (SELECT count(*) FROM file_recipients r WHERE r.file_id = f.file_id)::integer FROM files f WHERE file_id = @f FOR UPDATE
                    """, connection, transaction))
                {
                    read.Parameters.AddWithValue("f", fileId);
                    await using NpgsqlDataReader reader = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                    if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        // Swept (or never made) meanwhile: there is nothing to await devices for.
                        return new FileCompletion(CompletionResult.Gone);
                    }
                    if (reader.GetBoolean(2))
                    {
                        return new FileCompletion(CompletionResult.AlreadyComplete);
                    }
                    (owner, size, recipients) = (reader.GetString(0), reader.GetInt64(1), reader.GetInt32(3));
                }
                // The totals' rows are locked as they are raised, in FileTotals' one order; a node
                // completing another file for the same recipient waits here, then sees this one counted.
                FileTotalsChange change = new();
                change.Completed(owner, size, recipients, devices.Select(d => d.User));
                if (await change.ApplyAsync(new Totals(connection, transaction), bounds, cancellationToken).ConfigureAwait(false) is { } refused)
                {
                    throw new RefusedCompletionException(refused);
                }
                await using (NpgsqlCommand update = new("UPDATE files SET complete = true, last_activity = @t WHERE file_id = @f", connection, transaction))
                {
                    update.Parameters.AddWithValue("f", fileId);
                    update.Parameters.AddWithValue("t", now);
                    await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }
                await using NpgsqlCommand insert = new("""
                    INSERT INTO file_devices (file_id, username, device_id) SELECT @f, u, d FROM unnest(@u, @d) AS t(u, d) ON CONFLICT DO NOTHING
                    """, connection, transaction);
                insert.Parameters.AddWithValue("f", fileId);
                insert.Parameters.AddWithValue("u", NpgsqlDbType.Array | NpgsqlDbType.Text, devices.Select(x => x.User).ToArray());
                insert.Parameters.AddWithValue("d", NpgsqlDbType.Array | NpgsqlDbType.Text, devices.Select(x => x.Device).ToArray());
                await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                return new FileCompletion(CompletionResult.Completed);
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (RefusedCompletionException refused)
        {
            // The transaction was rolled back: nothing of the completion was written.
            return refused.Completion;
        }
    }

    public Task<byte[]?> ReadChunkAsync(string fileId, long index, CancellationToken cancellationToken) =>
        ReadAsync(async connection =>
        {
            await using NpgsqlCommand command = new("SELECT body FROM file_chunks WHERE file_id = @f AND idx = @i", connection);
            command.Parameters.AddWithValue("f", fileId);
            command.Parameters.AddWithValue("i", index);
            return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as byte[];
        }, cancellationToken);

    public Task<bool> MarkDoneAsync(string fileId, string user, string device, CancellationToken cancellationToken) =>
        RunAsync(async (connection, transaction) =>
        {
            // Locked before counting: of two devices finishing at once, the second sees the first's delete.
            string owner;
            long size;
            int recipients;
            await using (NpgsqlCommand lockFile = new("""
                SELECT owner, size, (SELECT count(*) FROM file_recipients r WHERE r.file_id = f.file_id)::integer FROM files f WHERE file_id = @f AND complete FOR UPDATE
                """, connection, transaction))
            {
                lockFile.Parameters.AddWithValue("f", fileId);
                await using NpgsqlDataReader reader = await lockFile.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    return false;
                }
                (owner, size, recipients) = (reader.GetString(0), reader.GetInt64(1), reader.GetInt32(2));
            }
            await using (NpgsqlCommand delete = new("DELETE FROM file_devices WHERE file_id = @f AND username = @u AND device_id = @d", connection, transaction))
            {
                delete.Parameters.AddWithValue("f", fileId);
                delete.Parameters.AddWithValue("u", user);
                delete.Parameters.AddWithValue("d", device);
                if (await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
                {
                    return false;
                }
            }
            long devicesLeft, userDevicesLeft;
            await using (NpgsqlCommand left = new("SELECT count(*), count(*) FILTER (WHERE username = @u) FROM file_devices WHERE file_id = @f", connection, transaction))
            {
                left.Parameters.AddWithValue("f", fileId);
                left.Parameters.AddWithValue("u", user);
                await using NpgsqlDataReader reader = await left.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
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
                change.Deleted(owner, size, recipients, complete: true, []);
            }
            await change.ApplyAsync(new Totals(connection, transaction), FileBounds.None, cancellationToken).ConfigureAwait(false);
            if (devicesLeft > 0)
            {
                return false;
            }
            await DeleteFilesAsync(connection, transaction, [fileId], cancellationToken).ConfigureAwait(false);
            return true;
        }, cancellationToken);

    public async Task<FileSweep> DeleteExpiredAsync(long idleBefore, long createdBefore, CancellationToken cancellationToken)
    {
        FileSweep sweep = new(0, 0);
        while (true)
        {
            FileSweep batch = await RunAsync(async (connection, transaction) =>
            {
                // Locked in file order, as a completion or a device's done locks its one file first.
                List<(string Id, string Owner, long Size, int Recipients, bool Complete)> doomed = [];
                await using (NpgsqlCommand select = new($"""
                    SELECT file_id, owner, size, (SELECT count(*) FROM file_recipients r WHERE r.file_id = f.file_id)::integer, complete FROM files f
                    WHERE (NOT complete AND last_activity < @idle) OR created_at < @created ORDER BY file_id LIMIT {SweepBatch} FOR UPDATE
                    """, connection, transaction))
                {
                    select.Parameters.AddWithValue("idle", idleBefore);
                    select.Parameters.AddWithValue("created", createdBefore);
                    await using NpgsqlDataReader reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                    while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        doomed.Add((reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt32(3), reader.GetBoolean(4)));
                    }
                }
                if (doomed.Count == 0)
                {
                    return new FileSweep(0, 0);
                }
                Dictionary<string, List<string>> awaiting = [];
                await using (NpgsqlCommand users = new("SELECT DISTINCT file_id, username FROM file_devices WHERE file_id = ANY(@f)", connection, transaction))
                {
                    users.Parameters.AddWithValue("f", NpgsqlDbType.Array | NpgsqlDbType.Text, doomed.Select(d => d.Id).ToArray());
                    await using NpgsqlDataReader reader = await users.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                    while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        string id = reader.GetString(0);
                        (awaiting.TryGetValue(id, out List<string>? list) ? list : awaiting[id] = []).Add(reader.GetString(1));
                    }
                }
                FileTotalsChange change = new();
                foreach ((string id, string owner, long size, int recipients, bool complete) in doomed)
                {
                    change.Deleted(owner, size, recipients, complete, awaiting.GetValueOrDefault(id) ?? []);
                }
                await change.ApplyAsync(new Totals(connection, transaction), FileBounds.None, cancellationToken).ConfigureAwait(false);
                await DeleteFilesAsync(connection, transaction, [.. doomed.Select(d => d.Id)], cancellationToken).ConfigureAwait(false);
                return new FileSweep(doomed.Count(d => !d.Complete), doomed.Count(d => d.Complete));
            }, cancellationToken).ConfigureAwait(false);
            sweep = new FileSweep(sweep.Abandoned + batch.Abandoned, sweep.Expired + batch.Expired);
            if (batch.Abandoned + batch.Expired < SweepBatch)
            {
                break;
            }
        }
        if (sweep.Abandoned + sweep.Expired > 0)
        {
            // The pages of deleted chunks are free for new ones (VACUUM cannot run inside a transaction).
            await ReadAsync(async connection =>
            {
                await VacuumAsync(connection, "file_chunks", cancellationToken).ConfigureAwait(false);
                return true;
            }, cancellationToken).ConfigureAwait(false);
        }
        return sweep;
    }

    /// <summary>Files the sweep deletes in one transaction: no transaction of it holds many rows' locks for long.</summary>
    internal const int SweepBatch = 64;

    /// <summary>The running totals' rows in a transaction; each raised row stays locked until it ends.</summary>
    private sealed class Totals(NpgsqlConnection connection, NpgsqlTransaction transaction) : IFileTotalsRows
    {
        public async Task<(int Files, long Charged)> AddToUploaderAsync(string uploader, int files, long charged, CancellationToken cancellationToken)
        {
            (int nowFiles, long nowCharged) = (0, 0);
            await using (NpgsqlCommand add = new("""
                INSERT INTO file_waiting AS w (owner, files, charged) VALUES (@o, @n, @c)
                ON CONFLICT (owner) DO UPDATE SET files = w.files + excluded.files, charged = w.charged + excluded.charged
                RETURNING files, charged
                """, connection, transaction))
            {
                add.Parameters.AddWithValue("o", uploader);
                add.Parameters.AddWithValue("n", files);
                add.Parameters.AddWithValue("c", charged);
                await using NpgsqlDataReader reader = await add.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                (nowFiles, nowCharged) = (reader.GetInt32(0), reader.GetInt64(1));
            }
            if (nowFiles <= 0)
            {
                await DropAsync("DELETE FROM file_waiting WHERE owner = @a", uploader, null, cancellationToken).ConfigureAwait(false);
            }
            return (nowFiles, nowCharged);
        }

        public async Task<long> AddToInboxAsync(string recipient, long charged, CancellationToken cancellationToken)
        {
            long now;
            await using (NpgsqlCommand add = new("""
                INSERT INTO inbox_file_use AS i (username, charged) VALUES (@u, @c)
                ON CONFLICT (username) DO UPDATE SET charged = i.charged + excluded.charged RETURNING charged
                """, connection, transaction))
            {
                add.Parameters.AddWithValue("u", recipient);
                add.Parameters.AddWithValue("c", charged);
                now = (long)(await add.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
            }
            if (now <= 0)
            {
                await DropAsync("DELETE FROM inbox_file_use WHERE username = @a", recipient, null, cancellationToken).ConfigureAwait(false);
            }
            return now;
        }

        public async Task<long> AddToShareAsync(string recipient, string uploader, long charged, CancellationToken cancellationToken)
        {
            long now;
            await using (NpgsqlCommand add = new("""
                INSERT INTO inbox_file_share AS s (username, uploader, charged) VALUES (@u, @o, @c)
                ON CONFLICT (username, uploader) DO UPDATE SET charged = s.charged + excluded.charged RETURNING charged
                """, connection, transaction))
            {
                add.Parameters.AddWithValue("u", recipient);
                add.Parameters.AddWithValue("o", uploader);
                add.Parameters.AddWithValue("c", charged);
                now = (long)(await add.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
            }
            if (now <= 0)
            {
                await DropAsync("DELETE FROM inbox_file_share WHERE username = @a AND uploader = @b", recipient, uploader, cancellationToken).ConfigureAwait(false);
            }
            return now;
        }

        private async Task DropAsync(string sql, string a, string? b, CancellationToken cancellationToken)
        {
            await using NpgsqlCommand drop = new(sql, connection, transaction);
            drop.Parameters.AddWithValue("a", a);
            if (b is not null)
            {
                drop.Parameters.AddWithValue("b", b);
            }
            await drop.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Deletes the files; their chunks, recipients and awaited devices go with them (ON DELETE CASCADE).</summary>
    private static async Task DeleteFilesAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string[] fileIds, CancellationToken cancellationToken)
    {
        await using NpgsqlCommand delete = new("DELETE FROM files WHERE file_id = ANY(@f)", connection, transaction);
        delete.Parameters.AddWithValue("f", NpgsqlDbType.Array | NpgsqlDbType.Text, fileIds);
        await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
