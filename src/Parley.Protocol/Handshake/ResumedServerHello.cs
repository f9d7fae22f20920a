using Parley.Protocol.Wire;

namespace Parley.Protocol.Handshake;

/// <summary>
/// PROTOCOL.md §5.9: the server's answer to a ResumingClientHello whose ticket it accepts. It
/// carries a fresh key share and no signature: the keys depend on the ticket's resumption secret,
/// so only the server that issued the ticket (or a node sharing its identity) can use them.
/// </summary>
public sealed record ResumedServerHello(ushort Version, byte[] Random, string Group, string Suite, byte[] KeyShare)
{
    public byte[] Encode()
    {
        WireWriter w = new(stackalloc byte[WireWriter.StackSize]);
        w.WriteByte((byte)MessageType.ResumedServerHello);
        w.WriteUInt16(Version);
        w.WriteBytes(Random);
        w.WriteName(Group);
        w.WriteName(Suite);
        w.WriteVector16(KeyShare);
        return w.ToArray();
    }

    public static ResumedServerHello Decode(ReadOnlySpan<byte> body)
    {
        WireReader r = new(body, "ResumedServerHello");
        r.ReadByte("type");
        ushort version = r.ReadUInt16("version");
        if (version != ProtocolVersion.Current)
        {
            throw new ParleyProtocolException(ProtocolError.UnsupportedVersion, $"server answered with version {version}, this client speaks version {ProtocolVersion.Current}");
        }
        byte[] random = r.ReadBytes(ProtocolVersion.RandomSize, "random").ToArray();
        string group = r.ReadName("group");
        string suite = r.ReadName("suite");
        byte[] share = r.ReadVector16("key_share").ToArray();
        r.EnsureEnd();
        return new ResumedServerHello(version, random, group, suite, share);
    }
}
