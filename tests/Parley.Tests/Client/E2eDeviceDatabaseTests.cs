using Microsoft.Data.Sqlite;
using Parley.Client;
using Parley.Client.EndToEnd;
using Parley.Cli.Commands;
using Parley.EndToEnd;
using Parley.Tests.Support;

namespace Parley.Tests.Client;

/// <summary>
/// The device's end-to-end state in its local SQLite database: a row for the device and one per
/// peer device, only changed sessions rewritten, every value encrypted and bound to its row, and
/// the state file of the earlier version moved in once.
/// </summary>
public class E2eDeviceDatabaseTests
{
    [Fact]
    public async Task A_conversation_survives_a_restart_from_the_database_and_only_touched_sessions_are_rewritten()
    {
        await using TestServer server = await TestServer.StartAsync();
        using TempDirectory home = new();
        await using E2eTestDevice alice = await E2eTestDevice.ConnectAsync(server, "alice");
        await using E2eTestDevice bob = await E2eTestDevice.ConnectAsync(server, "bob");
        await using E2eTestDevice carol = await E2eTestDevice.ConnectAsync(server, "carol");
        await alice.Keys.SendTextAsync(alice.Client, "bob", "to bob").WithTimeout();
        await alice.Keys.SendTextAsync(alice.Client, "carol", "to carol").WithTimeout();
        Assert.Equal("to bob", (await bob.NextAsync()).Text);
        Assert.Equal("to carol", (await carol.NextAsync()).Text);

        string path = Path.Combine(home.Path, "alice.db");
        using (E2eDeviceDatabase database = new(path, "alice"))
        {
            database.Save(alice.Keys);
            Assert.Equal(2, database.SessionRows);
        }
        (byte[] bobBefore, byte[] carolBefore) = (SessionRow(path, "bob"), SessionRow(path, "carol"));

        // One more message to bob rewrites bob's row only: carol's stays byte for byte (same nonce).
        await alice.Keys.SendTextAsync(alice.Client, "bob", "again").WithTimeout();
        Assert.Equal("again", (await bob.NextAsync()).Text);
        using (E2eDeviceDatabase database = new(path, "alice"))
        {
            database.Save(alice.Keys);
        }
        Assert.NotEqual(bobBefore, SessionRow(path, "bob"));
        Assert.Equal(carolBefore, SessionRow(path, "carol"));

        using (E2eDeviceDatabase database = new(path, "alice"))
        {
            using E2eDevice restored = database.Load();
            Assert.Equal(alice.Keys.ExportState(), restored.ExportState());
            // The restored device goes on with both sessions.
            await restored.SendTextAsync(alice.Client, "bob", "from the restored state").WithTimeout();
            Assert.Equal("from the restored state", (await bob.NextAsync()).Text);
            await restored.SendTextAsync(alice.Client, "carol", "and to carol").WithTimeout();
            Assert.Equal("and to carol", (await carol.NextAsync()).Text);
        }
    }

    private static byte[] SessionRow(string path, string peer)
    {
        using SqliteConnection connection = Open(path);
        using SqliteCommand select = connection.CreateCommand();
        select.CommandText = "SELECT state FROM sessions WHERE peer_user = $p";
        select.Parameters.AddWithValue("$p", peer);
        return (byte[])select.ExecuteScalar()!;
    }

    [Fact]
    public void A_changed_value_a_row_moved_to_another_peer_another_user_or_a_missing_key_fails_closed()
    {
        using TempDirectory home = new();
        string path = Path.Combine(home.Path, "alice.db");
        using (E2eDevice alice = E2eDevice.Create("alice"))
        using (E2eDeviceDatabase database = new(path, "alice"))
        {
            database.Save(alice);
            Assert.True(database.HasDevice);
        }
        byte[] original = ReadDeviceRow(path);

        byte[] flipped = (byte[])original.Clone();
        flipped[^1] ^= 1;
        WriteDeviceRow(path, flipped);
        using (E2eDeviceDatabase database = new(path, "alice"))
        {
            Assert.Equal(E2eError.DecryptionFailed, Assert.Throws<E2eProtocolException>(database.Load).Error);
        }
        WriteDeviceRow(path, original);

        // The same file opened as bob's: the associated data names the owner, so nothing authenticates.
        using (E2eDeviceDatabase database = new(path, "bob"))
        {
            Assert.Throws<E2eProtocolException>(database.Load);
        }
        File.Delete(path + ".key");
        E2eProtocolException missing = Assert.Throws<E2eProtocolException>(() => new E2eDeviceDatabase(path, "alice"));
        Assert.Contains(".key is missing", missing.Reason);
    }

