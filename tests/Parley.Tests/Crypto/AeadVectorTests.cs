using Parley.Crypto.Aead;
using Parley.Tests.Support;

namespace Parley.Tests.Crypto;

public class AeadVectorTests
{
    [Theory]
    [InlineData("aes_gcm_test.json", "aes-256-gcm")]
    [InlineData("chacha20_poly1305_test.json", "chacha20-poly1305")]
    public void Wycheproof_vectors_for_256_bit_keys_and_96_bit_nonces(string file, string suite)
    {
        AeadAlgorithm algorithm = AeadAlgorithms.Get(suite);
        int valid = 0, invalid = 0;
        foreach ((var group, var test) in Vectors.WycheproofTests(file))
        {
            int keyBits = group.GetProperty("keySize").GetInt32();
            int ivBits = group.GetProperty("ivSize").GetInt32();
            if (keyBits != 256)
            {
                continue; // AES-128/192 are not Parley suites.
            }
            byte[] key = test.Hex("key");
            byte[] iv = test.Hex("iv");
            byte[] aad = test.Hex("aad");
            byte[] msg = test.Hex("msg");
            byte[] expected = [.. test.Hex("ct"), .. test.Hex("tag")];
            using AeadKey aeadKey = algorithm.CreateKey(key);
            if (ivBits != 96)
            {
                // Our API takes only 96-bit nonces (the record layer never builds another size):
                // vectors with other sizes, valid or not, must be refused rather than used.
                Assert.Throws<ArgumentException>(() => aeadKey.TryOpen(iv, expected, aad, new byte[msg.Length + 16], out _));
                invalid++;
                continue;
            }
            byte[] plaintext = new byte[Math.Max(0, expected.Length - 16)];
            bool opened = aeadKey.TryOpen(iv, expected, aad, plaintext, out int written);
            if (test.Result() == "valid")
            {
                byte[] sealedBytes = new byte[algorithm.CiphertextLength(msg.Length)];
                aeadKey.Seal(iv, msg, aad, sealedBytes);
                Assert.Equal(Convert.ToHexString(expected), Convert.ToHexString(sealedBytes));
                Assert.True(opened, $"tcId {test.Id()}");
                Assert.Equal(msg, plaintext[..written]);
                valid++;
            }
            else
            {
                Assert.False(opened, $"tcId {test.Id()}");
                Assert.All(plaintext, b => Assert.Equal(0, b));
                invalid++;
            }
        }
        Assert.True(valid > 30, $"only {valid} valid vectors ran");
        Assert.True(invalid > 10, $"only {invalid} invalid vectors ran");
    }

    /// <summary>The CBC half of aes-256-cbc-hmac-sha256: padding is checked exactly as Wycheproof expects.</summary>
    [Fact]
    public void Wycheproof_aes_cbc_pkcs7_vectors_for_256_bit_keys()
    {
        int count = 0;
        foreach ((var group, var test) in Vectors.WycheproofTests("aes_cbc_pkcs5_test.json"))
        {
            if (group.GetProperty("keySize").GetInt32() != 256)
            {
                continue;
            }
            using var aes = System.Security.Cryptography.Aes.Create();
            aes.Key = test.Hex("key");
            byte[] iv = test.Hex("iv");
            byte[] ct = test.Hex("ct");
            byte[] msg = test.Hex("msg");
            byte[] plaintext = new byte[ct.Length + 16];
            bool ok = Aes256CbcHmacSha256Algorithm.TryDecryptCbc(aes, iv, ct, plaintext, out int written);
            if (test.Result() == "valid")
            {
                Assert.True(ok, $"tcId {test.Id()}");
                Assert.Equal(msg, plaintext[..written]);
                byte[] encrypted = new byte[(msg.Length / 16 + 1) * 16];
                Aes256CbcHmacSha256Algorithm.EncryptCbc(aes, iv, msg, encrypted);
                Assert.Equal(ct, encrypted);
            }
            else
            {
                Assert.False(ok, $"tcId {test.Id()}");
            }
            count++;
        }
        Assert.Equal(72, count);
    }

    [Fact]
    public void Wycheproof_hmac_sha256_vectors()
    {
        int count = 0;
        foreach ((var group, var test) in Vectors.WycheproofTests("hmac_sha256_test.json"))
        {
            int tagBytes = group.GetProperty("tagSize").GetInt32() / 8;
            byte[] mac = System.Security.Cryptography.HMACSHA256.HashData(test.Hex("key"), test.Hex("msg"));
            bool matches = System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(mac.AsSpan(0, tagBytes), test.Hex("tag"));
            Assert.Equal(test.Result() == "valid", matches);
            count++;
        }
        Assert.Equal(174, count);
    }
}
