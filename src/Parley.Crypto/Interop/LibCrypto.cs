// P/Invoke declarations for the few OpenSSL 3 libcrypto functions .NET does not wrap:
// X25519 and Ed25519 (EVP_PKEY raw keys) and constant-time modular exponentiation (BN).
// .NET itself uses the same libcrypto for its System.Security.Cryptography types on Linux,
// so this adds no new native dependency there. See docs/decisions/0001-crypto-backends.md.
//
// Every failing call clears OpenSSL's thread-local error queue: .NET's own OpenSSL shim reads
// that queue, and a stale entry left by us would be misreported by an unrelated .NET call.
using System.Reflection;
using System.Runtime.InteropServices;

namespace Parley.Crypto.Interop;

internal static unsafe partial class LibCrypto
{
    private const string Library = "libcrypto";

    internal const int NID_X25519 = 1034;
    internal const int NID_ED25519 = 1087;
    internal const int BN_FLG_CONSTTIME = 0x04;

    private static readonly string[] s_candidates = ["libcrypto.so.3", "libcrypto.3.dylib", "libcrypto-3-x64.dll", "libcrypto.so"];

    static LibCrypto()
    {
        NativeLibrary.SetDllImportResolver(typeof(LibCrypto).Assembly, Resolve);
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path)
    {
        if (name != Library)
        {
            return IntPtr.Zero;
        }
        foreach (string candidate in s_candidates)
        {
            if (NativeLibrary.TryLoad(candidate, assembly, path, out IntPtr handle))
            {
                return handle;
            }
        }
        return IntPtr.Zero;
    }

    /// <summary>True when an OpenSSL 3.x libcrypto with every function we call could be loaded.</summary>
    internal static bool IsAvailable { get; } = Probe();

