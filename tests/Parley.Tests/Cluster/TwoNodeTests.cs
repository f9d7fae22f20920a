using System.Threading.Channels;
using Parley.Client;
using Parley.Messaging;
using Parley.Tests.Support;

namespace Parley.Tests.Cluster;

/// <summary>
/// Two ParleyServer nodes in one process on one PostgreSQL database and one Redis (issue 12):
/// any node serves any client, a message to a user connected to the other node arrives at once,
/// `list`, broadcasts and join/leave notices are cluster-wide, and a user on both nodes is one user.
/// </summary>
[Collection(ClusterEnginesCollection.Name)]
public sealed class TwoNodeTests(ClusterEngines engines)
{
    /// <summary>Two nodes of a new cluster (a fresh database and bus prefix).</summary>
    internal static async Task<(TestServer One, TestServer Two)> StartPairAsync(ClusterEngines engines)
    {
        string store = engines.StoreUrl(await engines.NewDatabaseAsync());
        string bus = engines.NewBusUrl();
        TestServer one = await TestServer.StartAsync(o => o with { Store = store, Bus = bus });
        TestServer two = await TestServer.StartAsync(o => o with { Store = store, Bus = bus });
        return (one, two);
    }

    [EnginesFact]
    public async Task A_message_to_a_user_on_the_other_node_arrives_at_once_and_list_is_cluster_wide()
    {
        (TestServer one, TestServer two) = await StartPairAsync(engines);
        await using (one)
        await using (two)
        {
            Channel<ChatMessage> aliceInbox = InboxExtensions.NewInbox();
            await using ChatClient alice = await one.LoginAsync("alice", inbox: aliceInbox);
            Channel<ChatMessage> bobInbox = InboxExtensions.NewInbox();
            await using ChatClient bob = await two.LoginAsync("bob", inbox: bobInbox);

            Assert.Equal(["alice", "bob"], await alice.ListAsync().WithTimeout());
            Assert.Equal(["alice", "bob"], await bob.ListAsync().WithTimeout());

            SendResult sent = await bob.SendTextAsync("alice", "across the cluster").WithTimeout();
            Assert.Equal(DeliveryStatus.Delivered, sent.Status);
            ChatMessage received = await aliceInbox.NextAsync();
            Assert.Equal(("bob", "across the cluster", sent.MessageId), (received.From, received.Text(), received.MessageId));

            // Both ways, several in a row, in order.
            for (int i = 0; i < 20; i++)
            {
                await alice.SendTextAsync("bob", $"reply {i}").WithTimeout();
            }
            for (int i = 0; i < 20; i++)
            {
                Assert.Equal($"reply {i}", (await bobInbox.NextAsync()).Text());
            }
        }
    }

    [EnginesFact]
    public async Task A_user_on_both_nodes_gets_each_message_on_every_device_and_one_device_logs_in_once()
    {
        (TestServer one, TestServer two) = await StartPairAsync(engines);
        await using (one)
        await using (two)
        {
            Channel<ChatMessage> phoneInbox = InboxExtensions.NewInbox();
            ChatClient phone = await ChatClient.ConnectAsync("127.0.0.1", one.Port, one.ClientOptions).WithTimeout();
            phone.MessageHandler = message => phoneInbox.Writer.WriteAsync(message);
            LoginResult first = await phone.LoginAsync("alice", "correct horse", null).WithTimeout();
            Assert.True(first.Success, first.Error);
            string phoneDevice = phone.DeviceId!;
            Channel<ChatMessage> laptopInbox = InboxExtensions.NewInbox();
            await using ChatClient laptop = await two.LoginAsync("alice", inbox: laptopInbox);
            await using ChatClient bob = await two.LoginAsync("bob");

            await bob.SendTextAsync("alice", "to every device").WithTimeout();
            Assert.Equal("to every device", (await phoneInbox.NextAsync()).Text());
            Assert.Equal("to every device", (await laptopInbox.NextAsync()).Text());
            // Alice is one user online, however many devices on however many nodes.
            Assert.Equal(["alice", "bob"], await bob.ListAsync().WithTimeout());

            // The phone's device logs in again on the other node (by its token): its old connection is closed there.
            TaskCompletionSource<ErrorMessage> closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
            phone.NoticeHandler = notice => closed.TrySetResult(notice);
            string token = first.DeviceToken!;
            await using ChatClient again = await ChatClient.ConnectAsync("127.0.0.1", two.Port, two.ClientOptions).WithTimeout();
            LoginResult login = await again.LoginAsync("alice", null, token).WithTimeout();
            Assert.True(login.Success, login.Error);
            Assert.Equal(phoneDevice, again.DeviceId);
            Assert.Equal(ErrorCodes.LoggedInElsewhere, (await closed.Task.WithTimeout()).Code);
            await phone.DisposeAsync();
        }
    }

