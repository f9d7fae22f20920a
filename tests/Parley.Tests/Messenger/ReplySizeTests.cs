using Parley.Client;
using Parley.Messaging;
using Parley.Tests.Support;

namespace Parley.Tests.Messenger;

/// <summary>
/// Every reply must fit in one record: one that would not (a list of thousands, a message stored
/// under a larger limit) is paged or answered with an error, never a disconnect.
/// </summary>
public class ReplySizeTests
{
    [Fact]
    public async Task List_works_with_thousands_of_users_online_a_page_at_a_time()
    {
        // 2,000 real logins with names of 32 characters: one unpaged reply would be ~70 KB. The
        // record limit grows with the body limit; at 32 KiB bodies it is 51,880 bytes, so this is
        // the overflow ~2,800 users cause at the default, with fewer logins to wait for.
        const int users = 2000;
        const int maxBody = 32 * 1024;
        await using TestServer server = await TestServer.StartAsync(o => o with { MaxBodyLength = maxBody });
        ChatClient[] online = new ChatClient[users];
        // Each login has its own timeout: on a busy machine the whole crowd may take longer than one.
        await Parallel.ForEachAsync(Enumerable.Range(0, users), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, _) =>
        {
            ChatClient client = await ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions).WithTimeout();
            Assert.True((await client.LoginAsync(Name(i), "correct horse", null).WithTimeout()).Success);
            online[i] = client;
        });
        try
        {
            string[] expected = [.. Enumerable.Range(0, users).Select(Name)];
            Assert.Equal(expected, await online[0].ListAsync().WithTimeout());
            Assert.Equal(expected, await online[^1].ListAsync().WithTimeout());

            await using RawMessenger raw = await RawMessenger.LoginAsync(server, "zed");
            UserList first = Assert.IsType<UserList>(await raw.RequestAsync(r => new ListRequest(r)));
            Assert.True(first.More);
            Assert.True(first.Users.Length < users);
            Assert.True(users * (Name(0).Length + 3) > MessengerLimits.RecordLimitFor(maxBody));
            Assert.True(MessengerCodec.Encode(first).Length < MessengerLimits.RecordLimitFor(maxBody));
            UserList next = Assert.IsType<UserList>(await raw.RequestAsync(r => new ListRequest(r, first.Users[^1])));
            Assert.Equal(expected[first.Users.Length], next.Users[0]);
            UserList last = Assert.IsType<UserList>(await raw.RequestAsync(r => new ListRequest(r, expected[^1])));
            Assert.Equal(["zed"], last.Users);
            Assert.False(last.More);
        }
        finally
        {
            await Task.WhenAll(online.Select(c => c.DisposeAsync().AsTask())).WithTimeout();
        }
    }

    private static string Name(int i) => $"online-user-with-long-name-{i:D5}";

    [Fact]
    public async Task Size_errors_are_replies_and_the_session_goes_on()
    {
        await using TestServer server = await TestServer.StartAsync();
        await (await server.LoginAsync("alice")).DisposeAsync();
        await using RawMessenger mallory = await RawMessenger.LoginAsync(server, "mallory");

        // A body one byte over the limit, in a record within the record limit.
        ErrorMessage tooLarge = Assert.IsType<ErrorMessage>(await mallory.SendAsync("alice", new byte[MessengerLimits.DefaultMaxBodyLength + 1]));
        Assert.Equal(ErrorCodes.MessageTooLarge, tooLarge.Code);
        ErrorMessage broadcastTooLarge = Assert.IsType<ErrorMessage>(await mallory.RequestAsync(r => new BroadcastRequest(r, "text/plain", new byte[MessengerLimits.DefaultMaxBodyLength + 1])));
        Assert.Equal(ErrorCodes.MessageTooLarge, broadcastTooLarge.Code);
        ErrorMessage longType = Assert.IsType<ErrorMessage>(await mallory.RequestAsync(r => new SendRequest(r, "alice", new string('t', 129), [1])));
        Assert.Equal(ErrorCodes.BadRequest, longType.Code);

        await mallory.SendRawAsync(new AckRequest([.. Enumerable.Range(1, 5000).Select(i => (long)i)]));
        ErrorMessage tooManyAcks = Assert.IsType<ErrorMessage>(await mallory.NextAsync());
        Assert.Equal(ErrorCodes.BadRequest, tooManyAcks.Code);
        Assert.Contains("4096", tooManyAcks.Message);

        Assert.IsType<SendResult>(await mallory.SendAsync("alice", new byte[MessengerLimits.DefaultMaxBodyLength]));
        Assert.Equal(["mallory"], Assert.IsType<UserList>(await mallory.RequestAsync(r => new ListRequest(r))).Users);
    }

    [Fact]
    public async Task A_stored_message_over_a_lowered_record_limit_is_answered_with_an_error_not_a_disconnect()
    {
        TempDirectory data = new();
        TestServer before = await TestServer.StartAsync(data: data);
        await (await before.LoginAsync("alice")).DisposeAsync();
        await using (ChatClient bob = await before.LoginAsync("bob"))
        {
            await bob.SendMessageAsync("alice", "application/octet-stream", new byte[60_000]).WithTimeout();
        }
        await before.Server.StopAsync();

        // The operator lowers the body limit: the stored message no longer fits in a record.
        await using TestServer after = await TestServer.StartAsync(o => o with { MaxBodyLength = 16 * 1024 }, data);
        after.ExpectWarnings = true; // the oversized stored record is logged as a warning
        TaskCompletionSource<ErrorMessage> notice = new(TaskCreationOptions.RunContinuationsAsynchronously);
        System.Threading.Channels.Channel<ChatMessage> inbox = InboxExtensions.NewInbox();
        ChatClient alice = await ChatClient.ConnectAsync("127.0.0.1", after.Port, after.ClientOptions);
        await using (alice)
        {
            alice.MessageHandler = message => inbox.Writer.WriteAsync(message);
            alice.NoticeHandler = error => notice.TrySetResult(error);
            Assert.True((await alice.LoginAsync("alice", "correct horse", null).WithTimeout()).Success);
            ErrorMessage error = await notice.Task.WithTimeout();
            Assert.Equal(ErrorCodes.ReplyTooLarge, error.Code);

            // The session goes on.
            await using ChatClient bob = await after.LoginAsync("bob");
            await bob.SendTextAsync("alice", "small").WithTimeout();
            Assert.Equal("small", (await inbox.NextAsync()).Text());
        }
        Assert.Contains("over the record limit", after.Log);
    }
}
