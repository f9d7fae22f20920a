// NIST P-256 ECDH through .NET's ECDiffieHellman: the portable path (CNG on Windows, and the
// fallback where libcrypto cannot be called directly; P256Native is preferred). Public keys are SEC1 uncompressed points
// (0x04 || X || Y, 65 bytes); compressed points are refused. Importing a point makes the
// platform check that it lies on the curve; the shared secret is the 32-byte X coordinate.
using System.Security.Cryptography;

namespace Parley.Crypto.KeyAgreement;

internal sealed class P256KeyAgreement : KeyAgreementAlgorithm
{
    internal const int CoordinateSize = 32;
    internal const int PointSize = 1 + 2 * CoordinateSize;

    // The order n of the P-256 base point (FIPS 186-4 D.1.2.3), big-endian.
    private static readonly byte[] s_order = Convert.FromHexString("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551");

    public override string Name => "p256";
    public override int PublicKeySize => PointSize;
    public override int PrivateKeySize => CoordinateSize;
    public override int SharedSecretSize => CoordinateSize;
    public override string Implementation => "dotnet";

    private protected override KeyAgreementPrivateKey GenerateKeyCore() =>
        new Key(this, ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256));

    private protected override KeyAgreementPrivateKey ImportPrivateKeyCore(ReadOnlySpan<byte> privateKey)
    {
        if (!IsValidScalar(privateKey))
        {
            throw new ArgumentException("A P-256 private key must lie in [1, n-1].", nameof(privateKey));
        }
        byte[] d = privateKey.ToArray();
        try
        {
            return new Key(this, ECDiffieHellman.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, D = d }));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(d);
        }
    }

    internal static bool IsValidScalar(ReadOnlySpan<byte> scalar) =>
        scalar.Length == CoordinateSize && scalar.IndexOfAnyExcept((byte)0) >= 0 && scalar.SequenceCompareTo(s_order) < 0;

    private protected override SharedSecret AgreeCore(KeyAgreementPrivateKey ourKey, ReadOnlySpan<byte> theirPublicKey)
    {
        using ECDiffieHellman peer = ImportPublicKey(theirPublicKey, Name);
        using ECDiffieHellmanPublicKey peerPublic = peer.PublicKey;
        byte[] secret = ((Key)ourKey).Ecdh.DeriveRawSecretAgreement(peerPublic);
        return new SharedSecret(secret, Name);
    }

    /// <summary>Imports a SEC1 uncompressed point; the platform rejects points off the curve.</summary>
    internal static ECDiffieHellman ImportPublicKey(ReadOnlySpan<byte> point, string algorithmName)
    {
        if (point.Length != PointSize || point[0] != 0x04)
        {
            throw new InvalidPublicKeyException(algorithmName, "not an uncompressed SEC1 point (0x04 || X || Y)");
        }
        ECParameters parameters = new()
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = point.Slice(1, CoordinateSize).ToArray(), Y = point.Slice(1 + CoordinateSize).ToArray() },
        };
        try
        {
            return ECDiffieHellman.Create(parameters);
        }
        catch (CryptographicException)
        {
            throw new InvalidPublicKeyException(algorithmName, "the point is not on the curve");
        }
    }

    internal static byte[] EncodePoint(ECParameters parameters)
    {
        byte[] point = new byte[PointSize];
        point[0] = 0x04;
        parameters.Q.X!.CopyTo(point, 1);
        parameters.Q.Y!.CopyTo(point, 1 + CoordinateSize);
        return point;
    }

    private sealed class Key(P256KeyAgreement algorithm, ECDiffieHellman ecdh)
        : KeyAgreementPrivateKey(algorithm, EncodePoint(ecdh.ExportParameters(includePrivateParameters: false)))
    {
        internal ECDiffieHellman Ecdh { get; } = ecdh;

        private protected override byte[] ExportPrivateKeyCore()
        {
            ECParameters parameters = Ecdh.ExportParameters(includePrivateParameters: true);
            return parameters.D!;
        }

        private protected override void DisposeCore() => Ecdh.Dispose();
    }
}
