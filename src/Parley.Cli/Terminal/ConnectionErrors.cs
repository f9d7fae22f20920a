// How chat, devices and peer print a failed connection: the plain sentence of ConnectionTrouble,
// and with --verbose the protocol error behind it on a second line.
using Parley.Protocol.Text;
using Parley.Transport.Diagnosis;

namespace Parley.Cli.Terminal;

internal static class ConnectionErrors
{
    /// <param name="prefix">"[ERROR] " for chat and devices, "[!] " for peer.</param>
    public static IEnumerable<string> Lines(Exception error, string host, int port, Expected expected, bool verbose, string prefix)
    {
        PlainError plain = ConnectionTrouble.Describe(error, host, port, expected);
        yield return $"{prefix}{UntrustedText.Sanitize(plain.Text, 600)}.";
        if (verbose && plain.Technical is not null)
        {
            yield return $"{prefix}Detail: {UntrustedText.Sanitize(plain.Technical, 600)}";
        }
    }
}
