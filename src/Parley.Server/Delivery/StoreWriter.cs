// Group commit: every durable write (new messages, acknowledgements) goes through one queue.
// A single loop takes whatever has queued up (up to a batch), commits it in one transaction,
// and only then completes the callers and fans new messages out to online recipients, in id
// order. Nothing is acknowledged to a sender before its transaction has committed. The inbox
// quota is checked here, in the one loop that commits, so concurrent senders cannot overshoot it.
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Parley.Server.Storage;

namespace Parley.Server.Delivery;

public readonly record struct AppendResult(StoredMessage Message, bool Delivered);

public sealed class StoreWriter : IAsyncDisposable
{
    /// <summary>Operations committed in one transaction at most.</summary>
    private const int MaxBatch = 4096;

    /// <summary>Operations waiting for the writer before producers wait; each connection's in-flight cap keeps a share of it.</summary>
    private const int QueueCapacity = 64 * 1024;

    /// <summary>
    /// Acknowledged ids removed in one transaction at most. Counted apart from <see cref="MaxBatch"/>:
    /// one ack holds up to 4,096 ids, and counted with the messages each full one was a commit (an
    /// fsync) of its own, with every send queued behind waiting one commit per ack.
    /// </summary>
    private const int MaxBatchAckIds = 64 * 1024;

    /// <summary>Body bytes committed in one transaction at most (the rest waits for the next), to bound each commit's log growth.</summary>
    private const long MaxBatchBodyBytes = 8L * 1024 * 1024;

    // Gathering under moderate load: every commit costs the same fixed work (a transaction, a WAL
    // fsync, wake-ups) whatever it holds, and at 15,000 msg/s the loop was committing ~1,700 times a
    // second, ~18 operations each. When the last commit held several operations, ended less than
    // GatherAfter ago and few are waiting, the loop waits GatherFor (a timer tick, 1 – 2 ms) for the
    // rest of the crowd first. A lone request (idle server, one client at a time) and a full queue
    // (the loop at its limit) commit at once. BENCHMARKS §2 (i): −11 to −14% server CPU per message
    // at 15,177 msg/s, p50 latency +3 ms.
    private static readonly TimeSpan GatherAfter = TimeSpan.FromMilliseconds(2);
    private static readonly TimeSpan GatherFor = TimeSpan.FromMilliseconds(1);
    private const int GatherBelow = 64;

