// Serves one connection over any Stream: admission accounting, the secure channel's handshake,
// the login exchange, then the logged-in ClientConnection. Transports (the TCP acceptor today,
// a WebSocket endpoint later) only accept and hand over a stream and its RemoteParty, so every
// limit, timeout and back-off applies the same whatever carried the bytes.
using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Parley.Messaging;
using Parley.Protocol;
using Parley.Protocol.Handshake;
using Parley.Protocol.Text;
using Parley.Server.Accounts;
using Parley.Server.Delivery;
using Parley.Server.Storage;
using Parley.Transport;
using Parley.Transport.Channels;

namespace Parley.Server.Hosting;

internal sealed class ConnectionHandler
{
    private readonly ServerOptions _options;
    private readonly ServerHandshakeOptions _handshake;
    private long _fullHandshakes;
    private long _resumedHandshakes;
    private readonly LoginExchange _login;
    private readonly ConnectionAdmission _admission;
    private readonly LogRateLimiter _log;
    private readonly ILogger _logger;
    private readonly StoreWriter _writer;
    private readonly IMessageStore _store;
    private readonly Presence _presence;
    private readonly KnownAccounts _accounts;
    private readonly DeviceTokens _tokens;
    private readonly SenderRateLimiter _rateLimiter;
    private readonly DiskSpaceGuard _diskSpace;
    private readonly CancellationToken _handshakesStopping;
    private readonly CancellationToken _serverStopping;
    private readonly ConcurrentDictionary<ServedConnection, bool> _connections = new();

    /// <summary>Files in transit (PROTOCOL.md §11.8), handed to each logged-in connection.</summary>
    internal FileService? Files { get; init; }

    /// <param name="handshakesStopping">Cancelled first when the server stops: handshakes in progress are dropped.</param>
    /// <param name="serverStopping">Cancelled once the grace period is over: logged-in connections end.</param>
    public ConnectionHandler(ServerOptions options, ServerHandshakeOptions handshake, LoginExchange login, ConnectionAdmission admission,
        LogRateLimiter log, ILogger logger, StoreWriter writer, IMessageStore store, Presence presence, KnownAccounts accounts,
        DeviceTokens tokens, SenderRateLimiter rateLimiter, DiskSpaceGuard diskSpace,
        CancellationToken handshakesStopping, CancellationToken serverStopping)
    {
        _options = options;
        _handshake = handshake;
        _login = login;
        _admission = admission;
        _log = log;
        _logger = logger;
        _writer = writer;
        _store = store;
        _presence = presence;
        _accounts = accounts;
        _tokens = tokens;
        _rateLimiter = rateLimiter;
        _diskSpace = diskSpace;
        _handshakesStopping = handshakesStopping;
        _serverStopping = serverStopping;
    }

    internal const string LoggedInElsewhereText = "you logged in on this device from another connection";

    /// <summary>Connections being served now (tracked so a stop can wait for them).</summary>
    public IEnumerable<Task> Connections => _connections.Keys.Select(served => served.Task).OfType<Task>();

    /// <summary>
    /// Admits a new connection from <paramref name="source"/> before any key agreement, or says
    /// why not (logged at a bounded rate). The transport sends the refusal, as cheaply as it can.
    /// </summary>
    public bool TryAdmit(string source, out string refusal)
    {
        AdmissionDecision decision = _admission.TryAdmit(source);
        if (decision == AdmissionDecision.Admitted)
        {
            refusal = "";
            return true;
        }
        refusal = decision switch
        {
            AdmissionDecision.HandshakeRateExceeded => $"too many new connections from your address (at most {_options.HandshakesPerSecondPerSource:0.#} per second)",
            AdmissionDecision.TooManyFromSource => $"too many connections from your address (limit {_options.MaxConnectionsPerAddress})",
            AdmissionDecision.TooManyUnauthenticatedFromSource => $"too many connections from your address that have not logged in (limit {_options.MaxUnauthenticatedPerSource})",
            _ => "the server has too many connections that have not logged in; try again shortly",
        };
        string reason = refusal;
        _log.Write(LogKind.RefusedConnection, l => l.LogWarning("Refused a connection from {Source}: {Reason}", source, reason));
        return false;
    }

    /// <summary>
    /// For a transport with no cheaper way to refuse: admits, or sends the refusal as a plaintext
    /// alert on the stream and disposes it. Then serves the admitted connection.
    /// </summary>
    public async Task AdmitAndServeAsync(Stream stream, RemoteParty remote)
    {
        if (!TryAdmit(remote.Source, out string refusal))
        {
            await using (stream.ConfigureAwait(false))
            {
                await PlaintextAlert.TrySendAsync(stream, ProtocolError.ConnectionLimit, refusal).ConfigureAwait(false);
            }
            return;
        }
        await Serve(stream, remote).ConfigureAwait(false);
    }

    /// <summary>Serves an admitted connection in the background; the handler owns and disposes the stream.</summary>
    public Task Serve(Stream stream, RemoteParty remote)
    {
        // Tracked before it starts and untracked by itself when it ends: no continuation object
        // per connection (10,000 idle connections would each hold one, docs/decisions/0013).
        ServedConnection served = new();
        _connections.TryAdd(served, true);
        served.Task = ServeAdmittedAsync(stream, remote, served);
        return served.Task;
    }

    /// <summary>The key a connection is tracked by while it is served (by reference, unlike its task's result).</summary>
    private sealed class ServedConnection
    {
        public Task? Task { get; set; }

        /// <summary>It logged in: admission counts it no longer as unauthenticated, also when it ends.</summary>
        public bool Authenticated { get; set; }
    }

