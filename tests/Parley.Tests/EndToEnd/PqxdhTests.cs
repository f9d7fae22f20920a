using Parley.EndToEnd;
using Parley.EndToEnd.Identity;
using Parley.EndToEnd.Pqxdh;
using Parley.EndToEnd.Prekeys;
using static Parley.Tests.EndToEnd.E2eTestKit;

namespace Parley.Tests.EndToEnd;

/// <summary>PQXDH (rev 3) as sans-IO functions: agreement, the 3-DH variant, consumed prekeys, rejected keys.</summary>
public class PqxdhTests
{
    // RFC 7748 low-order points: 0 and 1 (their X25519 result is all zero, which is refused).
    public static TheoryData<string> LowOrderPoints => new()
    {
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
    };

    private static string SharedKeyHex(PqxdhOutcome outcome) => Hex(outcome.SharedKey.ExportForTesting());

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Both_sides_derive_the_same_key_and_associated_data(bool withOneTimePrekey)
    {
        using ResponderDevice bob = new(withOneTimePrekey: withOneTimePrekey);
        using IdentityKeyPair alice = IdentityKeyPair.Generate();
        using PqxdhOutcome initiator = PqxdhHandshake.Initiate(alice, PrekeyBundle.Decode(bob.Bundle.Encode()));
        PqxdhInitialHeader received = PqxdhInitialHeader.Decode(initiator.Header.Encode());
        using PqxdhOutcome responder = PqxdhHandshake.Respond(bob.Identity, received, bob.SignedPrekey, bob.OneTimePrekey, bob.KemPrekey);

        Assert.Equal(SharedKeyHex(initiator), SharedKeyHex(responder));
        Assert.Equal(initiator.AssociatedData.ToArray(), responder.AssociatedData.ToArray());
        Assert.Equal([.. alice.PublicKey.EncodeForAssociatedData(), .. bob.Identity.PublicKey.EncodeForAssociatedData()], initiator.AssociatedData.ToArray());
        Assert.Equal(alice.PublicKey, responder.TheirIdentity);
        Assert.Equal(bob.Identity.PublicKey, initiator.TheirIdentity);
        Assert.Equal(withOneTimePrekey ? 42u : null, received.OneTimePrekeyId);
        Assert.Equal(new ConsumedPrekeys(withOneTimePrekey ? 42u : null, 9u), responder.Consumed);
    }

    [Fact]
    public void Without_a_one_time_prekey_the_header_names_none_and_the_responder_needs_none()
    {
        using ResponderDevice bob = new(withOneTimePrekey: false);
        using IdentityKeyPair alice = IdentityKeyPair.Generate();
        using PqxdhOutcome initiator = PqxdhHandshake.Initiate(alice, bob.Bundle);
        Assert.Null(initiator.Header.OneTimePrekeyId);
        using OneTimePrekeyPair unasked = OneTimePrekeyPair.Generate(42);
        Assert.Equal(E2eError.PrekeyMismatch, Assert.Throws<E2eProtocolException>(() =>
            PqxdhHandshake.Respond(bob.Identity, initiator.Header, bob.SignedPrekey, unasked, bob.KemPrekey)).Error);
    }

    [Fact]
    public void A_last_resort_kem_prekey_is_not_reported_consumed()
    {
        using ResponderDevice bob = new(kemKind: KemPrekeyKind.LastResort);
        using IdentityKeyPair alice = IdentityKeyPair.Generate();
        using PqxdhOutcome initiator = PqxdhHandshake.Initiate(alice, bob.Bundle);
        using PqxdhOutcome responder = PqxdhHandshake.Respond(bob.Identity, initiator.Header, bob.SignedPrekey, bob.OneTimePrekey, bob.KemPrekey);
        Assert.Equal(new ConsumedPrekeys(42u, null), responder.Consumed);
    }

