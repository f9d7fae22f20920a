using Parley.Crypto;
using Parley.Crypto.KeyAgreement;
using Parley.Crypto.Signing;
using Parley.Tests.Support;
using Parley.Transport.Identity;

namespace Parley.Tests.Crypto;

/// <summary>Private keys leave their object only when created or imported with KeyExportPolicy.AllowExport.</summary>
public class KeyExportPolicyTests
{
    public static TheoryData<string> SignatureAlgorithmNames() => new(SignatureAlgorithms.All.Select(a => a.Name));

    public static TheoryData<string> KeyAgreementImplementations() => KeyAgreementRegistry.AllImplementations();

    [Theory]
    [MemberData(nameof(SignatureAlgorithmNames))]
    public void Signing_keys_are_not_exportable_by_default(string name)
    {
        SignatureAlgorithm algorithm = SignatureAlgorithms.Get(name);
        using SigningKey generated = algorithm.GenerateKey();
        Assert.Equal(KeyExportPolicy.None, generated.ExportPolicy);
        var error = Assert.Throws<InvalidOperationException>(() => generated.ExportPrivateKey());
        Assert.Contains("AllowExport", error.Message);

        using SigningKey exportable = algorithm.GenerateKey(KeyExportPolicy.AllowExport);
        byte[] encoding = exportable.ExportPrivateKey();
        using SigningKey imported = algorithm.ImportPrivateKey(encoding);
        Assert.Equal(exportable.PublicKey.ToArray(), imported.PublicKey.ToArray());
        Assert.Throws<InvalidOperationException>(() => imported.ExportPrivateKey());
    }

    [Theory]
    [MemberData(nameof(SignatureAlgorithmNames))]
    public void Signing_keys_imported_with_allow_export_round_trip_exactly(string name)
    {
        SignatureAlgorithm algorithm = SignatureAlgorithms.Get(name);
        using SigningKey original = algorithm.GenerateKey(KeyExportPolicy.AllowExport);
        byte[] encoding = original.ExportPrivateKey();
        using SigningKey imported = algorithm.ImportPrivateKey(encoding, KeyExportPolicy.AllowExport);
        Assert.Equal(KeyExportPolicy.AllowExport, imported.ExportPolicy);
        Assert.Equal(encoding, imported.ExportPrivateKey());
        Assert.True(algorithm.Verify(original.PublicKey, "data"u8, imported.Sign("data"u8)));
    }

    [Theory]
    [MemberData(nameof(KeyAgreementImplementations))]
    public void Key_agreement_keys_are_not_exportable_by_default(string implementation)
    {
        KeyAgreementAlgorithm algorithm = KeyAgreementRegistry.Resolve(implementation);
        using KeyAgreementPrivateKey ephemeral = algorithm.GenerateKey();
        Assert.Equal(KeyExportPolicy.None, ephemeral.ExportPolicy);
        var error = Assert.Throws<InvalidOperationException>(() => ephemeral.ExportPrivateKey());
        Assert.Contains("AllowExport", error.Message);
    }

    [Theory]
    [MemberData(nameof(KeyAgreementImplementations))]
    public void Exported_prekeys_import_to_the_same_key(string implementation)
    {
        KeyAgreementAlgorithm algorithm = KeyAgreementRegistry.Resolve(implementation);
        using KeyAgreementPrivateKey prekey = algorithm.GenerateKey(KeyExportPolicy.AllowExport);
        using KeyAgreementPrivateKey peer = algorithm.GenerateKey();
        byte[] stored = prekey.ExportPrivateKey();

        using KeyAgreementPrivateKey restored = algorithm.ImportPrivateKey(stored, KeyExportPolicy.AllowExport);

        Assert.Equal(prekey.PublicKey.ToArray(), restored.PublicKey.ToArray());
        Assert.Equal(stored, restored.ExportPrivateKey());
        using SharedSecret before = algorithm.Agree(prekey, peer.PublicKey);
        using SharedSecret after = algorithm.Agree(restored, peer.PublicKey);
        Assert.Equal(before.ExportForTesting(), after.ExportForTesting());
    }

    [Theory]
    [MemberData(nameof(KeyAgreementImplementations))]
    public void Native_and_managed_export_the_same_encoding(string implementation)
    {
        KeyAgreementAlgorithm algorithm = KeyAgreementRegistry.Resolve(implementation);
        using KeyAgreementPrivateKey key = algorithm.GenerateKey(KeyExportPolicy.AllowExport);
        byte[] encoding = key.ExportPrivateKey();
        foreach (KeyAgreementAlgorithm other in KeyAgreementRegistry.Implementations(algorithm.Name))
        {
            using KeyAgreementPrivateKey twin = other.ImportPrivateKey(encoding, KeyExportPolicy.AllowExport);
            Assert.Equal(key.PublicKey.ToArray(), twin.PublicKey.ToArray());
            Assert.Equal(encoding, twin.ExportPrivateKey());
        }
    }

