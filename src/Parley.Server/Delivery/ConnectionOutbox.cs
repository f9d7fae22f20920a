// The queue between everything that answers or delivers to one connection and its writer loop.
// It replaces a bounded Channel<T>, which preallocates a reusable operation per waiter kind and a
// reader and writer object, about 1 KB per connection whether it is used or not; an idle
// connection waiting here holds this object and a few empty slots (docs/decisions/0013).
// Semantics are the ones ClientConnection relied on with the channel: bounded in messages, many
// writers, one reader, writers beyond the bound wait (in arrival order) or are refused (TryWrite),
// completion lets the reader drain what is queued, and a write after completion fails with
// ChannelClosedException.
using System.Threading.Channels;
using System.Threading.Tasks.Sources;
using Parley.Messaging;

namespace Parley.Server.Delivery;

internal sealed class ConnectionOutbox : IValueTaskSource<bool>
{
    /// <summary>Slots kept when the outbox empties; a burst's larger array is let go.</summary>
    internal const int SlotsKeptWhenEmpty = 16;

    private const int InitialSlots = 4;

    // The outbox locks itself (it is never exposed beyond its connection): a separate lock object
    // would be 40 more bytes on every idle connection.
    private object Gate => this;
    private readonly int _capacity;
    private ServerMessage[]? _slots;
    private int _head;
    private int _count;
    private bool _completed;
    private bool _aborted;

    // The one reader's wait, reused from one wait to the next (no allocation per wake-up).
    private ManualResetValueTaskSourceCore<bool> _readerWait = new() { RunContinuationsAsynchronously = true };
    private bool _readerWaiting;
    private CancellationToken _readerToken;
    private CancellationTokenRegistration _readerCancellation;

    // Writers waiting for room: created the first time the outbox is full.
    private Queue<BlockedWriter>? _blockedWriters;

    /// <param name="capacity">The most messages queued at once (ServerOptions.OutboxCapacity).</param>
    public ConnectionOutbox(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = capacity;
    }

    /// <summary>Messages queued now (not counting writers waiting for room).</summary>
    public int Count
    {
        get
        {
            lock (Gate)
            {
                return _count;
            }
        }
    }

    /// <summary>Slots allocated now (tests check that an idle outbox keeps few).</summary>
    internal int SlotsHeld
    {
        get
        {
            lock (Gate)
            {
                return _slots?.Length ?? 0;
            }
        }
    }

    /// <summary>Queues <paramref name="message"/> unless the outbox is full or completed; never waits.</summary>
    public bool TryWrite(ServerMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        bool wakeReader;
        lock (Gate)
        {
            if (_completed || _count == _capacity)
            {
                return false;
            }
            Enqueue(message);
            wakeReader = TakeReaderWait();
        }
        if (wakeReader)
        {
            _readerWait.SetResult(true);
        }
        return true;
    }

