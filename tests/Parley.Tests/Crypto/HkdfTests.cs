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

    [Fact]
    public void Every_backend_gives_the_rfc5869_and_wycheproof_outputs()
    {
        Assert.Equal(HkdfSha256.Sodium ?? HkdfSha256.Platform, HkdfSha256.Default);
        foreach (HkdfSha256 hkdf in HkdfSha256.Alternatives)
        {
            foreach (string block in new[] { "rfc5869-tc1", "rfc5869-tc2", "rfc5869-tc3" })
            {
                Dictionary<string, byte[]> v = Vectors.RfcHexFields(Vectors.RfcBlock(block));
                byte[] prk = new byte[HkdfSha256.PrkSize];
                hkdf.Extract(v["IKM"], v["salt"], prk);
                Assert.True(v["PRK"].AsSpan().SequenceEqual(prk), $"{hkdf}: {block} PRK");
                byte[] okm = new byte[v["OKM"].Length];
                hkdf.Expand(prk, v["info"], okm);
                Assert.True(v["OKM"].AsSpan().SequenceEqual(okm), $"{hkdf}: {block} OKM");
            }
            int checkedVectors = 0;
            foreach ((_, var test) in Vectors.WycheproofTests("hkdf_sha256_test.json"))
            {
                int size = test.GetProperty("size").GetInt32();
                if (test.Result() != "valid")
                {
                    continue; // sizes beyond 255 × 32: PseudoRandomKey refuses them before any backend (above)
                }
                byte[] prk = new byte[HkdfSha256.PrkSize];
                hkdf.Extract(test.Hex("ikm"), test.Hex("salt"), prk);
                byte[] okm = new byte[size];
                hkdf.Expand(prk, test.Hex("info"), okm);
                Assert.True(test.Hex("okm").AsSpan().SequenceEqual(okm), $"{hkdf}: Wycheproof vector of {size} bytes");
                checkedVectors++;
            }
            Assert.Equal(83, checkedVectors);
        }
    }
}
