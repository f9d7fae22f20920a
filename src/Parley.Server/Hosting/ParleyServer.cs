// The messenger server's composition root: opens the data directory (identity, database), wires
// the services each connection uses, starts the TCP transport and the periodic loops, and stops
// them in order. Per-connection work is ConnectionHandler's; accepting is TcpAcceptor's.
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Parley.Crypto.Signing;
using Parley.Messaging;
using Parley.Protocol.Handshake;
using Parley.Protocol;
using Parley.Server.Accounts;
using Parley.Server.Delivery;
using Parley.Server.Storage;
using Parley.Transport.Identity;

namespace Parley.Server.Hosting;

public sealed class ParleyServer : IAsyncDisposable
{
    private readonly ServerOptions _options;
    private readonly SigningKey _identity;
    private readonly SessionTicketKey _ticketKey;
    private readonly IMessageStore _store;

    /// <summary>The store this server commits to (tests read what it holds).</summary>
    internal IMessageStore Store => _store;
    private readonly IFileStore _files;
    private readonly StoreWriter _writer;
    private readonly ILogger _logger;
    private readonly AccountService _accounts;
    private readonly ConnectionAdmission _admission;
    private readonly ConnectionHandler _handler;
    private readonly CancellationTokenSource _stopping = new();
    // Cancelled first when stopping: the accept loop ends quietly and handshakes in progress are dropped.
    private readonly CancellationTokenSource _handshakesStopping = new();
    private TcpAcceptor _tcp = null!;
    private Web.ParleyWebHost? _web;
    private Task _keepAliveLoop = Task.CompletedTask;
    private Task _maintenanceLoop = Task.CompletedTask;
    private int _stopped;
    private readonly Cluster.RedisCluster? _cluster;

    /// <summary>Device tokens, with their cache (tests look at it).</summary>
    internal DeviceTokens Tokens { get; }

    /// <summary>Gives memory back once logins stop (ServerOptions.TrimMemoryAfterQuiet); driven by the keep-alive sweep.</summary>
    internal QuietMemoryTrim MemoryTrim { get; }

    private ParleyServer(ServerOptions options, SigningKey identity, SessionTicketKey ticketKey, IMessageStore store, IFileStore files, Presence presence, IMessageFanOut fanOut, ILogger logger)
    {
        _options = options;
        _identity = identity;
        _ticketKey = ticketKey;
        _store = store;
        _files = files;
        _logger = logger;
        Presence = presence;
        _cluster = fanOut as Cluster.RedisCluster;
        _writer = new StoreWriter(store, fanOut, logger, new InboxQuota(store, options.MaxInboxMessages, options.MaxInboxBytes, shared: options.Store is not null),
            store is SqliteMessageStore sqlite ? new StoredMessageBound(() => sqlite.StoredMessages, options.MaxStoredMessages) : null);
        KnownAccounts known = new(store);
        DeviceTokens tokens = new(store, options.Time, options.DeviceTokenExpiry, options.MaxDevicesPerAccount)
        {
            // Another node's revocation could not reach this cache in time: a shared store is read at every login.
            Cache = options.Store is null ? new DeviceTokenCache(options.DeviceTokenCacheEntries, options.DeviceTokenCacheBytes) : null,
        };
        Tokens = tokens;
        _accounts = new AccountService(store, new PasswordHasher(options.PasswordIterations, options.MaxConcurrentPasswordHashes),
            new LoginThrottle(options.Time, failuresPerMinute: options.LoginFailuresPerMinute),
            new RegistrationLimiter(options.Time, options.RegistrationsPerSourcePerHour, options.RegistrationsPerMinute), options.Time)
        {
            Tokens = tokens,
        };
        SenderRateLimiter rateLimiter = new(options);
        LogRateLimiter log = new(logger, options.Time, options.LogLinesPerSecond);
        Log = log;
        _admission = new ConnectionAdmission(options);
        MemoryTrim = new QuietMemoryTrim(options.Time, options.TrimMemoryAfterQuiet, options.MinMemoryTrimInterval, Hosting.MemoryTrim.Run);
        ServerHandshakeOptions handshake = new(identity)
        {
            Groups = options.Groups,
            Suites = options.Suites,
            Limits = new RecordLimits { MaxPlaintextLength = MessengerLimits.RecordLimitFor(options.MaxBodyLength) },
            TicketKey = options.SessionTickets ? ticketKey : null,
            Clock = options.Time,
        };
        LoginExchange login = new(_accounts, logger, log, options.Time, options.LoginTimeout, options.MaxBodyLength, known.Remember);
        _handler = new ConnectionHandler(options, handshake, login, _admission, log, logger, _writer, store, Presence, known, tokens,
            rateLimiter, new DiskSpaceGuard(options.DataDirectory, options.MinFreeDiskBytes, logger, options.Time),
            _handshakesStopping.Token, _stopping.Token)
        {
            Files = new FileService(files, options, logger),
        };
        Maintenance = new Maintenance(options, _writer, rateLimiter, logger) { Files = files };
    }

