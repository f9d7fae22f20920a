using Parley.Crypto.KeyAgreement;
using Parley.Tests.Support;

namespace Parley.Tests.Crypto;

public class P256EcdhTests
{
    public static TheoryData<string> Implementations() => new(KeyAgreementRegistry.Implementations("p256").Select(KeyAgreementRegistry.Key));

    /// <summary>
    /// Wycheproof raw-point vectors. Policy: only uncompressed points are accepted on the wire,
    /// so the one "acceptable" case (a compressed point) and every invalid case must be refused.
    /// </summary>
    [Theory]
    [MemberData(nameof(Implementations))]
    public void Wycheproof_ecpoint_vectors(string implementation)
    {
        KeyAgreementAlgorithm p256 = KeyAgreementRegistry.Resolve(implementation);
        int valid = 0, rejected = 0;
        foreach ((_, var test) in Vectors.WycheproofTests("ecdh_secp256r1_ecpoint_test.json"))
        {
            byte[] privateKey = LeftPad(test.Hex("private"), 32);
            byte[] publicKey = test.Hex("public");
            using KeyAgreementPrivateKey key = p256.ImportPrivateKey(privateKey);
            if (test.Result() == "valid")
            {
                using SharedSecret secret = p256.Agree(key, publicKey);
                Assert.Equal(Convert.ToHexString(test.Hex("shared")), Convert.ToHexString(secret.ExportForTesting()));
                valid++;
            }
            else
            {
                Assert.Throws<InvalidPublicKeyException>(() => p256.Agree(key, publicKey));
                rejected++;
            }
        }
        Assert.Equal(330, valid);
        Assert.Equal(25, rejected);
    }

    /// <summary>Leading zeros are stripped or a 0x00 sign byte added in the vectors; we need exactly 32 bytes.</summary>
    internal static byte[] LeftPad(byte[] value, int size)
    {
        int start = Array.FindIndex(value, b => b != 0);
        byte[] trimmed = start < 0 ? [] : value[start..];
        byte[] padded = new byte[size];
        trimmed.CopyTo(padded, size - trimmed.Length);
        return padded;
    }
}
