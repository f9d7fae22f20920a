// The web transport: Kestrel in the server's process, serving the browser client's files and a
// WebSocket endpoint. A WebSocket becomes a Stream (one frame per binary message) and goes to the
// same ConnectionHandler as a TCP socket, so admission, timeouts, back-off, quotas and every
// limit apply exactly as on TCP. This layer adds only what HTTP needs: security headers, the
// Origin check that stops other sites' pages from using a visitor's browser, and a bound on
// WebSocket messages (the largest legal frame).
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Parley.Server.Hosting;
using Parley.Transport.WebSockets;

namespace Parley.Server.Web;

public sealed class ParleyWebHost : IAsyncDisposable
{
    private static readonly TimeSpan s_stopTimeout = TimeSpan.FromSeconds(5);

    private readonly WebApplication _app;
    private readonly WebClientAssets _assets;
    private readonly int _maxMessageLength;
    private readonly OriginPolicy _origins;
    private readonly ILogger _logger;
    private Func<Stream, RemoteParty, Task>? _serve;
    private volatile bool _refusing;
    private int _disposed;

    private ParleyWebHost(WebApplication app, WebClientAssets assets, int maxMessageLength, OriginPolicy origins, ILogger logger)
    {
        _app = app;
        _assets = assets;
        _maxMessageLength = maxMessageLength;
        _origins = origins;
        _logger = logger;
    }

    /// <summary>The bound port (the chosen one when <see cref="WebOptions.Port"/> was 0).</summary>
    public int Port { get; private set; }

    public bool Tls { get; private set; }

    /// <summary>The page's address on this machine, as a user would type it.</summary>
    public string Url(string host) => $"{(Tls ? "https" : "http")}://{(host is "0.0.0.0" or "::" ? "localhost" : host)}:{Port}/";

