using System.Collections.Concurrent;
using Parley.Server.Storage;

namespace Parley.Server.Delivery;

/// <summary>Who is online, and their connection. One connection per user: a new login replaces the old one.</summary>
public sealed class Presence : IMessageFanOut
{
    private readonly ConcurrentDictionary<string, ClientConnection> _online = new(StringComparer.Ordinal);

    public int Count => _online.Count;

    /// <summary>Registers <paramref name="connection"/>; returns the connection it replaced, if any.</summary>
    public ClientConnection? Register(string user, ClientConnection connection)
    {
        ClientConnection? previous = null;
        _online.AddOrUpdate(user, connection, (_, existing) =>
        {
            previous = existing;
            return connection;
        });
        return previous;
    }

    public void Unregister(string user, ClientConnection connection) =>
        _online.TryRemove(new KeyValuePair<string, ClientConnection>(user, connection));

    public bool TryGet(string user, out ClientConnection connection) => _online.TryGetValue(user, out connection!);

    public string[] OnlineUsers()
    {
        string[] users = [.. _online.Keys];
        Array.Sort(users, StringComparer.Ordinal);
        return users;
    }

    /// <summary>
    /// Up to <paramref name="max"/> online users sorted after <paramref name="after"/> (all when null),
    /// and whether more follow: one page of a <c>list</c> reply, bounded whatever the number online.
    /// </summary>
    public (string[] Users, bool More) OnlineUsersAfter(string? after, int max)
    {
        List<string> users = [];
        foreach (string user in _online.Keys)
        {
            if (after is null || string.CompareOrdinal(user, after) > 0)
            {
                users.Add(user);
            }
        }
        users.Sort(StringComparer.Ordinal);
        return users.Count > max ? ([.. users.Take(max)], true) : ([.. users], false);
    }

    /// <summary>Hands a committed message to its recipient's connection when the recipient is online here.</summary>
    public bool TryDeliver(StoredMessage message)
    {
        if (!_online.TryGetValue(message.Recipient, out ClientConnection? connection))
        {
            return false;
        }
        connection.Deliver(message);
        return true;
    }

    public ClientConnection[] Connections() => [.. _online.Values];
}
