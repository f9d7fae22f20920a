// X25519 (RFC 7748) through OpenSSL libcrypto's EVP_PKEY interface.
// RFC 7748 §6.1: the all-zero shared secret (a low-order peer point) is rejected.
using System.Security.Cryptography;
using Parley.Crypto.Interop;

namespace Parley.Crypto.KeyAgreement;

internal sealed class X25519Native : KeyAgreementAlgorithm
{
    internal const int KeySize = 32;

    public override string Name => "x25519";
    public override int PublicKeySize => KeySize;
    public override int PrivateKeySize => KeySize;
    public override int SharedSecretSize => KeySize;
    public override string Implementation => "native";

    private protected override KeyAgreementPrivateKey GenerateKeyCore()
    {
        Span<byte> scalar = stackalloc byte[KeySize];
        try
        {
            RandomNumberGenerator.Fill(scalar);
            return ImportPrivateKeyCore(scalar);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(scalar);
        }
    }

    private protected override KeyAgreementPrivateKey ImportPrivateKeyCore(ReadOnlySpan<byte> privateKey)
    {
        EvpPkeyHandle pkey = EvpPkeyHandle.FromRawPrivateKey(LibCrypto.NID_X25519, privateKey);
        return new Key(this, pkey, pkey.GetRawPublicKey(KeySize));
    }

    private protected override unsafe SharedSecret AgreeCore(KeyAgreementPrivateKey ourKey, ReadOnlySpan<byte> theirPublicKey)
    {
        using EvpPkeyHandle peer = EvpPkeyHandle.FromRawPublicKey(LibCrypto.NID_X25519, theirPublicKey)
            ?? throw new InvalidPublicKeyException(Name, "not a valid encoding");
        IntPtr ctx = LibCrypto.EVP_PKEY_CTX_new(((Key)ourKey).Handle.DangerousGetHandle(), IntPtr.Zero);
        LibCrypto.ThrowIfNull(ctx, "EVP_PKEY_CTX_new");
        byte[] secret = new byte[KeySize];
        try
        {
            LibCrypto.ThrowIfFailed(LibCrypto.EVP_PKEY_derive_init(ctx), "EVP_PKEY_derive_init");
            if (LibCrypto.EVP_PKEY_derive_set_peer(ctx, peer.DangerousGetHandle()) != 1)
            {
                LibCrypto.ERR_clear_error();
                throw new InvalidPublicKeyException(Name, "rejected by libcrypto");
            }
            nuint length = KeySize;
            int ok;
            fixed (byte* p = secret)
            {
                ok = LibCrypto.EVP_PKEY_derive(ctx, p, &length);
            }
            // OpenSSL itself fails the derivation when the result is all zero; check again so
            // that the rule holds whichever libcrypto build is loaded.
            if (ok != 1 || length != KeySize || IsAllZero(secret))
            {
                LibCrypto.ERR_clear_error();
                CryptographicOperations.ZeroMemory(secret);
                throw new InvalidPublicKeyException(Name, "low-order point (the shared secret would be all zero)");
            }
            return new SharedSecret(secret, Name);
        }
        finally
        {
            LibCrypto.EVP_PKEY_CTX_free(ctx);
        }
    }

    internal static bool IsAllZero(ReadOnlySpan<byte> value)
    {
        Span<byte> zero = stackalloc byte[value.Length];
        zero.Clear();
        return CryptographicOperations.FixedTimeEquals(value, zero);
    }

    private sealed class Key(X25519Native algorithm, EvpPkeyHandle handle, byte[] publicKey)
        : KeyAgreementPrivateKey(algorithm, publicKey)
    {
        internal EvpPkeyHandle Handle { get; } = handle;

        private protected override byte[] ExportPrivateKeyCore() => Handle.GetRawPrivateKey(KeySize);

        private protected override void DisposeCore() => Handle.Dispose();
    }
}
