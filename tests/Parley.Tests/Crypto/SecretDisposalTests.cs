using System.Reflection;
using Parley.Crypto.Kdf;
using Parley.Crypto.Kem;
using Parley.Crypto.KeyAgreement;
using Parley.Crypto.Signing;
using Parley.Protocol;

namespace Parley.Tests.Crypto;

/// <summary>
/// Every secret type throws once disposed, and Dispose really zeroes the bytes it held: the tests
/// read the private buffers by reflection (taken before Dispose, inspected after), so they check
/// the memory itself rather than trusting an accessor that might copy.
/// </summary>
public class SecretDisposalTests
{
    private static readonly byte[] s_label = "test label"u8.ToArray();

    /// <summary>The byte arrays a secret object itself declares (not its public-key base fields).</summary>
    private static byte[][] OwnBuffers(object secret)
    {
        byte[][] buffers = secret.GetType()
            .GetFields(BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.DeclaredOnly)
            .Where(f => f.FieldType == typeof(byte[]))
            .Select(f => (byte[])f.GetValue(secret)!)
            .ToArray();
        Assert.NotEmpty(buffers);
        Assert.All(buffers, b => Assert.Contains(b, x => x != 0));
        return buffers;
    }

    private static void AssertWiped(byte[][] buffers) =>
        Assert.All(buffers, buffer => Assert.All(buffer, b => Assert.Equal(0, b)));

    private static PseudoRandomKey NewPrk() => PseudoRandomKey.FromUniformSecret(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());

    [Fact]
    public void Traffic_secret_is_wiped_and_unusable_after_dispose()
    {
        using PseudoRandomKey prk = NewPrk();
        TrafficSecret secret = TrafficSecret.Expand(prk, s_label);
        byte[][] buffers = OwnBuffers(secret);

        secret.Dispose();

        AssertWiped(buffers);
        Assert.Throws<ObjectDisposedException>(() => secret.Next());
        Assert.Throws<ObjectDisposedException>(() => secret.DeriveKey(Parley.Crypto.Aead.AeadAlgorithms.All[0], new byte[12]));
        Assert.Throws<ObjectDisposedException>(() => secret.ExportForTesting());
        secret.Dispose();
    }

    [Fact]
    public void Traffic_secret_of_the_previous_epoch_fails_closed_after_a_key_update()
    {
        using PseudoRandomKey prk = NewPrk();
        TrafficSecret current = TrafficSecret.Expand(prk, s_label);
        using TrafficSecret next = current.Next();
        current.Dispose();
        Assert.Throws<ObjectDisposedException>(() => current.Next());
        Assert.NotNull(next.Next());
    }

    [Fact]
    public void Pseudorandom_key_is_wiped_and_unusable_after_dispose()
    {
        PseudoRandomKey prk = NewPrk();
        byte[][] buffers = OwnBuffers(prk);

        prk.Dispose();

        AssertWiped(buffers);
        Assert.Throws<ObjectDisposedException>(() => prk.Expand(s_label, new byte[32]));
        Assert.Throws<ObjectDisposedException>(() => prk.ExportForTesting());
    }

    public static TheoryData<string> AllGroups() => KeyAgreementRegistry.AllImplementations();

    [Theory]
    [MemberData(nameof(AllGroups))]
    public void Shared_secret_is_wiped_and_unusable_after_dispose(string implementation)
    {
        KeyAgreementAlgorithm algorithm = KeyAgreementRegistry.Resolve(implementation);
        using KeyAgreementPrivateKey a = algorithm.GenerateKey();
        using KeyAgreementPrivateKey b = algorithm.GenerateKey();
        SharedSecret secret = algorithm.Agree(a, b.PublicKey);
        Assert.Equal(algorithm.Name, secret.Group);
        byte[][] buffers = OwnBuffers(secret);

        secret.Dispose();

        AssertWiped(buffers);
        Assert.Throws<ObjectDisposedException>(() => secret.Extract([]));
        Assert.Throws<ObjectDisposedException>(() => secret.ExportForTesting());
    }

