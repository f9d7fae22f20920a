// Each node writes its store layout (StoreLayout.Version) beside its entry at every heartbeat, and
// a node about to open a shared store first looks for live nodes of another layout: one that is
// still there once the entries of nodes just stopped have had time to expire refuses the start.
// A node that started before this check (no number on the bus) counts as another layout, and a
// running node says so in its log, once per node, should one join later.
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Parley.Server.Cluster;

public sealed partial class RedisCluster
{
    /// <summary>KEYS: nodes set, versions hash. ARGV: this layout. Returns "node=layout" ("none" when missing) for each live node of another layout.</summary>
    private const string OtherLayoutsScript = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local other = {}
        for _, node in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf')) do
          local v = redis.call('HGET', KEYS[2], node)
          if v ~= ARGV[1] then table.insert(other, node .. '=' .. (v or 'none')) end
        end
        return other
        """;

    private readonly HashSet<string> _otherLayoutsSaid = new(StringComparer.Ordinal);

    private RedisKey VersionsKey => $"{_prefix}:versions";

    private static RedisKey VersionsKeyOf(string prefix) => $"{prefix}:versions";

    /// <summary>
    /// Before this node opens the shared store: waits up to <paramref name="patience"/> (a stopped
    /// node's entry lives <see cref="NodeLifetime"/>) for live nodes of another store layout to go,
    /// then throws <see cref="ClusterVersionException"/> naming them. A bus that cannot be reached
    /// now is not a reason to refuse (the node starts without it, as it always could); the running
    /// check logs what it finds later.
    /// </summary>
    public static async Task EnsureNoOtherLayoutAsync(BusAddress address, int layout, TimeSpan patience, ILogger logger, CancellationToken cancellationToken)
    {
        ConnectionMultiplexer redis;
        try
        {
            redis = await ConnectionMultiplexer.ConnectAsync(address.Options).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            logger.LogWarning("Could not look for nodes of another store layout on {Address}: {Error}", address.Describe(), e.Message);
            return;
        }
        await using (redis.ConfigureAwait(false))
        {
            IDatabase db = redis.GetDatabase();
            DateTime giveUp = DateTime.UtcNow + patience;
            while (true)
            {
                string[] others;
                try
                {
                    others = [.. ((RedisResult[])(await db.ScriptEvaluateAsync(OtherLayoutsScript,
                        [(RedisKey)$"{address.Prefix}:nodes", VersionsKeyOf(address.Prefix)], [layout]).ConfigureAwait(false))!).Select(r => (string)r!)];
                }
                catch (Exception e) when (e is RedisException or TimeoutException)
                {
                    logger.LogWarning("Could not look for nodes of another store layout on {Address}: {Error}", address.Describe(), e.Message);
                    return;
                }
                if (others.Length == 0)
                {
                    return;
                }
                if (DateTime.UtcNow >= giveUp)
                {
                    throw new ClusterVersionException(
                        $"{Describe(others)} of this cluster ({address.Describe()}) keeps the shared store under another layout than this version's ({layout}). " +
                        "Nodes of two layouts must not run together: the store would drift for good. Stop every node, then start this version " +
                        "(docs/decisions/0036).");
                }
                await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>At each heartbeat: a live node of another layout (one joined after this one started) is said in the log, once.</summary>
    private async Task SayOtherLayoutsAsync()
    {
        RedisResult[] others = (RedisResult[])(await _db.ScriptEvaluateAsync(OtherLayoutsScript, [NodesKey, VersionsKey],
            [Storage.StoreLayout.Version]).ConfigureAwait(false))!;
        foreach (string other in others.Select(r => (string)r!))
        {
            string node = other[..other.IndexOf('=', StringComparison.Ordinal)];
            // A node that has just joined writes its number with its first heartbeat, in the same script as its entry.
            if (node != NodeId && _otherLayoutsSaid.Add(node))
            {
                _logger.LogError("{Node} runs beside this node with another store layout (this one: {Layout}); the shared store drifts while it runs: stop it (docs/decisions/0036)",
                    Describe([other]), Storage.StoreLayout.Version);
            }
        }
    }

    private static string Describe(IEnumerable<string> others) =>
        string.Join(", ", others.Select(o =>
        {
            int at = o.IndexOf('=', StringComparison.Ordinal);
            string layout = o[(at + 1)..];
            return $"node {o[..at]} (store layout {(layout == "none" ? "from before layouts were recorded" : layout)})";
        }));
}
