// ECDSA over NIST P-256 with SHA-256 through .NET's ECDsa. Signatures are IEEE P1363 (r || s,
// 64 bytes); public keys are SEC1 uncompressed points checked to lie on the curve at import.
using System.Security.Cryptography;
using Parley.Crypto.KeyAgreement;

namespace Parley.Crypto.Signing;

internal sealed class EcdsaP256 : SignatureAlgorithm
{
    public override string Name => "ecdsa-p256-sha256";
    public override int PublicKeySize => P256KeyAgreement.PointSize;
    public override int PrivateKeySize => P256KeyAgreement.CoordinateSize;
    public override int SignatureSize => 2 * P256KeyAgreement.CoordinateSize;
    public override string Implementation => "native";

    private protected override SigningKey GenerateKeyCore() => new Key(this, ECDsa.Create(ECCurve.NamedCurves.nistP256));

    private protected override SigningKey ImportPrivateKeyCore(ReadOnlySpan<byte> privateKey)
    {
        if (!P256KeyAgreement.IsValidScalar(privateKey))
        {
            throw new ArgumentException("A P-256 private key must lie in [1, n-1].", nameof(privateKey));
        }
        byte[] d = privateKey.ToArray();
        try
        {
            return new Key(this, ECDsa.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, D = d }));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(d);
        }
    }

    private protected override bool VerifyCore(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        if (publicKey[0] != 0x04)
        {
            return false;
        }
        ECParameters parameters = new()
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = publicKey.Slice(1, 32).ToArray(), Y = publicKey.Slice(33, 32).ToArray() },
        };
        try
        {
            using ECDsa ecdsa = ECDsa.Create(parameters);
            return ecdsa.VerifyData(data, signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    private sealed class Key(EcdsaP256 algorithm, ECDsa ecdsa)
        : SigningKey(algorithm, P256KeyAgreement.EncodePoint(ecdsa.ExportParameters(includePrivateParameters: false)))
    {
        private protected override byte[] SignCore(ReadOnlySpan<byte> data) =>
            ecdsa.SignData(data, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);

        private protected override byte[] ExportPrivateKeyCore()
        {
            ECParameters parameters = ecdsa.ExportParameters(includePrivateParameters: true);
            byte[] d = parameters.D!;
            CryptographicOperations.ZeroMemory(parameters.Q.X);
            return d;
        }

        private protected override void DisposeCore() => ecdsa.Dispose();
    }
}