    [Fact]
    public void Exporting_a_disposed_key_throws_object_disposed()
    {
        SigningKey signing = SignatureAlgorithms.Ed25519.GenerateKey(KeyExportPolicy.AllowExport);
        signing.Dispose();
        Assert.Throws<ObjectDisposedException>(() => signing.ExportPrivateKey());

        KeyAgreementPrivateKey prekey = KeyAgreementAlgorithms.X25519.GenerateKey(KeyExportPolicy.AllowExport);
        prekey.Dispose();
        Assert.Throws<ObjectDisposedException>(() => prekey.ExportPrivateKey());
    }

    [Fact]
    public void An_unknown_policy_value_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => SignatureAlgorithms.Ed25519.GenerateKey((KeyExportPolicy)7));
        Assert.Throws<ArgumentOutOfRangeException>(() => SignatureAlgorithms.Ed25519.ImportPrivateKey(new byte[32], (KeyExportPolicy)7));
        Assert.Throws<ArgumentOutOfRangeException>(() => KeyAgreementAlgorithms.X25519.GenerateKey((KeyExportPolicy)(-1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => KeyAgreementAlgorithms.X25519.ImportPrivateKey(new byte[32], (KeyExportPolicy)2));
    }

    public static TheoryData<string, string> InvalidPrivateKeys() => new()
    {
        { "ed25519", "00" },
        { "ecdsa-p256-sha256", new string('0', 64) },
        { "ecdsa-p256-sha256", new string('F', 64) },
        { "ecdsa-p256-sha256", "01" },
    };

    [Theory]
    [MemberData(nameof(InvalidPrivateKeys))]
    public void Importing_an_invalid_signing_key_fails_whatever_the_policy(string name, string hex)
    {
        SignatureAlgorithm algorithm = SignatureAlgorithms.Get(name);
        Assert.Throws<ArgumentException>(() => algorithm.ImportPrivateKey(Convert.FromHexString(hex), KeyExportPolicy.AllowExport));
    }

    public static TheoryData<string, string> InvalidPrekeys() => new()
    {
        { "x25519", new string('0', 62) },
        { "p256", new string('0', 64) },
        { "p256", new string('F', 64) },
        { "modp2048", "01" },
    };

    [Theory]
    [MemberData(nameof(InvalidPrekeys))]
    public void Importing_an_invalid_key_agreement_key_fails_in_every_implementation(string group, string hex)
    {
        foreach (KeyAgreementAlgorithm algorithm in KeyAgreementRegistry.Implementations(group))
        {
            Assert.Throws<ArgumentException>(() => algorithm.ImportPrivateKey(Convert.FromHexString(hex), KeyExportPolicy.AllowExport));
        }
    }

    [Fact]
    public void An_identity_file_cannot_be_written_from_a_non_exportable_key()
    {
        using TempDirectory temp = new();
        using SigningKey key = SignatureAlgorithms.Ed25519.GenerateKey();
        string path = temp.File("id.key");
        Assert.Throws<InvalidOperationException>(() => IdentityFile.Write(path, key));
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void A_loaded_identity_is_usable_but_not_exportable()
    {
        using TempDirectory temp = new();
        using SigningKey key = IdentityFile.LoadOrCreate(temp.File("id.key"), SignatureAlgorithms.Ed25519, out bool created);
        Assert.True(created);
        Assert.True(key.Algorithm.Verify(key.PublicKey, "data"u8, key.Sign("data"u8)));
        Assert.Throws<InvalidOperationException>(() => key.ExportPrivateKey());
    }

    [Theory]
    [MemberData(nameof(KeyAgreementImplementations))]
    public void A_stored_prekey_pair_imports_only_when_its_halves_match(string implementation)
    {
        KeyAgreementAlgorithm algorithm = KeyAgreementRegistry.Resolve(implementation);
        using KeyAgreementPrivateKey prekey = algorithm.GenerateKey(KeyExportPolicy.AllowExport);
        using KeyAgreementPrivateKey other = algorithm.GenerateKey();
        byte[] stored = prekey.ExportPrivateKey();

        using KeyAgreementPrivateKey restored = algorithm.ImportKeyPair(stored, prekey.PublicKey, KeyExportPolicy.AllowExport);
        Assert.Equal(stored, restored.ExportPrivateKey());

        var error = Assert.Throws<ArgumentException>(() => algorithm.ImportKeyPair(stored, other.PublicKey));
        Assert.Contains("does not belong", error.Message);
    }

    [Theory]
    [MemberData(nameof(SignatureAlgorithmNames))]
    public void A_stored_signing_key_pair_imports_only_when_its_halves_match(string name)
    {
        SignatureAlgorithm algorithm = SignatureAlgorithms.Get(name);
        using SigningKey key = algorithm.GenerateKey(KeyExportPolicy.AllowExport);
        using SigningKey other = algorithm.GenerateKey();
        byte[] stored = key.ExportPrivateKey();

        using SigningKey restored = algorithm.ImportKeyPair(stored, key.PublicKey);
        Assert.Equal(key.PublicKey.ToArray(), restored.PublicKey.ToArray());
        Assert.Equal(KeyExportPolicy.None, restored.ExportPolicy);

        var error = Assert.Throws<ArgumentException>(() => algorithm.ImportKeyPair(stored, other.PublicKey));
        Assert.Contains("does not belong", error.Message);
        Assert.Throws<ArgumentException>(() => algorithm.ImportKeyPair(stored, key.PublicKey[..^1]));
    }
}
