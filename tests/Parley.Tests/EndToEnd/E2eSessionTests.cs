using Parley.EndToEnd;
using Parley.EndToEnd.Identity;
using Parley.EndToEnd.Pqxdh;
using Parley.EndToEnd.Session;
using static Parley.Tests.EndToEnd.E2eTestKit;

namespace Parley.Tests.EndToEnd;

/// <summary>The session API: named states, prekey envelopes until the first reply, acceptance that consumes prekeys only on success.</summary>
public class E2eSessionTests
{
    internal static (E2eSession Alice, E2eSession Bob) Establish(ResponderDevice bob, IdentityKeyPair alice)
    {
        E2eSession aliceSession = E2eSession.Initiate(alice, bob.Bundle);
        E2eSessionAcceptance accepted = E2eSession.Accept(bob.Identity, bob.SignedPrekey, bob.OneTimePrekey, bob.KemPrekey, aliceSession.Encrypt(Utf8("hello")));
        Assert.Equal("hello", System.Text.Encoding.UTF8.GetString(accepted.Plaintext));
        return (aliceSession, accepted.Session);
    }

    [Fact]
    public void The_initiator_sends_prekey_envelopes_until_it_decrypts_a_reply()
    {
        using ResponderDevice bob = new();
        using IdentityKeyPair alice = IdentityKeyPair.Generate();
        using E2eSession aliceSession = E2eSession.Initiate(alice, bob.Bundle);
        Assert.Equal(E2eSessionState.AwaitingFirstReply, aliceSession.State);
        Assert.Equal(E2eRole.Initiator, aliceSession.Role);
        byte[] first = aliceSession.Encrypt(Utf8("one"));
        byte[] second = aliceSession.Encrypt(Utf8("two"));
        Assert.Equal((byte)EnvelopeType.PrekeyMessage, first[1]);
        Assert.Equal((byte)EnvelopeType.PrekeyMessage, second[1]);

        PqxdhInitialHeader header = E2eSession.ReadInitialHeader(first);
        Assert.Equal(bob.SignedPrekey.Id, header.SignedPrekeyId);
        E2eSessionAcceptance accepted = E2eSession.Accept(bob.Identity, bob.SignedPrekey, bob.OneTimePrekey, bob.KemPrekey, first);
        using E2eSession bobSession = accepted.Session;
        Assert.Equal(new ConsumedPrekeys(42u, 9u), accepted.ConsumedPrekeys);
        Assert.Equal(E2eSessionState.Established, bobSession.State);
        Assert.Equal(alice.PublicKey, bobSession.TheirIdentity);
        Assert.Equal(Utf8("two"), bobSession.Decrypt(second));

        byte[] reply = bobSession.Encrypt(Utf8("hi"));
        Assert.Equal((byte)EnvelopeType.Message, reply[1]);
        Assert.Equal(Utf8("hi"), aliceSession.Decrypt(reply));
        Assert.Equal(E2eSessionState.Established, aliceSession.State);
        Assert.Equal((byte)EnvelopeType.Message, aliceSession.Encrypt(Utf8("three"))[1]);
    }

    [Fact]
    public void A_session_without_a_one_time_prekey_works_end_to_end()
    {
        using ResponderDevice bob = new(withOneTimePrekey: false);
        using IdentityKeyPair alice = IdentityKeyPair.Generate();
        using E2eSession aliceSession = E2eSession.Initiate(alice, bob.Bundle);
        E2eSessionAcceptance accepted = E2eSession.Accept(bob.Identity, bob.SignedPrekey, null, bob.KemPrekey, aliceSession.Encrypt(Utf8("3-DH")));
        using E2eSession bobSession = accepted.Session;
        Assert.Equal(Utf8("3-DH"), accepted.Plaintext);
        Assert.Equal(new ConsumedPrekeys(null, 9u), accepted.ConsumedPrekeys);
        Assert.Equal(Utf8("back"), aliceSession.Decrypt(bobSession.Encrypt(Utf8("back"))));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(-20)]
    [InlineData(100)]
    public void A_forged_first_message_yields_no_session(int index)
    {
        using ResponderDevice bob = new();
        using IdentityKeyPair alice = IdentityKeyPair.Generate();
        using E2eSession aliceSession = E2eSession.Initiate(alice, bob.Bundle);
        byte[] forged = Flip(aliceSession.Encrypt(Utf8("hello")), index);
        E2eProtocolException error = Assert.Throws<E2eProtocolException>(() =>
            E2eSession.Accept(bob.Identity, bob.SignedPrekey, bob.OneTimePrekey, bob.KemPrekey, forged));
        Assert.True(error.Error is E2eError.DecryptionFailed or E2eError.InvalidSignature, error.Error.ToString());
    }