    private static bool Probe()
    {
        if (Environment.GetEnvironmentVariable("PARLEY_CRYPTO_BACKEND") is "managed")
        {
            return false;
        }
        try
        {
            ulong version = OpenSSL_version_num();
            return version >> 28 >= 3;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
        {
            return false;
        }
    }

    [LibraryImport(Library)] internal static partial ulong OpenSSL_version_num();
    [LibraryImport(Library)] internal static partial void ERR_clear_error();

    // ── EVP_PKEY raw keys (X25519, Ed25519) ──
    [LibraryImport(Library)] internal static partial IntPtr EVP_PKEY_new_raw_private_key(int type, IntPtr engine, byte* key, nuint keyLength);
    [LibraryImport(Library)] internal static partial IntPtr EVP_PKEY_new_raw_public_key(int type, IntPtr engine, byte* key, nuint keyLength);
    [LibraryImport(Library)] internal static partial int EVP_PKEY_get_raw_public_key(IntPtr pkey, byte* pub, nuint* length);
    [LibraryImport(Library)] internal static partial int EVP_PKEY_get_raw_private_key(IntPtr pkey, byte* priv, nuint* length);
    [LibraryImport(Library)] internal static partial void EVP_PKEY_free(IntPtr pkey);
    [LibraryImport(Library)] internal static partial IntPtr EVP_PKEY_CTX_new(IntPtr pkey, IntPtr engine);
    [LibraryImport(Library)] internal static partial void EVP_PKEY_CTX_free(IntPtr ctx);
    [LibraryImport(Library)] internal static partial int EVP_PKEY_derive_init(IntPtr ctx);
    [LibraryImport(Library)] internal static partial int EVP_PKEY_derive_set_peer(IntPtr ctx, IntPtr peer);
    [LibraryImport(Library)] internal static partial int EVP_PKEY_derive(IntPtr ctx, byte* key, nuint* keyLength);
    [LibraryImport(Library)] internal static partial IntPtr EVP_MD_CTX_new();
    [LibraryImport(Library)] internal static partial void EVP_MD_CTX_free(IntPtr ctx);
    [LibraryImport(Library)] internal static partial int EVP_DigestSignInit(IntPtr ctx, IntPtr pctx, IntPtr md, IntPtr engine, IntPtr pkey);
    [LibraryImport(Library)] internal static partial int EVP_DigestSign(IntPtr ctx, byte* sig, nuint* sigLength, byte* tbs, nuint tbsLength);
    [LibraryImport(Library)] internal static partial int EVP_DigestVerifyInit(IntPtr ctx, IntPtr pctx, IntPtr md, IntPtr engine, IntPtr pkey);
    [LibraryImport(Library)] internal static partial int EVP_DigestVerify(IntPtr ctx, byte* sig, nuint sigLength, byte* tbs, nuint tbsLength);

    // ── EC_KEY (P-256 ECDH) ──
    internal const int NID_X9_62_prime256v1 = 415;
    internal const int POINT_CONVERSION_UNCOMPRESSED = 4;
    [LibraryImport(Library)] internal static partial IntPtr EC_KEY_new_by_curve_name(int nid);
    [LibraryImport(Library)] internal static partial void EC_KEY_free(IntPtr key);
    [LibraryImport(Library)] internal static partial int EC_KEY_generate_key(IntPtr key);
    [LibraryImport(Library)] internal static partial int EC_KEY_oct2key(IntPtr key, byte* buffer, nuint length, IntPtr ctx);
    [LibraryImport(Library)] internal static partial int EC_KEY_oct2priv(IntPtr key, byte* buffer, nuint length);
    [LibraryImport(Library)] internal static partial int EC_KEY_set_public_key(IntPtr key, IntPtr point);
    [LibraryImport(Library)] internal static partial IntPtr EC_KEY_get0_group(IntPtr key);
    [LibraryImport(Library)] internal static partial IntPtr EC_KEY_get0_public_key(IntPtr key);
    [LibraryImport(Library)] internal static partial IntPtr EC_KEY_get0_private_key(IntPtr key);
    [LibraryImport(Library)] internal static partial IntPtr EC_POINT_new(IntPtr group);
    [LibraryImport(Library)] internal static partial void EC_POINT_free(IntPtr point);
    [LibraryImport(Library)] internal static partial int EC_POINT_mul(IntPtr group, IntPtr result, IntPtr scalar, IntPtr point, IntPtr pointScalar, IntPtr ctx);
    [LibraryImport(Library)] internal static partial nuint EC_POINT_point2oct(IntPtr group, IntPtr point, int form, byte* buffer, nuint length, IntPtr ctx);
    [LibraryImport(Library)] internal static partial int ECDH_compute_key(byte* output, nuint outputLength, IntPtr peerPoint, IntPtr key, IntPtr kdf);

    // ── BIGNUM (finite-field DH) ──
    [LibraryImport(Library)] internal static partial IntPtr BN_CTX_new();
    [LibraryImport(Library)] internal static partial void BN_CTX_free(IntPtr ctx);
    [LibraryImport(Library)] internal static partial IntPtr BN_new();
    [LibraryImport(Library)] internal static partial IntPtr BN_bin2bn(byte* s, int length, IntPtr ret);
    [LibraryImport(Library)] internal static partial int BN_bn2binpad(IntPtr a, byte* to, int toLength);
    [LibraryImport(Library)] internal static partial void BN_set_flags(IntPtr b, int flags);
    [LibraryImport(Library)] internal static partial void BN_free(IntPtr a);
    [LibraryImport(Library)] internal static partial void BN_clear_free(IntPtr a);
    [LibraryImport(Library)] internal static partial int BN_mod_exp_mont_consttime(IntPtr result, IntPtr a, IntPtr p, IntPtr m, IntPtr ctx, IntPtr mont);
    [LibraryImport(Library)] internal static partial IntPtr BN_MONT_CTX_new();
    [LibraryImport(Library)] internal static partial int BN_MONT_CTX_set(IntPtr mont, IntPtr modulus, IntPtr ctx);

    internal static void ThrowIfNull(IntPtr pointer, string operation)
    {
        if (pointer == IntPtr.Zero)
        {
            ERR_clear_error();
            throw new System.Security.Cryptography.CryptographicException($"libcrypto: {operation} failed");
        }
    }

    internal static void ThrowIfFailed(int result, string operation)
    {
        if (result != 1)
        {
            ERR_clear_error();
            throw new System.Security.Cryptography.CryptographicException($"libcrypto: {operation} failed");
        }
    }
}
