// AES-256-CBC with PKCS#7 padding and HMAC-SHA256, encrypt-then-MAC: the CBC+HMAC pairing of
// the seed documents, done right.
//  - 64 bytes of key material: enc_key (32) || mac_key (32), never the same key twice.
//  - IV = AES-256-ECB(enc_key, nonce || 0x00000000): unpredictable to anyone without the key
//    (NIST SP 800-38A Appendix C) and never sent, because both sides know the counter nonce.
//  - tag = HMAC-SHA256(mac_key, nonce || uint64be(len(aad)) || aad || cbc_ciphertext), 32 bytes.
//  - Open checks the tag in constant time before touching the padding, so there is no padding oracle.
// Ciphertext layout: cbc_ciphertext || tag.
using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Parley.Crypto.Aead;

internal sealed class Aes256CbcHmacSha256Algorithm : AeadAlgorithm
{
    internal const int TagSize = 32;
    internal const int BlockSize = 16;
    private const int HalfKey = 32;

    public override string Name => "aes-256-cbc-hmac-sha256";
    public override int KeySize => 2 * HalfKey;
    public override int MaxOverhead => BlockSize + TagSize;

    // PKCS#7 always adds 1..16 bytes.
    public override int CiphertextLength(int plaintextLength) => checked((plaintextLength / BlockSize + 1) * BlockSize + TagSize);

    private protected override AeadKey CreateKeyCore(ReadOnlySpan<byte> key) => new Key(this, key[..HalfKey], key[HalfKey..]);

    internal static void EncryptCbc(Aes aes, ReadOnlySpan<byte> iv, ReadOnlySpan<byte> plaintext, Span<byte> ciphertext) =>
        aes.EncryptCbc(plaintext, iv, ciphertext, PaddingMode.PKCS7);

    internal static bool TryDecryptCbc(Aes aes, ReadOnlySpan<byte> iv, ReadOnlySpan<byte> ciphertext, Span<byte> plaintext, out int written)
    {
        written = 0;
        if (ciphertext.Length == 0 || ciphertext.Length % BlockSize != 0)
        {
            return false;
        }
        try
        {
            return aes.TryDecryptCbc(ciphertext, iv, plaintext, out written, PaddingMode.PKCS7);
        }
        catch (CryptographicException)
        {
            // Bad padding; reachable only when the caller has not checked a MAC first (the CBC vectors).
            return false;
        }
    }

    private sealed class Key : AeadKey
    {
        private readonly Aes _aes;
        private readonly IncrementalHash _hmac;

        internal Key(AeadAlgorithm algorithm, ReadOnlySpan<byte> encryptionKey, ReadOnlySpan<byte> macKey) : base(algorithm)
        {
            _aes = Aes.Create();
            // SetKey copies from the span; the Key setter would need an array we could not wipe.
            _aes.SetKey(encryptionKey);
            _hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, macKey);
        }

        private protected override void SealCore(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData, Span<byte> ciphertext)
        {
            Span<byte> iv = stackalloc byte[BlockSize];
            DeriveIv(nonce, iv);
            Span<byte> body = ciphertext[..^TagSize];
            EncryptCbc(_aes, iv, plaintext, body);
            ComputeTag(nonce, associatedData, body, ciphertext[^TagSize..]);
        }

        private protected override bool TryOpenCore(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> associatedData, Span<byte> plaintext, out int plaintextLength)
        {
            plaintextLength = 0;
            if (ciphertext.Length < BlockSize + TagSize || (ciphertext.Length - TagSize) % BlockSize != 0)
            {
                return false;
            }
            ReadOnlySpan<byte> body = ciphertext[..^TagSize];
            Span<byte> expected = stackalloc byte[TagSize];
            ComputeTag(nonce, associatedData, body, expected);
            if (!CryptographicOperations.FixedTimeEquals(expected, ciphertext[^TagSize..]))
            {
                return false;
            }
            Span<byte> iv = stackalloc byte[BlockSize];
            DeriveIv(nonce, iv);
            return TryDecryptCbc(_aes, iv, body, plaintext, out plaintextLength);
        }

        private void DeriveIv(ReadOnlySpan<byte> nonce, Span<byte> iv)
        {
            Span<byte> block = stackalloc byte[BlockSize];
            block.Clear();
            nonce.CopyTo(block);
            _aes.EncryptEcb(block, iv, PaddingMode.None);
        }

        private void ComputeTag(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> body, Span<byte> tag)
        {
            Span<byte> aadLength = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64BigEndian(aadLength, (ulong)associatedData.Length);
            _hmac.AppendData(nonce);
            _hmac.AppendData(aadLength);
            _hmac.AppendData(associatedData);
            _hmac.AppendData(body);
            _hmac.GetHashAndReset(tag);
        }

        private protected override void DisposeCore()
        {
            _aes.Dispose();
            _hmac.Dispose();
        }
    }
}
