using Parley.Crypto.Kdf;
using Parley.Crypto.Kem;
using Parley.Crypto.KeyAgreement;

namespace Parley.Tests.Crypto;

/// <summary>
/// The X3DH/PQXDH KDF against values computed independently, once, with python3's standard library
/// (hmac + hashlib, RFC 5869 written out by hand):
/// <code>
/// def hkdf(salt, ikm, info, L=32):
///     prk = hmac.new(salt, ikm, hashlib.sha256).digest()
///     okm, t, i = b"", b"", 1
///     while len(okm) &lt; L:
///         t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest(); okm += t; i += 1
///     return okm[:L]
/// dh = [bytes(range(32*i, 32*i+32)) for i in range(4)]   # DH1..DH4
/// ss = bytes(range(0x80, 0xa0))                           # ML-KEM shared secret
/// info = b"Parley_PQXDH_CURVE25519_SHA-256_ML-KEM-768"
/// hkdf(b"\x00"*32, b"\xff"*32 + b"".join(dh[:3]) [+ dh[3]] [+ ss], info).hex()
/// </code>
/// </summary>
public class PqxdhKdfTests
{
    private static SharedSecret Dh(int index) => new(Pattern(32 * index), "x25519");

    private static MlKemSharedSecret Kem() => new(Pattern(0x80));

    private static byte[] Pattern(int start) => Enumerable.Range(start, 32).Select(i => (byte)i).ToArray();

    private static SharedSecret[] Dhs(int count) => Enumerable.Range(0, count).Select(Dh).ToArray();

    private static string Hex(PseudoRandomKey key) => Convert.ToHexString(key.ExportForTesting()).ToLowerInvariant();

    [Theory]
    [InlineData(3, "df9e39782f6dfad2e99579331eb99a5a3de639118b6fea1434a3ab457f48b2dd")]
    [InlineData(4, "b8c6cbe20780bad7a144186cbbc61578c6bd704864f27bcd828d9839c4a7da3d")]
    public void X3dh_matches_the_independently_computed_vectors(int dhCount, string expected)
    {
        SharedSecret[] dh = Dhs(dhCount);
        using PseudoRandomKey sk = PqxdhKdf.DeriveX3dh(PqxdhKdf.ParleyPqxdhInfo, dh);
        Assert.Equal(expected, Hex(sk));
    }

    [Theory]
    [InlineData(3, "ebd3e17df7eef96d020e17c68744090a88b278f28cd27b2a36d313d0dd0c5839")]
    [InlineData(4, "71aab1612103495c3d60e6c2f08f76035d8cdfe6f01d84680d7efe6df8a6fd20")]
    public void Pqxdh_matches_the_independently_computed_vectors(int dhCount, string expected)
    {
        SharedSecret[] dh = Dhs(dhCount);
        using MlKemSharedSecret kem = Kem();
        using PseudoRandomKey sk = PqxdhKdf.DerivePqxdh(PqxdhKdf.ParleyPqxdhInfo, dh, kem);
        Assert.Equal(expected, Hex(sk));
    }

    [Fact]
    public void The_info_string_separates_protocols()
    {
        using MlKemSharedSecret kem = Kem();
        using PseudoRandomKey sk = PqxdhKdf.DerivePqxdh("MyProtocol"u8, Dhs(4), kem);
        Assert.Equal("c2a63b7d5509f08270ebe848bfe6801699cb07e4c49d35b75ca34432a1d2aa11", Hex(sk));
    }

    [Fact]
    public void The_order_of_the_secrets_matters()
    {
        SharedSecret[] dh = Dhs(3);
        using PseudoRandomKey inOrder = PqxdhKdf.DeriveX3dh(PqxdhKdf.ParleyPqxdhInfo, dh);
        using PseudoRandomKey swapped = PqxdhKdf.DeriveX3dh(PqxdhKdf.ParleyPqxdhInfo, [dh[1], dh[0], dh[2]]);
        Assert.NotEqual(Hex(inOrder), Hex(swapped));
    }