    [Fact]
    public async Task A_session_row_copied_onto_another_peers_row_does_not_authenticate()
    {
        await using TestServer server = await TestServer.StartAsync();
        using TempDirectory home = new();
        await using E2eTestDevice alice = await E2eTestDevice.ConnectAsync(server, "alice");
        await using E2eTestDevice bob = await E2eTestDevice.ConnectAsync(server, "bob");
        await using E2eTestDevice carol = await E2eTestDevice.ConnectAsync(server, "carol");
        await alice.Keys.SendTextAsync(alice.Client, "bob", "1").WithTimeout();
        await alice.Keys.SendTextAsync(alice.Client, "carol", "2").WithTimeout();
        string path = Path.Combine(home.Path, "alice.db");
        using (E2eDeviceDatabase database = new(path, "alice"))
        {
            database.Save(alice.Keys);
        }
        using (SqliteConnection connection = Open(path))
        {
            using SqliteCommand swap = connection.CreateCommand();
            swap.CommandText = "UPDATE sessions SET state = (SELECT state FROM sessions WHERE peer_user = 'bob') WHERE peer_user = 'carol'";
            Assert.Equal(1, swap.ExecuteNonQuery());
        }
        using (E2eDeviceDatabase database = new(path, "alice"))
        {
            Assert.Equal(E2eError.DecryptionFailed, Assert.Throws<E2eProtocolException>(database.Load).Error);
        }
    }

    [Fact]
    public async Task The_database_holds_no_private_key_or_held_text_in_the_clear_and_the_old_state_file_moves_in_once()
    {
        await using TestServer server = await TestServer.StartAsync();
        using TempDirectory temp = new();
        ParleyHome home = new(temp.Path);
        await using ChatClient client = await server.LoginAsync("alice");
        string legacyPath = home.EndToEndStatePath(client.ServerIdentity.Fingerprint, "alice", client.DeviceId!);
        using (E2eDevice old = E2eDevice.Create("alice"))
        {
            new E2eDeviceFile(legacyPath).Save(old);
        }
        byte[] signingKey;
        using (E2eDevice legacy = new E2eDeviceFile(legacyPath).Load("alice"))
        {
            signingKey = legacy.IdentityPair().ExportSigningPrivateKey();
        }

        using (ChatEndToEnd keys = ChatEndToEnd.Open(home, client, "alice"))
        {
            Assert.False(keys.Created, "the old state was moved in, not replaced by new keys");
        }
        Assert.False(File.Exists(legacyPath));
        Assert.False(File.Exists(legacyPath + ".key"));
        string database = Path.ChangeExtension(legacyPath, ".db");
        foreach (string file in new[] { database, database + "-wal" })
        {
            Assert.False(File.Exists(file) && File.ReadAllBytes(file).AsSpan().IndexOf(signingKey) >= 0, $"{Path.GetFileName(file)} holds the private key");
        }
        using (ChatEndToEnd again = ChatEndToEnd.Open(home, client, "alice"))
        {
            Assert.False(again.Created);
        }
        using E2eDeviceDatabase reopened = new(database, "alice");
        using E2eDevice loaded = reopened.Load();
        Assert.Equal(signingKey, loaded.IdentityPair().ExportSigningPrivateKey());
    }

    private static SqliteConnection Open(string path)
    {
        SqliteConnection connection = new(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    private static byte[] ReadDeviceRow(string path)
    {
        using SqliteConnection connection = Open(path);
        using SqliteCommand select = connection.CreateCommand();
        select.CommandText = "SELECT value FROM meta WHERE name = 'device'";
        return (byte[])select.ExecuteScalar()!;
    }

    private static void WriteDeviceRow(string path, byte[] value)
    {
        using SqliteConnection connection = Open(path);
        using SqliteCommand update = connection.CreateCommand();
        update.CommandText = "UPDATE meta SET value = $v WHERE name = 'device'";
        update.Parameters.AddWithValue("$v", value);
        update.ExecuteNonQuery();
    }
}
