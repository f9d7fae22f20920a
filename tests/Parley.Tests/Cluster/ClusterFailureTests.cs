using System.Threading.Channels;
using Parley.Client;
using Parley.Messaging;
using Parley.Tests.Support;

namespace Parley.Tests.Cluster;

/// <summary>
/// What the engines' failures cost a two-node cluster: a Redis restart loses no message (the
/// store is the truth; every node reads its connections' inboxes back), and PostgreSQL away means
/// `storage_unavailable` with nothing acknowledged, then service again when it returns.
/// </summary>
[Collection(ClusterEnginesCollection.Name)]
public sealed class ClusterFailureTests(ClusterEngines engines)
{
    [EnginesFact]
    public async Task A_message_sent_while_Redis_is_down_arrives_once_it_is_back_and_presence_is_rebuilt()
    {
        (TestServer one, TestServer two) = await TwoNodeTests.StartPairAsync(engines);
        // Losing the bus is logged as a warning on purpose.
        one.ExpectWarnings = two.ExpectWarnings = true;
        await using (one)
        await using (two)
        {
            Channel<ChatMessage> aliceInbox = InboxExtensions.NewInbox();
            await using ChatClient alice = await one.LoginAsync("alice", inbox: aliceInbox);
            await using ChatClient bob = await two.LoginAsync("bob");
            await bob.SendTextAsync("alice", "before").WithTimeout();
            Assert.Equal("before", (await aliceInbox.NextAsync()).Text());

            engines.StopRedis();
            // Committed in PostgreSQL; the bus cannot carry it to node one.
            SendResult sent = await bob.SendTextAsync("alice", "while the bus is down").WithTimeout();
            await engines.StartRedisAsync();

            // Redis came back empty: node one reads alice's inbox back and she gets it, exactly once.
            ChatMessage late = await aliceInbox.NextAsync();
            Assert.Equal(("while the bus is down", sent.MessageId), (late.Text(), late.MessageId));
            await bob.SendTextAsync("alice", "after").WithTimeout();
            Assert.Equal("after", (await aliceInbox.NextAsync()).Text());

            // Each node writes its users into the new Redis at its next heartbeat: the list is the cluster's again.
            await WaitUntilAsync(async () => (await alice.ListAsync().WithTimeout()).SequenceEqual(["alice", "bob"]));
            Assert.False(aliceInbox.Reader.TryRead(out ChatMessage? extra), $"delivered twice: {extra}");
        }
    }

    [EnginesFact]
    public async Task With_PostgreSQL_down_a_send_gets_storage_unavailable_and_is_not_acknowledged_and_service_resumes_when_it_returns()
    {
        (TestServer one, TestServer two) = await TwoNodeTests.StartPairAsync(engines);
        one.ExpectWarnings = two.ExpectWarnings = true;
        await using (one)
        await using (two)
        {
            Channel<ChatMessage> aliceInbox = InboxExtensions.NewInbox();
            await using ChatClient alice = await one.LoginAsync("alice", inbox: aliceInbox);
            await using ChatClient bob = await two.LoginAsync("bob");
            await bob.SendTextAsync("alice", "before").WithTimeout();
            Assert.Equal("before", (await aliceInbox.NextAsync()).Text());
            GroupInfo group = await bob.CreateGroupAsync("team", []).WithTimeout();

            await engines.StopPostgresAsync();
            try
            {
                ChatException refused = await Assert.ThrowsAsync<ChatException>(() => bob.SendTextAsync("alice", "not stored").WithTimeout());
                Assert.Equal(ErrorCodes.StorageUnavailable, refused.Code);
                Assert.Contains("database", refused.Message);
                // Groups too: a change is refused as a whole, and says why.
                Assert.Equal(ErrorCodes.StorageUnavailable, (await Assert.ThrowsAsync<ChatException>(() => bob.AddGroupMembersAsync("team", ["alice"]).WithTimeout())).Code);
                // The connection goes on: a request that needs no store is answered.
                Assert.Equal(["alice", "bob"], await bob.ListAsync().WithTimeout());
            }
            finally
            {
                await engines.StartPostgresAsync();
            }
            SendResult sent = await bob.SendTextAsync("alice", "after").WithTimeout();
            Assert.Equal(DeliveryStatus.Delivered, sent.Status);
            ChatMessage received = await aliceInbox.NextAsync();
            Assert.Equal("after", received.Text());
            Assert.False(aliceInbox.Reader.TryRead(out ChatMessage? extra), $"the refused message arrived after all: {extra}");
            GroupInfo unchanged = await bob.GroupMembersAsync("team").WithTimeout();
            Assert.Equal((group.GroupId, 1L), (unchanged.GroupId, unchanged.Version));
            Assert.Equal(["bob"], unchanged.Members);
        }
    }

    /// <summary>Asks again until <paramref name="condition"/> holds (each try waits for a reply, not a clock), within the test timeout.</summary>
    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        DateTime deadline = DateTime.UtcNow + TestTimeouts.Event;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition did not hold in time");
            await Task.Delay(100);
        }
    }
}
