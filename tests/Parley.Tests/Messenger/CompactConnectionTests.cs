using System.Text;
using System.Threading.Channels;
using Parley.Client;
using Parley.Messaging;
using Parley.Messaging.Compact;
using Parley.Tests.Support;
using Parley.Transport.Channels;

namespace Parley.Tests.Messenger;

/// <summary>
/// The compact form on a real server (PROTOCOL.md §11.9): agreed only when asked, replies packed
/// several to a record within the record limit, malformed records answered without ending the
/// connection, the same checks as JSON, and compact and JSON clients talking to each other.
/// </summary>
public class CompactConnectionTests
{
    [Theory]
    [InlineData(null, null)]
    [InlineData(1, 1)]
    [InlineData(7, 1)] // a later version asked for: the server answers the one it speaks
    [InlineData(0, null)]
    public async Task The_server_agrees_to_the_version_it_speaks_only_when_asked(int? asked, int? agreed)
    {
        await using TestServer server = await TestServer.StartAsync();
        await using CompactRaw alice = await CompactRaw.ConnectAsync(server);
        LoginResult result = await alice.LoginAsync("alice", asked);
        Assert.Equal(agreed, result.Compact);
        string json = Encoding.UTF8.GetString(MessengerCodec.Encode(result));
        Assert.Equal(agreed is not null, json.Contains("\"compact\":1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Sends_in_one_compact_record_are_answered_in_compact_records_in_order()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using CompactRaw alice = await CompactRaw.ConnectAsync(server);
        await alice.LoginAsync("alice", 1);
        byte[] record = Concat(Enumerable.Range(1, 20).Select(i => CompactWriter.ToArray(new SendRequest(i, "alice", "text/plain", Encoding.UTF8.GetBytes($"m{i}")))!));
        await alice.Channel.SendAsync(record);

        List<SendResult> results = [];
        List<ChatMessage> messages = [];
        while (results.Count < 20 || messages.Count < 20)
        {
            foreach (ServerMessage m in await alice.NextCompactRecordAsync())
            {
                if (m is SendResult r) { results.Add(r); } else { messages.Add((ChatMessage)m); }
            }
        }
        Assert.Equal(Enumerable.Range(1, 20).Select(i => (long)i), results.Select(r => r.Ref).Order());
        Assert.Equal(Enumerable.Range(1, 20).Select(i => $"m{i}"), messages.Select(m => m.Text()));
        Assert.Equal(messages.Select(m => m.MessageId).Order(), messages.Select(m => m.MessageId));
        Assert.All(messages, m => Assert.NotNull(m.FromDevice));
    }

    [Fact]
    public async Task An_inbox_read_back_at_login_comes_several_to_a_record_never_above_the_record_limit()
    {
        const int maxBody = 1024;
        await using TestServer server = await TestServer.StartAsync(o => o with { MaxBodyLength = maxBody });
        await using (ChatClient alice = await server.LoginAsync("alice"))
        {
            await (await server.LoginAsync("bob")).DisposeAsync();
            Task<SendResult>[] answers = await alice.SendMessagesAsync([.. Enumerable.Range(0, 40).Select(i =>
                new OutgoingMessage("bob", "application/octet-stream", Enumerable.Repeat((byte)i, 1000).ToArray()))]).WithTimeout();
            await Task.WhenAll(answers).WithTimeout();
        }

        await using CompactRaw bob = await CompactRaw.ConnectAsync(server);
        await bob.LoginAsync("bob", 1);
        int limit = MessengerLimits.RecordLimitFor(maxBody);
        List<ChatMessage> inbox = [];
        int records = 0;
        while (inbox.Count < 40)
        {
            byte[] payload = await bob.NextPayloadAsync();
            Assert.True(CompactForm.IsCompact(payload));
            Assert.InRange(payload.Length, 1, limit);
            inbox.AddRange(CompactRaw.Read(payload).Cast<ChatMessage>());
            records++;
        }
        Assert.Equal(Enumerable.Range(0, 40).Select(i => (byte)i), inbox.Select(m => m.Body[0]));
        // 40 messages of about 1,060 bytes in records of at most 9,556: as few records as fit.
        Assert.Equal((int)Math.Ceiling(40.0 / (limit / CompactWriter.SizeOf(inbox[0]))), records);
    }

    [Fact]
    public async Task A_compact_record_without_the_agreement_is_bad_request_and_the_connection_goes_on()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using CompactRaw alice = await CompactRaw.ConnectAsync(server);
        await alice.LoginAsync("alice", null);
        await alice.Channel.SendAsync(CompactWriter.ToArray(new SendRequest(1, "alice", "text/plain", [1]))!);
        ErrorMessage error = Assert.IsType<ErrorMessage>(await alice.NextJsonAsync());
        Assert.Equal((0, ErrorCodes.BadRequest), (error.Ref, error.Code));
        Assert.Contains("not agreed at login", error.Message);

        await alice.Channel.SendAsync(MessengerCodec.Encode(new SendRequest(2, "alice", "text/plain", [2])));
        Assert.Contains(await alice.NextJsonsAsync(2), m => m is SendResult { Ref: 2 });
        // Only the JSON send was stored.
        Assert.Equal(1, await StoredMessages.CountForAsync(server, "alice"));
    }

    [Fact]
    public async Task A_malformed_message_is_answered_after_the_good_ones_before_it_and_the_rest_of_the_record_is_dropped()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using CompactRaw alice = await CompactRaw.ConnectAsync(server);
        await alice.LoginAsync("alice", 1);
        byte[] good1 = CompactWriter.ToArray(new SendRequest(1, "alice", "text/plain", [1]))!;
        byte[] good2 = CompactWriter.ToArray(new SendRequest(2, "alice", "text/plain", [2]))!;
        byte[] bad = [CompactForm.SendType, 0, 0, 0];
        byte[] dropped = CompactWriter.ToArray(new SendRequest(3, "alice", "text/plain", [3]))!;
        await alice.Channel.SendAsync(Concat([good1, good2, bad, dropped]));

        List<ServerMessage> seen = [];
        while (!seen.Any(m => m is ErrorMessage) || seen.OfType<SendResult>().Count() < 2)
        {
            seen.AddRange(await alice.NextAnyAsync());
        }
        ErrorMessage error = seen.OfType<ErrorMessage>().Single();
        Assert.Equal((0, ErrorCodes.BadRequest), (error.Ref, error.Code));
        Assert.Contains($"at byte {good1.Length + good2.Length} of the record", error.Message);
        Assert.Equal([1L, 2L], seen.OfType<SendResult>().Select(r => r.Ref).Order());

        // The connection goes on, and the message after the fault was never stored.
        await alice.Channel.SendAsync(CompactWriter.ToArray(new SendRequest(4, "alice", "text/plain", [4]))!);
        while (!seen.Any(m => m is SendResult { Ref: 4 }))
        {
            seen.AddRange(await alice.NextAnyAsync());
        }
        Assert.DoesNotContain(seen, m => m is SendResult { Ref: 3 });
        Assert.Equal(3, await StoredMessages.CountForAsync(server, "alice"));
    }

