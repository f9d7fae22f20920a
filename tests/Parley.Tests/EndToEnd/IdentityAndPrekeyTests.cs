using Parley.EndToEnd;
using Parley.EndToEnd.Identity;
using Parley.EndToEnd.Pqxdh;
using Parley.EndToEnd.Prekeys;
using static Parley.Tests.EndToEnd.E2eTestKit;

namespace Parley.Tests.EndToEnd;

/// <summary>
/// Identities, prekeys and the bundle encoding: round-trips, every length checked, every signature
/// verified before use (fail closed), ML-KEM keys checked as FIPS 203 §7.2 asks.
/// </summary>
public class IdentityAndPrekeyTests
{
    // Offsets in a bundle encoding (PrekeyBundle.cs): version, identity, spk id, spk, spk signature, opk flag...
    private const int SignedPrekeySignatureOffset = 1 + IdentityPublicKey.EncodedSize + 4 + 32;
    private const int WithOpkKemIdOffset = SignedPrekeySignatureOffset + 64 + 1 + 4 + 32;

    [Fact]
    public void An_identity_public_key_round_trips_and_its_binding_verifies()
    {
        using IdentityKeyPair identity = IdentityKeyPair.Generate();
        byte[] encoded = identity.PublicKey.Encode();
        Assert.Equal(IdentityPublicKey.EncodedSize, encoded.Length);
        Assert.Equal(identity.PublicKey, IdentityPublicKey.Decode(encoded));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(40)]
    [InlineData(100)]
    public void A_tampered_identity_key_is_refused(int index)
    {
        using IdentityKeyPair identity = IdentityKeyPair.Generate();
        E2eProtocolException error = Assert.Throws<E2eProtocolException>(() => IdentityPublicKey.Decode(Flip(identity.PublicKey.Encode(), index)));
        Assert.Equal(E2eError.InvalidSignature, error.Error);
    }

    [Fact]
    public void An_exported_identity_imports_to_the_same_public_key()
    {
        using IdentityKeyPair identity = IdentityKeyPair.Generate();
        using IdentityKeyPair imported = IdentityKeyPair.Import(identity.ExportSigningPrivateKey(), identity.ExportAgreementPrivateKey());
        Assert.Equal(identity.PublicKey.Encode(), imported.PublicKey.Encode());
    }

