using System.Buffers.Binary;
using Parley.Protocol;
using Parley.Protocol.Framing;
using Parley.Protocol.Handshake;
using Parley.Tests.Support;
using Parley.Transport.Channels;

namespace Parley.Tests.Transport;

/// <summary>
/// The handshake's last flight shares a write with the first record after it (a server's
/// NewSessionTicket with its first answer, PROTOCOL.md §5.8; a client's Finished with its first
/// record, §5.4), and is written on its own before that side waits for the other, so neither can
/// wait for the other. The client is driven by hand here, so every byte it sends is chosen.
/// </summary>
public sealed class HeldFlightTests : IAsyncDisposable
{
    private readonly SessionTicketKey _ticketKey = SessionTicketKey.Derive("held flight"u8, "ed25519", HandshakeHarness.ServerKey.PublicKey);
    private readonly Stream _client;
    private readonly RecordingStream _server;

    public HeldFlightTests()
    {
        (Stream client, Stream server) = DuplexPipe.Create();
        _client = client;
        _server = new RecordingStream(server);
    }

    public async ValueTask DisposeAsync()
    {
        await _client.DisposeAsync();
        await _server.DisposeAsync();
        _ticketKey.Dispose();
    }

    /// <summary>
    /// A server accepting with tickets on, and the client's half of a full handshake up to its
    /// Finished, which it has not sent yet: the server's accept completes once it has.
    /// </summary>
    private async Task<(Task<SecureChannel> Accepting, ClientHandshakeResult Client)> HandshakeUntilFinishedAsync()
    {
        Task<SecureChannel> accepting = SecureChannel.AcceptAsync(_server, HandshakeHarness.ServerOptions() with { TicketKey = _ticketKey });
        using ClientHandshake client = new(HandshakeHarness.ClientOptions() with { AcceptSessionTickets = true });
        await _client.WriteAsync(client.Start());
        ClientHandshakeStep step = client.ReadMessage(await ReadFrameAsync(_client));
        Assert.NotNull(step.ServerIdentity);
        return (accepting, client.Confirm());
    }

    [Fact]
    public async Task The_servers_ticket_goes_out_in_the_same_write_as_its_first_answer()
    {
        (Task<SecureChannel> accepting, ClientHandshakeResult result) = await HandshakeUntilFinishedAsync();
        using SecureSession session = result.Session;
        // Finished and the first record in one write, as a client that logs in at once sends them.
        await _client.WriteAsync((byte[])[.. result.Send, .. session.Seal(MessageType.ApplicationData, "login"u8)]);
        await using SecureChannel server = await accepting.WithTimeout();

        Assert.Equal("login"u8.ToArray(), await server.ReceiveAsync().AsTask().WithTimeout());
        await server.SendAsync("welcome"u8.ToArray()).AsTask().WithTimeout();

        Assert.Equal([[MessageType.ServerHello], [MessageType.NewSessionTicket, MessageType.ApplicationData]], _server.Writes());
        Assert.Equal(MessageType.NewSessionTicket, session.Open(await ReadFrameAsync(_client)).Type);
        (MessageType type, byte[] payload) = session.Open(await ReadFrameAsync(_client));
        Assert.Equal(MessageType.ApplicationData, type);
        Assert.Equal("welcome"u8.ToArray(), payload);
    }

    [Fact]
    public async Task A_server_waiting_for_a_client_that_sent_only_its_Finished_writes_the_ticket_first()
    {
        (Task<SecureChannel> accepting, ClientHandshakeResult result) = await HandshakeUntilFinishedAsync();
        using SecureSession session = result.Session;
        await _client.WriteAsync(result.Send);
        await using SecureChannel server = await accepting.WithTimeout();
        Task<byte[]?> receiving = server.ReceiveAsync().AsTask();

        // A client that reads the server's first record before it says anything gets it while the server waits.
        (MessageType type, _) = session.Open(await ReadFrameAsync(_client).WaitAsync(TestTimeouts.Event));
        Assert.Equal(MessageType.NewSessionTicket, type);
        Assert.False(receiving.IsCompleted);
        await _client.WriteAsync(session.Seal(MessageType.ApplicationData, "now"u8));
        Assert.Equal("now"u8.ToArray(), await receiving.WithTimeout());
        Assert.Equal([[MessageType.ServerHello], [MessageType.NewSessionTicket]], _server.Writes());
    }

