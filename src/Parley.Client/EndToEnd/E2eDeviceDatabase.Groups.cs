// The groups' state (E2eGroups.Export) in the device database: one more row of the meta table,
// sealed like the others with associated data naming the owner and the row.
using System.Security.Cryptography;
using System.Text;
using Microsoft.Data.Sqlite;

namespace Parley.Client.EndToEnd;

public sealed partial class E2eDeviceDatabase
{
    private byte[] GroupsRow() => Encoding.UTF8.GetBytes($"parley-e2e-db-v1\0groups\0{_user}");

    /// <summary>Replaces the stored group state; <paramref name="state"/> is wiped.</summary>
    public void SaveGroups(byte[] state)
    {
        ArgumentNullException.ThrowIfNull(state);
        try
        {
            using SqliteCommand meta = _connection.CreateCommand();
            meta.CommandText = "INSERT INTO meta (name, value) VALUES ('groups', $v) ON CONFLICT(name) DO UPDATE SET value = excluded.value";
            meta.Parameters.AddWithValue("$v", Seal(state, GroupsRow()));
            meta.ExecuteNonQuery();
        }
        finally
        {
            CryptographicOperations.ZeroMemory(state);
        }
    }

    /// <summary>The stored group state (the caller wipes it), or null when none was saved.</summary>
    /// <exception cref="Parley.EndToEnd.E2eProtocolException">The row does not authenticate.</exception>
    public byte[]? LoadGroups()
    {
        using SqliteCommand meta = _connection.CreateCommand();
        meta.CommandText = "SELECT value FROM meta WHERE name = 'groups'";
        return meta.ExecuteScalar() is byte[] sealedState ? Open(sealedState, GroupsRow()) : null;
    }
}
