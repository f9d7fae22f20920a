using Parley.Protocol.Wire;

namespace Parley.Protocol.Handshake;

/// <summary>
/// PROTOCOL.md §5.7: the payload of the client's ClientIdentity record. The signature covers
/// "parley/1 client signature" || 0x00 || TH, so it proves the key in this session only.
/// </summary>
public sealed record ClientIdentityMessage(string SignatureAlgorithm, byte[] IdentityKey, byte[] Signature)
{
    public byte[] Encode()
    {
        WireWriter w = new(stackalloc byte[WireWriter.StackSize]);
        w.WriteName(SignatureAlgorithm);
        w.WriteVector16(IdentityKey);
        w.WriteVector16(Signature);
        return w.ToArray();
    }

    public static ClientIdentityMessage Decode(ReadOnlySpan<byte> payload)
    {
        WireReader r = new(payload, "ClientIdentity");
        string algorithm = r.ReadName("signature_algorithm");
        byte[] key = r.ReadVector16("identity_key").ToArray();
        byte[] signature = r.ReadVector16("signature").ToArray();
        r.EnsureEnd();
        return new ClientIdentityMessage(algorithm, key, signature);
    }
}
