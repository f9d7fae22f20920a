using System.Collections.Concurrent;
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

    [Fact]
    public async Task Answers_to_a_sink_come_once_per_message_by_reference_and_refusals_say_why()
    {
        await using TestServer server = await TestServer.StartAsync();
        Channel<ChatMessage> bobInbox = InboxExtensions.NewInbox();
        await using ChatClient bob = await server.LoginAsync("bob", inbox: bobInbox);
        await using ChatClient alice = await server.LoginAsync("alice");
        RecordingAnswers answers = new(expected: 3);

        long first = await alice.SendMessagesAsync(
        [
            new("bob", MessengerLimits.TextContentType, "one"u8.ToArray()),
            new("nobody-here", MessengerLimits.TextContentType, "lost"u8.ToArray()),
            new("bob", MessengerLimits.TextContentType, "two"u8.ToArray()),
        ], answers).AsTask().WithTimeout();
        await answers.All.WithTimeout();

        Assert.Equal(3, answers.Calls.Count);
        Assert.Equal([first, first + 1, first + 2], answers.Calls.Keys.Order());
        Assert.Equal("accepted bob", answers.Calls[first]);
        Assert.Equal("refused " + ErrorCodes.UnknownRecipient, answers.Calls[first + 1]);
        Assert.Equal("accepted bob", answers.Calls[first + 2]);
        Assert.Equal("one", (await bobInbox.NextAsync()).Text());
        Assert.Equal("two", (await bobInbox.NextAsync()).Text());

        // The single-message API still works beside it on the same connection.
        await alice.SendTextAsync("bob", "three").WithTimeout();
        Assert.Equal("three", (await bobInbox.NextAsync()).Text());
    }

    [Fact]
    public async Task Sends_on_a_connection_that_has_ended_are_each_reported_lost_once()
    {
        TestServer server = await TestServer.StartAsync();
        await using ChatClient alice = await server.LoginAsync("alice");
        await server.DisposeAsync();
        // The read loop has seen the end (the server's close_notify, or the lost connection):
        // nothing can answer what is sent now.
        Exception? end = await Record.ExceptionAsync(() => alice.Completion.WithTimeout());
        Assert.True(end is null or ChatConnectionException, $"the read loop ended with {end}");
        Assert.True(alice.Completion.IsCompleted);
        RecordingAnswers answers = new(expected: 2);

        try
        {
            await alice.SendMessagesAsync(
            [
                new("bob", MessengerLimits.TextContentType, "a"u8.ToArray()),
                new("bob", MessengerLimits.TextContentType, "b"u8.ToArray()),
            ], answers).AsTask().WithTimeout();
        }
        catch (Exception e) when (e is IOException or ChatConnectionException)
        {
            // The write itself may fail too; either way each message is reported once.
        }
        await answers.All.WithTimeout();

        Assert.Equal(2, answers.Calls.Count);
        Assert.All(answers.Calls.Values, call => Assert.Equal("lost", call));
    }

    [Fact]
    public async Task A_client_closed_with_answers_still_due_reports_each_send_once_answered_or_lost()
    {
        // Whatever the race between the server's answers and the close, every message gets one
        // call: accepted if its answer came first, lost if the close did.
        const int Count = 200;
        await using TestServer server = await TestServer.StartAsync();
        await using ChatClient bob = await server.LoginAsync("bob", inbox: InboxExtensions.NewInbox());
        ChatClient alice = await server.LoginAsync("alice");
        RecordingAnswers answers = new(expected: Count);
        OutgoingMessage[] batch = [.. Enumerable.Range(0, Count).Select(i => new OutgoingMessage("bob", MessengerLimits.TextContentType, BitConverter.GetBytes(i)))];

        long first = await alice.SendMessagesAsync(batch, answers).AsTask().WithTimeout();
        await alice.DisposeAsync();
        await answers.All.WithTimeout();

        Assert.Equal(Enumerable.Range(0, Count).Select(i => first + i), answers.Calls.Keys.Order());
        Assert.All(answers.Calls.Values, call => Assert.True(call is "accepted bob" or "lost", call));
    }

    /// <summary>Records each answer by reference; a second answer for one reference fails the test.</summary>
    private sealed class RecordingAnswers(int expected) : ISendAnswers
    {
        private readonly TaskCompletionSource _all = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ConcurrentDictionary<long, string> Calls { get; } = new();

        public Task All => _all.Task;

        public void Accepted(long reference, SendResult result) => Record(reference, "accepted " + result.To);

        public void Refused(long reference, ChatException refusal) => Record(reference, "refused " + refusal.Code);

        public void Lost(long reference, ChatConnectionException error) => Record(reference, "lost");

        private void Record(long reference, string call)
        {
            if (!Calls.TryAdd(reference, call))
            {
                _all.TrySetException(new InvalidOperationException($"a second answer for reference {reference}: {call}"));
                return;
            }
            if (Calls.Count == expected)
            {
                _all.TrySetResult();
            }
        }
    }
}
