// PROTOCOL.md §6.2: each direction has a traffic secret, from which come its AEAD key and IV.
//   key         = HKDF-Expand(secret, "parley/1 key", suite key size)
//   iv          = HKDF-Expand(secret, "parley/1 iv", 12)
//   next secret = HKDF-Expand(secret, "parley/1 key update", 32)
using System.Security.Cryptography;
using System.Text;
using Parley.Crypto.Aead;
using Parley.Crypto.Kdf;

namespace Parley.Protocol;

/// <summary>
/// One direction's traffic secret. Using it after Dispose throws <see cref="ObjectDisposedException"/>
/// (a key update disposes the old epoch's secret, so a stale reference fails closed).
/// </summary>
public sealed class TrafficSecret : IDisposable
{
    public const int Size = 32;

    private static readonly byte[] s_keyLabel = Encoding.ASCII.GetBytes("parley/1 key");
    private static readonly byte[] s_ivLabel = Encoding.ASCII.GetBytes("parley/1 iv");
    private static readonly byte[] s_updateLabel = Encoding.ASCII.GetBytes("parley/1 key update");

    private readonly byte[] _secret;
    private bool _disposed;

    private TrafficSecret(byte[] secret) => _secret = secret;

    internal static TrafficSecret Expand(PseudoRandomKey prk, ReadOnlySpan<byte> label)
    {
        byte[] secret = new byte[Size];
        prk.Expand(label, secret);
        return new TrafficSecret(secret);
    }

    /// <summary>The secret for the next key epoch; this one should be disposed after.</summary>
    internal TrafficSecret Next()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        using PseudoRandomKey prk = PseudoRandomKey.FromUniformSecret(_secret);
        return Expand(prk, s_updateLabel);
    }

    internal AeadKey DeriveKey(AeadAlgorithm suite, Span<byte> iv)
    {
        byte[] key = new byte[suite.KeySize];
        try
        {
            DeriveKeyBytes(key, iv);
            return suite.CreateKey(key);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>The key and IV of this epoch as bytes (the caller wipes them), for a record layer that creates its cipher context on demand.</summary>
    internal void DeriveKeyBytes(Span<byte> key, Span<byte> iv)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        using PseudoRandomKey prk = PseudoRandomKey.FromUniformSecret(_secret);
        prk.Expand(s_keyLabel, key);
        prk.Expand(s_ivLabel, iv);
    }

    /// <summary>For the vectors in PROTOCOL.md only.</summary>
    internal byte[] ExportForTesting()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return (byte[])_secret.Clone();
    }

    public void Dispose()
    {
        _disposed = true;
        CryptographicOperations.ZeroMemory(_secret);
    }

    public override string ToString() => nameof(TrafficSecret);
}
