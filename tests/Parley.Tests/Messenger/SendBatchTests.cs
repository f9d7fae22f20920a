using System.Threading.Channels;
using Parley.Client;
using Parley.Messaging;
using Parley.Tests.Support;

namespace Parley.Tests.Messenger;

/// <summary>ChatClient.SendMessagesAsync: several sends in one write, each with its own answer, against a real server.</summary>
public class SendBatchTests
{
    [Fact]
    public async Task Messages_sent_together_arrive_in_order_and_each_gets_its_own_answer_or_refusal()
    {
        await using TestServer server = await TestServer.StartAsync();
        Channel<ChatMessage> bobInbox = InboxExtensions.NewInbox();
        await using ChatClient bob = await server.LoginAsync("bob", inbox: bobInbox);
        await using ChatClient alice = await server.LoginAsync("alice");

        byte[] reused = "one"u8.ToArray();
        Task<Task<SendResult>[]> sending = alice.SendMessagesAsync(
        [
            new("bob", MessengerLimits.TextContentType, reused),
            new("nobody-here", MessengerLimits.TextContentType, "lost"u8.ToArray()),
            new("bob", MessengerLimits.TextContentType, "two"u8.ToArray()),
        ]);
        Task<SendResult>[] answers = await sending.WithTimeout();
        // Encoded before the call returned: changing the buffer now changes nothing sent.
        "XXX"u8.CopyTo(reused);

        SendResult first = await answers[0].WithTimeout();
        ChatException refused = await Assert.ThrowsAsync<ChatException>(() => answers[1]).WithTimeout();
        SendResult third = await answers[2].WithTimeout();
        Assert.Equal(ErrorCodes.UnknownRecipient, refused.Code);
        Assert.True(third.MessageId > first.MessageId);
        Assert.Equal(("bob", "bob"), (first.To, third.To));
        Assert.Equal("one", (await bobInbox.NextAsync()).Text());
        Assert.Equal("two", (await bobInbox.NextAsync()).Text());
    }

    [Fact]
    public async Task One_body_over_the_limit_sends_none_of_them_and_the_session_goes_on()
    {
        const int Limit = 1000;
        await using TestServer server = await TestServer.StartAsync(o => o with { MaxBodyLength = Limit });
        Channel<ChatMessage> bobInbox = InboxExtensions.NewInbox();
        await using ChatClient bob = await server.LoginAsync("bob", inbox: bobInbox);
        await using ChatClient alice = await server.LoginAsync("alice");

        await Assert.ThrowsAsync<MessageTooLargeException>(() => alice.SendMessagesAsync(
        [
            new("bob", MessengerLimits.TextContentType, "fits"u8.ToArray()),
            new("bob", MessengerLimits.TextContentType, new byte[Limit + 1]),
        ]));

        await alice.SendTextAsync("bob", "after").WithTimeout();
        Assert.Equal("after", (await bobInbox.NextAsync()).Text());
    }

    [Fact]
    public async Task Batches_sent_at_once_from_many_tasks_arrive_byte_for_byte_though_their_records_are_pooled()
    {
        // Each batch's records come from the pool and go back once written, while other tasks'
        // batches are being packed and queued on the same channel: a record returned too early
        // would show as a body that arrives changed or twice.
        const int Batches = 24, PerBatch = 8;
        await using TestServer server = await TestServer.StartAsync();
        Channel<ChatMessage> bobInbox = InboxExtensions.NewInbox();
        await using ChatClient bob = await server.LoginAsync("bob", inbox: bobInbox);
        await using ChatClient alice = await server.LoginAsync("alice");
        Dictionary<string, int> expected = [];
        List<OutgoingMessage>[] batches = new List<OutgoingMessage>[Batches];
        Random random = new(1913);
        for (int b = 0; b < Batches; b++)
        {
            batches[b] = [];
            for (int i = 0; i < PerBatch; i++)
            {
                byte[] body = new byte[1 + random.Next(3000)];
                random.NextBytes(body);
                batches[b].Add(new OutgoingMessage("bob", "application/octet-stream", body));
                expected[Convert.ToHexString(body)] = expected.GetValueOrDefault(Convert.ToHexString(body)) + 1;
            }
        }

        Task<SendResult>[][] answers = await Task.WhenAll(batches.Select(batch => Task.Run(() => alice.SendMessagesAsync(batch)))).WithTimeout();
        await Task.WhenAll(answers.SelectMany(a => a)).WithTimeout();

        for (int n = 0; n < Batches * PerBatch; n++)
        {
            string arrived = Convert.ToHexString((await bobInbox.NextAsync()).Body);
            Assert.True(expected.TryGetValue(arrived, out int left) && left > 0, $"message {n} arrived with a body that was not sent, or once too often");
            expected[arrived] = left - 1;
        }
        Assert.All(expected.Values, left => Assert.Equal(0, left));
    }
}