    /// <summary>Binds and starts serving files; WebSocket connections are refused until <see cref="Attach"/>.</summary>
    public static async Task<ParleyWebHost> StartAsync(WebOptions options, string defaultHost, int maxPlaintextLength, WebConnectionLimits limits,
        ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        WebConnectionGate gate = new(limits.PerSource, limits.Total);
        X509Certificate2? certificate = LoadCertificate(options);
        IPAddress address = await TcpAcceptor.ResolveAsync(options.Host ?? defaultHost, cancellationToken).ConfigureAwait(false);
        WebApplicationBuilder builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore();
        if (certificate is not null)
        {
            builder.WebHost.UseKestrelHttpsConfiguration();
        }
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            // A connection has this long to send its request (and between requests), as a TCP one has
            // for its handshake; Kestrel's defaults (30 s, 130 s) let silent connections pile up.
            kestrel.Limits.RequestHeadersTimeout = limits.FirstRequestTimeout;
            kestrel.Limits.KeepAliveTimeout = limits.FirstRequestTimeout;
            kestrel.Listen(address, options.Port, listen =>
            {
                // First, before TLS: a connection over the bounds costs nothing more than its accept.
                listen.Use(next => async connection =>
                {
                    string source = RemoteParty.Of((connection.RemoteEndPoint as IPEndPoint)?.Address).Source;
                    if (gate.TryEnter(source) is not { } slot)
                    {
                        return;
                    }
                    connection.Items[typeof(WebConnectionGate.Slot)] = slot;
                    try
                    {
                        await next(connection).ConfigureAwait(false);
                    }
                    finally
                    {
                        slot.Leave();
                    }
                });
                // HTTP/1.1 only: over HTTP/2 a WebSocket is one stream of a shared connection, and its upgrade
                // would give back the place of a connection that goes on serving (the gate counts connections).
                listen.Protocols = HttpProtocols.Http1;
                if (certificate is not null)
                {
                    listen.UseHttps(new HttpsConnectionAdapterOptions { ServerCertificate = certificate, HandshakeTimeout = limits.FirstRequestTimeout });
                }
            });
        });
        // Kestrel's own lines go to the server's log only when they are errors: a visitor must not
        // be able to fill the log with warnings about their broken requests.
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(new ForwardingLoggerProvider(loggerFactory));
        builder.Logging.AddFilter("Microsoft", LogLevel.Error);
        WebApplication app = builder.Build();
        ParleyWebHost host = new(app, WebClientAssets.Load(), WebSocketFrameStream.MaxMessageLengthFor(maxPlaintextLength),
            new OriginPolicy(options.AllowedOrigins, CertificateNames(certificate)), loggerFactory.CreateLogger("Parley.Server.Web"))
        {
            Tls = certificate is not null,
        };
        app.Use(async (context, next) =>
        {
            SecurityHeaders.Apply(context.Response);
            await next(context).ConfigureAwait(false);
        });
        // Parley has its own keep-alive (PROTOCOL.md §11.4); WebSocket pings would only hide silence from it.
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.Zero });
        app.Run(host.HandleAsync);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        string bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        host.Port = new Uri(bound.Replace("://+", "://localhost", StringComparison.Ordinal)).Port;
        return host;
    }

    /// <summary>The DNS names a TLS certificate is for (its subject alternative names): the names a browser reaches this server by.</summary>
    private static IReadOnlyList<string> CertificateNames(X509Certificate2? certificate) =>
        certificate is null ? [] : [.. certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().SelectMany(e => e.EnumerateDnsNames())];

    private static X509Certificate2? LoadCertificate(WebOptions options)
    {
        if (options.CertificatePath is not { } path)
        {
            return null;
        }
        string extension = Path.GetExtension(path);
        if (extension.Equals(".pfx", StringComparison.OrdinalIgnoreCase) || extension.Equals(".p12", StringComparison.OrdinalIgnoreCase))
        {
            return X509CertificateLoader.LoadPkcs12FromFile(path, options.CertificatePassword);
        }
        return X509Certificate2.CreateFromPemFile(path, options.CertificateKeyPath);
    }

    /// <summary>From now on WebSocket connections are handed to <paramref name="serve"/> (the server's connection handler).</summary>
    public void Attach(Func<Stream, RemoteParty, Task> serve) => _serve = serve;

    /// <summary>New WebSocket connections are refused from now on (the server is stopping).</summary>
    public void RefuseNew() => _refusing = true;

    private async Task HandleAsync(HttpContext context)
    {
        HttpRequest request = context.Request;
        if (request.Path == WebOptions.WebSocketPath)
        {
            await AcceptWebSocketAsync(context).ConfigureAwait(false);
            return;
        }
        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method))
        {
            context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            return;
        }
        if (!_assets.TryGet(request.Path.Value ?? "/", out WebClientAssets.Asset asset))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        context.Response.ContentType = asset.ContentType;
        context.Response.ContentLength = asset.Content.Length;
        // Revalidate every time: a page and its modules must come from the same server version.
        context.Response.Headers.CacheControl = "no-cache";
        if (HttpMethods.IsGet(request.Method))
        {
            await context.Response.Body.WriteAsync(asset.Content, context.RequestAborted).ConfigureAwait(false);
        }
    }

    private async Task AcceptWebSocketAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsync("this endpoint speaks WebSocket only\n").ConfigureAwait(false);
            return;
        }
        if (!_origins.Allows(context.Request))
        {
            // Another site's page in a visitor's browser: refused before any Parley byte.
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            return;
        }
        Func<Stream, RemoteParty, Task>? serve = _serve;
        if (serve is null || _refusing)
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return;
        }
        System.Net.WebSockets.WebSocket socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
        {
            DangerousEnableCompression = false,
        }).ConfigureAwait(false);
        // From here the server's admission counts it (AdmitAndServeAsync below): the gate's place is given back.
        (context.Features.Get<IConnectionItemsFeature>()?.Items[typeof(WebConnectionGate.Slot)] as WebConnectionGate.Slot)?.Leave();
        RemoteParty remote = RemoteParty.Of(context.Connection.RemoteIpAddress);
        // The handler owns the stream from here and disposes it (closing the WebSocket) at the end.
        await serve(new WebSocketFrameStream(socket, _maxMessageLength, handshakeFirst: true), remote).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        _refusing = true;
        using CancellationTokenSource timeout = new(s_stopTimeout);
        try
        {
            await _app.StopAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            _logger.LogWarning("The web transport did not stop within {Seconds} s; its connections were aborted", s_stopTimeout.TotalSeconds);
        }
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    private sealed class ForwardingLoggerProvider(ILoggerFactory factory) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => factory.CreateLogger(categoryName);

        public void Dispose()
        {
        }
    }
}
