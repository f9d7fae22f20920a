// The messenger server: accepts TCP connections, runs the secure channel's handshake, logs the
// user in, then hands the connection to a ClientConnection. Everything is async; no thread per
// client. Stopping: stop accepting, close connections, commit what is queued, close the store.
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Parley.Crypto.Signing;
using Parley.Messaging;
using Parley.Protocol;
using Parley.Protocol.Framing;
using Parley.Protocol.Handshake;
using Parley.Protocol.Text;
using Parley.Server.Accounts;
using Parley.Server.Delivery;
using Parley.Server.Storage;
using Parley.Transport;
using Parley.Transport.Channels;
using Parley.Transport.Identity;

namespace Parley.Server.Hosting;

public sealed class ParleyServer : IAsyncDisposable
{
    private readonly ServerOptions _options;
    private readonly TcpListener _listener;
    private readonly SigningKey _identity;
    private readonly ServerContext _context;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    // Cancelled first when stopping: the accept loop ends quietly and handshakes in progress are dropped.
    private readonly CancellationTokenSource _acceptStopping = new();
    private readonly ConcurrentDictionary<Task, bool> _connections = new();
    private readonly ConnectionAdmission _admission;
    private readonly LogRateLimiter _log;
    private readonly ServerHandshakeOptions _handshake;
    private readonly LoginExchange _login;
    private Task _acceptLoop = Task.CompletedTask;
    private Task _keepAliveLoop = Task.CompletedTask;
    private Task _maintenanceLoop = Task.CompletedTask;
    private int _stopped;

    private ParleyServer(ServerOptions options, TcpListener listener, SigningKey identity, ServerContext context, ILogger logger)
    {
        _options = options;
        _listener = listener;
        _identity = identity;
        _context = context;
        _logger = logger;
        _admission = new ConnectionAdmission(options);
        _log = new LogRateLimiter(logger, options.Time, options.LogLinesPerSecond);
        _login = new LoginExchange(context.Accounts, logger, options.Time, options.LoginTimeout, options.MaxBodyLength, context.RememberAccount);
        _handshake = new ServerHandshakeOptions(identity)
        {
            Groups = options.Groups,
            Suites = options.Suites,
            Limits = new RecordLimits { MaxPlaintextLength = MessengerLimits.RecordLimitFor(options.MaxBodyLength) },
        };
    }

    public IPEndPoint LocalEndPoint => (IPEndPoint)_listener.LocalEndpoint;

    public string Fingerprint => Crypto.Signing.Fingerprint.Of(_identity.Algorithm, _identity.PublicKey);
    public string IdentityAlgorithm => _identity.Algorithm.Name;

    public bool CreatedIdentity { get; private init; }

    public string DataDirectory => Path.GetFullPath(_options.DataDirectory);

    public Presence Presence => _context.Presence;

    internal Maintenance Maintenance { get; private init; } = null!;

    /// <summary>Connections accepted that have not logged in yet (bounded by <see cref="ServerOptions.MaxUnauthenticatedConnections"/>).</summary>
    public int UnauthenticatedConnections => _admission.Unauthenticated;

    /// <summary>The PBKDF2 engine, for tests that count what an attacker's guesses cost.</summary>
    internal PasswordHasher PasswordHasher => _context.Accounts.Hasher;

