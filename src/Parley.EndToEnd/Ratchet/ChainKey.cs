// A sending or receiving chain key. Step consumes it (KDF_CK) and returns the message key for
// this position and the next chain key; the old one is wiped.
using System.Security.Cryptography;

namespace Parley.EndToEnd.Ratchet;

internal sealed class ChainKey : IDisposable
{
    private readonly byte[] _key;
    private bool _disposed;

    internal ChainKey(byte[] key)
    {
        if (key.Length != RatchetKdf.KeySize)
        {
            throw new ArgumentException($"A chain key is {RatchetKdf.KeySize} bytes.", nameof(key));
        }
        _key = key;
    }

    public (MessageKey Message, ChainKey Next) Step()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        byte[] message = new byte[RatchetKdf.KeySize];
        byte[] next = new byte[RatchetKdf.KeySize];
        RatchetKdf.ChainStep(_key, message, next);
        Dispose();
        return (new MessageKey(message), new ChainKey(next));
    }

    internal ReadOnlySpan<byte> Bytes
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _key;
        }
    }

    public ChainKey Clone() => new(Bytes.ToArray());

    public void Dispose()
    {
        _disposed = true;
        CryptographicOperations.ZeroMemory(_key);
    }

    public override string ToString() => nameof(ChainKey);
}