    public IPEndPoint LocalEndPoint => _tcp.LocalEndPoint;

    /// <summary>The web transport's port, when <see cref="ServerOptions.Web"/> is set.</summary>
    public int? WebPort => _web?.Port;

    /// <summary>The browser client's address, when <see cref="ServerOptions.Web"/> is set.</summary>
    public string? WebUrl => _web?.Url(_options.Web?.Host ?? _options.Host);

    public string Fingerprint => Crypto.Signing.Fingerprint.Of(_identity.Algorithm, _identity.PublicKey);
    public string IdentityAlgorithm => _identity.Algorithm.Name;

    public bool CreatedIdentity { get; private init; }

    public string DataDirectory => Path.GetFullPath(_options.DataDirectory);

    public Presence Presence { get; }

    /// <summary>This node's id in its cluster, or null on a single node.</summary>
    public string? NodeId => _cluster?.NodeId;

    internal Maintenance Maintenance { get; }

    /// <summary>The meter of this server's store writer (<see cref="Delivery.StoreWriterMetrics"/>).</summary>
    internal System.Diagnostics.Metrics.Meter StoreWriterMeter => _writer.Meter;

    /// <summary>Writes, acknowledgements and expiries queued in the store writer and not yet through their batch.</summary>
    internal long StoreWriterOutstanding => _writer.Outstanding;

    private LogRateLimiter Log { get; }

    /// <summary>
    /// Serves one connection that arrived over some other transport than TCP (a WebSocket, an
    /// in-memory pipe in tests): admission, handshake, login and delivery exactly as on TCP.
    /// </summary>
    public Task ServeAsync(Stream stream, RemoteParty remote) => _handler.AdmitAndServeAsync(stream, remote);

    /// <summary>Connections accepted that have not logged in yet (bounded by <see cref="ServerOptions.MaxUnauthenticatedConnections"/>).</summary>
    public int UnauthenticatedConnections => _admission.Unauthenticated;

    /// <summary>Handshakes completed in full (the server signed) and resumed from a ticket (no signature), since start.</summary>
    public HandshakeCounts Handshakes => _handler.Handshakes;

    /// <summary>The PBKDF2 engine, for tests that count what an attacker's guesses cost.</summary>
    internal PasswordHasher PasswordHasher => _accounts.Hasher;

    /// <summary>
    /// Starts listening, then opens the data directory (creating it and the identity on first run).
    /// Binding comes first so that a busy port fails before anything is written; a later failure
    /// removes exactly what this start created.
    /// </summary>
    public static async Task<ParleyServer> StartAsync(ServerOptions options, ILoggerFactory loggerFactory, CancellationToken cancellationToken = default)
    {
        ILogger logger = loggerFactory.CreateLogger("Parley.Server");
        DeliveryLimits.Validate(options);
        if (options.Bus is not null && options.Store is null)
        {
            throw new ArgumentException("a cluster bus (--bus) needs a store the nodes share (--store postgres://…)");
        }
        TcpListener listener = await TcpAcceptor.BindAsync(options.Host, options.Port, cancellationToken).ConfigureAwait(false);
        StartupFootprint footprint = StartupFootprint.Before(options.DataDirectory, options.IdentityPath, options.DatabasePath, options.FileDatabasePath);
        SigningKey? identity = null;
        SessionTicketKey? ticketKey = null;
        IMessageStore? store = null;
        Cluster.RedisCluster? cluster = null;
        IFileStore? files = null;
        Web.ParleyWebHost? web = null;
        try
        {
            if (options.Web is { } webOptions)
            {
                // Bound before any file is written too; it hands connections over only once attached below.
                // Before its upgrade a web connection is held to the pre-login bounds, and has the handshake's time to ask.
                Web.WebConnectionLimits limits = new(options.MaxUnauthenticatedPerSource, options.MaxUnauthenticatedConnections, options.HandshakeTimeout);
                web = await Web.ParleyWebHost.StartAsync(webOptions, options.Host, MessengerLimits.RecordLimitFor(options.MaxBodyLength),
                    limits, loggerFactory, cancellationToken).ConfigureAwait(false);
            }
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
            identity = IdentityFile.LoadOrCreate(options.IdentityPath, SignatureAlgorithms.Ed25519, out bool created, out ticketKey);
            if (options.Bus is { } shared)
            {
                // Before the store is opened (and its tables made): never beside a live node of another layout.
                await Cluster.RedisCluster.EnsureNoOtherLayoutAsync(Cluster.BusAddress.Parse(shared), Storage.StoreLayout.Version,
                    options.ClusterStartPatience, logger, cancellationToken).ConfigureAwait(false);
            }
            store = await OpenStoreAsync(options, logger, cancellationToken).ConfigureAwait(false);
            // A store that keeps files itself (shared by the nodes of a cluster) serves them; else files.db beside the database.
            files = store as IFileStore ?? await SqliteFileStore.OpenAsync(options.FileDatabasePath, cancellationToken).ConfigureAwait(false);
            Presence presence = new();
            if (options.Bus is { } bus)
            {
                cluster = await Cluster.RedisCluster.StartAsync(Cluster.BusAddress.Parse(bus), presence, logger).ConfigureAwait(false);
            }
            ParleyServer server = new(options, identity, ticketKey, store, files, presence, (IMessageFanOut?)cluster ?? presence, logger) { CreatedIdentity = created };
            server._tcp = TcpAcceptor.Start(listener, server._handler, server.Log, logger);
            if (web is not null)
            {
                server._web = web;
                web.Attach(server._handler.AdmitAndServeAsync);
                logger.LogInformation("Web client on {Url}", server.WebUrl);
            }
            server._keepAliveLoop = Task.Run(() => KeepAliveSweep.RunAsync(options, server.Presence, server.Log, logger,
                () => server.Handshakes.Full + server.Handshakes.Resumed, server.MemoryTrim, server._stopping.Token));
            server._maintenanceLoop = server.Maintenance.Start(server._stopping.Token);
            logger.LogInformation("Listening on {EndPoint}", server.LocalEndPoint);
            return server;
        }
        catch
        {
            listener.Stop();
            if (web is not null)
            {
                await web.DisposeAsync().ConfigureAwait(false);
            }
            if (cluster is not null)
            {
                await cluster.DisposeAsync().ConfigureAwait(false);
            }
            if (files is not null && !ReferenceEquals(files, store))
            {
                await files.DisposeAsync().ConfigureAwait(false);
            }
            if (store is not null)
            {
                await store.DisposeAsync().ConfigureAwait(false);
            }
            identity?.Dispose();
            ticketKey?.Dispose();
            footprint.Undo(logger);
            throw;
        }
    }

