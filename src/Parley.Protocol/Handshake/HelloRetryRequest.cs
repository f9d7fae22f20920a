using Parley.Protocol.Wire;

namespace Parley.Protocol.Handshake;

/// <summary>PROTOCOL.md §5.3: the server asks once for a key share in another group.</summary>
public sealed record HelloRetryRequest(ushort Version, string Group)
{
    public byte[] Encode()
    {
        WireWriter w = new(stackalloc byte[WireWriter.StackSize]);
        w.WriteByte((byte)MessageType.HelloRetryRequest);
        w.WriteUInt16(Version);
        w.WriteName(Group);
        return w.ToArray();
    }

    public static HelloRetryRequest Decode(ReadOnlySpan<byte> body)
    {
        WireReader r = new(body, "HelloRetryRequest");
        r.ReadByte("type");
        ushort version = r.ReadUInt16("version");
        if (version != ProtocolVersion.Current)
        {
            throw new ParleyProtocolException(ProtocolError.UnsupportedVersion, $"server answered with version {version}, this client speaks version {ProtocolVersion.Current}");
        }
        string group = r.ReadName("group");
        r.EnsureEnd();
        return new HelloRetryRequest(version, group);
    }
}
