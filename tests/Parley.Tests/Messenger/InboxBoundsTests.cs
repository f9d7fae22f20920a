using Parley.Client;
using Parley.Messaging;
using Parley.Server.Delivery;
using Parley.Server.Storage;
using Parley.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Parley.Tests.Messenger;

/// <summary>
/// What one sender can make the server store: each bound is attacked through the real server and
/// database, and each refusal must be a clear error reply with nothing stored.
/// </summary>
public class InboxBoundsTests
{
    private static readonly byte[] MaxBody = new byte[MessengerLimits.DefaultMaxBodyLength];

    [Fact]
    public async Task A_full_inbox_refuses_more_messages_with_inbox_full_and_stores_nothing()
    {
        await using TestServer server = await TestServer.StartAsync(o => o with { MaxInboxMessages = 5 });
        await (await server.LoginAsync("absent")).DisposeAsync();
        await using ChatClient mallory = await server.LoginAsync("mallory");
        await using ChatClient eve = await server.LoginAsync("eve");
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(DeliveryStatus.Queued, (await mallory.SendTextAsync("absent", $"spam {i}").WithTimeout()).Status);
        }
        ChatException full = await Assert.ThrowsAsync<ChatException>(() => mallory.SendTextAsync("absent", "one too many").WithTimeout());
        Assert.Equal(ErrorCodes.InboxFull, full.Code);
        Assert.Contains("absent", full.Message);
        // The quota is the recipient's, whoever sends.
        Assert.Equal(ErrorCodes.InboxFull, (await Assert.ThrowsAsync<ChatException>(() => eve.SendTextAsync("absent", "me too").WithTimeout())).Code);
        Assert.Equal(5, await StoredMessages.CountForAsync(server, "absent"));
        // The sender's connection goes on: other recipients still get messages.
        Assert.Equal(DeliveryStatus.Delivered, (await mallory.SendTextAsync("eve", "still here").WithTimeout()).Status);
    }

    [Fact]
    public async Task The_servers_bound_on_undelivered_messages_refuses_the_next_one_with_storage_full_whoever_it_is_for()
    {
        // Many accounts each filling an inbox below its quota would otherwise hold the inbox log's index in memory without end.
        await using TestServer server = await TestServer.StartAsync(o => o with { MaxStoredMessages = 4 });
        foreach (string name in new[] { "absent1", "absent2", "absent3" })
        {
            await (await server.LoginAsync(name)).DisposeAsync();
        }
        await using ChatClient mallory = await server.LoginAsync("mallory");
        await using ChatClient eve = await server.LoginAsync("eve");
        for (int i = 0; i < 4; i++)
        {
            Assert.Equal(DeliveryStatus.Queued, (await mallory.SendTextAsync($"absent{1 + (i % 2)}", $"spam {i}").WithTimeout()).Status);
        }
        ChatException full = await Assert.ThrowsAsync<ChatException>(() => mallory.SendTextAsync("absent3", "one too many").WithTimeout());
        Assert.Equal(ErrorCodes.StorageFull, full.Code);
        Assert.Contains("4", full.Message);
        Assert.Equal(0, await StoredMessages.CountForAsync(server, "absent3"));
        Assert.Equal(ErrorCodes.StorageFull, (await Assert.ThrowsAsync<ChatException>(() => eve.SendTextAsync("mallory", "to someone online").WithTimeout())).Code);

    }

    [Fact]
    public async Task Acknowledged_messages_free_room_under_the_servers_bound()
    {
        using TempDirectory directory = new();
        await using SqliteMessageStore store = await SqliteMessageStore.OpenAsync(directory.File("parley.db"));
        await using StoreWriter writer = new(store, new Presence(), NullLogger.Instance, bound: new StoredMessageBound(() => store.StoredMessages, maxMessages: 2));
        NewMessage Message(string to) => new("mallory", to, 1, "text/plain", [1, 2, 3], Broadcast: false);

        StoredMessage first = (await writer.AppendAsync(Message("alice"), CancellationToken.None)).Message;
        await writer.AppendAsync(Message("bob"), CancellationToken.None);
        await Assert.ThrowsAsync<StoredMessagesFullException>(() => writer.AppendAsync(Message("carol"), CancellationToken.None));

        await writer.AcknowledgeAsync("alice", "", [first.Id], null, CancellationToken.None);
        await writer.BarrierAsync(CancellationToken.None);
        await writer.AppendAsync(Message("carol"), CancellationToken.None);
        Assert.Equal(2, store.StoredMessages);
    }

    [Fact]
    public async Task A_barrier_waits_only_while_something_is_outstanding()
    {
        using TempDirectory directory = new();
        await using SqliteMessageStore store = await SqliteMessageStore.OpenAsync(directory.File("parley.db"));
        await using StoreWriter writer = new(store, new Presence(), NullLogger.Instance);
        // Nothing queued yet: nothing to wait for (a login's barrier on a quiet server).
        Assert.True(writer.BarrierAsync(CancellationToken.None).IsCompletedSuccessfully);

        StoredMessage first = (await writer.AppendAsync(new NewMessage("mallory", "alice", 1, "text/plain", [1], Broadcast: false), CancellationToken.None)).Message;
        await writer.AcknowledgeAsync("alice", "", [first.Id], null, CancellationToken.None);
        // The acknowledgement is queued: the barrier returns only once it is committed.
        await writer.BarrierAsync(CancellationToken.None);
        Assert.Empty(await store.LoadInboxAsync("alice", "", 0, 10, long.MaxValue, CancellationToken.None));
        // Committed, and everything through its batch: again nothing outstanding.
        Assert.True(writer.BarrierAsync(CancellationToken.None).IsCompletedSuccessfully);
    }

    [Fact]
    public async Task The_inbox_quota_counts_bytes_too()
    {
        await using TestServer server = await TestServer.StartAsync(o => o with { MaxInboxBytes = 200_000 });
        await (await server.LoginAsync("absent")).DisposeAsync();
        await using ChatClient mallory = await server.LoginAsync("mallory");
        for (int i = 0; i < 3; i++)
        {
            await mallory.SendMessageAsync("absent", "application/octet-stream", MaxBody).WithTimeout();
        }
        ChatException full = await Assert.ThrowsAsync<ChatException>(() => mallory.SendMessageAsync("absent", "application/octet-stream", MaxBody).WithTimeout());
        Assert.Equal(ErrorCodes.InboxFull, full.Code);
        // 3 × 65,536 = 196,608 bytes are used: 3,392 are left, exactly.
        await mallory.SendMessageAsync("absent", "application/octet-stream", new byte[3_392]).WithTimeout();
        Assert.Equal(ErrorCodes.InboxFull, (await Assert.ThrowsAsync<ChatException>(() => mallory.SendTextAsync("absent", "x").WithTimeout())).Code);
        Assert.Equal(4, await StoredMessages.CountForAsync(server, "absent"));
    }

    [Fact]
    public async Task Acknowledged_and_expired_messages_free_their_inbox_quota()
    {
        using TempDirectory directory = new();
        await using SqliteMessageStore store = await SqliteMessageStore.OpenAsync(directory.File("parley.db"));
        await using StoreWriter writer = new(store, new Presence(), NullLogger.Instance, new InboxQuota(store, maxMessages: 2, maxBytes: long.MaxValue));
        NewMessage Message(long at) => new("mallory", "alice", at, "text/plain", [1, 2, 3], Broadcast: false);

        StoredMessage first = (await writer.AppendAsync(Message(1), CancellationToken.None)).Message;
        await writer.AppendAsync(Message(2), CancellationToken.None);
        await Assert.ThrowsAsync<InboxFullException>(() => writer.AppendAsync(Message(3), CancellationToken.None));

        await writer.AcknowledgeAsync("alice", "", [first.Id], null, CancellationToken.None);
        // The quota frees once the acknowledgement has committed.
        await writer.BarrierAsync(CancellationToken.None);
        await writer.AppendAsync(Message(4), CancellationToken.None);
        await Assert.ThrowsAsync<InboxFullException>(() => writer.AppendAsync(Message(5), CancellationToken.None));

        Assert.Equal(2, await writer.ExpireAsync(createdBefore: 5, CancellationToken.None));
        await writer.AppendAsync(Message(6), CancellationToken.None);
        Assert.Equal(new InboxUsage(1, 3), await store.GetInboxUsageAsync("alice", CancellationToken.None));
    }

    [Fact]
    public async Task The_quota_cache_stays_bounded_however_many_recipients_are_written_to_and_still_refuses_a_full_inbox()
    {
        // A sender spreading messages over many recipients must not make the writer keep a usage
        // entry for each of them; a recipient dropped from the cache is read again from the store.
        using TempDirectory directory = new();
        await using SqliteMessageStore store = await SqliteMessageStore.OpenAsync(directory.File("parley.db"));
        InboxQuota quota = new(store, maxMessages: 2, maxBytes: long.MaxValue, maxCachedRecipients: 4);
        NewMessage To(string recipient) => new("mallory", recipient, 1, "text/plain", [1], Broadcast: false);

        for (int round = 0; round < 2; round++)
        {
            for (int i = 0; i < 20; i++)
            {
                quota.BeginBatch();
                NewMessage message = To($"user{i}");
                Assert.True(await quota.TryAdmitAsync(message, CancellationToken.None));
                await store.CommitAsync([message], [], CancellationToken.None);
                Assert.InRange(quota.CachedRecipients, 1, 4);
            }
        }
        // Every inbox now holds 2 messages, whether its usage was cached or read again.
        for (int i = 0; i < 20; i++)
        {
            quota.BeginBatch();
            Assert.False(await quota.TryAdmitAsync(To($"user{i}"), CancellationToken.None));
            Assert.InRange(quota.CachedRecipients, 1, 4);
        }
    }

    [Fact]
    public async Task A_fast_sender_is_rate_limited_per_account_with_a_retry_after()
    {
        ManualClock clock = new();
        await using TestServer server = await TestServer.StartAsync(o => o with
        {
            Time = clock,
            SenderMessagesPerSecond = 1,
            SenderMessageBurst = 5,
            MaxBroadcastRecipients = 5,
        });
        await (await server.LoginAsync("alice")).DisposeAsync();
        await using (RawMessenger mallory = await RawMessenger.LoginAsync(server, "mallory"))
        {
            for (int i = 0; i < 5; i++)
            {
                Assert.IsType<SendResult>(await mallory.SendAsync("alice", [1]));
            }
            ErrorMessage limited = Assert.IsType<ErrorMessage>(await mallory.SendAsync("alice", [1]));
            Assert.Equal(ErrorCodes.RateLimited, limited.Code);
            Assert.Equal(1, limited.RetryAfterSeconds);
        }
        // A new connection does not refill the bucket: it belongs to the account.
        await using RawMessenger again = await RawMessenger.LoginAsync(server, "mallory");
        Assert.Equal(ErrorCodes.RateLimited, Assert.IsType<ErrorMessage>(await again.SendAsync("alice", [1])).Code);
        Assert.Equal(5, await StoredMessages.CountForAsync(server, "alice"));

        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.IsType<SendResult>(await again.SendAsync("alice", [1]));
        Assert.Equal(ErrorCodes.RateLimited, Assert.IsType<ErrorMessage>(await again.SendAsync("alice", [1])).Code);
    }

    [Fact]
    public async Task The_sender_rate_limit_counts_bytes_too()
    {
        ManualClock clock = new();
        await using TestServer server = await TestServer.StartAsync(o => o with
        {
            Time = clock,
            SenderBytesPerSecond = 65_536,
            SenderByteBurst = 200_000,
        });
        await (await server.LoginAsync("alice")).DisposeAsync();
        await using RawMessenger mallory = await RawMessenger.LoginAsync(server, "mallory");
        for (int i = 0; i < 3; i++)
        {
            Assert.IsType<SendResult>(await mallory.SendAsync("alice", MaxBody));
        }
        ErrorMessage limited = Assert.IsType<ErrorMessage>(await mallory.SendAsync("alice", MaxBody));
        Assert.Equal(ErrorCodes.RateLimited, limited.Code);
        // 3,392 bytes are left; 62,144 more come in 0.95 s.
        Assert.Equal(1, limited.RetryAfterSeconds);
        Assert.Equal(3, await StoredMessages.CountForAsync(server, "alice"));
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.IsType<SendResult>(await mallory.SendAsync("alice", MaxBody));
    }

    [Fact]
    public async Task A_broadcast_reaches_a_bounded_number_of_users_and_every_copy_counts_against_rate_and_quota()
    {
        ManualClock clock = new();
        await using TestServer server = await TestServer.StartAsync(o => o with
        {
            Time = clock,
            MaxBroadcastRecipients = 3,
            SenderMessageBurst = 4,
            SenderMessagesPerSecond = 1,
            MaxInboxMessages = 1,
        });
        await using RawMessenger mallory = await RawMessenger.LoginAsync(server, "mallory");
        // No message handler: these clients never acknowledge, so what they get stays in their inboxes.
        await using ChatClient bob = await server.LoginAsync("bob");
        await using ChatClient carol = await server.LoginAsync("carol");
        await using ChatClient dave = await server.LoginAsync("dave");

        Assert.IsType<SendResult>(await mallory.SendAsync("bob", [1]));
        BroadcastResult result = Assert.IsType<BroadcastResult>(await mallory.RequestAsync(r => new BroadcastRequest(r, "text/plain", [2])));
        Assert.Equal(2, result.Recipients); // bob's inbox was full
        Assert.Equal(1, await StoredMessages.CountForAsync(server, "bob"));
        Assert.Equal(1, await StoredMessages.CountForAsync(server, "carol"));

        // 1 + 3 copies used the burst of 4: the next broadcast (3 copies) waits 3 s.
        ErrorMessage limited = Assert.IsType<ErrorMessage>(await mallory.RequestAsync(r => new BroadcastRequest(r, "text/plain", [3])));
        Assert.Equal(ErrorCodes.RateLimited, limited.Code);
        Assert.Equal(3, limited.RetryAfterSeconds);

        await using ChatClient erin = await server.LoginAsync("erin");
        ErrorMessage tooMany = Assert.IsType<ErrorMessage>(await mallory.RequestAsync(r => new BroadcastRequest(r, "text/plain", [4])));
        Assert.Equal(ErrorCodes.TooManyRecipients, tooMany.Code);
        Assert.Equal(0, await StoredMessages.CountForAsync(server, "erin"));
    }

    [Fact]
    public async Task Below_the_free_disk_watermark_new_messages_get_storage_full_and_nothing_is_stored()
    {
        using TempDirectory data = new();
        long free = new DriveInfo(data.Path).AvailableFreeSpace;
        Assert.True(free > 0);
        await using TestServer server = await TestServer.StartAsync(o => o with { MinFreeDiskBytes = free + (1L << 30) }, data);
        server.ExpectWarnings = true; // the watermark warning is the point
        await (await server.LoginAsync("alice")).DisposeAsync();
        await using ChatClient mallory = await server.LoginAsync("mallory");
        await using ChatClient bob = await server.LoginAsync("bob");
        ChatException full = await Assert.ThrowsAsync<ChatException>(() => mallory.SendTextAsync("alice", "fill the disk").WithTimeout());
        Assert.Equal(ErrorCodes.StorageFull, full.Code);
        Assert.Equal(ErrorCodes.StorageFull, (await Assert.ThrowsAsync<ChatException>(() => mallory.BroadcastTextAsync("everyone").WithTimeout())).Code);
        Assert.Equal(0, await StoredMessages.CountForAsync(server, "alice"));
        Assert.Equal(0, await StoredMessages.CountForAsync(server, "bob"));
        // The server keeps serving what needs no new storage.
        Assert.Equal(["bob", "mallory"], await mallory.ListAsync().WithTimeout());
    }

    [Fact]
    public async Task Undelivered_messages_expire_on_the_servers_clock()
    {
        ManualClock clock = new();
        await using TestServer server = await TestServer.StartAsync(o => o with
        {
            Time = clock,
            MessageExpiry = TimeSpan.FromDays(30),
            SweepInterval = TimeSpan.FromHours(1),
        });
        await (await server.LoginAsync("alice")).DisposeAsync();
        await using (ChatClient bob = await server.LoginAsync("bob"))
        {
            await bob.SendTextAsync("alice", "old").WithTimeout();
        }
        await AdvanceAndSweepAsync(server, clock, TimeSpan.FromDays(20));
        Assert.Equal(1, await StoredMessages.CountForAsync(server, "alice"));
        await using (ChatClient bob = await server.LoginAsync("bob"))
        {
            await bob.SendTextAsync("alice", "recent").WithTimeout();
        }
        await AdvanceAndSweepAsync(server, clock, TimeSpan.FromDays(11));
        Assert.Equal(1, await StoredMessages.CountForAsync(server, "alice"));

        System.Threading.Channels.Channel<ChatMessage> inbox = InboxExtensions.NewInbox();
        await using ChatClient alice = await server.LoginAsync("alice", inbox: inbox);
        Assert.Equal("recent", (await inbox.NextAsync()).Text());
    }

    private static async Task AdvanceAndSweepAsync(TestServer server, ManualClock clock, TimeSpan by)
    {
        Task swept = server.Server.Maintenance.NextSweep;
        clock.Advance(by);
        await swept.WithTimeout();
    }
}
