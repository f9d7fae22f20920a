// The ratchet's root key. Step consumes it (a KDF_RK with one DH output) and returns the next root
// key and a chain key; the old one is wiped. Not printable, not comparable.
using System.Security.Cryptography;
using Parley.Crypto.Kdf;
using Parley.Crypto.KeyAgreement;

namespace Parley.EndToEnd.Ratchet;

internal sealed class RootKey : IDisposable
{
    private readonly byte[] _key;
    private bool _disposed;

    internal RootKey(byte[] key)
    {
        if (key.Length != RatchetKdf.KeySize)
        {
            throw new ArgumentException($"A root key is {RatchetKdf.KeySize} bytes.", nameof(key));
        }
        _key = key;
    }

    /// <summary>RK_0 from PQXDH's SK.</summary>
    public static RootKey FromSharedKey(PseudoRandomKey sharedKey)
    {
        byte[] key = new byte[RatchetKdf.KeySize];
        sharedKey.Expand(RatchetKdf.InitialRootKeyInfo, key);
        return new RootKey(key);
    }

    /// <summary>KDF_RK: this key is disposed; the next root key and a new chain key are returned.</summary>
    public (RootKey Next, ChainKey Chain) Step(SharedSecret dhOutput)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        byte[] next = new byte[RatchetKdf.KeySize];
        byte[] chain = new byte[RatchetKdf.KeySize];
        RatchetKdf.RootStep(_key, dhOutput.Secret, next, chain);
        Dispose();
        return (new RootKey(next), new ChainKey(chain));
    }

    internal ReadOnlySpan<byte> Bytes
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _key;
        }
    }

    public RootKey Clone() => new(Bytes.ToArray());

    public void Dispose()
    {
        _disposed = true;
        CryptographicOperations.ZeroMemory(_key);
    }

    public override string ToString() => nameof(RootKey);
}
