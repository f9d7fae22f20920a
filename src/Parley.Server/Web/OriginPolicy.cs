// Which pages may open the WebSocket. A browser sends Origin on every WebSocket upgrade and a page
// cannot forge it, so comparing it with the Host the request was sent to stops cross-site
// WebSocket hijacking (another site's script using a visitor's browser against this server).
// That comparison alone passes a DNS-rebinding page (its name made to point at this server: Origin
// and Host then both name the attacker's site), so a page of our own host is one reached by a name
// this server answers to: an IP address, localhost, a name of its TLS certificate, or the host of
// an origin it was configured to allow. Programs that are not browsers send no Origin and are
// admitted like a TCP client would be.
using System.Net;
using Microsoft.AspNetCore.Http;

namespace Parley.Server.Web;

internal sealed class OriginPolicy(IReadOnlyList<string> allowedOrigins, IReadOnlyList<string> certificateNames)
{
    private readonly HashSet<string> _allowed = new(allowedOrigins.Select(o => o.TrimEnd('/')), StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _names = new(
        allowedOrigins.Select(o => Uri.TryCreate(o, UriKind.Absolute, out Uri? u) ? u.Host : "").Where(h => h.Length > 0).Concat(certificateNames),
        StringComparer.OrdinalIgnoreCase);

    /// <summary>A name this server answers to: an address, localhost, or one it knows (a certificate's, an allowed origin's host); "*.x" names match one label.</summary>
    private bool AnswersTo(string host)
    {
        string bare = host.Trim('[', ']');
        if (IPAddress.TryParse(bare, out _) || bare.Equals("localhost", StringComparison.OrdinalIgnoreCase) || _names.Contains(bare))
        {
            return true;
        }
        int dot = bare.IndexOf('.', StringComparison.Ordinal);
        return dot > 0 && _names.Contains("*" + bare[dot..]);
    }

    public bool Allows(HttpRequest request)
    {
        string? origin = request.Headers.Origin;
        if (string.IsNullOrEmpty(origin))
        {
            return true;
        }
        if (_allowed.Contains(origin))
        {
            return true;
        }
        if (!Uri.TryCreate(origin, UriKind.Absolute, out Uri? uri) || (uri.Scheme != "http" && uri.Scheme != "https"))
        {
            return false;
        }
        // Same host and port. The scheme is not compared: behind a TLS-terminating proxy the page is
        // https and the request to us http, with a Host header that names no port (the default one).
        HostString host = request.Host;
        return host.HasValue
            && string.Equals(uri.Host, host.Host, StringComparison.OrdinalIgnoreCase)
            && AnswersTo(host.Host)
            && (host.Port is int port ? port == uri.Port : uri.IsDefaultPort);
    }
}
