using System.Threading.Channels;
using Parley.Client;
using Parley.Messaging;
using Parley.Tests.Support;

namespace Parley.Tests.Messenger;

/// <summary>
/// Join and leave notices (PROTOCOL.md §11.6) through a real server: a client hears about the
/// users it watches, once per user (not per device), and every bound holds against someone who pushes it.
/// </summary>
public class PresenceNoticesTests
{
    private static async Task<(ChatClient Client, Channel<PresenceChanged> Notices)> WatcherAsync(TestServer server, string user)
    {
        ChatClient client = await server.LoginAsync(user);
        Channel<PresenceChanged> notices = Channel.CreateUnbounded<PresenceChanged>();
        client.PresenceHandler = change => notices.Writer.TryWrite(change);
        return (client, notices);
    }

    [Fact]
    public async Task A_watched_user_is_announced_when_the_first_device_comes_and_the_last_one_goes()
    {
        await using TestServer server = await TestServer.StartAsync();
        (ChatClient alice, Channel<PresenceChanged> notices) = await WatcherAsync(server, "alice");
        await using (alice)
        {
            await using ChatClient carol = await server.LoginAsync("carol");
            Assert.Equal(["carol"], await alice.WatchPresenceAsync(["bob", "carol", "not a valid name!"]).WithTimeout());

            ChatClient phone = await server.LoginAsync("bob");
            Assert.Equal(new PresenceChanged("bob", true), await notices.Reader.ReadAsync().AsTask().WithTimeout());
            // A second device of bob's is not news, nor is one of two leaving.
            ChatClient laptop = await server.LoginAsync("bob");
            await phone.DisposeAsync();
            await laptop.DisposeAsync();
            Assert.Equal(new PresenceChanged("bob", false), await notices.Reader.ReadAsync().AsTask().WithTimeout());
            // Someone alice did not name is never announced: dave comes and goes, then carol leaves.
            await (await server.LoginAsync("dave")).DisposeAsync();
            await carol.DisposeAsync();
            Assert.Equal(new PresenceChanged("carol", false), await notices.Reader.ReadAsync().AsTask().WithTimeout());

            // A new watch replaces the old one: after watching nobody, bob's return is not announced.
            Assert.Empty(await alice.WatchPresenceAsync([]).WithTimeout());
            await using ChatClient back = await server.LoginAsync("bob");
            // A notice would be queued before this reply (one outbox, in order): none is there.
            Assert.Equal(["bob"], await alice.WatchPresenceAsync(["bob"]).WithTimeout());
            Assert.False(notices.Reader.TryRead(out PresenceChanged? stray), $"unexpected notice {stray}");
        }
    }

    [Fact]
    public async Task Watching_too_many_users_or_in_a_loop_is_refused()
    {
        await using TestServer server = await TestServer.StartAsync(o => o with { SenderMessageBurst = 3, SenderMessagesPerSecond = 0.001, MaxBroadcastRecipients = 3 });
        await using ChatClient mallory = await server.LoginAsync("mallory");
        string[] tooMany = [.. Enumerable.Range(0, MessengerLimits.MaxWatchedUsers + 1).Select(i => $"user{i}")];
        ChatException wide = await Assert.ThrowsAsync<ChatException>(() => mallory.WatchPresenceAsync(tooMany).WithTimeout());
        Assert.Equal(ErrorCodes.BadRequest, wide.Code);
        for (int i = 0; i < 3; i++)
        {
            await mallory.WatchPresenceAsync(["alice"]).WithTimeout();
        }
        ChatException limited = await Assert.ThrowsAsync<ChatException>(() => mallory.WatchPresenceAsync(["alice"]).WithTimeout());
        Assert.Equal(ErrorCodes.RateLimited, limited.Code);
    }
}