    [Fact]
    public void Stored_prekeys_import_and_are_checked_against_their_owner()
    {
        using ResponderDevice bob = new();
        using IdentityKeyPair mallory = IdentityKeyPair.Generate();
        using SignedPrekeyPair spk = SignedPrekeyPair.Import(bob.Identity.PublicKey, bob.SignedPrekey.Id, bob.SignedPrekey.ExportPrivateKey(), bob.SignedPrekey.Public.Signature);
        Assert.Equal(bob.SignedPrekey.Public.PublicKey.ToArray(), spk.Public.PublicKey.ToArray());
        using KemPrekeyPair kem = KemPrekeyPair.Import(bob.Identity.PublicKey, bob.KemPrekey.Id, bob.KemPrekey.Kind, bob.KemPrekey.ExportSeed(), bob.KemPrekey.Public.Signature);
        Assert.Equal(bob.KemPrekey.Public.PublicKey.ToArray(), kem.Public.PublicKey.ToArray());

        Assert.Equal(E2eError.InvalidSignature, Assert.Throws<E2eProtocolException>(() =>
            SignedPrekeyPair.Import(mallory.PublicKey, bob.SignedPrekey.Id, bob.SignedPrekey.ExportPrivateKey(), bob.SignedPrekey.Public.Signature)).Error);
        Assert.Equal(E2eError.InvalidSignature, Assert.Throws<E2eProtocolException>(() =>
            KemPrekeyPair.Import(bob.Identity.PublicKey, bob.KemPrekey.Id, KemPrekeyKind.LastResort, bob.KemPrekey.ExportSeed(), bob.KemPrekey.Public.Signature)).Error);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_bundle_round_trips_through_its_encoding(bool withOneTimePrekey)
    {
        using ResponderDevice bob = new(withOneTimePrekey: withOneTimePrekey);
        byte[] encoded = bob.Bundle.Encode();
        PrekeyBundle decoded = PrekeyBundle.Decode(encoded);
        decoded.Verify();
        Assert.Equal(encoded, decoded.Encode());
        Assert.Equal(withOneTimePrekey, decoded.OneTimePrekey is not null);
        Assert.True(encoded.Length <= PrekeyBundle.MaxEncodedSize);
    }

    [Fact]
    public void Every_truncation_and_any_trailing_byte_is_malformed()
    {
        using ResponderDevice bob = new();
        byte[] encoded = bob.Bundle.Encode();
        for (int length = 0; length < encoded.Length; length++)
        {
            E2eProtocolException error = Assert.Throws<E2eProtocolException>(() => PrekeyBundle.Decode(encoded.AsSpan(0, length)));
            Assert.True(error.Error is E2eError.MalformedData or E2eError.InvalidKemKey, $"length {length}: {error.Error}");
        }
        Assert.Equal(E2eError.MalformedData, Assert.Throws<E2eProtocolException>(() => PrekeyBundle.Decode([.. encoded, 0])).Error);
    }

    [Fact]
    public void An_oversized_length_field_is_refused_before_allocation()
    {
        using ResponderDevice bob = new();
        byte[] encoded = bob.Bundle.Encode();
        int lengthOffset = WithOpkKemIdOffset + 4 + 1;
        encoded[lengthOffset] = 0xFF;
        encoded[lengthOffset + 1] = 0xFF;
        E2eProtocolException error = Assert.Throws<E2eProtocolException>(() => PrekeyBundle.Decode(encoded));
        Assert.Equal(E2eError.MalformedData, error.Error);
        Assert.Contains("at most 1184", error.Message);
    }

    [Fact]
    public void An_unknown_version_is_named()
    {
        using ResponderDevice bob = new();
        byte[] encoded = bob.Bundle.Encode();
        encoded[0] = 2;
        Assert.Equal(E2eError.UnsupportedVersion, Assert.Throws<E2eProtocolException>(() => PrekeyBundle.Decode(encoded)).Error);
    }

    [Fact]
    public void A_bad_signed_prekey_signature_is_rejected_before_use()
    {
        using ResponderDevice bob = new();
        using IdentityKeyPair alice = IdentityKeyPair.Generate();
        PrekeyBundle forged = PrekeyBundle.Decode(Flip(bob.Bundle.Encode(), SignedPrekeySignatureOffset + 5));
        E2eProtocolException error = Assert.Throws<E2eProtocolException>(() => PqxdhHandshake.Initiate(alice, forged));
        Assert.Equal(E2eError.InvalidSignature, error.Error);
        Assert.Contains("signed prekey", error.Message);
    }

    [Fact]
    public void A_bad_kem_prekey_signature_is_rejected_before_use()
    {
        using ResponderDevice bob = new();
        using IdentityKeyPair alice = IdentityKeyPair.Generate();
        PrekeyBundle forged = PrekeyBundle.Decode(Flip(bob.Bundle.Encode(), -1));
        Assert.Equal(E2eError.InvalidSignature, Assert.Throws<E2eProtocolException>(() => PqxdhHandshake.Initiate(alice, forged)).Error);
    }

    [Fact]
    public void A_server_cannot_relabel_a_one_time_kem_prekey_as_last_resort()
    {
        using ResponderDevice bob = new();
        byte[] encoded = bob.Bundle.Encode();
        encoded[WithOpkKemIdOffset + 4] = (byte)KemPrekeyKind.LastResort;
        Assert.Equal(E2eError.InvalidSignature, Assert.Throws<E2eProtocolException>(() => PrekeyBundle.Decode(encoded).Verify()).Error);
    }

    [Fact]
    public void A_bundle_from_another_identity_is_rejected()
    {
        using ResponderDevice bob = new();
        using IdentityKeyPair mallory = IdentityKeyPair.Generate();
        PrekeyBundle swapped = bob.Bundle with { Identity = mallory.PublicKey };
        Assert.Equal(E2eError.InvalidSignature, Assert.Throws<E2eProtocolException>(swapped.Verify).Error);
    }

    [Fact]
    public void A_kem_key_failing_the_modulus_check_is_refused()
    {
        using ResponderDevice bob = new();
        byte[] key = bob.KemPrekey.Public.PublicKey.ToArray();
        key[0] = 0xFF;
        key[1] |= 0x0F; // first coefficient = 4095 ≥ q
        Assert.Equal(E2eError.InvalidKemKey, Assert.Throws<E2eProtocolException>(() => new KemPrekey(1, KemPrekeyKind.OneTime, key, new byte[64])).Error);
        Assert.Equal(E2eError.InvalidKemKey, Assert.Throws<E2eProtocolException>(() => new KemPrekey(1, KemPrekeyKind.OneTime, key[..^1], new byte[64])).Error);
    }

    [Fact]
    public void ToString_shows_no_key_material()
    {
        using ResponderDevice bob = new();
        string secretHex = Hex(bob.Identity.ExportAgreementPrivateKey());
        string seedHex = Hex(bob.Identity.ExportSigningPrivateKey());
        foreach (object value in new object[] { bob.Identity, bob.SignedPrekey, bob.OneTimePrekey!, bob.KemPrekey, bob.Bundle })
        {
            string text = value.ToString()!.ToLowerInvariant();
            Assert.DoesNotContain(secretHex, text);
            Assert.DoesNotContain(seedHex, text);
        }
    }
}