    [Fact]
    public void A_prekey_envelope_for_another_session_is_a_mismatch()
    {
        using ResponderDevice bob = new();
        using IdentityKeyPair alice = IdentityKeyPair.Generate();
        (E2eSession aliceSession, E2eSession bobSession) = Establish(bob, alice);
        using E2eSession other = E2eSession.Initiate(alice, bob.Bundle);
        byte[] before = bobSession.Serialize();
        Assert.False(bobSession.TryDecrypt(other.Encrypt(Utf8("new")), out _, out E2eError error));
        Assert.Equal(E2eError.SessionMismatch, error);
        Assert.Equal(before, bobSession.Serialize());
        aliceSession.Dispose();
        bobSession.Dispose();
    }

    [Fact]
    public void The_initiator_refuses_prekey_envelopes()
    {
        using ResponderDevice bob = new();
        using IdentityKeyPair alice = IdentityKeyPair.Generate();
        using E2eSession aliceSession = E2eSession.Initiate(alice, bob.Bundle);
        byte[] own = aliceSession.Encrypt(Utf8("to myself"));
        Assert.Equal(E2eError.UnexpectedMessage, Assert.Throws<E2eProtocolException>(() => aliceSession.Decrypt(own)).Error);
    }

    [Fact]
    public void A_session_starts_only_with_a_prekey_envelope()
    {
        using ResponderDevice bob = new();
        using IdentityKeyPair alice = IdentityKeyPair.Generate();
        (E2eSession aliceSession, E2eSession bobSession) = Establish(bob, alice);
        byte[] plain = bobSession.Encrypt(Utf8("x"));
        Assert.Equal(E2eError.UnexpectedMessage, Assert.Throws<E2eProtocolException>(() =>
            E2eSession.Accept(bob.Identity, bob.SignedPrekey, bob.OneTimePrekey, bob.KemPrekey, plain)).Error);
        Assert.Equal(E2eError.UnexpectedMessage, Assert.Throws<E2eProtocolException>(() => E2eSession.ReadInitialHeader(plain)).Error);
        aliceSession.Dispose();
        bobSession.Dispose();
    }

    [Fact]
    public void A_persisted_session_awaiting_its_first_reply_keeps_sending_prekey_envelopes()
    {
        using ResponderDevice bob = new();
        using IdentityKeyPair alice = IdentityKeyPair.Generate();
        using E2eSession aliceSession = E2eSession.Initiate(alice, bob.Bundle);
        using E2eSession restored = E2eSession.Deserialize(aliceSession.Serialize());
        Assert.Equal(E2eSessionState.AwaitingFirstReply, restored.State);
        byte[] envelope = restored.Encrypt(Utf8("after restart"));
        E2eSessionAcceptance accepted = E2eSession.Accept(bob.Identity, bob.SignedPrekey, bob.OneTimePrekey, bob.KemPrekey, envelope);
        using E2eSession bobSession = accepted.Session;
        Assert.Equal(Utf8("after restart"), accepted.Plaintext);
    }

    [Fact]
    public void Corrupt_session_state_is_refused()
    {
        using ResponderDevice bob = new();
        using IdentityKeyPair alice = IdentityKeyPair.Generate();
        (E2eSession aliceSession, E2eSession bobSession) = Establish(bob, alice);
        byte[] state = bobSession.Serialize();
        Assert.Equal(E2eError.UnsupportedVersion, Assert.Throws<E2eProtocolException>(() => E2eSession.Deserialize(Flip(state, 0))).Error);
        Assert.Equal(E2eError.MalformedData, Assert.Throws<E2eProtocolException>(() => E2eSession.Deserialize(state.AsSpan(0, state.Length - 1))).Error);
        Assert.Equal(E2eError.MalformedData, Assert.Throws<E2eProtocolException>(() => E2eSession.Deserialize([.. state, 0])).Error);
        aliceSession.Dispose();
        bobSession.Dispose();
    }
}
