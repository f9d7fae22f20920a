using System.Net;
using System.Net.Sockets;
using Parley.Client;
using Parley.Messaging;
using Parley.Protocol.Handshake;
using Parley.Server.Hosting;
using Parley.Tests.Support;
using Parley.Transport.Channels;

namespace Parley.Tests.Transport;

/// <summary>Session resumption over real sockets against a real server on port 0 (PROTOCOL.md §5.8–§5.9).</summary>
public class ResumptionLoopbackTests
{
    private static async Task<ChatClient> ConnectAndLogInAsync(TestServer server, ISessionTicketStore? tickets, string user = "alice")
    {
        ChatClient client = await ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions with { Tickets = tickets }).WithTimeout();
        LoginResult login = await client.LoginAsync(user, "correct horse", null).WithTimeout();
        Assert.True(login.Success, login.Code);
        return client;
    }

    [Fact]
    public async Task The_second_connection_resumes_from_the_first_ones_ticket_and_the_server_does_not_sign()
    {
        await using TestServer server = await TestServer.StartAsync();
        MemorySessionTicketStore tickets = new();

        await using (ChatClient first = await ConnectAndLogInAsync(server, tickets))
        {
            Assert.False(first.Resumed);
            // The ticket is the server's first record, so it is in the store once the login result is read.
            Assert.True(tickets.HasTicket);
        }
        Assert.Equal(new HandshakeCounts(Full: 1, Resumed: 0), server.Server.Handshakes);

        await using ChatClient second = await ConnectAndLogInAsync(server, tickets);

        Assert.True(second.Resumed);
        Assert.Equal(new HandshakeCounts(Full: 1, Resumed: 1), server.Server.Handshakes);
        Assert.Equal(server.Server.Fingerprint, second.ServerIdentity.Fingerprint);
        Assert.Equal(["alice"], await second.ListAsync().WithTimeout());
        // Single-use: the resumed session brought the next ticket.
        Assert.Equal(2, tickets.Saved);
        Assert.True(tickets.HasTicket);
    }

    [Fact]
    public async Task A_restarted_server_with_the_same_identity_file_still_resumes()
    {
        await using TestServer server = await TestServer.StartAsync();
        MemorySessionTicketStore tickets = new();
        await using (await ConnectAndLogInAsync(server, tickets))
        {
        }
        await server.RestartAsync();

        await using ChatClient resumed = await ConnectAndLogInAsync(server, tickets);

        Assert.True(resumed.Resumed);
        Assert.Equal(new HandshakeCounts(Full: 0, Resumed: 1), server.Server.Handshakes);
    }

    [Fact]
    public async Task A_server_with_session_tickets_off_runs_full_handshakes_and_issues_none()
    {
        MemorySessionTicketStore tickets = new();
        await using (TestServer issuing = await TestServer.StartAsync())
        await using (await ConnectAndLogInAsync(issuing, tickets))
        {
        }
        Assert.True(tickets.HasTicket);
        await using TestServer server = await TestServer.StartAsync(o => o with { SessionTickets = false });

        await using ChatClient client = await ConnectAndLogInAsync(server, tickets);

        Assert.False(client.Resumed);
        Assert.False(tickets.HasTicket);
        Assert.Equal(new HandshakeCounts(Full: 1, Resumed: 0), server.Server.Handshakes);
    }

    [Fact]
    public async Task A_ticket_from_another_server_gets_the_full_signed_handshake()
    {
        MemorySessionTicketStore tickets = new();
        await using (TestServer other = await TestServer.StartAsync())
        await using (await ConnectAndLogInAsync(other, tickets))
        {
        }
        await using TestServer server = await TestServer.StartAsync();

        await using ChatClient client = await ConnectAndLogInAsync(server, tickets);

        Assert.False(client.Resumed);
        Assert.Equal(server.Server.Fingerprint, client.ServerIdentity.Fingerprint);
        Assert.Equal(new HandshakeCounts(Full: 1, Resumed: 0), server.Server.Handshakes);
        Assert.True(tickets.HasTicket);
    }

    [Fact]
    public async Task A_server_from_before_resumption_refuses_the_ticket_and_the_client_connects_again_in_full()
    {
        await using TestServer server = await TestServer.StartAsync();
        MemorySessionTicketStore tickets = new();
        await using (await ConnectAndLogInAsync(server, tickets))
        {
        }
        await using OldServerInFront old = new(server.Port);

        await using ChatClient client = await ChatClient.ConnectAsync("127.0.0.1", old.Port, server.ClientOptions with { Tickets = tickets }).WithTimeout();

        Assert.False(client.Resumed);
        Assert.Equal(1, old.RefusedTickets);
        Assert.True((await client.LoginAsync("alice", "correct horse", null).WithTimeout()).Success);
    }

    /// <summary>
    /// Plays a server from before §5.9 in front of a real one: a ResumingClientHello gets the
    /// plaintext alert unexpected_message, as an old server's parser sends; anything else is relayed.
    /// </summary>
    private sealed class OldServerInFront : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _serving;
        private int _refused;

        public OldServerInFront(int serverPort)
        {
            _listener.Start();
            _serving = Task.Run(() => ServeAsync(serverPort));
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public int RefusedTickets => Volatile.Read(ref _refused);

        private async Task ServeAsync(int serverPort)
        {
            List<Task> relays = [];
            try
            {
                while (true)
                {
                    TcpClient accepted = await _listener.AcceptTcpClientAsync(_stop.Token);
                    relays.Add(Task.Run(async () =>
                    {
                        try
                        {
                            await HandleAsync(accepted, serverPort);
                        }
                        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
                        {
                            // A side went away: nothing to relay any more.
                        }
                    }));
                }
            }
            catch (OperationCanceledException)
            {
            }
            await Task.WhenAll(relays);
        }

        private async Task HandleAsync(TcpClient accepted, int serverPort)
        {
            using (accepted)
            {
                NetworkStream client = accepted.GetStream();
                byte[] header = new byte[4];
                await client.ReadExactlyAsync(header, _stop.Token);
                byte[] body = new byte[System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(header)];
                await client.ReadExactlyAsync(body, _stop.Token);
                if (body[0] == (byte)MessageType.ResumingClientHello)
                {
                    Interlocked.Increment(ref _refused);
                    byte[] reason = "message type 0x04 while waiting for a ClientHello"u8.ToArray();
                    await client.WriteAsync((byte[])[0, 0, 0, (byte)(3 + reason.Length), 0x15, 1, (byte)reason.Length, .. reason], _stop.Token);
                    return;
                }
                using TcpClient upstream = new();
                await upstream.ConnectAsync(IPAddress.Loopback, serverPort, _stop.Token);
                NetworkStream server = upstream.GetStream();
                await server.WriteAsync((byte[])[.. header, .. body], _stop.Token);
                using CancellationTokenSource done = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                Task up = client.CopyToAsync(server, done.Token);
                Task down = server.CopyToAsync(client, done.Token);
                await Task.WhenAny(up, down);
                await done.CancelAsync();
                await Task.WhenAll(up, down).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            await _serving;
            _stop.Dispose();
        }
    }

    [Fact]
    public async Task A_client_without_a_ticket_store_gets_no_ticket_record()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using ChatClient plain = await ConnectAndLogInAsync(server, tickets: null);
        Assert.Equal(["alice"], await plain.ListAsync().WithTimeout());
        Assert.False(plain.Resumed);
    }
}

