// PROTOCOL.md §5.8 and §8: the bounds of session resumption, named once.
namespace Parley.Protocol.Handshake;

public static class SessionTickets
{
    /// <summary>
    /// The name a client puts in its suites list to say it accepts a NewSessionTicket record
    /// (the signalling-value habit of TLS's SCSVs): an old server ignores it as an unknown suite,
    /// and it is in the signed transcript, so no one can strip it unseen.
    /// </summary>
    public const string SignalSuite = "session-tickets";

    /// <summary>The longest ticket either side accepts on the wire; a longer one is malformed.</summary>
    public const int MaxTicketLength = 255;

    /// <summary>How long a ticket is accepted after it was issued: 24 hours.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(24);

    /// <summary>Seconds a ticket's issue time may lie ahead of the server's clock (nodes of a cluster whose clocks differ).</summary>
    public const int MaxClockSkewSeconds = 300;

    /// <summary>The size of the resumption secret (the PSK a ticket stands for).</summary>
    public const int SecretSize = 32;
}
