// The X25519 key pair of our current DH ratchet step. The private scalar is kept as bytes so the
// session state can be copied (decrypt on a copy) and persisted; Dispose wipes it.
using System.Security.Cryptography;
using Parley.Crypto.KeyAgreement;
using Parley.EndToEnd.Identity;

namespace Parley.EndToEnd.Ratchet;

internal sealed class RatchetKeyPair : IDisposable
{
    private readonly byte[] _privateKey;
    private readonly byte[] _publicKey;
    private bool _disposed;

    internal RatchetKeyPair(byte[] privateKey, byte[] publicKey)
    {
        if (privateKey.Length != X25519Keys.KeySize || publicKey.Length != X25519Keys.KeySize)
        {
            throw new ArgumentException("An X25519 key pair is two 32-byte values.");
        }
        _privateKey = privateKey;
        _publicKey = publicKey;
    }

    public static RatchetKeyPair Generate(IE2eRandom random)
    {
        using KeyAgreementPrivateKey key = X25519Keys.Generate(random);
        return From(key);
    }

    public static RatchetKeyPair From(KeyAgreementPrivateKey key) => new(key.ExportPrivateKey(), key.PublicKey.ToArray());

    /// <summary>Checks that the stored public key belongs to the stored private key (a corrupted state fails here).</summary>
    public static RatchetKeyPair Import(ReadOnlySpan<byte> privateKey, ReadOnlySpan<byte> publicKey)
    {
        using KeyAgreementPrivateKey key = X25519Keys.Algorithm.ImportKeyPair(privateKey, publicKey, Parley.Crypto.KeyExportPolicy.AllowExport);
        return From(key);
    }

    public ReadOnlySpan<byte> PublicKey => _publicKey;

    internal ReadOnlySpan<byte> PrivateKey
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _privateKey;
        }
    }

    public SharedSecret Agree(ReadOnlySpan<byte> theirPublicKey)
    {
        using KeyAgreementPrivateKey key = X25519Keys.Algorithm.ImportPrivateKey(PrivateKey);
        return X25519Keys.Agree(key, theirPublicKey, "ratchet key");
    }

    public RatchetKeyPair Clone() => new(PrivateKey.ToArray(), _publicKey.ToArray());

    public void Dispose()
    {
        _disposed = true;
        CryptographicOperations.ZeroMemory(_privateKey);
    }

    public override string ToString() => nameof(RatchetKeyPair);
}
