using System.Security.Cryptography;
using Parley.Crypto.Kdf;

namespace Parley.Crypto.KeyAgreement;

/// <summary>
/// The raw output of a key agreement. Its only use is as HKDF input keying material:
/// it cannot be read out, only extracted into a <see cref="PseudoRandomKey"/> or combined with
/// others by <see cref="PqxdhKdf"/>. Using it after Dispose throws <see cref="ObjectDisposedException"/>.
/// </summary>
public sealed class SharedSecret : IDisposable
{
    private readonly byte[] _secret;
    private bool _disposed;

    internal SharedSecret(byte[] secret, string group)
    {
        _secret = secret;
        Group = group;
    }

    /// <summary>The key-agreement group that produced this secret (e.g. "x25519").</summary>
    public string Group { get; }

    /// <summary>Length of the secret in bytes.</summary>
    public int Size => _secret.Length;

    /// <summary>HKDF-Extract(salt, secret) (RFC 5869 §2.2).</summary>
    public PseudoRandomKey Extract(ReadOnlySpan<byte> salt)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return PseudoRandomKey.Extract(_secret, salt);
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

    /// <summary>For test vectors only: a copy of the raw secret.</summary>
    internal byte[] ExportForTesting() => Secret.ToArray();

    public void Dispose()
    {
        _disposed = true;
        CryptographicOperations.ZeroMemory(_secret);
    }

    public override string ToString() => $"{nameof(SharedSecret)}({Group})";
}
