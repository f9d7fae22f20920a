// The messenger client: connects over the secure channel, logs in, sends requests and matches
// their results by reference, and hands incoming messages to a handler. A message is
// acknowledged to the server only after the handler has run and the "last seen" id is saved, so
// a crash re-delivers rather than loses, and the saved id lets the client drop the duplicate.
using System.Collections.Concurrent;
using System.Net.Sockets;
using Parley.Messaging;
using Parley.Messaging.Compact;
using Parley.Protocol;
using Parley.Protocol.Handshake;
using Parley.Transport;
using Parley.Transport.Channels;
using Parley.Transport.Diagnosis;

namespace Parley.Client;

public sealed partial class ChatClient : IAsyncDisposable
{
    private readonly SecureChannel _channel;
    private readonly ConcurrentDictionary<long, TaskCompletionSource<ServerMessage>> _pending = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly System.Threading.Channels.Channel<long> _acks = System.Threading.Channels.Channel.CreateUnbounded<long>(
        new System.Threading.Channels.UnboundedChannelOptions { SingleReader = true });
    private long _nextRef;
    private Task _readLoop = Task.CompletedTask;
    private Task _ackLoop = Task.CompletedTask;

    private ChatClient(SecureChannel channel) => _channel = channel;

    public string Group => _channel.Group;
    public string Suite => _channel.Suite;
    public PeerIdentity ServerIdentity => _channel.ServerIdentity!;

    /// <summary>The handshake resumed from a session ticket: the server did not sign (PROTOCOL.md §5.9).</summary>
    public bool Resumed => _channel.Resumed;
    public string? User { get; private set; }

    /// <summary>The account's random id from the login result (null when the server did not say).</summary>
    public string? AccountId { get; private set; }

    /// <summary>The server's largest message body in bytes, from the login result; larger ones are refused before sending.</summary>
    /// <remarks>Tests raise it to play a client that ignores the limit (the server must still refuse).</remarks>
    public int MaxBodyLength { get; internal set; } = MessengerLimits.DefaultMaxBodyLength;

    /// <summary>
    /// Runs after a successful login and before any message is handled: the place to load what the
    /// client remembers about this server and account (<see cref="LastSeenId"/>, <see cref="SaveLastSeen"/>).
    /// </summary>
    public Action<LoginResult>? LoggedIn { get; set; }

    /// <summary>The id of the device token this connection logged in with (or was just given), as <see cref="ListDevicesAsync"/> shows it.</summary>
    public string? DeviceId { get; private set; }

    /// <summary>
    /// Ids at or below this were handled before (possibly in an earlier run); they are acknowledged
    /// again, not shown. Only meaningful for one server key and account id: set it in <see cref="LoggedIn"/>.
    /// </summary>
    public long LastSeenId { get; set; }

    /// <summary>
    /// Shows or stores an incoming message. Runs on the reader loop, one message at a time, in id
    /// order. Set it before logging in: messages that arrive while it is null are not acknowledged.
    /// </summary>
    public Func<ChatMessage, ValueTask>? MessageHandler { get; set; }

    /// <summary>Saves <see cref="LastSeenId"/> durably before the acknowledgement goes out.</summary>
    public Action<long>? SaveLastSeen { get; set; }

    /// <summary>Server notices not tied to a request (for example, logged in elsewhere, shutting down).</summary>
    public Action<ErrorMessage>? NoticeHandler { get; set; }

    /// <summary>A watched user came online or went offline (<see cref="WatchPresenceAsync"/>).</summary>
    public Action<PresenceChanged>? PresenceHandler { get; set; }

    /// <summary>
    /// Ask at login for the compact form (PROTOCOL.md §11.9): sends, acks, messages and send results
    /// as binary, several to a record. On by default; off speaks JSON only, as older clients do.
    /// </summary>
    public bool UseCompactForm { get; set; } = true;

    /// <summary>The server agreed to the compact form at login.</summary>
    public bool CompactAgreed { get; private set; }

    /// <summary>Completes when the connection ends: normally, or with the error that ended it.</summary>
    public Task Completion => _readLoop;

