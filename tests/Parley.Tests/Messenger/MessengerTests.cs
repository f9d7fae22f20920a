using System.Threading.Channels;
using Parley.Client;
using Parley.Messaging;
using Parley.Tests.Support;

namespace Parley.Tests.Messenger;

/// <summary>Loopback integration: a real server on port 0, real sockets, several clients.</summary>
public class MessengerTests
{
    [Fact]
    public async Task Online_users_get_messages_at_once_and_list_shows_them()
    {
        await using TestServer server = await TestServer.StartAsync();
        Channel<ChatMessage> aliceInbox = InboxExtensions.NewInbox();
        await using ChatClient alice = await server.LoginAsync("alice", inbox: aliceInbox);
        await using ChatClient bob = await server.LoginAsync("bob");
        Assert.Equal(["alice", "bob"], await alice.ListAsync().WithTimeout());

        SendResult result = await bob.SendTextAsync("alice", "Hello Alice!").WithTimeout();
        Assert.Equal(DeliveryStatus.Delivered, result.Status);
        ChatMessage received = await aliceInbox.NextAsync();
        Assert.Equal("bob", received.From);
        Assert.Equal("Hello Alice!", received.Text());
        Assert.Equal(result.MessageId, received.MessageId);
        Assert.True(received.Timestamp > 0);
    }

    [Fact]
    public async Task Offline_inbox_is_delivered_in_order_after_login()
    {
        await using TestServer server = await TestServer.StartAsync();
        await (await server.LoginAsync("alice")).DisposeAsync();
        await using ChatClient bob = await server.LoginAsync("bob");
        for (int i = 0; i < 50; i++)
        {
            Assert.Equal(DeliveryStatus.Queued, (await bob.SendTextAsync("alice", $"message {i}").WithTimeout()).Status);
        }
        Channel<ChatMessage> inbox = InboxExtensions.NewInbox();
        await using ChatClient alice = await server.LoginAsync("alice", inbox: inbox);
        for (int i = 0; i < 50; i++)
        {
            Assert.Equal($"message {i}", (await inbox.NextAsync()).Text());
        }
    }

    [Fact]
    public async Task Unacknowledged_messages_are_redelivered_and_duplicates_dropped_by_id()
    {
        await using TestServer server = await TestServer.StartAsync();
        await (await server.LoginAsync("alice")).DisposeAsync();
        await using ChatClient bob = await server.LoginAsync("bob");
        long id = (await bob.SendTextAsync("alice", "do not lose me").WithTimeout()).MessageId;

        // Alice's client receives the message and "crashes" before acknowledging it.
        TaskCompletionSource<ChatMessage> seen = new(TaskCreationOptions.RunContinuationsAsynchronously);
        ChatClient crashing = await ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions);
        crashing.MessageHandler = async message =>
        {
            seen.TrySetResult(message);
            await Task.Delay(Timeout.Infinite, CancellationToken.None);
        };
        Assert.True((await crashing.LoginAsync("alice", "correct horse", null).WithTimeout()).Success);
        Assert.Equal(id, (await seen.Task.WithTimeout()).MessageId);
        _ = crashing.DisposeAsync(); // closes the socket; the handler never returned, so no ack was sent

        // The next login gets it again, same id.
        Channel<ChatMessage> again = InboxExtensions.NewInbox();
        ChatClient second = await server.LoginAsync("alice", inbox: again);
        ChatMessage redelivered = await again.NextAsync();
        Assert.Equal(id, redelivered.MessageId);
        Assert.Equal("do not lose me", redelivered.Text());
        await second.DisposeAsync();

