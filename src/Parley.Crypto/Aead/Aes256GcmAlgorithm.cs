// AES-256-GCM (NIST SP 800-38D) through System.Security.Cryptography.AesGcm: 96-bit nonce, 128-bit tag.
// Ciphertext layout: encrypted bytes || tag.
using System.Security.Cryptography;

namespace Parley.Crypto.Aead;

internal sealed class Aes256GcmAlgorithm : AeadAlgorithm
{
    internal const int TagSize = 16;

    public override string Name => "aes-256-gcm";
    public override int KeySize => 32;
    public override int MaxOverhead => TagSize;
    public override int CiphertextLength(int plaintextLength) => checked(plaintextLength + TagSize);

    private protected override AeadKey CreateKeyCore(ReadOnlySpan<byte> key) => new Key(this, new AesGcm(key, TagSize));

    private sealed class Key(AeadAlgorithm algorithm, AesGcm cipher) : AeadKey(algorithm)
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
