// P/Invoke declarations for libsodium's AEAD functions, from the same libsodium that NSec ships
// and loads (the `libsodium` NuGet package's native asset). NSec wraps these too, but keeps every
// key in guarded pages (sodium_malloc: a page of resident memory and two guard pages per key) and
// expands the AES key on every call; a record layer seals millions of small records under one key
// per direction and holds two keys per connection, so it keeps the expanded AES state itself
// (crypto_aead_aes256gcm_beforenm) in 512 bytes of native memory. See docs/decisions/0011-aead-on-libsodium.md.
using System.Runtime.InteropServices;

namespace Parley.Crypto.Interop;

internal static unsafe partial class LibSodium
{
    private const string Library = "libsodium";

    internal const int Aes256GcmStateBytes = 512;
    internal const int Aes256GcmStateAlignment = 16;

    private static readonly bool s_initialised = sodium_init() >= 0;

    /// <summary>libsodium's AES-256-GCM needs AES-NI and CLMUL (or the ARMv8 crypto extensions).</summary>
    internal static bool Aes256GcmAvailable { get; } = s_initialised && crypto_aead_aes256gcm_is_available() == 1 &&
                                                    crypto_aead_aes256gcm_statebytes() <= Aes256GcmStateBytes;

    internal static bool ChaCha20Poly1305Available => s_initialised;

    [LibraryImport(Library)] private static partial int sodium_init();
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
