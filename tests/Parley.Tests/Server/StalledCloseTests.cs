using System.Threading.Channels;
using Parley.Client;
using Parley.Messaging;
using Parley.Server.Delivery;
using Parley.Tests.Support;
using Parley.Transport.Channels;

namespace Parley.Tests.Server;

/// <summary>
/// A connection the server closes (its device revoked, logged in elsewhere) whose client has
/// stopped reading: the notice cannot be written, yet nothing the client sends after the close is
/// handled, and it is cut off after <see cref="ClientConnection.CloseGrace"/>. Found by review: the
/// writer stayed in a socket write for ever, and a revoked device went on sending as the account.
/// </summary>
public class StalledCloseTests
{
    private static async Task<(SecureChannel Channel, string DeviceId)> RawLoginAsync(TestServer server, string user)
    {
        System.Net.Sockets.TcpClient tcp = new();
        await tcp.ConnectAsync("127.0.0.1", server.Port);
        SecureChannel channel = await SecureChannel.ConnectAsync(tcp.GetStream(), server.ClientOptions).WithTimeout();
        await channel.SendAsync(MessengerCodec.Encode(new LoginRequest(user, "correct horse", null)));
        LoginResult result = Assert.IsType<LoginResult>(MessengerCodec.DecodeServer((await channel.ReceiveAsync().AsTask().WithTimeout())!));
        Assert.True(result.Success, result.Error);
        return (channel, result.DeviceId!);
    }

    [Fact]
    public async Task A_revoked_device_that_stopped_reading_can_no_longer_send_and_is_cut_off()
    {
        ManualClock clock = new();
        await using TestServer server = await TestServer.StartAsync(o => o with
        {
            Time = clock, OutboxCapacity = 16, SenderByteBurst = 256L * 1024 * 1024,
        });
        await (await server.LoginAsync("bob")).DisposeAsync();

        // A stolen device of alice's: it logs in, then never reads again.
        (SecureChannel thief, string thiefDevice) = await RawLoginAsync(server, "alice");
        await using (thief)
        {
            Assert.True(server.Server.Presence.TryGetDevice("alice", thiefDevice, out ClientConnection connection));
            // Messages to alice fill its socket, then its outbox.
            await using ChatClient flood = await server.LoginAsync("flood");
            string big = new('x', 60_000);
            while (connection.OutboxCount < 16)
            {
                await flood.SendTextAsync("alice", big).WithTimeout();
            }

            // The owner revokes it; then it sends as alice.
            await using ChatClient alice = await server.LoginAsync("alice");
            await alice.RevokeDeviceAsync(thiefDevice).WithTimeout();
            await thief.SendAsync(MessengerCodec.Encode(new SendRequest(1, "bob", "text/plain", "sent after the revocation"u8.ToArray())));
            await thief.SendAsync(MessengerCodec.Encode(new SendRequest(2, "bob", "text/plain", "and again"u8.ToArray())));

            // It cannot take the notice; after the grace it is cut off.
            clock.Advance(ClientConnection.CloseGrace);
            await TestTimeouts.UntilAsync(() => !server.Server.Presence.TryGetDevice("alice", thiefDevice, out _));

            Channel<ChatMessage> bobInbox = InboxExtensions.NewInbox();
            await using ChatClient bob = await server.LoginAsync("bob", inbox: bobInbox);
            await flood.SendTextAsync("bob", "marker").WithTimeout();
            ChatMessage first = await bobInbox.NextAsync();
            Assert.True(first.Text() == "marker", $"bob got '{first.Text()}' from {first.From}/{first.FromDevice}, sent by the revoked device");
        }
    }
}
