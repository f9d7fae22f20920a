namespace Parley.Transport;

/// <summary>Waits shared by the server, the peer node and the channel.</summary>
public static class TransportTimeouts
{
    /// <summary>
    /// How long a last, best-effort message (an error before closing, a bye, a close notify) may
    /// take to go out: a peer that stopped reading must not hold a closing connection open.
    /// Used by PeerNode, ParleyServer.TrySendAsync and SecureChannel's close.
    /// </summary>
    public static readonly TimeSpan FarewellSend = TimeSpan.FromSeconds(2);

    /// <summary>How long a client waits for a TCP connection to be accepted before saying the address does not answer.</summary>
    public static readonly TimeSpan Connect = TimeSpan.FromSeconds(10);
}
