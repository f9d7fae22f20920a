namespace Parley.Server.Web;

/// <summary>
/// The optional web transport (<c>parley server --web-port</c>): the browser client's files and a
/// WebSocket endpoint carrying the same frames as TCP, served by Kestrel in the server's process.
/// </summary>
public sealed record WebOptions
{
    /// <summary>Address to listen on; the TCP listener's host unless set.</summary>
    public string? Host { get; init; }

    /// <summary>0 picks a free port (tests); the bound one is <see cref="ParleyWebHost.Port"/>.</summary>
    public int Port { get; init; }

    /// <summary>A PFX (no password, or <see cref="CertificatePassword"/>) or PEM certificate: then the page and the WebSocket are served over TLS.</summary>
    public string? CertificatePath { get; init; }

    /// <summary>The PEM private key when it is not in <see cref="CertificatePath"/> itself.</summary>
    public string? CertificateKeyPath { get; init; }

    public string? CertificatePassword { get; init; }

    /// <summary>
    /// Origins (scheme://host[:port]) allowed to open the WebSocket besides the page's own, e.g. the
    /// public address a reverse proxy serves the page under when it rewrites the Host header.
    /// </summary>
    public IReadOnlyList<string> AllowedOrigins { get; init; } = [];

    /// <summary>The path of the WebSocket endpoint.</summary>
    public const string WebSocketPath = "/ws";
}
