using System.Net.Sockets;
using Parley.Messaging;
using Parley.Protocol;
using Parley.Tests.Support;
using Parley.Transport.Channels;

namespace Parley.Tests.Messenger;

/// <summary>
/// Issue 8.3: a request larger than the record limit gets a message_too_large error (ref 0) and
/// the session goes on; a client that keeps sending them is cut off after a bounded number.
/// </summary>
public class OversizeRequestTests
{
    private static async Task<SecureChannel> LoggedInChannelAsync(TestServer server, string user)
    {
        TcpClient tcp = new();
        await tcp.ConnectAsync("127.0.0.1", server.Port);
        SecureChannel channel = await SecureChannel.ConnectAsync(tcp.GetStream(), server.ClientOptions).WithTimeout();
        await channel.SendAsync(MessengerCodec.Encode(new LoginRequest(user, "correct horse", null)));
        Assert.True(Assert.IsType<LoginResult>(await NextAsync(channel)).Success);
        return channel;
    }

    private static async Task<ServerMessage?> NextAsync(SecureChannel channel)
    {
        byte[]? payload = await channel.ReceiveAsync().AsTask().WithTimeout();
        return payload is null ? null : MessengerCodec.DecodeServer(payload);
    }

    private static byte[] OversizeSend(long reference) =>
        MessengerCodec.Encode(new SendRequest(reference, "alice", MessengerLimits.TextContentType, new byte[100_000]));

    [Fact]
    public async Task A_100_kB_message_gets_message_too_large_and_the_next_request_works()
    {
        await using TestServer server = await TestServer.StartAsync();
        await using SecureChannel channel = await LoggedInChannelAsync(server, "alice");

        await channel.SendAsync(OversizeSend(1));
        ErrorMessage error = Assert.IsType<ErrorMessage>(await NextAsync(channel));
        Assert.Equal(ErrorCodes.MessageTooLarge, error.Code);
        Assert.Equal(0, error.Ref);
        Assert.Contains("limit", error.Message);

        await channel.SendAsync(MessengerCodec.Encode(new ListRequest(2)));
        UserList users = Assert.IsType<UserList>(await NextAsync(channel));
        Assert.Equal(2, users.Ref);
        Assert.Equal(["alice"], users.Users);
    }

    [Fact]
    public async Task Before_login_an_oversize_record_ends_the_connection()
    {
        await using TestServer server = await TestServer.StartAsync();
        using TcpClient tcp = new();
        await tcp.ConnectAsync("127.0.0.1", server.Port);
        await using SecureChannel channel = await SecureChannel.ConnectAsync(tcp.GetStream(), server.ClientOptions).WithTimeout();

        await channel.SendAsync(OversizeSend(1));
        ParleyProtocolException end = await Assert.ThrowsAsync<ParleyProtocolException>(() => NextAsync(channel));
        Assert.Equal(ProtocolError.FrameTooLarge, end.Error);
    }

    [Fact]
    public async Task A_client_that_keeps_sending_oversize_records_is_disconnected_after_the_bound()
    {
        await using TestServer server = await TestServer.StartAsync(o => o with { MaxOversizeRecordsPerConnection = 2 });
        await using SecureChannel channel = await LoggedInChannelAsync(server, "mallory");
        for (int i = 0; i < 2; i++)
        {
            await channel.SendAsync(OversizeSend(i));
            Assert.Equal(ErrorCodes.MessageTooLarge, Assert.IsType<ErrorMessage>(await NextAsync(channel)).Code);
        }

        await channel.SendAsync(OversizeSend(3));
        ParleyProtocolException end = await Assert.ThrowsAsync<ParleyProtocolException>(() => NextAsync(channel));
        Assert.Equal(ProtocolError.FrameTooLarge, end.Error);
        Assert.True(end.IsRemote, end.Message);
    }
}
