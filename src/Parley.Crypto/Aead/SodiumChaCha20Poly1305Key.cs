using System.Security.Cryptography;
using Parley.Crypto.Interop;

namespace Parley.Crypto.Aead;

/// <summary>
/// A ChaCha20-Poly1305 key in native memory (zeroed on release). Records under 4 KiB go through
/// libsodium (0.44× the platform's time at 320 bytes); larger ones through OpenSSL's vectorised
/// implementation, which is faster from there on (1.36× slower on libsodium at 16 KiB, 1.5× at
/// 64 KiB: docs/decisions/0011). The OpenSSL context is made only when a large record comes.
/// </summary>
internal sealed unsafe class SodiumChaCha20Poly1305Key : SodiumAeadKey
{
    /// <summary>From this many plaintext bytes on, the platform's implementation is the faster.</summary>
    internal const int PlatformFrom = 4096;

    private const int KeyBytes = 32;
    private readonly NativeSecret _key;
    private ChaCha20Poly1305? _large;

    internal SodiumChaCha20Poly1305Key(AeadAlgorithm algorithm, ReadOnlySpan<byte> key) : base(algorithm)
    {
        if (key.Length != KeyBytes)
        {
            throw new ArgumentException($"The key must be {KeyBytes} bytes.", nameof(key));
        }
        _key = new NativeSecret(KeyBytes, 16);
        key.CopyTo(new Span<byte>(_key.Pointer, KeyBytes));
    }

    private static bool PlatformTakes(int plaintextLength) => plaintextLength >= PlatformFrom && ChaCha20Poly1305.IsSupported;

    private protected override void SealCore(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData, Span<byte> ciphertext)
    {
        if (PlatformTakes(plaintext.Length))
        {
            Large().Encrypt(nonce, plaintext, ciphertext[..plaintext.Length], ciphertext[plaintext.Length..], associatedData);
            return;
        }
        base.SealCore(nonce, plaintext, associatedData, ciphertext);
    }

    private protected override bool TryOpenCore(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> associatedData, Span<byte> plaintext, out int plaintextLength)
    {
        plaintextLength = ciphertext.Length - TagSize;
        if (plaintextLength < 0 || plaintext.Length < plaintextLength || !PlatformTakes(plaintextLength))
        {
            return base.TryOpenCore(nonce, ciphertext, associatedData, plaintext, out plaintextLength);
        }
        try
        {
            Large().Decrypt(nonce, ciphertext[..plaintextLength], ciphertext[plaintextLength..], plaintext[..plaintextLength], associatedData);
            return true;
        }
        catch (AuthenticationTagMismatchException)
        {
            return false;
        }
    }

    private protected override int SealNative(byte* ciphertext, byte* tag, byte* plaintext, ulong plaintextLength, byte* associatedData, ulong associatedDataLength, byte* nonce)
    {
        int result = LibSodium.crypto_aead_chacha20poly1305_ietf_encrypt_detached(ciphertext, tag, null, plaintext, plaintextLength, associatedData, associatedDataLength, null, nonce, (byte*)_key.Pointer);
        GC.KeepAlive(_key);
        return result;
    }

    private protected override int OpenNative(byte* plaintext, byte* ciphertext, ulong ciphertextLength, byte* tag, byte* associatedData, ulong associatedDataLength, byte* nonce)
    {
        int result = LibSodium.crypto_aead_chacha20poly1305_ietf_decrypt_detached(plaintext, null, ciphertext, ciphertextLength, tag, associatedData, associatedDataLength, nonce, (byte*)_key.Pointer);
        GC.KeepAlive(_key);
        return result;
    }

    private ChaCha20Poly1305 Large() => _large ??= new ChaCha20Poly1305(new ReadOnlySpan<byte>(_key.Pointer, KeyBytes));

    private protected override void DisposeCore()
    {
        _large?.Dispose();
        _key.Dispose();
    }
}