    /// <summary>Queues <paramref name="message"/>, waiting for room while the outbox is full.</summary>
    /// <exception cref="ChannelClosedException">The outbox was completed (before or while waiting).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled while waiting.</exception>
    public ValueTask WriteAsync(ServerMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }
        BlockedWriter blocked;
        bool wakeReader;
        lock (Gate)
        {
            if (_completed)
            {
                return ValueTask.FromException(new ChannelClosedException());
            }
            if (_count < _capacity)
            {
                Enqueue(message);
                wakeReader = TakeReaderWait();
                blocked = null!;
            }
            else
            {
                wakeReader = false;
                blocked = new BlockedWriter(message);
                (_blockedWriters ??= new Queue<BlockedWriter>()).Enqueue(blocked);
            }
        }
        if (wakeReader)
        {
            _readerWait.SetResult(true);
        }
        if (blocked is null)
        {
            return ValueTask.CompletedTask;
        }
        if (cancellationToken.CanBeCanceled)
        {
            blocked.Cancellation = cancellationToken.UnsafeRegister(static (state, token) => ((BlockedWriter)state!).TrySetCanceled(token), blocked);
            if (blocked.Task.IsCompleted)
            {
                // Admitted or refused before the registration was stored: nothing will unregister it later.
                blocked.Cancellation.Unregister();
            }
        }
        return new ValueTask(blocked.Task);
    }

    /// <summary>Takes the oldest queued message, if any (the one reader only).</summary>
    public bool TryRead(out ServerMessage message)
    {
        BlockedWriter? admitted = null;
        lock (Gate)
        {
            if (_count == 0)
            {
                message = null!;
                return false;
            }
            message = _slots![_head];
            _slots[_head] = null!;
            _head = (_head + 1) % _slots.Length;
            _count--;
            // A slot is free: the oldest writer still waiting (not cancelled) takes it.
            // Completing it here decides the race with its cancellation: queued means not cancelled.
            while (_blockedWriters is { Count: > 0 } writers)
            {
                BlockedWriter next = writers.Dequeue();
                if (next.TrySetResult())
                {
                    Enqueue(next.Message);
                    admitted = next;
                    break;
                }
            }
            if (_count == 0 && _slots.Length > SlotsKeptWhenEmpty)
            {
                _slots = null;
                _head = 0;
            }
        }
        admitted?.Cancellation.Unregister();
        return true;
    }

    /// <summary>
    /// Waits until a message is queued (true) or the outbox is completed and empty (false).
    /// The one reader only. Pass no token to wait without a registration; <see cref="Abort"/> ends the wait.
    /// </summary>
    /// <exception cref="OperationCanceledException">The outbox was aborted, or <paramref name="cancellationToken"/> cancelled.</exception>
    public ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<bool>(cancellationToken);
        }
        short version;
        lock (Gate)
        {
            if (_aborted)
            {
                return ValueTask.FromException<bool>(new OperationCanceledException("the connection was closed"));
            }
            if (_count > 0)
            {
                return new ValueTask<bool>(true);
            }
            if (_completed)
            {
                return new ValueTask<bool>(false);
            }
            if (_readerWaiting)
            {
                throw new InvalidOperationException("The outbox has one reader; it is already waiting.");
            }
            _readerWait.Reset();
            _readerWaiting = true;
            _readerToken = cancellationToken;
            version = _readerWait.Version;
        }
        if (cancellationToken.CanBeCanceled)
        {
            // Registered outside the lock (a token cancelled meanwhile runs the callback here, which
            // finds this wait by its token); kept only if this same wait is still on.
            CancellationTokenRegistration registration = cancellationToken.UnsafeRegister(static (state, token) => ((ConnectionOutbox)state!).CancelReader(token), this);
            bool kept;
            lock (Gate)
            {
                kept = _readerWaiting && _readerWait.Version == version;
                if (kept)
                {
                    _readerCancellation = registration;
                }
            }
            if (!kept)
            {
                registration.Unregister();
            }
        }
        return new ValueTask<bool>(this, version);
    }

    /// <summary>No more writes: the reader drains what is queued, then its wait returns false; waiting writers fail.</summary>
    /// <returns>False when the outbox was already completed.</returns>
    public bool TryComplete() => Complete(abort: false);

    /// <summary>
    /// Ends the outbox at once: no more writes, waiting writers fail, and the reader's wait (now
    /// or later) throws <see cref="OperationCanceledException"/> even with messages still queued.
    /// </summary>
    public void Abort() => Complete(abort: true);

    private bool Complete(bool abort)
    {
        bool wasCompleted;
        bool wakeReader;
        BlockedWriter[] refused;
        lock (Gate)
        {
            wasCompleted = _completed;
            _completed = true;
            _aborted |= abort;
            wakeReader = (_count == 0 || _aborted) && TakeReaderWait();
            refused = _blockedWriters is { Count: > 0 } writers ? writers.ToArray() : [];
            _blockedWriters?.Clear();
        }
        foreach (BlockedWriter writer in refused)
        {
            writer.TrySetException(new ChannelClosedException());
            writer.Cancellation.Unregister();
        }
        if (wakeReader)
        {
            if (abort)
            {
                _readerWait.SetException(new OperationCanceledException("the connection was closed"));
            }
            else
            {
                _readerWait.SetResult(false);
            }
        }
        return !wasCompleted;
    }

    private void CancelReader(CancellationToken token)
    {
        bool cancel;
        lock (Gate)
        {
            // Only the wait this registration was made for (a later wait may use another token).
            cancel = _readerToken == token && TakeReaderWait(keepRegistration: true);
        }
        if (cancel)
        {
            _readerWait.SetException(new OperationCanceledException(token));
        }
    }

    /// <summary>Call with the lock held: true (once) when the reader waits and must now be woken.</summary>
    private bool TakeReaderWait(bool keepRegistration = false)
    {
        if (!_readerWaiting)
        {
            return false;
        }
        _readerWaiting = false;
        if (!keepRegistration)
        {
            // Unregister, not Dispose: Dispose would wait for a callback that needs this object's lock.
            _readerCancellation.Unregister();
        }
        _readerCancellation = default;
        _readerToken = default;
        return true;
    }

    private void Enqueue(ServerMessage message)
    {
        if (_slots is null)
        {
            _slots = new ServerMessage[Math.Min(InitialSlots, _capacity)];
            _head = 0;
        }
        else if (_count == _slots.Length)
        {
            ServerMessage[] larger = new ServerMessage[Math.Min(_slots.Length * 2, _capacity)];
            for (int i = 0; i < _count; i++)
            {
                larger[i] = _slots[(_head + i) % _slots.Length];
            }
            _slots = larger;
            _head = 0;
        }
        _slots[(_head + _count) % _slots.Length] = message;
        _count++;
    }

    bool IValueTaskSource<bool>.GetResult(short token) => _readerWait.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => _readerWait.GetStatus(token);

    void IValueTaskSource<bool>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _readerWait.OnCompleted(continuation, state, token, flags);

    /// <summary>A writer waiting for room; completed when its message is queued, refused or cancelled.</summary>
    private sealed class BlockedWriter(ServerMessage message) : TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public ServerMessage Message { get; } = message;

        public CancellationTokenRegistration Cancellation { get; set; }
    }
}
