using System.Net.Sockets;
using Parley.Crypto.KeyAgreement;
using Parley.Crypto.Signing;
using Parley.Protocol;
using Parley.Protocol.Framing;
using Parley.Protocol.Handshake;
using Parley.Tests.Support;
using Parley.Transport.Channels;
using Parley.Transport.Trust;

namespace Parley.Tests.Transport;

/// <summary>The channel over real loopback sockets.</summary>
public class SecureChannelTests
{
    private sealed class TrustAll : IServerTrust
    {
        public ValueTask<TrustDecision> CheckAsync(PeerIdentity identity, CancellationToken cancellationToken) =>
            ValueTask.FromResult(TrustDecision.Accept("test"));
    }

    private static async Task<(SecureChannel Client, SecureChannel Server)> Connect(Loopback loopback, IServerTrust? trust = null, SigningKey? identity = null, ClientHandshakeOptions? handshake = null)
    {
        (NetworkStream c, NetworkStream s) = await loopback.ConnectAsync();
        Task<SecureChannel> server = SecureChannel.AcceptAsync(s, HandshakeHarness.ServerOptions(identity: identity));
        SecureChannel client = await SecureChannel.ConnectAsync(c, new ClientChannelOptions(trust ?? new TrustAll()) { Handshake = handshake ?? new() }).WithTimeout();
        return (client, await server.WithTimeout());
    }

    [Fact]
    public async Task Messages_flow_both_ways_and_close_notify_ends_cleanly()
    {
        using Loopback loopback = new();
        (SecureChannel client, SecureChannel server) = await Connect(loopback);
        await using (client)
        await using (server)
        {
            Assert.Equal("x25519", client.Group);
            Assert.Equal("aes-256-gcm", server.Suite);
            await client.SendAsync("hello"u8.ToArray());
            Assert.Equal("hello"u8.ToArray(), await server.ReceiveAsync().AsTask().WithTimeout());
            byte[] big = new byte[1 << 20];
            Random.Shared.NextBytes(big);
            Task send = client.SendAsync(big).AsTask();
            Assert.Equal(big, await server.ReceiveAsync().AsTask().WithTimeout());
            await send;
            await server.SendAsync("bye"u8.ToArray());
            Assert.Equal("bye"u8.ToArray(), await client.ReceiveAsync().AsTask().WithTimeout());
            await client.CloseAsync();
            Assert.Null(await server.ReceiveAsync().AsTask().WithTimeout());
        }
    }

    /// <summary>
    /// Records the caller never sees (KeyUpdates) are counted in RecordsRead, which the server's
    /// loops use to take turns on a shared thread (found by review: 32 KeyUpdates before each request
    /// were 33 records of work counted as one).
    /// </summary>
    [Fact]
    public async Task Records_read_count_the_key_updates_the_caller_never_sees()
    {
        using Loopback loopback = new();
        (NetworkStream c, NetworkStream s) = await loopback.ConnectAsync();
        Task<SecureChannel> serverTask = SecureChannel.AcceptAsync(s, HandshakeHarness.ServerOptions());
        await using SecureChannel client = await SecureChannel.ConnectAsync(c, new ClientChannelOptions(new TrustAll())).WithTimeout();
        await using SecureChannel server = await serverTask.WithTimeout();
        await client.SendAsync("first"u8.ToArray());
        Assert.Equal("first"u8.ToArray(), await server.ReceiveAsync().AsTask().WithTimeout());
        long before = server.RecordsRead;

        HandSealedRecords records = new(client.Session.ExportSecretsForTesting().Send, client.Session.SendSequence);
        byte[] frames = [.. records.KeyUpdates(5), .. records.Seal(MessageType.ApplicationData, "after five"u8)];
        await c.WriteAsync(frames);
        Assert.Equal("after five"u8.ToArray(), await server.ReceiveAsync().AsTask().WithTimeout());
        Assert.Equal(before + 6, server.RecordsRead);
    }

    [Fact]
    public async Task Concurrent_senders_are_serialised_and_survive_key_updates()
    {
        using Loopback loopback = new();
        (SecureChannel client, SecureChannel server) = await Connect(loopback);
        await using (client)
        await using (server)
        {
            const int perSender = 500;
            Task[] senders = Enumerable.Range(0, 4).Select(sender => Task.Run(async () =>
            {
                for (int i = 0; i < perSender; i++)
                {
                    if (i % 100 == 0)
                    {
                        client.RequestKeyUpdate();
                    }
                    await client.SendAsync(BitConverter.GetBytes(sender * perSender + i));
                }
            })).ToArray();
            HashSet<int> seen = [];
            for (int i = 0; i < 4 * perSender; i++)
            {
                Assert.True(seen.Add(BitConverter.ToInt32((await server.ReceiveAsync().AsTask().WithTimeout())!)));
            }
            await Task.WhenAll(senders).WithTimeout();
            Assert.Equal(4 * perSender, seen.Count);
        }
    }