    private async Task ServeAdmittedAsync(Stream stream, RemoteParty remote, ServedConnection served)
    {
        try
        {
            // The login phase runs in its own method, so its deadline, timer and result are gone
            // once it returns: this method waits as long as the connection lives and holds only
            // what the logged-in connection needs.
            (SecureChannel? channel, ClientConnection? connection) = await LogInAsync(stream, remote, served).ConfigureAwait(false);
            if (channel is not null)
            {
                await using (channel.ConfigureAwait(false))
                {
                    if (connection is not null)
                    {
                        try
                        {
                            await connection.RunAsync(_serverStopping).ConfigureAwait(false);
                        }
                        finally
                        {
                            _presence.Unregister(connection);
                            if (_logger.IsEnabled(LogLevel.Information))
                            {
                                _logger.LogInformation("{User} disconnected", UntrustedText.Sanitize(connection.User));
                            }
                        }
                    }
                }
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException)
        {
            // The peer went away (ChannelException is an IOException); nothing to report.
        }
        catch (Exception e)
        {
            // A bug, but one a client may be able to trigger at will: rate-limited like the lines outsiders cause.
            _log.Write(LogKind.ConnectionFailedUnexpectedly, l => l.LogError(e, "Connection from {Address} failed unexpectedly", remote.Address));
        }
        finally
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            _admission.Release(remote.Source, served.Authenticated);
            _connections.TryRemove(served, out _);
        }
    }

    /// <summary>Handshakes completed so far, full and resumed (PROTOCOL.md §5.9).</summary>
    public HandshakeCounts Handshakes => new(Interlocked.Read(ref _fullHandshakes), Interlocked.Read(ref _resumedHandshakes));

    /// <summary>
    /// The handshake and the login, under the login deadline. Returns the channel (null when the
    /// handshake failed; the caller disposes it otherwise) and the logged-in connection (null when
    /// the login did not complete); marks <paramref name="served"/> authenticated once it is.
    /// </summary>
    private async Task<(SecureChannel? Channel, ClientConnection? Connection)> LogInAsync(Stream stream, RemoteParty remote, ServedConnection served)
    {
        using CancellationTokenSource loginDeadline = CancellationTokenSource.CreateLinkedTokenSource(_serverStopping);
        using ITimer loginTimer = Deadline.CancelAfter(loginDeadline, _options.LoginTimeout, _options.Time);
        SecureChannel channel;
        try
        {
            using CancellationTokenSource handshakeCancel = CancellationTokenSource.CreateLinkedTokenSource(loginDeadline.Token, _handshakesStopping);
            channel = await SecureChannel.AcceptAsync(stream, _handshake, _options.HandshakeTimeout, handshakeCancel.Token).ConfigureAwait(false);
        }
        catch (ParleyProtocolException e)
        {
            _log.Write(LogKind.HandshakeFailed, l => l.LogInformation("Handshake with {Address} failed: {Error}", remote.Address, UntrustedText.Sanitize(e.Message)));
            return (null, null);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException)
        {
            return (null, null);
        }
        if (channel.Resumed)
        {
            Interlocked.Increment(ref _resumedHandshakes);
            _logger.LogDebug("Handshake with {Address} resumed from a session ticket (no signature)", remote.Address);
        }
        else
        {
            Interlocked.Increment(ref _fullHandshakes);
        }
        try
        {
            LoginResult? login = await _login.RunAsync(channel, remote.Address, remote.Source, loginDeadline.Token, _serverStopping).ConfigureAwait(false);
            if (login is null)
            {
                return (channel, null);
            }
            _admission.Authenticated(remote.Source);
            served.Authenticated = true;
            // Only a logged-in user may have requests skipped and answered; before that an
            // oversize record ends the connection at its header.
            channel.AllowOversizeRecords(_options.MaxOversizeRecordsPerConnection);
            // Online before the client hears it is logged in, so a `list` or a message sent right
            // after sees it. Nothing reaches it early: its outbox is drained only by RunAsync.
            ClientConnection connection = new(channel, new LoggedInDevice(login.User, login.DeviceId ?? ""), remote.Address, _options,
                _writer, _store, _presence, _accounts, _tokens, _rateLimiter, _diskSpace, _logger)
            {
                Files = Files,
                Compact = login.Compact is not null,
            };
            ClientConnection? previous = _presence.Register(connection, out bool firstHere);
            previous?.Close(ErrorCodes.LoggedInElsewhere, LoggedInElsewhereText);
            if (_presence.Cluster is { } cluster)
            {
                // Recorded in the cluster before the inbox is read: a message committed on any node
                // from now on is routed here, and one committed before is in the store.
                await cluster.DeviceOnlineAsync(connection, firstHere).ConfigureAwait(false);
            }
            try
            {
                await channel.SendAsync(MessengerCodec.Encode(login), loginDeadline.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is ChannelException or ParleyProtocolException or OperationCanceledException)
            {
                _presence.Unregister(connection);
                return (channel, null);
            }
            // Most connections fall quiet after logging in (a reconnect storm, 10,000 idle clients):
            // the cipher contexts go now rather than 2 s later, so a storm does not hold thousands
            // of them at once; the next record recreates its direction's (docs/decisions/0013).
            channel.ReleaseIdleState();
            // Guarded: the arguments (a sanitised copy of the name, a boxed array) cost every login even when the level is off.
            if (_logger.IsEnabled(LogLevel.Information))
            {
                _logger.LogInformation("{User} logged in from {Address}", UntrustedText.Sanitize(login.User), remote.Address);
            }
            return (channel, connection);
        }
        catch (Exception)
        {
            // The caller disposes the channel only when it gets it back.
            await channel.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}
