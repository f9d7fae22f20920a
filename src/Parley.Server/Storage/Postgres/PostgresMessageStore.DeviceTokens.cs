// Device tokens in PostgreSQL, as SqliteMessageStore.DeviceTokens: the token's SHA-256, the short
// random id, creation and last use. Adding a token locks the account's row, so two nodes adding
// tokens for one account at once cannot both stay under the per-account cap and overshoot it.
using Npgsql;

namespace Parley.Server.Storage.Postgres;

public sealed partial class PostgresMessageStore
{
    private static Task CreateDeviceTokensAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken) =>
        ExecuteAsync(connection, transaction, """
            CREATE TABLE IF NOT EXISTS device_tokens (
                token_hash   bytea PRIMARY KEY,
                username     text NOT NULL REFERENCES accounts (username),
                device_id    text NOT NULL,
                created_at   bigint NOT NULL,
                last_used_at bigint NOT NULL,
                serial       bigserial NOT NULL);
            CREATE UNIQUE INDEX IF NOT EXISTS device_tokens_by_user ON device_tokens (username, device_id);
            CREATE INDEX IF NOT EXISTS device_tokens_by_use ON device_tokens (username, last_used_at);
            """, cancellationToken);

    public Task<bool> TryAddDeviceTokenAsync(byte[] tokenHash, string deviceId, string username, long now, int maxPerAccount, CancellationToken cancellationToken) =>
        RunAsync(async (connection, transaction) =>
        {
            await LockAccountAsync(connection, transaction, username, cancellationToken).ConfigureAwait(false);
            await using NpgsqlCommand command = new("""
                INSERT INTO device_tokens (token_hash, username, created_at, last_used_at, device_id)
                VALUES (@t, @u, @n, @n, @d) ON CONFLICT DO NOTHING
                """, connection, transaction);
            command.Parameters.AddWithValue("t", tokenHash);
            command.Parameters.AddWithValue("u", username);
            command.Parameters.AddWithValue("n", now);
            command.Parameters.AddWithValue("d", deviceId);
            if (await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) != 1)
            {
                return false;
            }
            // The newest token has the latest use (and the highest serial on a tie), so it always stays.
            await using NpgsqlCommand evict = new("""
                DELETE FROM device_tokens WHERE username = @u AND serial NOT IN (
                    SELECT serial FROM device_tokens WHERE username = @u
                    ORDER BY last_used_at DESC, created_at DESC, serial DESC LIMIT @max)
                """, connection, transaction);
            evict.Parameters.AddWithValue("u", username);
            evict.Parameters.AddWithValue("max", maxPerAccount);
            await evict.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }, cancellationToken);

    /// <summary>Holds the account's row until the transaction ends: changes to one account's devices and keys happen one at a time.</summary>
    private static async Task LockAccountAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string username, CancellationToken cancellationToken)
    {
        await using NpgsqlCommand command = new("SELECT 1 FROM accounts WHERE username = @u FOR NO KEY UPDATE", connection, transaction);
        command.Parameters.AddWithValue("u", username);
        await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
    }

    public Task<StoredDeviceToken?> FindDeviceTokenAsync(byte[] tokenHash, CancellationToken cancellationToken) =>
        ReadAsync(async connection =>
        {
            await using NpgsqlCommand command = new("SELECT device_id, username, created_at, last_used_at FROM device_tokens WHERE token_hash = @t", connection);
            command.Parameters.AddWithValue("t", tokenHash);
            await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadDeviceToken(reader) : null;
        }, cancellationToken);

    public Task<bool> DeviceExistsAsync(string username, string deviceId, CancellationToken cancellationToken) =>
        ReadAsync(async connection =>
        {
            await using NpgsqlCommand command = new("SELECT 1 FROM device_tokens WHERE username = @u AND device_id = @d", connection);
            command.Parameters.AddWithValue("u", username);
            command.Parameters.AddWithValue("d", deviceId);
            return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not null;
        }, cancellationToken);

    public Task TouchDeviceTokenAsync(string username, string deviceId, long now, CancellationToken cancellationToken) =>
        ReadAsync(async connection =>
        {
            await using NpgsqlCommand command = new(
                "UPDATE device_tokens SET last_used_at = greatest(last_used_at, @n) WHERE username = @u AND device_id = @d", connection);
            command.Parameters.AddWithValue("u", username);
            command.Parameters.AddWithValue("d", deviceId);
            command.Parameters.AddWithValue("n", now);
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    public Task<IReadOnlyList<StoredDeviceToken>> ListDeviceTokensAsync(string username, long usedSince, int limit, CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<StoredDeviceToken>>(async connection =>
        {
            await using NpgsqlCommand command = new("""
                SELECT device_id, username, created_at, last_used_at FROM device_tokens
                WHERE username = @u AND last_used_at >= @s
                ORDER BY last_used_at DESC, created_at DESC, serial DESC LIMIT @l
                """, connection);
            command.Parameters.AddWithValue("u", username);
            command.Parameters.AddWithValue("s", usedSince);
            command.Parameters.AddWithValue("l", limit);
            List<StoredDeviceToken> result = [];
            await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                result.Add(ReadDeviceToken(reader));
            }
            return result;
        }, cancellationToken);

    public Task<bool> DeleteDeviceTokenAsync(string username, string deviceId, CancellationToken cancellationToken) =>
        ReadAsync(async connection =>
        {
            await using NpgsqlCommand command = new("DELETE FROM device_tokens WHERE username = @u AND device_id = @d", connection);
            command.Parameters.AddWithValue("u", username);
            command.Parameters.AddWithValue("d", deviceId);
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
        }, cancellationToken);

    private static StoredDeviceToken ReadDeviceToken(NpgsqlDataReader reader) =>
        new(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3));
}