    [Fact]
    public async Task An_end_of_stream_without_close_notify_is_a_truncation()
    {
        using Loopback loopback = new();
        (NetworkStream c, NetworkStream s) = await loopback.ConnectAsync();
        Task<SecureChannel> serverTask = SecureChannel.AcceptAsync(s, HandshakeHarness.ServerOptions());
        SecureChannel client = await SecureChannel.ConnectAsync(c, new ClientChannelOptions(new TrustAll())).WithTimeout();
        await using SecureChannel server = await serverTask.WithTimeout();
        c.Socket.Shutdown(SocketShutdown.Send);
        var error = await Assert.ThrowsAsync<ParleyProtocolException>(() => server.ReceiveAsync().AsTask().WithTimeout());
        Assert.Equal(ProtocolError.ConnectionClosed, error.Error);
        await client.DisposeAsync();
    }

    [Fact]
    public async Task A_silent_client_hits_the_handshake_timeout()
    {
        using Loopback loopback = new();
        (NetworkStream c, NetworkStream s) = await loopback.ConnectAsync();
        using (c)
        {
            var error = await Assert.ThrowsAsync<ParleyProtocolException>(() =>
                SecureChannel.AcceptAsync(s, HandshakeHarness.ServerOptions(), TimeSpan.FromMilliseconds(300)).WithTimeout());
            Assert.Equal(ProtocolError.HandshakeTimeout, error.Error);
            Assert.Contains("0.3 s", error.Message);
        }
    }

    [Fact]
    public async Task A_slow_trickle_does_not_extend_the_handshake_deadline()
    {
        using Loopback loopback = new();
        (NetworkStream c, NetworkStream s) = await loopback.ConnectAsync();
        Task<SecureChannel> accept = SecureChannel.AcceptAsync(s, HandshakeHarness.ServerOptions(), TimeSpan.FromMilliseconds(500));
        byte[] hello = new ClientHandshake().Start();
        using CancellationTokenSource stop = new();
        Task trickle = Task.Run(async () =>
        {
            // One byte at a time, each well inside any per-read timeout, never the whole hello in time.
            foreach (byte b in hello)
            {
                if (stop.IsCancellationRequested)
                {
                    return;
                }
                await c.WriteAsync(new[] { b });
                await Task.Delay(50);
            }
        });
        var error = await Assert.ThrowsAsync<ParleyProtocolException>(() => accept.WithTimeout());
        Assert.Equal(ProtocolError.HandshakeTimeout, error.Error);
        stop.Cancel();
        c.Dispose();
    }

