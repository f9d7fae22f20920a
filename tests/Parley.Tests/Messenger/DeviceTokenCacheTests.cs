using Parley.Client;
using Parley.Messaging;
using Parley.Server.Accounts;
using Parley.Server.Storage;
using Parley.Tests.Cluster;
using Parley.Tests.Support;

namespace Parley.Tests.Messenger;

/// <summary>
/// Device-token lookups cached in memory (DeviceTokenCache): a token that is revoked or evicted
/// stops working at once even while cached, the cache is bounded in entries and bytes, and a
/// lookup racing with a revocation cannot put the revoked token back.
/// </summary>
public class DeviceTokenCacheTests
{
    private static async Task<(ChatClient Client, LoginResult Result)> ConnectAsync(TestServer server, string user, string? password, string? token = null)
    {
        ChatClient client = await ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions).WithTimeout();
        LoginResult result = await client.LoginAsync(user, password, token).WithTimeout();
        return (client, result);
    }

    private static async Task<LoginResult> NewDeviceAsync(TestServer server, string user)
    {
        (ChatClient client, LoginResult result) = await ConnectAsync(server, user, "correct horse");
        await client.DisposeAsync();
        Assert.True(result.Success, result.Error);
        return result;
    }

    private static async Task<bool> TokenWorksAsync(TestServer server, string user, string token)
    {
        (ChatClient client, LoginResult result) = await ConnectAsync(server, user, null, token);
        await client.DisposeAsync();
        Assert.True(result.Success || result.Error == AccountService.InvalidToken, result.Error);
        return result.Success;
    }

    [Fact]
    public async Task A_revoked_token_never_logs_in_even_while_cached()
    {
        await using TestServer server = await TestServer.StartAsync();
        LoginResult device = await NewDeviceAsync(server, "alice");
        Assert.True(await TokenWorksAsync(server, "alice", device.DeviceToken!));
        DeviceTokenCache cache = server.Server.Tokens.Cache!;
        Assert.Equal(1, cache.Count);
        // Cached now: this login did not read the store, and still works.
        Assert.True(await TokenWorksAsync(server, "alice", device.DeviceToken!));

        (ChatClient other, LoginResult otherLogin) = await ConnectAsync(server, "alice", "correct horse");
        Assert.True(otherLogin.Success, otherLogin.Error);
        await using (other)
        {
            await other.RevokeDeviceAsync(device.DeviceId!).WithTimeout();
        }
        Assert.False(await TokenWorksAsync(server, "alice", device.DeviceToken!));
        Assert.False(await TokenWorksAsync(server, "alice", device.DeviceToken!));
    }

    [Fact]
    public async Task A_token_evicted_by_the_per_account_cap_stops_at_once_while_cached()
    {
        ManualClock time = new();
        await using TestServer server = await TestServer.StartAsync(o => o with { Time = time, MaxDevicesPerAccount = 2 });
        LoginResult first = await NewDeviceAsync(server, "alice");
        Assert.True(await TokenWorksAsync(server, "alice", first.DeviceToken!));
        Assert.Equal(1, server.Server.Tokens.Cache!.Count);
        time.Advance(TimeSpan.FromHours(2));
        await NewDeviceAsync(server, "alice");
        time.Advance(TimeSpan.FromHours(2));
        // The third device evicts the least recently used one: the first, cached a moment ago.
        await NewDeviceAsync(server, "alice");
        Assert.False(await TokenWorksAsync(server, "alice", first.DeviceToken!));
    }

    [Fact]
    public async Task A_token_of_another_user_is_refused_from_the_cache_too()
    {
        await using TestServer server = await TestServer.StartAsync();
        LoginResult alice = await NewDeviceAsync(server, "alice");
        await NewDeviceAsync(server, "mallory");
        Assert.True(await TokenWorksAsync(server, "alice", alice.DeviceToken!));
        Assert.False(await TokenWorksAsync(server, "mallory", alice.DeviceToken!));
    }

    private static StoredDeviceToken Device(string user, int i) => new($"{i:x12}", user, 0, 0);

    private static byte[] Hash(int i)
    {
        byte[] hash = new byte[32];
        BitConverter.TryWriteBytes(hash, i);
        return hash;
    }

    [Fact]
    public void The_cache_never_holds_more_entries_or_bytes_than_its_bounds()
    {
        // Someone with many accounts and devices logging in over and over: the oldest entries go.
        DeviceTokenCache byCount = new(maxEntries: 100, maxBytes: long.MaxValue);
        DeviceTokenCache byBytes = new(maxEntries: int.MaxValue, maxBytes: 50 * DeviceTokenCache.EntryOverheadBytes);
        for (int i = 0; i < 10_000; i++)
        {
            byCount.Put(Hash(i), Device($"user{i % 37}", i), byCount.Epoch);
            byBytes.Put(Hash(i), Device($"user{i % 37}", i), byBytes.Epoch);
            Assert.InRange(byCount.Count, 1, 100);
            Assert.InRange(byBytes.Bytes, 1, 50 * DeviceTokenCache.EntryOverheadBytes);
        }
        // The newest are there, the oldest gone.
        Assert.NotNull(byCount.TryGet(Hash(9_999)));
        Assert.Null(byCount.TryGet(Hash(0)));
        Assert.NotNull(byBytes.TryGet(Hash(9_999)));
        Assert.Null(byBytes.TryGet(Hash(0)));
        // Invalidating users empties what they held, in bytes too.
        for (int u = 0; u < 37; u++)
        {
            byCount.Invalidate($"user{u}");
            byBytes.Invalidate($"user{u}");
        }
        Assert.Equal((0, 0L), (byCount.Count, byCount.Bytes));
        Assert.Equal((0, 0L), (byBytes.Count, byBytes.Bytes));
    }

    [Fact]
    public void A_lookup_that_read_the_store_before_a_revocation_cannot_put_the_token_back()
    {
        DeviceTokenCache cache = new(maxEntries: 10, maxBytes: 1 << 20);
        // A login takes the epoch and reads the store (the token is still there)...
        long epoch = cache.Epoch;
        // ...meanwhile the token is revoked: the store deletes it, then the cache is invalidated...
        cache.Invalidate("alice");
        // ...and the login's insert arrives late: dropped.
        cache.Put(Hash(1), Device("alice", 1), epoch);
        Assert.Null(cache.TryGet(Hash(1)));
        Assert.Equal(0, cache.Count);
        // A lookup started after the revocation caches as usual.
        cache.Put(Hash(2), Device("alice", 2), cache.Epoch);
        Assert.NotNull(cache.TryGet(Hash(2)));
    }
}

