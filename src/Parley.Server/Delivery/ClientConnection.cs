// One logged-in connection: a reader loop that handles requests and a writer loop that sends
// replies and messages from a bounded outbox. Sessions don't outlive connections; the inbox in
// the store does: everything not acknowledged is re-sent on the next login.
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Parley.Messaging;
using Parley.Protocol;
using Parley.Server.Storage;
using Parley.Transport.Channels;

namespace Parley.Server.Delivery;

public sealed partial class ClientConnection
{
    private const int InboxPage = 500;

    private readonly SecureChannel _channel;
    private readonly ServerContext _context;
    private readonly Channel<ServerMessage> _outbox;
    private readonly SemaphoreSlim _inFlight;
    private readonly CancellationTokenSource _closed = new();
    private volatile bool _overflowed;
    private long _deliveredUpTo;
    private long _lastActivityTicks;

    internal ClientConnection(SecureChannel channel, string user, string address, ServerContext context)
    {
        _channel = channel;
        User = user;
        Address = address;
        _context = context;
        _outbox = Channel.CreateBounded<ServerMessage>(new BoundedChannelOptions(context.Options.OutboxCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _inFlight = new SemaphoreSlim(context.Options.MaxInFlightPerConnection);
        Touch();
    }

    public string User { get; }
    public string Address { get; }

    internal TimeSpan IdleFor => _context.Options.Time.GetElapsedTime(Interlocked.Read(ref _lastActivityTicks));

    private void Touch() => Interlocked.Exchange(ref _lastActivityTicks, _context.Options.Time.GetTimestamp());

    /// <summary>
    /// Called by the store writer after commit, in id order. Never blocks: if the outbox is full
    /// the message stays in the store and the writer loop re-reads it (see <see cref="SendAsync"/>).
    /// </summary>
    internal void Deliver(StoredMessage message)
    {
        if (!_outbox.Writer.TryWrite(ToChatMessage(message)))
        {
            _overflowed = true;
        }
    }

    internal ValueTask ReplyAsync(ServerMessage message) => _outbox.Writer.WriteAsync(message, _closed.Token);

    /// <summary>Runs both loops until the connection ends; the inbox is sent first.</summary>
    internal async Task RunAsync(CancellationToken serverStopping)
    {
        using CancellationTokenSource linked = CancellationTokenSource.CreateLinkedTokenSource(serverStopping, _closed.Token);
        Task writer = WriteLoopAsync(linked.Token);
        Task reader = ReadLoopAsync(linked.Token);
        await Task.WhenAny(reader, writer).ConfigureAwait(false);
        _closed.Cancel();
        _outbox.Writer.TryComplete();
        await Task.WhenAll(Quietly(reader), Quietly(writer)).ConfigureAwait(false);
    }

    /// <summary>Ends the connection, telling the client why.</summary>
    internal void Close(string code, string reason)
    {
        _outbox.Writer.TryWrite(new ErrorMessage(0, code, reason));
        _outbox.Writer.TryComplete();
    }

    internal void Abort() => _closed.Cancel();

    internal void Ping() => _outbox.Writer.TryWrite(new ServerPing());

    private async Task ReadLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            ChannelEvent received = await _channel.ReceiveEventAsync(cancellationToken).ConfigureAwait(false);
            if (received.Kind == ChannelEventKind.OversizeRecordSkipped)
            {
                Touch();
                await ReplyAsync(OversizeRecordReply.For(received.Skipped, _context.Options.MaxBodyLength)).ConfigureAwait(false);
                continue;
            }
            if (received.Message is not { } payload)
            {
                return;
            }
            Touch();
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

    private async Task HandleAsync(ClientMessage request, CancellationToken cancellationToken)
    {
        switch (request)
        {
            case SendRequest send:
                await AcceptSendAsync(send, cancellationToken).ConfigureAwait(false);
                break;
            case BroadcastRequest broadcast:
                await AcceptBroadcastAsync(broadcast, cancellationToken).ConfigureAwait(false);
                break;
            case AckRequest ack when ack.MessageIds is { Length: > 0 and <= 4096 }:
                await _context.Writer.AcknowledgeAsync(User, ack.MessageIds, cancellationToken).ConfigureAwait(false);
                break;
            case ListRequest list:
                await ReplyAsync(new UserList(list.Ref, _context.Presence.OnlineUsers())).ConfigureAwait(false);
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
            default:
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
        if (!await _context.AccountExistsAsync(recipient, cancellationToken).ConfigureAwait(false))
        {
            await ReplyAsync(new ErrorMessage(send.Ref, ErrorCodes.UnknownRecipient, $"there is no user '{recipient}'")).ConfigureAwait(false);
            return;
        }
        NewMessage message = new(User, recipient, _context.Options.Time.GetUtcNow().ToUnixTimeMilliseconds(), send.ContentType, send.Body, Broadcast: false);
        await _inFlight.WaitAsync(cancellationToken).ConfigureAwait(false);
        // Not awaited here: the reader goes on to the next request while this one commits with
        // others (group commit); the in-flight gate bounds how far it can run ahead.
        _ = CompleteSendAsync(send.Ref, message, cancellationToken);
    }

    private async Task CompleteSendAsync(long reference, NewMessage message, CancellationToken cancellationToken)
    {
        try
        {
            AppendResult result = await _context.Writer.AppendAsync(message, cancellationToken).ConfigureAwait(false);
            await ReplyAsync(new SendResult(reference, result.Message.Id, message.Recipient,
                result.Delivered ? DeliveryStatus.Delivered : DeliveryStatus.Queued)).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            _context.Logger.LogError(e, "Storing a message from {User} failed", User);
            await TryReplyAsync(new ErrorMessage(reference, ErrorCodes.Internal, "the server could not store the message; it was not sent")).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ChannelClosedException)
        {
            // The connection or the server is going away; the client gets no result and will not assume delivery.
        }
        finally
        {
            _inFlight.Release();
        }
    }

    private async Task AcceptBroadcastAsync(BroadcastRequest broadcast, CancellationToken cancellationToken)
    {
        if (!await CheckBodyAsync(broadcast.Ref, broadcast.Body, broadcast.ContentType).ConfigureAwait(false))
        {
            return;
        }
        long now = _context.Options.Time.GetUtcNow().ToUnixTimeMilliseconds();
        string[] recipients = _context.Presence.OnlineUsers().Where(u => u != User).ToArray();
        await _inFlight.WaitAsync(cancellationToken).ConfigureAwait(false);
        _ = CompleteBroadcastAsync(broadcast, recipients, now, cancellationToken);
    }

    private async Task CompleteBroadcastAsync(BroadcastRequest broadcast, string[] recipients, long now, CancellationToken cancellationToken)
    {
        try
        {
            await Task.WhenAll(recipients.Select(r => _context.Writer.AppendAsync(
                new NewMessage(User, r, now, broadcast.ContentType, broadcast.Body, Broadcast: true), cancellationToken))).ConfigureAwait(false);
            await ReplyAsync(new BroadcastResult(broadcast.Ref, recipients.Length)).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            _context.Logger.LogError(e, "Storing a broadcast from {User} failed", User);
            await TryReplyAsync(new ErrorMessage(broadcast.Ref, ErrorCodes.Internal, "the server could not store the broadcast")).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ChannelClosedException)
        {
        }
        finally
        {
            _inFlight.Release();
        }
    }

    private async Task<bool> CheckBodyAsync(long reference, byte[]? body, string? contentType)
    {
        if (body is null || string.IsNullOrEmpty(contentType) || contentType.Length > 128)
        {
            await ReplyAsync(new ErrorMessage(reference, ErrorCodes.BadRequest, "a message needs a body and a content type (at most 128 characters)")).ConfigureAwait(false);
            return false;
        }
        if (body.Length > _context.Options.MaxBodyLength)
        {
            await ReplyAsync(new ErrorMessage(reference, ErrorCodes.MessageTooLarge,
                $"the message is {body.Length} bytes; the limit is {_context.Options.MaxBodyLength} bytes")).ConfigureAwait(false);
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

    private const int MaxBatch = 256;

    private async Task WriteLoopAsync(CancellationToken cancellationToken)
    {
        // Acknowledgements from this user's previous connection commit before its inbox is read.
        await _context.Writer.BarrierAsync(cancellationToken).ConfigureAwait(false);
        await SyncFromStoreAsync(cancellationToken).ConfigureAwait(false);
        ChannelReader<ServerMessage> reader = _outbox.Reader;
        // Grows on demand: an idle connection keeps an empty list, not 256 slots.
        List<ReadOnlyMemory<byte>> batch = [];
        while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            // Everything already queued goes out in one write.
            bool closeAfter = false;
            while (batch.Count < MaxBatch && !closeAfter && reader.TryRead(out ServerMessage? message))
            {
                // Catch up from the store before sending anything newer, so ids stay in order.
                if (_overflowed)
                {
                    await FlushAsync(batch, cancellationToken).ConfigureAwait(false);
                    await SyncFromStoreAsync(cancellationToken).ConfigureAwait(false);
                }
                if (message is ChatMessage chat)
                {
                    if (chat.MessageId <= _deliveredUpTo)
                    {
                        continue;
                    }
                    _deliveredUpTo = chat.MessageId;
                }
                batch.Add(MessengerCodec.Encode(message));
                closeAfter = message is ErrorMessage { Ref: 0, Code: ErrorCodes.LoggedInElsewhere or ErrorCodes.ServerShuttingDown };
            }
            await FlushAsync(batch, cancellationToken).ConfigureAwait(false);
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

    private async Task FlushAsync(List<ReadOnlyMemory<byte>> batch, CancellationToken cancellationToken)
    {
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
                IReadOnlyList<StoredMessage> page = await _context.Store.LoadInboxAsync(User, _deliveredUpTo, InboxPage, cancellationToken).ConfigureAwait(false);
                List<ReadOnlyMemory<byte>> encoded = new(page.Count);
                foreach (StoredMessage stored in page)
                {
                    encoded.Add(MessengerCodec.Encode(ToChatMessage(stored)));
                }
                await FlushAsync(encoded, cancellationToken).ConfigureAwait(false);
                if (page.Count > 0)
                {
                    _deliveredUpTo = page[^1].Id;
                }
                if (page.Count < InboxPage)
                {
                    break;
                }
            }
        }
        while (_overflowed);
    }

    private static ChatMessage ToChatMessage(StoredMessage m) =>
        new(m.Id, m.Sender, m.Recipient, m.Timestamp, m.ContentType, m.Body, m.Broadcast);

    private async Task Quietly(Task task)
    {
        try
        {
            await task.ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ParleyProtocolException or ObjectDisposedException or ChannelClosedException or InvalidOperationException)
        {
            if (e is ParleyProtocolException p && p.Error != ProtocolError.ConnectionClosed)
            {
                _context.Logger.LogInformation("Connection of {User} from {Address} ended: {Error}", User, Address, p.Error.WireName());
            }
        }
    }
}