    private readonly IMessageStore _store;
    private readonly IMessageFanOut _fanOut;
    private readonly ILogger _logger;
    private readonly InboxQuota? _quota;
    private readonly StoredMessageBound? _bound;
    private readonly StoreWriterMetrics _metrics = new();
    private readonly Channel<Operation> _queue = Channel.CreateBounded<Operation>(new BoundedChannelOptions(QueueCapacity)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.Wait,
    });
    private readonly Task _loop;

    // Appends, acknowledgements and expiries queued and not yet through their batch (counted before
    // they enter the queue, released after their commit, expiries once run): a barrier with none outstanding has
    // nothing to wait for, and every login asks for one (a writer wake-up and a thread hop each).
    private long _outstanding;

    internal long Outstanding => Interlocked.Read(ref _outstanding);

    private abstract record Operation;
    private sealed record Append(NewMessage Message, TaskCompletionSource<AppendResult> Completion) : Operation;
    private sealed record Acknowledge(string Recipient, string Device, long[] Ids, IAcknowledgementOwner? Owner) : Operation;

    /// <summary>Told when an ack it queued has been through its batch (committed or failed).</summary>
    internal interface IAcknowledgementOwner
    {
        void Committed(int ids);
    }
    private sealed record Barrier(TaskCompletionSource Completion) : Operation;
    private sealed record Expire(long CreatedBefore, TaskCompletionSource<int> Completion) : Operation;

    /// <param name="fanOut">Told after commit of each new message, in commit order (so in id order per recipient).</param>
    /// <param name="quota">Inbox bounds; a message over them fails with <see cref="InboxFullException"/>.</param>
    /// <param name="bound">The server's bound on undelivered messages in all; a message over it fails with <see cref="StoredMessagesFullException"/>.</param>
    internal StoreWriter(IMessageStore store, IMessageFanOut fanOut, ILogger logger, InboxQuota? quota = null, StoredMessageBound? bound = null)
    {
        _store = store;
        _fanOut = fanOut;
        _logger = logger;
        _quota = quota;
        _bound = bound;
        _loop = Task.Run(RunAsync);
    }

    /// <summary>
    /// Completes once the message is committed (and handed to its recipient if online); fails with
    /// <see cref="InboxFullException"/> when the recipient's inbox is at its quota (nothing stored).
    /// </summary>
    /// <remarks>
    /// The caller's continuation runs on the writer's loop, as soon as the commit is done: for a
    /// send that is encoding the result and putting it in the sender's outbox (whose write loop is
    /// woken on the thread pool), a microsecond or two, and nothing that waits for this writer.
    /// A thread-pool hop per message cost more than that (BENCHMARKS §2 (h): −8 to −10% of the
    /// server's CPU per message). A caller must not block in its continuation.
    /// </remarks>
    public Task<AppendResult> AppendAsync(NewMessage message, CancellationToken cancellationToken)
    {
        TaskCompletionSource<AppendResult> completion = new(TaskCreationOptions.None);
        Interlocked.Increment(ref _outstanding);
        ValueTask queued = _queue.Writer.WriteAsync(new Append(message, completion), cancellationToken);
        // Queued at once (the queue has room): the completion's own task, with no state machine
        // of this method around it (a server allocation trace had that at 262 bytes per message).
        return queued.IsCompletedSuccessfully ? completion.Task : AppendWhenQueuedAsync(queued, completion);
    }

    private async Task<AppendResult> AppendWhenQueuedAsync(ValueTask queued, TaskCompletionSource<AppendResult> completion)
    {
        await QueuedAsync(queued).ConfigureAwait(false);
        return await completion.Task.ConfigureAwait(false);
    }

    /// <summary>Waits for an operation counted in <see cref="_outstanding"/> to enter the queue; one that never does is not outstanding.</summary>
    private async ValueTask QueuedAsync(ValueTask queued)
    {
        try
        {
            await queued.ConfigureAwait(false);
        }
        catch
        {
            Interlocked.Decrement(ref _outstanding);
            throw;
        }
    }

    /// <summary>
    /// Queues <paramref name="message"/> and returns once it is in the queue (so messages queued one
    /// after another commit in that order), with the task that completes as <see cref="AppendAsync"/> does.
    /// Group changes and group sends queue their rows under <see cref="GroupOrder"/>, so every member
    /// reads them in the order the server decided them.
    /// </summary>
    internal async ValueTask<Task<AppendResult>> EnqueueAsync(NewMessage message, CancellationToken cancellationToken)
    {
        TaskCompletionSource<AppendResult> completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        Interlocked.Increment(ref _outstanding);
        await QueuedAsync(_queue.Writer.WriteAsync(new Append(message, completion), cancellationToken)).ConfigureAwait(false);
        return completion.Task;
    }

    /// <summary>Serialises, per group, deciding a change or a send and queuing its rows (PROTOCOL.md §11.7).</summary>
    internal GroupOrder GroupOrder { get; } = new();

    /// <summary>
    /// Completes once everything queued before it is committed (at once when nothing is outstanding).
    /// A login waits on this before it reads the inbox, so acknowledgements sent on an earlier
    /// connection are never undone by a redelivery to the next one.
    /// </summary>
    public Task BarrierAsync(CancellationToken cancellationToken) =>
        Interlocked.Read(ref _outstanding) == 0 ? Task.CompletedTask : QueueBarrierAsync(cancellationToken);

    private async Task QueueBarrierAsync(CancellationToken cancellationToken)
    {
        TaskCompletionSource completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        await _queue.Writer.WriteAsync(new Barrier(completion), cancellationToken).ConfigureAwait(false);
        await completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Queues the removal of acknowledged messages from an inbox, as <paramref name="device"/> of the
    /// recipient may remove them; <paramref name="owner"/> is told once their batch is through.
    /// </summary>
    internal ValueTask AcknowledgeAsync(string recipient, string device, long[] ids, IAcknowledgementOwner? owner, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _outstanding);
        ValueTask queued = _queue.Writer.WriteAsync(new Acknowledge(recipient, device, ids, owner), cancellationToken);
        return queued.IsCompletedSuccessfully ? queued : QueuedAsync(queued);
    }

    /// <summary>Deletes undelivered messages created before <paramref name="createdBefore"/> (Unix ms), then empties the log.</summary>
    public async Task<int> ExpireAsync(long createdBefore, CancellationToken cancellationToken)
    {
        TaskCompletionSource<int> completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        Interlocked.Increment(ref _outstanding);
        await QueuedAsync(_queue.Writer.WriteAsync(new Expire(createdBefore, completion), cancellationToken)).ConfigureAwait(false);
        return await completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Wipes what the store keeps of deleted bodies (IMessageStore.CheckpointAsync), outside the
    /// loop: PostgreSQL's VACUUM runs beside the commits (it waited for a table lock, or ran on a
    /// large table, with no send acknowledged meanwhile); SQLite's takes the write lock the commits take.
    /// </summary>
    public Task CheckpointAsync(CancellationToken cancellationToken) => _store.CheckpointAsync(cancellationToken);

    private async Task RunAsync()
    {
        ChannelReader<Operation> reader = _queue.Reader;
        List<Append> appends = [];
        List<NewMessage> messages = [];
        List<InboxAck> acks = [];
        List<TaskCompletionSource> barriers = [];
        List<Acknowledge> ackOperations = [];
        List<Expire> expiries = [];
        long lastCommitEnd = 0;
        int lastCommitOperations = 0;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            if (lastCommitOperations > 1 && reader.Count < GatherBelow && System.Diagnostics.Stopwatch.GetElapsedTime(lastCommitEnd) < GatherAfter)
            {
                // Real time, not the server's clock: this is about the machine, and a test's manual clock never moves.
                await Task.Delay(GatherFor).ConfigureAwait(false);
            }
            long batchStart = System.Diagnostics.Stopwatch.GetTimestamp();
            long commitTicks = 0;
            appends.Clear();
            messages.Clear();
            _quota?.BeginBatch();
            _bound?.BeginBatch();
            acks.Clear();
            ackOperations.Clear();
            barriers.Clear();
            expiries.Clear();
            long batchBodyBytes = 0;
            int taken = 0;
            while (appends.Count < MaxBatch && acks.Count < MaxBatchAckIds && batchBodyBytes < MaxBatchBodyBytes && reader.TryRead(out Operation? operation))
            {
                taken += operation is Barrier ? 0 : 1;
                switch (operation)
                {
                    case Append append:
                        if ((_quota is not null || _bound is not null) && !await AdmitAsync(append).ConfigureAwait(false))
                        {
                            break;
                        }
                        appends.Add(append);
                        messages.Add(append.Message);
                        batchBodyBytes += append.Message.Body.Length;
                        break;
                    case Acknowledge ack:
                        foreach (long id in ack.Ids)
                        {
                            acks.Add(new InboxAck(ack.Recipient, ack.Device, id));
                        }
                        if (ack.Owner is not null)
                        {
                            ackOperations.Add(ack);
                        }
                        break;
                    case Barrier barrier:
                        barriers.Add(barrier.Completion);
                        break;
                    case Expire expire:
                        expiries.Add(expire);
                        break;
                }
            }
            IReadOnlyList<StoredMessage> stored = [];
            try
            {
                // A batch of barriers alone needs no transaction: everything before it is committed.
                if (messages.Count > 0 || acks.Count > 0)
                {
                    long commitStart = System.Diagnostics.Stopwatch.GetTimestamp();
                    CommitResult result = await _store.CommitAsync(messages, acks, CancellationToken.None).ConfigureAwait(false);
                    commitTicks = System.Diagnostics.Stopwatch.GetTimestamp() - commitStart;
                    stored = result.Stored;
                    foreach (RemovedMessage removed in result.Removed)
                    {
                        _quota?.Removed(removed);
                    }
                }
            }
            catch (Exception e)
            {
                // Through their batch (failed, as their completions will say): no barrier waits on them.
                Interlocked.Add(ref _outstanding, -(taken - expiries.Count));
                // The admitted messages were not stored: re-read the usage rather than guess it.
                _quota?.Forget();
                if (e is StorageUnavailableException)
                {
                    // An outage of a database server (several nodes): the senders hear storage_unavailable, nothing is lost.
                    _logger.LogWarning("Commit of {Messages} messages and {Acks} acknowledgements failed: {Error}", messages.Count, acks.Count, e.Message);
                }
                else
                {
                    _logger.LogError(e, "Commit of {Messages} messages and {Acks} acknowledgements failed", messages.Count, acks.Count);
                }
                foreach (Append append in appends)
                {
                    append.Completion.TrySetException(new IOException("the message could not be stored", e));
                }
                foreach (TaskCompletionSource barrier in barriers)
                {
                    barrier.TrySetException(new IOException("the store could not commit", e));
                }
                AcknowledgementsThrough(ackOperations);
                await RunExpiriesAsync(expiries).ConfigureAwait(false);
                Interlocked.Add(ref _outstanding, -expiries.Count);
                _metrics.Batch(System.Diagnostics.Stopwatch.GetTimestamp() - batchStart, 0, 0);
                continue;
            }
            // Committed: a barrier from now on has nothing of theirs to wait for (before their
            // completions run, so whoever awaited one finds the count already down). Expiries
            // count until they have run, below.
            Interlocked.Add(ref _outstanding, -(taken - expiries.Count));
            for (int i = 0; i < appends.Count; i++)
            {
                ValueTask<bool> delivered = _fanOut.DeliverAsync(stored[i]);
                if (delivered.IsCompletedSuccessfully)
                {
                    appends[i].Completion.TrySetResult(new AppendResult(stored[i], delivered.Result));
                }
                else
                {
                    // A bus asks another node: the next batch commits meanwhile.
                    _ = CompleteAfterFanOutAsync(appends[i].Completion, stored[i], delivered);
                }
            }
            foreach (TaskCompletionSource barrier in barriers)
            {
                barrier.TrySetResult();
            }
            AcknowledgementsThrough(ackOperations);
            await RunExpiriesAsync(expiries).ConfigureAwait(false);
            Interlocked.Add(ref _outstanding, -expiries.Count);
            _metrics.Batch(System.Diagnostics.Stopwatch.GetTimestamp() - batchStart, commitTicks, messages.Count + acks.Count);
            lastCommitEnd = System.Diagnostics.Stopwatch.GetTimestamp();
            lastCommitOperations = messages.Count + acks.Count;
        }
    }

    private static void AcknowledgementsThrough(List<Acknowledge> operations)
    {
        foreach (Acknowledge ack in operations)
        {
            ack.Owner!.Committed(ack.Ids.Length);
        }
    }

    /// <summary>This writer's meter (<see cref="StoreWriterMetrics"/>), for tests that listen to one server among several.</summary>
    internal System.Diagnostics.Metrics.Meter Meter => _metrics.Meter;

    private static async Task CompleteAfterFanOutAsync(TaskCompletionSource<AppendResult> completion, StoredMessage message, ValueTask<bool> delivered)
    {
        bool online;
        try
        {
            online = await delivered.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Committed all the same: the recipient reads it from the store.
            online = false;
        }
        completion.TrySetResult(new AppendResult(message, online));
    }

    private async ValueTask<bool> AdmitAsync(Append append)
    {
        try
        {
            if (_bound is not null && !_bound.TryAdmit())
            {
                append.Completion.TrySetException(new StoredMessagesFullException(_bound.MaxMessages));
                return false;
            }
            if (_quota is null || await _quota.TryAdmitAsync(append.Message, CancellationToken.None).ConfigureAwait(false))
            {
                return true;
            }
            append.Completion.TrySetException(new InboxFullException(append.Message.Recipient));
        }
        catch (StorageUnavailableException e)
        {
            _logger.LogWarning("Reading the inbox usage of a recipient failed: {Error}", e.Message);
            append.Completion.TrySetException(new IOException("the inbox quota could not be checked", e));
        }
        catch (Exception e)
        {
            _logger.LogError(e, "Reading the inbox usage of a recipient failed");
            append.Completion.TrySetException(new IOException("the inbox quota could not be checked", e));
        }
        return false;
    }

    private async Task RunExpiriesAsync(List<Expire> expiries)
    {
        foreach (Expire expire in expiries)
        {
            try
            {
                int count = await _store.DeleteExpiredAsync(expire.CreatedBefore, CancellationToken.None).ConfigureAwait(false);
                expire.Completion.TrySetResult(count);
            }
            catch (Exception e)
            {
                expire.Completion.TrySetException(new IOException("expired messages could not be deleted: " + e.Message, e));
            }
            finally
            {
                _quota?.Forget();
            }
        }
    }

    /// <summary>Stops taking work and waits until everything queued is committed.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
        _metrics.Dispose();
    }
}
