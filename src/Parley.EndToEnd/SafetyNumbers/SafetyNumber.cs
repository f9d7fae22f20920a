// Safety numbers: Signal's 60-digit numeric fingerprint (NumericFingerprintGenerator, display
// version 0). For each side: h = version (u16 = 0) || key || stable id, then 5200 times
// h = SHA-512(h || key); the first 30 bytes give six 5-digit chunks (each 5 bytes big-endian
// mod 100000). The two 30-digit halves are concatenated in sorted order, so both sides compute
// the same 60 digits. Compute takes any key bytes (Signal's vector uses 0x05 || Curve25519 key);
// ForIdentities applies it to Parley identities as 0xED || Ed25519 key with the username as the
// stable id (docs/decisions/0005).
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Parley.EndToEnd.Identity;

namespace Parley.EndToEnd.SafetyNumbers;

public static class SafetyNumber
{
    public const int Iterations = 5200;
    public const int Digits = 60;

    /// <summary>The key-type byte before a Parley Ed25519 identity key (Signal uses 0x05 for Curve25519).</summary>
    public const byte Ed25519KeyType = 0xED;

    private const ushort FingerprintVersion = 0;
    private const int ChunkCount = 6;
    private const int ChunkBytes = 5;

    /// <summary>Both sides' safety number: the same 60 digits whichever side computes it.</summary>
    public static string ForIdentities(IdentityPublicKey ours, string ourUsername, IdentityPublicKey theirs, string theirUsername)
    {
        ArgumentNullException.ThrowIfNull(ours);
        ArgumentNullException.ThrowIfNull(theirs);
        return Compute(KeyBytes(ours), Encoding.UTF8.GetBytes(ourUsername), KeyBytes(theirs), Encoding.UTF8.GetBytes(theirUsername));
    }

    /// <summary>The generic algorithm: key bytes and stable ids in, 60 digits out.</summary>
    public static string Compute(ReadOnlySpan<byte> ourKey, ReadOnlySpan<byte> ourStableId, ReadOnlySpan<byte> theirKey, ReadOnlySpan<byte> theirStableId, int iterations = Iterations)
    {
        string ours = Half(ourKey, ourStableId, iterations);
        string theirs = Half(theirKey, theirStableId, iterations);
        return string.CompareOrdinal(ours, theirs) <= 0 ? ours + theirs : theirs + ours;
    }

    /// <summary>Twelve groups of five digits, as the digits are read aloud or shown.</summary>
    public static string Format(string safetyNumber)
    {
        ArgumentNullException.ThrowIfNull(safetyNumber);
        if (safetyNumber.Length != Digits)
        {
            throw new ArgumentException($"A safety number has {Digits} digits.", nameof(safetyNumber));
        }
        return string.Join(' ', Enumerable.Range(0, Digits / 5).Select(i => safetyNumber.Substring(i * 5, 5)));
    }

    /// <summary>One side's 30 digits.</summary>
    public static string Half(ReadOnlySpan<byte> key, ReadOnlySpan<byte> stableId, int iterations = Iterations)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
        byte[] buffer = new byte[2 + key.Length + stableId.Length];
        buffer[0] = (byte)(FingerprintVersion >> 8);
        buffer[1] = (byte)FingerprintVersion;
        key.CopyTo(buffer.AsSpan(2));
        stableId.CopyTo(buffer.AsSpan(2 + key.Length));
        Span<byte> hash = stackalloc byte[SHA512.HashSizeInBytes];
        using IncrementalHash sha512 = IncrementalHash.CreateHash(HashAlgorithmName.SHA512);
        sha512.AppendData(buffer);
        sha512.AppendData(key);
        sha512.GetHashAndReset(hash);
        for (int i = 1; i < iterations; i++)
        {
            sha512.AppendData(hash);
            sha512.AppendData(key);
            sha512.GetHashAndReset(hash);
        }
        StringBuilder digits = new(ChunkCount * 5);
        for (int chunk = 0; chunk < ChunkCount; chunk++)
        {
            ulong value = 0;
            for (int b = 0; b < ChunkBytes; b++)
            {
                value = (value << 8) | hash[(chunk * ChunkBytes) + b];
            }
            digits.Append((value % 100_000).ToString("D5", CultureInfo.InvariantCulture));
        }
        return digits.ToString();
    }

    private static byte[] KeyBytes(IdentityPublicKey identity)
    {
        byte[] key = new byte[1 + IdentityPublicKey.SigningKeySize];
        key[0] = Ed25519KeyType;
        identity.SigningKey.CopyTo(key.AsSpan(1));
        return key;
    }
}
