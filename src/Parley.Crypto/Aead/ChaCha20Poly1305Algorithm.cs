// ChaCha20-Poly1305 (RFC 8439, libsodium's "ietf" construction: 96-bit nonce). Ciphertext layout:
// encrypted bytes || 16-byte tag. libsodium for records under 4 KiB (portable, no CPU requirement,
// 0.44x the time of System.Security.Cryptography.ChaCha20Poly1305 for a 320-byte record), OpenSSL's
// vectorised implementation for larger ones (docs/decisions/0011).
using System.Security.Cryptography;
using Parley.Crypto.Interop;

namespace Parley.Crypto.Aead;

internal sealed class ChaCha20Poly1305Algorithm : AeadAlgorithm
{
    internal const int TagSize = 16;

    public override string Name => "chacha20-poly1305";
    public override int KeySize => 32;
    public override int MaxOverhead => TagSize;
    public override int CiphertextLength(int plaintextLength) => checked(plaintextLength + TagSize);

    internal static bool IsSupported => LibSodium.ChaCha20Poly1305Available || ChaCha20Poly1305.IsSupported;

    private protected override AeadKey CreateKeyCore(ReadOnlySpan<byte> key) =>
        LibSodium.ChaCha20Poly1305Available ? new SodiumChaCha20Poly1305Key(this, key) : CreatePlatformKey(key);

    /// <summary>The System.Security.Cryptography implementation, also kept for the tests that compare both.</summary>
    internal AeadKey CreatePlatformKey(ReadOnlySpan<byte> key) => new PlatformKey(this, new ChaCha20Poly1305(key));

    private sealed class PlatformKey(AeadAlgorithm algorithm, ChaCha20Poly1305 cipher) : AeadKey(algorithm)
    {
        private protected override void SealCore(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData, Span<byte> ciphertext) =>
            cipher.Encrypt(nonce, plaintext, ciphertext[..plaintext.Length], ciphertext[plaintext.Length..], associatedData);

        private protected override bool TryOpenCore(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> associatedData, Span<byte> plaintext, out int plaintextLength)
        {
            plaintextLength = ciphertext.Length - TagSize;
            if (plaintextLength < 0 || plaintext.Length < plaintextLength)
            {
                return false;
            }
            try
            {
                cipher.Decrypt(nonce, ciphertext[..plaintextLength], ciphertext[plaintextLength..], plaintext[..plaintextLength], associatedData);
                return true;
            }
            catch (AuthenticationTagMismatchException)
            {
                return false;
            }
        }

        private protected override void DisposeCore() => cipher.Dispose();
    }
}
