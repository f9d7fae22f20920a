// The sender-key chain (PROTOCOL.md §14.2), Signal's sender keys with the Double Ratchet's KDF_CK:
//   message key = HMAC-SHA256(ck, 0x01), next chain key = HMAC-SHA256(ck, 0x02)
//   AES-256-GCM key || nonce = HKDF-SHA256(salt = 32 zero bytes, IKM = message key, info = "Parley_Group_MessageKeys_v1", L = 44)
// The info label differs from the pairwise layer's, so a key of one layer never opens the other's messages.
using System.Security.Cryptography;
using Parley.EndToEnd.Ratchet;

namespace Parley.EndToEnd.SenderKeys;

internal static class SenderKeyKdf
{
    public const int KeySize = RatchetKdf.KeySize;

    public static ReadOnlySpan<byte> MessageKeyInfo => "Parley_Group_MessageKeys_v1"u8;

    public static void ChainStep(ReadOnlySpan<byte> chainKey, Span<byte> messageKey, Span<byte> nextChainKey) =>
        RatchetKdf.ChainStep(chainKey, messageKey, nextChainKey);

    public static void MessageKeyMaterial(ReadOnlySpan<byte> messageKey, Span<byte> aeadKey, Span<byte> nonce)
    {
        Span<byte> output = stackalloc byte[RatchetKdf.AeadKeySize + RatchetKdf.NonceSize];
        Span<byte> salt = stackalloc byte[KeySize];
        salt.Clear();
        try
        {
            HKDF.DeriveKey(HashAlgorithmName.SHA256, messageKey, output, salt, MessageKeyInfo);
            output[..RatchetKdf.AeadKeySize].CopyTo(aeadKey);
            output[RatchetKdf.AeadKeySize..].CopyTo(nonce);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(output);
        }
    }

    /// <summary>ciphertext || 16-byte tag under the one message key.</summary>
    public static byte[] Seal(ReadOnlySpan<byte> messageKey, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData)
    {
        Span<byte> aeadKey = stackalloc byte[RatchetKdf.AeadKeySize];
        Span<byte> nonce = stackalloc byte[RatchetKdf.NonceSize];
        try
        {
            MessageKeyMaterial(messageKey, aeadKey, nonce);
            byte[] output = new byte[plaintext.Length + RatchetKdf.TagSize];
            using AesGcm aes = new(aeadKey, RatchetKdf.TagSize);
            aes.Encrypt(nonce, plaintext, output.AsSpan(0, plaintext.Length), output.AsSpan(plaintext.Length), associatedData);
            return output;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(aeadKey);
            CryptographicOperations.ZeroMemory(nonce);
        }
    }

    public static bool TryOpen(ReadOnlySpan<byte> messageKey, ReadOnlySpan<byte> sealedData, ReadOnlySpan<byte> associatedData, out byte[] plaintext)
    {
        plaintext = [];
        if (sealedData.Length < RatchetKdf.TagSize)
        {
            return false;
        }
        Span<byte> aeadKey = stackalloc byte[RatchetKdf.AeadKeySize];
        Span<byte> nonce = stackalloc byte[RatchetKdf.NonceSize];
        int length = sealedData.Length - RatchetKdf.TagSize;
        byte[] output = new byte[length];
        try
        {
            MessageKeyMaterial(messageKey, aeadKey, nonce);
            using AesGcm aes = new(aeadKey, RatchetKdf.TagSize);
            aes.Decrypt(nonce, sealedData[..length], sealedData[length..], output, associatedData);
            plaintext = output;
            return true;
        }
        catch (AuthenticationTagMismatchException)
        {
            CryptographicOperations.ZeroMemory(output);
            return false;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(aeadKey);
            CryptographicOperations.ZeroMemory(nonce);
        }
    }
}
