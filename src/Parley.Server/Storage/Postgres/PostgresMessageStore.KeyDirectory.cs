// The key directory in PostgreSQL. Publishing and taking lock the account's row first, so the
// count checked against the bound and the one-time keys handed out are decided one transaction
// at a time per account, on whichever node: no key is ever handed out twice. Keys of a device
// whose token is gone are never handed out and are dropped by the sweep.
using Npgsql;

namespace Parley.Server.Storage.Postgres;

public sealed partial class PostgresMessageStore
{
    private const short OneTimeEc = 0;
    private const short OneTimeKem = 1;

    private static Task CreateKeyDirectoryAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken) =>
        ExecuteAsync(connection, transaction, """
            CREATE TABLE IF NOT EXISTS device_keys (
                username        text NOT NULL,
                device_id       text NOT NULL,
                identity_key    bytea NOT NULL,
                signed_prekey   bytea NOT NULL,
                kem_last_resort bytea NOT NULL,
                updated_at      bigint NOT NULL,
                PRIMARY KEY (username, device_id));
            CREATE TABLE IF NOT EXISTS one_time_prekeys (
                id        bigserial PRIMARY KEY,
                username  text NOT NULL,
                device_id text NOT NULL,
                kind      smallint NOT NULL,
                key       bytea NOT NULL);
            CREATE INDEX IF NOT EXISTS one_time_prekeys_by_device ON one_time_prekeys (username, device_id, kind, id);
            """, cancellationToken);

    private static async Task DeleteOrphanKeysAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken) =>
        await ExecuteAsync(connection, transaction, """
            DELETE FROM one_time_prekeys k WHERE NOT EXISTS (
                SELECT 1 FROM device_tokens t WHERE t.username = k.username AND t.device_id = k.device_id);
            DELETE FROM device_keys k WHERE NOT EXISTS (
                SELECT 1 FROM device_tokens t WHERE t.username = k.username AND t.device_id = k.device_id);
            """, cancellationToken).ConfigureAwait(false);

    public Task<PublishResult> PublishDeviceKeysAsync(DeviceKeysUpload upload, int maxOneTimePerKind, CancellationToken cancellationToken) =>
        RunAsync(async (connection, transaction) =>
        {
            await LockAccountAsync(connection, transaction, upload.Username, cancellationToken).ConfigureAwait(false);
            await using NpgsqlCommand command = new("SELECT identity_key FROM device_keys WHERE username = @u AND device_id = @d", connection, transaction);
            command.Parameters.AddWithValue("u", upload.Username);
            command.Parameters.AddWithValue("d", upload.DeviceId);
            byte[]? stored = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as byte[];
            (int ec, int kem) = await CountOneTimeAsync(connection, transaction, upload.Username, upload.DeviceId, cancellationToken).ConfigureAwait(false);
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
            command.Parameters.AddWithValue("i", upload.IdentityKey);
            command.Parameters.AddWithValue("s", NpgsqlTypes.NpgsqlDbType.Bytea, (object?)upload.SignedPrekey ?? DBNull.Value);
            command.Parameters.AddWithValue("k", NpgsqlTypes.NpgsqlDbType.Bytea, (object?)upload.LastResortKemPrekey ?? DBNull.Value);
            command.Parameters.AddWithValue("n", upload.Now);
            command.CommandText = stored is null
                ? "INSERT INTO device_keys (username, device_id, identity_key, signed_prekey, kem_last_resort, updated_at) VALUES (@u, @d, @i, @s, @k, @n)"
                : """
                  UPDATE device_keys SET signed_prekey = coalesce(@s, signed_prekey), kem_last_resort = coalesce(@k, kem_last_resort),
                      updated_at = @n WHERE username = @u AND device_id = @d
                  """;
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            await using NpgsqlCommand insert = new("""
                INSERT INTO one_time_prekeys (username, device_id, kind, key)
                SELECT @u, @d, kind, key FROM unnest(@kinds, @keys) WITH ORDINALITY AS k(kind, key, n) ORDER BY n
                """, connection, transaction);
            insert.Parameters.AddWithValue("u", upload.Username);
            insert.Parameters.AddWithValue("d", upload.DeviceId);
            short[] kinds = [.. Enumerable.Repeat(OneTimeEc, upload.OneTimePrekeys.Count), .. Enumerable.Repeat(OneTimeKem, upload.OneTimeKemPrekeys.Count)];
            byte[][] keys = [.. upload.OneTimePrekeys, .. upload.OneTimeKemPrekeys];
            if (keys.Length > 0)
            {
                insert.Parameters.AddWithValue("kinds", kinds);
                insert.Parameters.AddWithValue("keys", keys);
                await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            return new PublishResult(PublishOutcome.Stored, ec + upload.OneTimePrekeys.Count, kem + upload.OneTimeKemPrekeys.Count);
        }, cancellationToken);

    private static async Task<(int Ec, int Kem)> CountOneTimeAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string username, string deviceId,
        CancellationToken cancellationToken)
    {
        await using NpgsqlCommand count = new($"""
            SELECT count(*) FILTER (WHERE kind = {OneTimeEc}), count(*) FILTER (WHERE kind = {OneTimeKem})
            FROM one_time_prekeys WHERE username = @u AND device_id = @d
            """, connection, transaction);
        count.Parameters.AddWithValue("u", username);
        count.Parameters.AddWithValue("d", deviceId);
        await using NpgsqlDataReader reader = await count.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return (checked((int)reader.GetInt64(0)), checked((int)reader.GetInt64(1)));
    }

    public Task<IReadOnlyList<TakenBundle>> TakeBundlesAsync(string username, string? exceptDevice, IReadOnlyCollection<string>? onlyDevices, CancellationToken cancellationToken) =>
        RunAsync<IReadOnlyList<TakenBundle>>(async (connection, transaction) =>
        {
            await LockAccountAsync(connection, transaction, username, cancellationToken).ConfigureAwait(false);
            List<(string Device, byte[] Identity, byte[] Signed, byte[] LastResort)> devices = [];
            await using (NpgsqlCommand select = new("""
                SELECT k.device_id, k.identity_key, k.signed_prekey, k.kem_last_resort FROM device_keys k
                JOIN device_tokens t ON t.username = k.username AND t.device_id = k.device_id
                WHERE k.username = @u AND k.device_id <> @x ORDER BY k.device_id COLLATE "C"
                """, connection, transaction))
            {
                // Only devices whose token still exists: a revoked device's keys are never handed out.
                select.Parameters.AddWithValue("u", username);
                select.Parameters.AddWithValue("x", exceptDevice ?? "");
                await using NpgsqlDataReader reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    string deviceId = reader.GetString(0);
                    if (onlyDevices is null || onlyDevices.Contains(deviceId))
                    {
                        devices.Add((deviceId, (byte[])reader[1], (byte[])reader[2], (byte[])reader[3]));
                    }
                }
            }
            await using NpgsqlCommand take = new("""
                DELETE FROM one_time_prekeys WHERE id = (
                    SELECT id FROM one_time_prekeys WHERE username = @u AND device_id = @d AND kind = @t ORDER BY id LIMIT 1)
                RETURNING key
                """, connection, transaction);
            take.Parameters.AddWithValue("u", username);
            NpgsqlParameter<string> device = new NpgsqlParameter<string>("d", NpgsqlTypes.NpgsqlDbType.Text);
            take.Parameters.Add(device);
            NpgsqlParameter<short> kind = new NpgsqlParameter<short>("t", NpgsqlTypes.NpgsqlDbType.Smallint);
            take.Parameters.Add(kind);
            List<TakenBundle> bundles = [];
            foreach ((string id, byte[] identity, byte[] signed, byte[] lastResort) in devices)
            {
                device.TypedValue = id;
                kind.TypedValue = OneTimeEc;
                byte[]? oneTime = await take.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as byte[];
                kind.TypedValue = OneTimeKem;
                byte[]? kem = await take.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as byte[];
                bundles.Add(new TakenBundle(id, identity, signed, oneTime, kem ?? lastResort, kem is null));
            }
            return bundles;
        }, cancellationToken);

    public Task<IReadOnlyList<string>> KeyedDevicesAsync(string username, CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<string>>(async connection =>
        {
            // The same join as TakeBundlesAsync: a device is listed exactly when its keys can be fetched.
            await using NpgsqlCommand select = new("""
                SELECT k.device_id FROM device_keys k
                JOIN device_tokens t ON t.username = k.username AND t.device_id = k.device_id
                WHERE k.username = @u ORDER BY k.device_id COLLATE "C"
                """, connection);
            select.Parameters.AddWithValue("u", username);
            List<string> devices = [];
            await using NpgsqlDataReader reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                devices.Add(reader.GetString(0));
            }
            return devices;
        }, cancellationToken);
}