/// <summary>On a shared store (several nodes) there is no cache: a revocation on one node holds on every node at once.</summary>
[Collection(ClusterEnginesCollection.Name)]
public sealed class DeviceTokenCacheClusterTests(ClusterEngines engines)
{
    [EnginesFact]
    public async Task A_token_revoked_on_one_node_is_refused_at_once_by_the_other()
    {
        (TestServer one, TestServer two) = await TwoNodeTests.StartPairAsync(engines);
        await using (one)
        await using (two)
        {
            Assert.Null(one.Server.Tokens.Cache);
            Assert.Null(two.Server.Tokens.Cache);
            ChatClient first = await ChatClient.ConnectAsync("127.0.0.1", one.Port, one.ClientOptions).WithTimeout();
            LoginResult device = await first.LoginAsync("alice", "correct horse", null).WithTimeout();
            await first.DisposeAsync();
            Assert.True(device.Success, device.Error);

            ChatClient onTwo = await ChatClient.ConnectAsync("127.0.0.1", two.Port, two.ClientOptions).WithTimeout();
            Assert.True((await onTwo.LoginAsync("alice", null, device.DeviceToken).WithTimeout()).Success);
            await onTwo.DisposeAsync();

            await using (ChatClient revoker = await one.LoginAsync("alice"))
            {
                await revoker.RevokeDeviceAsync(device.DeviceId!).WithTimeout();
            }
            ChatClient again = await ChatClient.ConnectAsync("127.0.0.1", two.Port, two.ClientOptions).WithTimeout();
            LoginResult refused = await again.LoginAsync("alice", null, device.DeviceToken).WithTimeout();
            await again.DisposeAsync();
            Assert.False(refused.Success);
            Assert.Equal(AccountService.InvalidToken, refused.Error);
        }
    }
}
