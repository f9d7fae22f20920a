using Parley.Crypto.KeyAgreement;
using Parley.Tests.Support;

namespace Parley.Tests.Crypto;

public class X25519Tests
{
    public static TheoryData<string> Implementations() => new(KeyAgreementRegistry.Implementations("x25519").Select(KeyAgreementRegistry.Key));

    [Theory]
    [MemberData(nameof(Implementations))]
    public void Wycheproof_valid_vectors_match_and_zero_secrets_are_rejected(string implementation)
    {
        KeyAgreementAlgorithm x25519 = KeyAgreementRegistry.Resolve(implementation);
        int checkedCount = 0;
        foreach ((_, var test) in Vectors.WycheproofTests("x25519_test.json"))
        {
            using KeyAgreementPrivateKey key = x25519.ImportPrivateKey(test.Hex("private"));
            byte[] expected = test.Hex("shared");
            // Policy (PROTOCOL.md §2.1): an all-zero shared secret is refused (RFC 7748 §6.1);
            // every other "acceptable" case (twist points, non-canonical u) is computed as listed.
            if (expected.All(b => b == 0))
            {
                Assert.NotEqual("valid", test.Result());
                Assert.Throws<InvalidPublicKeyException>(() => x25519.Agree(key, test.Hex("public")));
            }
            else
            {
                using SharedSecret secret = x25519.Agree(key, test.Hex("public"));
                Assert.Equal(Convert.ToHexString(expected), Convert.ToHexString(secret.ExportForTesting()));
            }
            checkedCount++;
        }
        Assert.Equal(518, checkedCount);
    }

    [Theory]
    [MemberData(nameof(Implementations))]
    public void Rfc7748_section_5_2_vectors(string implementation)
    {
        KeyAgreementAlgorithm x25519 = KeyAgreementRegistry.Resolve(implementation);
        foreach (string name in new[] { "rfc7748-5.2-vector1", "rfc7748-5.2-vector2" })
        {
            List<byte[]> values = Vectors.RfcHexLines(Vectors.RfcBlock(name));
            using KeyAgreementPrivateKey key = x25519.ImportPrivateKey(values[0]);
            using SharedSecret secret = x25519.Agree(key, values[1]);
            Assert.Equal(values[2], secret.ExportForTesting());
        }
    }

    [Theory]
    [MemberData(nameof(Implementations))]
    public void Rfc7748_section_6_1_diffie_hellman(string implementation)
    {
        KeyAgreementAlgorithm x25519 = KeyAgreementRegistry.Resolve(implementation);
        List<byte[]> v = Vectors.RfcHexLines(Vectors.RfcBlock("rfc7748-6.1"));
        using KeyAgreementPrivateKey alice = x25519.ImportPrivateKey(v[0]);
        using KeyAgreementPrivateKey bob = x25519.ImportPrivateKey(v[2]);
        Assert.Equal(v[1], alice.PublicKey.ToArray());
        Assert.Equal(v[3], bob.PublicKey.ToArray());
        using SharedSecret ab = x25519.Agree(alice, bob.PublicKey);
        using SharedSecret ba = x25519.Agree(bob, alice.PublicKey);
        Assert.Equal(v[4], ab.ExportForTesting());
        Assert.Equal(v[4], ba.ExportForTesting());
    }
}
