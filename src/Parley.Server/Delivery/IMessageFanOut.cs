using Parley.Server.Storage;

namespace Parley.Server.Delivery;

/// <summary>
/// Where a message goes once committed: to its recipient's live connection, if any. Local
/// presence on one node (<see cref="Presence"/>); the Redis bus between nodes in a cluster
/// (Cluster/RedisCluster), which must ask elsewhere and so answers asynchronously.
/// </summary>
public interface IMessageFanOut
{
    /// <summary>Called after commit, in id order; true when the message reached an online recipient.</summary>
    bool TryDeliver(StoredMessage message);

    /// <summary>
    /// Called after commit, in id order, by the store writer, which does not wait for it: the
    /// sender's result waits instead. Completes with whether the recipient is online anywhere.
    /// </summary>
    ValueTask<bool> DeliverAsync(StoredMessage message) => ValueTask.FromResult(TryDeliver(message));
}
