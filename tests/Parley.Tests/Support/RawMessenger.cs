using Parley.Messaging;
using Parley.Transport.Channels;

namespace Parley.Tests.Support;

/// <summary>A logged-in messenger connection without the chat client, to see every field of a reply.</summary>
public sealed class RawMessenger(SecureChannel channel) : IAsyncDisposable
{
    private long _nextRef;

    public static async Task<RawMessenger> LoginAsync(TestServer server, string user, string password = "correct horse")
    {
        System.Net.Sockets.TcpClient tcp = new();
        await tcp.ConnectAsync("127.0.0.1", server.Port);
        SecureChannel channel = await SecureChannel.ConnectAsync(tcp.GetStream(), server.ClientOptions).WithTimeout();
        RawMessenger raw = new(channel);
        await channel.SendAsync(MessengerCodec.Encode(new LoginRequest(user, password, null)));
        LoginResult result = Assert.IsType<LoginResult>(await raw.NextAsync());
        Assert.True(result.Success, result.Error);
        return raw;
    }

    /// <summary>Sends <paramref name="request"/> (built with a fresh ref) and returns the reply naming that ref.</summary>
    public async Task<ServerMessage> RequestAsync(Func<long, ClientMessage> request)
    {
        long reference = ++_nextRef;
        await channel.SendAsync(MessengerCodec.Encode(request(reference)));
        while (true)
        {
            ServerMessage message = await NextAsync();
            long? replyRef = message switch
            {
                SendResult r => r.Ref,
                BroadcastResult r => r.Ref,
                UserList r => r.Ref,
                ErrorMessage r => r.Ref,
                _ => null,
            };
            if (replyRef == reference)
            {
                return message;
            }
        }
    }

    public Task<ServerMessage> SendAsync(string to, byte[] body) =>
        RequestAsync(reference => new SendRequest(reference, to, "application/octet-stream", body));

    public async Task SendRawAsync(ClientMessage message) => await channel.SendAsync(MessengerCodec.Encode(message));

    public async Task<ServerMessage> NextAsync()
    {
        byte[] payload = await channel.ReceiveAsync().AsTask().WithTimeout() ?? throw new InvalidOperationException("the server closed the connection");
        return MessengerCodec.DecodeServer(payload);
    }

    public ValueTask DisposeAsync() => channel.DisposeAsync();
}
