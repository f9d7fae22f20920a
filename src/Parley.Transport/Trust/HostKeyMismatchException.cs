namespace Parley.Transport.Trust;

/// <summary>A known server presented a different key: loud, specific, and says exactly what to remove.</summary>
public sealed class HostKeyMismatchException(string hostPort, string presentedFingerprint, string storedFingerprint, string knownHostsPath, int lineNumber)
    : Exception(
        $"""
        @@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@
        @    WARNING: SERVER IDENTIFICATION HAS CHANGED!          @
        @@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@
        The server at {hostPort} presented the key {presentedFingerprint},
        but {knownHostsPath} line {lineNumber} records {storedFingerprint} for it.
        Someone may be intercepting this connection (a man-in-the-middle attack),
        or the server's identity key was replaced.
        If you are sure the change is legitimate, forget the old key with
        'parley known-hosts remove {hostPort}' (or remove line {lineNumber} of
        {knownHostsPath}) and connect again. The connection was aborted.
        """)
{
    public string HostPort { get; } = hostPort;
    public string PresentedFingerprint { get; } = presentedFingerprint;
    public string KnownHostsPath { get; } = knownHostsPath;
    public int LineNumber { get; } = lineNumber;
}
