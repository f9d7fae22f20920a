using System.Collections.Concurrent;
using System.Threading.Channels;
using Parley.Client;
using Parley.Messaging;
using Parley.Tests.Support;

namespace Parley.Tests.Messenger;

public class LoadTests
{
    [Fact]
    public async Task A_thousand_concurrent_clients_exchange_messages_with_none_lost_or_duplicated()
    {
        const int clients = 1000;
        const int messagesEach = 5;
        await using TestServer server = await TestServer.StartAsync();
        ConcurrentDictionary<string, int> received = new();
        int receivedCount = 0;
        TaskCompletionSource allReceived = new(TaskCreationOptions.RunContinuationsAsynchronously);

        // Connect and log in, a few at a time per core, as a crowd arriving would.
        ChatClient[] connected = new ChatClient[clients];
        await Parallel.ForEachAsync(Enumerable.Range(0, clients), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, _) =>
        {
            ChatClient client = await ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions);
            client.MessageHandler = message =>
            {
                received.AddOrUpdate(message.Text(), 1, (_, n) => n + 1);
                if (Interlocked.Increment(ref receivedCount) == clients * messagesEach)
                {
                    allReceived.TrySetResult();
                }
                return ValueTask.CompletedTask;
            };
            Assert.True((await client.LoginAsync($"user{i}", "user password", null)).Success);
            connected[i] = client;
        }).WithTimeout();

        Random random = new(42);
        int[][] targets = Enumerable.Range(0, clients).Select(_ => Enumerable.Range(0, messagesEach).Select(_ => random.Next(clients)).ToArray()).ToArray();
        await Parallel.ForEachAsync(Enumerable.Range(0, clients), new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (i, _) =>
        {
            for (int m = 0; m < messagesEach; m++)
            {
                SendResult result = await connected[i].SendTextAsync($"user{targets[i][m]}", $"{i}:{m}");
                Assert.Equal(DeliveryStatus.Delivered, result.Status);
            }
        }).WithTimeout();

        await allReceived.Task.WithTimeout();
        Assert.Equal(clients * messagesEach, received.Count);
        Assert.All(received.Values, count => Assert.Equal(1, count));
        await Task.WhenAll(connected.Select(c => c.DisposeAsync().AsTask())).WithTimeout();
    }

    [Fact]
    public async Task A_client_that_stops_reading_does_not_stall_the_others_and_loses_nothing()
    {
        await using TestServer server = await TestServer.StartAsync(o => o with { OutboxCapacity = 16 });
        // The stalled client's handler blocks, so its reader stops and TCP back-pressure reaches the server.
        TaskCompletionSource unblock = new(TaskCreationOptions.RunContinuationsAsynchronously);
        List<long> stalledSaw = [];
        TaskCompletionSource sawLast = new(TaskCreationOptions.RunContinuationsAsynchronously);
        ChatClient stalled = await ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions);
        stalled.MessageHandler = async message =>
        {
            await unblock.Task;
            stalledSaw.Add(message.MessageId);
            if (message.Text() == "last")
            {
                sawLast.TrySetResult();
            }
        };
        Assert.True((await stalled.LoginAsync("sloth", "sloth password", null).WithTimeout()).Success);

        await using ChatClient flood = await server.LoginAsync("flood");
        string big = new('x', 60_000);
        List<long> sentToStalled = [];
        for (int i = 0; i < 200; i++)
        {
            // Sending to a stalled client never blocks the sender: accepted, stored, "delivered".
            sentToStalled.Add((await flood.SendTextAsync("sloth", big).WithTimeout()).MessageId);
        }

        // Meanwhile two other users talk normally.
        Channel<ChatMessage> bobInbox = InboxExtensions.NewInbox();
        await using ChatClient alice = await server.LoginAsync("alice");
        await using ChatClient bob = await server.LoginAsync("bob", inbox: bobInbox);
        for (int i = 0; i < 100; i++)
        {
            await alice.SendTextAsync("bob", $"ping {i}").WithTimeout();
            Assert.Equal($"ping {i}", (await bobInbox.NextAsync()).Text());
        }

        // When the stalled client reads again it gets every message, once, in order.
        unblock.SetResult();
        await flood.SendTextAsync("sloth", "last").WithTimeout();
        await sawLast.Task.WithTimeout();
        Assert.Equal(sentToStalled, stalledSaw.Take(sentToStalled.Count));
        Assert.Equal(201, stalledSaw.Count);
        Assert.Equal(stalledSaw.Distinct().Count(), stalledSaw.Count);
        await stalled.DisposeAsync();
    }
}
