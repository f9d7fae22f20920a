// One `--host HOST[:PORT]` of `parley chat`: the nodes of a cluster are given as several, tried in
// turn on connect and on every reconnection (IPv6 in brackets: [::1]:5555).
namespace Parley.Cli.Commands;

internal readonly record struct ServerEndpoint(string Host, int Port)
{
    /// <summary>Parses "host", "host:port" or "[v6]:port"; a missing port is <paramref name="defaultPort"/> (null: none given).</summary>
    public static bool TryParse(string text, int? defaultPort, out ServerEndpoint endpoint, out string error)
    {
        endpoint = default;
        error = "";
        string host = text.Trim();
        string? portText = null;
        if (host.StartsWith('['))
        {
            int close = host.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                error = $"--host '{text}': an IPv6 address is written [address]:port";
                return false;
            }
            portText = close + 1 < host.Length && host[close + 1] == ':' ? host[(close + 2)..] : null;
            host = host[1..close];
        }
        else if (host.Count(c => c == ':') == 1)
        {
            int colon = host.IndexOf(':', StringComparison.Ordinal);
            portText = host[(colon + 1)..];
            host = host[..colon];
        }
        if (host.Length == 0)
        {
            error = $"--host '{text}': no host name";
            return false;
        }
        int? port = defaultPort;
        if (portText is not null)
        {
            if (!int.TryParse(portText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int parsed) || parsed is < 1 or > 65535)
            {
                error = $"--host '{text}': the port must be 1-65535";
                return false;
            }
            port = parsed;
        }
        if (port is not int known)
        {
            error = "";
            return false;
        }
        endpoint = new ServerEndpoint(host, known);
        return true;
    }

    /// <summary>Whether <paramref name="text"/> names its own port.</summary>
    public static bool HasPort(string text) => TryParse(text, null, out _, out _);

    public override string ToString() => Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}
