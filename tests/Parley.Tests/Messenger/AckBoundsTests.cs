using Parley.Client;
using Parley.Messaging;
using Parley.Server.Delivery;
using Parley.Server.Storage;
using Parley.Tests.Support;

namespace Parley.Tests.Messenger;

/// <summary>
/// Acknowledgements cost a client nothing of its send budgets, so each connection has a budget of
/// its own for those queued in the store writer and not yet committed (found by review: one
/// connection queued 2,000 acks of 4,096 ids, ~62 MiB, ahead of everyone else's sends).
/// </summary>
public class AckBoundsTests
{
    [Fact]
    public async Task One_connection_queues_at_most_its_ack_budget_and_then_waits_for_commits()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using ChatClient bob = await server.LoginAsync("bob");
        await using ChatClient alice = await server.LoginAsync("alice");
        await using RawMessenger mallory = await RawMessenger.LoginAsync(server, "mallory");
        ClientConnection connection = Assert.Single(server.Server.Presence.Connections(), c => c.User == "mallory");

        // The writer busy with one slow commit (a slow fsync, a big batch): its index held a moment.
        SqliteMessageStore store = (SqliteMessageStore)server.Server.Store;
        using ManualResetEventSlim release = new();
        using ManualResetEventSlim held = new();
        Thread holder = new(() =>
        {
            using (store.InboxLogForTests.HoldIndexForTests())
            {
                held.Set();
                release.Wait();
            }
        });
        holder.Start();
        held.Wait();
        Task<SendResult>? aliceSend = null;
        Task flood;
        try
        {
            long[] ids = [.. Enumerable.Range(1, MessengerLimits.MaxAckIds).Select(i => (long)i)];
            // Written in the background: once the server stops reading, the socket fills.
            flood = Task.Run(async () =>
            {
                for (int i = 0; i < 200; i++)
                {
                    await mallory.SendRawAsync(new AckRequest(ids));
                }
            });
            await TestTimeouts.UntilAsync(() => connection.QueuedAckIds >= AcknowledgementBudget.MaxQueuedIds);
            Assert.Equal(AcknowledgementBudget.MaxQueuedIds, connection.QueuedAckIds);
            long queued = server.Server.StoreWriterOutstanding;
            Assert.InRange(queued, 1, AcknowledgementBudget.MaxQueuedIds / MessengerLimits.MaxAckIds);
            aliceSend = alice.SendTextAsync("bob", "hello");
        }
        finally
        {
            release.Set();
            holder.Join();
        }
        Assert.Equal(DeliveryStatus.Delivered, (await aliceSend.WithTimeout()).Status);
        // The rest go through, a budget at a time, and the connection is served after them.
        await flood.WithTimeout();
        Assert.IsType<UserList>(await mallory.RequestAsync(r => new ListRequest(r)));
        await TestTimeouts.UntilAsync(() => connection.QueuedAckIds == 0);
    }
}
