using System.Net;
using System.Net.Sockets;
using Parley.Crypto.Signing;
using Parley.Peer;
using Parley.Protocol.Handshake;
using Parley.Tests.Support;
using Parley.Transport.Channels;

namespace Parley.Tests.Peer;

/// <summary>The session-start deadline runs on <see cref="PeerOptions.Time"/>, so it is tested on a fake clock.</summary>
public class PeerDeadlineTests
{
    [Fact]
    public async Task A_peer_that_goes_silent_after_the_handshake_is_dropped_when_the_fake_clock_passes_the_deadline()
    {
        using TempDirectory temp = new();
        using SigningKey silentKey = SignatureAlgorithms.Ed25519.GenerateKey();
        using SigningKey bobKey = SignatureAlgorithms.Ed25519.GenerateKey();
        using TcpListener listener = new(IPAddress.Loopback, 0);
        listener.Start();
        TaskCompletionSource heardHello = new(TaskCreationOptions.RunContinuationsAsynchronously);
        TaskCompletionSource release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        Task silent = Task.Run(async () =>
        {
            using TcpClient client = await listener.AcceptTcpClientAsync();
            await using SecureChannel channel = await SecureChannel.AcceptAsync(client.GetStream(),
                new ServerHandshakeOptions(silentKey) { RequireClientIdentity = true });
            _ = await channel.ReceiveAsync();
            heardHello.SetResult();
            await release.Task;
        });
        ManualClock clock = new();
        // An hour on the wall clock would outlast the test's own timeout: only the fake clock can end this wait.
        await using PeerNode bob = new(new PeerOptions(bobKey, "bob", new PeerTrust(new KnownPeersFile(temp.File("bob-known_peers"))) { TrustNew = true })
        {
            Connect = new DnsEndPoint("127.0.0.1", ((IPEndPoint)listener.LocalEndpoint).Port),
            HandshakeTimeout = TimeSpan.FromHours(1),
            Time = clock,
        });
        Task<PeerSession> establishing = bob.EstablishAsync();
        await heardHello.Task.WithTimeout();
        Assert.False(establishing.IsCompleted);

        // Bob arms the deadline just after sending his hello; advancing again covers a timer armed after an earlier step.
        using CancellationTokenSource giveUp = new(TestTimeouts.Event);
        while (!establishing.IsCompleted && !giveUp.IsCancellationRequested)
        {
            clock.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));
            await Task.WhenAny(establishing, Task.Delay(TimeSpan.FromMilliseconds(20), giveUp.Token));
        }
        PeerProtocolException error = await Assert.ThrowsAsync<PeerProtocolException>(() => establishing.WithTimeout());
        Assert.IsType<OperationCanceledException>(error.InnerException, exactMatch: false);
        release.SetResult();
        await silent.WithTimeout();
    }
}
