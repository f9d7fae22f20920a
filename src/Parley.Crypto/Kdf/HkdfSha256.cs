// HKDF-SHA256's two steps (RFC 5869), from libsodium where it loads, else from the platform
// (System.Security.Cryptography.HKDF, OpenSSL on Linux). A handshake runs one or two extractions
// and eight expansions on each side; through OpenSSL 3 each one fetches the algorithm, builds and
// frees a KDF context and clears the error queue, 3–5 µs for one HMAC's worth of work, where
// libsodium's is 1.3–2.4 µs (docs/decisions/0014). Same function, same bytes: the RFC 5869 and
// Wycheproof vectors run over both (HkdfTests).
using System.Security.Cryptography;
using Parley.Crypto.Interop;

namespace Parley.Crypto.Kdf;

internal abstract class HkdfSha256
{
    internal const int PrkSize = 32;
    internal const int MaxOutput = 255 * PrkSize;

    internal static HkdfSha256 Platform { get; } = new PlatformHkdf();

    internal static HkdfSha256? Sodium { get; } = SodiumHkdf.Loads() ? new SodiumHkdf() : null;

    internal static HkdfSha256 Default { get; } = Sodium ?? Platform;

    /// <summary>Every implementation this process can run, for the differential tests.</summary>
    internal static IReadOnlyList<HkdfSha256> Alternatives { get; } = Sodium is null ? [Platform] : [Sodium, Platform];

    internal abstract string Name { get; }

    /// <summary>PRK = HMAC-SHA256(salt, ikm); an empty salt is HashLen zeros (RFC 5869 §2.2), which HMAC pads to the same key.</summary>
    internal abstract void Extract(ReadOnlySpan<byte> inputKeyingMaterial, ReadOnlySpan<byte> salt, Span<byte> prk);

    /// <summary>OKM of output.Length (1 to 255 × 32) bytes; the caller checks the length.</summary>
    internal abstract void Expand(ReadOnlySpan<byte> prk, ReadOnlySpan<byte> info, Span<byte> output);

    public override string ToString() => Name;

    private sealed class PlatformHkdf : HkdfSha256
    {
        internal override string Name => "platform";

        internal override void Extract(ReadOnlySpan<byte> inputKeyingMaterial, ReadOnlySpan<byte> salt, Span<byte> prk) =>
            HKDF.Extract(HashAlgorithmName.SHA256, inputKeyingMaterial, salt, prk);

        internal override void Expand(ReadOnlySpan<byte> prk, ReadOnlySpan<byte> info, Span<byte> output) =>
            HKDF.Expand(HashAlgorithmName.SHA256, prk, output, info);
    }

    private sealed unsafe class SodiumHkdf : HkdfSha256
    {
        internal override string Name => "libsodium";

        /// <summary>libsodium loads and has HKDF (1.0.19 and later; NSec ships 1.0.22).</summary>
        internal static bool Loads()
        {
            try
            {
                return LibSodium.IsAvailable && LibSodium.crypto_kdf_hkdf_sha256_keybytes() == PrkSize;
            }
            catch (EntryPointNotFoundException)
            {
                return false;
            }
        }

        internal override void Extract(ReadOnlySpan<byte> inputKeyingMaterial, ReadOnlySpan<byte> salt, Span<byte> prk)
        {
            if (prk.Length != PrkSize)
            {
                throw new ArgumentException($"A PRK is {PrkSize} bytes.", nameof(prk));
            }
            // An empty span pins to a null pointer: hand libsodium a real (unread) byte instead.
            byte none = 0;
            fixed (byte* ikm = inputKeyingMaterial, s = salt, p = prk)
            {
                if (LibSodium.crypto_kdf_hkdf_sha256_extract(p, s is null ? &none : s, (nuint)salt.Length, ikm is null ? &none : ikm, (nuint)inputKeyingMaterial.Length) != 0)
                {
                    throw new CryptographicException("libsodium could not extract the HKDF key");
                }
            }
        }

        internal override void Expand(ReadOnlySpan<byte> prk, ReadOnlySpan<byte> info, Span<byte> output)
        {
            if (prk.Length != PrkSize || output.Length is 0 or > MaxOutput)
            {
                throw new ArgumentException($"HKDF-SHA256 expands a {PrkSize}-byte PRK to 1..{MaxOutput} bytes.");
            }
            byte none = 0;
            fixed (byte* p = prk, i = info, o = output)
            {
                if (LibSodium.crypto_kdf_hkdf_sha256_expand(o, (nuint)output.Length, i is null ? &none : i, (nuint)info.Length, p) != 0)
                {
                    throw new CryptographicException("libsodium could not expand the HKDF key");
                }
            }
        }
    }
}
