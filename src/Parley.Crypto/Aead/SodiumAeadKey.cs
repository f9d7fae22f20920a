namespace Parley.Crypto.Aead;

/// <summary>
/// What the libsodium keys share: the ciphertext layout (encrypted bytes || 16-byte tag), pinning
/// the spans for the native call, and turning a failed open into a plain false.
/// </summary>
internal abstract unsafe class SodiumAeadKey(AeadAlgorithm algorithm) : AeadKey(algorithm)
{
    protected const int TagSize = 16;

    /// <summary>libsodium's detached encryption; 0 on success.</summary>
    private protected abstract int SealNative(byte* ciphertext, byte* tag, byte* plaintext, ulong plaintextLength, byte* associatedData, ulong associatedDataLength, byte* nonce);

    /// <summary>libsodium's detached decryption; 0 when the tag verified.</summary>
    private protected abstract int OpenNative(byte* plaintext, byte* ciphertext, ulong ciphertextLength, byte* tag, byte* associatedData, ulong associatedDataLength, byte* nonce);

    private protected override void SealCore(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData, Span<byte> ciphertext)
    {
        fixed (byte* n = nonce, m = plaintext, ad = associatedData, c = ciphertext)
        {
            if (SealNative(c, c + plaintext.Length, m, (ulong)plaintext.Length, ad, (ulong)associatedData.Length, n) != 0)
            {
                throw new System.Security.Cryptography.CryptographicException("libsodium could not seal the record");
            }
        }
    }

    private protected override bool TryOpenCore(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> associatedData, Span<byte> plaintext, out int plaintextLength)
    {
        plaintextLength = ciphertext.Length - TagSize;
        if (plaintextLength < 0 || plaintext.Length < plaintextLength)
        {
            return false;
        }
        fixed (byte* n = nonce, c = ciphertext, ad = associatedData, m = plaintext)
        {
            return OpenNative(m, c, (ulong)plaintextLength, c + plaintextLength, ad, (ulong)associatedData.Length, n) == 0;
        }
    }
}
