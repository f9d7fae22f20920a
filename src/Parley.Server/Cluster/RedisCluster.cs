// Several nodes on one Redis (issue 12; docs/decisions/0009): a presence registry and a bus.
// Redis holds nothing durable. The store (PostgreSQL) is the truth; the bus carries a committed
// message to the nodes that hold its recipient, which hand it to the connections as a local commit
// would. A connection that sees an id jump reads the gap back from the store first (another node's
// message may still be on its way), so ids reach each device in order. A message lost on the bus
// costs latency, never the message: when Redis comes back (or was restarted empty) every node
// writes its registry entries again and "pokes" all its connections, which read the store.
//
// Keys and channels, all under the cluster's prefix P:
//   P:nodes             sorted set: node id → when its entry expires (Redis's clock), refreshed each heartbeat
//   P:versions          hash: node id → the store layout it keeps (RedisCluster.Versions.cs), written with its entry
//   P:online            sorted set (score 0, so ordered by name): every user online on some node, for `list`
//   P:u:USER            hash: node id → devices of USER on that node
//   P:n:NODE:users      set: the users with devices on NODE, so a dead node's entries can be removed
//   P:node:NODE         channel: committed messages for NODE's connections (BusMessages)
//   P:events            channel: logins (an older connection of the device elsewhere closes), revocations,
//                       join and leave notices (§11.6), catch-up requests
// A node that misses HeartbeatsBeforeDead heartbeats is dead: the first live node to see it removes
// its entries in one script and announces its users who are now offline nowhere.
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Parley.Messaging;
using Parley.Server.Delivery;
using Parley.Server.Hosting;
using Parley.Server.Storage;
using StackExchange.Redis;

namespace Parley.Server.Cluster;

public sealed partial class RedisCluster : IMessageFanOut, IClusterDirectory, IAsyncDisposable
{
    /// <summary>How often a node refreshes its entry (and looks for dead nodes).</summary>
    public static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(2);

    /// <summary>A node whose entry is this old is dead: its users disappear from presence.</summary>
    public static readonly TimeSpan NodeLifetime = TimeSpan.FromSeconds(10);

    /// <summary>Routing lookups waiting for Redis before senders are answered without them (their messages are stored all the same).</summary>
    private const int MaxPendingRoutes = 64 * 1024;

    /// <summary>Routes looked up in one round trip to Redis.</summary>
    private const int MaxRouteBatch = 1024;

