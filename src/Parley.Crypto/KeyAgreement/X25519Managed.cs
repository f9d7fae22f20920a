// X25519 (RFC 7748) in managed code through BouncyCastle's Rfc7748 implementation: the portable
// fallback where libcrypto is missing. See docs/decisions/0001-crypto-backends.md.
using System.Security.Cryptography;
using Bc = Org.BouncyCastle.Math.EC.Rfc7748;

namespace Parley.Crypto.KeyAgreement;

internal sealed class X25519Managed : KeyAgreementAlgorithm
{
    private const int KeySize = X25519Native.KeySize;

    public override string Name => "x25519";
    public override int PublicKeySize => KeySize;
    public override int PrivateKeySize => KeySize;
    public override int SharedSecretSize => KeySize;
    public override string Implementation => "managed";

    private protected override KeyAgreementPrivateKey GenerateKeyCore()
    {
        byte[] scalar = new byte[KeySize];
        RandomNumberGenerator.Fill(scalar);
        return Create(scalar);
    }

    private protected override KeyAgreementPrivateKey ImportPrivateKeyCore(ReadOnlySpan<byte> privateKey) => Create(privateKey.ToArray());

    private Key Create(byte[] scalar)
    {
        byte[] publicKey = new byte[KeySize];
        Bc.X25519.ScalarMultBase(scalar, publicKey);
        return new Key(this, scalar, publicKey);
    }

    private protected override SharedSecret AgreeCore(KeyAgreementPrivateKey ourKey, ReadOnlySpan<byte> theirPublicKey)
    {
        byte[] secret = new byte[KeySize];
        bool nonZero = Bc.X25519.CalculateAgreement(((Key)ourKey).Scalar, theirPublicKey, secret);
        if (!nonZero || X25519Native.IsAllZero(secret))
        {
            CryptographicOperations.ZeroMemory(secret);
            throw new InvalidPublicKeyException(Name, "low-order point (the shared secret would be all zero)");
        }
        return new SharedSecret(secret, Name);
    }

    private sealed class Key(X25519Managed algorithm, byte[] scalar, byte[] publicKey)
        : KeyAgreementPrivateKey(algorithm, publicKey)
    {
        internal byte[] Scalar { get; } = scalar;

        private protected override byte[] ExportPrivateKeyCore() => (byte[])Scalar.Clone();

        private protected override void DisposeCore() => CryptographicOperations.ZeroMemory(Scalar);
    }
}
