// Ed25519 (RFC 8032) in managed code through BouncyCastle's Rfc8032 implementation: the portable
// fallback where libcrypto is missing. See docs/decisions/0001-crypto-backends.md.
using System.Security.Cryptography;
using Bc = Org.BouncyCastle.Math.EC.Rfc8032;

namespace Parley.Crypto.Signing;

internal sealed class Ed25519Managed : SignatureAlgorithm
{
    private const int KeySize = Ed25519Native.KeySize;
    private const int SigSize = Ed25519Native.SigSize;

    public override string Name => "ed25519";
    public override int PublicKeySize => KeySize;
    public override int PrivateKeySize => KeySize;
    public override int SignatureSize => SigSize;
    public override string Implementation => "managed";

    private protected override SigningKey GenerateKeyCore()
    {
        byte[] seed = new byte[KeySize];
        RandomNumberGenerator.Fill(seed);
        return Create(seed);
    }

    private protected override SigningKey ImportPrivateKeyCore(ReadOnlySpan<byte> privateKey) => Create(privateKey.ToArray());

    private Key Create(byte[] seed)
    {
        byte[] publicKey = new byte[KeySize];
        Bc.Ed25519.GeneratePublicKey(seed, publicKey);
        return new Key(this, seed, publicKey);
    }

    private protected override bool VerifyCore(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature) =>
        Bc.Ed25519.Verify(signature, publicKey, data);

    private sealed class Key(Ed25519Managed algorithm, byte[] seed, byte[] publicKey) : SigningKey(algorithm, publicKey)
    {
        private protected override byte[] SignCore(ReadOnlySpan<byte> data)
        {
            byte[] signature = new byte[SigSize];
            Bc.Ed25519.Sign(seed, data, signature);
            return signature;
        }

        private protected override byte[] ExportPrivateKeyCore() => (byte[])seed.Clone();

        private protected override void DisposeCore() => CryptographicOperations.ZeroMemory(seed);
    }
}
