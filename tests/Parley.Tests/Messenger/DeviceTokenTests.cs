using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using Parley.Client;
using Parley.Messaging;
using Parley.Server.Accounts;
using Parley.Server.Storage;
using Parley.Tests.Support;

namespace Parley.Tests.Messenger;

/// <summary>Device tokens: expiry, last use, the per-account cap, listing and revoking devices.</summary>
public class DeviceTokenTests
{
    private static async Task<(ChatClient Client, LoginResult Result)> ConnectAsync(TestServer server, string user, string? password, string? token = null)
    {
        ChatClient client = await ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions).WithTimeout();
        LoginResult result = await client.LoginAsync(user, password, token).WithTimeout();
        return (client, result);
    }

    /// <summary>A password login that succeeded; returns the new device token.</summary>
    private static async Task<string> NewDeviceAsync(TestServer server, string user)
    {
        (ChatClient client, LoginResult result) = await ConnectAsync(server, user, "correct horse");
        await client.DisposeAsync();
        Assert.True(result.Success, result.Error);
        return result.DeviceToken!;
    }

    private static async Task<bool> TokenWorksAsync(TestServer server, string user, string token)
    {
        (ChatClient client, LoginResult result) = await ConnectAsync(server, user, null, token);
        await client.DisposeAsync();
        Assert.True(result.Success || result.Error == AccountService.InvalidToken, result.Error);
        return result.Success;
    }

    private static async Task<DeviceInfo[]> DevicesAsync(TestServer server, string user)
    {
        (ChatClient client, LoginResult result) = await ConnectAsync(server, user, "correct horse");
        Assert.True(result.Success, result.Error);
        await using (client)
        {
            return await client.ListDevicesAsync().WithTimeout();
        }
    }

    [Fact]
    public async Task A_token_unused_for_longer_than_the_expiry_is_refused_as_invalid()
    {
        ManualClock time = new();
        await using TestServer server = await TestServer.StartAsync(o => o with { Time = time, DeviceTokenExpiry = TimeSpan.FromDays(90) });
        string token = await NewDeviceAsync(server, "alice");

        time.Advance(TimeSpan.FromDays(89));
        Assert.True(await TokenWorksAsync(server, "alice", token));
        // That use counts: 89 more days are still within 90 days of it.
        time.Advance(TimeSpan.FromDays(89));
        Assert.True(await TokenWorksAsync(server, "alice", token));

        time.Advance(TimeSpan.FromDays(90) + TimeSpan.FromMinutes(1));
        (ChatClient client, LoginResult result) = await ConnectAsync(server, "alice", null, token);
        await client.DisposeAsync();
        Assert.False(result.Success);
        Assert.Equal(AccountService.InvalidToken, result.Error);
        // Only the device of the password login that follows is left.
        Assert.True(Assert.Single(await DevicesAsync(server, "alice")).Current);
    }

    [Fact]
    public async Task Last_use_is_recorded_on_token_login_at_most_once_per_resolution()
    {
        ManualClock time = new();
        await using TestServer server = await TestServer.StartAsync(o => o with { Time = time });
        long created = time.Now.ToUnixTimeMilliseconds();
        string token = await NewDeviceAsync(server, "alice");

        time.Advance(TimeSpan.FromHours(2));
        long used = time.Now.ToUnixTimeMilliseconds();
        (ChatClient client, LoginResult result) = await ConnectAsync(server, "alice", null, token);
        Assert.True(result.Success, result.Error);
        await using (client)
        {
            DeviceInfo device = Assert.Single(await client.ListDevicesAsync().WithTimeout());
            Assert.True(device.Current);
            Assert.Equal(result.DeviceId, device.DeviceId);
            Assert.Equal(created, device.CreatedAt);
            Assert.Equal(used, device.LastUsedAt);
        }

        // Within the resolution another login writes nothing.
        time.Advance(DeviceTokens.LastUsedResolution / 2);
        (client, result) = await ConnectAsync(server, "alice", null, token);
        Assert.True(result.Success, result.Error);
        await using (client)
        {
            Assert.Equal(used, Assert.Single(await client.ListDevicesAsync().WithTimeout()).LastUsedAt);
        }
    }

    [Fact]
    public async Task The_per_account_cap_evicts_the_least_recently_used_token()
    {
        ManualClock time = new();
        await using TestServer server = await TestServer.StartAsync(o => o with { Time = time, MaxDevicesPerAccount = 3 });
        List<string> tokens = [];
        for (int i = 0; i < 3; i++)
        {
            tokens.Add(await NewDeviceAsync(server, "alice"));
            time.Advance(TimeSpan.FromHours(2));
        }
        // The first device is used again, so the second is now the least recently used.
        Assert.True(await TokenWorksAsync(server, "alice", tokens[0]));
        time.Advance(TimeSpan.FromHours(2));
        // An attacker who knows the password cannot grow the table: each login replaces the stalest device.
        for (int i = 0; i < 20; i++)
        {
            tokens.Add(await NewDeviceAsync(server, "alice"));
        }
        Assert.False(await TokenWorksAsync(server, "alice", tokens[1]));
        Assert.False(await TokenWorksAsync(server, "alice", tokens[2]));
        Assert.True(await TokenWorksAsync(server, "alice", tokens[^1]));
        Assert.Equal(3, (await DevicesAsync(server, "alice")).Length);
    }

    [Fact]
    public async Task Revoking_a_device_stops_its_token_at_once_and_closes_its_connection()
    {
        await using TestServer server = await TestServer.StartAsync();
        string laptop = await NewDeviceAsync(server, "alice");
        string bobsPhone = await NewDeviceAsync(server, "bob");
        (ChatClient phone, LoginResult phoneLogin) = await ConnectAsync(server, "alice", "correct horse");
        string phoneToken = phoneLogin.DeviceToken!;
        await using (phone)
        {
            DeviceInfo[] devices = await phone.ListDevicesAsync().WithTimeout();
            Assert.Equal(2, devices.Length);
            DeviceInfo current = Assert.Single(devices, d => d.Current);
            Assert.Equal(phone.DeviceId, current.DeviceId);
            DeviceInfo other = Assert.Single(devices, d => !d.Current);
            // The id is short, random, and neither the token nor its hash.
            Assert.Matches("^[0-9a-f]{12}$", other.DeviceId);
            Assert.DoesNotContain(other.DeviceId, laptop, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(other.DeviceId, Convert.ToHexStringLower(SHA256.HashData(Convert.FromBase64String(laptop.Replace('-', '+').Replace('_', '/') + "="))), StringComparison.Ordinal);

            await phone.RevokeDeviceAsync(other.DeviceId).WithTimeout();
            Assert.False(await TokenWorksAsync(server, "alice", laptop));
            // Revoked once is gone: a second revoke finds nothing.
            ChatException again = await Assert.ThrowsAsync<ChatException>(() => phone.RevokeDeviceAsync(other.DeviceId).WithTimeout());
            Assert.Equal(ErrorCodes.UnknownDevice, again.Code);
            ChatException malformed = await Assert.ThrowsAsync<ChatException>(() => phone.RevokeDeviceAsync("../../etc\u001b").WithTimeout());
            Assert.Equal(ErrorCodes.BadRequest, malformed.Code);
        }

        // Bob cannot revoke alice's device, and learns nothing from trying.
        (ChatClient bob, LoginResult bobLogin) = await ConnectAsync(server, "bob", null, bobsPhone);
        Assert.True(bobLogin.Success, bobLogin.Error);
        string alicePhoneId = phoneLogin.DeviceId!;
        await using (bob)
        {
            ChatException refused = await Assert.ThrowsAsync<ChatException>(() => bob.RevokeDeviceAsync(alicePhoneId).WithTimeout());
            Assert.Equal(ErrorCodes.UnknownDevice, refused.Code);
        }
        Assert.True(await TokenWorksAsync(server, "alice", phoneToken));

        // Revoking the device a connection logged in with closes that connection.
        (ChatClient again2, LoginResult byToken) = await ConnectAsync(server, "alice", null, phoneToken);
        Assert.True(byToken.Success, byToken.Error);
        Assert.Equal(alicePhoneId, byToken.DeviceId);
        TaskCompletionSource<ErrorMessage> notice = new(TaskCreationOptions.RunContinuationsAsynchronously);
        again2.NoticeHandler = n => notice.TrySetResult(n);
        await using (again2)
        {
            await again2.RevokeDeviceAsync(alicePhoneId).WithTimeout();
            Assert.Equal(ErrorCodes.DeviceRevoked, (await notice.Task.WithTimeout()).Code);
            await again2.Completion.WithTimeout();
        }
        Assert.False(await TokenWorksAsync(server, "alice", phoneToken));
    }

    [Fact]
    public async Task A_database_from_before_device_ids_opens_and_its_tokens_get_ids()
    {
        using TempDirectory temp = new();
        string path = temp.File("old.db");
        await using (SqliteConnection old = new($"Data Source={path};Pooling=False"))
        {
            await old.OpenAsync();
            await using SqliteCommand create = old.CreateCommand();
            create.CommandText = """
                CREATE TABLE schema_version (version INTEGER NOT NULL);
                INSERT INTO schema_version VALUES (1);
                CREATE TABLE accounts (username TEXT PRIMARY KEY, password_algorithm TEXT NOT NULL, password_iterations INTEGER NOT NULL,
                    password_salt BLOB NOT NULL, password_hash BLOB NOT NULL, created_at INTEGER NOT NULL);
                CREATE TABLE device_tokens (token_hash BLOB PRIMARY KEY, username TEXT NOT NULL REFERENCES accounts(username),
                    created_at INTEGER NOT NULL, last_used_at INTEGER NOT NULL);
                INSERT INTO accounts VALUES ('alice', 'pbkdf2-sha256', 1000, x'00', x'00', 1);
                INSERT INTO device_tokens VALUES (x'01', 'alice', 5, 5), (x'02', 'alice', 6, 6);
                """;
            await create.ExecuteNonQueryAsync();
        }
        await using SqliteMessageStore store = await SqliteMessageStore.OpenAsync(path);
        IReadOnlyList<StoredDeviceToken> tokens = await store.ListDeviceTokensAsync("alice", 0, 10, CancellationToken.None);
        Assert.Equal(2, tokens.Count);
        Assert.All(tokens, t => Assert.Matches("^[0-9a-f]{12}$", t.DeviceId));
        Assert.NotEqual(tokens[0].DeviceId, tokens[1].DeviceId);
        Assert.Equal("alice", (await store.FindDeviceTokenAsync([0x01], CancellationToken.None))!.Username);
    }
}
