using System.Threading.Channels;
using Parley.Client;
using Parley.Messaging;
using Parley.Tests.Support;

namespace Parley.Tests.Server;

/// <summary>
/// Devices are first-class: one user online on two devices at once, each with its own connection,
/// inbox cursor and acknowledgements; a message may be for the account or for one device alone.
/// </summary>
public class DevicesOnlineTests
{
    private static async Task<(ChatClient Client, string DeviceId)> LoginDeviceAsync(TestServer server, string user, Channel<ChatMessage> inbox)
    {
        (ChatClient client, string deviceId, _) = await LoginDeviceWithTokenAsync(server, user, inbox);
        return (client, deviceId);
    }

    /// <summary>A password login makes a new device; logging in again with its token is the same device.</summary>
    private static async Task<(ChatClient Client, string DeviceId, string Token)> LoginDeviceWithTokenAsync(TestServer server, string user,
        Channel<ChatMessage> inbox, string? token = null)
    {
        ChatClient client = await ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions).WithTimeout();
        client.MessageHandler = m => inbox.Writer.WriteAsync(m);
        LoginResult result = await client.LoginAsync(user, token is null ? "correct horse" : null, token).WithTimeout();
        Assert.True(result.Success, result.Error);
        return (client, result.DeviceId!, token ?? result.DeviceToken!);
    }

    [Fact]
    public async Task Two_devices_of_one_user_stay_online_together_and_both_receive_a_message_to_the_account()
    {
        await using TestServer server = await TestServer.StartAsync();
        Channel<ChatMessage> phoneInbox = InboxExtensions.NewInbox();
        Channel<ChatMessage> laptopInbox = InboxExtensions.NewInbox();
        (ChatClient phone, string phoneId) = await LoginDeviceAsync(server, "alice", phoneInbox);
        (ChatClient laptop, string laptopId) = await LoginDeviceAsync(server, "alice", laptopInbox);
        await using (phone)
        await using (laptop)
        {
            Assert.NotEqual(phoneId, laptopId);
            await using ChatClient bob = await server.LoginAsync("bob");
            Assert.Equal(["alice", "bob"], await bob.ListAsync().WithTimeout());

            SendResult sent = await bob.SendTextAsync("alice", "to both").WithTimeout();
            Assert.Equal(DeliveryStatus.Delivered, sent.Status);
            Assert.Equal("to both", (await phoneInbox.NextAsync()).Text());
            Assert.Equal("to both", (await laptopInbox.NextAsync()).Text());
            // Neither connection was replaced: each still answers.
            Assert.Equal(["alice", "bob"], await phone.ListAsync().WithTimeout());
            Assert.Equal(["alice", "bob"], await laptop.ListAsync().WithTimeout());
        }
    }

    [Fact]
    public async Task A_message_to_one_device_reaches_that_device_only_live_and_from_the_inbox()
    {
        await using TestServer server = await TestServer.StartAsync();
        Channel<ChatMessage> phoneInbox = InboxExtensions.NewInbox();
        Channel<ChatMessage> laptopInbox = InboxExtensions.NewInbox();
        (ChatClient phone, string phoneId, string phoneToken) = await LoginDeviceWithTokenAsync(server, "alice", phoneInbox);
        (ChatClient laptop, string laptopId, string laptopToken) = await LoginDeviceWithTokenAsync(server, "alice", laptopInbox);
        await using ChatClient bob = await server.LoginAsync("bob");

        await bob.SendToDeviceAsync("alice", phoneId, "text/plain", "phone only"u8.ToArray()).WithTimeout();
        await bob.SendToDeviceAsync("alice", laptopId, "text/plain", "laptop only"u8.ToArray()).WithTimeout();
        ChatMessage onPhone = await phoneInbox.NextAsync();
        Assert.Equal("phone only", onPhone.Text());
        Assert.Equal(phoneId, onPhone.ToDevice);
        ChatMessage onLaptop = await laptopInbox.NextAsync();
        Assert.Equal("laptop only", onLaptop.Text());
        Assert.Equal(laptopId, onLaptop.ToDevice);
        await phone.DisposeAsync();
        await laptop.DisposeAsync();

        // Offline now: one for the phone, one for the account. The laptop sees only the second;
        // the phone, logging in after it, still gets its own.
        await bob.SendToDeviceAsync("alice", phoneId, "text/plain", "queued for the phone"u8.ToArray()).WithTimeout();
        await bob.SendTextAsync("alice", "for the account").WithTimeout();
        Channel<ChatMessage> laptopAgain = InboxExtensions.NewInbox();
        (ChatClient laptop2, _, _) = await LoginDeviceWithTokenAsync(server, "alice", laptopAgain, laptopToken);
        await using (laptop2)
        {
            ChatMessage first = await laptopAgain.NextAsync();
            Assert.Equal("for the account", first.Text());
            Assert.Null(first.ToDevice);
            // The list round trip comes after the inbox: had the phone's message been sent here, it would be in by now.
            await laptop2.ListAsync().WithTimeout();
            Assert.False(laptopAgain.Reader.TryRead(out ChatMessage? extra), $"the laptop got '{extra?.Text()}'");
        }
        Channel<ChatMessage> phoneAgain = InboxExtensions.NewInbox();
        (ChatClient phone2, _, _) = await LoginDeviceWithTokenAsync(server, "alice", phoneAgain, phoneToken);
        await using (phone2)
        {
            Assert.Equal("queued for the phone", (await phoneAgain.NextAsync()).Text());
        }
    }

    [Fact]
    public async Task An_acknowledgement_from_one_device_cannot_remove_another_devices_message()
    {
        await using TestServer server = await TestServer.StartAsync();
        (ChatClient phone, string phoneId) = await LoginDeviceAsync(server, "alice", InboxExtensions.NewInbox());
        await phone.DisposeAsync();
        await using RawMessenger laptop = await RawMessenger.LoginAsync(server, "alice");
        await using ChatClient bob = await server.LoginAsync("bob");
        SendResult forPhone = await bob.SendToDeviceAsync("alice", phoneId, "text/plain", "phone only"u8.ToArray()).WithTimeout();

        // The laptop guesses the phone's message id and acknowledges it; a barrier (a send that
        // commits after it) proves the ack was processed.
        await laptop.SendRawAsync(new AckRequest([forPhone.MessageId]));
        Assert.IsType<SendResult>(await laptop.SendAsync("bob", [1]));
        Assert.Equal(1, await StoredMessages.CountForAsync(server, "alice"));
    }

    [Fact]
    public async Task A_message_to_a_device_the_recipient_does_not_have_is_refused()
    {
        await using TestServer server = await TestServer.StartAsync();
        (ChatClient alice, string aliceDevice) = await LoginDeviceAsync(server, "alice", InboxExtensions.NewInbox());
        await using (alice)
        {
            await using ChatClient bob = await server.LoginAsync("bob");
            ChatException unknown = await Assert.ThrowsAsync<ChatException>(() =>
                bob.SendToDeviceAsync("alice", "0123456789ab", "text/plain", [1]).WithTimeout());
            Assert.Equal(ErrorCodes.UnknownDevice, unknown.Code);
            ChatException malformed = await Assert.ThrowsAsync<ChatException>(() =>
                bob.SendToDeviceAsync("alice", "\u001b[2Jnot-an-id", "text/plain", [1]).WithTimeout());
            Assert.Equal(ErrorCodes.UnknownDevice, malformed.Code);
            Assert.DoesNotContain('\u001b', malformed.Message);
            // Bob's own device id is no device of alice's.
            ChatException other = await Assert.ThrowsAsync<ChatException>(() =>
                bob.SendToDeviceAsync("bob", aliceDevice, "text/plain", [1]).WithTimeout());
            Assert.Equal(ErrorCodes.UnknownDevice, other.Code);
        }
    }

    [Fact]
    public async Task Revoking_an_offline_device_leaves_the_others_online_and_the_sweep_drops_its_messages()
    {
        ManualClock clock = new();
        await using TestServer server = await TestServer.StartAsync(o => o with { Time = clock });
        Channel<ChatMessage> laptopInbox = InboxExtensions.NewInbox();
        (ChatClient phone, string phoneId) = await LoginDeviceAsync(server, "alice", InboxExtensions.NewInbox());
        await phone.DisposeAsync();
        (ChatClient laptop, _) = await LoginDeviceAsync(server, "alice", laptopInbox);
        await using (laptop)
        {
            await using ChatClient bob = await server.LoginAsync("bob");
            await bob.SendToDeviceAsync("alice", phoneId, "text/plain", "never read"u8.ToArray()).WithTimeout();
            Assert.Equal(1, await StoredMessages.CountForAsync(server, "alice"));

            await laptop.RevokeDeviceAsync(phoneId).WithTimeout();
            // The laptop's own connection goes on.
            Assert.Equal(["alice", "bob"], await laptop.ListAsync().WithTimeout());
            Task swept = server.Server.Maintenance.NextSweep;
            clock.Advance(TimeSpan.FromHours(1));
            await swept.WithTimeout();
            Assert.Equal(0, await StoredMessages.CountForAsync(server, "alice"));
        }
    }
}
