// How the device database seals each value it stores (docs/decisions/0006): AES-256-GCM under the
// device's state key, a fresh random nonce per write, and associated data naming the owner and the
// row, so a value moved to another row, another user's database or read under another key fails
// closed. One place for it: the device row, the sessions and the file records all use it.
using System.Security.Cryptography;
using Parley.EndToEnd;

namespace Parley.Client.EndToEnd;

internal static class SealedValue
{
    public const int KeySize = 32;
    private const int NonceSize = 12;
    private const int TagSize = 16;

    /// <summary>nonce || tag || ciphertext, with a fresh random nonce (one key, far fewer than 2^32 writes).</summary>
    public static byte[] Seal(byte[] key, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData)
    {
        byte[] sealedValue = new byte[NonceSize + TagSize + plaintext.Length];
        Span<byte> nonce = sealedValue.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using AesGcm aes = new(key, TagSize);
        aes.Encrypt(nonce, plaintext, sealedValue.AsSpan(NonceSize + TagSize), sealedValue.AsSpan(NonceSize, TagSize), associatedData);
        return sealedValue;
    }

    /// <summary>The plaintext (the caller wipes it).</summary>
    /// <param name="where">Names the store in the error (a path; never the value).</param>
    /// <exception cref="E2eProtocolException">Truncated, changed, moved from another row, or another key.</exception>
    public static byte[] Open(byte[] key, byte[] sealedValue, ReadOnlySpan<byte> associatedData, string where)
    {
        if (sealedValue.Length < NonceSize + TagSize)
        {
            throw new E2eProtocolException(E2eError.MalformedData, $"{where}: a stored value is truncated");
        }
        byte[] plaintext = new byte[sealedValue.Length - NonceSize - TagSize];
        try
        {
            using AesGcm aes = new(key, TagSize);
            aes.Decrypt(sealedValue.AsSpan(0, NonceSize), sealedValue.AsSpan(NonceSize + TagSize), sealedValue.AsSpan(NonceSize, TagSize), plaintext, associatedData);
            return plaintext;
        }
        catch (AuthenticationTagMismatchException)
        {
            CryptographicOperations.ZeroMemory(plaintext);
            throw new E2eProtocolException(E2eError.DecryptionFailed, $"{where} does not authenticate: it was changed, or its key file is another one");
        }
    }
}
