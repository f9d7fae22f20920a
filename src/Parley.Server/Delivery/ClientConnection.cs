// One logged-in connection: a reader loop that handles requests and a writer loop that sends
// replies and messages from a bounded outbox. Sessions don't outlive connections; the inbox in
// the store does: everything not acknowledged is re-sent on the next login.
// Memory per connection is bounded in bytes: message bodies held for it (outbox, send batch,
// inbox pages read back) never exceed ServerOptions.MaxOutboxBytes. Live delivery may use all but
// a reserve; reading the inbox back uses only the reserve; a message that does not fit stays in
// the store and is read back once the connection drains.
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Parley.Messaging;
using Parley.Messaging.Compact;
using Parley.Protocol;
using Parley.Protocol.Text;
using Parley.Server.Accounts;
using Parley.Server.Hosting;
using Parley.Server.Storage;
using Parley.Transport.Channels;

namespace Parley.Server.Delivery;

public sealed partial class ClientConnection
{
    private const int InboxPage = 500;
    private const int MaxBatch = 256;

    /// <summary>Encoded bytes gathered into one write before it goes out.</summary>
    private const int MaxBatchBytes = 256 * 1024;

    private readonly SecureChannel _channel;
    private readonly ServerOptions _options;
    private readonly StoreWriter _writer;
    private readonly IMessageStore _store;
    private readonly Presence _presence;
    private readonly KnownAccounts _accounts;
    private readonly DeviceTokens _tokens;
    private readonly SenderRateLimiter _rateLimiter;
    private readonly DiskSpaceGuard _diskSpace;
    private readonly ILogger _logger;
    private readonly ConnectionOutbox _outbox;

    /// <summary>Messages and answers queued for this connection and not yet written (tests wait for a full outbox).</summary>
    internal int OutboxCount => _outbox.Count;
    // Created by the first send: most connections sit idle and never need the gate.
    private SemaphoreSlim? _inFlightGate;
    private readonly CancellationTokenSource _closed = new();
    private readonly long _liveBudget;
    private readonly long _syncBudget;
    private readonly int _recordLimit;
    private volatile bool _overflowed;
    private readonly bool _fillGaps;
    private long _deliveredUpTo;
    private long _lastActivityTicks;
    private long _heldBodyBytes;
    private long _peakHeldBodyBytes;

    // The compact form (PROTOCOL.md §11.9), when agreed at login: how replies are packed, and the
    // content type the last compact send carried (a run of sends of one type shares its string).
    private CompactRecordPacker? _packer;
    private string? _lastContentType;

    /// <summary>Wakes the writer loop after live delivery overflowed into the store.</summary>
    private sealed record OverflowSignal : ServerMessage
    {
        public static readonly OverflowSignal Instance = new();
    }

    /// <param name="device">Who logged in: the user and the device (its token's id).</param>
    /// <param name="writer">Commits sends and acknowledgements (group commit).</param>
    /// <param name="store">Read for this device's inbox.</param>
    /// <param name="presence">Who is online, for <c>list</c>, broadcasts and revoking a device's connection.</param>
    internal ClientConnection(SecureChannel channel, LoggedInDevice device, string address, ServerOptions options,
        StoreWriter writer, IMessageStore store, Presence presence, KnownAccounts accounts, DeviceTokens tokens,
        SenderRateLimiter rateLimiter, DiskSpaceGuard diskSpace, ILogger logger)
    {
        _channel = channel;
        User = device.User;
        DeviceId = device.DeviceId;
        Address = address;
        _options = options;
        _writer = writer;
        _store = store;
        _presence = presence;
        _accounts = accounts;
        _tokens = tokens;
        _rateLimiter = rateLimiter;
        _diskSpace = diskSpace;
        _logger = logger;
        _outbox = new ConnectionOutbox(options.OutboxCapacity);
        _syncBudget = SyncBudgetFor(options);
        _liveBudget = options.MaxOutboxBytes - _syncBudget;
        _recordLimit = MessengerLimits.RecordLimitFor(options.MaxBodyLength);
        LoggedInAt = options.Time.GetUtcNow().ToUnixTimeMilliseconds();
        _fillGaps = options.Bus is not null;
        Touch();
    }

    /// <summary>The client asked for the compact form at login and the server agreed (PROTOCOL.md §11.9).</summary>
    internal bool Compact
    {
        get => _packer is not null;
        // Never above what a receiver takes by default (§8): a server allowed larger bodies than
        // 768 KiB has a record limit above it, and packing must not make a record no single message needed.
        init => _packer = value ? new CompactRecordPacker(Math.Min(_recordLimit, RecordLimits.DefaultMaxPlaintextLength)) : null;
    }

    /// <summary>Bounds the acknowledged ids this connection has queued and uncommitted (made at its first ack).</summary>
    private AcknowledgementBudget? _acks;

    /// <summary>Ids of this connection's acks queued in the store writer and not yet committed.</summary>
    internal int QueuedAckIds => _acks?.Queued ?? 0;

