// The record channel over a Stream (a socket, a pipe, anything) once a handshake driver
// (ClientHandshakeDriver / ServerHandshakeDriver) has produced a session: send, receive, close
// and key update. It owns the I/O and the send lock; it decides nothing about the protocol itself.
using System.Buffers;
using System.Runtime.CompilerServices;
using Parley.Protocol;
using Parley.Protocol.Framing;
using Parley.Protocol.Handshake;
using Parley.Transport.Trust;

namespace Parley.Transport.Channels;

public sealed class SecureChannel : IAsyncDisposable
{
    public static readonly TimeSpan DefaultHandshakeTimeout = TimeSpan.FromSeconds(10);

    private readonly Stream _stream;
    private readonly SecureSession _session;
    private readonly FrameDecoder _decoder;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private bool _closeSent;
    private bool _disposed;
    // False until a record has opened: the window in which a client may still meet the server's plaintext alert (§5.6).
    private bool _recordOpened;
    // Set by WaitForDataAsync: the next read goes straight for the bytes (no second zero-byte read).
    private bool _dataReady;
    // Set once WaitForDataAsync is used (a server's connections): from then on every wait for a
    // record is a zero-byte read, holding no buffer.
    private bool _waitsForData;

    // On a client that accepts tickets: the resumption secret until the server's NewSessionTicket arrives.
    private PendingTicket? _pendingTicket;

    // The handshake's last flight, sealed but not yet written (a client's Finished, a server's
    // NewSessionTicket): it goes out in the same write as the first record after it, so a login
    // costs each side one system call and the other side one wake-up less. Written on its own
    // before this side waits for bytes that are not already here, so neither side can wait for
    // the other. Guarded by the send lock.
    private byte[]? _heldFlight;
    private TimeSpan _heldFlightTimeout;

    internal static SecureChannel Create(Stream stream, SecureSession session, FrameDecoder decoder, PeerIdentity? serverIdentity, PeerIdentity? clientIdentity = null,
        bool resumed = false, PendingTicket? pendingTicket = null, byte[]? heldFlight = null) =>
        new(stream, session, decoder, serverIdentity, clientIdentity) { Resumed = resumed, _pendingTicket = pendingTicket, _heldFlight = heldFlight };

    private SecureChannel(Stream stream, SecureSession session, FrameDecoder decoder, PeerIdentity? serverIdentity, PeerIdentity? clientIdentity = null)
    {
        ClientIdentity = clientIdentity;
        _stream = stream;
        _session = session;
        _decoder = decoder;
        _decoder.MaxBodyLength = session.MaxFrameBodyLength;
        ServerIdentity = serverIdentity;
    }

    /// <summary>On the client: the server key the handshake authenticated.</summary>
    public PeerIdentity? ServerIdentity { get; }

    /// <summary>On the server: the key the client proved, when the handshake required one.</summary>
    public PeerIdentity? ClientIdentity { get; }

    /// <summary>The other side's proven key, whichever side this is.</summary>
    public PeerIdentity? RemoteIdentity => ServerIdentity ?? ClientIdentity;

    /// <summary>The record state under the channel, for tests that play a peer sending what ours never does.</summary>
    internal SecureSession Session => _session;

    public SessionRole Role => _session.Role;

    /// <summary>
    /// The handshake resumed from a session ticket (PROTOCOL.md §5.9): the server did not sign; the
    /// ticket's resumption secret and a fresh key agreement made the keys.
    /// </summary>
    public bool Resumed { get; private init; }

    public string Group => _session.Group;
    public string Suite => _session.Suite.Name;
    public int MaxMessageLength => _session.Limits.MaxPlaintextLength;

    /// <summary>
    /// From now on up to <paramref name="maxRecords"/> records above the limit are skipped unread
    /// and reported by <see cref="ReceiveEventAsync"/> (PROTOCOL.md §4); one more is frame_too_large.
    /// Until this is called every oversize record is frame_too_large. Call it between receives.
    /// </summary>
    public void AllowOversizeRecords(int maxRecords) =>
        _decoder.AllowSkipping(RecordLimits.MaxSkippableFrameBodyLength, maxRecords);

