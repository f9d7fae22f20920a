// The key of one file (PROTOCOL.md §15): 256 random bits made for that file alone and sent to its
// recipients only inside the end-to-end offer. A type of its own so it cannot be mixed up with
// any other key, and zeroed when disposed.
using System.Security.Cryptography;

namespace Parley.EndToEnd.Files;

public sealed class FileKey : IDisposable
{
    public const int Size = 32;

    private readonly byte[] _key;
    private bool _disposed;

    private FileKey(byte[] key) => _key = key;

    /// <summary>A fresh key from the system's CSPRNG (or <paramref name="random"/>, for vectors).</summary>
    public static FileKey Generate(IE2eRandom? random = null)
    {
        byte[] key = new byte[Size];
        if (random is null)
        {
            RandomNumberGenerator.Fill(key);
        }
        else
        {
            random.Fill(key);
        }
        return new FileKey(key);
    }

    /// <summary>A key received in an offer; the bytes are copied (the caller wipes its own).</summary>
    public static FileKey Import(ReadOnlySpan<byte> key)
    {
        if (key.Length != Size)
        {
            throw new E2eProtocolException(E2eError.MalformedData, $"a file key is {Size} bytes");
        }
        return new FileKey(key.ToArray());
    }

    internal ReadOnlySpan<byte> Bytes
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _key;
        }
    }

    /// <summary>The key's bytes, to put into an offer (which is then encrypted end to end). The caller wipes the copy.</summary>
    public byte[] Export() => Bytes.ToArray();

    public void Dispose()
    {
        _disposed = true;
        CryptographicOperations.ZeroMemory(_key);
    }

    public override string ToString() => nameof(FileKey);
}
