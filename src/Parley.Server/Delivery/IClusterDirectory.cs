namespace Parley.Server.Delivery;

/// <summary>
/// Who is online on the other nodes of a cluster, and how to reach them (Cluster/RedisCluster).
/// <see cref="Presence"/> keeps this node's connections and asks the directory for everything
/// cluster-wide: <c>list</c>, broadcasts, watched users, join and leave notices, a device logged in
/// on another node (<c>logged_in_elsewhere</c>) or revoked there. Without a directory (one node)
/// Presence answers alone, as before.
/// </summary>
public interface IClusterDirectory
{
    /// <summary>
    /// Records the device online on this node, then tells the other nodes (an older connection of
    /// the same device elsewhere is closed). Completes once recorded, so that a message committed
    /// on any node after this returns is routed here (the login reads its inbox only afterwards).
    /// </summary>
    Task DeviceOnlineAsync(ClientConnection connection, bool firstHere);

    /// <summary>Records the device gone from this node (best effort: a dead node's entries expire).</summary>
    void DeviceOffline(ClientConnection connection, bool lastHere);

    /// <summary>Tells every node to close the connection of a device just revoked.</summary>
    void DeviceRevoked(string user, string deviceId);

    /// <summary>One page of users online anywhere in the cluster, sorted, and whether more follow.</summary>
    Task<(string[] Users, bool More)> OnlineUsersAfterAsync(string? after, int max);

    /// <summary>Users online anywhere in the cluster (for a broadcast), or null when there are more than <paramref name="max"/>; with the count.</summary>
    Task<(string[]? Users, long Count)> OnlineUsersAsync(int max);

    /// <summary>Those of <paramref name="users"/> online anywhere in the cluster.</summary>
    Task<string[]> OnlineOfAsync(IReadOnlyCollection<string> users);
}