    public static async Task<ChatClient> ConnectAsync(string host, int port, ClientChannelOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        try
        {
            return await ConnectOnceAsync(host, port, options, cancellationToken).ConfigureAwait(false);
        }
        catch (ParleyProtocolException e) when (e.DuringResumption)
        {
            // A server that refused our session ticket (one from before resumption): the ticket
            // was taken from the store, so this connection runs the full handshake (§5.9).
            return await ConnectOnceAsync(host, port, options, cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task<ChatClient> ConnectOnceAsync(string host, int port, ClientChannelOptions options, CancellationToken cancellationToken)
    {
        TcpClient tcp;
        try
        {
            tcp = await TcpDialer.ConnectAsync(host, port, TransportTimeouts.Connect, cancellationToken).ConfigureAwait(false);
        }
        catch (ConnectFailedException e)
        {
            throw new ChatConnectionException(e.Message, e);
        }
        try
        {
            return await ConnectAsync(tcp.GetStream(), options, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Runs the secure-channel handshake over any connected byte stream (TCP, a WebSocket, an
    /// in-memory pipe) and returns the client. Once connected, the client owns the stream and
    /// disposes it with itself; if the handshake fails, the stream stays the caller's to dispose.
    /// </summary>
    public static async Task<ChatClient> ConnectAsync(Stream stream, ClientChannelOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        SecureChannel channel = await SecureChannel.ConnectAsync(stream, options, cancellationToken).ConfigureAwait(false);
        return new ChatClient(channel);
    }

    /// <summary>Logs in with a password (registering the name on first use, as clients did before the register field) or a device token.</summary>
    public Task<LoginResult> LoginAsync(string user, string? password, string? deviceToken, CancellationToken cancellationToken = default) =>
        LoginAsync(user, password, deviceToken, register: null, cancellationToken);

    /// <summary>
    /// Logs in with a password or a device token; <paramref name="register"/> says whether a
    /// password login may register an unknown name (false: the server answers <c>unknown_user</c>;
    /// null: the field is left out and the server registers, PROTOCOL.md §11.1).
    /// </summary>
    public async Task<LoginResult> LoginAsync(string user, string? password, string? deviceToken, bool? register, CancellationToken cancellationToken = default)
    {
        await SendAsync(new LoginRequest(user, deviceToken is null ? password : null, deviceToken, deviceToken is null ? register : null,
            UseCompactForm ? CompactForm.Version : null), cancellationToken).ConfigureAwait(false);
        while (true)
        {
            byte[] payload = await _channel.ReceiveAsync(cancellationToken).ConfigureAwait(false)
                ?? throw new ChatConnectionException("the server closed the connection during login");
            ServerMessage message = MessengerCodec.DecodeServer(payload);
            switch (message)
            {
                case LoginResult result:
                    if (result.Success)
                    {
                        User = result.User;
                        AccountId = result.AccountId;
                        MaxBodyLength = result.MaxBodyLength > 0 ? result.MaxBodyLength : MessengerLimits.DefaultMaxBodyLength;
                        DeviceId = result.DeviceId;
                        // Only the version asked for: anything else would be records this client cannot read.
                        if (result.Compact is { } agreed && (!UseCompactForm || agreed != CompactForm.Version))
                        {
                            throw new ChatConnectionException($"the server answered with compact form version {agreed}, which this client did not ask for (PROTOCOL.md §11.9)");
                        }
                        CompactAgreed = result.Compact == CompactForm.Version;
                        LoggedIn?.Invoke(result);
                        // From here the read loop answers, and marks the end when it ends.
                        Volatile.Write(ref _ended, null);
                        _readLoop = Task.Run(ReadLoopAsync);
                        _ackLoop = Task.Run(AckLoopAsync);
                    }
                    return result;
                case ErrorMessage error:
                    throw new ChatException(error.Code, error.Message);
            }
        }
    }

    public async Task<SendResult> SendTextAsync(string to, string text, CancellationToken cancellationToken = default) =>
        await SendMessageAsync(to, MessengerLimits.TextContentType, System.Text.Encoding.UTF8.GetBytes(text), cancellationToken).ConfigureAwait(false);

    /// <exception cref="MessageTooLargeException">The body is over <see cref="MaxBodyLength"/>; nothing was sent.</exception>
    public async Task<SendResult> SendMessageAsync(string to, string contentType, byte[] body, CancellationToken cancellationToken = default)
    {
        CheckBodyLength(body);
        long reference = Interlocked.Increment(ref _nextRef);
        return (SendResult)await RequestAsync(reference, new SendRequest(reference, to, contentType, body), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends to one device of <paramref name="to"/> alone (as end-to-end ciphertexts are sent); <c>unknown_device</c> when it has none by that id.</summary>
    /// <exception cref="MessageTooLargeException">The body is over <see cref="MaxBodyLength"/>; nothing was sent.</exception>
    public async Task<SendResult> SendToDeviceAsync(string to, string deviceId, string contentType, byte[] body, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(deviceId);
        CheckBodyLength(body);
        long reference = Interlocked.Increment(ref _nextRef);
        return (SendResult)await RequestAsync(reference, new SendRequest(reference, to, contentType, body, deviceId), cancellationToken).ConfigureAwait(false);
    }

    public async Task<int> BroadcastTextAsync(string text, CancellationToken cancellationToken = default)
    {
        long reference = Interlocked.Increment(ref _nextRef);
        byte[] body = System.Text.Encoding.UTF8.GetBytes(text);
        CheckBodyLength(body);
        BroadcastRequest request = new(reference, MessengerLimits.TextContentType, body);
        return ((BroadcastResult)await RequestAsync(reference, request, cancellationToken).ConfigureAwait(false)).Recipients;
    }

    // A record over the server's limit is a protocol violation that ends the session (frame_too_large),
    // so an oversized message is refused here, where the session can go on.
    private void CheckBodyLength(byte[] body)
    {
        if (body.Length > MaxBodyLength)
        {
            throw new MessageTooLargeException(body.Length, MaxBodyLength);
        }
    }

    /// <summary>Pages a <c>list</c> asks for at most: with <see cref="MessengerLimits.ListPageSize"/> names a page, 12,800 users.</summary>
    public const int MaxListPages = 100;

    /// <summary>Who is online, sorted: every page the server has, up to <see cref="MaxListPages"/>.</summary>
    public async Task<string[]> ListAsync(CancellationToken cancellationToken = default)
    {
        List<string> users = [];
        string? after = null;
        for (int page = 0; page < MaxListPages; page++)
        {
            long reference = Interlocked.Increment(ref _nextRef);
            UserList reply = (UserList)await RequestAsync(reference, new ListRequest(reference, after), cancellationToken).ConfigureAwait(false);
            users.AddRange(reply.Users);
            // A page that does not move forward would loop for ever: stop on it.
            if (!reply.More || reply.Users.Length == 0 || (after is not null && string.CompareOrdinal(reply.Users[^1], after) <= 0))
            {
                break;
            }
            after = reply.Users[^1];
        }
        return [.. users];
    }

    /// <summary>Publishes this device's public end-to-end keys (PROTOCOL.md §11.5); returns the one-time keys it has left on the server.</summary>
    public async Task<KeysPublished> PublishKeysAsync(byte[] identityKey, byte[]? signedPrekey, byte[]? lastResortKemPrekey,
        byte[][]? oneTimePrekeys, byte[][]? oneTimeKemPrekeys, CancellationToken cancellationToken = default)
    {
        long reference = Interlocked.Increment(ref _nextRef);
        PublishKeysRequest request = new(reference, identityKey, signedPrekey, lastResortKemPrekey, oneTimePrekeys, oneTimeKemPrekeys);
        return (KeysPublished)await RequestAsync(reference, request, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One bundle per device of <paramref name="user"/> that has published keys; each fetch uses up one-time keys.</summary>
    public async Task<BundleList> FetchBundlesAsync(string user, CancellationToken cancellationToken = default) =>
        await FetchBundlesAsync(user, null, cancellationToken).ConfigureAwait(false);

    /// <summary>Hears from now on when one of <paramref name="users"/> comes online or goes offline (replacing an earlier watch); returns those online now.</summary>
    public async Task<string[]> WatchPresenceAsync(IReadOnlyCollection<string> users, CancellationToken cancellationToken = default)
    {
        long reference = Interlocked.Increment(ref _nextRef);
        return ((PresenceWatched)await RequestAsync(reference, new WatchPresenceRequest(reference, [.. users]), cancellationToken).ConfigureAwait(false)).Online;
    }

    /// <summary>Bundles of only <paramref name="devices"/> of <paramref name="user"/> (all of them when null).</summary>
    public async Task<BundleList> FetchBundlesAsync(string user, IReadOnlyCollection<string>? devices, CancellationToken cancellationToken = default)
    {
        long reference = Interlocked.Increment(ref _nextRef);
        return (BundleList)await RequestAsync(reference, new FetchBundlesRequest(reference, user, devices?.ToArray()), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>This account's devices (live device tokens), most recently used first.</summary>
    public async Task<DeviceInfo[]> ListDevicesAsync(CancellationToken cancellationToken = default)
    {
        long reference = Interlocked.Increment(ref _nextRef);
        return ((DeviceList)await RequestAsync(reference, new DevicesRequest(reference), cancellationToken).ConfigureAwait(false)).Devices;
    }

    /// <summary>Revokes one of this account's devices; revoking this connection's own device also ends the connection.</summary>
    public async Task RevokeDeviceAsync(string deviceId, CancellationToken cancellationToken = default)
    {
        long reference = Interlocked.Increment(ref _nextRef);
        await RequestAsync(reference, new RevokeDeviceRequest(reference, deviceId), cancellationToken).ConfigureAwait(false);
    }

    private async Task<ServerMessage> RequestAsync(long reference, ClientMessage request, CancellationToken cancellationToken)
    {
        TaskCompletionSource<ServerMessage> completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[reference] = completion;
        try
        {
            await SendAsync(request, cancellationToken).ConfigureAwait(false);
            ServerMessage reply = await AnswerOrEndAsync(completion, cancellationToken).ConfigureAwait(false);
            return reply is ErrorMessage error ? throw new ChatException(error.Code, error.Message) : reply;
        }
        finally
        {
            _pending.TryRemove(reference, out _);
        }
    }

    /// <summary>
    /// The answer to a registered request, or <see cref="ChatConnectionException"/> once the read
    /// loop has ended without giving one. The read loop answers requests and, as it ends, fails what
    /// is pending; a request registered after that (the server died between the caller's last look
    /// and here, and the write still went into the socket, as writes after a FIN do) would otherwise
    /// wait for ever, and `parley chat` with it, never saying the connection was lost.
    /// </summary>
    private async Task<ServerMessage> AnswerOrEndAsync(TaskCompletionSource<ServerMessage> completion, CancellationToken cancellationToken)
    {
        await Task.WhenAny(completion.Task, _readLoop).WaitAsync(cancellationToken).ConfigureAwait(false);
        // Answers and failures are set on the read loop before it completes: if it completed first, none is coming.
        return completion.Task.IsCompleted
            ? await completion.Task.ConfigureAwait(false)
            : throw new ChatConnectionException("the connection to the server was closed");
    }

    private ValueTask SendAsync(ClientMessage message, CancellationToken cancellationToken) =>
        _channel.SendAsync(Encode(message), cancellationToken);

    /// <summary>A request as its own record: compact when agreed and it has a compact form, else JSON.</summary>
    private byte[] Encode(ClientMessage message) =>
        (CompactAgreed ? CompactWriter.ToArray(message) : null) ?? MessengerCodec.Encode(message);

    private async Task ReadLoopAsync()
    {
        try
        {
            while (true)
            {
                byte[]? payload = await _channel.ReceiveAsync(_stop.Token).ConfigureAwait(false);
                if (payload is null)
                {
                    return;
                }
                if (CompactForm.IsCompact(payload))
                {
                    foreach (ServerMessage message in DecodeCompact(payload))
                    {
                        await DispatchAsync(message).ConfigureAwait(false);
                    }
                    // Handled: the list holds no message past its record.
                    _decoded.Clear();
                    continue;
                }
                await DispatchAsync(MessengerCodec.DecodeServer(payload)).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is ChannelException or ParleyProtocolException or MessengerProtocolException)
        {
            FailPending(new ChatConnectionException("the connection to the server was lost: " + e.Message, e));
            throw new ChatConnectionException("the connection to the server was lost: " + e.Message, e);
        }
        finally
        {
            FailPending(new ChatConnectionException("the connection to the server was closed"));
        }
    }

    /// <summary>
    /// Every message of a compact record, read before any is handled. A malformed record, or one
    /// the client never asked for, is a broken server: the connection ends, nothing is acknowledged.
    /// </summary>
    private List<ServerMessage> DecodeCompact(byte[] payload)
    {
        if (!CompactAgreed)
        {
            throw new MessengerProtocolException("the server sent a compact record, but the compact form was not agreed at login");
        }
        // The read loop's own list, used again for each record: it is done with the last one's
        // messages before it reads the next record.
        List<ServerMessage> messages = _decoded;
        messages.Clear();
        CompactReader reader = new(payload) { LastContentType = _lastContentType };
        while (!reader.AtEnd)
        {
            messages.Add(reader.ReadServer());
        }
        _lastContentType = reader.LastContentType;
        return messages;
    }

    private string? _lastContentType;
    private readonly List<ServerMessage> _decoded = [];

    private async Task DispatchAsync(ServerMessage message)
    {
        switch (message)
        {
            case ChatMessage chat:
                // Without a handler nothing was shown or stored, so nothing may be acknowledged:
                // the message stays in the inbox for a client that will handle it.
                if (MessageHandler is null)
                {
                    break;
                }
                // An id at or below LastSeenId was shown before and its ack was lost: ack it again,
                // silently. That holds only while LastSeenId belongs to this server key and account
                // (see LoggedIn): ids restart when a database is reset.
                if (chat.MessageId > LastSeenId)
                {
                    await MessageHandler(chat).ConfigureAwait(false);
                    LastSeenId = chat.MessageId;
                    SaveLastSeen?.Invoke(chat.MessageId);
                }
                _acks.Writer.TryWrite(chat.MessageId);
                break;
            case SendResult r:
                Complete(r.Ref, r);
                break;
            case BroadcastResult r:
                Complete(r.Ref, r);
                break;
            case UserList r:
                Complete(r.Ref, r);
                break;
            case DeviceList r:
                Complete(r.Ref, r);
                break;
            case DeviceRevoked r:
                Complete(r.Ref, r);
                break;
            case KeysPublished r:
                Complete(r.Ref, r);
                break;
            case BundleList r:
                Complete(r.Ref, r);
                break;
            case PresenceWatched r:
                Complete(r.Ref, r);
                break;
            case GroupInfo r:
                Complete(r.Ref, r);
                break;
            case GroupLeft r:
                Complete(r.Ref, r);
                break;
            case GroupListResult r:
                Complete(r.Ref, r);
                break;
            case GroupSendResult r:
                Complete(r.Ref, r);
                break;
            case GroupDeclined r:
                Complete(r.Ref, r);
                break;
            case GroupAllowResult r:
                Complete(r.Ref, r);
                break;
            case PresenceChanged change:
                PresenceHandler?.Invoke(change);
                break;
            case FileUploadState r:
                Complete(r.Ref, r);
                break;
            case FileUploaded r:
                Complete(r.Ref, r);
                break;
            case FileDoneResult r:
                Complete(r.Ref, r);
                break;
            case FileData data:
                DeliverFileData(data);
                break;
            case ErrorMessage { Ref: not 0 } error:
                Complete(error.Ref, error);
                break;
            case ErrorMessage notice:
                NoticeHandler?.Invoke(notice);
                break;
            case ServerPing:
                await SendAsync(new PongMessage(), _stop.Token).ConfigureAwait(false);
                break;
        }
    }

    /// <summary>
    /// Sends acknowledgements in batches: whatever has been handled since the last one went out.
    /// Under load that is one record for many messages; when idle, one per message, at once.
    /// </summary>
    private async Task AckLoopAsync()
    {
        System.Threading.Channels.ChannelReader<long> reader = _acks.Reader;
        List<long> ids = [];
        try
        {
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                ids.Clear();
                // Within the record limit in either form: a compact id is 8 bytes, more than JSON's for small ids.
                int most = MessengerLimits.AckIdsPerRecord(MaxBodyLength);
                while (ids.Count < most && reader.TryRead(out long id))
                {
                    ids.Add(id);
                }
                await SendAsync(new AckRequest([.. ids]), CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is ChannelException or ParleyProtocolException)
        {
            // The connection is gone: unacknowledged messages stay in the inbox and come again.
        }
    }

    private void Complete(long reference, ServerMessage message)
    {
        if (TryAnswerSend(reference, message))
        {
            return;
        }
        if (_pending.TryRemove(reference, out TaskCompletionSource<ServerMessage>? completion))
        {
            completion.TrySetResult(message);
        }
        else if (message is ErrorMessage error)
        {
            FailFileTransfer(reference, error);
        }
    }

    /// <summary>
    /// Set until a login starts the read loop, and again as the loop ends, before it fails what is pending: whatever registers for an
    /// answer afterwards looks here (after its registration, behind a full fence, or under the sinks'
    /// lock), so it either is failed by the loop or sees the end itself. Nothing waits for ever.
    /// </summary>
    private ChatConnectionException? _ended = new("the client is not logged in: no answer can come");

    private void FailPending(ChatConnectionException error)
    {
        Interlocked.CompareExchange(ref _ended, error, null);
        FailFileTransfers(error);
        LoseAllSendAnswers(error);
        foreach (long key in _pending.Keys)
        {
            if (_pending.TryRemove(key, out TaskCompletionSource<ServerMessage>? completion))
            {
                completion.TrySetException(error);
            }
        }
    }

    /// <summary>Sends the acknowledgements still pending, says goodbye (close_notify) and waits for the reader to finish.</summary>
    public async Task CloseAsync()
    {
        _acks.Writer.TryComplete();
        await _ackLoop.ConfigureAwait(false);
        try
        {
            await _channel.CloseAsync().ConfigureAwait(false);
        }
        catch (ChannelException)
        {
        }
        _stop.Cancel();
        try
        {
            await _readLoop.ConfigureAwait(false);
        }
        catch (ChatConnectionException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _acks.Writer.TryComplete();
        try
        {
            await _readLoop.ConfigureAwait(false);
        }
        catch (ChatConnectionException)
        {
        }
        await _channel.DisposeAsync().ConfigureAwait(false);
    }
}
