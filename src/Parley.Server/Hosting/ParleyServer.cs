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
using Parley.Server.Accounts;
using Parley.Server.Delivery;
using Parley.Server.Storage;
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
    private readonly ConcurrentDictionary<Task, bool> _connections = new();
    private readonly ConcurrentDictionary<string, int> _perAddress = new(StringComparer.Ordinal);
    private readonly ServerHandshakeOptions _handshake;
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
        _handshake = new ServerHandshakeOptions(identity)
        {
            Groups = options.Groups,
            Suites = options.Suites,
            Limits = new RecordLimits { MaxPlaintextLength = MessengerLimits.RecordLimitFor(options.MaxBodyLength) },
        };
    }

    public IPEndPoint LocalEndPoint => (IPEndPoint)_listener.LocalEndpoint;

    public string Fingerprint => Crypto.Signing.Fingerprint.Of(_identity.Algorithm, _identity.PublicKey);

    public bool CreatedIdentity { get; private init; }

    public string DataDirectory => Path.GetFullPath(_options.DataDirectory);

    public Presence Presence => _context.Presence;

    internal Maintenance Maintenance { get; private init; } = null!;

    /// <summary>Opens the data directory (creating it and the identity on first run) and starts listening.</summary>
    public static async Task<ParleyServer> StartAsync(ServerOptions options, ILoggerFactory loggerFactory, CancellationToken cancellationToken = default)
    {
        ILogger logger = loggerFactory.CreateLogger("Parley.Server");
        DeliveryLimits.Validate(options);
        if (!Directory.Exists(options.DataDirectory))
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
        SigningKey identity = IdentityFile.LoadOrCreate(options.IdentityPath, SignatureAlgorithms.Ed25519, out bool created);
        IMessageStore store = await SqliteMessageStore.OpenAsync(options.DatabasePath, cancellationToken).ConfigureAwait(false);
        Presence presence = new();
        AccountService accounts = new(store, new PasswordHasher(options.PasswordIterations), new LoginThrottle(options.Time), options.Time);
        ServerContext context = new(options, store, presence, accounts, logger);
        context.Writer = new StoreWriter(store, message =>
        {
            if (presence.TryGet(message.Recipient, out ClientConnection connection))
            {
                connection.Deliver(message);
                return true;
            }
            return false;
        }, logger, new InboxQuota(store, options.MaxInboxMessages, options.MaxInboxBytes));

        IPAddress address = await ResolveAsync(options.Host, cancellationToken).ConfigureAwait(false);
        TcpListener listener = new(address, options.Port);
        listener.Server.NoDelay = true;
        listener.Start(backlog: 4096);
        ParleyServer server = new(options, listener, identity, context, logger) { CreatedIdentity = created, Maintenance = new Maintenance(context) };
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
        while (!_stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException or InvalidOperationException)
            {
                if (_stopping.IsCancellationRequested)
                {
                    return;
                }
                _logger.LogWarning("Accept failed: {Message}", e.Message);
                continue;
            }
            socket.NoDelay = true;
            Task connection = HandleConnectionAsync(socket);
            _connections.TryAdd(connection, true);
            _ = connection.ContinueWith(t => _connections.TryRemove(t, out _), TaskScheduler.Default);
        }
    }

    private async Task HandleConnectionAsync(Socket socket)
    {
        string address = (socket.RemoteEndPoint as IPEndPoint)?.Address.ToString() ?? "unknown";
        int count = _perAddress.AddOrUpdate(address, 1, (_, c) => c + 1);
        NetworkStream stream = new(socket, ownsSocket: true);
        try
        {
            if (count > _options.MaxConnectionsPerAddress)
            {
                _logger.LogWarning("Refused a connection from {Address}: {Count} connections exceed the limit of {Limit}", address, count, _options.MaxConnectionsPerAddress);
                using CancellationTokenSource timeout = new(TimeSpan.FromSeconds(2));
                await stream.WriteAsync(Frame.Wrap(new Alert(ProtocolError.ConnectionLimit,
                    $"too many connections from your address (limit {_options.MaxConnectionsPerAddress})").EncodeMessage()), timeout.Token).ConfigureAwait(false);
                return;
            }
            await ServeAsync(stream, address).ConfigureAwait(false);
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
            // Drop the entry at zero, so addresses that come and go do not accumulate.
            if (_perAddress.AddOrUpdate(address, 0, (_, c) => c - 1) == 0)
            {
                _perAddress.TryRemove(new KeyValuePair<string, int>(address, 0));
            }
        }
    }

    private async Task ServeAsync(NetworkStream stream, string address)
    {
        using CancellationTokenSource loginDeadline = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        loginDeadline.CancelAfter(_options.LoginTimeout);
        SecureChannel channel;
        try
        {
            channel = await SecureChannel.AcceptAsync(stream, _handshake, _options.HandshakeTimeout, loginDeadline.Token).ConfigureAwait(false);
        }
        catch (ParleyProtocolException e)
        {
            _logger.LogInformation("Handshake with {Address} failed: {Error}", address, e.Message);
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
            string user = login.User;
            // Online before the client hears it is logged in, so a `list` or a message sent right
            // after sees it. Nothing reaches it early: its outbox is drained only by RunAsync.
            ClientConnection connection = new(channel, user, address, _context);
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
            _logger.LogInformation("{User} logged in from {Address}", user, address);
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
    private async Task<LoginResult?> LoginAsync(SecureChannel channel, string address, CancellationToken deadline)
    {
        try
        {
            while (true)
            {
                byte[]? payload = await channel.ReceiveAsync(deadline).ConfigureAwait(false);
                if (payload is null)
                {
                    return null;
                }
                ClientMessage message;
                try
                {
                    message = MessengerCodec.DecodeClient(payload);
                }
                catch (MessengerProtocolException e)
                {
                    await SendAsync(channel, new ErrorMessage(0, ErrorCodes.BadRequest, e.Message), deadline).ConfigureAwait(false);
                    continue;
                }
                if (message is PingMessage)
                {
                    await SendAsync(channel, new ServerPong(), deadline).ConfigureAwait(false);
                    continue;
                }
                if (message is not LoginRequest login)
                {
                    await SendAsync(channel, new ErrorMessage(0, ErrorCodes.NotLoggedIn, "log in first"), deadline).ConfigureAwait(false);
                    continue;
                }
                LoginOutcome outcome = await _context.Accounts.LoginAsync(login, address, deadline).ConfigureAwait(false);
                LoginResult result = new(outcome.Success, outcome.User, outcome.NewDeviceToken, outcome.Registered, outcome.Error,
                    (int)Math.Ceiling(outcome.RetryAfter.TotalSeconds));
                if (outcome.Success)
                {
                    _context.RememberAccount(outcome.User);
                    if (outcome.Registered)
                    {
                        _logger.LogInformation("Registered new user {User}", outcome.User);
                    }
                    // The caller sends it, once the user is online.
                    return result;
                }
                await SendAsync(channel, result, deadline).ConfigureAwait(false);
                _logger.LogInformation("Failed login for {User} from {Address}", outcome.User, address);
            }
        }
        catch (OperationCanceledException) when (!_stopping.IsCancellationRequested)
        {
            _logger.LogInformation("{Address} did not log in within {Seconds} s", address, _options.LoginTimeout.TotalSeconds);
            await TrySendAsync(channel, new ErrorMessage(0, ErrorCodes.LoginTimeout, $"log in within {_options.LoginTimeout.TotalSeconds:0} s")).ConfigureAwait(false);
            return null;
        }
        catch (Exception e) when (e is ParleyProtocolException or IOException or OperationCanceledException)
        {
            return null;
        }
    }

    private static ValueTask SendAsync(SecureChannel channel, ServerMessage message, CancellationToken cancellationToken) =>
        channel.SendAsync(MessengerCodec.Encode(message), cancellationToken);

    private static async Task TrySendAsync(SecureChannel channel, ServerMessage message)
    {
        try
        {
            using CancellationTokenSource cts = new(TimeSpan.FromSeconds(2));
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
        _listener.Stop();
        foreach (ClientConnection connection in _context.Presence.Connections())
        {
            connection.Close(ErrorCodes.ServerShuttingDown, "the server is shutting down");
        }
        Task all = Task.WhenAll(_connections.Keys);
        await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(5))).ConfigureAwait(false);
        _stopping.Cancel();
        await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(5))).ConfigureAwait(false);
        await _acceptLoop.ConfigureAwait(false);
        await _keepAliveLoop.ConfigureAwait(false);
        await _maintenanceLoop.ConfigureAwait(false);
        await _context.Writer.DisposeAsync().ConfigureAwait(false);
        await _context.Store.DisposeAsync().ConfigureAwait(false);
        _identity.Dispose();
        _logger.LogInformation("Stopped");
    }

    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);
}
