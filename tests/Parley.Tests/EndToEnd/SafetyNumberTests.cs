using Parley.EndToEnd.Identity;
using Parley.EndToEnd.SafetyNumbers;
using static Parley.Tests.EndToEnd.E2eTestKit;

namespace Parley.Tests.EndToEnd;

/// <summary>
/// Safety numbers: the generic algorithm against Signal's published vector (libsignal-protocol-c
/// tests/test_fingerprint.c, test_vectors: 5200 iterations, Curve25519 keys with the 0x05 prefix,
/// stable ids "+14152222222" and "+14153333333"), then applied to Parley identities.
/// </summary>
public class SafetyNumberTests
{
    private const string SignalAliceKey = "0506863bc66d02b40d27b8d49ca7c09e9239236f9d7d25d6fcca5ce13c7064d868";
    private const string SignalBobKey = "05f781b6fb32fed9ba1cf2de978d4d5da28dc34046ae814402b5c0dbd96fda907b";
    private const string SignalDisplayable = "300354477692869396892869876765458257569162576843440918079131";

    [Fact]
    public void The_generic_algorithm_reproduces_signals_vector_from_both_sides()
    {
        byte[] alice = Convert.FromHexString(SignalAliceKey), bob = Convert.FromHexString(SignalBobKey);
        Assert.Equal(SignalDisplayable, SafetyNumber.Compute(alice, Utf8("+14152222222"), bob, Utf8("+14153333333")));
        Assert.Equal(SignalDisplayable, SafetyNumber.Compute(bob, Utf8("+14153333333"), alice, Utf8("+14152222222")));
        Assert.Equal(SignalDisplayable[..30], SafetyNumber.Half(alice, Utf8("+14152222222")));
    }

    [Fact]
    public void Both_sides_of_a_parley_session_see_the_same_sixty_digits()
    {
        using IdentityKeyPair alice = IdentityKeyPair.Generate(), bob = IdentityKeyPair.Generate();
        string fromAlice = SafetyNumber.ForIdentities(alice.PublicKey, "alice", bob.PublicKey, "bob");
        string fromBob = SafetyNumber.ForIdentities(bob.PublicKey, "bob", alice.PublicKey, "alice");
        Assert.Equal(fromAlice, fromBob);
        Assert.Equal(SafetyNumber.Digits, fromAlice.Length);
        Assert.All(fromAlice, c => Assert.InRange(c, '0', '9'));
        Assert.Equal(12, SafetyNumber.Format(fromAlice).Split(' ').Length);
    }

    [Fact]
    public void A_different_key_or_username_changes_the_number()
    {
        using IdentityKeyPair alice = IdentityKeyPair.Generate(), bob = IdentityKeyPair.Generate(), mallory = IdentityKeyPair.Generate();
        string genuine = SafetyNumber.ForIdentities(alice.PublicKey, "alice", bob.PublicKey, "bob");
        Assert.NotEqual(genuine, SafetyNumber.ForIdentities(alice.PublicKey, "alice", mallory.PublicKey, "bob"));
        Assert.NotEqual(genuine, SafetyNumber.ForIdentities(alice.PublicKey, "alice", bob.PublicKey, "bob2"));
    }
}
