using System.Collections.Concurrent;
using Parley.Client;
using Parley.Messaging;
using Parley.Messaging.Compact;
using Parley.Tests.Support;
using Parley.Transport.Channels;

namespace Parley.Tests.Client;

/// <summary>
/// ChatClient's side of the compact form (PROTOCOL.md §11.9), against a stand-in server that
/// shows every record the client sends and sends what a real server would not: the client asks,
/// sends compactly only once agreed, and ends the connection on a record it cannot trust,
/// acknowledging nothing of it.
/// </summary>
public class ChatClientCompactTests
{
    [Fact]
    public async Task Once_agreed_the_client_sends_its_sends_and_acks_in_compact_records_and_reads_packed_replies()
    {
        (ChatClient client, SecureChannel server) = await ConnectAsync();
        await using (client)
        await using (server)
        {
            ConcurrentQueue<ChatMessage> handled = new();
            client.MessageHandler = m => { handled.Enqueue(m); return ValueTask.CompletedTask; };
            Task<LoginResult> login = client.LoginAsync("alice", "pw", null);
            Assert.Equal(CompactForm.Version, (await AnswerLoginAsync(server, compact: 1)).Compact);
            await login.WithTimeout();
            Assert.True(client.CompactAgreed);

            Task<SendResult> sending = client.SendTextAsync("bob", "hi");
            byte[] sent = await NextAsync(server);
            Assert.True(CompactForm.IsCompact(sent));
            SendRequest request = Assert.IsType<SendRequest>(new CompactReader(sent).ReadClient());
            Assert.Equal(("bob", "hi"), (request.To, System.Text.Encoding.UTF8.GetString(request.Body)));

            // The result and a message in one record, as the server packs them.
            byte[] reply = [.. CompactWriter.ToArray(new SendResult(request.Ref, 3, "bob", DeliveryStatus.Delivered))!,
                .. CompactWriter.ToArray(new ChatMessage(5, "bob", "alice", 1, "text/plain", "yo"u8.ToArray(), false, null, "b0b0b0b0b0b0"))!];
            await server.SendAsync(reply);
            Assert.Equal(3, (await sending.WithTimeout()).MessageId);

            byte[] ack = await NextAsync(server);
            Assert.True(CompactForm.IsCompact(ack));
            Assert.Equal([5L], Assert.IsType<AckRequest>(new CompactReader(ack).ReadClient()).MessageIds);
            Assert.Equal("yo", Assert.Single(handled).Text());
        }
    }

    [Fact]
    public async Task A_malformed_compact_record_ends_the_connection_and_nothing_in_it_is_handled_or_acknowledged()
    {
        (ChatClient client, SecureChannel server) = await ConnectAsync();
        await using (server)
        {
            ConcurrentQueue<ChatMessage> handled = new();
            client.MessageHandler = m => { handled.Enqueue(m); return ValueTask.CompletedTask; };
            Task<LoginResult> login = client.LoginAsync("alice", "pw", null);
            await AnswerLoginAsync(server, compact: 1);
            await login.WithTimeout();

            // A whole message, then one cut short.
            byte[] good = CompactWriter.ToArray(new ChatMessage(7, "bob", "alice", 1, "text/plain", "lost?"u8.ToArray(), false))!;
            byte[] record = [.. good, .. good.AsSpan(0, 10)];
            await server.SendAsync(record);
            ChatConnectionException ended = await Assert.ThrowsAsync<ChatConnectionException>(() => client.Completion).WithTimeout();
            Assert.Contains("not a valid compact message", ended.Message);
            Assert.Empty(handled);
            await AssertNothingMoreThanAGoodbyeAsync(client, server);
        }
    }

    [Fact]
    public async Task A_compact_record_the_client_did_not_agree_to_ends_the_connection()
    {
        (ChatClient client, SecureChannel server) = await ConnectAsync();
        await using (server)
        {
            client.UseCompactForm = false;
            ConcurrentQueue<ChatMessage> handled = new();
            client.MessageHandler = m => { handled.Enqueue(m); return ValueTask.CompletedTask; };
            Task<LoginResult> login = client.LoginAsync("alice", "pw", null);
            Assert.Null((await AnswerLoginAsync(server, compact: null)).Compact);
            await login.WithTimeout();
            Assert.False(client.CompactAgreed);

            await server.SendAsync(CompactWriter.ToArray(new ChatMessage(7, "bob", "alice", 1, "text/plain", "x"u8.ToArray(), false))!);
            ChatConnectionException ended = await Assert.ThrowsAsync<ChatConnectionException>(() => client.Completion).WithTimeout();
            Assert.Contains("not agreed", ended.Message);
            Assert.Empty(handled);
            await AssertNothingMoreThanAGoodbyeAsync(client, server);
        }
    }

    [Theory]
    [InlineData(true, 2)]  // a version above the one asked for
    [InlineData(false, 1)] // any version when none was asked for
    public async Task A_version_the_client_did_not_ask_for_fails_the_login(bool ask, int answered)
    {
        (ChatClient client, SecureChannel server) = await ConnectAsync();
        await using (client)
        await using (server)
        {
            client.UseCompactForm = ask;
            Task<LoginResult> login = client.LoginAsync("alice", "pw", null);
            await AnswerLoginAsync(server, answered);
            ChatConnectionException refused = await Assert.ThrowsAsync<ChatConnectionException>(() => login).WithTimeout();
            Assert.Contains($"compact form version {answered}", refused.Message);
        }
    }

    private static async Task<(ChatClient Client, SecureChannel Server)> ConnectAsync()
    {
        (Stream clientEnd, Stream serverEnd) = DuplexPipe.Create();
        Task<SecureChannel> server = SecureChannel.AcceptAsync(serverEnd, new ServerChannelOptions(HandshakeHarness.ServerOptions()));
        ChatClient client = await ChatClient.ConnectAsync(clientEnd, new ClientChannelOptions(new TestServer.TrustAnyServer())).WithTimeout();
        return (client, await server.WithTimeout());
    }

    /// <summary>Reads the client's login (JSON) and answers it as a server would, with <paramref name="compact"/> agreed or not.</summary>
    private static async Task<LoginRequest> AnswerLoginAsync(SecureChannel server, int? compact)
    {
        LoginRequest login = Assert.IsType<LoginRequest>(MessengerCodec.DecodeClient(await NextAsync(server)));
        await server.SendAsync(MessengerCodec.Encode(new LoginResult(true, login.User, null, false, null, 0, "0123456789abcdef0123456789abcdef", 0,
            "a1b2c3d4e5f6", null, compact)));
        return login;
    }

    private static async Task<byte[]> NextAsync(SecureChannel server) =>
        await server.ReceiveAsync().AsTask().WithTimeout() ?? throw new InvalidOperationException("the client closed the connection");

    /// <summary>After the client is disposed, the server reads the end of the connection, and no acknowledgement before it.</summary>
    private static async Task AssertNothingMoreThanAGoodbyeAsync(ChatClient client, SecureChannel server)
    {
        await client.DisposeAsync();
        try
        {
            while (await server.ReceiveAsync().AsTask().WithTimeout() is { } payload)
            {
                Assert.Fail($"the client sent a record of {payload.Length} bytes after a record it could not trust");
            }
        }
        catch (Exception e) when (e is ChannelException or Parley.Protocol.ParleyProtocolException { Error: Parley.Protocol.ProtocolError.ConnectionClosed })
        {
            // The connection ended without close_notify: nothing was sent either.
        }
    }
}
