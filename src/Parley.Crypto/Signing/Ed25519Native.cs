// Ed25519 (RFC 8032, pure) through libcrypto's EVP_DigestSign/EVP_DigestVerify. OpenSSL's verifier
// rejects S ≥ L and non-canonical encodings, which Wycheproof checks in our tests.
using System.Security.Cryptography;
using Parley.Crypto.Interop;

namespace Parley.Crypto.Signing;

internal sealed unsafe class Ed25519Native : SignatureAlgorithm
{
    internal const int KeySize = 32;
    internal const int SigSize = 64;

    public override string Name => "ed25519";
    public override int PublicKeySize => KeySize;
    public override int PrivateKeySize => KeySize;
    public override int SignatureSize => SigSize;
    public override string Implementation => "native";

    private protected override SigningKey GenerateKeyCore()
    {
        Span<byte> seed = stackalloc byte[KeySize];
        try
        {
            RandomNumberGenerator.Fill(seed);
            return ImportPrivateKeyCore(seed);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(seed);
        }
    }

    private protected override SigningKey ImportPrivateKeyCore(ReadOnlySpan<byte> privateKey)
    {
        EvpPkeyHandle pkey = EvpPkeyHandle.FromRawPrivateKey(LibCrypto.NID_ED25519, privateKey);
        return new Key(this, pkey, pkey.GetRawPublicKey(KeySize), privateKey.ToArray());
    }

    private protected override bool VerifyCore(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        using EvpPkeyHandle? pkey = EvpPkeyHandle.FromRawPublicKey(LibCrypto.NID_ED25519, publicKey);
        if (pkey is null)
        {
            return false;
        }
        IntPtr md = LibCrypto.EVP_MD_CTX_new();
        LibCrypto.ThrowIfNull(md, "EVP_MD_CTX_new");
        try
        {
            LibCrypto.ThrowIfFailed(LibCrypto.EVP_DigestVerifyInit(md, IntPtr.Zero, IntPtr.Zero, IntPtr.Zero, pkey.DangerousGetHandle()), "EVP_DigestVerifyInit");
            int result;
            fixed (byte* s = signature)
            fixed (byte* d = data)
            {
                result = LibCrypto.EVP_DigestVerify(md, s, (nuint)signature.Length, d, (nuint)data.Length);
            }
            if (result != 1)
            {
                LibCrypto.ERR_clear_error();
                return false;
            }
            return true;
        }
        finally
        {
            LibCrypto.EVP_MD_CTX_free(md);
        }
    }

    private sealed class Key(Ed25519Native algorithm, EvpPkeyHandle handle, byte[] publicKey, byte[] seed)
        : SigningKey(algorithm, publicKey)
    {
        private protected override byte[] SignCore(ReadOnlySpan<byte> data)
        {
            IntPtr md = LibCrypto.EVP_MD_CTX_new();
            LibCrypto.ThrowIfNull(md, "EVP_MD_CTX_new");
            try
            {
                LibCrypto.ThrowIfFailed(LibCrypto.EVP_DigestSignInit(md, IntPtr.Zero, IntPtr.Zero, IntPtr.Zero, handle.DangerousGetHandle()), "EVP_DigestSignInit");
                byte[] signature = new byte[SigSize];
                nuint length = SigSize;
                fixed (byte* s = signature)
                fixed (byte* d = data)
                {
                    LibCrypto.ThrowIfFailed(LibCrypto.EVP_DigestSign(md, s, &length, d, (nuint)data.Length), "EVP_DigestSign");
                }
                return signature;
            }
            finally
            {
                LibCrypto.EVP_MD_CTX_free(md);
            }
        }

        private protected override byte[] ExportPrivateKeyCore() => (byte[])seed.Clone();

        private protected override void DisposeCore()
        {
            handle.Dispose();
            CryptographicOperations.ZeroMemory(seed);
        }
    }
}
