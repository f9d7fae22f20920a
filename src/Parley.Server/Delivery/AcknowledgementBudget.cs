// How many acknowledged ids one connection may have queued in the store writer and not yet
// committed. Sends are bounded by the connection's in-flight gate and the sender's byte budget;
// acks cost nothing of either, and a client could queue them as fast as it could write (4,096 ids,
// ~8 KB of JSON, each): ~2 GiB of id arrays in the writer's queue, all ahead of everyone else's
// sends (found by review). Past the budget the connection's reader waits for its earlier acks to
// commit, so only that client slows down.
namespace Parley.Server.Delivery;

internal sealed class AcknowledgementBudget : StoreWriter.IAcknowledgementOwner
{
    /// <summary>Ids one connection may have queued and uncommitted: four full acks (PROTOCOL.md §11.1's 4,096 ids each).</summary>
    internal const int MaxQueuedIds = 4 * Messaging.MessengerLimits.MaxAckIds;

    private int _queued;
    private TaskCompletionSource? _room;

    /// <summary>Ids queued and not yet through their commit (tests check it stays in bounds).</summary>
    internal int Queued => Volatile.Read(ref _queued);

    /// <summary>Takes <paramref name="ids"/> from the budget, waiting for commits while it would pass it. One caller at a time (the connection's reader).</summary>
    public async ValueTask TakeAsync(int ids, CancellationToken cancellationToken)
    {
        while (true)
        {
            int queued = Volatile.Read(ref _queued);
            // An ack alone always goes: the budget holds several full ones.
            if (queued == 0 || queued + ids <= MaxQueuedIds)
            {
                Interlocked.Add(ref _queued, ids);
                return;
            }
            TaskCompletionSource room = new(TaskCreationOptions.RunContinuationsAsynchronously);
            Interlocked.Exchange(ref _room, room);
            // A commit between the read above and publishing the wait would have found no one to wake.
            if (Volatile.Read(ref _queued) != queued)
            {
                continue;
            }
            await room.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Gives back ids whose ack was never queued.</summary>
    public void Return(int ids) => Committed(ids);

    /// <summary>The writer's batch holding these ids has committed (or failed): their room is free.</summary>
    public void Committed(int ids)
    {
        Interlocked.Add(ref _queued, -ids);
        Interlocked.Exchange(ref _room, null)?.TrySetResult();
    }
}
