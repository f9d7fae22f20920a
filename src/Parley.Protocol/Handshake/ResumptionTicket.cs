using System.Security.Cryptography;

namespace Parley.Protocol.Handshake;

/// <summary>
/// A ticket the client keeps to resume with (PROTOCOL.md §5.9): the server's opaque ticket, the
/// resumption secret the client derived itself (never sent), and what the session was: group,
/// suite, and the server key that was trusted when it was issued. Single-use: offer it once, then
/// keep the one the resumed session brings. Dispose wipes the secret.
/// </summary>
public sealed class ResumptionTicket : IDisposable
{
    private readonly byte[] _secret;

    /// <param name="ticket">The server's ticket, 1..255 bytes.</param>
    /// <param name="secret">The resumption secret (32 bytes); copied.</param>
    public ResumptionTicket(byte[] ticket, ReadOnlySpan<byte> secret, string group, string suite, PeerIdentity server, DateTimeOffset expiresAt)
    {
        ArgumentNullException.ThrowIfNull(ticket);
        ArgumentNullException.ThrowIfNull(server);
        if (ticket.Length is 0 or > SessionTickets.MaxTicketLength)
        {
            throw new ArgumentException($"A ticket is 1..{SessionTickets.MaxTicketLength} bytes.", nameof(ticket));
        }
        if (secret.Length != SessionTickets.SecretSize)
        {
            throw new ArgumentException($"A resumption secret is {SessionTickets.SecretSize} bytes.", nameof(secret));
        }
        Ticket = ticket;
        _secret = secret.ToArray();
        Group = group;
        Suite = suite;
        Server = server;
        ExpiresAt = expiresAt;
    }

    public byte[] Ticket { get; }
    public string Group { get; }
    public string Suite { get; }
    public PeerIdentity Server { get; }
    public DateTimeOffset ExpiresAt { get; }

    internal ReadOnlySpan<byte> Secret => _secret;

    public bool ExpiredAt(DateTimeOffset now) => now >= ExpiresAt;

    /// <summary>A copy of the resumption secret, to store it (owner-only). The caller wipes it.</summary>
    public byte[] ExportSecret() => (byte[])_secret.Clone();

    public void Dispose() => CryptographicOperations.ZeroMemory(_secret);

    public override string ToString() => $"{nameof(ResumptionTicket)}({Group}, {Suite}, expires {ExpiresAt:u})";
}

/// <summary>
/// The client's half of the next resumption, from a handshake that just completed: the secret
/// both sides derived (§6.2's resumption_secret), waiting for the server's NewSessionTicket.
/// </summary>
public sealed class ResumptionSecret : IDisposable
{
    private readonly byte[] _secret;

    internal ResumptionSecret(byte[] secret, string group, string suite, PeerIdentity server)
    {
        _secret = secret;
        Group = group;
        Suite = suite;
        Server = server;
    }

    public string Group { get; }
    public string Suite { get; }
    public PeerIdentity Server { get; }

    /// <summary>The ticket to keep, from the server's NewSessionTicket received at <paramref name="receivedAt"/>.</summary>
    public ResumptionTicket Accept(NewSessionTicket message, DateTimeOffset receivedAt)
    {
        ArgumentNullException.ThrowIfNull(message);
        uint lifetime = Math.Min(message.LifetimeSeconds, (uint)SessionTickets.Lifetime.TotalSeconds);
        return new ResumptionTicket(message.Ticket, _secret, Group, Suite, Server, receivedAt.AddSeconds(lifetime));
    }

    /// <summary>For the vectors in PROTOCOL.md only.</summary>
    internal byte[] ExportForTesting() => (byte[])_secret.Clone();

    public void Dispose() => CryptographicOperations.ZeroMemory(_secret);

    public override string ToString() => nameof(ResumptionSecret);
}