/// <summary>The client side's bound on NewSessionTicket records (PROTOCOL.md §5.8): one per connection.</summary>
public class PendingTicketTests
{
    [Fact]
    public void A_second_ticket_on_one_connection_is_unexpected_and_the_first_is_kept()
    {
        using ResumptionSecret secret = NewSecret();
        MemorySessionTicketStore store = new();
        PendingTicket pending = new(secret, store, TimeProvider.System);
        byte[] payload = new NewSessionTicket(3600, [7, 7, 7]).Encode();

        pending.Accept(payload);
        Parley.Protocol.ParleyProtocolException e = Assert.Throws<Parley.Protocol.ParleyProtocolException>(() => pending.Accept(payload));

        Assert.Equal(Parley.Protocol.ProtocolError.UnexpectedMessage, e.Error);
        Assert.Equal(1, store.Saved);
        using ResumptionTicket kept = store.Take()!;
        Assert.Equal([7, 7, 7], kept.Ticket);
    }

    /// <summary>A client's resumption secret, from a real handshake (its constructor is the handshake's).</summary>
    private static ResumptionSecret NewSecret()
    {
        using ClientHandshake client = new(HandshakeHarness.ClientOptions() with { AcceptSessionTickets = true });
        using ServerHandshake server = new(HandshakeHarness.ServerOptions());
        ServerHandshakeStep hello = server.ReadMessage(HandshakeHarness.Body(client.Start()));
        client.ReadMessage(HandshakeHarness.Body(hello.Send!));
        ClientHandshakeResult result = client.Confirm();
        result.Session.Dispose();
        return result.Resumption!;
    }
}
