// The presence registry in Redis: which node holds how many devices of each user. Each change is
// one Lua script (atomic in Redis) that writes the node's absolute count for the user, so writing
// it again after Redis lost everything is harmless. A node's entry lives NodeLifetime after its
// last heartbeat, measured on Redis's clock (TIME inside the scripts), so nodes' clocks may differ.
using Microsoft.Extensions.Logging;
using Parley.Server.Delivery;
using StackExchange.Redis;

namespace Parley.Server.Cluster;

public sealed partial class RedisCluster
{
    /// <summary>KEYS: user hash, online set, node's user set. ARGV: node, user, devices here. Returns devices online anywhere.</summary>
    private const string SetHereScript = """
        local n = tonumber(ARGV[3])
        if n > 0 then
          redis.call('HSET', KEYS[1], ARGV[1], n)
          redis.call('ZADD', KEYS[2], 0, ARGV[2])
          redis.call('SADD', KEYS[3], ARGV[2])
        else
          redis.call('HDEL', KEYS[1], ARGV[1])
          redis.call('SREM', KEYS[3], ARGV[2])
          if redis.call('HLEN', KEYS[1]) == 0 then
            redis.call('ZREM', KEYS[2], ARGV[2])
            return 0
          end
        end
        local total = 0
        for _, v in ipairs(redis.call('HVALS', KEYS[1])) do total = total + tonumber(v) end
        return total
        """;

