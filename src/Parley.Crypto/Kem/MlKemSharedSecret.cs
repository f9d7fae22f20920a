using System.Security.Cryptography;

namespace Parley.Crypto.Kem;

/// <summary>
/// The 32-byte shared secret of an ML-KEM encapsulation or decapsulation (FIPS 203 §7: K is always
/// 32 bytes, for every parameter set). Like <see cref="KeyAgreement.SharedSecret"/> it cannot be read
/// out: its only use is as input to <see cref="Kdf.PqxdhKdf"/>. The ML-KEM operations themselves
/// come with issue 9 and are the only intended producers of this type.
/// Using it after Dispose throws <see cref="ObjectDisposedException"/>.
/// </summary>
public sealed class MlKemSharedSecret : IDisposable
{
    public const int Size = 32;

    private readonly byte[] _secret;
    private bool _disposed;

    /// <summary>Takes ownership of <paramref name="secret"/>; Dispose wipes it.</summary>
    internal MlKemSharedSecret(byte[] secret)
    {
        if (secret.Length != Size)
        {
            throw new ArgumentException($"An ML-KEM shared secret is {Size} bytes, not {secret.Length}.", nameof(secret));
        }
        _secret = secret;
    }

    /// <summary>The secret itself, for KDFs inside this assembly; never handed out.</summary>
    internal ReadOnlySpan<byte> Secret
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _secret;
        }
    }

    public void Dispose()
    {
        _disposed = true;
        CryptographicOperations.ZeroMemory(_secret);
    }

    public override string ToString() => nameof(MlKemSharedSecret);
}