    [Theory]
    [InlineData(new byte[] { 0, 0, 0, 0 }, ProtocolError.EmptyFrame)]
    [InlineData(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF }, ProtocolError.FrameTooLarge)]
    [InlineData(new byte[] { 0, 0, 0, 3, 0xDE, 0xAD, 0xBE }, ProtocolError.UnexpectedMessage)]
    [InlineData(new byte[] { 0, 0, 0, 3, 0x01, 0x00, 0x02 }, ProtocolError.UnsupportedVersion)]
    [InlineData(new byte[] { 0, 0, 0, 4, 0x01, 0x00, 0x01, 0x00 }, ProtocolError.Malformed)]
    public async Task Garbage_gets_a_specific_error_and_the_peer_is_told(byte[] garbage, ProtocolError expected)
    {
        using Loopback loopback = new();
        (NetworkStream c, NetworkStream s) = await loopback.ConnectAsync();
        using (c)
        {
            Task<SecureChannel> accept = SecureChannel.AcceptAsync(s, HandshakeHarness.ServerOptions());
            await c.WriteAsync(garbage);
            var error = await Assert.ThrowsAsync<ParleyProtocolException>(() => accept.WithTimeout());
            Assert.Equal(expected, error.Error);
            // The server sent a plaintext alert naming the same error.
            FrameDecoder decoder = new();
            byte[] buffer = new byte[512];
            ReadOnlyMemory<byte> body;
            while (!decoder.TryReadFrame(out body))
            {
                int read = await c.ReadAsync(buffer).AsTask().WithTimeout();
                Assert.NotEqual(0, read);
                decoder.Append(buffer.AsSpan(0, read));
            }
            Alert alert = Alert.DecodePayload(body.Span[1..]);
            Assert.Equal(expected, alert.Error);
        }
    }

    [Fact]
    public async Task A_tampered_record_on_the_wire_closes_with_bad_record_mac()
    {
        using Loopback loopback = new();
        (NetworkStream c, NetworkStream s) = await loopback.ConnectAsync();
        // The client side writes through a proxy stream that flips one bit of the 3rd write it makes
        // (ClientHello; Finished, on its own since the accept below waits for it; then the first application record).
        FlippingStream tampering = new(c, frameToTamper: 2);
        Task<SecureChannel> accept = SecureChannel.AcceptAsync(s, HandshakeHarness.ServerOptions());
        await using SecureChannel client = await SecureChannel.ConnectAsync(tampering, new ClientChannelOptions(new TrustAll())).WithTimeout();
        await using SecureChannel server = await accept.WithTimeout();
        await client.SendAsync("secret"u8.ToArray());
        var error = await Assert.ThrowsAsync<ParleyProtocolException>(() => server.ReceiveAsync().AsTask().WithTimeout());
        Assert.Equal(ProtocolError.BadRecordMac, error.Error);
        // The client learns why.
        var remote = await Assert.ThrowsAsync<ParleyProtocolException>(() => client.ReceiveAsync().AsTask().WithTimeout());
        Assert.True(remote.IsRemote);
        Assert.Equal(ProtocolError.BadRecordMac, remote.Error);
    }

    [Fact]
    public async Task A_refused_server_key_aborts_both_sides_with_untrusted_peer()
    {
        using Loopback loopback = new();
        using TempDirectory temp = new();
        (NetworkStream c, NetworkStream s) = await loopback.ConnectAsync();
        Task<SecureChannel> accept = SecureChannel.AcceptAsync(s, HandshakeHarness.ServerOptions());
        KnownHostsTrust trust = new(new KnownHostsFile(temp.File("known_hosts")), loopback.HostPort);
        var clientError = await Assert.ThrowsAsync<ParleyProtocolException>(() => SecureChannel.ConnectAsync(c, new ClientChannelOptions(trust)).WithTimeout());
        Assert.Equal(ProtocolError.UntrustedPeer, clientError.Error);
        Assert.Contains("--trust-new", clientError.Message);
        var serverError = await Assert.ThrowsAsync<ParleyProtocolException>(() => accept.WithTimeout());
        Assert.True(serverError.IsRemote);
        Assert.Equal(ProtocolError.UntrustedPeer, serverError.Error);
        Assert.False(File.Exists(temp.File("known_hosts")));
    }

    /// <summary>Passes writes through, flipping one bit in the n-th frame written.</summary>
    private sealed class FlippingStream(Stream inner, int frameToTamper) : PassThroughStream(inner)
    {
        private int _frames;

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            // Each WriteAsync from the channel carries whole frames; the first is the one counted.
            if (_frames++ == frameToTamper)
            {
                byte[] copy = buffer.ToArray();
                copy[^1] ^= 0x01;
                return Inner.WriteAsync(copy, cancellationToken);
            }
            return Inner.WriteAsync(buffer, cancellationToken);
        }
    }

    [Fact]
    public async Task A_burst_arrives_whole_and_in_order_through_the_servers_wait_and_the_wait_then_holds_no_buffer()
    {
        using Loopback loopback = new();
        (SecureChannel client, SecureChannel server) = await Connect(loopback);
        await using (client)
        await using (server)
        {
            // Sizes that make reads end anywhere in a record; the server reads after each wake without waiting.
            List<ReadOnlyMemory<byte>> burst = [];
            for (int i = 0; i < 600; i++)
            {
                byte[] message = new byte[1 + (i * 37 % 700)];
                message.AsSpan().Fill(unchecked((byte)i));
                burst.Add(message);
            }
            Task send = client.SendBatchAsync(burst).AsTask();
            for (int i = 0; i < burst.Count; i++)
            {
                await server.WaitForDataAsync().AsTask().WithTimeout();
                ChannelEvent received = await server.ReceiveEventAsync().AsTask().WithTimeout();
                Assert.Equal(burst[i].ToArray(), received.Message);
            }
            await send.WithTimeout();

            // Quiet again: the server waits holding no receive buffer, and the next record still arrives.
            Task wait = server.WaitForDataAsync().AsTask();
            using (CancellationTokenSource deadline = new(TestTimeouts.Event))
            {
                while (server.HoldsReceiveBuffer && !wait.IsCompleted)
                {
                    await Task.Delay(10, deadline.Token);
                }
            }
            Assert.False(wait.IsCompleted);
            Assert.False(server.HoldsReceiveBuffer);
            await client.SendAsync("after"u8.ToArray());
            await wait.WithTimeout();
            Assert.Equal("after"u8.ToArray(), (await server.ReceiveEventAsync().AsTask().WithTimeout()).Message);
        }
    }
}
