using System.Buffers.Binary;
using System.Net.Sockets;
using Parley.Crypto.Aead;
using Parley.Crypto.Signing;
using Parley.Protocol;
using Parley.Protocol.Framing;
using Parley.Protocol.Handshake;
using Parley.Tests.Support;

namespace Parley.Tests.Protocol;

/// <summary>
/// Issue 8.2: until the client's Finished the server accepts only handshake-sized frames, so an
/// unauthenticated peer cannot make it reserve a record's worth of memory.
/// </summary>
public class PreFinishedLimitTests
{
    // Under the messenger's and the default record limit, far above any handshake record.
    private const int OversizeLength = 50_000;

    private static byte[] Header(int length)
    {
        byte[] header = new byte[Frame.HeaderSize];
        BinaryPrimitives.WriteInt32BigEndian(header, length);
        return header;
    }

    [Fact]
    public void A_record_sized_frame_before_Finished_is_frame_too_large_without_allocating_it()
    {
        using ClientHandshake client = new(HandshakeHarness.ClientOptions());
        using ServerHandshake server = new(HandshakeHarness.ServerOptions());
        server.ReadMessage(HandshakeHarness.Body(client.Start()));
        Assert.Equal(ServerHandshakeState.WaitFinished, server.State);

        FrameDecoder decoder = new(server.MaxMessageLength, initialCapacity: 64);
        decoder.Append(Header(OversizeLength));
        long before = GC.GetAllocatedBytesForCurrentThread();
        ParleyProtocolException error = Assert.Throws<ParleyProtocolException>(() => decoder.TryReadFrame(out _));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(ProtocolError.FrameTooLarge, error.Error);
        Assert.True(allocated < 16 * 1024, $"{allocated} bytes allocated for a refused frame");
    }

    [Theory]
    [InlineData("aes-256-gcm")]
    [InlineData("chacha20-poly1305")]
    [InlineData("aes-256-cbc-hmac-sha256")]
    public void The_largest_legal_ClientIdentity_and_Finished_still_fit(string suiteName)
    {
        // ECDSA P-256 has the largest key of §2.3; CBC the largest expansion.
        AeadAlgorithm suite = AeadAlgorithms.All.Single(s => s.Name == suiteName);
        using SigningKey clientKey = SignatureAlgorithms.EcdsaP256.GenerateKey();
        using ClientHandshake client = new(HandshakeHarness.ClientOptions(suite: suite) with { Identity = clientKey });
        using ServerHandshake server = new(HandshakeHarness.ServerOptions(suite: suite) with { RequireClientIdentity = true });
        ServerHandshakeStep step = server.ReadMessage(HandshakeHarness.Body(client.Start()));
        client.ReadMessage(HandshakeHarness.Body(step.Send!));
        ClientHandshakeResult result = client.Confirm();
        using SecureSession clientSession = result.Session;

        FrameDecoder decoder = new(Frame.MaxHandshakeBodyLength);
        decoder.Append(result.Send);
        while (server.State != ServerHandshakeState.Complete)
        {
            decoder.MaxBodyLength = server.MaxMessageLength;
            Assert.True(server.MaxMessageLength < 512, $"limit {server.MaxMessageLength} before Finished");
            Assert.True(decoder.TryReadFrame(out ReadOnlyMemory<byte> body));
            step = server.ReadMessage(body.Span);
        }
        step.Session!.Dispose();
        Assert.Equal(clientKey.PublicKey.ToArray(), step.ClientIdentity!.PublicKey);
    }

    [Fact]
    public async Task A_server_answers_an_oversize_frame_before_Finished_with_frame_too_large()
    {
        await using TestServer server = await TestServer.StartAsync();
        using TcpClient tcp = new();
        await tcp.ConnectAsync("127.0.0.1", server.Port);
        NetworkStream stream = tcp.GetStream();
        using ClientHandshake client = new(HandshakeHarness.ClientOptions());
        await stream.WriteAsync(client.Start());
        FrameDecoder decoder = new();
        ReadOnlyMemory<byte> serverHello = await ReadFrameAsync(stream, decoder);
        Assert.NotNull(client.ReadMessage(serverHello.Span).ServerIdentity);

        // Claims a 50 kB record in place of Finished, and sends a little of it.
        byte[] claim = [.. Header(OversizeLength), .. new byte[100]];
        await stream.WriteAsync(claim);
        ReadOnlyMemory<byte> reply = await ReadFrameAsync(stream, decoder);

        Assert.Equal((byte)MessageType.Alert, reply.Span[0]);
        Assert.Equal(ProtocolError.FrameTooLarge, Alert.DecodePayload(reply.Span[1..]).Error);
    }

    private static async Task<ReadOnlyMemory<byte>> ReadFrameAsync(NetworkStream stream, FrameDecoder decoder)
    {
        using CancellationTokenSource timeout = new(TestTimeouts.Event);
        while (true)
        {
            if (decoder.TryReadFrame(out ReadOnlyMemory<byte> body))
            {
                return body.ToArray();
            }
            int read = await stream.ReadAsync(decoder.GetBuffer(), timeout.Token);
            Assert.NotEqual(0, read);
            decoder.Advance(read);
        }
    }
}
