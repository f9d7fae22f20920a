using System.CommandLine;
using Parley.Server.Web;

namespace Parley.Cli.Commands;

/// <summary>The <c>parley server</c> flags of the web transport (the browser client and its WebSocket endpoint).</summary>
internal sealed class WebServerOptions
{
    /// <summary>The password of a PFX given to <c>--web-cert</c>, read from the environment so it never shows in a process list.</summary>
    internal const string CertificatePasswordVariable = "PARLEY_WEB_CERT_PASSWORD";

    private readonly Option<int?> _port = new("--web-port")
    {
        Description = "Also serve the browser client and its WebSocket endpoint (/ws) on this port (0 picks a free one)",
    };
    private readonly Option<string?> _host = new("--web-host") { Description = "Address the web port listens on (default: --host)" };
    private readonly Option<string?> _certificate = new("--web-cert")
    {
        Description = $"Serve the web port over TLS with this certificate: PFX/P12 (password in ${CertificatePasswordVariable}) or PEM",
    };
    private readonly Option<string?> _key = new("--web-key") { Description = "PEM private key of --web-cert, when it is not in the same file" };
    private readonly Option<string[]> _origins = new("--web-allowed-origin")
    {
        Description = "A further page origin (scheme://host[:port]) allowed to open the WebSocket, e.g. behind a proxy that rewrites Host",
        AllowMultipleArgumentsPerToken = false,
    };

    public void AddTo(Command command)
    {
        command.Options.Add(_port);
        command.Options.Add(_host);
        command.Options.Add(_certificate);
        command.Options.Add(_key);
        command.Options.Add(_origins);
    }

    /// <summary>Null when <c>--web-port</c> is absent: then the server speaks TCP only.</summary>
    public WebOptions? Read(ParseResult result) => result.GetValue(_port) is int port
        ? new WebOptions
        {
            Port = port,
            Host = result.GetValue(_host),
            CertificatePath = result.GetValue(_certificate),
            CertificateKeyPath = result.GetValue(_key),
            CertificatePassword = Environment.GetEnvironmentVariable(CertificatePasswordVariable),
            AllowedOrigins = result.GetValue(_origins) ?? [],
        }
        : null;
}