    private readonly ConnectionMultiplexer _redis;
    private readonly IDatabase _db;
    private readonly Presence _presence;
    private readonly ILogger _logger;
    private readonly string _prefix;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Channel<Route> _routes = Channel.CreateBounded<Route>(new BoundedChannelOptions(MaxPendingRoutes)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.DropWrite,
    });
    private readonly object[] _userStripes = [.. Enumerable.Range(0, 64).Select(_ => new object())];
    private Task _heartbeat = Task.CompletedTask;
    private Task _router = Task.CompletedTask;
    private volatile bool _catchUpNeeded;
    private volatile bool _redisWasDown;

    private RedisCluster(ConnectionMultiplexer redis, BusAddress address, Presence presence, ILogger logger)
    {
        _redis = redis;
        _db = redis.GetDatabase();
        _presence = presence;
        _logger = logger;
        _prefix = address.Prefix;
        Address = address.Describe();
    }

    /// <summary>This node's id in the cluster: random per process, so a restarted node never inherits a dead one's entries.</summary>
    public string NodeId { get; } = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));

    public string Address { get; }

    private RedisKey NodesKey => $"{_prefix}:nodes";
    private RedisKey OnlineKey => $"{_prefix}:online";
    private RedisKey UserKey(string user) => $"{_prefix}:u:{user}";
    private RedisKey NodeUsersKey(string node) => $"{_prefix}:n:{node}:users";
    private RedisChannel NodeChannel(string node) => RedisChannel.Literal($"{_prefix}:node:{node}");
    private RedisChannel EventsChannel => RedisChannel.Literal($"{_prefix}:events");

    /// <summary>Connects (or keeps trying in the background when Redis is away) and joins the cluster as a new node.</summary>
    public static async Task<RedisCluster> StartAsync(BusAddress address, Presence presence, ILogger logger)
    {
        ConnectionMultiplexer redis = await ConnectionMultiplexer.ConnectAsync(address.Options).ConfigureAwait(false);
        RedisCluster cluster = new(redis, address, presence, logger);
        redis.ConnectionFailed += (_, e) =>
        {
            cluster._redisWasDown = true;
            logger.LogWarning("Lost the bus ({Address}): {Failure}; messages are still stored and delivered on this node", cluster.Address, e.FailureType);
        };
        redis.ConnectionRestored += (_, _) =>
        {
            logger.LogInformation("The bus ({Address}) is back", cluster.Address);
            cluster._catchUpNeeded = true;
        };
        ISubscriber subscriber = redis.GetSubscriber();
        await subscriber.SubscribeAsync(cluster.NodeChannel(cluster.NodeId), (_, message) => cluster.OnNodeMessage(message)).ConfigureAwait(false);
        await subscriber.SubscribeAsync(cluster.EventsChannel, (_, message) => cluster.OnEvent(message)).ConfigureAwait(false);
        try
        {
            await cluster.BeatAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException or ObjectDisposedException)
        {
            logger.LogWarning("The bus ({Address}) is not reachable yet: {Error}", cluster.Address, e.Message);
        }
        presence.Cluster = cluster;
        cluster._heartbeat = Task.Run(cluster.HeartbeatLoopAsync);
        cluster._router = Task.Run(cluster.RouteLoopAsync);
        logger.LogInformation("Joined the cluster on {Address} as node {Node}", cluster.Address, cluster.NodeId);
        return cluster;
    }

    // ── Delivery: pokes ──

    public bool TryDeliver(StoredMessage message) => _presence.TryDeliver(message);

    /// <summary>Hands the message to the recipient's connections here, and through Redis to those on other nodes; true when it is online anywhere.</summary>
    public ValueTask<bool> DeliverAsync(StoredMessage message)
    {
        bool here = _presence.TryDeliver(message);
        Route route = new(message, here);
        if (!_routes.Writer.TryWrite(route))
        {
            // Too many waiting: the message is stored; the other nodes are told to read everything back.
            _catchUpNeeded = true;
            return ValueTask.FromResult(here);
        }
        return new ValueTask<bool>(route.Completion.Task);
    }

    private sealed record Route(StoredMessage Message, bool Here)
    {
        public TaskCompletionSource<bool> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private async Task RouteLoopAsync()
    {
        ChannelReader<Route> reader = _routes.Reader;
        List<Route> batch = [];
        try
        {
            while (await reader.WaitToReadAsync(_stopping.Token).ConfigureAwait(false))
            {
                batch.Clear();
                while (batch.Count < MaxRouteBatch && reader.TryRead(out Route? route))
                {
                    batch.Add(route);
                }
                await RouteBatchAsync(batch).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
        while (reader.TryRead(out Route? left))
        {
            left.Completion.TrySetResult(left.Here);
        }
    }

    /// <summary>
    /// One lookup per distinct recipient (pipelined), then the messages to each node that holds
    /// their recipients, in commit order. The lookup happens after the commit, and a login is
    /// recorded before its inbox is read, so either the lookup sees the new connection or its
    /// first read sees the message.
    /// </summary>
    private async Task RouteBatchAsync(List<Route> batch)
    {
        HashSet<string> elsewhere = new(StringComparer.Ordinal);
        try
        {
            string[] users = [.. batch.Select(r => r.Message.Recipient).Distinct(StringComparer.Ordinal)];
            Task<RedisValue[]>[] lookups = [.. users.Select(u => _db.HashKeysAsync(UserKey(u)))];
            await Task.WhenAll(lookups).ConfigureAwait(false);
            Dictionary<string, string[]> nodesOf = new(StringComparer.Ordinal);
            for (int i = 0; i < users.Length; i++)
            {
                nodesOf[users[i]] = [.. lookups[i].Result.Select(n => n.ToString()).Where(n => n != NodeId)];
                if (nodesOf[users[i]].Length > 0)
                {
                    elsewhere.Add(users[i]);
                }
            }
            Dictionary<string, List<StoredMessage>> perNode = new(StringComparer.Ordinal);
            foreach (Route route in batch)
            {
                foreach (string node in nodesOf[route.Message.Recipient])
                {
                    if (!perNode.TryGetValue(node, out List<StoredMessage>? messages))
                    {
                        perNode[node] = messages = [];
                    }
                    messages.Add(route.Message);
                }
            }
            List<Task> publishes = [];
            foreach ((string node, List<StoredMessage> messages) in perNode)
            {
                foreach (List<StoredMessage> chunk in Chunks(messages))
                {
                    publishes.Add(_db.PublishAsync(NodeChannel(node), BusMessages.Encode(chunk)));
                }
            }
            await Task.WhenAll(publishes).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException or ObjectDisposedException)
        {
            // Stored all the same; once the bus answers again every node reads its connections' inboxes back.
            _catchUpNeeded = true;
            _logger.LogWarning("Routing {Count} messages through the bus failed: {Error}", batch.Count, e.Message);
        }
        foreach (Route route in batch)
        {
            route.Completion.TrySetResult(route.Here || elsewhere.Contains(route.Message.Recipient));
        }
    }

    /// <summary>Payloads of at most <see cref="BusMessages.MaxPayloadBodyBytes"/> of bodies (one message each at least), in order.</summary>
    private static IEnumerable<List<StoredMessage>> Chunks(List<StoredMessage> messages)
    {
        List<StoredMessage> chunk = [];
        long bytes = 0;
        foreach (StoredMessage message in messages)
        {
            if (chunk.Count > 0 && bytes + message.Body.Length > BusMessages.MaxPayloadBodyBytes)
            {
                yield return chunk;
                chunk = [];
                bytes = 0;
            }
            chunk.Add(message);
            bytes += message.Body.Length;
        }
        if (chunk.Count > 0)
        {
            yield return chunk;
        }
    }

    private void OnNodeMessage(RedisValue payload)
    {
        if (!BusMessages.TryDecode((byte[])payload!, out List<StoredMessage> messages))
        {
            _logger.LogWarning("Dropped a bus payload that does not parse; its messages are read from the store at the next catch-up");
            _catchUpNeeded = true;
            return;
        }
        foreach (StoredMessage message in messages)
        {
            _presence.TryDeliver(message);
        }
    }

    /// <summary>
    /// Every connection here reads its inbox back: after the bus was away, a poke may have been lost.
    /// So may a revocation: each account's devices here are checked against the store, and a device
    /// whose token is gone is closed as revoked (else a stolen device on this node would go on
    /// reading the account's messages after its owner revoked it on another).
    /// </summary>
    private void CatchUpAll()
    {
        foreach (ClientConnection connection in _presence.Connections())
        {
            connection.Poke();
        }
        // One check at a time: a bus that comes and goes asks for catch-ups every heartbeat, and each
        // check costs a store query per account here. Those asked for meanwhile make one more after it.
        Volatile.Write(ref _revocationCheckAgain, true);
        if (Interlocked.Exchange(ref _revocationCheck, 1) == 0)
        {
            _ = CloseRevokedAsync();
        }
    }

    private int _revocationCheck;
    private bool _revocationCheckAgain;

    private async Task CloseRevokedAsync()
    {
        while (Interlocked.Exchange(ref _revocationCheckAgain, false))
        {
            await CloseRevokedOnceAsync([.. _presence.Connections()]).ConfigureAwait(false);
        }
        Volatile.Write(ref _revocationCheck, 0);
        // Asked for between the last look and the release: that caller saw the check running and left it to us.
        if (Volatile.Read(ref _revocationCheckAgain) && Interlocked.Exchange(ref _revocationCheck, 1) == 0)
        {
            await CloseRevokedAsync().ConfigureAwait(false);
        }
    }

    private async Task CloseRevokedOnceAsync(ClientConnection[] connections)
    {
        try
        {
            foreach (IGrouping<string, ClientConnection> account in connections.GroupBy(c => c.User, StringComparer.Ordinal))
            {
                HashSet<string> held = await account.First().HeldDeviceIdsAsync(_stopping.Token).ConfigureAwait(false);
                foreach (ClientConnection connection in account.Where(c => !held.Contains(c.DeviceId)))
                {
                    connection.CloseRevoked();
                }
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Whatever the store says, this background check must not end unobserved: it tries again,
            // once per RevocationCheckRetry while the store fails (not a catch-up of the whole cluster).
            _logger.LogWarning("Could not check this node's devices against the store after the bus was away: {Error}", e.Message);
            Volatile.Write(ref _revocationCheckAgain, true);
            try
            {
                await Task.Delay(RevocationCheckRetry, _stopping.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                Volatile.Write(ref _revocationCheckAgain, false);
            }
        }
    }

    /// <summary>How long a failed check of this node's devices against the store waits before it tries again.</summary>
    private static readonly TimeSpan RevocationCheckRetry = TimeSpan.FromSeconds(10);

    // ── Events: logins elsewhere, revocations, join and leave notices ──

    private void OnEvent(RedisValue message)
    {
        string[] parts = message.ToString().Split('|');
        switch (parts)
        {
            case ["login", string user, string device, string at, string node] when node != NodeId && long.TryParse(at, out long loggedInAt):
                // Of two connections of one device, the older on Redis's clock goes (ties: the lower node id),
                // whichever node hears first. One whose order is not known yet (its login is still being
                // recorded, or Redis was away then) counts as older.
                if (_presence.TryGetDevice(user, device, out ClientConnection here) &&
                    (here.BusLoginOrder, NodeId).CompareTo((loggedInAt, node)) < 0)
                {
                    here.Close(ErrorCodes.LoggedInElsewhere, ConnectionHandler.LoggedInElsewhereText);
                }
                break;
            case ["revoke", string user, string device]:
                if (_presence.TryGetDevice(user, device, out ClientConnection revoked))
                {
                    revoked.Close(ErrorCodes.DeviceRevoked, ClientConnection.RevokedText);
                }
                break;
            case ["presence", string user, "1" or "0"]:
                _presence.AnnounceHere(user, parts[2] == "1");
                break;
            case ["catchup"]:
                CatchUpAll();
                break;
        }
    }

    public void DeviceRevoked(string user, string deviceId) => Publish($"revoke|{user}|{deviceId}");

    private void Publish(string text)
    {
        _ = PublishAsync(text);
    }

    private async Task PublishAsync(string text)
    {
        try
        {
            await _db.PublishAsync(EventsChannel, text).ConfigureAwait(false);
        }
        catch (ObjectDisposedException) when (_stopping.IsCancellationRequested)
        {
            // The node has stopped, and its bus with it: an event of its last connections closing is dropped, as stopping drops it anyway.
        }
        catch (Exception e) when (e is RedisException or TimeoutException or ObjectDisposedException)
        {
            // Lost, as a revocation or a notice may be: once the bus answers, every node catches up
            // (reads inboxes back, checks its devices against the store).
            _catchUpNeeded = true;
            _logger.LogWarning("An event could not be sent on the bus: {Error}", e.Message);
        }
    }

    // ── Heartbeat ──

    private async Task HeartbeatLoopAsync()
    {
        using PeriodicTimer timer = new(HeartbeatInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token).ConfigureAwait(false))
            {
                try
                {
                    await BeatAsync().ConfigureAwait(false);
                }
                catch (Exception e) when (e is RedisException or TimeoutException or ObjectDisposedException)
                {
                    _redisWasDown = true;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stopping.Cancel();
        _routes.Writer.TryComplete();
        await _heartbeat.ConfigureAwait(false);
        await _router.ConfigureAwait(false);
        try
        {
            // Its connections have ended, each taking its entry out; one whose write failed is taken
            // out here (else its user would stay listed online for ever). The node's own entry goes last.
            await RewritePresenceAsync().ConfigureAwait(false);
            await Task.WhenAll(_db.SortedSetRemoveAsync(NodesKey, NodeId), _db.KeyDeleteAsync(NodeUsersKey(NodeId)), _db.HashDeleteAsync(VersionsKey, NodeId)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException or ObjectDisposedException)
        {
            // Its entry expires by itself.
        }
        await _redis.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }
}