    /// <summary>Runs the client side of the handshake over <paramref name="stream"/>.</summary>
    /// <exception cref="ParleyProtocolException">The handshake failed; the server was told why where possible.</exception>
    /// <exception cref="HostKeyMismatchException">The trust policy found a changed server key.</exception>
    public static Task<SecureChannel> ConnectAsync(Stream stream, ClientChannelOptions options, CancellationToken cancellationToken = default) =>
        ClientHandshakeDriver.RunAsync(stream, options, cancellationToken);

    /// <summary>Runs the server side of the handshake over <paramref name="stream"/>.</summary>
    /// <exception cref="ParleyProtocolException">The handshake failed; the client was told why where possible.</exception>
    public static Task<SecureChannel> AcceptAsync(Stream stream, ServerChannelOptions options, CancellationToken cancellationToken = default) =>
        ServerHandshakeDriver.RunAsync(stream, options, cancellationToken);

    /// <summary>Kept for callers that pass the handshake options and timeout separately; prefer <see cref="ServerChannelOptions"/>.</summary>
    public static Task<SecureChannel> AcceptAsync(Stream stream, ServerHandshakeOptions options, TimeSpan? handshakeTimeout = null, CancellationToken cancellationToken = default) =>
        AcceptAsync(stream, new ServerChannelOptions(options) { HandshakeTimeout = handshakeTimeout ?? DefaultHandshakeTimeout }, cancellationToken);