    [Fact]
    public async Task A_client_that_sends_nothing_after_its_handshake_still_completes_the_servers()
    {
        (Stream clientEnd, Stream serverEnd) = DuplexPipe.Create();
        Task<SecureChannel> accepting = SecureChannel.AcceptAsync(serverEnd, HandshakeHarness.ServerOptions());
        await using SecureChannel client = await SecureChannel.ConnectAsync(clientEnd,
            new ClientChannelOptions(new TestServer.TrustAnyServer())).WithTimeout();

        // The Finished is held for a first record that never comes: it goes out on its own.
        await using SecureChannel server = await accepting.WithTimeout();
        await server.SendAsync("hello"u8.ToArray()).AsTask().WithTimeout();
        Assert.Equal("hello"u8.ToArray(), await client.ReceiveAsync().AsTask().WithTimeout());
    }

    /// <summary>A client channel as the driver builds it, Finished held, without the thread-pool write: what happens next is the test's choice alone.</summary>
    private async Task<(Task<SecureChannel> Accepting, SecureChannel Client)> ClientHoldingItsFinishedAsync()
    {
        Task<SecureChannel> accepting = SecureChannel.AcceptAsync(_server, HandshakeHarness.ServerOptions());
        using ClientHandshake handshake = new(HandshakeHarness.ClientOptions());
        await _client.WriteAsync(handshake.Start());
        ClientHandshakeStep step = handshake.ReadMessage(await ReadFrameAsync(_client));
        ClientHandshakeResult result = handshake.Confirm();
        return (accepting, SecureChannel.Create(_client, result.Session, new FrameDecoder(), step.ServerIdentity, heldFlight: result.Send));
    }

    [Fact]
    public async Task A_first_send_refused_before_it_is_written_leaves_the_Finished_for_the_next()
    {
        (Task<SecureChannel> accepting, SecureChannel client) = await ClientHoldingItsFinishedAsync();
        await using (client)
        {
            await Assert.ThrowsAsync<ArgumentException>(() => client.SendAsync(new byte[client.MaxMessageLength + 1]).AsTask());
            await client.SendAsync("login"u8.ToArray()).AsTask().WithTimeout();

            await using SecureChannel server = await accepting.WithTimeout();
            Assert.Equal("login"u8.ToArray(), await server.ReceiveAsync().AsTask().WithTimeout());
        }
    }

    [Fact]
    public async Task A_client_disposed_before_its_first_record_still_finishes_the_servers_handshake()
    {
        (Task<SecureChannel> accepting, SecureChannel client) = await ClientHoldingItsFinishedAsync();

        await client.DisposeAsync();

        // The server sees a session that ended (no close_notify: a truncation), not a handshake cut short.
        await using SecureChannel server = await accepting.WithTimeout();
        ParleyProtocolException e = await Assert.ThrowsAsync<ParleyProtocolException>(() => server.ReceiveAsync().AsTask().WithTimeout());
        Assert.Equal(ProtocolError.ConnectionClosed, e.Error);
    }

    private static async Task<byte[]> ReadFrameAsync(Stream stream) => HandshakeHarness.Body(await ReadFrameWithHeaderAsync(stream));

    private static async Task<byte[]> ReadFrameWithHeaderAsync(Stream stream)
    {
        byte[] header = new byte[Frame.HeaderSize];
        await stream.ReadExactlyAsync(header);
        byte[] frame = new byte[Frame.HeaderSize + BinaryPrimitives.ReadInt32BigEndian(header)];
        header.CopyTo(frame, 0);
        await stream.ReadExactlyAsync(frame.AsMemory(Frame.HeaderSize));
        return frame;
    }

    /// <summary>Passes bytes through and remembers, for each write, the type byte of every frame in it.</summary>
    private sealed class RecordingStream(Stream inner) : PassThroughStream(inner)
    {
        private readonly List<byte[]> _writes = [];

        public List<MessageType[]> Writes()
        {
            lock (_writes)
            {
                return [.. _writes.Select(w => HandshakeHarness.SplitFrames(w).Select(f => (MessageType)f[Frame.HeaderSize]).ToArray())];
            }
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            lock (_writes)
            {
                _writes.Add(buffer.ToArray());
            }
            await Inner.WriteAsync(buffer, cancellationToken);
        }
    }
}
