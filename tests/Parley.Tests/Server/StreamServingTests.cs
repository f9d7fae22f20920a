using System.Threading.Channels;
using Parley.Client;
using Parley.Messaging;
using Parley.Protocol;
using Parley.Server.Hosting;
using Parley.Tests.Support;

namespace Parley.Tests.Server;

/// <summary>
/// The server serves any Stream, not only a TCP socket: a client over an in-memory pipe gets the
/// same handshake, login, delivery and limits as one over TCP (what a WebSocket endpoint relies on).
/// </summary>
public class StreamServingTests
{
    [Fact]
    public async Task A_client_over_an_in_memory_stream_logs_in_and_exchanges_messages_with_a_tcp_client()
    {
        await using TestServer server = await TestServer.StartAsync();
        (Stream clientEnd, Stream serverEnd) = DuplexPipe.Create();
        Task served = server.Server.ServeAsync(serverEnd, RemoteParty.Of("192.0.2.10"));

        Channel<ChatMessage> pipeInbox = InboxExtensions.NewInbox();
        await using ChatClient overPipe = await ChatClient.ConnectAsync(clientEnd, server.ClientOptions).WithTimeout();
        overPipe.MessageHandler = m => pipeInbox.Writer.WriteAsync(m);
        Assert.True((await overPipe.LoginAsync("pipe", "correct horse", null).WithTimeout()).Success);

        Channel<ChatMessage> tcpInbox = InboxExtensions.NewInbox();
        await using ChatClient overTcp = await server.LoginAsync("tcp", inbox: tcpInbox);
        Assert.Equal(["pipe", "tcp"], await overTcp.ListAsync().WithTimeout());

        await overTcp.SendTextAsync("pipe", "to the pipe").WithTimeout();
        Assert.Equal("to the pipe", (await pipeInbox.NextAsync()).Text());
        await overPipe.SendTextAsync("tcp", "to the socket").WithTimeout();
        Assert.Equal("to the socket", (await tcpInbox.NextAsync()).Text());

        await overPipe.DisposeAsync();
        await served.WithTimeout();
    }

    [Fact]
    public async Task A_stream_from_a_source_over_its_limit_is_refused_with_a_plaintext_alert()
    {
        await using TestServer server = await TestServer.StartAsync(o => o with { MaxUnauthenticatedPerSource = 1 });
        server.ExpectWarnings = true;
        RemoteParty source = RemoteParty.Of("192.0.2.20");
        (Stream firstClient, Stream firstServer) = DuplexPipe.Create();
        Task first = server.Server.ServeAsync(firstServer, source);

        // The first one has not logged in, so a second from the same source is over the limit.
        (Stream secondClient, Stream secondServer) = DuplexPipe.Create();
        Task second = server.Server.ServeAsync(secondServer, source);
        ParleyProtocolException refused = await Assert.ThrowsAsync<ParleyProtocolException>(() =>
            ChatClient.ConnectAsync(secondClient, server.ClientOptions).WithTimeout());
        Assert.Equal(ProtocolError.ConnectionLimit, refused.Error);
        await second.WithTimeout();

        await firstClient.DisposeAsync();
        await first.WithTimeout();
    }
}