    /// <summary>Sends one message as one record. Safe to call from several tasks at once.</summary>
    /// <exception cref="ChannelException">The connection failed, or the channel was closed or disposed.</exception>
    public ValueTask SendAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken = default) =>
        SendBatchAsync([message], cancellationToken);

    /// <summary>
    /// Sends several messages, one record each, in order. Concurrent senders are combined: whoever
    /// holds the write lock seals everything queued so far and writes it with one system call, so
    /// under load many records share a write. Completes once this batch has been written. If
    /// cancelled while queued, the batch may still be written by another sender.
    /// </summary>
    /// <exception cref="ChannelException">The connection failed, or the channel was closed or disposed.</exception>
    public async ValueTask SendBatchAsync(IReadOnlyList<ReadOnlyMemory<byte>> messages, CancellationToken cancellationToken = default)
    {
        try
        {
            await SendBatchCoreAsync(messages, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (ChannelException.Wrap(e, "sending", cancellationToken) is { } failure)
        {
            throw failure;
        }
    }

    private async ValueTask SendBatchCoreAsync(IReadOnlyList<ReadOnlyMemory<byte>> messages, CancellationToken cancellationToken)
    {
        if (messages.Count == 0)
        {
            return;
        }
        // Uncontended (the common case for a quiet connection): write directly, allocating nothing
        // for coordination; then write whatever others queued meanwhile.
        if (NothingPending && _sendLock.Wait(0))
        {
            try
            {
                await WriteDirectAsync(messages, cancellationToken).ConfigureAwait(false);
                if (!NothingPending)
                {
                    await WritePendingAsync(cancellationToken).ConfigureAwait(false);
                }
            }
            finally
            {
                _sendLock.Release();
            }
            return;
        }
        TaskCompletionSource written = new(TaskCreationOptions.RunContinuationsAsynchronously);
        for (int i = 0; i < messages.Count; i++)
        {
            Pending.Enqueue(new PendingRecord(messages[i], i == messages.Count - 1 ? written : null));
        }
        await _sendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!written.Task.IsCompleted)
            {
                await WritePendingAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _sendLock.Release();
        }
        await written.Task.ConfigureAwait(false);
    }

    private async ValueTask WriteDirectAsync(IReadOnlyList<ReadOnlyMemory<byte>> messages, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_closeSent)
        {
            throw new InvalidOperationException("The channel was closed for sending.");
        }
        await SealAndWriteAsync(MessageType.ApplicationData, messages, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The one path that turns payloads into records on the wire: seal each in order into one pooled buffer, one write, one flush.</summary>
    private async ValueTask SealAndWriteAsync(MessageType type, IReadOnlyList<ReadOnlyMemory<byte>> payloads, CancellationToken cancellationToken)
    {
        byte[]? held = _heldFlight;
        int capacity = held?.Length ?? 0;
        for (int i = 0; i < payloads.Count; i++)
        {
            capacity = checked(capacity + _session.MaxSealedLength(payloads[i].Length));
        }
        byte[] buffer = ArrayPool<byte>.Shared.Rent(Math.Max(capacity, 1));
        int length = 0;
        try
        {
            if (held is not null)
            {
                held.CopyTo(buffer, 0);
                length = held.Length;
            }
            for (int i = 0; i < payloads.Count; i++)
            {
                length += _session.Seal(type, payloads[i].Span, buffer.AsSpan(length));
            }
            // Let go of the held flight only now: a send refused while sealing (a payload over the
            // limit) must leave it for the next one, or that one would go out without it.
            _heldFlight = null;
            await _stream.WriteAsync(buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
            await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // Sealed bytes are ciphertext, but clear what was used anyway before pooling.
            buffer.AsSpan(0, length).Clear();
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Writes the held flight, if it is still held, before this side waits for the peer.</summary>
    private ValueTask WriteHeldFlightAsync(CancellationToken cancellationToken) =>
        Volatile.Read(ref _heldFlight) is null ? ValueTask.CompletedTask : WriteHeldFlightCoreAsync(cancellationToken);

    private async ValueTask WriteHeldFlightCoreAsync(CancellationToken cancellationToken)
    {
        await _sendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_heldFlight is not null && !_disposed)
            {
                await SealAndWriteAsync(MessageType.ApplicationData, [], cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>
    /// Writes the held flight from the thread pool unless a send takes it first: a caller that
    /// sends as soon as it has the channel (a login) shares the write, and one that does not
    /// (a prompt for a password, say) still lets the peer finish its handshake at once.
    /// </summary>
    /// <param name="timeout">Bounds the write as the handshake deadline bounded it when it was part of the handshake.</param>
    internal void WriteHeldFlightSoon(TimeSpan timeout)
    {
        if (Volatile.Read(ref _heldFlight) is not null)
        {
            // On a pool thread this goes to its own queue, behind the caller's synchronous
            // continuation, which then usually sends first; another thread may still take it
            // sooner (an idle worker steals, a socket event thread queues globally), and then the
            // Finished goes out on its own: correct either way, one write more.
            _heldFlightTimeout = timeout;
            ThreadPool.UnsafeQueueUserWorkItem(static channel => _ = channel.WriteHeldFlightQuietlyAsync(), this, preferLocal: true);
        }
    }

    private async Task WriteHeldFlightQuietlyAsync()
    {
        try
        {
            using CancellationTokenSource deadline = new(_heldFlightTimeout);
            await WriteHeldFlightAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Whatever the stream threw (a socket, a WebSocket, a pipe), the connection failed and
            // the caller's next send or receive reports it; nothing here may go unobserved.
        }
    }

    private readonly record struct PendingRecord(ReadOnlyMemory<byte> Payload, TaskCompletionSource? Written);

    // Created on first contention: 10,000 idle connections should not each carry a queue.
    private System.Collections.Concurrent.ConcurrentQueue<PendingRecord>? _pendingQueue;

    private System.Collections.Concurrent.ConcurrentQueue<PendingRecord> Pending =>
        _pendingQueue ?? Interlocked.CompareExchange(ref _pendingQueue, new(), null) ?? _pendingQueue;

    private bool NothingPending => _pendingQueue is null || _pendingQueue.IsEmpty;

    /// <summary>Seals and writes everything queued, in order, up to 256 KiB per write. Call with the send lock held.</summary>
    private async Task WritePendingAsync(CancellationToken cancellationToken)
    {
        const int MaxWrite = 256 * 1024;
        List<PendingRecord> batch = [];
        if (_pendingQueue is not { } pending)
        {
            return;
        }
        while (!pending.IsEmpty)
        {
            batch.Clear();
            int capacity = 0;
            while (pending.TryPeek(out PendingRecord next))
            {
                int needed = _session.MaxSealedLength(next.Payload.Length);
                if (capacity > 0 && capacity + needed > MaxWrite)
                {
                    break;
                }
                pending.TryDequeue(out _);
                batch.Add(next);
                capacity += needed;
            }
            List<ReadOnlyMemory<byte>> payloads = new(batch.Count);
            try
            {
                foreach (PendingRecord record in batch)
                {
                    if (_disposed || _closeSent)
                    {
                        record.Written?.TrySetException(_disposed
                            ? new ObjectDisposedException(nameof(SecureChannel))
                            : new InvalidOperationException("The channel was closed for sending."));
                        continue;
                    }
                    payloads.Add(record.Payload);
                }
                if (payloads.Count > 0)
                {
                    await SealAndWriteAsync(MessageType.ApplicationData, payloads, cancellationToken).ConfigureAwait(false);
                }
                foreach (PendingRecord record in batch)
                {
                    record.Written?.TrySetResult();
                }
            }
            catch (Exception e)
            {
                foreach (PendingRecord record in batch)
                {
                    record.Written?.TrySetException(e);
                }
                throw;
            }
        }
    }

    /// <summary>The next record sent moves this direction to a fresh key.</summary>
    public void RequestKeyUpdate() => _session.RequestKeyUpdate();

    /// <summary>
    /// Receives the next message; null when the peer closed cleanly (close_notify). An end of
    /// stream without close_notify is a truncation and throws connection_closed. A record above
    /// the limit is frame_too_large here; <see cref="ReceiveEventAsync"/> lets the caller go on.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<byte[]?> ReceiveAsync(CancellationToken cancellationToken = default)
    {
        ChannelEvent received = await ReceiveEventAsync(cancellationToken).ConfigureAwait(false);
        if (received.Kind == ChannelEventKind.OversizeRecordSkipped)
        {
            string detail = $"a record of {received.Skipped.Length} bytes exceeds the limit of {received.Skipped.Limit} bytes";
            await TrySendAlertAsync(ProtocolError.FrameTooLarge, detail).ConfigureAwait(false);
            throw new ParleyProtocolException(ProtocolError.FrameTooLarge, detail);
        }
        return received.Message;
    }

    /// <summary>
    /// Waits until the peer sends something, holding as little as possible meanwhile: no receive
    /// buffer (a zero-byte read) and no chain of receive calls. A server with many idle
    /// connections calls this before <see cref="ReceiveEventAsync"/>; once it has, the channel's own
    /// waits for a record (after a key update, say) are zero-byte reads too. A channel that never
    /// calls it waits in a plain read, holding its buffer. Returns at once when bytes are already
    /// buffered. Call it from the one receiving task, between receives.
    /// </summary>
    /// <exception cref="ChannelException">The connection failed or the channel was disposed.</exception>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))] // completes asynchronously at every wake-up of a server's connection
    public async ValueTask WaitForDataAsync(CancellationToken cancellationToken = default)
    {
        _waitsForData = true;
        if (_decoder.InsideFrame)
        {
            return;
        }
        _decoder.ReleaseBuffer();
        try
        {
            await WriteHeldFlightAsync(cancellationToken).ConfigureAwait(false);
            // A zero-byte read can complete with nothing to read (a readiness left over from an
            // earlier read). On a socket, take what is there in one receive that cannot block (not
            // FIONREAD and then a receive: one system call instead of two), and when nothing is,
            // wait again rather than sit in a full receive holding a buffer. Bounded, so an end of
            // stream (which also completes it) gets through.
            for (int wait = 0; ; wait++)
            {
                await _stream.ReadAsync(Memory<byte>.Empty, cancellationToken).ConfigureAwait(false);
                if (wait == MaxEmptyWakeups || _stream is not System.Net.Sockets.NetworkStream network
                    || ReceiveWithoutWaiting.Into(network.Socket, _decoder, FrameIo.ReadChunk) != ReceiveWithoutWaiting.Outcome.NothingThere)
                {
                    break;
                }
                Interlocked.Increment(ref s_emptyWakeups);
            }
        }
        catch (Exception e) when (ChannelException.Wrap(e, "receiving", cancellationToken) is { } failure)
        {
            throw failure;
        }
        _dataReady = true;
    }

    private const int MaxEmptyWakeups = 4;
    private static long s_emptyWakeups;

    /// <summary>Zero-byte reads, in this process, that completed with nothing to read (diagnostics).</summary>
    public static long EmptyWakeups => Interlocked.Read(ref s_emptyWakeups);

    /// <summary>
    /// Gives back what an idle channel need not hold: the AEAD cipher contexts (native OpenSSL
    /// state, about 2 KiB each), recreated from the keys by the next record in each direction.
    /// (The receive buffer is given back by <see cref="WaitForDataAsync"/> itself.) Safe to call
    /// from any thread at any time.
    /// </summary>
    /// <returns>How many contexts were freed (0 to 2).</returns>
    public int ReleaseIdleState() => _session.ReleaseCipherContexts();

    /// <summary>Cipher contexts held now (0 to 2): what <see cref="ReleaseIdleState"/> gives back, for tests and diagnostics.</summary>
    public int CipherContextsHeld => _session.CipherContextsHeld;

    /// <summary>True while the channel holds a receive buffer (false while waiting in <see cref="WaitForDataAsync"/>).</summary>
    public bool HoldsReceiveBuffer => _decoder.HoldsBuffer;

    /// <summary>
    /// Receives the next message, the peer's close_notify, or the news that a record above the
    /// limit was skipped unread (PROTOCOL.md §4; only after <see cref="AllowOversizeRecords"/>).
    /// After a skip the channel is in step and the next record opens normally.
    /// </summary>
    /// <exception cref="ParleyProtocolException">A protocol error, or the peer's alert.</exception>
    /// <exception cref="ChannelException">The connection failed, the peer vanished mid-record, or the channel was disposed.</exception>
    // The receive path's async methods pool their state machines: a client waits in its read, so
    // nearly every record completes each of these nested awaits asynchronously, and each then
    // allocated its state machine (~1.5 KB per delivered message in parley bench's generator at
    // 15,000 msg/s, dotnet-trace; BENCHMARKS §2 (j)). Every caller awaits each ValueTask once, as
    // pooling requires.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<ChannelEvent> ReceiveEventAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await ReceiveEventCoreAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (ChannelException.Wrap(e, "receiving", cancellationToken) is { } failure)
        {
            throw failure;
        }
    }

    /// <summary>
    /// Records read so far, whatever they held: those the caller never sees (KeyUpdate, a ticket)
    /// included, so a loop taking turns on a shared thread counts the work they cost.
    /// </summary>
    public long RecordsRead { get; private set; }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<ChannelEvent> ReceiveEventCoreAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            (FrameEvent frameEvent, ReadOnlyMemory<byte> body) = await ReadRecordFrameAsync(cancellationToken).ConfigureAwait(false);
            RecordsRead++;
            if (frameEvent == FrameEvent.OversizeFrameSkipped)
            {
                return ChannelEvent.OversizeRecordSkipped(_session.SkipOversizeRecord(_decoder.LastSkippedLength));
            }
            // Opened into a pooled buffer and copied out at its exact length: one allocation per
            // record instead of a body-sized one and then its trimmed copy.
            byte[] plaintext = ArrayPool<byte>.Shared.Rent(body.Length);
            try
            {
                OpenedRecord record;
                try
                {
                    record = _session.Open(body.Span, plaintext.AsSpan(0, body.Length));
                    _recordOpened = true;
                }
                catch (ParleyProtocolException) when (!_recordOpened && Role == SessionRole.Client && PlaintextAlertIn(body.Span) is { } alert)
                {
                    // The server refused our ClientIdentity or Finished before it reads records
                    // (client_identity_required from a peer, unexpected_message from a server):
                    // report its code, marked as unauthenticated, rather than bad_record_mac.
                    throw new ParleyProtocolException(alert.Error, alert.Reason.Length == 0 ? "(no reason given)" : alert.Reason, isRemote: true) { Unauthenticated = true };
                }
                catch (ParleyProtocolException e)
                {
                    await TrySendAlertAsync(e.Error, e.Detail).ConfigureAwait(false);
                    throw;
                }
                switch (record.Type)
                {
                    case MessageType.ApplicationData:
                        return ChannelEvent.MessageReceived(plaintext.AsSpan(0, record.Length).ToArray());
                    case MessageType.KeyUpdate:
                        continue;
                    case MessageType.NewSessionTicket when _pendingTicket is not null:
                        try
                        {
                            _pendingTicket.Accept(plaintext.AsSpan(0, record.Length));
                        }
                        catch (ParleyProtocolException e)
                        {
                            await TrySendAlertAsync(e.Error, e.Detail).ConfigureAwait(false);
                            throw;
                        }
                        continue;
                    case MessageType.Alert:
                        Alert alert = Alert.DecodePayload(plaintext.AsSpan(0, record.Length));
                        if (alert.Error == ProtocolError.CloseNotify)
                        {
                            return ChannelEvent.Closed;
                        }
                        throw alert.ToException();
                    default:
                        await TrySendAlertAsync(ProtocolError.UnexpectedMessage, $"unexpected {record.Type} record").ConfigureAwait(false);
                        throw new ParleyProtocolException(ProtocolError.UnexpectedMessage, $"a {record.Type} record arrived after the handshake");
                }
            }
            finally
            {
                // Plaintext (a login's password, say) never goes back to the pool readable.
                System.Security.Cryptography.CryptographicOperations.ZeroMemory(plaintext.AsSpan(0, body.Length));
                ArrayPool<byte>.Shared.Return(plaintext);
            }
        }
    }

    /// <summary>The alert a frame holds when it is a well-formed plaintext alert (0x15, code, reason); else null.</summary>
    private static Alert? PlaintextAlertIn(ReadOnlySpan<byte> body)
    {
        if (body.Length < 3 || body[0] != (byte)MessageType.Alert)
        {
            return null;
        }
        try
        {
            return Alert.DecodePayload(body[1..]);
        }
        catch (ParleyProtocolException)
        {
            return null;
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<(FrameEvent Event, ReadOnlyMemory<byte> Body)> ReadRecordFrameAsync(CancellationToken cancellationToken)
    {
        // A channel whose owner never waits in WaitForDataAsync (a client, with a handful of
        // connections) reads at once and holds its buffer while it waits: one system call per
        // wake-up instead of a zero-byte read, then the read, then a zero-byte read that finds nothing.
        bool dataReady = _dataReady || !_waitsForData;
        _dataReady = false;
        try
        {
            if (!_decoder.HasCompleteFrame)
            {
                await WriteHeldFlightAsync(cancellationToken).ConfigureAwait(false);
            }
            return await FrameIo.ReadFrameEventAsync(_stream, _decoder, cancellationToken, dataReady).ConfigureAwait(false) is { } read
                ? read
                : throw new ParleyProtocolException(ProtocolError.ConnectionClosed, "the connection ended without close_notify (truncated)");
        }
        catch (ParleyProtocolException e) when (e.Error == ProtocolError.ConnectionClosed && _decoder.InsideFrame)
        {
            // Not a protocol violation anyone can be told about: the peer is gone with half a record sent.
            throw new ChannelException("the peer vanished in the middle of a record: " + e.Detail, e);
        }
        catch (ParleyProtocolException e) when (e.Error is ProtocolError.FrameTooLarge or ProtocolError.EmptyFrame)
        {
            await TrySendAlertAsync(e.Error, e.Detail).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Sends close_notify: the peer's next receive returns null.</summary>
    /// <exception cref="ChannelException">The connection failed while sending it.</exception>
    public async Task CloseAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await SendAlertAsync(ProtocolError.CloseNotify, "", cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (ChannelException.Wrap(e, "closing", cancellationToken) is { } failure)
        {
            throw failure;
        }
    }

    private async Task SendAlertAsync(ProtocolError error, string reason, CancellationToken cancellationToken)
    {
        await _sendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_closeSent || _disposed)
            {
                return;
            }
            // Records queued before the alert go out before it.
            await WritePendingAsync(cancellationToken).ConfigureAwait(false);
            _closeSent = true;
            await SealAndWriteAsync(MessageType.Alert, [new Alert(error, reason).EncodePayload()], cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    private async Task TrySendAlertAsync(ProtocolError error, string reason)
    {
        try
        {
            using CancellationTokenSource cts = new(TransportTimeouts.FarewellSend);
            await SendAlertAsync(error, reason, cts.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            // The peer is gone or misbehaving; the local error is what matters.
        }
    }

    private async Task TryWriteHeldFlightBeforeDisposeAsync()
    {
        try
        {
            using CancellationTokenSource cts = new(TransportTimeouts.FarewellSend);
            await SealAndWriteAsync(MessageType.ApplicationData, [], cts.Token).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Best effort, as any farewell: the stream is disposed next whatever happened.
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }
        await _sendLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_heldFlight is not null)
            {
                // A channel closed before its first record still finishes the peer's handshake,
                // so the peer sees a session that ended rather than a handshake cut short.
                await TryWriteHeldFlightBeforeDisposeAsync().ConfigureAwait(false);
            }
            _disposed = true;
            _session.Dispose();
            _pendingTicket?.Dispose();
            await _stream.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            _sendLock.Release();
        }
    }
}
