// P/Invoke declarations for libsodium's X25519 (crypto_scalarmult_curve25519), the library NSec
// ships and loads for Ed25519 (docs/decisions/0003). Called directly rather than through NSec's
// Key/SharedSecret objects: those allocate libsodium guarded memory (mmap and mprotect) per key
// and per secret, which costs more than the scalar multiplication on a per-handshake ephemeral
// key (docs/decisions/0011).
using System.Runtime.InteropServices;

namespace Parley.Crypto.Interop;

internal static unsafe partial class LibSodium
{
    private const string Library = "libsodium";

    internal const int ScalarBytes = 32;

    /// <summary>True when libsodium loads and initialises (and PARLEY_CRYPTO_BACKEND is not "managed").</summary>
    internal static bool IsAvailable { get; } = Probe();

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

    [LibraryImport(Library)]
    internal static partial nuint crypto_scalarmult_curve25519_bytes();

    /// <summary>q = n·P. Returns -1, with q unspecified, for a small-order P (libsodium checks the point and the all-zero result).</summary>
    [LibraryImport(Library)]
    internal static partial int crypto_scalarmult_curve25519(byte* q, byte* n, byte* p);

    /// <summary>q = n·B (the public key of scalar n).</summary>
    [LibraryImport(Library)]
    internal static partial int crypto_scalarmult_curve25519_base(byte* q, byte* n);
}
