// What the server hands out for a device (PQXDH rev 3 §3.3): identity key, signed prekey, an
// optional one-time prekey and one ML-KEM prekey. The binary encoding (PROTOCOL.md
// §13.3), version 1, big-endian:
//   u8 version = 1 || identity (128) || u32 spk id || spk (32) || spk signature (64)
//   || u8 has-opk (0/1) || [u32 opk id || opk (32)]
//   || u32 kem id || u8 kem kind || u16 kem key length (= 1184) || kem key || kem signature (64)
// Decoding checks every length before reading and rejects trailing bytes; it does not verify
// signatures (Verify does, and PQXDH calls it before using anything).
using Parley.EndToEnd.Wire;
using Parley.EndToEnd.Identity;

namespace Parley.EndToEnd.Prekeys;

public sealed record PrekeyBundle(IdentityPublicKey Identity, SignedPrekey SignedPrekey, OneTimePrekey? OneTimePrekey, KemPrekey KemPrekey)
{
    public const byte Version = 1;

    /// <summary>The largest encoding: every field present.</summary>
    public const int MaxEncodedSize = 1 + IdentityPublicKey.EncodedSize + 4 + 32 + 64 + 1 + 4 + 32 + 4 + 1 + 2 + KemPrekey.PublicKeySize + 64;

    /// <summary>Fails closed: both prekey signatures must verify under the bundle's identity (whose binding verified when it was built).</summary>
    public void Verify()
    {
        SignedPrekey.Verify(Identity);
        KemPrekey.Verify(Identity);
    }

    public byte[] Encode()
    {
        ByteWriter writer = new(MaxEncodedSize);
        writer.WriteByte(Version);
        Identity.Write(writer);
        writer.WriteUInt32(SignedPrekey.Id).WriteBytes(SignedPrekey.PublicKey).WriteBytes(SignedPrekey.Signature);
        writer.WriteBoolean(OneTimePrekey is not null);
        if (OneTimePrekey is not null)
        {
            writer.WriteUInt32(OneTimePrekey.Id).WriteBytes(OneTimePrekey.PublicKey);
        }
        writer.WriteUInt32(KemPrekey.Id).WriteByte((byte)KemPrekey.Kind).WriteLengthPrefixed16(KemPrekey.PublicKey).WriteBytes(KemPrekey.Signature);
        return writer.ToArray();
    }

    public static PrekeyBundle Decode(ReadOnlySpan<byte> encoded)
    {
        if (encoded.Length > MaxEncodedSize)
        {
            throw new E2eProtocolException(E2eError.MalformedData, $"prekey bundle: {encoded.Length} bytes, at most {MaxEncodedSize}");
        }
        ByteReader reader = new(encoded, "prekey bundle");
        reader.ExpectVersion(reader.ReadByte("version"), Version);
        IdentityPublicKey identity = IdentityPublicKey.Read(ref reader);
        SignedPrekey signedPrekey = new(reader.ReadUInt32("signed prekey id"), reader.ReadSpan(32, "signed prekey"), reader.ReadSpan(64, "signed prekey signature"));
        OneTimePrekey? oneTimePrekey = reader.ReadBoolean("one-time prekey flag")
            ? new OneTimePrekey(reader.ReadUInt32("one-time prekey id"), reader.ReadSpan(32, "one-time prekey"))
            : null;
        uint kemId = reader.ReadUInt32("ML-KEM prekey id");
        KemPrekeyKind kind = (KemPrekeyKind)reader.ReadByte("ML-KEM prekey kind");
        ReadOnlySpan<byte> kemKey = reader.ReadLengthPrefixed16(KemPrekey.PublicKeySize, "ML-KEM prekey");
        KemPrekey kemPrekey = new(kemId, kind, kemKey, reader.ReadSpan(64, "ML-KEM prekey signature"));
        reader.EnsureEnd();
        return new PrekeyBundle(identity, signedPrekey, oneTimePrekey, kemPrekey);
    }
}
