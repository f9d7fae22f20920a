namespace Parley.Server.Storage;

/// <summary>
/// A store shared by several nodes orders each group's rows across all of them (PROTOCOL.md §11.7
/// "Order"): a node's in-process group lock orders only what that node queues. The lock is held
/// from before a change or a group_send reads the group until the rows it queued are committed, so
/// the next change or send of that group, on any node, is decided after them and committed after them.
/// </summary>
public interface IGroupOrderLock
{
    /// <summary>Waits for <paramref name="group"/>'s cluster-wide lock; disposing the result releases it.</summary>
    Task<IAsyncDisposable> LockGroupAsync(string group, CancellationToken cancellationToken);
}
