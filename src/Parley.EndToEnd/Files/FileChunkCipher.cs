// The chunk cipher of PROTOCOL.md §15, sans-IO: chunk i of a file is AES-256-GCM under the file's
// own key with
//   nonce_i = 0x00000000 || u64 i
//   AD_i    = "Parley_File_v1" || file id (16) || u64 i || u8 last (1 for the last chunk, else 0)
// The key encrypts this one file only and the index never repeats within it, so a nonce is never
// reused with a different plaintext as long as the sender never encrypts two different contents at
// one index (it checks the file is unchanged before resuming, §15). The AD binds each chunk to its
// file, its place and whether it ends the file, so chunks cannot be swapped between files,
// reordered, dropped from the end or added after it. Lengths come from the FileLayout: a chunk of
// the wrong length is refused before any decryption.
using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Parley.EndToEnd.Files;

public sealed class FileChunkCipher : IDisposable
{
    public const int TagSize = 16;
    public const int NonceSize = 12;

    private static ReadOnlySpan<byte> Label => "Parley_File_v1"u8;

    private readonly AesGcm _aes;
    private readonly byte[] _associatedData;

    /// <param name="key">The file's key; the cipher keeps its own AES key schedule (the caller still disposes the key).</param>
    public FileChunkCipher(FileKey key, FileId fileId, FileLayout layout)
    {
        ArgumentNullException.ThrowIfNull(key);
        Layout = layout;
        _aes = new AesGcm(key.Bytes, TagSize);
        _associatedData = new byte[Label.Length + FileId.Size + 8 + 1];
        Label.CopyTo(_associatedData);
        fileId.Bytes.CopyTo(_associatedData.AsSpan(Label.Length));
    }

    public FileLayout Layout { get; }

    /// <summary>Encrypts chunk <paramref name="index"/> into <paramref name="destination"/> (its ciphertext length: plaintext + 16); returns the bytes written.</summary>
    public int Encrypt(long index, ReadOnlySpan<byte> plaintext, Span<byte> destination)
    {
        int length = Layout.PlaintextLength(index);
        if (plaintext.Length != length)
        {
            throw new ArgumentException($"chunk {index} holds {length} bytes, not {plaintext.Length}", nameof(plaintext));
        }
        if (destination.Length < length + TagSize)
        {
            throw new ArgumentException("the destination is too small for the chunk and its tag", nameof(destination));
        }
        Span<byte> nonce = stackalloc byte[NonceSize];
        Nonce(index, nonce);
        _aes.Encrypt(nonce, plaintext, destination[..length], destination.Slice(length, TagSize), AssociatedData(index));
        return length + TagSize;
    }

    /// <summary>
    /// Decrypts chunk <paramref name="index"/> into <paramref name="destination"/>; returns its plaintext length.
    /// A chunk that is forged, altered, of the wrong length, from another file or from another place is
    /// <see cref="E2eError.DecryptionFailed"/>, and <paramref name="destination"/> is wiped.
    /// </summary>
    public int Decrypt(long index, ReadOnlySpan<byte> ciphertext, Span<byte> destination)
    {
        if (index < 0 || index >= Layout.ChunkCount)
        {
            throw new E2eProtocolException(E2eError.DecryptionFailed, $"chunk {index} is not in this file");
        }
        int length = Layout.PlaintextLength(index);
        if (ciphertext.Length != length + TagSize)
        {
            throw new E2eProtocolException(E2eError.DecryptionFailed, $"chunk {index} has the wrong length");
        }
        if (destination.Length < length)
        {
            throw new ArgumentException("the destination is too small for the chunk", nameof(destination));
        }
        Span<byte> nonce = stackalloc byte[NonceSize];
        Nonce(index, nonce);
        try
        {
            _aes.Decrypt(nonce, ciphertext[..length], ciphertext[length..], destination[..length], AssociatedData(index));
            return length;
        }
        catch (AuthenticationTagMismatchException)
        {
            CryptographicOperations.ZeroMemory(destination[..length]);
            throw new E2eProtocolException(E2eError.DecryptionFailed, $"chunk {index} does not authenticate");
        }
    }

    private static void Nonce(long index, Span<byte> nonce)
    {
        nonce[..4].Clear();
        BinaryPrimitives.WriteUInt64BigEndian(nonce[4..], (ulong)index);
    }

    private ReadOnlySpan<byte> AssociatedData(long index)
    {
        Span<byte> tail = _associatedData.AsSpan(Label.Length + FileId.Size);
        BinaryPrimitives.WriteUInt64BigEndian(tail, (ulong)index);
        tail[8] = Layout.IsLast(index) ? (byte)1 : (byte)0;
        return _associatedData;
    }

    public void Dispose() => _aes.Dispose();
}
