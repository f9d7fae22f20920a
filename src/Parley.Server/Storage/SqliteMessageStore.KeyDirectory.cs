// The key directory in SQLite. Taking a bundle deletes the one-time keys it hands out in the same
// write transaction (on the one writer), so no key is ever handed out twice, even to concurrent
// fetchers. Keys of a device whose token is gone are never handed out and are dropped by the sweep.
using Microsoft.Data.Sqlite;
using Parley.Server.Hosting;

namespace Parley.Server.Storage;

public sealed partial class SqliteMessageStore
{
    private const int OneTimeEc = 0;
    private const int OneTimeKem = 1;

    private static async Task CreateKeyDirectoryAsync(SqliteConnection writer, CancellationToken cancellationToken)
    {
        await ExecuteAsync(writer, """
            CREATE TABLE IF NOT EXISTS device_keys (
                username        TEXT NOT NULL,
                device_id       TEXT NOT NULL,
                identity_key    BLOB NOT NULL,
                signed_prekey   BLOB NOT NULL,
                kem_last_resort BLOB NOT NULL,
                updated_at      INTEGER NOT NULL,
                PRIMARY KEY (username, device_id));
            CREATE TABLE IF NOT EXISTS one_time_prekeys (
                id         INTEGER PRIMARY KEY AUTOINCREMENT,
                username   TEXT NOT NULL,
                device_id  TEXT NOT NULL,
                kind       INTEGER NOT NULL,
                key        BLOB NOT NULL);
            CREATE INDEX IF NOT EXISTS one_time_prekeys_by_device ON one_time_prekeys (username, device_id, kind, id);
            """, cancellationToken).ConfigureAwait(false);
    }

