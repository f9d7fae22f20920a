// NIST P-256 ECDH through libcrypto's EC_KEY and ECDH_compute_key.
// Why not .NET's ECDiffieHellman (still the fallback, P256KeyAgreement)? Importing a peer key
// there runs EC_KEY_check_key, which multiplies the point by the group order: a second full
// scalar multiplication per agreement that buys nothing on a prime-order curve (cofactor 1),
// where "on the curve and not infinity" already implies order n. Here decoding the SEC1 point
// (EC_KEY_oct2key) checks exactly that, and the agreement costs one multiplication.
using System.Security.Cryptography;
using Parley.Crypto.Interop;

namespace Parley.Crypto.KeyAgreement;

internal sealed unsafe class P256Native : KeyAgreementAlgorithm
{
    public override string Name => "p256";
    public override int PublicKeySize => P256KeyAgreement.PointSize;
    public override int PrivateKeySize => P256KeyAgreement.CoordinateSize;
    public override int SharedSecretSize => P256KeyAgreement.CoordinateSize;
    public override string Implementation => "native";

    private protected override KeyAgreementPrivateKey GenerateKeyCore()
    {
        IntPtr key = NewKey();
        try
        {
            LibCrypto.ThrowIfFailed(LibCrypto.EC_KEY_generate_key(key), "EC_KEY_generate_key");
            return new Key(this, key, EncodePublic(key));
        }
        catch
        {
            LibCrypto.EC_KEY_free(key);
            throw;
        }
    }

    private protected override KeyAgreementPrivateKey ImportPrivateKeyCore(ReadOnlySpan<byte> privateKey)
    {
        if (!P256KeyAgreement.IsValidScalar(privateKey))
        {
            throw new ArgumentException("A P-256 private key must lie in [1, n-1].", nameof(privateKey));
        }
        IntPtr key = NewKey();
        IntPtr point = IntPtr.Zero;
        try
        {
            fixed (byte* d = privateKey)
            {
                LibCrypto.ThrowIfFailed(LibCrypto.EC_KEY_oct2priv(key, d, (nuint)privateKey.Length), "EC_KEY_oct2priv");
            }
            IntPtr group = LibCrypto.EC_KEY_get0_group(key);
            point = LibCrypto.EC_POINT_new(group);
            LibCrypto.ThrowIfNull(point, "EC_POINT_new");
            LibCrypto.ThrowIfFailed(LibCrypto.EC_POINT_mul(group, point, LibCrypto.EC_KEY_get0_private_key(key), IntPtr.Zero, IntPtr.Zero, IntPtr.Zero), "EC_POINT_mul");
            LibCrypto.ThrowIfFailed(LibCrypto.EC_KEY_set_public_key(key, point), "EC_KEY_set_public_key");
            return new Key(this, key, EncodePublic(key));
        }
        catch
        {
            LibCrypto.EC_KEY_free(key);
            throw;
        }
        finally
        {
            if (point != IntPtr.Zero)
            {
                LibCrypto.EC_POINT_free(point);
            }
        }
    }

    private protected override SharedSecret AgreeCore(KeyAgreementPrivateKey ourKey, ReadOnlySpan<byte> theirPublicKey)
    {
        if (theirPublicKey[0] != 0x04)
        {
            throw new InvalidPublicKeyException(Name, "not an uncompressed SEC1 point (0x04 || X || Y)");
        }
        IntPtr peer = NewKey();
        try
        {
            int decoded;
            fixed (byte* p = theirPublicKey)
            {
                decoded = LibCrypto.EC_KEY_oct2key(peer, p, (nuint)theirPublicKey.Length, IntPtr.Zero);
            }
            if (decoded != 1)
            {
                LibCrypto.ERR_clear_error();
                throw new InvalidPublicKeyException(Name, "the point is not on the curve");
            }
            byte[] secret = new byte[P256KeyAgreement.CoordinateSize];
            int length;
            fixed (byte* s = secret)
            {
                length = LibCrypto.ECDH_compute_key(s, (nuint)secret.Length, LibCrypto.EC_KEY_get0_public_key(peer), ((Key)ourKey).Handle, IntPtr.Zero);
            }
            if (length != secret.Length)
            {
                LibCrypto.ERR_clear_error();
                CryptographicOperations.ZeroMemory(secret);
                throw new InvalidPublicKeyException(Name, "the agreement failed");
            }
            return new SharedSecret(secret, Name);
        }
        finally
        {
            LibCrypto.EC_KEY_free(peer);
        }
    }

    private static IntPtr NewKey()
    {
        IntPtr key = LibCrypto.EC_KEY_new_by_curve_name(LibCrypto.NID_X9_62_prime256v1);
        LibCrypto.ThrowIfNull(key, "EC_KEY_new_by_curve_name");
        return key;
    }

    private static byte[] EncodePublic(IntPtr key)
    {
        byte[] point = new byte[P256KeyAgreement.PointSize];
        fixed (byte* p = point)
        {
            nuint written = LibCrypto.EC_POINT_point2oct(LibCrypto.EC_KEY_get0_group(key), LibCrypto.EC_KEY_get0_public_key(key),
                LibCrypto.POINT_CONVERSION_UNCOMPRESSED, p, (nuint)point.Length, IntPtr.Zero);
            if (written != (nuint)point.Length)
            {
                LibCrypto.ThrowIfFailed(0, "EC_POINT_point2oct");
            }
        }
        return point;
    }

    private sealed class Key(P256Native algorithm, IntPtr handle, byte[] publicKey) : KeyAgreementPrivateKey(algorithm, publicKey)
    {
        internal IntPtr Handle { get; } = handle;

        private protected override unsafe byte[] ExportPrivateKeyCore()
        {
            byte[] scalar = new byte[P256KeyAgreement.CoordinateSize];
            fixed (byte* p = scalar)
            {
                if (LibCrypto.BN_bn2binpad(LibCrypto.EC_KEY_get0_private_key(Handle), p, scalar.Length) != scalar.Length)
                {
                    LibCrypto.ThrowIfFailed(0, "BN_bn2binpad");
                }
            }
            return scalar;
        }

        // EC_KEY_free clears the private scalar (BN_clear_free) before releasing it.
        private protected override void DisposeCore() => LibCrypto.EC_KEY_free(Handle);
    }
}