    [Fact]
    public async Task Compact_requests_get_the_same_checks_and_codes_as_json_with_their_ref()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using CompactRaw alice = await CompactRaw.ConnectAsync(server);
        await alice.LoginAsync("alice", 1);
        // One byte over max_body fits the record as compact bytes; the server still refuses it.
        (ClientMessage Request, long Ref, string Code)[] cases =
        [
            (new SendRequest(11, "", "t", []), 11, ErrorCodes.InvalidUsername),
            (new SendRequest(12, "nobody", "t", []), 12, ErrorCodes.UnknownRecipient),
            (new SendRequest(13, "alice", new string('c', 129), []), 13, ErrorCodes.BadRequest),
            (new SendRequest(14, "alice", "", []), 14, ErrorCodes.BadRequest),
            (new SendRequest(15, "alice", "t", new byte[MessengerLimits.DefaultMaxBodyLength + 1]), 15, ErrorCodes.MessageTooLarge),
            (new SendRequest(16, "alice", "t", [], ToDevice: "ffffffffffff"), 16, ErrorCodes.UnknownDevice),
            (new SendRequest(17, "alice", GroupContentTypes.Message, []), 17, ErrorCodes.BadRequest),
            (new AckRequest([]), 0, ErrorCodes.BadRequest),
            (new AckRequest(new long[MessengerLimits.MaxAckIds + 1]), 0, ErrorCodes.BadRequest),
        ];
        foreach ((ClientMessage request, long reference, string code) in cases)
        {
            await alice.Channel.SendAsync(CompactWriter.ToArray(request)!);
            ErrorMessage error = Assert.IsType<ErrorMessage>(Assert.Single(await alice.NextAnyAsync()));
            Assert.Equal((reference, code), (error.Ref, error.Code));
        }
    }

    [Fact]
    public async Task A_record_of_empty_acks_is_answered_once_not_once_per_ack()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using CompactRaw mallory = await CompactRaw.ConnectAsync(server);
        await mallory.LoginAsync("mallory", 1);
        // 30,000 three-byte empty acks: as many answers would be 30,000 sealed records for one opened.
        byte[] record = new byte[3 * 30_000];
        for (int i = 0; i < record.Length; i += 3)
        {
            record[i] = CompactForm.AckType;
        }
        await mallory.Channel.SendAsync(record);
        await mallory.Channel.SendAsync(MessengerCodec.Encode(new PingMessage()));
        ErrorMessage error = Assert.IsType<ErrorMessage>(await mallory.NextJsonAsync());
        Assert.Equal((0, ErrorCodes.BadRequest), (error.Ref, error.Code));
        Assert.Contains("at byte 0 of the record", error.Message);
        Assert.IsType<ServerPong>(await mallory.NextJsonAsync());
    }

    [Fact]
    public async Task A_client_record_holds_at_most_256_messages_and_the_rest_is_dropped_with_one_answer()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using CompactRaw alice = await CompactRaw.ConnectAsync(server);
        await alice.LoginAsync("alice", 1);
        int limit = MessengerLimits.MaxCompactMessagesPerRecord;
        await alice.Channel.SendAsync(Concat(Enumerable.Range(1, limit + 10).Select(i => CompactWriter.ToArray(new SendRequest(i, "alice", "t", [(byte)(i & 0xff)]))!)));

        List<ServerMessage> seen = [];
        while (seen.OfType<SendResult>().Count() < limit || !seen.Any(m => m is ErrorMessage))
        {
            seen.AddRange(await alice.NextAnyAsync());
        }
        ErrorMessage error = seen.OfType<ErrorMessage>().Single();
        Assert.Contains($"at most {limit} messages", error.Message);
        Assert.Equal(Enumerable.Range(1, limit).Select(i => (long)i), seen.OfType<SendResult>().Select(r => r.Ref).Order());
        Assert.Equal(limit, await StoredMessages.CountForAsync(server, "alice"));
    }

    [Fact]
    public async Task Sends_to_names_nobody_has_cost_the_senders_budget_so_a_record_of_them_cannot_make_the_server_read_its_store_freely()
    {
        // A burst of 10 and almost no refill: the record's 256 lookups would otherwise all reach the store.
        await using TestServer server = await TestServer.StartAsync(o => o with { SenderMessageBurst = 10, SenderMessagesPerSecond = 0.01, MaxBroadcastRecipients = 10 });
        await using CompactRaw mallory = await CompactRaw.ConnectAsync(server);
        await mallory.LoginAsync("mallory", 1);
        int count = MessengerLimits.MaxCompactMessagesPerRecord;
        await mallory.Channel.SendAsync(Concat(Enumerable.Range(1, count).Select(i => CompactWriter.ToArray(new SendRequest(i, $"nobody-{i}", "t", []))!)));
        List<ErrorMessage> errors = [];
        while (errors.Count < count)
        {
            errors.AddRange((await mallory.NextAnyAsync()).Cast<ErrorMessage>());
        }
        Assert.Equal(10, errors.Count(e => e.Code == ErrorCodes.UnknownRecipient));
        Assert.Equal(count - 10, errors.Count(e => e.Code == ErrorCodes.RateLimited));
        Assert.Equal(Enumerable.Range(1, count).Select(i => (long)i), errors.Select(e => e.Ref));
    }

    [Fact]
    public async Task A_batch_of_more_sends_than_a_record_may_hold_is_sent_in_several_records_and_every_send_is_answered()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using ChatClient alice = await server.LoginAsync("alice");
        Assert.True(alice.CompactAgreed);
        int count = 2 * MessengerLimits.MaxCompactMessagesPerRecord + 44;
        Task<SendResult>[] answers = await alice.SendMessagesAsync([.. Enumerable.Range(0, count).Select(i =>
            new OutgoingMessage("alice", "text/plain", [(byte)(i & 0xff)]))]).WithTimeout();
        SendResult[] results = await Task.WhenAll(answers).WithTimeout();
        Assert.Equal(count, results.Select(r => r.MessageId).Distinct().Count());
    }

    [Fact]
    public async Task Packed_records_never_pass_the_1_MiB_a_client_receives_even_when_max_body_allows_larger_records()
    {
        // max_body 1 MiB makes the messenger's record limit 1.4 MB, over §8's 1 MiB default.
        await using TestServer server = await TestServer.StartAsync(o => o with { MaxBodyLength = 1 << 20, MaxOutboxBytes = 16L << 20 });
        await (await server.LoginAsync("bob")).DisposeAsync();
        await using (ChatClient alice = await server.LoginAsync("alice"))
        {
            Assert.True(alice.CompactAgreed);
            // Packed by the client too: 30 sends of 60 kB in one batch.
            Task<SendResult>[] answers = await alice.SendMessagesAsync([.. Enumerable.Range(0, 30).Select(i =>
                new OutgoingMessage("bob", "application/octet-stream", Enumerable.Repeat((byte)i, 60_000).ToArray()))]).WithTimeout();
            await Task.WhenAll(answers).WithTimeout();
        }
        Channel<ChatMessage> inbox = InboxExtensions.NewInbox();
        await using ChatClient bob = await server.LoginAsync("bob", inbox: inbox);
        Assert.True(bob.CompactAgreed);
        for (int i = 0; i < 30; i++)
        {
            Task<ChatMessage> next = inbox.Reader.ReadAsync().AsTask();
            Assert.Same(next, await Task.WhenAny(next, bob.Completion).WithTimeout());
            Assert.Equal((byte)i, (await next).Body[0]);
        }
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public async Task Compact_and_json_clients_exchange_the_same_messages(bool aliceCompact, bool bobCompact)
    {
        await using TestServer server = await TestServer.StartAsync();
        Channel<ChatMessage> aliceInbox = InboxExtensions.NewInbox(), bobInbox = InboxExtensions.NewInbox();
        await using ChatClient alice = await LoginAsync(server, "alice", aliceCompact, aliceInbox);
        await using ChatClient bob = await LoginAsync(server, "bob", bobCompact, bobInbox);
        Assert.Equal((aliceCompact, bobCompact), (alice.CompactAgreed, bob.CompactAgreed));

        SendResult toBob = await alice.SendToDeviceAsync("bob", bob.DeviceId!, "application/vnd.parley.e2e", [0, 1, 255]).WithTimeout();
        SendResult toAlice = await bob.SendTextAsync("alice", "hi, alice").WithTimeout();
        ChatMessage atBob = await bobInbox.NextAsync();
        ChatMessage atAlice = await aliceInbox.NextAsync();

        Assert.Equal((toBob.MessageId, "alice", "bob", bob.DeviceId, alice.DeviceId, false), (atBob.MessageId, atBob.From, atBob.To, atBob.ToDevice, atBob.FromDevice, atBob.Broadcast));
        Assert.Equal(new byte[] { 0, 1, 255 }, atBob.Body);
        Assert.Equal((toAlice.MessageId, "hi, alice", bob.DeviceId), (atAlice.MessageId, atAlice.Text(), atAlice.FromDevice));
        Assert.NotNull(toBob.Devices);

        // Acknowledged in either form: on the next login (which waits for earlier acks), the
        // first message is one sent after it, not the one handled above.
        await alice.CloseAsync();
        await bob.CloseAsync();
        foreach ((string user, bool compact) in new[] { ("alice", aliceCompact), ("bob", bobCompact) })
        {
            Channel<ChatMessage> inbox = InboxExtensions.NewInbox();
            await using ChatClient again = await LoginAsync(server, user, compact, inbox);
            await again.SendTextAsync(user, "after").WithTimeout();
            Assert.Equal("after", (await inbox.NextAsync()).Text());
        }
    }

    private static async Task<ChatClient> LoginAsync(TestServer server, string user, bool compact, Channel<ChatMessage> inbox)
    {
        ChatClient client = await ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions).WithTimeout();
        client.UseCompactForm = compact;
        client.MessageHandler = message => inbox.Writer.WriteAsync(message);
        Assert.True((await client.LoginAsync(user, "correct horse", null).WithTimeout()).Success);
        return client;
    }

    private static byte[] Concat(IEnumerable<byte[]> parts) => [.. parts.SelectMany(p => p)];

    /// <summary>A connection that logs in with or without the compact form and shows every record as it came.</summary>
    private sealed class CompactRaw(SecureChannel channel) : IAsyncDisposable
    {
        public SecureChannel Channel => channel;

        public static async Task<CompactRaw> ConnectAsync(TestServer server)
        {
            System.Net.Sockets.TcpClient tcp = new();
            await tcp.ConnectAsync("127.0.0.1", server.Port);
            return new CompactRaw(await SecureChannel.ConnectAsync(tcp.GetStream(), server.ClientOptions).WithTimeout());
        }

        public async Task<LoginResult> LoginAsync(string user, int? compact)
        {
            await channel.SendAsync(MessengerCodec.Encode(new LoginRequest(user, "correct horse", null, Compact: compact)));
            LoginResult result = Assert.IsType<LoginResult>(await NextJsonAsync());
            Assert.True(result.Success, result.Error);
            return result;
        }

        public async Task<byte[]> NextPayloadAsync() =>
            await channel.ReceiveAsync().AsTask().WithTimeout() ?? throw new InvalidOperationException("the server closed the connection");

        public async Task<ServerMessage> NextJsonAsync()
        {
            byte[] payload = await NextPayloadAsync();
            Assert.False(CompactForm.IsCompact(payload));
            return MessengerCodec.DecodeServer(payload);
        }

        public async Task<List<ServerMessage>> NextJsonsAsync(int count)
        {
            List<ServerMessage> messages = [];
            for (int i = 0; i < count; i++)
            {
                messages.Add(await NextJsonAsync());
            }
            return messages;
        }

        public async Task<List<ServerMessage>> NextCompactRecordAsync()
        {
            byte[] payload = await NextPayloadAsync();
            Assert.True(CompactForm.IsCompact(payload));
            return Read(payload);
        }

        public async Task<List<ServerMessage>> NextAnyAsync()
        {
            byte[] payload = await NextPayloadAsync();
            return CompactForm.IsCompact(payload) ? Read(payload) : [MessengerCodec.DecodeServer(payload)];
        }

        public static List<ServerMessage> Read(byte[] payload)
        {
            List<ServerMessage> messages = [];
            CompactReader reader = new(payload);
            while (!reader.AtEnd)
            {
                messages.Add(reader.ReadServer());
            }
            return messages;
        }

        public ValueTask DisposeAsync() => channel.DisposeAsync();
    }
}
