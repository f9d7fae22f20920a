using System.Threading.Channels;
using Parley.Client;
using Parley.Messaging;
using Parley.Tests.Support;

namespace Parley.Tests.Messenger;

/// <summary>The server says its body limit in login_result; the client refuses larger messages before sending (issue 8, item 3).</summary>
public class ClientBodyLimitTests
{
    [Fact]
    public async Task The_client_learns_a_configured_limit_and_refuses_a_larger_message_without_losing_the_session()
    {
        const int Limit = 1000;
        await using TestServer server = await TestServer.StartAsync(o => o with { MaxBodyLength = Limit });
        Channel<ChatMessage> bobInbox = InboxExtensions.NewInbox();
        await using ChatClient bob = await server.LoginAsync("bob", inbox: bobInbox);
        await using ChatClient alice = await server.LoginAsync("alice");
        Assert.Equal(Limit, alice.MaxBodyLength);

        MessageTooLargeException refused = await Assert.ThrowsAsync<MessageTooLargeException>(() => alice.SendTextAsync("bob", new string('x', Limit + 1)));
        Assert.Equal((Limit + 1, Limit), (refused.Length, refused.Limit));
        await Assert.ThrowsAsync<MessageTooLargeException>(() => alice.BroadcastTextAsync(new string('x', Limit + 1)));

        await alice.SendTextAsync("bob", new string('y', Limit)).WithTimeout();
        Assert.Equal(new string('y', Limit), (await bobInbox.NextAsync()).Text());
    }

    [Fact]
    public async Task The_default_limit_is_sent_too_and_a_100_KB_message_is_refused_before_it_can_break_the_connection()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using ChatClient alice = await server.LoginAsync("alice");
        Assert.Equal(MessengerLimits.DefaultMaxBodyLength, alice.MaxBodyLength);
        await Assert.ThrowsAsync<MessageTooLargeException>(() => alice.SendTextAsync("alice", new string('x', 100 * 1024)));
        Assert.Equal(["alice"], await alice.ListAsync().WithTimeout());
    }
}
