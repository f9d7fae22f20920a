using Parley.Crypto.KeyAgreement;

namespace Parley.Tests.Crypto;

/// <summary>Behaviour every group and implementation must share.</summary>
public class KeyAgreementContractTests
{
    public static TheoryData<string> All() => KeyAgreementRegistry.AllImplementations();

    [Theory]
    [MemberData(nameof(All))]
    public void Both_sides_agree_on_the_same_secret(string implementation)
    {
        KeyAgreementAlgorithm algorithm = KeyAgreementRegistry.Resolve(implementation);
        using KeyAgreementPrivateKey a = algorithm.GenerateKey();
        using KeyAgreementPrivateKey b = algorithm.GenerateKey();
        Assert.Equal(algorithm.PublicKeySize, a.PublicKey.Length);
        using SharedSecret ab = algorithm.Agree(a, b.PublicKey);
        using SharedSecret ba = algorithm.Agree(b, a.PublicKey);
        Assert.Equal(ab.ExportForTesting(), ba.ExportForTesting());
        Assert.Equal(algorithm.SharedSecretSize, ab.ExportForTesting().Length);
    }

    [Theory]
    [MemberData(nameof(All))]
    public void Native_and_managed_implementations_agree(string implementation)
    {
        KeyAgreementAlgorithm algorithm = KeyAgreementRegistry.Resolve(implementation);
        byte[] privateKey = new byte[algorithm.PrivateKeySize];
        privateKey[0] = 0x11;
        privateKey[^1] = 0x42;
        using KeyAgreementPrivateKey peer = algorithm.GenerateKey();
        foreach (KeyAgreementAlgorithm other in KeyAgreementRegistry.Implementations(algorithm.Name))
        {
            using KeyAgreementPrivateKey mine = algorithm.ImportPrivateKey(privateKey);
            using KeyAgreementPrivateKey theirs = other.ImportPrivateKey(privateKey);
            Assert.Equal(mine.PublicKey.ToArray(), theirs.PublicKey.ToArray());
            using SharedSecret s1 = algorithm.Agree(mine, peer.PublicKey);
            using SharedSecret s2 = other.Agree(theirs, peer.PublicKey);
            Assert.Equal(s1.ExportForTesting(), s2.ExportForTesting());
        }
    }

    [Theory]
    [MemberData(nameof(All))]
    public void Wrong_length_public_keys_are_rejected(string implementation)
    {
        KeyAgreementAlgorithm algorithm = KeyAgreementRegistry.Resolve(implementation);
        using KeyAgreementPrivateKey key = algorithm.GenerateKey();
        Assert.Throws<InvalidPublicKeyException>(() => algorithm.Agree(key, new byte[algorithm.PublicKeySize - 1]));
        Assert.Throws<InvalidPublicKeyException>(() => algorithm.Agree(key, new byte[algorithm.PublicKeySize + 1]));
        Assert.Throws<InvalidPublicKeyException>(() => algorithm.Agree(key, []));
    }

    [Theory]
    [MemberData(nameof(All))]
    public void All_zero_public_key_is_rejected(string implementation)
    {
        KeyAgreementAlgorithm algorithm = KeyAgreementRegistry.Resolve(implementation);
        using KeyAgreementPrivateKey key = algorithm.GenerateKey();
        Assert.Throws<InvalidPublicKeyException>(() => algorithm.Agree(key, new byte[algorithm.PublicKeySize]));
    }

    [Theory]
    [MemberData(nameof(All))]
    public void Disposed_keys_cannot_be_used_and_do_not_print_secrets(string implementation)
    {
        KeyAgreementAlgorithm algorithm = KeyAgreementRegistry.Resolve(implementation);
        KeyAgreementPrivateKey key = algorithm.GenerateKey();
        using KeyAgreementPrivateKey peer = algorithm.GenerateKey();
        Assert.DoesNotContain(Convert.ToHexString(key.PublicKey), key.ToString(), StringComparison.OrdinalIgnoreCase);
        key.Dispose();
        Assert.Throws<ObjectDisposedException>(() => algorithm.Agree(key, peer.PublicKey));
    }

    [Fact]
    public void A_key_of_one_group_cannot_be_used_with_another()
    {
        using KeyAgreementPrivateKey key = KeyAgreementAlgorithms.X25519.GenerateKey();
        Assert.Throws<ArgumentException>(() => KeyAgreementAlgorithms.P256.Agree(key, new byte[65]));
    }
}
