using Microsoft.Data.Sqlite;
using Parley.Client;
using Parley.Messaging;
using Parley.Server.Storage;
using Parley.Tests.Support;

namespace Parley.Tests.Server;

/// <summary>Each registration gets a random account id, sent in login_result, so clients can tell a re-registered name from the old account (issue 8, item 1).</summary>
public class AccountIdTests
{
    private static async Task<LoginResult> LoginAsync(TestServer server, string user, string? token = null)
    {
        await using ChatClient client = await ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions).WithTimeout();
        return await client.LoginAsync(user, token is null ? "correct horse" : null, token).WithTimeout();
    }

    [Fact]
    public async Task The_id_is_stable_across_logins_and_new_after_the_database_is_reset()
    {
        string first;
        await using (TestServer server = await TestServer.StartAsync())
        {
            LoginResult registered = await LoginAsync(server, "alice");
            Assert.True(registered.Registered);
            first = registered.AccountId!;
            Assert.Matches("^[0-9a-f]{32}$", first);
            Assert.Equal(first, (await LoginAsync(server, "alice")).AccountId);
            Assert.Equal(first, (await LoginAsync(server, "alice", registered.DeviceToken)).AccountId);
            Assert.NotEqual(first, (await LoginAsync(server, "bob")).AccountId);
        }
        // An empty database (a reset one) registers the same name as a new account, with a new id.
        await using TestServer reset = await TestServer.StartAsync();
        LoginResult again = await LoginAsync(reset, "alice");
        Assert.True(again.Registered);
        Assert.NotEqual(first, again.AccountId);
    }

    [Fact]
    public async Task A_database_from_before_account_ids_gets_the_column_and_an_id_for_every_account()
    {
        using TempDirectory temp = new();
        string path = temp.File("old.db");
        await using (SqliteConnection old = new($"Data Source={path}"))
        {
            await old.OpenAsync();
            await using SqliteCommand create = old.CreateCommand();
            create.CommandText = """
                CREATE TABLE schema_version (version INTEGER NOT NULL);
                INSERT INTO schema_version VALUES (1);
                CREATE TABLE accounts (
                    username            TEXT PRIMARY KEY,
                    password_algorithm  TEXT NOT NULL,
                    password_iterations INTEGER NOT NULL,
                    password_salt       BLOB NOT NULL,
                    password_hash       BLOB NOT NULL,
                    created_at          INTEGER NOT NULL);
                INSERT INTO accounts VALUES ('alice', 'pbkdf2-sha256', 1000, x'00', x'00', 1);
                INSERT INTO accounts VALUES ('bob', 'pbkdf2-sha256', 1000, x'00', x'00', 1);
                """;
            await create.ExecuteNonQueryAsync();
        }
        SqliteConnection.ClearAllPools();
        string aliceId;
        await using (SqliteMessageStore store = await SqliteMessageStore.OpenAsync(path))
        {
            aliceId = (await store.FindAccountAsync("alice", CancellationToken.None))!.AccountId;
            string bobId = (await store.FindAccountAsync("bob", CancellationToken.None))!.AccountId;
            Assert.Matches("^[0-9a-f]{32}$", aliceId);
            Assert.Matches("^[0-9a-f]{32}$", bobId);
            Assert.NotEqual(aliceId, bobId);
        }
        // Opening again changes nothing: the migration only fills what is missing.
        await using SqliteMessageStore reopened = await SqliteMessageStore.OpenAsync(path);
        Assert.Equal(aliceId, (await reopened.FindAccountAsync("alice", CancellationToken.None))!.AccountId);
    }
}
