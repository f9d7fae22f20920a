// What the initiator sends with its first messages (PQXDH rev 3 §3.4): its identity key, its
// ephemeral key, which prekeys it used, and the ML-KEM ciphertext. Encoding, version 1:
//   u8 version = 1 || initiator identity (128) || ephemeral key (32) || u32 spk id
//   || u8 has-opk (0/1) || [u32 opk id] || u32 kem prekey id || u16 ciphertext length (= 1088) || ciphertext
// The responder reads the ids from here to fetch its private prekeys, then calls Pqxdh.Respond.
using Parley.EndToEnd.Wire;
using Parley.EndToEnd.Identity;
using Parley.EndToEnd.Kem;

namespace Parley.EndToEnd.Pqxdh;

public sealed class PqxdhInitialHeader
{
    public const byte Version = 1;

    public const int MaxEncodedSize = 1 + IdentityPublicKey.EncodedSize + 32 + 4 + 1 + 4 + 4 + 2 + MlKem768.CiphertextSize;

    private readonly byte[] _ephemeralKey;
    private readonly byte[] _kemCiphertext;

    internal PqxdhInitialHeader(IdentityPublicKey initiatorIdentity, ReadOnlySpan<byte> ephemeralKey, uint signedPrekeyId, uint? oneTimePrekeyId, uint kemPrekeyId, ReadOnlySpan<byte> kemCiphertext)
    {
        if (ephemeralKey.Length != X25519Keys.KeySize || kemCiphertext.Length != MlKem768.CiphertextSize)
        {
            throw new E2eProtocolException(E2eError.MalformedData, "initial header: wrong field length");
        }
        InitiatorIdentity = initiatorIdentity;
        _ephemeralKey = ephemeralKey.ToArray();
        SignedPrekeyId = signedPrekeyId;
        OneTimePrekeyId = oneTimePrekeyId;
        KemPrekeyId = kemPrekeyId;
        _kemCiphertext = kemCiphertext.ToArray();
    }

    public IdentityPublicKey InitiatorIdentity { get; }

    /// <summary>EK_A, the initiator's ephemeral X25519 public key; it also names the session on the responder's side.</summary>
    public ReadOnlySpan<byte> EphemeralKey => _ephemeralKey;

    public uint SignedPrekeyId { get; }

    /// <summary>Null when the bundle had no one-time prekey (the 3-DH variant).</summary>
    public uint? OneTimePrekeyId { get; }

    public uint KemPrekeyId { get; }

    public ReadOnlySpan<byte> KemCiphertext => _kemCiphertext;

    public byte[] Encode()
    {
        ByteWriter writer = new(MaxEncodedSize);
        writer.WriteByte(Version);
        InitiatorIdentity.Write(writer);
        writer.WriteBytes(_ephemeralKey).WriteUInt32(SignedPrekeyId).WriteBoolean(OneTimePrekeyId.HasValue);
        if (OneTimePrekeyId is uint oneTime)
        {
            writer.WriteUInt32(oneTime);
        }
        writer.WriteUInt32(KemPrekeyId).WriteLengthPrefixed16(_kemCiphertext);
        return writer.ToArray();
    }

    public static PqxdhInitialHeader Decode(ReadOnlySpan<byte> encoded)
    {
        if (encoded.Length > MaxEncodedSize)
        {
            throw new E2eProtocolException(E2eError.MalformedData, $"initial header: {encoded.Length} bytes, at most {MaxEncodedSize}");
        }
        ByteReader reader = new(encoded, "initial header");
        reader.ExpectVersion(reader.ReadByte("version"), Version);
        IdentityPublicKey identity = IdentityPublicKey.Read(ref reader);
        ReadOnlySpan<byte> ephemeral = reader.ReadSpan(X25519Keys.KeySize, "ephemeral key");
        uint signedPrekeyId = reader.ReadUInt32("signed prekey id");
        uint? oneTimePrekeyId = reader.ReadBoolean("one-time prekey flag") ? reader.ReadUInt32("one-time prekey id") : null;
        uint kemPrekeyId = reader.ReadUInt32("ML-KEM prekey id");
        ReadOnlySpan<byte> ciphertext = reader.ReadLengthPrefixed16(MlKem768.CiphertextSize, "ML-KEM ciphertext");
        reader.EnsureEnd();
        return new PqxdhInitialHeader(identity, ephemeral, signedPrekeyId, oneTimePrekeyId, kemPrekeyId, ciphertext);
    }

    public override string ToString() => $"{nameof(PqxdhInitialHeader)}(spk {SignedPrekeyId}, opk {OneTimePrekeyId?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}, kem {KemPrekeyId})";
}
