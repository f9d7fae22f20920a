// Who wants to hear when a user comes online or goes offline (PROTOCOL.md §11.6). Each connection
// names at most MaxWatchedUsers users, so a change costs one notice per connection that asked,
// and the whole map is bounded by connections × that limit. A notice never waits: a watcher whose
// outbox is full misses it (its `list` still tells the truth).
using Parley.Messaging;

namespace Parley.Server.Delivery;

internal sealed class PresenceWatchers
{
    private readonly object _lock = new();
    private readonly Dictionary<string, HashSet<ClientConnection>> _byWatched = new(StringComparer.Ordinal);
    private readonly Dictionary<ClientConnection, string[]> _byWatcher = new(ReferenceEqualityComparer.Instance);

    public void Watch(ClientConnection watcher, IReadOnlyCollection<string> users)
    {
        lock (_lock)
        {
            ForgetLocked(watcher);
            string[] distinct = [.. users.Distinct(StringComparer.Ordinal)];
            if (distinct.Length == 0)
            {
                return;
            }
            _byWatcher[watcher] = distinct;
            foreach (string user in distinct)
            {
                if (!_byWatched.TryGetValue(user, out HashSet<ClientConnection>? watchers))
                {
                    _byWatched[user] = watchers = new HashSet<ClientConnection>(ReferenceEqualityComparer.Instance);
                }
                watchers.Add(watcher);
            }
        }
    }

    public void Forget(ClientConnection watcher)
    {
        lock (_lock)
        {
            ForgetLocked(watcher);
        }
    }

    private void ForgetLocked(ClientConnection watcher)
    {
        if (!_byWatcher.Remove(watcher, out string[]? users))
        {
            return;
        }
        foreach (string user in users)
        {
            if (_byWatched.TryGetValue(user, out HashSet<ClientConnection>? watchers) && watchers.Remove(watcher) && watchers.Count == 0)
            {
                _byWatched.Remove(user);
            }
        }
    }

    public void Announce(string user, bool online)
    {
        ClientConnection[] watchers;
        lock (_lock)
        {
            watchers = _byWatched.TryGetValue(user, out HashSet<ClientConnection>? set) ? [.. set] : [];
        }
        PresenceChanged notice = new(user, online);
        foreach (ClientConnection watcher in watchers)
        {
            watcher.NotifyPresence(notice);
        }
    }
}
