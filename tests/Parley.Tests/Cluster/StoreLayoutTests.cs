using Microsoft.Extensions.Logging.Abstractions;
using Parley.Server.Cluster;
using Parley.Server.Hosting;
using Parley.Tests.Support;
using StackExchange.Redis;

namespace Parley.Tests.Cluster;

/// <summary>
/// Nodes of two store layouts never run together on one store (decision 0036): a node will not
/// start beside a live node of another layout (or of a version from before layouts were
/// recorded), waits out the entry of a node just stopped, and a running node says in its log,
/// once, that such a node has joined.
/// </summary>
[Collection(ClusterEnginesCollection.Name)]
public sealed class StoreLayoutTests(ClusterEngines engines)
{
    /// <summary>An entry in the cluster's node set as an older node writes it (no layout beside it), living <paramref name="lifetime"/> on Redis's clock.</summary>
    private static async Task FakeNodeAsync(IDatabase redis, string prefix, string node, TimeSpan lifetime, int? layout = null)
    {
        await redis.ScriptEvaluateAsync("""
            local t = redis.call('TIME')
            redis.call('ZADD', KEYS[1], tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[2]), ARGV[1])
            """, [(RedisKey)$"{prefix}:nodes"], [node, (long)lifetime.TotalMilliseconds]);
        if (layout is int l)
        {
            await redis.HashSetAsync($"{prefix}:versions", node, l);
        }
    }

    private static string PrefixOf(string bus) => bus[(bus.IndexOf("prefix=", StringComparison.Ordinal) + "prefix=".Length)..];

    [EnginesFact]
    public async Task A_node_does_not_start_beside_a_live_node_of_another_layout_and_a_running_one_says_so()
    {
        string store = engines.StoreUrl(await engines.NewDatabaseAsync());
        string bus = engines.NewBusUrl();
        string prefix = PrefixOf(bus);
        await using ConnectionMultiplexer redis = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{engines.RedisPort}");
        IDatabase db = redis.GetDatabase();
        await using TestServer one = await TestServer.StartAsync(o => o with { Store = store, Bus = bus });
        one.ExpectErrorsContaining = "runs beside this node with another store layout";

        // An older node (from before layouts were recorded), alive: it keeps refreshing its entry.
        await FakeNodeAsync(db, prefix, "0ld0000000000000", TimeSpan.FromMinutes(1));
        using TempDirectory data = new();
        ClusterVersionException refused = await Assert.ThrowsAsync<ClusterVersionException>(() => ParleyServer.StartAsync(new ServerOptions
        {
            Port = 0,
            Host = "127.0.0.1",
            DataDirectory = Path.Combine(data.Path, "data"),
            Store = store,
            Bus = bus,
            ClusterStartPatience = TimeSpan.FromSeconds(1),
        }, NullLoggerFactory.Instance));
        Assert.Contains("node 0ld0000000000000 (store layout from before layouts were recorded)", refused.Message);
        Assert.Contains("Stop every node, then start this version", refused.Message);
        // Nothing of the refused node was made: its data directory was not even created.
        Assert.False(Directory.Exists(Path.Combine(data.Path, "data")));

        // The running node saw it at a heartbeat, and says so once however many heartbeats pass.
        await TestTimeouts.UntilAsync(() => one.Log.Contains("node 0ld0000000000000 (store layout from before layouts were recorded) runs beside this node", StringComparison.Ordinal));
        long beats = await db.SortedSetScoreAsync($"{prefix}:nodes", one.Server.NodeId!) is double first ? (long)first : 0;
        await TestTimeouts.UntilAsync(async () => await db.SortedSetScoreAsync($"{prefix}:nodes", one.Server.NodeId!) is double s && (long)s > beats);
        Assert.Single(one.Log.Split('\n'), line => line.Contains("0ld0000000000000 (store layout from before layouts were recorded) runs beside", StringComparison.Ordinal));

        // A node of the same layout is welcome; the older one gone, the next node starts.
        await db.SortedSetRemoveAsync($"{prefix}:nodes", "0ld0000000000000");
        await using TestServer two = await TestServer.StartAsync(o => o with { Store = store, Bus = bus });
        Assert.Equal(Parley.Server.Storage.StoreLayout.Version.ToString(), (string?)await db.HashGetAsync($"{prefix}:versions", two.Server.NodeId!));
    }

    [EnginesFact]
    public async Task A_node_waits_out_the_entry_of_a_node_of_another_layout_just_stopped()
    {
        string store = engines.StoreUrl(await engines.NewDatabaseAsync());
        string bus = engines.NewBusUrl();
        await using ConnectionMultiplexer redis = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{engines.RedisPort}");
        // Stopped a moment ago: its entry expires in two seconds, and nobody refreshes it.
        await FakeNodeAsync(redis.GetDatabase(), PrefixOf(bus), "5t0pped000000000", TimeSpan.FromSeconds(2), layout: 1);
        await using TestServer node = await TestServer.StartAsync(o => o with { Store = store, Bus = bus });
        Assert.NotNull(node.Server.NodeId);
    }
}
