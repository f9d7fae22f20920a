using System.Threading.Channels;
using Parley.Client;
using Parley.Client.EndToEnd;
using Parley.Messaging;

namespace Parley.Tests.Support;

/// <summary>A logged-in client with its end-to-end keys; everything that arrives is opened into <see cref="Inbox"/>.</summary>
internal sealed class E2eTestDevice(ChatClient client, E2eDevice keys, Channel<E2eIncoming> inbox, string token) : IAsyncDisposable
{
    public ChatClient Client { get; } = client;
    public E2eDevice Keys { get; } = keys;
    public Channel<E2eIncoming> Inbox { get; } = inbox;
    public string Token { get; } = token;
    public string Id => Client.DeviceId!;

    public async Task<E2eIncoming> NextAsync() => await Inbox.Reader.ReadAsync().AsTask().WithTimeout();

    public ValueTask DisposeAsync() => Client.DisposeAsync();

    /// <summary>Logs a device in (a new one, or again with its token) and opens what arrives with its keys; a new device publishes its keys.</summary>
    public static async Task<E2eTestDevice> ConnectAsync(TestServer server, string user, E2eDevice? keys = null, string? token = null, Channel<E2eIncoming>? inbox = null)
    {
        keys ??= E2eDevice.Create(user);
        inbox ??= Channel.CreateUnbounded<E2eIncoming>();
        ChatClient client = await ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions).WithTimeout();
        E2eDevice opener = keys;
        Channel<E2eIncoming> target = inbox;
        client.MessageHandler = m => target.Writer.WriteAsync(opener.Open(m));
        LoginResult login = await client.LoginAsync(user, token is null ? "correct horse" : null, token).WithTimeout();
        Assert.True(login.Success, login.Error);
        if (token is null)
        {
            await keys.PublishAsync(client).WithTimeout();
        }
        return new E2eTestDevice(client, keys, inbox, token ?? login.DeviceToken!);
    }
}
