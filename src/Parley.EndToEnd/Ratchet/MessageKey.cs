// One message key: AES-256-GCM (System.Security.Cryptography) with key and nonce derived from it
// by HKDF (RatchetKdf.MessageKeyMaterial), the Double Ratchet spec's recommended ENCRYPT with an
// AEAD in place of CBC+HMAC. Each message key encrypts exactly one message, so the derived nonce
// is never reused under its key. Decryption failure is one uninformative outcome (false).
using System.Security.Cryptography;

namespace Parley.EndToEnd.Ratchet;

internal sealed class MessageKey : IDisposable
{
    private readonly byte[] _key;
    private bool _disposed;

    internal MessageKey(byte[] key)
    {
        if (key.Length != RatchetKdf.KeySize)
        {
            throw new ArgumentException($"A message key is {RatchetKdf.KeySize} bytes.", nameof(key));
        }
        _key = key;
    }

    /// <summary>ciphertext || 16-byte tag.</summary>
    public byte[] Encrypt(ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData)
    {
        Span<byte> aeadKey = stackalloc byte[RatchetKdf.AeadKeySize];
        Span<byte> nonce = stackalloc byte[RatchetKdf.NonceSize];
        try
        {
            RatchetKdf.MessageKeyMaterial(Bytes, aeadKey, nonce);
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

    public bool TryDecrypt(ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> associatedData, out byte[] plaintext)
    {
        plaintext = [];
        if (ciphertext.Length < RatchetKdf.TagSize)
        {
            return false;
        }
        Span<byte> aeadKey = stackalloc byte[RatchetKdf.AeadKeySize];
        Span<byte> nonce = stackalloc byte[RatchetKdf.NonceSize];
        int length = ciphertext.Length - RatchetKdf.TagSize;
        byte[] output = new byte[length];
        try
        {
            RatchetKdf.MessageKeyMaterial(Bytes, aeadKey, nonce);
            using AesGcm aes = new(aeadKey, RatchetKdf.TagSize);
            aes.Decrypt(nonce, ciphertext[..length], ciphertext[length..], output, associatedData);
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

    internal ReadOnlySpan<byte> Bytes
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _key;
        }
    }

    public MessageKey Clone() => new(Bytes.ToArray());

    public void Dispose()
    {
        _disposed = true;
        CryptographicOperations.ZeroMemory(_key);
    }

    public override string ToString() => nameof(MessageKey);
}
