using System.Security.Cryptography;
using Parley.Crypto.Kdf;

namespace Parley.Crypto.KeyAgreement;

/// <summary>
/// The raw output of a key agreement. Its only use is as HKDF input keying material:
/// it cannot be read out, only extracted into a <see cref="PseudoRandomKey"/>.
/// </summary>
public sealed class SharedSecret : IDisposable
{
    private readonly byte[] _secret;
    private bool _disposed;

    internal SharedSecret(byte[] secret) => _secret = secret;

    /// <summary>HKDF-Extract(salt, secret) (RFC 5869 §2.2).</summary>
    public PseudoRandomKey Extract(ReadOnlySpan<byte> salt)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return PseudoRandomKey.Extract(_secret, salt);
    }

    /// <summary>For test vectors only: a copy of the raw secret.</summary>
    internal byte[] ExportForTesting() => (byte[])_secret.Clone();

    public void Dispose()
    {
        _disposed = true;
        CryptographicOperations.ZeroMemory(_secret);
    }

    public override string ToString() => nameof(SharedSecret);
}