    [Theory]
    [MemberData(nameof(LowOrderPoints))]
    public void A_low_order_signed_prekey_is_rejected_even_when_signed(string point)
    {
        using ResponderDevice bob = new();
        using IdentityKeyPair alice = IdentityKeyPair.Generate();
        byte[] key = Convert.FromHexString(point);
        SignedPrekey evil = new(7, key, bob.Identity.Sign(SignedData.SignedPrekey(7, key)));
        E2eProtocolException error = Assert.Throws<E2eProtocolException>(() => PqxdhHandshake.Initiate(alice, bob.Bundle with { SignedPrekey = evil }));
        Assert.Equal(E2eError.InvalidPublicKey, error.Error);
    }

    [Theory]
    [MemberData(nameof(LowOrderPoints))]
    public void A_low_order_one_time_prekey_is_rejected(string point)
    {
        using ResponderDevice bob = new();
        using IdentityKeyPair alice = IdentityKeyPair.Generate();
        PrekeyBundle evil = bob.Bundle with { OneTimePrekey = new OneTimePrekey(42, Convert.FromHexString(point)) };
        Assert.Equal(E2eError.InvalidPublicKey, Assert.Throws<E2eProtocolException>(() => PqxdhHandshake.Initiate(alice, evil)).Error);
    }

    [Theory]
    [MemberData(nameof(LowOrderPoints))]
    public void A_low_order_ephemeral_key_is_rejected_by_the_responder(string point)
    {
        using ResponderDevice bob = new();
        using IdentityKeyPair alice = IdentityKeyPair.Generate();
        using PqxdhOutcome initiator = PqxdhHandshake.Initiate(alice, bob.Bundle);
        PqxdhInitialHeader h = initiator.Header;
        PqxdhInitialHeader evil = new(h.InitiatorIdentity, Convert.FromHexString(point), h.SignedPrekeyId, h.OneTimePrekeyId, h.KemPrekeyId, h.KemCiphertext);
        Assert.Equal(E2eError.InvalidPublicKey, Assert.Throws<E2eProtocolException>(() =>
            PqxdhHandshake.Respond(bob.Identity, evil, bob.SignedPrekey, bob.OneTimePrekey, bob.KemPrekey)).Error);
    }

    [Fact]
    public void Prekeys_other_than_the_named_ones_are_refused()
    {
        using ResponderDevice bob = new();
        using IdentityKeyPair alice = IdentityKeyPair.Generate();
        using OneTimePrekeyPair other = OneTimePrekeyPair.Generate(43);
        using PqxdhOutcome initiator = PqxdhHandshake.Initiate(alice, bob.Bundle);
        Assert.Equal(E2eError.PrekeyMismatch, Assert.Throws<E2eProtocolException>(() =>
            PqxdhHandshake.Respond(bob.Identity, initiator.Header, bob.SignedPrekey, other, bob.KemPrekey)).Error);
        Assert.Equal(E2eError.PrekeyMismatch, Assert.Throws<E2eProtocolException>(() =>
            PqxdhHandshake.Respond(bob.Identity, initiator.Header, bob.SignedPrekey, null, bob.KemPrekey)).Error);
    }

    [Fact]
    public void A_tampered_kem_ciphertext_gives_the_responder_another_key()
    {
        using ResponderDevice bob = new();
        using IdentityKeyPair alice = IdentityKeyPair.Generate();
        using PqxdhOutcome initiator = PqxdhHandshake.Initiate(alice, bob.Bundle);
        PqxdhInitialHeader tampered = PqxdhInitialHeader.Decode(Flip(initiator.Header.Encode(), -3));
        using PqxdhOutcome responder = PqxdhHandshake.Respond(bob.Identity, tampered, bob.SignedPrekey, bob.OneTimePrekey, bob.KemPrekey);
        Assert.NotEqual(SharedKeyHex(initiator), SharedKeyHex(responder));
    }

    [Fact]
    public void Every_truncated_initial_header_is_malformed()
    {
        using ResponderDevice bob = new();
        using IdentityKeyPair alice = IdentityKeyPair.Generate();
        using PqxdhOutcome initiator = PqxdhHandshake.Initiate(alice, bob.Bundle);
        byte[] encoded = initiator.Header.Encode();
        for (int length = 0; length < encoded.Length; length += 7)
        {
            Assert.Equal(E2eError.MalformedData, Assert.Throws<E2eProtocolException>(() => PqxdhInitialHeader.Decode(encoded.AsSpan(0, length))).Error);
        }
    }
}
