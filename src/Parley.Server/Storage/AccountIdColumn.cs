// accounts.account_id: a random id per registration (see Account.AccountId). Added to databases
// made before it existed, and filled for every account without one, each time the store opens:
// additive and idempotent, so it needs no schema version of its own.
using System.Security.Cryptography;
using Microsoft.Data.Sqlite;

namespace Parley.Server.Storage;

internal static class AccountIdColumn
{
    /// <summary>128 random bits, lower-case hex: unique without coordination, and safe in a file name.</summary>
    public static string NewId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    public static async Task EnsureAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT 1 FROM pragma_table_info('accounts') WHERE name = 'account_id'";
        if (await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is null)
        {
            command.CommandText = "ALTER TABLE accounts ADD COLUMN account_id TEXT";
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        command.CommandText = "SELECT username FROM accounts WHERE account_id IS NULL OR account_id = ''";
        List<string> missing = [];
        await using (SqliteDataReader reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                missing.Add(reader.GetString(0));
            }
        }
        if (missing.Count == 0)
        {
            return;
        }
        await using SqliteTransaction transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using SqliteCommand update = connection.CreateCommand();
        update.Transaction = transaction;
        update.CommandText = "UPDATE accounts SET account_id = $id WHERE username = $u";
        SqliteParameter id = update.Parameters.Add("$id", SqliteType.Text);
        SqliteParameter user = update.Parameters.Add("$u", SqliteType.Text);
        foreach (string username in missing)
        {
            id.Value = NewId();
            user.Value = username;
            await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }
}
