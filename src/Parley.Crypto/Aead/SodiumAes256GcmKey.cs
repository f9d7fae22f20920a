using Parley.Crypto.Interop;

namespace Parley.Crypto.Aead;

/// <summary>
/// An AES-256-GCM key as libsodium's precomputed state (the expanded key and GHASH powers, 512
/// bytes of native memory zeroed on release): no key expansion and no allocation per record.
/// </summary>
internal sealed unsafe class SodiumAes256GcmKey : SodiumAeadKey
{
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

    private protected override int SealNative(byte* ciphertext, byte* tag, byte* plaintext, ulong plaintextLength, byte* associatedData, ulong associatedDataLength, byte* nonce)
    {
        int result = LibSodium.crypto_aead_aes256gcm_encrypt_detached_afternm(ciphertext, tag, null, plaintext, plaintextLength, associatedData, associatedDataLength, null, nonce, _state.Pointer);
        GC.KeepAlive(_state);
        return result;
    }

    private protected override int OpenNative(byte* plaintext, byte* ciphertext, ulong ciphertextLength, byte* tag, byte* associatedData, ulong associatedDataLength, byte* nonce)
    {
        int result = LibSodium.crypto_aead_aes256gcm_decrypt_detached_afternm(plaintext, null, ciphertext, ciphertextLength, tag, associatedData, associatedDataLength, nonce, _state.Pointer);
        GC.KeepAlive(_state);
        return result;
    }

    private protected override void DisposeCore() => _state.Dispose();
}
