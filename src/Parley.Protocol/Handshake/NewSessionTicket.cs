using System.Buffers.Binary;
using Parley.Protocol.Wire;

namespace Parley.Protocol.Handshake;

/// <summary>
/// PROTOCOL.md §5.8: the payload of a NewSessionTicket record (0x19), which the server sends as
/// its first record after a handshake with a client that signalled it accepts one. The ticket is
/// opaque to the client; the lifetime is in seconds (at most 24 hours).
/// </summary>
public sealed record NewSessionTicket(uint LifetimeSeconds, byte[] Ticket)
{
    public byte[] Encode()
    {
        WireWriter w = new(stackalloc byte[WireWriter.StackSize]);
        Span<byte> lifetime = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(lifetime, LifetimeSeconds);
        w.WriteBytes(lifetime);
        w.WriteVector16(Ticket);
        return w.ToArray();
    }

    public static NewSessionTicket Decode(ReadOnlySpan<byte> payload)
    {
        WireReader r = new(payload, "NewSessionTicket");
        uint lifetime = BinaryPrimitives.ReadUInt32BigEndian(r.ReadBytes(4, "lifetime"));
        byte[] ticket = r.ReadVector16("ticket").ToArray();
        r.EnsureEnd();
        if (ticket.Length is 0 or > SessionTickets.MaxTicketLength)
        {
            throw new ParleyProtocolException(ProtocolError.Malformed, $"a ticket of {ticket.Length} bytes (must be 1..{SessionTickets.MaxTicketLength})");
        }
        if (lifetime == 0 || lifetime > SessionTickets.Lifetime.TotalSeconds)
        {
            throw new ParleyProtocolException(ProtocolError.IllegalParameter, $"a ticket lifetime of {lifetime} s (must be 1..{SessionTickets.Lifetime.TotalSeconds})");
        }
        return new NewSessionTicket(lifetime, ticket);
    }
}
