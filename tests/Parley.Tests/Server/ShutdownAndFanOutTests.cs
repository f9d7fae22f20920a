using Parley.Client;
using Parley.Messaging;
using Parley.Protocol;
using Parley.Server.Delivery;
using Parley.Server.Storage;
using Parley.Tests.Support;

namespace Parley.Tests.Server;

/// <summary>The shutdown grace period, presence as the fan-out seam, and the test server's own warning check.</summary>
public class ShutdownAndFanOutTests
{
    [Fact]
    public async Task Stopping_with_a_short_grace_period_ends_logged_in_connections_and_keeps_what_was_sent()
    {
        TestServer server = await TestServer.StartAsync(o => o with { ShutdownGracePeriod = TimeSpan.FromMilliseconds(1) });
        await (await server.LoginAsync("alice")).DisposeAsync();
        // Bob stays connected through the stop: the grace period, not the client, decides when it ends.
        ChatClient bob = await server.LoginAsync("bob");
        await bob.SendMessageAsync("alice", "text/plain", "kept"u8.ToArray()).WithTimeout();
        await server.Server.StopAsync().WithTimeout();
        await bob.DisposeAsync();
        await server.RestartAsync();
        await using (server)
        {
            System.Threading.Channels.Channel<ChatMessage> inbox = InboxExtensions.NewInbox();
            await using ChatClient again = await server.LoginAsync("alice", inbox: inbox);
            Assert.Equal("kept", (await inbox.NextAsync()).Text());
        }
    }

    [Fact]
    public void Presence_is_the_fan_out_and_delivers_only_to_users_online_here()
    {
        IMessageFanOut fanOut = new Presence();
        Assert.False(fanOut.TryDeliver(new StoredMessage(1, "bob", "alice", 0, "text/plain", [1], Broadcast: false)));
    }

    [Fact]
    public async Task The_test_server_fails_a_test_on_a_warning_it_did_not_expect()
    {
        TestServer server = await TestServer.StartAsync(o => o with { MaxConnectionsPerAddress = 1 });
        await using (ChatClient first = await server.LoginAsync("one"))
        {
            ParleyProtocolException refused = await Assert.ThrowsAsync<ParleyProtocolException>(() =>
                ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions).WithTimeout());
            Assert.Equal(ProtocolError.ConnectionLimit, refused.Error);
        }
        Exception failure = await Assert.ThrowsAnyAsync<Exception>(async () => await server.DisposeAsync());
        Assert.Contains("warnings the test did not expect", failure.Message);
    }
}
