// How this client packs its public keys into the key directory's opaque blobs (PROTOCOL.md §11.5
// leaves their format to the end-to-end layer), big-endian, every length checked on the way in:
//   identity key      IdentityPublicKey.Encode()
//   signed prekey     u32 id || X25519 public (32) || signature (64)
//   one-time prekey   u32 id || X25519 public (32)
//   KEM prekey        u32 id || u8 kind || ML-KEM-768 encapsulation key (1184) || signature (64)
// A fetched bundle is rebuilt from them and verified by PQXDH before any key is used.
using System.Buffers.Binary;
using Parley.EndToEnd;
using Parley.EndToEnd.Identity;
using Parley.EndToEnd.Prekeys;
using Parley.Messaging;

namespace Parley.Client.EndToEnd;

public static class KeyDirectoryBlobs
{
    private const int X25519Size = 32;
    private const int SignatureSize = 64;

    public static byte[] SignedPrekey(SignedPrekey key) => Concat([Id(key.Id), key.PublicKey.ToArray(), key.Signature.ToArray()]);

    public static byte[] OneTimePrekey(OneTimePrekey key) => Concat([Id(key.Id), key.PublicKey.ToArray()]);

    public static byte[] KemPrekey(KemPrekey key) => Concat([Id(key.Id), [(byte)key.Kind], key.PublicKey.ToArray(), key.Signature.ToArray()]);

    /// <summary>The bundle a directory entry stands for; its signatures are checked when PQXDH runs (fail closed).</summary>
    public static PrekeyBundle ToBundle(DeviceBundle entry)
    {
        IdentityPublicKey identity = IdentityPublicKey.Decode(entry.IdentityKey);
        ReadOnlySpan<byte> spk = Exactly(entry.SignedPrekey, 4 + X25519Size + SignatureSize, "signed prekey");
        SignedPrekey signed = new(BinaryPrimitives.ReadUInt32BigEndian(spk), spk.Slice(4, X25519Size), spk[(4 + X25519Size)..]);
        OneTimePrekey? oneTime = null;
        if (entry.OneTimePrekey is not null)
        {
            ReadOnlySpan<byte> opk = Exactly(entry.OneTimePrekey, 4 + X25519Size, "one-time prekey");
            oneTime = new OneTimePrekey(BinaryPrimitives.ReadUInt32BigEndian(opk), opk[4..]);
        }
        ReadOnlySpan<byte> kem = Exactly(entry.KemPrekey, 4 + 1 + Parley.EndToEnd.Prekeys.KemPrekey.PublicKeySize + SignatureSize, "KEM prekey");
        KemPrekeyKind kind = (KemPrekeyKind)kem[4];
        if (kind is not (KemPrekeyKind.OneTime or KemPrekeyKind.LastResort))
        {
            throw new E2eProtocolException(E2eError.MalformedData, $"KEM prekey: unknown kind {kem[4]}");
        }
        KemPrekey kemKey = new(BinaryPrimitives.ReadUInt32BigEndian(kem), kind, kem.Slice(5, Parley.EndToEnd.Prekeys.KemPrekey.PublicKeySize),
            kem[(5 + Parley.EndToEnd.Prekeys.KemPrekey.PublicKeySize)..]);
        return new PrekeyBundle(identity, signed, oneTime, kemKey);
    }

    private static ReadOnlySpan<byte> Exactly(byte[] blob, int length, string what) =>
        blob.Length == length ? blob : throw new E2eProtocolException(E2eError.MalformedData, $"{what}: {blob.Length} bytes, expected {length}");

    private static byte[] Id(uint id)
    {
        byte[] bytes = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, id);
        return bytes;
    }

    private static byte[] Concat(byte[][] parts)
    {
        int length = 0;
        foreach (byte[] part in parts)
        {
            length += part.Length;
        }
        byte[] result = new byte[length];
        int offset = 0;
        foreach (byte[] part in parts)
        {
            part.CopyTo(result, offset);
            offset += part.Length;
        }
        return result;
    }
}