    private async ValueTask AcknowledgeAsync(long[] ids, CancellationToken cancellationToken)
    {
        AcknowledgementBudget budget = _acks ??= new AcknowledgementBudget();
        await budget.TakeAsync(ids.Length, cancellationToken).ConfigureAwait(false);
        try
        {
            await _writer.AcknowledgeAsync(User, DeviceId, ids, budget, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            budget.Return(ids.Length);
            throw;
        }
    }

    /// <summary>Bounds how far the reader runs ahead of commits (ServerOptions.MaxInFlightPerConnection).</summary>
    private SemaphoreSlim InFlight =>
        _inFlightGate ?? Interlocked.CompareExchange(ref _inFlightGate, new SemaphoreSlim(_options.MaxInFlightPerConnection), null) ?? _inFlightGate;

    /// <summary>The part of the outbox bound kept for reading the inbox back: a quarter, and room for one maximal body.</summary>
    internal static long SyncBudgetFor(ServerOptions options) => Math.Max(options.MaxOutboxBytes / 4, options.MaxBodyLength);

    /// <summary>Message body bytes this connection holds in memory now.</summary>
    internal long HeldBodyBytes => Interlocked.Read(ref _heldBodyBytes);

    /// <summary>The most <see cref="HeldBodyBytes"/> has ever been (tests check it against the bound).</summary>
    internal long PeakHeldBodyBytes => Interlocked.Read(ref _peakHeldBodyBytes);

    private bool TryHold(long bytes, long budget)
    {
        long held = Interlocked.Read(ref _heldBodyBytes);
        while (true)
        {
            if (held + bytes > budget)
            {
                return false;
            }
            long seen = Interlocked.CompareExchange(ref _heldBodyBytes, held + bytes, held);
            if (seen == held)
            {
                RecordPeak(held + bytes);
                return true;
            }
            held = seen;
        }
    }

    private void Hold(long bytes) => RecordPeak(Interlocked.Add(ref _heldBodyBytes, bytes));

    private void Release(long bytes) => Interlocked.Add(ref _heldBodyBytes, -bytes);

    private void RecordPeak(long held)
    {
        long peak = Interlocked.Read(ref _peakHeldBodyBytes);
        while (held > peak)
        {
            long seen = Interlocked.CompareExchange(ref _peakHeldBodyBytes, held, peak);
            if (seen == peak)
            {
                return;
            }
            peak = seen;
        }
    }

    public string User { get; }

    /// <summary>The device token this connection logged in with, or was issued at its password login.</summary>
    public string DeviceId { get; }

    public string Address { get; }

    internal TimeSpan IdleFor => _options.Time.GetElapsedTime(Interlocked.Read(ref _lastActivityTicks));

    private void Touch() => Interlocked.Exchange(ref _lastActivityTicks, _options.Time.GetTimestamp());

    /// <summary>
    /// Called by the store writer after commit, in id order. Never blocks: if the outbox is full
    /// (in messages or in bytes) the message stays in the store and the writer loop re-reads it.
    /// </summary>
    internal void Deliver(StoredMessage message)
    {
        // Once overflowed, everything newer is read back from the store anyway, in order.
        if (!_overflowed && TryHold(message.Body.Length, _liveBudget))
        {
            if (_outbox.TryWrite(ToChatMessage(message)))
            {
                return;
            }
            Release(message.Body.Length);
        }
        if (!_overflowed)
        {
            _overflowed = true;
            // The outbox may hold no message at all (only bytes in flight): make sure the writer wakes.
            _outbox.TryWrite(OverflowSignal.Instance);
        }
    }

    /// <summary>
    /// Cluster mode: messages this connection may take may have been committed without reaching it
    /// (the bus was away); the writer loop reads the inbox back from the store above what it has
    /// sent. Pokes that arrive before it gets to it are one read.
    /// </summary>
    internal void Poke()
    {
        if (!_overflowed)
        {
            _overflowed = true;
            _outbox.TryWrite(OverflowSignal.Instance);
        }
    }

    /// <summary>When this connection logged in (Unix ms, this node's clock).</summary>
    public long LoggedInAt { get; }

    private long _busLoginOrder;

    /// <summary>
    /// When its login was recorded on the bus, on Redis's clock (µs; 0 until then): of two connections
    /// of one device on two nodes, the older one goes, whatever the nodes' own clocks say.
    /// </summary>
    public long BusLoginOrder
    {
        get => Volatile.Read(ref _busLoginOrder);
        internal set => Volatile.Write(ref _busLoginOrder, value);
    }

    internal ValueTask ReplyAsync(ServerMessage message) => _outbox.WriteAsync(message, _closed.Token);

    /// <summary>Runs both loops until the connection ends; the inbox is sent first.</summary>
    internal async Task RunAsync(CancellationToken serverStopping)
    {
        // The server stopping closes this connection: one registration, not a linked source
        // (which would add a source and two registrations to every idle connection).
        using CancellationTokenRegistration stopping = serverStopping.UnsafeRegister(static state => ((ClientConnection)state!).Shut(), this);
        // Each loop shuts the connection when it ends, so the other ends too: no WhenAny promise
        // and no wrapper per loop waits alongside an idle connection.
        Task writer = WriteLoopAsync(_closed.Token);
        Task reader = ReadLoopAsync(_closed.Token);
        await reader.ConfigureAwait(false);
        await writer.ConfigureAwait(false);
    }

    /// <summary>
    /// Ends both loops: cancels the connection's token (the reader's wait for data is registered on
    /// it; from a socket event thread the cancel runs on the pool, decision 0024) and aborts the
    /// outbox (the writer waits on it without a registration).
    /// </summary>
    private void Shut()
    {
        EventThreads.Cancel(_closed);
        _outbox.Abort();
    }

    /// <summary>
    /// How long a closed connection's client has to read the notice saying why (and what was queued
    /// before it) before the connection is cut off anyway.
    /// </summary>
    internal static readonly TimeSpan CloseGrace = TimeSpan.FromSeconds(5);

    // Set by Close: no request read after it is handled. The connection ends only once its writer
    // has written the notice, and a client that stopped reading kept the writer in a socket write
    // for ever: a revoked device (or one logged in elsewhere) went on sending and acknowledging as
    // the account, unseen (found by review). Now nothing it sends counts, and CloseGrace cuts it off.
    private volatile bool _closing;

    /// <summary>Ends the connection, telling the client why: nothing it sends from now on is handled.</summary>
    internal void Close(string code, string reason)
    {
        _closing = true;
        _outbox.TryWrite(new ErrorMessage(0, code, reason));
        _outbox.TryComplete();
        _ = ShutAfterGraceAsync();
    }

    private async Task ShutAfterGraceAsync()
    {
        try
        {
            await Task.Delay(CloseGrace, _options.Time, _closed.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        Shut();
    }

    internal void Abort() => Shut();

    internal void Ping() => _outbox.TryWrite(new ServerPing());

    /// <summary>Called by the sweep once the connection has been quiet a while: frees its cipher contexts (recreated by the next record).</summary>
    /// <returns>How many contexts were freed.</returns>
    internal int ReleaseIdleState() => _channel.ReleaseIdleState();

    /// <summary>What the idle connection still holds of what <see cref="ReleaseIdleState"/> and the reader give back (tests check it).</summary>
    internal (int CipherContexts, bool ReceiveBuffer) IdleFootprint => (_channel.CipherContextsHeld, _channel.HoldsReceiveBuffer);

    /// <summary>A join or leave notice; dropped rather than waited for when the outbox is full.</summary>
    internal void NotifyPresence(PresenceChanged notice) => _outbox.TryWrite(notice);

    private async Task ReadLoopAsync(CancellationToken cancellationToken)
    {
        long turnStart = 0;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                // Counted in records read, not requests: 32 KeyUpdates in a row before each request
                // were 33 records of work for one count.
                if (_channel.RecordsRead - turnStart >= EventThreads.RecordsPerTurn)
                {
                    turnStart = _channel.RecordsRead;
                    await EventThreads.Leave();
                }
                // Idle here, not deep in a receive: no buffer and no chain of receive calls held meanwhile.
                await _channel.WaitForDataAsync(cancellationToken).ConfigureAwait(false);
                ChannelEvent received = await _channel.ReceiveEventAsync(cancellationToken).ConfigureAwait(false);
                if (received.Kind == ChannelEventKind.OversizeRecordSkipped)
                {
                    Touch();
                    await ReplyAsync(OversizeRecordReply.For(received.Skipped, _options.MaxBodyLength)).ConfigureAwait(false);
                    continue;
                }
                if (received.Message is not { } payload)
                {
                    return;
                }
                Touch();
                if (CompactForm.IsCompact(payload))
                {
                    await HandleCompactRecordAsync(payload, cancellationToken).ConfigureAwait(false);
                    continue;
                }
                ClientMessage request;
                try
                {
                    request = MessengerCodec.DecodeClient(payload);
                }
                catch (MessengerProtocolException e)
                {
                    await ReplyAsync(new ErrorMessage(0, ErrorCodes.BadRequest, e.Message)).ConfigureAwait(false);
                    continue;
                }
                await HandleAsync(request, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (IsConnectionEnd(e))
        {
            LogConnectionEnd(e);
        }
        finally
        {
            // The client left or broke the protocol: the writer stops too.
            Shut();
        }
    }

    /// <summary>
    /// Handles the sends and acks of one compact record in order, reading each only when the one
    /// before it has been handled: a record holds nothing decoded in memory beyond the request at
    /// hand. A fault, or a message past <see cref="MessengerLimits.MaxCompactMessagesPerRecord"/>,
    /// is answered once, and the rest of the record is dropped.
    /// </summary>
    private async Task HandleCompactRecordAsync(byte[] payload, CancellationToken cancellationToken)
    {
        if (!Compact)
        {
            await ReplyAsync(new ErrorMessage(0, ErrorCodes.BadRequest,
                "a compact record, but the compact form was not agreed at login (PROTOCOL.md §11.9)")).ConfigureAwait(false);
            return;
        }
        int offset = 0;
        for (int count = 1; offset < payload.Length; count++)
        {
            if (count > MessengerLimits.MaxCompactMessagesPerRecord)
            {
                await ReplyAsync(new ErrorMessage(0, ErrorCodes.BadRequest,
                    $"a compact record holds at most {MessengerLimits.MaxCompactMessagesPerRecord} messages; the rest of this one, from byte {offset}, was dropped")).ConfigureAwait(false);
                return;
            }
            (ClientMessage? request, string? fault) = DecodeCompactAt(payload, ref offset);
            if (request is null)
            {
                await ReplyAsync(new ErrorMessage(0, ErrorCodes.BadRequest, fault!)).ConfigureAwait(false);
                return;
            }
            await HandleAsync(request, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The request at <paramref name="offset"/>, moving it past; or the fault that stops the record.</summary>
    private (ClientMessage? Request, string? Fault) DecodeCompactAt(byte[] payload, ref int offset)
    {
        CompactReader reader = new(payload, offset) { LastContentType = _lastContentType };
        try
        {
            ClientMessage request = reader.ReadClient();
            offset = reader.Offset;
            return (request, null);
        }
        catch (MessengerProtocolException e)
        {
            return (null, e.Message);
        }
        finally
        {
            _lastContentType = reader.LastContentType;
        }
    }

    private async Task HandleAsync(ClientMessage request, CancellationToken cancellationToken)
    {
        if (_closing)
        {
            return;
        }
        try
        {
            await HandleOrFailAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (StorageUnavailableException e)
        {
            // The shared store is down (several nodes on PostgreSQL): nothing was changed; the connection goes on.
            _logger.LogWarning("The store is unavailable: {Error}", e.Message);
            await ReplyAsync(new ErrorMessage(RefOf(request), ErrorCodes.StorageUnavailable, StorageUnavailableText)).ConfigureAwait(false);
        }
    }

    private const string StorageUnavailableText = "the server cannot reach its database; nothing was stored; try again shortly";

    private static long RefOf(ClientMessage request) => request switch
    {
        SendRequest r => r.Ref,
        BroadcastRequest r => r.Ref,
        ListRequest r => r.Ref,
        DevicesRequest r => r.Ref,
        RevokeDeviceRequest r => r.Ref,
        PublishKeysRequest r => r.Ref,
        FetchBundlesRequest r => r.Ref,
        WatchPresenceRequest r => r.Ref,
        GroupCreateRequest r => r.Ref,
        GroupAddRequest r => r.Ref,
        GroupRemoveRequest r => r.Ref,
        GroupLeaveRequest r => r.Ref,
        GroupMembersRequest r => r.Ref,
        GroupListRequest r => r.Ref,
        GroupSendRequest r => r.Ref,
        GroupAcceptRequest r => r.Ref,
        GroupDeclineRequest r => r.Ref,
        GroupAllowRequest r => r.Ref,
        GroupDisallowRequest r => r.Ref,
        _ => 0,
    };

    private async Task HandleOrFailAsync(ClientMessage request, CancellationToken cancellationToken)
    {
        switch (request)
        {
            case SendRequest send:
                await AcceptSendAsync(send, cancellationToken).ConfigureAwait(false);
                break;
            case BroadcastRequest broadcast:
                await AcceptBroadcastAsync(broadcast, cancellationToken).ConfigureAwait(false);
                break;
            case AckRequest ack when ack.MessageIds is { Length: > 0 and <= MessengerLimits.MaxAckIds }:
                await AcknowledgeAsync(ack.MessageIds, cancellationToken).ConfigureAwait(false);
                break;
            case AckRequest:
                await ReplyAsync(new ErrorMessage(0, ErrorCodes.BadRequest, $"an ack names 1 to {MessengerLimits.MaxAckIds} message ids")).ConfigureAwait(false);
                break;
            case ListRequest list:
                (string[] page, bool more) = await _presence.ListAsync(list.After, MessengerLimits.ListPageSize).ConfigureAwait(false);
                await ReplyAsync(new UserList(list.Ref, page, more)).ConfigureAwait(false);
                break;
            case PingMessage:
                await ReplyAsync(new ServerPong()).ConfigureAwait(false);
                break;
            case PongMessage:
                break;
            case DevicesRequest devices:
                await ListDevicesAsync(devices, cancellationToken).ConfigureAwait(false);
                break;
            case RevokeDeviceRequest revoke:
                await RevokeDeviceAsync(revoke, cancellationToken).ConfigureAwait(false);
                break;
            case PublishKeysRequest publish:
                await PublishKeysOrFailAsync(publish, cancellationToken).ConfigureAwait(false);
                break;
            case WatchPresenceRequest watch:
                await WatchPresenceAsync(watch).ConfigureAwait(false);
                break;
            case FetchBundlesRequest fetch:
                await FetchBundlesOrFailAsync(fetch, cancellationToken).ConfigureAwait(false);
                break;
            case ClientMessage group when IsGroupRequest(group):
                await HandleGroupRequestAsync(group, cancellationToken).ConfigureAwait(false);
                break;
            default:
                if (await HandleFileAsync(request, cancellationToken).ConfigureAwait(false))
                {
                    break;
                }
                await ReplyAsync(new ErrorMessage(0, ErrorCodes.BadRequest, $"'{request.GetType().Name}' is not allowed here")).ConfigureAwait(false);
                break;
        }
    }

    private async Task AcceptSendAsync(SendRequest send, CancellationToken cancellationToken)
    {
        if (!Usernames.TryNormalize(send.To, out string recipient, out string nameError))
        {
            await ReplyAsync(new ErrorMessage(send.Ref, ErrorCodes.InvalidUsername, nameError)).ConfigureAwait(false);
            return;
        }
        if (!await CheckBodyAsync(send.Ref, send.Body, send.ContentType).ConfigureAwait(false))
        {
            return;
        }
        // The rate before the recipient: a name nobody has is a read of the store, which must not
        // come free (a compact record holds up to 256 sends, each a lookup).
        if (!await CheckCapacityAsync(send.Ref, 1, send.Body.Length).ConfigureAwait(false))
        {
            return;
        }
        if (!await _accounts.ExistsAsync(recipient, cancellationToken).ConfigureAwait(false))
        {
            await ReplyAsync(new ErrorMessage(send.Ref, ErrorCodes.UnknownRecipient, $"there is no user '{recipient}'")).ConfigureAwait(false);
            return;
        }
        // After the rate check too: looking a device up reads the store.
        string[]? keyedDevices = null;
        if (send.ToDevice is not null)
        {
            keyedDevices = await CheckDeviceAsync(send.Ref, recipient, send.ToDevice, cancellationToken).ConfigureAwait(false);
            if (keyedDevices is null)
            {
                return;
            }
        }
        NewMessage message = new(User, recipient, _options.Time.GetUtcNow().ToUnixTimeMilliseconds(), send.ContentType, send.Body, Broadcast: false,
            RecipientDevice: send.ToDevice ?? "", SenderDevice: DeviceId);
        await InFlight.WaitAsync(cancellationToken).ConfigureAwait(false);
        // Not awaited here: the reader goes on to the next request while this one commits with
        // others (group commit); the in-flight gate bounds how far it can run ahead.
        _ = CompleteSendAsync(send.Ref, message, keyedDevices, cancellationToken);
    }

    private async Task CompleteSendAsync(long reference, NewMessage message, string[]? keyedDevices, CancellationToken cancellationToken)
    {
        try
        {
            AppendResult result = await _writer.AppendAsync(message, cancellationToken).ConfigureAwait(false);
            await ReplyAsync(new SendResult(reference, result.Message.Id, message.Recipient,
                result.Delivered ? DeliveryStatus.Delivered : DeliveryStatus.Queued, keyedDevices)).ConfigureAwait(false);
        }
        catch (InboxFullException)
        {
            await TryReplyAsync(new ErrorMessage(reference, ErrorCodes.InboxFull,
                $"the inbox of '{message.Recipient}' is full (at most {_options.MaxInboxMessages} messages, " +
                $"{_options.MaxInboxBytes} bytes); the message was not stored")).ConfigureAwait(false);
        }
        catch (StoredMessagesFullException)
        {
            await TryReplyAsync(new ErrorMessage(reference, ErrorCodes.StorageFull,
                $"the server holds as many undelivered messages as it may ({_options.MaxStoredMessages}); the message was not stored")).ConfigureAwait(false);
        }
        catch (IOException e) when (e.InnerException is StorageUnavailableException)
        {
            await TryReplyAsync(new ErrorMessage(reference, ErrorCodes.StorageUnavailable, StorageUnavailableText)).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            _logger.LogError(e, "Storing a message from {User} failed", User);
            await TryReplyAsync(new ErrorMessage(reference, ErrorCodes.Internal, "the server could not store the message; it was not sent")).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ChannelClosedException)
        {
            // The connection or the server is going away; the client gets no result and will not assume delivery.
        }
        finally
        {
            InFlight.Release();
        }
    }

    private async Task AcceptBroadcastAsync(BroadcastRequest broadcast, CancellationToken cancellationToken)
    {
        if (!await CheckBodyAsync(broadcast.Ref, broadcast.Body, broadcast.ContentType).ConfigureAwait(false))
        {
            return;
        }
        long now = _options.Time.GetUtcNow().ToUnixTimeMilliseconds();
        (string[]? online, long others) = await _presence.BroadcastRecipientsAsync(User, _options.MaxBroadcastRecipients).ConfigureAwait(false);
        if (online is not { } recipients)
        {
            await ReplyAsync(new ErrorMessage(broadcast.Ref, ErrorCodes.TooManyRecipients,
                $"{others} other users are online; a broadcast may reach at most {_options.MaxBroadcastRecipients}")).ConfigureAwait(false);
            return;
        }
        // Every copy counts: against the sender's rate here, and against each recipient's quota when stored.
        if (!await CheckCapacityAsync(broadcast.Ref, recipients.Length, (long)recipients.Length * broadcast.Body.Length).ConfigureAwait(false))
        {
            return;
        }
        await InFlight.WaitAsync(cancellationToken).ConfigureAwait(false);
        _ = CompleteBroadcastAsync(broadcast, recipients, now, cancellationToken);
    }

    private async Task CompleteBroadcastAsync(BroadcastRequest broadcast, string[] recipients, long now, CancellationToken cancellationToken)
    {
        try
        {
            Task<AppendResult>[] copies = recipients.Select(r => _writer.AppendAsync(
                new NewMessage(User, r, now, broadcast.ContentType, broadcast.Body, Broadcast: true, SenderDevice: DeviceId), cancellationToken)).ToArray();
            await Task.WhenAll(copies.Select(IgnoreFullInbox)).ConfigureAwait(false);
            // A recipient whose inbox is full is skipped; the count says how many copies were stored.
            int stored = copies.Count(c => c.IsCompletedSuccessfully);
            await ReplyAsync(new BroadcastResult(broadcast.Ref, stored)).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            _logger.LogError(e, "Storing a broadcast from {User} failed", User);
            await TryReplyAsync(new ErrorMessage(broadcast.Ref, ErrorCodes.Internal, "the server could not store the broadcast")).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ChannelClosedException)
        {
        }
        finally
        {
            InFlight.Release();
        }
    }

    /// <summary>A copy of a broadcast or group message that did not fit (its recipient's inbox, or the server's bound) is left out, not an error.</summary>
    private static async Task IgnoreFullInbox(Task<AppendResult> copy)
    {
        try
        {
            await copy.ConfigureAwait(false);
        }
        catch (Exception e) when (e is InboxFullException or StoredMessagesFullException)
        {
        }
    }

    /// <summary>
    /// A message for one device needs a device of the recipient's that exists; any other is
    /// <c>unknown_device</c> (null). Otherwise the recipient's devices with keys, for the send's result.
    /// </summary>
    private async Task<string[]?> CheckDeviceAsync(long reference, string recipient, string device, CancellationToken cancellationToken)
    {
        if (DeviceTokens.IsWellFormedDeviceId(device))
        {
            string[] keyed = [.. await _store.KeyedDevicesAsync(recipient, cancellationToken).ConfigureAwait(false)];
            // A device without keys (a client from before end-to-end) can still be written to.
            if (keyed.Contains(device, StringComparer.Ordinal) || await _store.DeviceExistsAsync(recipient, device, cancellationToken).ConfigureAwait(false))
            {
                return keyed;
            }
        }
        await ReplyAsync(new ErrorMessage(reference, ErrorCodes.UnknownDevice,
            $"'{recipient}' has no device '{UntrustedText.Sanitize(device, 64)}'")).ConfigureAwait(false);
        return null;
    }

    /// <summary>Refuses new messages while the disk is nearly full or the sender is over its rate (nothing is stored).</summary>
    private async Task<bool> CheckCapacityAsync(long reference, int messages, long bodyBytes)
    {
        if (_diskSpace.IsLow)
        {
            await ReplyAsync(new ErrorMessage(reference, ErrorCodes.StorageFull,
                "the server is low on disk space and takes no new messages; the message was not stored")).ConfigureAwait(false);
            return false;
        }
        if (!_rateLimiter.CanEverAllow(messages, bodyBytes))
        {
            await ReplyAsync(new ErrorMessage(reference, ErrorCodes.RateLimited,
                $"{messages} messages of {bodyBytes} bytes in all exceed what this server accepts from one sender at once " +
                $"({_options.SenderMessageBurst} messages, {_options.SenderByteBurst} bytes)")).ConfigureAwait(false);
            return false;
        }
        if (!_rateLimiter.TryTake(User, messages, bodyBytes, out TimeSpan retryAfter))
        {
            int seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
            await ReplyAsync(new ErrorMessage(reference, ErrorCodes.RateLimited,
                $"you are sending too fast; try again in {seconds} s", seconds)).ConfigureAwait(false);
            return false;
        }
        return true;
    }

    /// <param name="byServer">The content type is the server's own (a group_send): the reserved ones are allowed.</param>
    private async Task<bool> CheckBodyAsync(long reference, byte[]? body, string? contentType, bool byServer = false)
    {
        if (body is null || string.IsNullOrEmpty(contentType) || contentType.Length > MessengerLimits.MaxContentTypeLength)
        {
            await ReplyAsync(new ErrorMessage(reference, ErrorCodes.BadRequest, $"a message needs a body and a content type (at most {MessengerLimits.MaxContentTypeLength} characters)")).ConfigureAwait(false);
            return false;
        }
        // Group rows are the server's word (PROTOCOL.md §11.7): nobody else may write one.
        if (!byServer && GroupContentTypes.IsReserved(contentType))
        {
            await ReplyAsync(new ErrorMessage(reference, ErrorCodes.BadRequest, $"content types starting '{GroupContentTypes.Message}' are written only by the server")).ConfigureAwait(false);
            return false;
        }
        if (body.Length > _options.MaxBodyLength)
        {
            await ReplyAsync(new ErrorMessage(reference, ErrorCodes.MessageTooLarge,
                $"the message is {body.Length} bytes; the limit is {_options.MaxBodyLength} bytes")).ConfigureAwait(false);
            return false;
        }
        return true;
    }

    private async Task TryReplyAsync(ServerMessage message)
    {
        try
        {
            await ReplyAsync(message).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ChannelClosedException)
        {
        }
    }

    private async Task WriteLoopAsync(CancellationToken cancellationToken)
    {
        try
        {
            // Acknowledgements from this user's previous connection commit before its inbox is read.
            await _writer.BarrierAsync(cancellationToken).ConfigureAwait(false);
            await SyncFromStoreAsync(cancellationToken).ConfigureAwait(false);
            ConnectionOutbox reader = _outbox;
            // Grows on demand: an idle connection keeps an empty list, not 256 slots.
            List<ReadOnlyMemory<byte>> batch = [];
            long batchBodyBytes = 0;
            // No token: Shut aborts the outbox, so an idle connection waits here without a registration.
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                // Everything already queued goes out in one write, up to a batch in count and bytes
                // (messages, not records: compact ones share records).
                bool closeAfter = false;
                int encodedBytes = 0;
                int fileChunks = 0;
                for (int taken = 0; taken < MaxBatch && encodedBytes < MaxBatchBytes && !closeAfter && reader.TryRead(out ServerMessage? message); taken++)
                {
                    // Catch up from the store before sending anything newer, so ids stay in order.
                    if (_overflowed)
                    {
                        await FlushAsync(batch, cancellationToken).ConfigureAwait(false);
                        Release(batchBodyBytes);
                        batchBodyBytes = 0;
                        encodedBytes = 0;
                        await SyncFromStoreAsync(cancellationToken).ConfigureAwait(false);
                    }
                    if (message is OverflowSignal)
                    {
                        continue;
                    }
                    if (message is ChatMessage gapped && _fillGaps && gapped.MessageId > _deliveredUpTo + 1)
                    {
                        // Several nodes commit for this recipient: an id between may still be on its way
                        // (or was routed while this connection was not yet known). The store has it.
                        await FlushAsync(batch, cancellationToken).ConfigureAwait(false);
                        Release(batchBodyBytes);
                        batchBodyBytes = 0;
                        encodedBytes = 0;
                        await SyncFromStoreAsync(cancellationToken).ConfigureAwait(false);
                    }
                    if (message is ChatMessage chat)
                    {
                        if (chat.MessageId <= _deliveredUpTo)
                        {
                            Release(chat.Body.Length);
                            continue;
                        }
                        _deliveredUpTo = chat.MessageId;
                        batchBodyBytes += chat.Body.Length;
                    }
                    fileChunks += message is FileData ? 1 : 0;
                    Add(message, batch, ref encodedBytes);
                    closeAfter = message is ErrorMessage { Ref: 0, Code: ErrorCodes.LoggedInElsewhere or ErrorCodes.ServerShuttingDown };
                }
                await FlushAsync(batch, cancellationToken).ConfigureAwait(false);
                Release(batchBodyBytes);
                batchBodyBytes = 0;
                for (; fileChunks > 0; fileChunks--)
                {
                    FileChunkSent();
                }
                if (_overflowed)
                {
                    await SyncFromStoreAsync(cancellationToken).ConfigureAwait(false);
                }
                if (closeAfter)
                {
                    await _channel.CloseAsync(cancellationToken).ConfigureAwait(false);
                    return;
                }
            }
            if (_overflowed)
            {
                await SyncFromStoreAsync(cancellationToken).ConfigureAwait(false);
            }
            await _channel.CloseAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (IsConnectionEnd(e))
        {
            LogConnectionEnd(e);
        }
        finally
        {
            // Closed, or the connection failed: the reader stops too.
            Shut();
        }
    }

    /// <summary>
    /// Encodes a reply; one that would not fit in a record (which would end the connection) is
    /// answered with an error instead.
    /// </summary>
    private byte[] EncodeWithinLimit(ServerMessage message)
    {
        byte[] encoded = MessengerCodec.Encode(message);
        if (encoded.Length <= _recordLimit)
        {
            return encoded;
        }
        _logger.LogWarning("A {Type} for {User} was {Length} bytes, over the record limit of {Limit}; sent an error instead",
            message.GetType().Name, User, encoded.Length, _recordLimit);
        long reference = message switch
        {
            UserList list => list.Ref,
            BundleList bundles => bundles.Ref,
            SendResult result => result.Ref,
            BroadcastResult result => result.Ref,
            GroupInfo info => info.Ref,
            ErrorMessage error => error.Ref,
            _ => 0,
        };
        string what = message is ChatMessage chat ? $"message {chat.MessageId}" : "the reply";
        return MessengerCodec.Encode(new ErrorMessage(reference, ErrorCodes.ReplyTooLarge,
            $"{what} is {encoded.Length} bytes, over the record limit of {_recordLimit} bytes; it was not sent"));
    }

    /// <summary>Adds a message to the batch: into the open compact record when it has a compact form, else as a JSON record of its own.</summary>
    private void Add(ServerMessage message, List<ReadOnlyMemory<byte>> batch, ref int encodedBytes)
    {
        if (_packer is { } packer)
        {
            if (packer.TryAdd(message, batch, ref encodedBytes))
            {
                return;
            }
            // In order: the compact record so far goes before this JSON one.
            packer.Close(batch);
        }
        byte[] encoded = EncodeWithinLimit(message);
        batch.Add(encoded);
        encodedBytes += encoded.Length;
    }

    private async Task FlushAsync(List<ReadOnlyMemory<byte>> batch, CancellationToken cancellationToken)
    {
        _packer?.Close(batch);
        if (batch.Count > 0)
        {
            await _channel.SendBatchAsync(batch, cancellationToken).ConfigureAwait(false);
            batch.Clear();
        }
    }

    /// <summary>Sends every stored, unacknowledged message above what this connection has sent, oldest first.</summary>
    private async Task SyncFromStoreAsync(CancellationToken cancellationToken)
    {
        do
        {
            _overflowed = false;
            while (true)
            {
                // A page is held only within the reserve that live delivery cannot take.
                IReadOnlyList<StoredMessage> page = await _store.LoadInboxAsync(User, DeviceId, _deliveredUpTo, InboxPage, _syncBudget, cancellationToken).ConfigureAwait(false);
                long pageBytes = page.Sum(m => (long)m.Body.Length);
                Hold(pageBytes);
                try
                {
                    List<ReadOnlyMemory<byte>> encoded = new(_packer is null ? page.Count : 1);
                    int encodedBytes = 0;
                    foreach (StoredMessage stored in page)
                    {
                        Add(ToChatMessage(stored), encoded, ref encodedBytes);
                    }
                    await FlushAsync(encoded, cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    Release(pageBytes);
                }
                if (page.Count == 0)
                {
                    break;
                }
                _deliveredUpTo = page[^1].Id;
            }
        }
        while (_overflowed);
    }

    private static ChatMessage ToChatMessage(StoredMessage m) =>
        new(m.Id, m.Sender, m.Recipient, m.Timestamp, m.ContentType, m.Body, m.Broadcast, m.RecipientDevice.Length == 0 ? null : m.RecipientDevice,
            m.SenderDevice.Length == 0 ? null : m.SenderDevice);

    /// <summary>How a connection's loops end when the client leaves, fails or is closed: not an error of the server's.</summary>
    private static bool IsConnectionEnd(Exception e) =>
        e is ChannelException or ParleyProtocolException or OperationCanceledException or ChannelClosedException;

    private void LogConnectionEnd(Exception e)
    {
        if (e is ParleyProtocolException p && p.Error != ProtocolError.ConnectionClosed)
        {
            _logger.LogInformation("Connection of {User} from {Address} ended: {Error}", User, Address, p.Error.WireName());
        }
    }

    private async Task WatchPresenceAsync(WatchPresenceRequest watch)
    {
        if (watch.Users is null || watch.Users.Length > MessengerLimits.MaxWatchedUsers)
        {
            await ReplyAsync(new ErrorMessage(watch.Ref, ErrorCodes.BadRequest,
                $"watch_presence names 0 to {MessengerLimits.MaxWatchedUsers} users")).ConfigureAwait(false);
            return;
        }
        // Each watch costs one message of the sender's budget: re-watching in a loop is bounded like sending.
        if (!_rateLimiter.TryTake(User, 1, 0, out TimeSpan retryAfter))
        {
            int seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
            await ReplyAsync(new ErrorMessage(watch.Ref, ErrorCodes.RateLimited, $"you are changing watches too fast; try again in {seconds} s", seconds)).ConfigureAwait(false);
            return;
        }
        // Names that are not valid user names cannot be online: they are left out, not refused.
        List<string> users = [];
        foreach (string name in watch.Users)
        {
            if (Usernames.TryNormalize(name, out string user, out _))
            {
                users.Add(user);
            }
        }
        await ReplyAsync(new PresenceWatched(watch.Ref, await _presence.WatchAsync(this, users).ConfigureAwait(false))).ConfigureAwait(false);
    }
}
