using Parley.Crypto.Interop;

namespace Parley.Crypto.Aead;

/// <summary>
/// An AES-256-GCM key as libsodium's precomputed state (the expanded key and GHASH powers, 512
/// bytes of native memory zeroed on release): no key expansion and no allocation per record.
/// </summary>
internal sealed unsafe class SodiumAes256GcmKey : AeadKey
{
    private const int TagSize = Aes256GcmAlgorithm.TagSize;
    private readonly NativeSecret _state;

    internal SodiumAes256GcmKey(AeadAlgorithm algorithm, ReadOnlySpan<byte> key) : base(algorithm)
    {
        _state = new NativeSecret(LibSodium.Aes256GcmStateBytes, LibSodium.Aes256GcmStateAlignment);
        fixed (byte* k = key)
        {
            if (LibSodium.crypto_aead_aes256gcm_beforenm(_state.Pointer, k) != 0)
            {
                _state.Dispose();
                throw new System.Security.Cryptography.CryptographicException("libsodium could not set up the AES-256-GCM key");
            }
        }
    }

    private protected override void SealCore(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData, Span<byte> ciphertext)
    {
        fixed (byte* n = nonce, m = plaintext, ad = associatedData, c = ciphertext)
        {
            int result = LibSodium.crypto_aead_aes256gcm_encrypt_detached_afternm(c, c + plaintext.Length, null, m, (ulong)plaintext.Length,
                ad, (ulong)associatedData.Length, null, n, _state.Pointer);
            GC.KeepAlive(_state);
            if (result != 0)
            {
                throw new System.Security.Cryptography.CryptographicException("libsodium could not seal the record");
            }
        }
    }

    private protected override bool TryOpenCore(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> associatedData, Span<byte> plaintext, out int plaintextLength)
    {
        plaintextLength = ciphertext.Length - TagSize;
        if (plaintextLength < 0 || plaintext.Length < plaintextLength)
        {
            return false;
        }
        fixed (byte* n = nonce, c = ciphertext, ad = associatedData, m = plaintext)
        {
            int result = LibSodium.crypto_aead_aes256gcm_decrypt_detached_afternm(m, null, c, (ulong)plaintextLength, c + plaintextLength,
                ad, (ulong)associatedData.Length, n, _state.Pointer);
            GC.KeepAlive(_state);
            return result == 0;
        }
    }

    private protected override void DisposeCore() => _state.Dispose();
}