        // A client that already saw that id drops the duplicate (but acknowledges it).
        Channel<ChatMessage> third = InboxExtensions.NewInbox();
        await using ChatClient alice = await server.LoginAsync("alice", inbox: third, lastSeen: id);
        await bob.SendTextAsync("alice", "marker").WithTimeout();
        Assert.Equal("marker", (await third.NextAsync()).Text());
    }

    [Fact]
    public async Task A_client_without_a_message_handler_acknowledges_nothing()
    {
        // Regression: the chat used to set its handler after login, so the first inbox message
        // could be acknowledged without ever being shown.
        await using TestServer server = await TestServer.StartAsync();
        await (await server.LoginAsync("alice")).DisposeAsync();
        await using ChatClient bob = await server.LoginAsync("bob");
        await bob.SendTextAsync("alice", "first").WithTimeout();
        ChatClient careless = await server.LoginAsync("alice");
        await careless.ListAsync().WithTimeout(); // the inbox was sent before this reply
        await careless.DisposeAsync();
        Channel<ChatMessage> inbox = InboxExtensions.NewInbox();
        await using ChatClient alice = await server.LoginAsync("alice", inbox: inbox);
        Assert.Equal("first", (await inbox.NextAsync()).Text());
    }

    [Fact]
    public async Task Acknowledged_messages_leave_the_inbox()
    {
        await using TestServer server = await TestServer.StartAsync();
        Channel<ChatMessage> first = InboxExtensions.NewInbox();
        await using ChatClient bob = await server.LoginAsync("bob");
        ChatClient alice = await server.LoginAsync("alice", inbox: first);
        await bob.SendTextAsync("alice", "once").WithTimeout();
        Assert.Equal("once", (await first.NextAsync()).Text());
        await alice.CloseAsync();
        await alice.DisposeAsync();
        // The ack was queued before close_notify; log in again with a fresh client (no memory of ids).
        Channel<ChatMessage> second = InboxExtensions.NewInbox();
        await using ChatClient again = await server.LoginAsync("alice", inbox: second);
        await bob.SendTextAsync("alice", "twice").WithTimeout();
        Assert.Equal("twice", (await second.NextAsync()).Text());
    }

    [Fact]
    public async Task Broadcast_reaches_every_online_user_but_the_sender()
    {
        await using TestServer server = await TestServer.StartAsync();
        Channel<ChatMessage> a = InboxExtensions.NewInbox(), b = InboxExtensions.NewInbox(), c = InboxExtensions.NewInbox();
        await using ChatClient alice = await server.LoginAsync("alice", inbox: a);
        await using ChatClient bob = await server.LoginAsync("bob", inbox: b);
        await using ChatClient carol = await server.LoginAsync("carol", inbox: c);
        Assert.Equal(2, await alice.BroadcastTextAsync("hello all").WithTimeout());
        foreach (Channel<ChatMessage> inbox in new[] { b, c })
        {
            ChatMessage message = await inbox.NextAsync();
            Assert.True(message.Broadcast);
            Assert.Equal("alice", message.From);
            Assert.Equal("hello all", message.Text());
        }
        Assert.False(a.Reader.TryRead(out _));
    }

    [Fact]
    public async Task Wrong_password_gets_one_generic_error()
    {
        await using TestServer server = await TestServer.StartAsync();
        await (await server.LoginAsync("alice", "right password")).DisposeAsync();
        await using ChatClient client = await ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions);
        LoginResult result = await client.LoginAsync("alice", "wrong password", null).WithTimeout();
        Assert.False(result.Success);
        Assert.Equal("invalid username or password", result.Error);
        Assert.Null(result.DeviceToken);
        // The same connection may try again.
        Assert.True((await client.LoginAsync("alice", "right password", null).WithTimeout()).Success);
    }

    [Fact]
    public async Task Repeated_failures_back_off_per_account()
    {
        // The clock stands still: a 1 s back-off must not expire on a slow machine mid-test.
        await using TestServer server = await TestServer.StartAsync(o => o with { Time = new ManualClock() });
        await (await server.LoginAsync("alice", "right password")).DisposeAsync();
        await using ChatClient client = await ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions);
        for (int i = 0; i < 4; i++)
        {
            Assert.Equal("invalid username or password", (await client.LoginAsync("alice", "guess " + i, null).WithTimeout()).Error);
        }
        LoginResult throttled = await client.LoginAsync("alice", "right password", null).WithTimeout();
        Assert.False(throttled.Success);
        Assert.Contains("too many failed logins", throttled.Error);
        Assert.True(throttled.RetryAfterSeconds >= 1);
        // Another account is not affected.
        Assert.True((await client.LoginAsync("bob", "bob's password", null).WithTimeout()).Success);
    }

    [Fact]
    public async Task Repeated_failures_back_off_per_address_across_accounts()
    {
        // Guessing one password each for many accounts from one address is throttled too.
        // The clock stands still: a 1 s back-off must not expire on a slow machine mid-test.
        await using TestServer server = await TestServer.StartAsync(o => o with { Time = new ManualClock() });
        for (int i = 0; i < 12; i++)
        {
            await (await server.LoginAsync($"victim{i}", "victim secret")).DisposeAsync();
        }
        await using ChatClient client = await ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions);
        List<string?> errors = [];
        for (int i = 0; i < 12; i++)
        {
            errors.Add((await client.LoginAsync($"victim{i}", "guess", null).WithTimeout()).Error);
        }
        Assert.All(errors.Take(10), e => Assert.Equal("invalid username or password", e));
        Assert.Contains("too many failed logins", errors[11]);
    }

    [Fact]
    public async Task Invalid_usernames_get_a_specific_error()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using ChatClient client = await ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions);
        LoginResult result = await client.LoginAsync("bad name!", "pw", null).WithTimeout();
        Assert.False(result.Success);
        Assert.Contains("not a valid username", result.Error);
        Assert.Contains("1-32 characters", result.Error);
    }

    [Fact]
    public async Task Unknown_recipient_and_oversize_messages_are_refused_clearly()
    {
        await using TestServer server = await TestServer.StartAsync(o => o with { MaxBodyLength = 1000 });
        await using ChatClient bob = await server.LoginAsync("bob");
        ChatException unknown = await Assert.ThrowsAsync<ChatException>(() => bob.SendTextAsync("nobody", "hi").WithTimeout());
        Assert.Equal(ErrorCodes.UnknownRecipient, unknown.Code);
        Assert.Contains("no user 'nobody'", unknown.Message);
        bob.MaxBodyLength = int.MaxValue; // a client that ignores the advertised limit: the server still refuses
        ChatException large = await Assert.ThrowsAsync<ChatException>(() => bob.SendTextAsync("bob", new string('x', 1001)).WithTimeout());
        Assert.Equal(ErrorCodes.MessageTooLarge, large.Code);
        Assert.Contains("limit is 1000 bytes", large.Message);
        // The connection is still fine.
        Assert.Equal(["bob"], await bob.ListAsync().WithTimeout());
    }

    [Fact]
    public async Task Device_tokens_log_in_without_the_password_and_are_bound_to_their_user()
    {
        await using TestServer server = await TestServer.StartAsync();
        ChatClient first = await ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions);
        LoginResult registered = await first.LoginAsync("alice", "alice password", null).WithTimeout();
        Assert.True(registered.Registered);
        string token = registered.DeviceToken!;
        Assert.Equal(43, token.Length);
        await first.DisposeAsync();

        await using ChatClient second = await ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions);
        LoginResult byToken = await second.LoginAsync("alice", null, token).WithTimeout();
        Assert.True(byToken.Success);
        Assert.Null(byToken.DeviceToken);

        await using ChatClient third = await ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions);
        Assert.Equal("invalid or revoked device token", (await third.LoginAsync("mallory", null, token).WithTimeout()).Error);
        Assert.Equal("invalid or revoked device token", (await third.LoginAsync("alice", null, "garbage").WithTimeout()).Error);
    }

    [Fact]
    public async Task A_second_login_of_the_same_device_replaces_the_first_connection()
    {
        await using TestServer server = await TestServer.StartAsync();
        ChatClient first = await ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions).WithTimeout();
        string token = (await first.LoginAsync("alice", "correct horse", null).WithTimeout()).DeviceToken!;
        TaskCompletionSource<ErrorMessage> notice = new(TaskCreationOptions.RunContinuationsAsynchronously);
        first.NoticeHandler = n => notice.TrySetResult(n);
        await using ChatClient second = await ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions).WithTimeout();
        Assert.True((await second.LoginAsync("alice", null, token).WithTimeout()).Success);
        Assert.Equal(ErrorCodes.LoggedInElsewhere, (await notice.Task.WithTimeout()).Code);
        await first.Completion.WithTimeout();
        await first.DisposeAsync();
        Assert.Equal(["alice"], await second.ListAsync().WithTimeout());
    }

    [Fact]
    public async Task Messages_survive_a_server_restart()
    {
        await using TestServer server = await TestServer.StartAsync();
        await (await server.LoginAsync("alice")).DisposeAsync();
        await using (ChatClient bob = await server.LoginAsync("bob"))
        {
            await bob.SendTextAsync("alice", "kept on disk").WithTimeout();
        }
        await server.RestartAsync();
        Channel<ChatMessage> inbox = InboxExtensions.NewInbox();
        await using ChatClient alice = await server.LoginAsync("alice", inbox: inbox);
        Assert.Equal("kept on disk", (await inbox.NextAsync()).Text());
    }
}
