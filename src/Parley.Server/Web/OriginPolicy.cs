// Which pages may open the WebSocket. A browser sends Origin on every WebSocket upgrade and a page
// cannot forge it, so comparing it with the Host the request was sent to stops cross-site
// WebSocket hijacking (another site's script using a visitor's browser against this server).
// Programs that are not browsers send no Origin and are admitted like a TCP client would be.
using Microsoft.AspNetCore.Http;

namespace Parley.Server.Web;

internal sealed class OriginPolicy(IReadOnlyList<string> allowedOrigins)
{
    private readonly HashSet<string> _allowed = new(allowedOrigins.Select(o => o.TrimEnd('/')), StringComparer.OrdinalIgnoreCase);

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
            && (host.Port is int port ? port == uri.Port : uri.IsDefaultPort);
    }
}
