// RFC 3526 group 14 Diffie-Hellman through libcrypto's constant-time Montgomery exponentiation
// (BN_mod_exp_mont_consttime), ~80× faster than BigInteger.ModPow on this project's machines.
using System.Security.Cryptography;
using Parley.Crypto.Interop;

namespace Parley.Crypto.KeyAgreement;

internal sealed unsafe class Modp2048Native : KeyAgreementAlgorithm
{
    // Process-lifetime, read-only after construction: OpenSSL allows concurrent use of a const
    // modulus and BN_MONT_CTX from many threads.
    private static readonly IntPtr s_prime;
    private static readonly IntPtr s_generator;
    private static readonly IntPtr s_montgomery;

    static Modp2048Native()
    {
        IntPtr ctx = LibCrypto.BN_CTX_new();
        LibCrypto.ThrowIfNull(ctx, "BN_CTX_new");
        try
        {
            s_prime = FromBytes(Modp2048Group.Prime);
            s_generator = FromBytes([Modp2048Group.Generator]);
            s_montgomery = LibCrypto.BN_MONT_CTX_new();
            LibCrypto.ThrowIfNull(s_montgomery, "BN_MONT_CTX_new");
            LibCrypto.ThrowIfFailed(LibCrypto.BN_MONT_CTX_set(s_montgomery, s_prime, ctx), "BN_MONT_CTX_set");
        }
        finally
        {
            LibCrypto.BN_CTX_free(ctx);
        }
    }

    public override string Name => Modp2048Group.Name;
    public override int PublicKeySize => Modp2048Group.ElementSize;
    public override int PrivateKeySize => Modp2048Group.ExponentSize;
    public override int SharedSecretSize => Modp2048Group.ElementSize;
    public override string Implementation => "native";

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
        ModPow(s_generator, exponent, publicKey);
        return new Key(this, exponent, publicKey);
    }

    private protected override SharedSecret AgreeCore(KeyAgreementPrivateKey ourKey, ReadOnlySpan<byte> theirPublicKey)
    {
        Modp2048Group.ValidatePublicValue(theirPublicKey);
        IntPtr peer = FromBytes(theirPublicKey);
        byte[] secret = new byte[Modp2048Group.ElementSize];
        try
        {
            ModPow(peer, ((Key)ourKey).Exponent, secret);
        }
        finally
        {
            LibCrypto.BN_free(peer);
        }
        return new SharedSecret(secret, Name);
    }

    /// <summary>output = base^exponent mod p, left-padded to 256 bytes.</summary>
    private static void ModPow(IntPtr @base, ReadOnlySpan<byte> exponent, Span<byte> output)
    {
        IntPtr ctx = LibCrypto.BN_CTX_new();
        LibCrypto.ThrowIfNull(ctx, "BN_CTX_new");
        IntPtr x = IntPtr.Zero;
        IntPtr result = IntPtr.Zero;
        try
        {
            x = FromBytes(exponent);
            LibCrypto.BN_set_flags(x, LibCrypto.BN_FLG_CONSTTIME);
            result = LibCrypto.BN_new();
            LibCrypto.ThrowIfNull(result, "BN_new");
            LibCrypto.ThrowIfFailed(
                LibCrypto.BN_mod_exp_mont_consttime(result, @base, x, s_prime, ctx, s_montgomery), "BN_mod_exp_mont_consttime");
            fixed (byte* p = output)
            {
                if (LibCrypto.BN_bn2binpad(result, p, output.Length) != output.Length)
                {
                    LibCrypto.ThrowIfFailed(0, "BN_bn2binpad");
                }
            }
        }
        finally
        {
            if (x != IntPtr.Zero)
            {
                LibCrypto.BN_clear_free(x);
            }
            if (result != IntPtr.Zero)
            {
                LibCrypto.BN_clear_free(result);
            }
            LibCrypto.BN_CTX_free(ctx);
        }
    }

    private static IntPtr FromBytes(ReadOnlySpan<byte> bigEndian)
    {
        fixed (byte* p = bigEndian)
        {
            IntPtr bn = LibCrypto.BN_bin2bn(p, bigEndian.Length, IntPtr.Zero);
            LibCrypto.ThrowIfNull(bn, "BN_bin2bn");
            return bn;
        }
    }

    private sealed class Key(Modp2048Native algorithm, byte[] exponent, byte[] publicKey)
        : KeyAgreementPrivateKey(algorithm, publicKey)
    {
        internal byte[] Exponent { get; } = exponent;

        private protected override byte[] ExportPrivateKeyCore() => (byte[])Exponent.Clone();

        private protected override void DisposeCore() => CryptographicOperations.ZeroMemory(Exponent);
    }
}
