// P/Invoke declarations for the libsodium that NSec ships and loads for Ed25519 (docs/decisions/0003):
// X25519 (crypto_scalarmult_curve25519), the AEADs of the record layer and HKDF-SHA256. Called directly rather
// than through NSec's Key/SharedSecret objects: those allocate libsodium guarded memory (mmap and
// mprotect, a resident page and two guard pages) per key and per secret, which costs more than a
// scalar multiplication on a per-handshake ephemeral key (docs/decisions/0013) and would cost two
// keys' pages per connection; and NSec expands the AES key on every call, where the record layer
// keeps the expanded state (crypto_aead_aes256gcm_beforenm) for its millions of small records
// (docs/decisions/0011).
using System.Runtime.InteropServices;

namespace Parley.Crypto.Interop;

internal static unsafe partial class LibSodium
{
    private const string Library = "libsodium";

    internal const int ScalarBytes = 32;
    internal const int Aes256GcmStateBytes = 512;
    internal const int Aes256GcmStateAlignment = 16;

    /// <summary>True when libsodium loads and initialises (and PARLEY_CRYPTO_BACKEND is not "managed").</summary>
    internal static bool IsAvailable { get; } = Probe();

    /// <summary>libsodium's AES-256-GCM needs AES-NI and CLMUL (or the ARMv8 crypto extensions).</summary>
    internal static bool Aes256GcmAvailable { get; } = IsAvailable && crypto_aead_aes256gcm_is_available() == 1 &&
                                                    crypto_aead_aes256gcm_statebytes() <= Aes256GcmStateBytes;

    internal static bool ChaCha20Poly1305Available => IsAvailable;

    private static bool Probe()
    {
        if (Environment.GetEnvironmentVariable("PARLEY_CRYPTO_BACKEND") is "managed")
        {
            return false;
        }
        try
        {
            // 0: initialised now, 1: already initialised (by NSec), -1: failed.
            return sodium_init() >= 0 && crypto_scalarmult_curve25519_bytes() == ScalarBytes;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
        {
            return false;
        }
    }

    [LibraryImport(Library)]
    internal static partial int sodium_init();

    // ── X25519 ──

    [LibraryImport(Library)]
    internal static partial nuint crypto_scalarmult_curve25519_bytes();

    /// <summary>q = n·P. Returns -1, with q unspecified, for a small-order P (libsodium checks the point and the all-zero result).</summary>
    [LibraryImport(Library)]
    internal static partial int crypto_scalarmult_curve25519(byte* q, byte* n, byte* p);

    /// <summary>q = n·B (the public key of scalar n).</summary>
    [LibraryImport(Library)]
    internal static partial int crypto_scalarmult_curve25519_base(byte* q, byte* n);

    // ── HKDF-SHA256 (libsodium 1.0.19 and later) ──

    [LibraryImport(Library)]
    internal static partial nuint crypto_kdf_hkdf_sha256_keybytes();

    [LibraryImport(Library)]
    internal static partial int crypto_kdf_hkdf_sha256_extract(byte* prk, byte* salt, nuint saltLength, byte* ikm, nuint ikmLength);

    [LibraryImport(Library)]
    internal static partial int crypto_kdf_hkdf_sha256_expand(byte* output, nuint outputLength, byte* info, nuint infoLength, byte* prk);

    // ── AEADs ──

    [LibraryImport(Library)] private static partial int crypto_aead_aes256gcm_is_available();
    [LibraryImport(Library)] private static partial nuint crypto_aead_aes256gcm_statebytes();

    [LibraryImport(Library)] internal static partial int crypto_aead_aes256gcm_beforenm(void* state, byte* key);

    [LibraryImport(Library)]
    internal static partial int crypto_aead_aes256gcm_encrypt_detached_afternm(byte* c, byte* mac, ulong* macLength, byte* m, ulong mLength,
        byte* ad, ulong adLength, byte* nsec, byte* npub, void* state);

    [LibraryImport(Library)]
    internal static partial int crypto_aead_aes256gcm_decrypt_detached_afternm(byte* m, byte* nsec, byte* c, ulong cLength, byte* mac,
        byte* ad, ulong adLength, byte* npub, void* state);

    [LibraryImport(Library)]
    internal static partial int crypto_aead_chacha20poly1305_ietf_encrypt_detached(byte* c, byte* mac, ulong* macLength, byte* m, ulong mLength,
        byte* ad, ulong adLength, byte* nsec, byte* npub, byte* key);

    [LibraryImport(Library)]
    internal static partial int crypto_aead_chacha20poly1305_ietf_decrypt_detached(byte* m, byte* nsec, byte* c, ulong cLength, byte* mac,
        byte* ad, ulong adLength, byte* npub, byte* key);
}
