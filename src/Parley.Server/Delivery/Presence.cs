// Who is online, per device: a user may be online on several devices at once (a phone and a
// laptop), each with its own connection, inbox cursor and acknowledgements. A new login of the
// same device replaces its old connection; another device's login does not.
// In a cluster (Cluster != null) this stays the registry of this node's connections, and the
// directory answers for the whole cluster: list, broadcast recipients, watched users, and the
// join and leave notices, which every node then passes to its own watchers (AnnounceHere).
using System.Collections.Concurrent;
using Parley.Server.Storage;

namespace Parley.Server.Delivery;

public sealed class Presence : IMessageFanOut
{
    private readonly ConcurrentDictionary<string, OnlineUser> _online = new(StringComparer.Ordinal);

    // The same users, sorted, for `list`: changed under the user's lock when its first device
    // arrives and when its last one leaves.
    private readonly SortedNames _sorted = new();

    /// <summary>The connections of one user; removed from the map once empty, and then never reused.</summary>
    private sealed class OnlineUser
    {
        public readonly List<ClientConnection> Devices = new(1);
        public bool Removed;
    }

    /// <summary>Users online here (each counted once, however many devices).</summary>
    public int Count => _online.Count;

    /// <summary>The other nodes of the cluster; null on a single node.</summary>
    public IClusterDirectory? Cluster { get; internal set; }

    /// <summary>Registers <paramref name="connection"/>; returns the connection of the same device it replaced, if any.</summary>
    public ClientConnection? Register(ClientConnection connection) => Register(connection, out _);

    /// <summary>As <see cref="Register(ClientConnection)"/>; <paramref name="firstHere"/> tells whether it is the user's first device on this node.</summary>
    public ClientConnection? Register(ClientConnection connection, out bool firstHere)
    {
        while (true)
        {
            OnlineUser user = _online.GetOrAdd(connection.User, static _ => new OnlineUser());
            ClientConnection? previous = null;
            bool cameOnline = false;
            lock (user)
            {
                if (user.Removed)
                {
                    continue;
                }
                int same = user.Devices.FindIndex(c => c.DeviceId == connection.DeviceId);
                if (same < 0)
                {
                    cameOnline = user.Devices.Count == 0;
                    user.Devices.Add(connection);
                    if (cameOnline)
                    {
                        _sorted.Add(connection.User);
                    }
                }
                else
                {
                    previous = user.Devices[same];
                    user.Devices[same] = connection;
                }
            }
            // Outside the user's lock: a notice goes to other connections' outboxes.
            if (cameOnline && Cluster is null)
            {
                _watchers.Announce(connection.User, online: true);
            }
            firstHere = cameOnline;
            return previous;
        }
    }

    public void Unregister(ClientConnection connection)
    {
        _watchers.Forget(connection);
        if (!_online.TryGetValue(connection.User, out OnlineUser? user))
        {
            return;
        }
        bool wentOffline = false;
        bool removed;
        lock (user)
        {
            removed = user.Devices.Remove(connection);
            if (user.Devices.Count == 0 && !user.Removed)
            {
                user.Removed = true;
                // Before the entry goes: a login that follows makes a new entry only after it, so its
                // name is added after this removal, never before it.
                _sorted.Remove(connection.User);
                wentOffline = _online.TryRemove(new KeyValuePair<string, OnlineUser>(connection.User, user));
            }
        }
        if (removed && Cluster is { } cluster)
        {
            cluster.DeviceOffline(connection, wentOffline);
        }
        else if (wentOffline)
        {
            _watchers.Announce(connection.User, online: false);
        }
    }

    /// <summary>A join or leave notice decided by the cluster, for the watchers on this node.</summary>
    internal void AnnounceHere(string user, bool online) => _watchers.Announce(user, online);

    /// <summary>Replaces the users <paramref name="connection"/> hears about; returns those of them online in the cluster now, sorted.</summary>
    public async Task<string[]> WatchAsync(ClientConnection connection, IReadOnlyCollection<string> users)
    {
        if (Cluster is not { } cluster)
        {
            return Watch(connection, users);
        }
        _watchers.Watch(connection, users);
        string[] online = await cluster.OnlineOfAsync([.. users.Distinct(StringComparer.Ordinal)]).ConfigureAwait(false);
        Array.Sort(online, StringComparer.Ordinal);
        return online;
    }

    /// <summary>One page of a <c>list</c> reply: this node's users, or the cluster's.</summary>
    public Task<(string[] Users, bool More)> ListAsync(string? after, int max) =>
        Cluster is { } cluster ? cluster.OnlineUsersAfterAsync(after, max) : Task.FromResult(OnlineUsersAfter(after, max));

