using Parley.Crypto;
using Parley.Crypto.Signing;
using Parley.Tests.Support;

namespace Parley.Tests.Crypto;

public class SignatureTests
{
    public static TheoryData<string> Ed25519Implementations() => new(SignatureAlgorithms.Ed25519Implementations.Select(a => a.Implementation));

    private static SignatureAlgorithm Ed25519(string implementation) =>
        SignatureAlgorithms.Ed25519Implementations.Single(a => a.Implementation == implementation);

    [Theory]
    [MemberData(nameof(Ed25519Implementations))]
    public void Wycheproof_ed25519_vectors(string implementation)
    {
        SignatureAlgorithm ed25519 = Ed25519(implementation);
        int count = 0;
        foreach ((var group, var test) in Vectors.WycheproofTests("ed25519_test.json"))
        {
            byte[] publicKey = Convert.FromHexString(group.GetProperty("publicKey").GetProperty("pk").GetString()!);
            bool verified = ed25519.Verify(publicKey, test.Hex("msg"), test.Hex("sig"));
            Assert.True(verified == (test.Result() == "valid"), $"tcId {test.Id()} ({test.GetProperty("comment").GetString()})");
            count++;
        }
        Assert.Equal(151, count);
    }

    [Fact]
    public void Wycheproof_ecdsa_p256_p1363_vectors()
    {
        int count = 0;
        foreach ((var group, var test) in Vectors.WycheproofTests("ecdsa_secp256r1_sha256_p1363_test.json"))
        {
            byte[] publicKey = Convert.FromHexString(group.GetProperty("publicKey").GetProperty("uncompressed").GetString()!);
            bool verified = SignatureAlgorithms.EcdsaP256.Verify(publicKey, test.Hex("msg"), test.Hex("sig"));
            Assert.True(verified == (test.Result() == "valid"), $"tcId {test.Id()}");
            count++;
        }
        Assert.Equal(262, count);
    }

    public static TheoryData<string> All() => new(SignatureAlgorithms.All.Select(a => a.Name));

    [Theory]
    [MemberData(nameof(All))]
    public void Sign_verify_export_import_round_trip(string name)
    {
        SignatureAlgorithm algorithm = SignatureAlgorithms.Get(name);
        using SigningKey key = algorithm.GenerateKey(KeyExportPolicy.AllowExport);
        byte[] data = "transcript"u8.ToArray();
        byte[] signature = key.Sign(data);
        Assert.Equal(algorithm.SignatureSize, signature.Length);
        Assert.True(algorithm.Verify(key.PublicKey, data, signature));
        Assert.False(algorithm.Verify(key.PublicKey, "transcripT"u8, signature));
        signature[0] ^= 1;
        Assert.False(algorithm.Verify(key.PublicKey, data, signature));
        Assert.False(algorithm.Verify(key.PublicKey[..^1], data, signature));

        byte[] exported = key.ExportPrivateKey();
        using SigningKey imported = algorithm.ImportPrivateKey(exported);
        Assert.Equal(key.PublicKey.ToArray(), imported.PublicKey.ToArray());
        Assert.DoesNotContain(Convert.ToHexString(exported), key.ToString(), StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [MemberData(nameof(Ed25519Implementations))]
    public void Native_and_managed_ed25519_produce_identical_signatures(string implementation)
    {
        byte[] seed = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
        using SigningKey a = Ed25519(implementation).ImportPrivateKey(seed);
        using SigningKey b = SignatureAlgorithms.Ed25519Managed.ImportPrivateKey(seed);
        Assert.Equal(a.PublicKey.ToArray(), b.PublicKey.ToArray());
        Assert.Equal(a.Sign("abc"u8), b.Sign("abc"u8));
    }

    [Fact]
    public void Ed25519_prefers_libsodium_then_libcrypto_then_managed()
    {
        string[] order = SignatureAlgorithms.Ed25519Implementations.Select(a => a.Implementation).ToArray();
        Assert.Equal(order, new[] { "sodium", "native", "managed" }.Where(order.Contains));
        Assert.Same(SignatureAlgorithms.Ed25519Implementations[0], SignatureAlgorithms.Ed25519);
        Assert.Equal("managed", order[^1]);
    }

    [Theory]
    [MemberData(nameof(Ed25519Implementations))]
    public void Every_ed25519_implementation_round_trips_an_exportable_key(string implementation)
    {
        SignatureAlgorithm ed25519 = Ed25519(implementation);
        using SigningKey key = ed25519.GenerateKey(Parley.Crypto.KeyExportPolicy.AllowExport);
        byte[] seed = key.ExportPrivateKey();
        foreach (SignatureAlgorithm other in SignatureAlgorithms.Ed25519Implementations)
        {
            using SigningKey twin = other.ImportPrivateKey(seed);
            Assert.Equal(key.PublicKey.ToArray(), twin.PublicKey.ToArray());
            Assert.True(ed25519.Verify(key.PublicKey, "m"u8, twin.Sign("m"u8)));
        }
    }

    [Fact]
    public void Fingerprints_look_like_ssh_keygen_and_bind_the_algorithm()
    {
        byte[] key = new byte[32];
        string fp = Fingerprint.Of("ed25519", key);
        Assert.StartsWith("SHA256:", fp);
        Assert.Equal(7 + 43, fp.Length);
        Assert.NotEqual(fp, Fingerprint.Of("ecdsa-p256-sha256", key));
        Assert.True(Fingerprint.Matches(fp[7..], fp));
        Assert.False(Fingerprint.Matches(fp[..^1] + "x", fp));
    }
}
