using Parley.Crypto.KeyAgreement;
using Parley.Tests.Support;
using System.Text.Json;

namespace Parley.Tests.Crypto;

public class Modp2048Tests
{
    public static TheoryData<string> Implementations() => new(KeyAgreementRegistry.Implementations("modp2048").Select(KeyAgreementRegistry.Key));

    [Theory]
    [MemberData(nameof(Implementations))]
    public void Known_answer_vectors_match(string implementation)
    {
        KeyAgreementAlgorithm modp = KeyAgreementRegistry.Resolve(implementation);
        using JsonDocument doc = Vectors.Rfc("modp2048_dh_test.json");
        int count = 0;
        foreach (JsonElement test in doc.RootElement.GetProperty("tests").EnumerateArray())
        {
            using KeyAgreementPrivateKey a = modp.ImportPrivateKey(test.Hex("privateA"));
            using KeyAgreementPrivateKey b = modp.ImportPrivateKey(test.Hex("privateB"));
            Assert.Equal(test.Hex("publicA"), a.PublicKey.ToArray());
            Assert.Equal(test.Hex("publicB"), b.PublicKey.ToArray());
            using SharedSecret ab = modp.Agree(a, b.PublicKey);
            using SharedSecret ba = modp.Agree(b, a.PublicKey);
            Assert.Equal(test.Hex("shared"), ab.ExportForTesting());
            Assert.Equal(test.Hex("shared"), ba.ExportForTesting());
            count++;
        }
        Assert.True(count >= 5);
    }

    [Theory]
    [MemberData(nameof(Implementations))]
    public void Invalid_public_values_are_rejected(string implementation)
    {
        KeyAgreementAlgorithm modp = KeyAgreementRegistry.Resolve(implementation);
        using KeyAgreementPrivateKey key = modp.GenerateKey();
        using JsonDocument doc = Vectors.Rfc("modp2048_dh_test.json");
        int count = 0;
        foreach (JsonElement test in doc.RootElement.GetProperty("invalidPublicKeys").EnumerateArray())
        {
            var error = Assert.Throws<InvalidPublicKeyException>(() => modp.Agree(key, test.Hex("public")));
            Assert.Contains("[2, p-2]", error.Message);
            count++;
        }
        Assert.Equal(6, count);
    }

    [Theory]
    [MemberData(nameof(Implementations))]
    public void Boundary_values_two_and_p_minus_two_are_accepted(string implementation)
    {
        KeyAgreementAlgorithm modp = KeyAgreementRegistry.Resolve(implementation);
        using KeyAgreementPrivateKey key = modp.GenerateKey();
        byte[] two = new byte[256];
        two[^1] = 2;
        byte[] pMinusTwo = Modp2048Group.Prime.ToArray();
        pMinusTwo[^1] -= 2;
        using SharedSecret s1 = modp.Agree(key, two);
        using SharedSecret s2 = modp.Agree(key, pMinusTwo);
        Assert.Equal(256, s1.ExportForTesting().Length);
    }

    [Theory]
    [MemberData(nameof(Implementations))]
    public void Degenerate_private_exponents_are_refused(string implementation)
    {
        KeyAgreementAlgorithm modp = KeyAgreementRegistry.Resolve(implementation);
        Assert.Throws<ArgumentException>(() => modp.ImportPrivateKey(new byte[32]));
        byte[] one = new byte[32];
        one[^1] = 1;
        Assert.Throws<ArgumentException>(() => modp.ImportPrivateKey(one));
    }
}
