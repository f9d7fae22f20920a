using Parley.Protocol.Wire;

namespace Parley.Protocol.Handshake;

/// <summary>
/// PROTOCOL.md §5.1. Lists are in the client's order of preference. With a <see cref="Ticket"/>
/// it is a ResumingClientHello (§5.9, type 0x04): the same fields, then the ticket.
/// </summary>
public sealed record ClientHello(
    ushort Version,
    byte[] Random,
    IReadOnlyList<string> Groups,
    IReadOnlyList<string> Suites,
    IReadOnlyList<string> SignatureAlgorithms,
    string ShareGroup,
    byte[] KeyShare,
    byte[]? Ticket = null)
{
    public MessageType Type => Ticket is null ? MessageType.ClientHello : MessageType.ResumingClientHello;

    public byte[] Encode()
    {
        WireWriter w = new(stackalloc byte[WireWriter.StackSize]);
        w.WriteByte((byte)Type);
        w.WriteUInt16(Version);
        w.WriteBytes(Random);
        w.WriteNameList(Groups);
        w.WriteNameList(Suites);
        w.WriteNameList(SignatureAlgorithms);
        w.WriteName(ShareGroup);
        w.WriteVector16(KeyShare);
        if (Ticket is not null)
        {
            w.WriteVector16(Ticket);
        }
        return w.ToArray();
    }

    /// <summary>Parses a ClientHello or ResumingClientHello body. The version is returned as sent, for the caller to judge.</summary>
    public static ClientHello Decode(ReadOnlySpan<byte> body)
    {
        WireReader r = new(body, "ClientHello");
        byte type = r.ReadByte("type");
        if (type is not ((byte)MessageType.ClientHello or (byte)MessageType.ResumingClientHello))
        {
            throw new ParleyProtocolException(ProtocolError.UnexpectedMessage, "expected a ClientHello");
        }
        ushort version = r.ReadUInt16("version");
        if (version != ProtocolVersion.Current)
        {
            // Nothing after the version is read: a future version may lay the rest out differently.
            throw new ParleyProtocolException(ProtocolError.UnsupportedVersion, $"client speaks version {version}, this server speaks version {ProtocolVersion.Current}");
        }
        byte[] random = r.ReadBytes(ProtocolVersion.RandomSize, "random").ToArray();
        List<string> groups = r.ReadNameList("groups");
        List<string> suites = r.ReadNameList("suites");
        List<string> signatures = r.ReadNameList("signature_algorithms");
        string shareGroup = r.ReadName("share_group");
        byte[] share = r.ReadVector16("key_share").ToArray();
        byte[]? ticket = null;
        if (type == (byte)MessageType.ResumingClientHello)
        {
            ticket = r.ReadVector16("ticket").ToArray();
            if (ticket.Length is 0 or > SessionTickets.MaxTicketLength)
            {
                throw new ParleyProtocolException(ProtocolError.Malformed, $"a ticket of {ticket.Length} bytes (must be 1..{SessionTickets.MaxTicketLength})");
            }
        }
        r.EnsureEnd();
        return new ClientHello(version, random, groups, suites, signatures, shareGroup, share, ticket);
    }

    /// <summary>True when a retried hello repeats this one in everything but the key share (and the ticket, which a retry drops).</summary>
    internal bool SameOfferAs(ClientHello other) =>
        Version == other.Version
        && Random.AsSpan().SequenceEqual(other.Random)
        && Groups.SequenceEqual(other.Groups)
        && Suites.SequenceEqual(other.Suites)
        && SignatureAlgorithms.SequenceEqual(other.SignatureAlgorithms);
}