    /// <summary>KEYS: nodes set, versions hash. ARGV: node, lifetime ms, store layout. Returns {1 if the entry was new, dead node ids...}.</summary>
    private const string HeartbeatScript = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local added = redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
        redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
        local result = { added }
        for _, node in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. now)) do table.insert(result, node) end
        return result
        """;

    /// <summary>KEYS: dead node's user set, online set, nodes set, versions hash. ARGV: dead node, prefix. Returns the users now online nowhere.</summary>
    private const string RemoveDeadNodeScript = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local expires = redis.call('ZSCORE', KEYS[3], ARGV[1])
        if not expires or tonumber(expires) >= now then return {} end
        local gone = {}
        for _, user in ipairs(redis.call('SMEMBERS', KEYS[1])) do
          local key = ARGV[2] .. ':u:' .. user
          redis.call('HDEL', key, ARGV[1])
          if redis.call('HLEN', key) == 0 then
            redis.call('ZREM', KEYS[2], user)
            table.insert(gone, user)
          end
        end
        redis.call('DEL', KEYS[1])
        redis.call('ZREM', KEYS[3], ARGV[1])
        redis.call('HDEL', KEYS[4], ARGV[1])
        return gone
        """;

    /// <summary>Redis's clock in microseconds: one clock for every node's logins, whatever their own clocks say.</summary>
    private const string BusTimeScript = """
        local t = redis.call('TIME')
        return tonumber(t[1]) * 1000000 + tonumber(t[2])
        """;

    private bool _joined;

    /// <summary>Writes this node's device count for <paramref name="user"/>; returns it and the count cluster-wide.</summary>
    private async Task<(int Here, long Total)> SetHereAsync(string user)
    {
        int here;
        Task<RedisResult> written;
        // Read and sent under one lock per user (stripe): the writes for a user reach Redis in the order the counts were read.
        lock (_userStripes[(StringComparer.Ordinal.GetHashCode(user) & int.MaxValue) % _userStripes.Length])
        {
            here = _presence.DevicesHere(user);
            written = _db.ScriptEvaluateAsync(SetHereScript, [UserKey(user), OnlineKey, NodeUsersKey(NodeId)], [NodeId, user, here]);
        }
        RedisResult total = await written.ConfigureAwait(false);
        return (here, (long)total);
    }

    public async Task DeviceOnlineAsync(ClientConnection connection, bool firstHere)
    {
        try
        {
            // Ordered on Redis's clock, not this node's: with clocks seconds apart, "the older connection
            // goes" compared each node's own, and a later login closed neither (one device on two nodes).
            // Taken first, so once the cluster lists the user here, the login's place is known.
            long order = (long)await _db.ScriptEvaluateAsync(BusTimeScript).ConfigureAwait(false);
            connection.BusLoginOrder = order;
            (int here, long total) = await SetHereAsync(connection.User).ConfigureAwait(false);
            if (firstHere && total == here)
            {
                await PublishAsync($"presence|{connection.User}|1").ConfigureAwait(false);
            }
            await PublishAsync($"login|{connection.User}|{connection.DeviceId}|{order}|{NodeId}").ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException or ObjectDisposedException)
        {
            // The heartbeat writes every entry again once Redis answers.
            _catchUpNeeded = true;
            _logger.LogWarning("Could not record a login on the bus: {Error}", e.Message);
        }
    }

    public void DeviceOffline(ClientConnection connection, bool lastHere) => _ = DeviceOfflineAsync(connection.User, lastHere);

    private async Task DeviceOfflineAsync(string user, bool lastHere)
    {
        try
        {
            (_, long total) = await SetHereAsync(user).ConfigureAwait(false);
            if (lastHere && total == 0)
            {
                await PublishAsync($"presence|{user}|0").ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is RedisException or TimeoutException or ObjectDisposedException)
        {
            _catchUpNeeded = true;
            _logger.LogWarning("Could not record a logout on the bus: {Error}", e.Message);
        }
    }

    /// <summary>
    /// Refreshes this node's entry. When the entry had vanished (Redis restarted empty, or this
    /// node was taken for dead), writes every local user again and has every node read its
    /// connections' inboxes back; removes the nodes found dead.
    /// </summary>
    private async Task BeatAsync()
    {
        RedisResult[] result = (RedisResult[])(await _db.ScriptEvaluateAsync(HeartbeatScript, [NodesKey, VersionsKey],
            [NodeId, (long)NodeLifetime.TotalMilliseconds, Storage.StoreLayout.Version]).ConfigureAwait(false))!;
        bool lost = (long)result[0] == 1 && _joined;
        _joined = true;
        if (lost)
        {
            _logger.LogWarning("The bus had lost this node's presence entries (Redis restarted?); writing them again");
        }
        if (lost || _catchUpNeeded || _redisWasDown)
        {
            // Whatever a failed write left (Redis away, or refusing writes while keeping its data): a
            // login here nobody elsewhere knows of, a logout that left a user online for ever.
            await RewritePresenceAsync().ConfigureAwait(false);
            _catchUpNeeded = false;
            _redisWasDown = false;
            // Every node (this one too: it hears its own event) reads its connections' inboxes back.
            await _db.PublishAsync(EventsChannel, "catchup").ConfigureAwait(false);
        }
        foreach (RedisResult dead in result.Skip(1))
        {
            string node = (string)dead!;
            RedisResult[] gone = (RedisResult[])(await _db.ScriptEvaluateAsync(RemoveDeadNodeScript, [NodeUsersKey(node), OnlineKey, NodesKey, VersionsKey],
                [node, _prefix]).ConfigureAwait(false))!;
            if (gone.Length > 0)
            {
                _logger.LogInformation("Node {Node} stopped answering; {Count} of its users are now offline", node, gone.Length);
            }
            foreach (RedisResult user in gone)
            {
                await PublishAsync($"presence|{(string)user!}|0").ConfigureAwait(false);
            }
        }
        await SayOtherLayoutsAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// This node's entries written again from its connections: each user here with its count, and each
    /// user the bus still lists on this node but who has no connection here any more taken out.
    /// </summary>
    private async Task RewritePresenceAsync()
    {
        HashSet<string> here = [.. _presence.Connections().Select(c => c.User)];
        foreach (string user in here)
        {
            await SetHereAsync(user).ConfigureAwait(false);
        }
        foreach (RedisValue listed in await _db.SetMembersAsync(NodeUsersKey(NodeId)).ConfigureAwait(false))
        {
            string user = listed.ToString();
            if (here.Contains(user))
            {
                continue;
            }
            (_, long total) = await SetHereAsync(user).ConfigureAwait(false);
            if (total == 0)
            {
                await PublishAsync($"presence|{user}|0").ConfigureAwait(false);
            }
        }
    }

    public async Task<(string[] Users, bool More)> OnlineUsersAfterAsync(string? after, int max)
    {
        try
        {
            RedisValue[] page = await _db.SortedSetRangeByValueAsync(OnlineKey, after is null ? default(RedisValue) : after, default,
                after is null ? Exclude.None : Exclude.Start, Order.Ascending, 0, max + 1).ConfigureAwait(false);
            string[] users = [.. page.Take(max).Select(v => v.ToString())];
            return (users, page.Length > max);
        }
        catch (Exception e) when (e is RedisException or TimeoutException or ObjectDisposedException)
        {
            _logger.LogWarning("The bus did not answer a list; answering with this node's users: {Error}", e.Message);
            return _presence.OnlineUsersAfter(after, max);
        }
    }

    public async Task<(string[]? Users, long Count)> OnlineUsersAsync(int max)
    {
        try
        {
            long count = await _db.SortedSetLengthAsync(OnlineKey).ConfigureAwait(false);
            if (count > max)
            {
                return (null, count);
            }
            RedisValue[] all = await _db.SortedSetRangeByRankAsync(OnlineKey, 0, max).ConfigureAwait(false);
            return ([.. all.Select(v => v.ToString())], all.Length);
        }
        catch (Exception e) when (e is RedisException or TimeoutException or ObjectDisposedException)
        {
            _logger.LogWarning("The bus did not answer who is online; answering with this node's users: {Error}", e.Message);
            string[] here = _presence.OnlineUsers();
            return here.Length > max ? (null, here.Length) : (here, here.Length);
        }
    }

    public async Task<string[]> OnlineOfAsync(IReadOnlyCollection<string> users)
    {
        if (users.Count == 0)
        {
            return [];
        }
        string[] names = [.. users];
        try
        {
            double?[] scores = await _db.SortedSetScoresAsync(OnlineKey, [.. names.Select(n => (RedisValue)n)]).ConfigureAwait(false);
            return [.. names.Where((_, i) => scores[i] is not null)];
        }
        catch (Exception e) when (e is RedisException or TimeoutException or ObjectDisposedException)
        {
            return [.. names.Where(_presence.IsOnline)];
        }
    }
}
