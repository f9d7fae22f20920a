namespace Parley.Transport.Diagnosis;

/// <summary>Why a TCP connection could not be made, in the terms a user can act on.</summary>
public enum ConnectFailure
{
    /// <summary>The host answered that nothing listens on the port.</summary>
    Refused,

    /// <summary>The name does not resolve.</summary>
    UnknownHost,

    /// <summary>No answer at all within the connect timeout (a dropped packet, a firewall, a wrong address).</summary>
    TimedOut,

    /// <summary>No route to the host or its network.</summary>
    Unreachable,

    /// <summary>Anything else the socket reported.</summary>
    Other,
}

/// <summary>The TCP connection to <see cref="Host"/>:<see cref="Port"/> failed before any Parley byte was exchanged.</summary>
public sealed class ConnectFailedException(string host, int port, ConnectFailure failure, string reason, Exception? inner = null)
    : IOException($"cannot connect to {host}:{port}: {reason}", inner)
{
    public string Host { get; } = host;
    public int Port { get; } = port;
    public ConnectFailure Failure { get; } = failure;

    /// <summary>The reason alone ("connection refused"), without the host.</summary>
    public string Reason { get; } = reason;
}
