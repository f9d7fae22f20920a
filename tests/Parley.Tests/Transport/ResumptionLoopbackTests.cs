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
    public async Task A_client_without_a_ticket_store_gets_no_ticket_record()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using ChatClient plain = await ConnectAndLogInAsync(server, tickets: null);
        Assert.Equal(["alice"], await plain.ListAsync().WithTimeout());
        Assert.False(plain.Resumed);
    }
}
