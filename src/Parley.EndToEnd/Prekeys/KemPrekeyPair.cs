// An ML-KEM-768 prekey with its private part, kept as the 64-byte FIPS 203 seed (d || z) from
// which BouncyCastle rebuilds the decapsulation key when needed. Dispose wipes the seed.
using System.Security.Cryptography;
using Parley.Crypto.Kem;
using Parley.EndToEnd.Identity;
using Parley.EndToEnd.Kem;

namespace Parley.EndToEnd.Prekeys;

public sealed class KemPrekeyPair : IDisposable
{
    public const int SeedSize = MlKem768.SeedSize;

    private readonly byte[] _seed;
    private bool _disposed;

    private KemPrekeyPair(byte[] seed, KemPrekey publicPart)
    {
        _seed = seed;
        Public = publicPart;
    }

    public KemPrekey Public { get; }

    public uint Id => Public.Id;

    public KemPrekeyKind Kind => Public.Kind;

    public static KemPrekeyPair Generate(IdentityKeyPair owner, uint id, KemPrekeyKind kind, IE2eRandom? random = null)
    {
        ArgumentNullException.ThrowIfNull(owner);
        byte[] seed = new byte[SeedSize];
        (random ?? SystemE2eRandom.Instance).Fill(seed);
        byte[] publicKey = MlKem768.PublicKeyFromSeed(seed);
        byte[] signature = owner.Sign(SignedData.KemPrekey((byte)kind, id, publicKey));
        return new KemPrekeyPair(seed, new KemPrekey(id, kind, publicKey, signature));
    }

    /// <summary>Rebuilds a stored prekey from its seed; the signature is checked against <paramref name="owner"/>.</summary>
    public static KemPrekeyPair Import(IdentityPublicKey owner, uint id, KemPrekeyKind kind, ReadOnlySpan<byte> seed, ReadOnlySpan<byte> signature)
    {
        if (seed.Length != SeedSize)
        {
            throw new ArgumentException($"An ML-KEM-768 seed is {SeedSize} bytes.", nameof(seed));
        }
        KemPrekey publicPart = new(id, kind, MlKem768.PublicKeyFromSeed(seed), signature);
        publicPart.Verify(owner);
        return new KemPrekeyPair(seed.ToArray(), publicPart);
    }

    /// <summary>The seed, to store the prekey; the caller must wipe it.</summary>
    public byte[] ExportSeed()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return (byte[])_seed.Clone();
    }

    internal MlKemSharedSecret Decapsulate(ReadOnlySpan<byte> ciphertext)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return MlKem768.Decapsulate(_seed, ciphertext);
    }

    public void Dispose()
    {
        _disposed = true;
        CryptographicOperations.ZeroMemory(_seed);
    }

    public override string ToString() => $"{nameof(KemPrekeyPair)}({Id}, {Kind})";
}
