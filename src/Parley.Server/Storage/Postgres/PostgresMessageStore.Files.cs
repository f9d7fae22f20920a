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

    public Task CreateUploadAsync(NewUpload upload, CancellationToken cancellationToken) =>
        RunAsync(async (connection, transaction) =>
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
            return true;
        }, cancellationToken);

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
                SELECT coalesce(sum(greatest(f.size, @min)), 0)::bigint, coalesce(sum(CASE WHEN f.owner = @o THEN greatest(f.size, @min) ELSE 0 END), 0)::bigint
                FROM file_recipients r JOIN files f ON f.file_id = r.file_id WHERE r.username = @u AND f.complete
                  AND EXISTS (SELECT 1 FROM file_devices d WHERE d.file_id = f.file_id AND d.username = r.username)
                """, connection);
            command.Parameters.AddWithValue("u", recipient);
            command.Parameters.AddWithValue("o", uploader);
            command.Parameters.AddWithValue("min", FileCharges.MinimumFile);
            await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            return new InboxFileUse(reader.GetInt64(0), reader.GetInt64(1));
        }, cancellationToken);

    public Task<WaitingFiles> WaitingFilesOfAsync(string uploader, CancellationToken cancellationToken) =>
        ReadAsync(async connection =>
        {
            await using NpgsqlCommand command = new("""
                SELECT count(*), coalesce(sum(greatest(f.size, @min) + @per * (SELECT count(*) FROM file_recipients r WHERE r.file_id = f.file_id)), 0)::bigint
                FROM files f WHERE f.owner = @o AND f.complete
                """, connection);
            command.Parameters.AddWithValue("o", uploader);
            command.Parameters.AddWithValue("min", FileCharges.MinimumFile);
            command.Parameters.AddWithValue("per", FileCharges.PerRecipient);
            await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            return new WaitingFiles(checked((int)reader.GetInt64(0)), reader.GetInt64(1));
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

    public Task<bool> CompleteAsync(string fileId, IReadOnlyList<(string User, string Device)> devices, long now, CancellationToken cancellationToken) =>
        RunAsync(async (connection, transaction) =>
        {
            await using (NpgsqlCommand update = new("UPDATE files SET complete = true, last_activity = @t WHERE file_id = @f", connection, transaction))
            {
                update.Parameters.AddWithValue("f", fileId);
                update.Parameters.AddWithValue("t", now);
                if (await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
                {
                    // Swept (or never made) meanwhile: there is nothing to await devices for.
                    return false;
                }
            }
            await using NpgsqlCommand insert = new("""
                INSERT INTO file_devices (file_id, username, device_id) SELECT @f, u, d FROM unnest(@u, @d) AS t(u, d) ON CONFLICT DO NOTHING
                """, connection, transaction);
            insert.Parameters.AddWithValue("f", fileId);
            insert.Parameters.AddWithValue("u", NpgsqlDbType.Array | NpgsqlDbType.Text, devices.Select(x => x.User).ToArray());
            insert.Parameters.AddWithValue("d", NpgsqlDbType.Array | NpgsqlDbType.Text, devices.Select(x => x.Device).ToArray());
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }, cancellationToken);

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
            await using (NpgsqlCommand lockFile = new("SELECT 1 FROM files WHERE file_id = @f AND complete FOR UPDATE", connection, transaction))
            {
                lockFile.Parameters.AddWithValue("f", fileId);
                if (await lockFile.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is null)
                {
                    return false;
                }
            }
            await using (NpgsqlCommand delete = new("DELETE FROM file_devices WHERE file_id = @f AND username = @u AND device_id = @d", connection, transaction))
            {
                delete.Parameters.AddWithValue("f", fileId);
                delete.Parameters.AddWithValue("u", user);
                delete.Parameters.AddWithValue("d", device);
                await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            await using (NpgsqlCommand left = new("SELECT 1 FROM file_devices WHERE file_id = @f LIMIT 1", connection, transaction))
            {
                left.Parameters.AddWithValue("f", fileId);
                if (await left.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not null)
                {
                    return false;
                }
            }
            await DeleteFilesAsync(connection, transaction, [fileId], cancellationToken).ConfigureAwait(false);
            return true;
        }, cancellationToken);

    public async Task<FileSweep> DeleteExpiredAsync(long idleBefore, long createdBefore, CancellationToken cancellationToken)
    {
        FileSweep sweep = await RunAsync(async (connection, transaction) =>
        {
            await using NpgsqlCommand delete = new("""
                DELETE FROM files WHERE (NOT complete AND last_activity < @idle) OR created_at < @created RETURNING complete
                """, connection, transaction);
            delete.Parameters.AddWithValue("idle", idleBefore);
            delete.Parameters.AddWithValue("created", createdBefore);
            int abandoned = 0, expired = 0;
            await using NpgsqlDataReader reader = await delete.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                _ = reader.GetBoolean(0) ? expired++ : abandoned++;
            }
            return new FileSweep(abandoned, expired);
        }, cancellationToken).ConfigureAwait(false);
        if (sweep.Abandoned + sweep.Expired > 0)
        {
            // The pages of deleted chunks are free for new ones (VACUUM cannot run inside a transaction).
            await ReadAsync(async connection =>
            {
                await using NpgsqlCommand vacuum = new("VACUUM file_chunks", connection);
                await vacuum.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                return true;
            }, cancellationToken).ConfigureAwait(false);
        }
        return sweep;
    }

    /// <summary>Deletes the files; their chunks, recipients and awaited devices go with them (ON DELETE CASCADE).</summary>
    private static async Task DeleteFilesAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string[] fileIds, CancellationToken cancellationToken)
    {
        await using NpgsqlCommand delete = new("DELETE FROM files WHERE file_id = ANY(@f)", connection, transaction);
        delete.Parameters.AddWithValue("f", NpgsqlDbType.Array | NpgsqlDbType.Text, fileIds);
        await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
