// ML-KEM-768 (FIPS 203) through BouncyCastle.Cryptography 2.7.0: key pairs from a 64-byte seed
// (d || z, FIPS 203 §7.1), encapsulation with injected randomness, decapsulation. Before any
// encapsulation the encapsulation key gets FIPS 203 §7.2's input check: its length, and the
// modulus check (every 12-bit coefficient of t-hat below q = 3329).
// Not wiped: BouncyCastle's own copies inside its key objects; we keep and wipe only the seed.
using System.Security.Cryptography;
using Org.BouncyCastle.Crypto.Kems;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Prng;
using Org.BouncyCastle.Security;
using Parley.Crypto.Kem;

namespace Parley.EndToEnd.Kem;

internal static class MlKem768
{
    public const int EncapsulationKeySize = 1184;
    public const int CiphertextSize = 1088;
    public const int SeedSize = 64;

    private const int Modulus = 3329;
    private const int EncodedPolynomialsSize = 384 * 3;

    private static MLKemParameters Parameters => MLKemParameters.ml_kem_768;

    public static byte[] PublicKeyFromSeed(ReadOnlySpan<byte> seed)
    {
        MLKemPrivateKeyParameters privateKey = FromSeed(seed);
        return privateKey.GetPublicKeyEncoded();
    }

    /// <summary>FIPS 203 §7.2 encapsulation key check; throws E2eProtocolException(InvalidKemKey).</summary>
    public static void ValidateEncapsulationKey(ReadOnlySpan<byte> key, string what)
    {
        if (key.Length != EncapsulationKeySize)
        {
            throw new E2eProtocolException(E2eError.InvalidKemKey, $"{what}: {key.Length} bytes, expected {EncapsulationKeySize}");
        }
        for (int i = 0; i < EncodedPolynomialsSize; i += 3)
        {
            int first = key[i] | ((key[i + 1] & 0x0F) << 8);
            int second = (key[i + 1] >> 4) | (key[i + 2] << 4);
            if (first >= Modulus || second >= Modulus)
            {
                throw new E2eProtocolException(E2eError.InvalidKemKey, $"{what}: fails the modulus check");
            }
        }
    }

    public static (byte[] Ciphertext, MlKemSharedSecret Secret) Encapsulate(ReadOnlySpan<byte> encapsulationKey, IE2eRandom random)
    {
        ValidateEncapsulationKey(encapsulationKey, "ML-KEM prekey");
        MLKemPublicKeyParameters publicKey = MLKemPublicKeyParameters.FromEncoding(Parameters, encapsulationKey.ToArray());
        MLKemEncapsulator encapsulator = new(Parameters);
        encapsulator.Init(new ParametersWithRandom(publicKey, new SecureRandom(new InjectedGenerator(random))));
        byte[] ciphertext = new byte[CiphertextSize];
        byte[] secret = new byte[MlKemSharedSecret.Size];
        encapsulator.Encapsulate(ciphertext, secret);
        return (ciphertext, new MlKemSharedSecret(secret));
    }

    /// <summary>Decapsulation; a wrong ciphertext gives an unrelated secret (implicit rejection), caught later by the AEAD.</summary>
    public static MlKemSharedSecret Decapsulate(ReadOnlySpan<byte> seed, ReadOnlySpan<byte> ciphertext)
    {
        if (ciphertext.Length != CiphertextSize)
        {
            throw new E2eProtocolException(E2eError.InvalidKemKey, $"ML-KEM ciphertext: {ciphertext.Length} bytes, expected {CiphertextSize}");
        }
        MLKemDecapsulator decapsulator = new(Parameters);
        decapsulator.Init(FromSeed(seed));
        byte[] secret = new byte[MlKemSharedSecret.Size];
        decapsulator.Decapsulate(ciphertext, secret);
        return new MlKemSharedSecret(secret);
    }

    private static MLKemPrivateKeyParameters FromSeed(ReadOnlySpan<byte> seed)
    {
        if (seed.Length != SeedSize)
        {
            throw new ArgumentException($"An ML-KEM-768 seed is {SeedSize} bytes.", nameof(seed));
        }
        byte[] copy = seed.ToArray();
        try
        {
            return MLKemPrivateKeyParameters.FromSeed(Parameters, copy);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(copy);
        }
    }

    /// <summary>BouncyCastle's random interface over our IE2eRandom, so vectors can pin the encapsulation.</summary>
    private sealed class InjectedGenerator(IE2eRandom random) : IRandomGenerator
    {
        public void AddSeedMaterial(byte[] seed)
        {
        }

        public void AddSeedMaterial(ReadOnlySpan<byte> seed)
        {
        }

        public void AddSeedMaterial(long seed)
        {
        }

        public void NextBytes(byte[] bytes) => random.Fill(bytes);

        public void NextBytes(byte[] bytes, int start, int len) => random.Fill(bytes.AsSpan(start, len));

        public void NextBytes(Span<byte> bytes) => random.Fill(bytes);
    }
}