    /// <summary>
    /// Starts listening, then opens the data directory (creating it and the identity on first run).
    /// Binding comes first so that a busy port fails before anything is written; a later failure
    /// removes exactly what this start created.
    /// </summary>
    public static async Task<ParleyServer> StartAsync(ServerOptions options, ILoggerFactory loggerFactory, CancellationToken cancellationToken = default)
    {
        ILogger logger = loggerFactory.CreateLogger("Parley.Server");
        DeliveryLimits.Validate(options);
        IPAddress address = await ResolveAsync(options.Host, cancellationToken).ConfigureAwait(false);
        TcpListener listener = new(address, options.Port);
        listener.Server.NoDelay = true;
        listener.Start(backlog: 4096);
        StartupFootprint footprint = StartupFootprint.Before(options.DataDirectory, options.IdentityPath, options.DatabasePath);
        SigningKey? identity = null;
        IMessageStore? store = null;
        try
        {
            if (footprint.CreatesDirectory)
            {
                if (OperatingSystem.IsWindows())
                {
                    Directory.CreateDirectory(options.DataDirectory);
                }
                else
                {
                    Directory.CreateDirectory(options.DataDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                }
            }
            identity = IdentityFile.LoadOrCreate(options.IdentityPath, SignatureAlgorithms.Ed25519, out bool created);
            store = await SqliteMessageStore.OpenAsync(options.DatabasePath, cancellationToken).ConfigureAwait(false);
            return StartServing(options, listener, identity, created, store, logger);
        }
        catch
        {
            listener.Stop();
            if (store is not null)
            {
                await store.DisposeAsync().ConfigureAwait(false);
            }
            identity?.Dispose();
            footprint.Undo(logger);
            throw;
        }
    }

    private static ParleyServer StartServing(ServerOptions options, TcpListener listener, SigningKey identity, bool createdIdentity, IMessageStore store, ILogger logger)
    {
        Presence presence = new();
        AccountService accounts = new(store, new PasswordHasher(options.PasswordIterations, options.MaxConcurrentPasswordHashes),
            new LoginThrottle(options.Time, failuresPerMinute: options.LoginFailuresPerMinute),
            new RegistrationLimiter(options.Time, options.RegistrationsPerSourcePerHour, options.RegistrationsPerMinute), options.Time)
        {
            Tokens = new DeviceTokens(store, options.Time, options.DeviceTokenExpiry, options.MaxDevicesPerAccount),
        };
        ServerContext context = new(options, store, presence, accounts, logger);
        context.Writer = new StoreWriter(store, presence, logger, new InboxQuota(store, options.MaxInboxMessages, options.MaxInboxBytes));
        ParleyServer server = new(options, listener, identity, context, logger) { CreatedIdentity = createdIdentity, Maintenance = new Maintenance(context) };
        server._acceptLoop = Task.Run(server.AcceptLoopAsync);
        server._keepAliveLoop = Task.Run(server.KeepAliveLoopAsync);
        server._maintenanceLoop = server.Maintenance.Start(server._stopping.Token);
        logger.LogInformation("Listening on {EndPoint}", server.LocalEndPoint);
        return server;
    }

    private static async Task<IPAddress> ResolveAsync(string host, CancellationToken cancellationToken)
    {
        if (IPAddress.TryParse(host, out IPAddress? literal))
        {
            return literal;
        }
        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            return IPAddress.Loopback;
        }
        IPAddress[] addresses = await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
        return addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses[0];
    }

