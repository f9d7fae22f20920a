// X25519 (RFC 7748) through libsodium's crypto_scalarmult_curve25519: faster here than libcrypto's
// EVP_PKEY path, which builds and frees an EVP_PKEY and a context per call (docs/decisions/0013).
// RFC 7748 §6.1: a low-order peer point is rejected (libsodium refuses the small-order encodings and
// an all-zero result; the result is checked for all zeros again here, whatever the library build).
// The scalar lives in a pinned array (never copied by the GC), wiped on Dispose.
using System.Security.Cryptography;
using Parley.Crypto.Interop;

namespace Parley.Crypto.KeyAgreement;

internal sealed class X25519Sodium : KeyAgreementAlgorithm
{
    private const int KeySize = X25519Native.KeySize;

    public override string Name => "x25519";
    public override int PublicKeySize => KeySize;
    public override int PrivateKeySize => KeySize;
    public override int SharedSecretSize => KeySize;
    public override string Implementation => "sodium";

    private protected override KeyAgreementPrivateKey GenerateKeyCore()
    {
        byte[] scalar = GC.AllocateArray<byte>(KeySize, pinned: true);
        RandomNumberGenerator.Fill(scalar);
        return Create(scalar);
    }

    private protected override KeyAgreementPrivateKey ImportPrivateKeyCore(ReadOnlySpan<byte> privateKey)
    {
        byte[] scalar = GC.AllocateArray<byte>(KeySize, pinned: true);
        privateKey.CopyTo(scalar);
        return Create(scalar);
    }

    private unsafe Key Create(byte[] scalar)
    {
        byte[] publicKey = new byte[KeySize];
        int result;
        fixed (byte* q = publicKey)
        fixed (byte* n = scalar)
        {
            result = LibSodium.crypto_scalarmult_curve25519_base(q, n);
        }
        if (result != 0)
        {
            CryptographicOperations.ZeroMemory(scalar);
            throw new CryptographicException("libsodium could not compute an X25519 public key.");
        }
        return new Key(this, scalar, publicKey);
    }

    private protected override unsafe SharedSecret AgreeCore(KeyAgreementPrivateKey ourKey, ReadOnlySpan<byte> theirPublicKey)
    {
        byte[] secret = new byte[KeySize];
        int result;
        fixed (byte* q = secret)
        fixed (byte* n = ((Key)ourKey).Scalar)
        fixed (byte* p = theirPublicKey)
        {
            result = LibSodium.crypto_scalarmult_curve25519(q, n, p);
        }
        if (result != 0 || X25519Native.IsAllZero(secret))
        {
            CryptographicOperations.ZeroMemory(secret);
            throw new InvalidPublicKeyException(Name, "low-order point (the shared secret would be all zero)");
        }
        return new SharedSecret(secret, Name);
    }

    private sealed class Key(X25519Sodium algorithm, byte[] scalar, byte[] publicKey) : KeyAgreementPrivateKey(algorithm, publicKey)
    {
        internal byte[] Scalar { get; } = scalar;

        private protected override byte[] ExportPrivateKeyCore() => (byte[])Scalar.Clone();

        private protected override void DisposeCore() => CryptographicOperations.ZeroMemory(Scalar);
    }
}