    /// <summary>The SQLite file in the data directory, or the shared PostgreSQL store of <see cref="ServerOptions.Store"/>.</summary>
    private static async Task<IMessageStore> OpenStoreAsync(ServerOptions options, ILogger logger, CancellationToken cancellationToken)
    {
        if (options.Store is null)
        {
            return await SqliteMessageStore.OpenAsync(options.DatabasePath, new Storage.Inbox.InboxLogOptions { SegmentBytes = options.InboxSegmentBytes }, cancellationToken).ConfigureAwait(false);
        }
        if (!Storage.Postgres.PostgresAddress.IsPostgres(options.Store))
        {
            throw new FormatException("--store takes postgres://user@host:port/database (without it, the SQLite file in the data directory)");
        }
        Storage.Postgres.PostgresMessageStore store = await Storage.Postgres.PostgresMessageStore.OpenAsync(
            Storage.Postgres.PostgresAddress.ToConnectionString(options.Store), cancellationToken).ConfigureAwait(false);
        logger.LogInformation("Store: {Store}", store.Description);
        return store;
    }

    /// <summary>Stops accepting, ends every connection, commits everything queued, closes the store.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1)
        {
            return;
        }
        _logger.LogInformation("Stopping");
        _handshakesStopping.Cancel();
        _web?.RefuseNew();
        await _tcp.StopAsync().ConfigureAwait(false);
        foreach (ClientConnection connection in Presence.Connections())
        {
            connection.Close(ErrorCodes.ServerShuttingDown, "the server is shutting down");
        }
        Task all = Task.WhenAll(_handler.Connections);
        await Task.WhenAny(all, Task.Delay(_options.ShutdownGracePeriod)).ConfigureAwait(false);
        _stopping.Cancel();
        await Task.WhenAny(all, Task.Delay(_options.ShutdownGracePeriod)).ConfigureAwait(false);
        await _keepAliveLoop.ConfigureAwait(false);
        await _maintenanceLoop.ConfigureAwait(false);
        if (_web is not null)
        {
            // Its WebSocket connections have ended with the others above; now the listener goes.
            await _web.DisposeAsync().ConfigureAwait(false);
        }
        await _writer.DisposeAsync().ConfigureAwait(false);
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync().ConfigureAwait(false);
        }
        if (!ReferenceEquals(_files, _store))
        {
            await _files.DisposeAsync().ConfigureAwait(false);
        }
        await _store.DisposeAsync().ConfigureAwait(false);
        _identity.Dispose();
        _ticketKey.Dispose();
        _logger.LogInformation("Stopped");
    }

    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);
}