    [Fact]
    public void Ml_kem_shared_secret_is_wiped_and_unusable_after_dispose()
    {
        MlKemSharedSecret secret = new(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());
        byte[][] buffers = OwnBuffers(secret);

        secret.Dispose();

        AssertWiped(buffers);
        Assert.Throws<ObjectDisposedException>(() => secret.Secret.Length);
    }

    /// <summary>The x25519 implementations that keep the scalar in a managed array (BouncyCastle's, and libsodium's through a pinned one).</summary>
    public static TheoryData<string> X25519ScalarInManagedMemory() =>
        new(KeyAgreementRegistry.Implementations("x25519").Select(a => a.Implementation).Where(i => i is "managed" or "sodium"));

    [Theory]
    [MemberData(nameof(X25519ScalarInManagedMemory))]
    public void X25519_private_key_held_in_managed_memory_is_wiped_on_dispose(string implementation)
    {
        KeyAgreementAlgorithm managed = KeyAgreementRegistry.Implementations("x25519").Single(a => a.Implementation == implementation);
        KeyAgreementPrivateKey key = managed.GenerateKey();
        byte[][] buffers = OwnBuffers(key);

        key.Dispose();

        AssertWiped(buffers);
        using KeyAgreementPrivateKey peer = managed.GenerateKey();
        Assert.Throws<ObjectDisposedException>(() => managed.Agree(key, peer.PublicKey));
    }

    /// <summary>The implementations that hold the seed in a managed array; libsodium keeps it in its own guarded memory.</summary>
    public static TheoryData<string> Ed25519ManagedMemoryImplementations() =>
        new(SignatureAlgorithms.Ed25519Implementations.Select(a => a.Implementation).Where(i => i != "sodium"));

    [Theory]
    [MemberData(nameof(Ed25519ManagedMemoryImplementations))]
    public void Ed25519_seed_is_wiped_on_dispose(string implementation)
    {
        SignatureAlgorithm ed25519 = SignatureAlgorithms.Ed25519Implementations.Single(a => a.Implementation == implementation);
        SigningKey key = ed25519.GenerateKey();
        byte[][] buffers = OwnBuffers(key);

        key.Dispose();

        AssertWiped(buffers);
        Assert.Throws<ObjectDisposedException>(() => key.Sign("data"u8));
    }

    [Fact]
    public void Every_ed25519_key_is_unusable_after_dispose()
    {
        foreach (SignatureAlgorithm ed25519 in SignatureAlgorithms.Ed25519Implementations)
        {
            SigningKey key = ed25519.GenerateKey(Parley.Crypto.KeyExportPolicy.AllowExport);
            key.Dispose();
            Assert.Throws<ObjectDisposedException>(() => key.Sign("data"u8));
            Assert.Throws<ObjectDisposedException>(() => key.ExportPrivateKey());
        }
    }

    public static TheoryData<string> AeadSuites() => new(Parley.Crypto.Aead.AeadAlgorithms.All.Select(a => a.Name));

    [Theory]
    [MemberData(nameof(AeadSuites))]
    public void Aead_keys_are_unusable_after_dispose(string suite)
    {
        Parley.Crypto.Aead.AeadAlgorithm algorithm = Parley.Crypto.Aead.AeadAlgorithms.Get(suite);
        Parley.Crypto.Aead.AeadKey key = algorithm.CreateKey(new byte[algorithm.KeySize]);
        byte[] nonce = new byte[Parley.Crypto.Aead.AeadAlgorithm.NonceSize];
        byte[] ciphertext = new byte[algorithm.CiphertextLength(4)];
        key.Seal(nonce, "data"u8, [], ciphertext);

        key.Dispose();

        Assert.Throws<ObjectDisposedException>(() => key.Seal(nonce, "data"u8, [], ciphertext));
        Assert.Throws<ObjectDisposedException>(() => key.TryOpen(nonce, ciphertext, [], new byte[ciphertext.Length], out _));
    }
}
