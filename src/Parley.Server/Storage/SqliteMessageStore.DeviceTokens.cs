// Device tokens in SQLite: the token's SHA-256 (never the token), the short random id shown to the
// user, and when it was created and last used. Expiry and the per-account cap are policy
// (Accounts/DeviceTokens); the store only does what it is told, each change in one statement or
// one transaction.
using Microsoft.Data.Sqlite;
using Parley.Server.Hosting;

namespace Parley.Server.Storage;

public sealed partial class SqliteMessageStore
{
    /// <summary>
    /// Databases from before device ids get the column, and every existing token a random id
    /// (6 random bytes each, so the unique index cannot collide in practice).
    /// </summary>
    private static async Task AddDeviceIdsAsync(SqliteConnection writer, CancellationToken cancellationToken)
    {
        await using SqliteCommand command = writer.CreateCommand();
        command.CommandText = "SELECT 1 FROM pragma_table_info('device_tokens') WHERE name = 'device_id'";
        if (await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is null)
        {
            command.CommandText = """
                ALTER TABLE device_tokens ADD COLUMN device_id TEXT;
                UPDATE device_tokens SET device_id = lower(hex(randomblob(6))) WHERE device_id IS NULL;
                """;
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        command.CommandText = """
            CREATE UNIQUE INDEX IF NOT EXISTS device_tokens_by_user ON device_tokens (username, device_id);
            CREATE INDEX IF NOT EXISTS device_tokens_by_use ON device_tokens (username, last_used_at);
            """;
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<bool> TryAddDeviceTokenAsync(byte[] tokenHash, string deviceId, string username, long now, int maxPerAccount, CancellationToken cancellationToken)
    {
        await EventThreads.Leave();
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using SqliteTransaction transaction = (SqliteTransaction)await _writer.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using SqliteCommand command = _writer.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = """
                INSERT INTO device_tokens (token_hash, username, created_at, last_used_at, device_id)
                VALUES ($t, $u, $n, $n, $d) ON CONFLICT DO NOTHING
                """;
            command.Parameters.AddWithValue("$t", tokenHash);
            command.Parameters.AddWithValue("$u", username);
            command.Parameters.AddWithValue("$n", now);
            command.Parameters.AddWithValue("$d", deviceId);
            if (await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) != 1)
            {
                return false;
            }
            command.Parameters.Clear();
            // The newest token has the latest use (and the highest rowid on a tie), so it always stays.
            command.CommandText = """
                DELETE FROM device_tokens WHERE username = $u AND rowid NOT IN (
                    SELECT rowid FROM device_tokens WHERE username = $u
                    ORDER BY last_used_at DESC, created_at DESC, rowid DESC LIMIT $max)
                """;
            command.Parameters.AddWithValue("$u", username);
            command.Parameters.AddWithValue("$max", maxPerAccount);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public async Task<StoredDeviceToken?> FindDeviceTokenAsync(byte[] tokenHash, CancellationToken cancellationToken)
    {
        await EventThreads.Leave();
        cancellationToken.ThrowIfCancellationRequested();
        return _readers.Read(tokenHash, static (reader, hash) => reader.FindDeviceToken(hash));
    }

    public async Task<bool> DeviceExistsAsync(string username, string deviceId, CancellationToken cancellationToken)
    {
        await EventThreads.Leave();
        await using SqliteConnection connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT 1 FROM device_tokens WHERE username = $u AND device_id = $d";
        command.Parameters.AddWithValue("$u", username);
        command.Parameters.AddWithValue("$d", deviceId);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not null;
    }

    public async Task TouchDeviceTokenAsync(string username, string deviceId, long now, CancellationToken cancellationToken)
    {
        await EventThreads.Leave();
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using SqliteCommand command = _writer.CreateCommand();
            command.CommandText = "UPDATE device_tokens SET last_used_at = max(last_used_at, $n) WHERE username = $u AND device_id = $d";
            command.Parameters.AddWithValue("$u", username);
            command.Parameters.AddWithValue("$d", deviceId);
            command.Parameters.AddWithValue("$n", now);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public async Task<IReadOnlyList<StoredDeviceToken>> ListDeviceTokensAsync(string username, long usedSince, int limit, CancellationToken cancellationToken)
    {
        await EventThreads.Leave();
        await using SqliteConnection connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = """
            SELECT device_id, username, created_at, last_used_at FROM device_tokens
            WHERE username = $u AND last_used_at >= $s
            ORDER BY last_used_at DESC, created_at DESC, rowid DESC LIMIT $l
            """;
        command.Parameters.AddWithValue("$u", username);
        command.Parameters.AddWithValue("$s", usedSince);
        command.Parameters.AddWithValue("$l", limit);
        List<StoredDeviceToken> result = [];
        await using SqliteDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            result.Add(ReadDeviceToken(reader));
        }
        return result;
    }

    public async Task<bool> DeleteDeviceTokenAsync(string username, string deviceId, CancellationToken cancellationToken)
    {
        await EventThreads.Leave();
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using SqliteCommand command = _writer.CreateCommand();
            command.CommandText = "DELETE FROM device_tokens WHERE username = $u AND device_id = $d";
            command.Parameters.AddWithValue("$u", username);
            command.Parameters.AddWithValue("$d", deviceId);
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private static StoredDeviceToken ReadDeviceToken(SqliteDataReader reader) =>
        new(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3));
}