    public async Task<PublishResult> PublishDeviceKeysAsync(DeviceKeysUpload upload, int maxOneTimePerKind, CancellationToken cancellationToken)
    {
        await EventThreads.Leave();
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using SqliteTransaction transaction = (SqliteTransaction)await _writer.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using SqliteCommand command = _writer.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "SELECT identity_key FROM device_keys WHERE username = $u AND device_id = $d";
            command.Parameters.AddWithValue("$u", upload.Username);
            command.Parameters.AddWithValue("$d", upload.DeviceId);
            byte[]? stored = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as byte[];
            (int ec, int kem) = await CountOneTimeAsync(transaction, upload.Username, upload.DeviceId, cancellationToken).ConfigureAwait(false);
            if (stored is not null && !stored.AsSpan().SequenceEqual(upload.IdentityKey))
            {
                return new PublishResult(PublishOutcome.IdentityKeyChanged, ec, kem);
            }
            if (stored is null && (upload.SignedPrekey is null || upload.LastResortKemPrekey is null))
            {
                return new PublishResult(PublishOutcome.MissingSignedKeys, ec, kem);
            }
            if (ec + upload.OneTimePrekeys.Count > maxOneTimePerKind || kem + upload.OneTimeKemPrekeys.Count > maxOneTimePerKind)
            {
                return new PublishResult(PublishOutcome.TooManyOneTimeKeys, ec, kem);
            }
            command.Parameters.AddWithValue("$i", upload.IdentityKey);
            command.Parameters.AddWithValue("$s", (object?)upload.SignedPrekey ?? DBNull.Value);
            command.Parameters.AddWithValue("$k", (object?)upload.LastResortKemPrekey ?? DBNull.Value);
            command.Parameters.AddWithValue("$n", upload.Now);
            command.CommandText = """
                INSERT INTO device_keys (username, device_id, identity_key, signed_prekey, kem_last_resort, updated_at)
                VALUES ($u, $d, $i, $s, $k, $n)
                ON CONFLICT (username, device_id) DO UPDATE SET
                    signed_prekey = coalesce(excluded.signed_prekey, signed_prekey),
                    kem_last_resort = coalesce(excluded.kem_last_resort, kem_last_resort),
                    updated_at = excluded.updated_at
                """;
            if (stored is not null)
            {
                // An update: the NOT NULL columns take the stored value where the upload has none.
                command.CommandText = """
                    UPDATE device_keys SET signed_prekey = coalesce($s, signed_prekey), kem_last_resort = coalesce($k, kem_last_resort),
                        updated_at = $n WHERE username = $u AND device_id = $d
                    """;
            }
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            await using SqliteCommand insert = _writer.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = "INSERT INTO one_time_prekeys (username, device_id, kind, key) VALUES ($u, $d, $t, $k)";
            insert.Parameters.AddWithValue("$u", upload.Username);
            insert.Parameters.AddWithValue("$d", upload.DeviceId);
            SqliteParameter kind = insert.Parameters.Add("$t", SqliteType.Integer);
            SqliteParameter key = insert.Parameters.Add("$k", SqliteType.Blob);
            foreach ((int k, IReadOnlyList<byte[]> keys) in new[] { (OneTimeEc, upload.OneTimePrekeys), (OneTimeKem, upload.OneTimeKemPrekeys) })
            {
                foreach (byte[] one in keys)
                {
                    kind.Value = k;
                    key.Value = one;
                    await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }
            }
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return new PublishResult(PublishOutcome.Stored, ec + upload.OneTimePrekeys.Count, kem + upload.OneTimeKemPrekeys.Count);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private async Task<(int Ec, int Kem)> CountOneTimeAsync(SqliteTransaction transaction, string username, string deviceId, CancellationToken cancellationToken)
    {
        await using SqliteCommand count = _writer.CreateCommand();
        count.Transaction = transaction;
        count.CommandText = $"""
            SELECT coalesce(sum(kind = {OneTimeEc}), 0), coalesce(sum(kind = {OneTimeKem}), 0)
            FROM one_time_prekeys WHERE username = $u AND device_id = $d
            """;
        count.Parameters.AddWithValue("$u", username);
        count.Parameters.AddWithValue("$d", deviceId);
        await using SqliteDataReader reader = await count.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return (reader.GetInt32(0), reader.GetInt32(1));
    }

    public async Task<IReadOnlyList<TakenBundle>> TakeBundlesAsync(string username, string? exceptDevice, IReadOnlyCollection<string>? onlyDevices, CancellationToken cancellationToken)
    {
        await EventThreads.Leave();
        List<TakenBundle> bundles = [];
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using SqliteTransaction transaction = (SqliteTransaction)await _writer.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            List<(string Device, byte[] Identity, byte[] Signed, byte[] LastResort)> devices = [];
            await using (SqliteCommand select = _writer.CreateCommand())
            {
                select.Transaction = transaction;
                // Only devices whose token still exists: a revoked device's keys are never handed out.
                select.CommandText = """
                    SELECT k.device_id, k.identity_key, k.signed_prekey, k.kem_last_resort FROM device_keys k
                    JOIN device_tokens t ON t.username = k.username AND t.device_id = k.device_id
                    WHERE k.username = $u AND k.device_id <> $x ORDER BY k.device_id
                    """;
                select.Parameters.AddWithValue("$u", username);
                select.Parameters.AddWithValue("$x", exceptDevice ?? "");
                await using SqliteDataReader reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    string deviceId = reader.GetString(0);
                    if (onlyDevices is null || onlyDevices.Contains(deviceId))
                    {
                        devices.Add((deviceId, (byte[])reader[1], (byte[])reader[2], (byte[])reader[3]));
                    }
                }
            }
            await using SqliteCommand take = _writer.CreateCommand();
            take.Transaction = transaction;
            take.CommandText = """
                DELETE FROM one_time_prekeys WHERE id = (
                    SELECT id FROM one_time_prekeys WHERE username = $u AND device_id = $d AND kind = $t ORDER BY id LIMIT 1)
                RETURNING key
                """;
            take.Parameters.AddWithValue("$u", username);
            SqliteParameter device = take.Parameters.Add("$d", SqliteType.Text);
            SqliteParameter kind = take.Parameters.Add("$t", SqliteType.Integer);
            foreach ((string id, byte[] identity, byte[] signed, byte[] lastResort) in devices)
            {
                device.Value = id;
                kind.Value = OneTimeEc;
                byte[]? oneTime = await take.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as byte[];
                kind.Value = OneTimeKem;
                byte[]? kem = await take.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as byte[];
                bundles.Add(new TakenBundle(id, identity, signed, oneTime, kem ?? lastResort, kem is null));
            }
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
        return bundles;
    }

    public async Task<IReadOnlyList<string>> KeyedDevicesAsync(string username, CancellationToken cancellationToken)
    {
        await EventThreads.Leave();
        List<string> devices = [];
        await using SqliteConnection connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using SqliteCommand select = connection.CreateCommand();
        // The same join as TakeBundlesAsync: a device is listed exactly when its keys can be fetched.
        select.CommandText = """
            SELECT k.device_id FROM device_keys k
            JOIN device_tokens t ON t.username = k.username AND t.device_id = k.device_id
            WHERE k.username = $u ORDER BY k.device_id
            """;
        select.Parameters.AddWithValue("$u", username);
        await using SqliteDataReader reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            devices.Add(reader.GetString(0));
        }
        return devices;
    }
}
