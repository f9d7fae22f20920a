// AES-256-GCM (NIST SP 800-38D): 96-bit nonce, 128-bit tag. Ciphertext layout: encrypted bytes || tag.
// libsodium's implementation with the key expanded once per key when the CPU has AES-NI and CLMUL
// (about 9× faster than System.Security.Cryptography.AesGcm for a 320-byte record, the same for
// 64 KiB: docs/decisions/0011-aead-on-libsodium.md); System.Security.Cryptography.AesGcm otherwise.
using System.Security.Cryptography;
using Parley.Crypto.Interop;

namespace Parley.Crypto.Aead;

internal sealed class Aes256GcmAlgorithm : AeadAlgorithm
{
    internal const int TagSize = 16;

    public override string Name => "aes-256-gcm";
    public override int KeySize => 32;
    public override int MaxOverhead => TagSize;
    public override int CiphertextLength(int plaintextLength) => checked(plaintextLength + TagSize);

    /// <summary>Which implementation new keys use: "libsodium" or "platform".</summary>
    internal static string Backend => LibSodium.Aes256GcmAvailable ? "libsodium" : "platform";

    private protected override AeadKey CreateKeyCore(ReadOnlySpan<byte> key) =>
        LibSodium.Aes256GcmAvailable ? new SodiumAes256GcmKey(this, key) : CreatePlatformKey(key);

    /// <summary>The System.Security.Cryptography implementation, also kept for the tests that compare both.</summary>
    internal AeadKey CreatePlatformKey(ReadOnlySpan<byte> key) => new PlatformKey(this, new AesGcm(key, TagSize));

    private sealed class PlatformKey(AeadAlgorithm algorithm, AesGcm cipher) : AeadKey(algorithm)
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
