using Parley.Protocol.Wire;

namespace Parley.Protocol.Handshake;

/// <summary>PROTOCOL.md §5.2. The signature covers the transcript up to and including <see cref="SignedPart"/>.</summary>
public sealed record ServerHello(
    ushort Version,
    byte[] Random,
    string Group,
    string Suite,
    byte[] KeyShare,
    string SignatureAlgorithm,
    byte[] IdentityKey,
    byte[] Signature)
{
    /// <summary>The encoding of every field before the signature.</summary>
    public byte[] SignedPart()
    {
        WireWriter w = new(stackalloc byte[WireWriter.StackSize]);
        WriteSignedPart(ref w);
        return w.ToArray();
    }

    public byte[] Encode()
    {
        WireWriter w = new(stackalloc byte[WireWriter.StackSize]);
        WriteSignedPart(ref w);
        w.WriteVector16(Signature);
        return w.ToArray();
    }

    private void WriteSignedPart(ref WireWriter w)
    {
        w.WriteByte((byte)MessageType.ServerHello);
        w.WriteUInt16(Version);
        w.WriteBytes(Random);
        w.WriteName(Group);
        w.WriteName(Suite);
        w.WriteVector16(KeyShare);
        w.WriteName(SignatureAlgorithm);
        w.WriteVector16(IdentityKey);
    }

    /// <summary>Parses a ServerHello; <paramref name="signedLength"/> is the length of the signed part.</summary>
    public static ServerHello Decode(ReadOnlySpan<byte> body, out int signedLength)
    {
        WireReader r = new(body, "ServerHello");
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
        string signatureAlgorithm = r.ReadName("signature_algorithm");
        byte[] identity = r.ReadVector16("identity_key").ToArray();
        signedLength = r.Position;
        byte[] signature = r.ReadVector16("signature").ToArray();
        r.EnsureEnd();
        return new ServerHello(version, random, group, suite, share, signatureAlgorithm, identity, signature);
    }
}
