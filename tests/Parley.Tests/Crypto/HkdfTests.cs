using Parley.Crypto.Kdf;
using Parley.Tests.Support;

namespace Parley.Tests.Crypto;

public class HkdfTests
{
    [Theory]
    [InlineData("rfc5869-tc1")]
    [InlineData("rfc5869-tc2")]
    [InlineData("rfc5869-tc3")]
    public void Rfc5869_appendix_A(string block)
    {
        Dictionary<string, byte[]> v = Vectors.RfcHexFields(Vectors.RfcBlock(block));
        using PseudoRandomKey prk = PseudoRandomKey.FromInputKeyingMaterial(v["IKM"], v["salt"]);
        Assert.Equal(v["PRK"], prk.ExportForTesting());
        byte[] okm = new byte[v["OKM"].Length];
        prk.Expand(v["info"], okm);
        Assert.Equal(v["OKM"], okm);
    }

    [Fact]
    public void Wycheproof_vectors()
    {
        int valid = 0, invalid = 0;
        foreach ((_, var test) in Vectors.WycheproofTests("hkdf_sha256_test.json"))
        {
            int size = test.GetProperty("size").GetInt32();
            using PseudoRandomKey prk = PseudoRandomKey.FromInputKeyingMaterial(test.Hex("ikm"), test.Hex("salt"));
            byte[] okm = new byte[size];
            if (test.Result() == "valid")
            {
                prk.Expand(test.Hex("info"), okm);
                Assert.Equal(test.Hex("okm"), okm);
                valid++;
            }
            else
            {
                Assert.Throws<ArgumentException>(() => prk.Expand(test.Hex("info"), okm));
                invalid++;
            }
        }
        Assert.Equal(83, valid);
        Assert.Equal(3, invalid);
    }
}