    [EnginesFact]
    public async Task Join_and_leave_notices_and_broadcasts_reach_across_nodes()
    {
        (TestServer one, TestServer two) = await StartPairAsync(engines);
        await using (one)
        await using (two)
        {
            await using ChatClient alice = await one.LoginAsync("alice");
            Channel<PresenceChanged> notices = Channel.CreateUnbounded<PresenceChanged>();
            alice.PresenceHandler = change => notices.Writer.TryWrite(change);
            Assert.Empty(await alice.WatchPresenceAsync(["bob"]).WithTimeout());

            Channel<ChatMessage> bobInbox = InboxExtensions.NewInbox();
            ChatClient bob = await two.LoginAsync("bob", inbox: bobInbox);
            Assert.Equal(new PresenceChanged("bob", true), await notices.Reader.ReadAsync().AsTask().WithTimeout());
            Assert.Equal(["bob"], await alice.WatchPresenceAsync(["bob"]).WithTimeout());

            Assert.Equal(1, await alice.BroadcastTextAsync("hello everyone").WithTimeout());
            ChatMessage broadcast = await bobInbox.NextAsync();
            Assert.True(broadcast.Broadcast);
            Assert.Equal("hello everyone", broadcast.Text());

            await bob.DisposeAsync();
            Assert.Equal(new PresenceChanged("bob", false), await notices.Reader.ReadAsync().AsTask().WithTimeout());
            Assert.Equal(["alice"], await alice.ListAsync().WithTimeout());
        }
    }
    private sealed class AheadClock(TimeSpan ahead) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + ahead;
    }

    /// <summary>
    /// Node one's clock runs 5 s ahead. A device logged in there, then again (same token) on node two:
    /// the first connection is told logged_in_elsewhere and closed, as with equal clocks. Logins are
    /// ordered on Redis's clock (found by review: each node's own made the later login look older,
    /// and the device stayed connected on both: a copied token used beside the owner's, unseen).
    /// </summary>
    [EnginesFact]
    public async Task A_later_login_of_a_device_on_another_node_closes_the_first_whatever_the_nodes_clocks()
    {
        string store = engines.StoreUrl(await engines.NewDatabaseAsync());
        string bus = engines.NewBusUrl();
        await using TestServer one = await TestServer.StartAsync(o => o with { Store = store, Bus = bus, Time = new AheadClock(TimeSpan.FromSeconds(5)) });
        await using TestServer two = await TestServer.StartAsync(o => o with { Store = store, Bus = bus });
        await using ChatClient first = await ChatClient.ConnectAsync("127.0.0.1", one.Port, one.ClientOptions).WithTimeout();
        TaskCompletionSource<string> told = new(TaskCreationOptions.RunContinuationsAsynchronously);
        first.NoticeHandler = notice => told.TrySetResult(notice.Code);
        LoginResult login = await first.LoginAsync("alice", "correct horse", null).WithTimeout();
        Assert.True(login.Success, login.Error);
        // The first login is on the bus once node two lists alice.
        await using ChatClient watcher = await two.LoginAsync("bob");
        using (CancellationTokenSource wait = new(TestTimeouts.Event))
        {
            while (!(await watcher.ListAsync().WithTimeout()).Contains("alice"))
            {
                await Task.Delay(50, wait.Token);
            }
        }

        await using ChatClient again = await ChatClient.ConnectAsync("127.0.0.1", two.Port, two.ClientOptions).WithTimeout();
        Assert.True((await again.LoginAsync("alice", null, login.DeviceToken!).WithTimeout()).Success);
        Assert.Equal(ErrorCodes.LoggedInElsewhere, await told.Task.WithTimeout());
    }
}