    [Fact]
    public void Real_x25519_agreements_give_both_sides_the_same_key()
    {
        KeyAgreementAlgorithm x25519 = KeyAgreementAlgorithms.X25519;
        using KeyAgreementPrivateKey aliceIdentity = x25519.GenerateKey(), aliceEphemeral = x25519.GenerateKey();
        using KeyAgreementPrivateKey bobIdentity = x25519.GenerateKey(), bobSignedPrekey = x25519.GenerateKey();
        SharedSecret[] alice =
        [
            x25519.Agree(aliceIdentity, bobSignedPrekey.PublicKey),
            x25519.Agree(aliceEphemeral, bobIdentity.PublicKey),
            x25519.Agree(aliceEphemeral, bobSignedPrekey.PublicKey),
        ];
        SharedSecret[] bob =
        [
            x25519.Agree(bobSignedPrekey, aliceIdentity.PublicKey),
            x25519.Agree(bobIdentity, aliceEphemeral.PublicKey),
            x25519.Agree(bobSignedPrekey, aliceEphemeral.PublicKey),
        ];
        using PseudoRandomKey aliceKey = PqxdhKdf.DeriveX3dh(PqxdhKdf.ParleyPqxdhInfo, alice);
        using PseudoRandomKey bobKey = PqxdhKdf.DeriveX3dh(PqxdhKdf.ParleyPqxdhInfo, bob);
        Assert.Equal(Hex(aliceKey), Hex(bobKey));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(5)]
    public void Only_three_or_four_diffie_hellman_secrets_are_accepted(int count)
    {
        var error = Assert.Throws<ArgumentException>(() => PqxdhKdf.DeriveX3dh(PqxdhKdf.ParleyPqxdhInfo, Dhs(count)));
        Assert.Contains("3 or 4", error.Message);
    }

    [Fact]
    public void Secrets_from_another_group_are_refused()
    {
        SharedSecret[] dh = [Dh(0), Dh(1), new SharedSecret(Pattern(64), "p256")];
        var error = Assert.Throws<ArgumentException>(() => PqxdhKdf.DeriveX3dh(PqxdhKdf.ParleyPqxdhInfo, dh));
        Assert.Contains("p256", error.Message);
    }

    [Fact]
    public void An_empty_info_string_is_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => PqxdhKdf.DeriveX3dh([], Dhs(3)));
        Assert.Contains("info", error.Message);
    }

    [Fact]
    public void A_disposed_input_secret_throws()
    {
        SharedSecret[] dh = Dhs(3);
        dh[2].Dispose();
        Assert.Throws<ObjectDisposedException>(() => PqxdhKdf.DeriveX3dh(PqxdhKdf.ParleyPqxdhInfo, dh));

        MlKemSharedSecret kem = Kem();
        kem.Dispose();
        Assert.Throws<ObjectDisposedException>(() => PqxdhKdf.DerivePqxdh(PqxdhKdf.ParleyPqxdhInfo, Dhs(3), kem));
    }

    [Fact]
    public void The_concatenation_buffer_is_wiped_after_use()
    {
        byte[] scratch = new byte[PqxdhKdf.MaxInputKeyingMaterialSize];
        byte[] output = new byte[PqxdhKdf.OutputSize];
        using MlKemSharedSecret kem = Kem();
        PqxdhKdf.DeriveCore(PqxdhKdf.ParleyPqxdhInfo, Dhs(4), kem, scratch, output);
        Assert.Equal("71aab1612103495c3d60e6c2f08f76035d8cdfe6f01d84680d7efe6df8a6fd20", Convert.ToHexString(output).ToLowerInvariant());
        Assert.All(scratch, b => Assert.Equal(0, b));
    }

    [Fact]
    public void The_concatenation_buffer_is_wiped_when_an_input_is_refused()
    {
        byte[] scratch = new byte[PqxdhKdf.MaxInputKeyingMaterialSize];
        SharedSecret[] dh = [Dh(0), Dh(1), new SharedSecret(Pattern(64), "p256")];
        Assert.Throws<ArgumentException>(() => PqxdhKdf.DeriveCore(PqxdhKdf.ParleyPqxdhInfo, dh, null, scratch, new byte[PqxdhKdf.OutputSize]));
        Assert.All(scratch, b => Assert.Equal(0, b));
    }

    [Fact]
    public void An_ml_kem_secret_must_be_32_bytes()
    {
        Assert.Throws<ArgumentException>(() => new MlKemSharedSecret(new byte[31]));
    }
}
