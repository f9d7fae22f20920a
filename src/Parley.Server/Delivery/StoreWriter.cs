// Group commit: every durable write (new messages, acknowledgements) goes through one queue.
// A single loop takes whatever has queued up (up to a batch), commits it in one transaction,
// and only then completes the callers and fans new messages out to online recipients, in id
// order. Nothing is acknowledged to a sender before its transaction has committed.
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Parley.Server.Storage;

namespace Parley.Server.Delivery;

public readonly record struct AppendResult(StoredMessage Message, bool Delivered);

public sealed class StoreWriter : IAsyncDisposable
{
    private const int MaxBatch = 4096;

    private readonly IMessageStore _store;
    private readonly Func<StoredMessage, bool> _fanOut;
    private readonly ILogger _logger;
    private readonly Channel<Operation> _queue = Channel.CreateBounded<Operation>(new BoundedChannelOptions(64 * 1024)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.Wait,
    });
    private readonly Task _loop;

    private abstract record Operation;
    private sealed record Append(NewMessage Message, TaskCompletionSource<AppendResult> Completion) : Operation;
    private sealed record Acknowledge(string Recipient, long[] Ids) : Operation;
    private sealed record Barrier(TaskCompletionSource Completion) : Operation;

    /// <param name="fanOut">Called after commit for each new message, in id order; true when the recipient was online.</param>
    public StoreWriter(IMessageStore store, Func<StoredMessage, bool> fanOut, ILogger logger)
    {
        _store = store;
        _fanOut = fanOut;
        _logger = logger;
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Completes once the message is committed (and handed to its recipient if online).</summary>
    public async Task<AppendResult> AppendAsync(NewMessage message, CancellationToken cancellationToken)
    {
        TaskCompletionSource<AppendResult> completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        await _queue.Writer.WriteAsync(new Append(message, completion), cancellationToken).ConfigureAwait(false);
        return await completion.Task.ConfigureAwait(false);
    }

    /// <summary>
    /// Completes once everything queued before it is committed. A login waits on this before it
    /// reads the inbox, so acknowledgements sent on an earlier connection are never undone by a
    /// redelivery to the next one.
    /// </summary>
    public async Task BarrierAsync(CancellationToken cancellationToken)
    {
        TaskCompletionSource completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        await _queue.Writer.WriteAsync(new Barrier(completion), cancellationToken).ConfigureAwait(false);
        await completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Queues the removal of acknowledged messages from an inbox.</summary>
    public ValueTask AcknowledgeAsync(string recipient, long[] ids, CancellationToken cancellationToken) =>
        _queue.Writer.WriteAsync(new Acknowledge(recipient, ids), cancellationToken);

    private async Task RunAsync()
    {
        ChannelReader<Operation> reader = _queue.Reader;
        List<Append> appends = [];
        List<NewMessage> messages = [];
        List<(string, long)> acks = [];
        List<TaskCompletionSource> barriers = [];
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            appends.Clear();
            messages.Clear();
            acks.Clear();
            barriers.Clear();
            while (appends.Count + acks.Count < MaxBatch && reader.TryRead(out Operation? operation))
            {
                switch (operation)
                {
                    case Append append:
                        appends.Add(append);
                        messages.Add(append.Message);
                        break;
                    case Acknowledge ack:
                        foreach (long id in ack.Ids)
                        {
                            acks.Add((ack.Recipient, id));
                        }
                        break;
                    case Barrier barrier:
                        barriers.Add(barrier.Completion);
                        break;
                }
            }
            IReadOnlyList<StoredMessage> stored = [];
            try
            {
                // A batch of barriers alone needs no transaction: everything before it is committed.
                if (messages.Count > 0 || acks.Count > 0)
                {
                    stored = await _store.CommitAsync(messages, acks, CancellationToken.None).ConfigureAwait(false);
                }
            }
            catch (Exception e)
            {
                _logger.LogError(e, "Commit of {Messages} messages and {Acks} acknowledgements failed", messages.Count, acks.Count);
                foreach (Append append in appends)
                {
                    append.Completion.TrySetException(new IOException("the message could not be stored", e));
                }
                foreach (TaskCompletionSource barrier in barriers)
                {
                    barrier.TrySetException(new IOException("the store could not commit", e));
                }
                continue;
            }
            for (int i = 0; i < appends.Count; i++)
            {
                bool delivered = _fanOut(stored[i]);
                appends[i].Completion.TrySetResult(new AppendResult(stored[i], delivered));
            }
            foreach (TaskCompletionSource barrier in barriers)
            {
                barrier.TrySetResult();
            }
        }
    }

    /// <summary>Stops taking work and waits until everything queued is committed.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
    }
}
