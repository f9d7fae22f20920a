using Parley.Bench;
using Parley.Crypto.KeyAgreement;
using Parley.Protocol.Framing;
using Parley.Protocol.Handshake;

namespace Parley.Tests.Bench;

/// <summary>A storm's key shares are made before it: each is handed out once, owned and wiped by its handshake, and the rest wiped at the end.</summary>
public class PreparedKeySharesTests
{
    private static readonly KeyAgreementAlgorithm X25519 = KeyAgreementAlgorithms.X25519;

    [Fact]
    public void Each_prepared_share_is_handed_out_once_then_handshakes_make_their_own()
    {
        KeyAgreementPrivateKey[] made = [X25519.GenerateKey(), X25519.GenerateKey(), X25519.GenerateKey()];
        using PreparedKeyShares shares = PreparedKeyShares.Of(X25519, made);
        Assert.Equal(3, shares.Remaining);

        KeyAgreementPrivateKey[] taken = [.. Enumerable.Range(0, 4).Select(_ => shares.NewKeyShare(X25519))];

        Assert.Equal(0, shares.Remaining);
        Assert.Equal(made, taken[..3]);
        Assert.DoesNotContain(taken[3], made);
        Assert.Equal(4, taken.Select(k => Convert.ToHexString(k.PublicKey)).Distinct().Count());
        // Handed out, not spent: every share still agrees (the handshake disposes it, not the pool).
        using KeyAgreementPrivateKey peer = X25519.GenerateKey();
        foreach (KeyAgreementPrivateKey share in taken)
        {
            using SharedSecret secret = X25519.Agree(share, peer.PublicKey);
            share.Dispose();
        }
    }

    [Fact]
    public void A_handshake_of_another_group_makes_its_own_share_and_leaves_the_prepared_ones()
    {
        using PreparedKeyShares shares = PreparedKeyShares.Make(X25519, 1);

        using KeyAgreementPrivateKey p256 = shares.NewKeyShare(KeyAgreementAlgorithms.P256);

        Assert.Same(KeyAgreementAlgorithms.P256, p256.Algorithm);
        Assert.Equal(1, shares.Remaining);
    }

    [Fact]
    public void Disposing_the_pool_wipes_the_shares_no_handshake_took_and_not_the_ones_handed_out()
    {
        KeyAgreementPrivateKey[] made = [X25519.GenerateKey(), X25519.GenerateKey(), X25519.GenerateKey()];
        PreparedKeyShares shares = PreparedKeyShares.Of(X25519, made);
        using KeyAgreementPrivateKey taken = shares.NewKeyShare(X25519);

        shares.Dispose();

        Assert.False(taken.IsDisposed);
        Assert.All(made[1..], k => Assert.True(k.IsDisposed));
        Assert.Equal(0, shares.Remaining);
        using KeyAgreementPrivateKey later = shares.NewKeyShare(X25519);
        Assert.DoesNotContain(later, made);
    }

    [Fact]
    public async Task Concurrent_handshakes_never_get_the_same_share()
    {
        const int Count = 2_000;
        using PreparedKeyShares shares = PreparedKeyShares.Make(X25519, Count);
        KeyAgreementPrivateKey[] taken = new KeyAgreementPrivateKey[Count];
        using Barrier start = new(2);

        await Task.WhenAll(Enumerable.Range(0, 2).Select(half => Task.Run(() =>
        {
            start.SignalAndWait();
            for (int i = half; i < Count; i += 2)
            {
                taken[i] = shares.NewKeyShare(X25519);
            }
        })));

        Assert.Equal(0, shares.Remaining);
        Assert.Equal(Count, taken.Distinct(ReferenceEqualityComparer.Instance).Count());
        foreach (KeyAgreementPrivateKey share in taken)
        {
            share.Dispose();
        }
    }

    [Fact]
    public void The_client_hello_carries_the_prepared_share_and_the_handshake_wipes_it()
    {
        KeyAgreementPrivateKey prepared = X25519.GenerateKey();
        byte[] publicKey = prepared.PublicKey.ToArray();
        using PreparedKeyShares shares = PreparedKeyShares.Of(X25519, [prepared]);

        ClientHello hello;
        using (ClientHandshake handshake = new(new ClientHandshakeOptions { Groups = [X25519] }, shares))
        {
            hello = ClientHello.Decode(handshake.Start().AsSpan(Frame.HeaderSize));
        }

        Assert.Equal(publicKey, hello.KeyShare);
        Assert.True(prepared.IsDisposed);
    }
}