    private async Task AcceptLoopAsync()
    {
        CancellationToken stopping = _acceptStopping.Token;
        while (!stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is ObjectDisposedException or InvalidOperationException)
            {
                // The listener is gone: retrying would only spin. StopAsync cancels first, so
                // reaching this means something else closed it.
                _logger.LogError("The listener closed unexpectedly; no longer accepting connections: {Message}", e.Message);
                return;
            }
            catch (SocketException e)
            {
                // A connection reset before it was accepted, or descriptors exhausted: go on, but
                // without spinning or flooding the log while the condition lasts.
                _log.Write(LogKind.AcceptFailed, l => l.LogWarning("Accept failed: {Message}", e.Message));
                await PauseAfterAcceptFailureAsync(e, stopping).ConfigureAwait(false);
                continue;
            }
            string source = AddressBlock.Of((socket.RemoteEndPoint as IPEndPoint)?.Address);
            AdmissionDecision decision = _admission.TryAdmit(source);
            if (decision != AdmissionDecision.Admitted)
            {
                Refuse(socket, source, decision);
                continue;
            }
            Task connection = HandleConnectionAsync(socket, source);
            _connections.TryAdd(connection, true);
            _ = connection.ContinueWith(t => _connections.TryRemove(t, out _), TaskScheduler.Default);
        }
    }

    private static async Task PauseAfterAcceptFailureAsync(SocketException e, CancellationToken stopping)
    {
        if (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
        {
            return;
        }
        try
        {
            await Task.Delay(AcceptFailurePause, stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static readonly TimeSpan AcceptFailurePause = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Refuses in the accept loop itself: one non-blocking send of a small alert into the new
    /// socket's empty buffer, then close. No task, no read, no key agreement.
    /// </summary>
    private void Refuse(Socket socket, string source, AdmissionDecision decision)
    {
        string reason = decision switch
        {
            AdmissionDecision.HandshakeRateExceeded => $"too many new connections from your address (at most {_options.HandshakesPerSecondPerSource:0.#} per second)",
            AdmissionDecision.TooManyFromSource => $"too many connections from your address (limit {_options.MaxConnectionsPerAddress})",
            AdmissionDecision.TooManyUnauthenticatedFromSource => $"too many connections from your address that have not logged in (limit {_options.MaxUnauthenticatedPerSource})",
            _ => "the server has too many connections that have not logged in; try again shortly",
        };
        _log.Write(LogKind.RefusedConnection, l => l.LogWarning("Refused a connection from {Source}: {Reason}", source, reason));
        using (socket)
        {
            PlaintextAlert.TrySendAndShutdown(socket, ProtocolError.ConnectionLimit, reason);
        }
    }

    private async Task HandleConnectionAsync(Socket socket, string source)
    {
        string address = (socket.RemoteEndPoint as IPEndPoint)?.Address.ToString() ?? "unknown";
        socket.NoDelay = true;
        NetworkStream stream = new(socket, ownsSocket: true);
        bool authenticated = false;
        try
        {
            await ServeAsync(stream, address, () =>
            {
                _admission.Authenticated(source);
                authenticated = true;
            }).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or SocketException)
        {
            // The peer went away; nothing to report.
        }
        catch (Exception e)
        {
            _logger.LogError(e, "Connection from {Address} failed unexpectedly", address);
        }
        finally
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            _admission.Release(source, authenticated);
        }
    }

    private async Task ServeAsync(NetworkStream stream, string address, Action loggedIn)
    {
        using CancellationTokenSource loginDeadline = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        using ITimer loginTimer = Transport.Deadline.CancelAfter(loginDeadline, _options.LoginTimeout, _options.Time);
        SecureChannel channel;
        try
        {
            using CancellationTokenSource handshakeCancel = CancellationTokenSource.CreateLinkedTokenSource(loginDeadline.Token, _acceptStopping.Token);
            channel = await SecureChannel.AcceptAsync(stream, _handshake, _options.HandshakeTimeout, handshakeCancel.Token).ConfigureAwait(false);
        }
        catch (ParleyProtocolException e)
        {
            _log.Write(LogKind.HandshakeFailed, l => l.LogInformation("Handshake with {Address} failed: {Error}", address, UntrustedText.Sanitize(e.Message)));
            return;
        }
        catch (Exception e) when (e is IOException or OperationCanceledException)
        {
            return;
        }
        await using (channel.ConfigureAwait(false))
        {
            LoginResult? login = await LoginAsync(channel, address, loginDeadline.Token).ConfigureAwait(false);
            if (login is null)
            {
                return;
            }
            loggedIn();
            // Only a logged-in user may have requests skipped and answered; before that an
            // oversize record ends the connection at its header.
            channel.AllowOversizeRecords(_options.MaxOversizeRecordsPerConnection);
            string user = login.User;
            // Online before the client hears it is logged in, so a `list` or a message sent right
            // after sees it. Nothing reaches it early: its outbox is drained only by RunAsync.
            ClientConnection connection = new(channel, user, address, _context) { DeviceId = login.DeviceId };
            ClientConnection? previous = _context.Presence.Register(user, connection);
            previous?.Close(ErrorCodes.LoggedInElsewhere, "you logged in from another connection");
            try
            {
                await SendAsync(channel, login, loginDeadline.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or ParleyProtocolException)
            {
                _context.Presence.Unregister(user, connection);
                return;
            }
            _logger.LogInformation("{User} logged in from {Address}", UntrustedText.Sanitize(user), address);
            try
            {
                await connection.RunAsync(_stopping.Token).ConfigureAwait(false);
            }
            finally
            {
                _context.Presence.Unregister(user, connection);
                _logger.LogInformation("{User} disconnected", user);
            }
        }
    }

    /// <summary>Runs the login exchange; on success returns the result to send (not yet sent).</summary>
    private Task<LoginResult?> LoginAsync(SecureChannel channel, string address, CancellationToken deadline) =>
        _login.RunAsync(channel, address, SourceOf(address), deadline, _stopping.Token);

    /// <summary>Back-off and registration limits count per source (IPv6 by /64), not per raw address.</summary>
    internal static string SourceOf(string address) =>
        IPAddress.TryParse(address, out IPAddress? ip) ? AddressBlock.Of(ip) : address;

    private static ValueTask SendAsync(SecureChannel channel, ServerMessage message, CancellationToken cancellationToken) =>
        channel.SendAsync(MessengerCodec.Encode(message), cancellationToken);

    private static async Task TrySendAsync(SecureChannel channel, ServerMessage message)
    {
        try
        {
            using CancellationTokenSource cts = new(TransportTimeouts.FarewellSend);
            await SendAsync(channel, message, cts.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ParleyProtocolException or ObjectDisposedException)
        {
        }
    }

    /// <summary>One sweep for all connections (not a timer each): ping the quiet, drop the silent.</summary>
    private async Task KeepAliveLoopAsync()
    {
        TimeSpan period = _options.KeepAliveInterval / 2;
        using PeriodicTimer timer = new(period < TimeSpan.FromMilliseconds(10) ? TimeSpan.FromMilliseconds(10) : period, _options.Time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token).ConfigureAwait(false))
            {
                _log.Flush();
                foreach (ClientConnection connection in _context.Presence.Connections())
                {
                    TimeSpan idle = connection.IdleFor;
                    if (idle >= _options.IdleTimeout)
                    {
                        _logger.LogInformation("Closing {User}: silent for {Seconds:0} s", connection.User, idle.TotalSeconds);
                        connection.Abort();
                    }
                    else if (idle >= _options.KeepAliveInterval)
                    {
                        connection.Ping();
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Stops accepting, ends every connection, commits everything queued, closes the store.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1)
        {
            return;
        }
        _logger.LogInformation("Stopping");
        // Cancel before closing the listener, so the accept loop sees a cancellation, not a
        // closed socket to retry forever.
        _acceptStopping.Cancel();
        await _acceptLoop.ConfigureAwait(false);
        _listener.Stop();
        foreach (ClientConnection connection in _context.Presence.Connections())
        {
            connection.Close(ErrorCodes.ServerShuttingDown, "the server is shutting down");
        }
        Task all = Task.WhenAll(_connections.Keys);
        await Task.WhenAny(all, Task.Delay(_options.ShutdownGracePeriod)).ConfigureAwait(false);
        _stopping.Cancel();
        await Task.WhenAny(all, Task.Delay(_options.ShutdownGracePeriod)).ConfigureAwait(false);
        await _keepAliveLoop.ConfigureAwait(false);
        await _maintenanceLoop.ConfigureAwait(false);
        await _context.Writer.DisposeAsync().ConfigureAwait(false);
        await _context.Store.DisposeAsync().ConfigureAwait(false);
        _identity.Dispose();
        _logger.LogInformation("Stopped");
    }

    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);
}
