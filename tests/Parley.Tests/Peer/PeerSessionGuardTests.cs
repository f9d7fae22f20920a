using System.Net;
using System.Net.Sockets;
using Parley.Crypto.Signing;
using Parley.Peer;
using Parley.Protocol.Handshake;
using Parley.Tests.Support;
using Parley.Transport.Channels;

namespace Parley.Tests.Peer;

/// <summary>What a node lets strangers do once it has its one session, and what it prints of theirs.</summary>
public class PeerSessionGuardTests
{
    private static PeerNode Node(SigningKey key, string name, PeerTrust trust, int? listen = null, int? connectTo = null, List<string>? notices = null) =>
        new(new PeerOptions(key, name, trust)
        {
            ListenPort = listen,
            Connect = connectTo is int port ? new DnsEndPoint("127.0.0.1", port) : null,
            ListenAddress = IPAddress.Loopback,
        })
        {
            Notice = n =>
            {
                if (notices is not null)
                {
                    lock (notices)
                    {
                        notices.Add(n);
                    }
                }
            },
        };

    [Fact]
    public async Task Third_parties_during_a_session_get_no_session_and_are_not_pinned()
    {
        using TempDirectory temp = new();
        using SigningKey aliceKey = SignatureAlgorithms.Ed25519.GenerateKey();
        using SigningKey bobKey = SignatureAlgorithms.Ed25519.GenerateKey();
        using SigningKey carolKey = SignatureAlgorithms.Ed25519.GenerateKey();
        using SigningKey daveKey = SignatureAlgorithms.Ed25519.GenerateKey();
        string alicePeers = temp.File("alice-known_peers");
        TaskCompletionSource carolAsked = new(TaskCreationOptions.RunContinuationsAsynchronously);
        TaskCompletionSource sessionStarted = new(TaskCreationOptions.RunContinuationsAsynchronously);
        // Alice knows bob already. She says "yes" to everyone else, but answers carol only after her
        // session with bob exists: a connection that was already at the trust question when the
        // session started. (Questions are asked one at a time; a known peer is never asked.)
        new KnownPeersFile(alicePeers).Add("bob", new PeerIdentity(bobKey.Algorithm, bobKey.PublicKey.ToArray()));
        PeerTrust aliceTrust = new(new KnownPeersFile(alicePeers))
        {
            Prompt = async (name, _, _) =>
            {
                if (name == "carol")
                {
                    carolAsked.TrySetResult();
                    await sessionStarted.Task;
                }
                return true;
            },
        };
        List<string> aliceNotices = [];
        await using PeerNode alice = Node(aliceKey, "alice", aliceTrust, listen: 0, notices: aliceNotices);
        alice.StartListening();
        int port = alice.ListeningPort!.Value;
        Task<PeerSession> aliceSide = alice.EstablishAsync();

        await using PeerNode carol = Node(carolKey, "carol", new PeerTrust(new KnownPeersFile(temp.File("carol-known_peers"))) { TrustNew = true }, connectTo: port);
        Task<PeerSession> carolSide = carol.EstablishAsync();
        await carolAsked.Task.WithTimeout();

        await using PeerNode bob = Node(bobKey, "bob", new PeerTrust(new KnownPeersFile(temp.File("bob-known_peers"))) { TrustNew = true }, connectTo: port);
        await using PeerSession bobSession = await bob.EstablishAsync().WithTimeout();
        await using PeerSession aliceSession = await aliceSide.WithTimeout();
        Assert.Equal("bob", aliceSession.PeerName);
        sessionStarted.SetResult();

        // Carol's late "yes" pins nothing, and she is told why.
        PeerRefusedException carolRefused = await Assert.ThrowsAsync<PeerRefusedException>(() => carolSide.WithTimeout());
        Assert.Contains("already in a session", carolRefused.Message);

        // Dave, arriving after the session started, cannot even connect: alice stopped listening.
        await using PeerNode dave = Node(daveKey, "dave", new PeerTrust(new KnownPeersFile(temp.File("dave-known_peers"))) { TrustNew = true }, connectTo: port);
        PeerConnectException daveRefused = await Assert.ThrowsAsync<PeerConnectException>(() => dave.EstablishAsync().WithTimeout());
        Assert.Contains("connection refused", daveRefused.Message);

        string pinned = File.ReadAllText(alicePeers);
        Assert.Contains("bob ed25519", pinned);
        Assert.DoesNotContain("carol", pinned);
        Assert.DoesNotContain("dave", pinned);
        // The session with bob is untouched.
        await bobSession.SendTextAsync("still here");
        Assert.Equal("still here", Assert.IsType<PeerTextReceived>(await aliceSession.ReceiveAsync().WithTimeout()).Text);
        lock (aliceNotices)
        {
            Assert.Contains(aliceNotices, n => n.Contains("already in a session", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task A_refusal_reason_from_the_peer_is_sanitised_before_anyone_prints_it()
    {
        using TempDirectory temp = new();
        using SigningKey malloryKey = SignatureAlgorithms.Ed25519.GenerateKey();
        using SigningKey bobKey = SignatureAlgorithms.Ed25519.GenerateKey();
        using TcpListener listener = new(IPAddress.Loopback, 0);
        listener.Start();
        // Mallory completes the handshake, then "refuses" with a reason that would retitle the
        // terminal, clear the screen and reverse the text after it.
        Task mallory = Task.Run(async () =>
        {
            using TcpClient client = await listener.AcceptTcpClientAsync();
            await using SecureChannel channel = await SecureChannel.AcceptAsync(client.GetStream(),
                new ServerHandshakeOptions(malloryKey) { RequireClientIdentity = true });
            await channel.SendAsync(PeerCodec.Encode(new PeerBye("\u001b]0;owned\u0007\u001b[2J\u202Etrust me\r\n[*] fake notice")));
            _ = await channel.ReceiveAsync();
        });
        await using PeerNode bob = Node(bobKey, "bob", new PeerTrust(new KnownPeersFile(temp.File("bob-known_peers"))) { TrustNew = true },
            connectTo: ((IPEndPoint)listener.LocalEndpoint).Port);
        PeerRefusedException refused = await Assert.ThrowsAsync<PeerRefusedException>(() => bob.EstablishAsync().WithTimeout());
        Assert.Contains("trust me", refused.Message);
        Assert.DoesNotContain('\u001b', refused.Message);
        Assert.DoesNotContain('\u202E', refused.Message);
        Assert.DoesNotContain('\n', refused.Message);
        await mallory.WithTimeout();
    }
}
