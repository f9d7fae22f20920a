using System.Threading.Channels;
using Parley.Client;
using Parley.Messaging;
using Parley.Tests.Support;

namespace Parley.Tests.Messenger;

/// <summary>
/// The server packs each connection's deliveries several to a record (CompactRecordPacker), in a
/// packing buffer every connection rents from one shared pool. A buffer given back while a record
/// was still being built or copied, or packed for two connections at once, would show as a body
/// that arrives changed, twice, or at the wrong user.
/// </summary>
public class DeliveryPackingTests
{
    [Fact]
    public async Task Deliveries_packed_for_many_connections_at_once_arrive_byte_for_byte_at_the_right_user()
    {
        const int Users = 4, PerSender = 60;
        await using TestServer server = await TestServer.StartAsync();
        Channel<ChatMessage>[] inboxes = [.. Enumerable.Range(0, Users).Select(_ => InboxExtensions.NewInbox())];
        ChatClient[] clients = new ChatClient[Users];
        for (int u = 0; u < Users; u++)
        {
            clients[u] = await server.LoginAsync($"user{u}", inbox: inboxes[u]);
        }
        try
        {
            // Every user sends to every other, from all users at once, bodies of assorted sizes.
            Dictionary<string, int>[] expected = [.. Enumerable.Range(0, Users).Select(_ => new Dictionary<string, int>())];
            List<OutgoingMessage>[] batches = new List<OutgoingMessage>[Users];
            Random random = new(2718);
            for (int u = 0; u < Users; u++)
            {
                batches[u] = [];
                for (int i = 0; i < PerSender; i++)
                {
                    int to = (u + 1 + random.Next(Users - 1)) % Users;
                    byte[] body = new byte[1 + random.Next(3000)];
                    random.NextBytes(body);
                    batches[u].Add(new OutgoingMessage($"user{to}", "application/octet-stream", body));
                    string key = Convert.ToHexString(body);
                    expected[to][key] = expected[to].GetValueOrDefault(key) + 1;
                }
            }

            Task<SendResult>[][] answers = await Task.WhenAll(Enumerable.Range(0, Users).Select(u => Task.Run(() => clients[u].SendMessagesAsync(batches[u])))).WithTimeout();
            await Task.WhenAll(answers.SelectMany(a => a)).WithTimeout();

            for (int u = 0; u < Users; u++)
            {
                int count = expected[u].Values.Sum();
                for (int n = 0; n < count; n++)
                {
                    string arrived = Convert.ToHexString((await inboxes[u].NextAsync()).Body);
                    Assert.True(expected[u].TryGetValue(arrived, out int left) && left > 0, $"user{u}'s message {n} arrived with a body not sent to it, or once too often");
                    expected[u][arrived] = left - 1;
                }
                Assert.All(expected[u].Values, left => Assert.Equal(0, left));
            }
        }
        finally
        {
            foreach (ChatClient client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }
}
