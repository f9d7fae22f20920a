// RFC 3526 group 14 Diffie-Hellman with System.Numerics.BigInteger: the portable fallback.
// BigInteger.ModPow is neither fast (~80× slower than libcrypto) nor constant-time, so this is
// used only where libcrypto cannot be loaded; docs/decisions/0001-crypto-backends.md says why.
using System.Numerics;
using System.Security.Cryptography;

namespace Parley.Crypto.KeyAgreement;

internal sealed class Modp2048Managed : KeyAgreementAlgorithm
{
    private static readonly BigInteger s_prime = new(Modp2048Group.Prime, isUnsigned: true, isBigEndian: true);

    public override string Name => Modp2048Group.Name;
    public override int PublicKeySize => Modp2048Group.ElementSize;
    public override int PrivateKeySize => Modp2048Group.ExponentSize;
    public override int SharedSecretSize => Modp2048Group.ElementSize;
    public override string Implementation => "managed";

    private protected override bool IsValidPrivateKeyLength(int length) => length is >= 1 and <= Modp2048Group.ElementSize;

    private protected override KeyAgreementPrivateKey GenerateKeyCore()
    {
        byte[] exponent = new byte[Modp2048Group.ExponentSize];
        do
        {
            RandomNumberGenerator.Fill(exponent);
        }
        while (!Modp2048Group.IsValidExponent(exponent));
        return Create(exponent);
    }

    private protected override KeyAgreementPrivateKey ImportPrivateKeyCore(ReadOnlySpan<byte> privateKey)
    {
        if (!Modp2048Group.IsValidExponent(privateKey))
        {
            throw new ArgumentException("A modp2048 exponent must be at least 2.", nameof(privateKey));
        }
        return Create(privateKey.ToArray());
    }

    private Key Create(byte[] exponent)
    {
        byte[] publicKey = new byte[Modp2048Group.ElementSize];
        ModPow(Modp2048Group.Generator, exponent, publicKey);
        return new Key(this, exponent, publicKey);
    }

    private protected override SharedSecret AgreeCore(KeyAgreementPrivateKey ourKey, ReadOnlySpan<byte> theirPublicKey)
    {
        Modp2048Group.ValidatePublicValue(theirPublicKey);
        byte[] secret = new byte[Modp2048Group.ElementSize];
        ModPow(new BigInteger(theirPublicKey, isUnsigned: true, isBigEndian: true), ((Key)ourKey).Exponent, secret);
        return new SharedSecret(secret, Name);
    }

    private static void ModPow(BigInteger @base, ReadOnlySpan<byte> exponent, Span<byte> output)
    {
        BigInteger result = BigInteger.ModPow(@base, new BigInteger(exponent, isUnsigned: true, isBigEndian: true), s_prime);
        int length = result.GetByteCount(isUnsigned: true);
        output.Clear();
        result.TryWriteBytes(output[(output.Length - length)..], out _, isUnsigned: true, isBigEndian: true);
    }

    private sealed class Key(Modp2048Managed algorithm, byte[] exponent, byte[] publicKey)
        : KeyAgreementPrivateKey(algorithm, publicKey)
    {
        internal byte[] Exponent { get; } = exponent;

        private protected override byte[] ExportPrivateKeyCore() => (byte[])Exponent.Clone();

        private protected override void DisposeCore() => CryptographicOperations.ZeroMemory(Exponent);
    }
}
