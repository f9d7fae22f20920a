// HKDF-SHA256 (RFC 5869) through HkdfSha256 (libsodium, else the platform's HKDF), with the PRK held as a type.
using System.Security.Cryptography;

namespace Parley.Crypto.Kdf;

/// <summary>
/// An HKDF-SHA256 pseudorandom key: the output of Extract, the input of Expand. Using it after
/// Dispose throws <see cref="ObjectDisposedException"/>.
/// </summary>
public sealed class PseudoRandomKey : IDisposable
{
    public const int Size = 32;

    /// <summary>RFC 5869 §2.3: L is at most 255 · HashLen.</summary>
    public const int MaxExpandLength = 255 * Size;

    private readonly byte[] _prk;
    private bool _disposed;

    private PseudoRandomKey(byte[] prk) => _prk = prk;

    internal static PseudoRandomKey Extract(ReadOnlySpan<byte> inputKeyingMaterial, ReadOnlySpan<byte> salt)
    {
        byte[] prk = new byte[Size];
        HkdfSha256.Default.Extract(inputKeyingMaterial, salt, prk);
        return new PseudoRandomKey(prk);
    }

    /// <summary>HKDF-Extract over caller-held key material (not a key agreement), e.g. for test vectors.</summary>
    public static PseudoRandomKey FromInputKeyingMaterial(ReadOnlySpan<byte> inputKeyingMaterial, ReadOnlySpan<byte> salt) =>
        Extract(inputKeyingMaterial, salt);

    /// <summary>Uses an existing 32-byte secret directly as a PRK (RFC 5869 §3.3 allows skipping Extract for uniform keys).</summary>
    public static PseudoRandomKey FromUniformSecret(ReadOnlySpan<byte> secret)
    {
        if (secret.Length != Size)
        {
            throw new ArgumentException($"A PRK is {Size} bytes.", nameof(secret));
        }
        return new PseudoRandomKey(secret.ToArray());
    }

    /// <summary>HKDF-Expand(PRK, info, output.Length) (RFC 5869 §2.3).</summary>
    public void Expand(ReadOnlySpan<byte> info, Span<byte> output)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (output.Length is 0 or > MaxExpandLength)
        {
            throw new ArgumentException($"HKDF-SHA256 output must be 1..{MaxExpandLength} bytes, not {output.Length}.", nameof(output));
        }
        HkdfSha256.Default.Expand(_prk, info, output);
    }

    /// <summary>For test vectors only.</summary>
    internal byte[] ExportForTesting()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return (byte[])_prk.Clone();
    }

    public void Dispose()
    {
        _disposed = true;
        CryptographicOperations.ZeroMemory(_prk);
    }

    public override string ToString() => nameof(PseudoRandomKey);
}