    /// <summary>Everyone online (this node's users, or the cluster's) but <paramref name="except"/>, or null when more than <paramref name="max"/> others are; with their count.</summary>
    public async Task<(string[]? Users, long Others)> BroadcastRecipientsAsync(string except, int max)
    {
        if (Cluster is { } cluster)
        {
            (string[]? all, long count) = await cluster.OnlineUsersAsync(max + 1).ConfigureAwait(false);
            string[]? others = all?.Where(u => u != except).ToArray();
            return others is null || others.Length > max ? (null, Math.Max(count - 1, others?.Length ?? 0)) : (others, others.Length);
        }
        // Counted before the names are copied and sorted: refusing costs nothing per user online.
        int othersHere = Count - 1;
        if (othersHere > max)
        {
            return (null, othersHere);
        }
        string[] recipients = [.. OnlineUsers().Where(u => u != except)];
        return recipients.Length > max ? (null, recipients.Length) : (recipients, recipients.Length);
    }

    /// <summary>
    /// Tells every connection here that may take <paramref name="message"/> to read its inbox back
    /// from the store (cluster mode: ids from several nodes must reach a connection in order, and the
    /// store is the one place where they are). True when one did.
    /// </summary>
    public bool Poke(string recipient, string recipientDevice)
    {
        if (!_online.TryGetValue(recipient, out OnlineUser? user))
        {
            return false;
        }
        bool poked = false;
        lock (user)
        {
            foreach (ClientConnection connection in user.Devices)
            {
                if (recipientDevice.Length == 0 || recipientDevice == connection.DeviceId)
                {
                    connection.Poke();
                    poked = true;
                }
            }
        }
        return poked;
    }

    private readonly PresenceWatchers _watchers = new();

    /// <summary>Replaces the users <paramref name="connection"/> hears about; returns those of them online now, sorted.</summary>
    public string[] Watch(ClientConnection connection, IReadOnlyCollection<string> users)
    {
        _watchers.Watch(connection, users);
        string[] online = [.. users.Where(IsOnline).Distinct(StringComparer.Ordinal)];
        Array.Sort(online, StringComparer.Ordinal);
        return online;
    }

    /// <summary>The connection of <paramref name="user"/>'s device <paramref name="deviceId"/>, if it is online here.</summary>
    public bool TryGetDevice(string user, string deviceId, out ClientConnection connection)
    {
        connection = null!;
        if (!_online.TryGetValue(user, out OnlineUser? online))
        {
            return false;
        }
        lock (online)
        {
            // A loop, not Find with a lambda: that lambda's closure over deviceId was allocated at every call.
            foreach (ClientConnection device in online.Devices)
            {
                if (device.DeviceId == deviceId)
                {
                    connection = device;
                    return true;
                }
            }
            return false;
        }
    }

    /// <summary>One of <paramref name="user"/>'s connections here (the first to log in), if any.</summary>
    public bool TryGet(string user, out ClientConnection connection)
    {
        connection = null!;
        if (!_online.TryGetValue(user, out OnlineUser? online))
        {
            return false;
        }
        lock (online)
        {
            if (online.Devices.Count == 0)
            {
                return false;
            }
            connection = online.Devices[0];
            return true;
        }
    }

    public bool IsOnline(string user) => _online.ContainsKey(user);

    /// <summary>How many devices of <paramref name="user"/> are connected to this node.</summary>
    public int DevicesHere(string user)
    {
        if (!_online.TryGetValue(user, out OnlineUser? online))
        {
            return 0;
        }
        lock (online)
        {
            return online.Devices.Count;
        }
    }

    /// <summary>Everyone online here, sorted.</summary>
    public string[] OnlineUsers() => _sorted.All();

    /// <summary>
    /// Up to <paramref name="max"/> online users sorted after <paramref name="after"/> (all when null),
    /// and whether more follow: one page of a <c>list</c> reply, bounded whatever the number online.
    /// </summary>
    public (string[] Users, bool More) OnlineUsersAfter(string? after, int max) => _sorted.After(after, max);

    /// <summary>
    /// Hands a committed message to every connection here that may take it: all of the recipient's
    /// devices for a message to the account, the one device it names otherwise.
    /// </summary>
    public bool TryDeliver(StoredMessage message)
    {
        if (!_online.TryGetValue(message.Recipient, out OnlineUser? user))
        {
            return false;
        }
        bool delivered = false;
        lock (user)
        {
            foreach (ClientConnection connection in user.Devices)
            {
                if (message.RecipientDevice.Length == 0 || message.RecipientDevice == connection.DeviceId)
                {
                    connection.Deliver(message);
                    delivered = true;
                }
            }
        }
        return delivered;
    }

    public ClientConnection[] Connections()
    {
        List<ClientConnection> all = new(_online.Count);
        foreach (OnlineUser user in _online.Values)
        {
            lock (user)
            {
                all.AddRange(user.Devices);
            }
        }
        return [.. all];
    }
}
