using Parley.Messaging;
using Parley.Server.Delivery;
using Parley.Tests.Support;
using Parley.Transport.Channels;

namespace Parley.Tests.Messenger;

/// <summary>
/// What an idle, logged-in connection holds on the server (BENCHMARKS.md §2 (c)): no receive
/// buffer while it waits, and no cipher contexts once quiet for ServerOptions.ReleaseIdleStateAfter.
/// Observed through the connection's own counters, never through timing.
/// </summary>
public class IdleConnectionFootprintTests
{
    private static async Task<SecureChannel> LoggedInChannelAsync(TestServer server, string user)
    {
        System.Net.Sockets.TcpClient tcp = new();
        await tcp.ConnectAsync("127.0.0.1", server.Port);
        SecureChannel channel = await SecureChannel.ConnectAsync(tcp.GetStream(), server.ClientOptions).WithTimeout();
        await channel.SendAsync(MessengerCodec.Encode(new LoginRequest(user, user + " password", null)));
        Assert.True(Assert.IsType<LoginResult>(await NextAsync(channel)).Success);
        return channel;
    }

    private static async Task<ServerMessage?> NextAsync(SecureChannel channel)
    {
        byte[]? payload = await channel.ReceiveAsync().AsTask().WithTimeout();
        return payload is null ? null : MessengerCodec.DecodeServer(payload);
    }

    private static async Task WaitUntilAsync(Func<bool> condition, Func<string> what)
    {
        using CancellationTokenSource deadline = new(TestTimeouts.Event);
        while (!condition())
        {
            try
            {
                await Task.Delay(10, deadline.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail("timed out waiting: " + what());
            }
        }
    }

    [Fact]
    public async Task A_quiet_connection_gives_back_its_buffer_and_cipher_contexts_and_works_after()
    {
        // The sweep runs on the server's clock: the connection turns idle when the test says so.
        ManualClock clock = new();
        await using TestServer server = await TestServer.StartAsync(o => o with
        {
            Time = clock,
            KeepAliveInterval = TimeSpan.FromMinutes(10),
            IdleTimeout = TimeSpan.FromMinutes(30),
            ReleaseIdleStateAfter = TimeSpan.FromSeconds(2),
        });
        await using SecureChannel channel = await LoggedInChannelAsync(server, "idler");
        await channel.SendAsync(MessengerCodec.Encode(new PingMessage()));
        Assert.IsType<ServerPong>(await NextAsync(channel));
        Assert.True(server.Server.Presence.TryGet("idler", out ClientConnection connection));

        // Waiting for the next request, the reader holds no buffer; the contexts stay until the sweep.
        await WaitUntilAsync(() => !connection.IdleFootprint.ReceiveBuffer, () => $"footprint {connection.IdleFootprint}");
        Assert.Equal(2, connection.IdleFootprint.CipherContexts);

        // Quiet for the release period: the sweep's next tick frees both contexts.
        clock.Advance(TimeSpan.FromSeconds(3));
        await WaitUntilAsync(() => connection.IdleFootprint.CipherContexts == 0, () => $"footprint {connection.IdleFootprint}");

        // The connection is as good as before: records after the release open and seal with the same keys.
        for (int i = 0; i < 3; i++)
        {
            await channel.SendAsync(MessengerCodec.Encode(new PingMessage()));
            Assert.IsType<ServerPong>(await NextAsync(channel));
        }
        await WaitUntilAsync(() => !connection.IdleFootprint.ReceiveBuffer, () => $"footprint {connection.IdleFootprint}");
    }

    [Fact]
    public async Task Half_a_record_keeps_its_buffer_and_the_rest_completes_it()
    {
        // A peer that sends part of a record and pauses (as a slow network or an attacker would):
        // the bytes already received are kept, never dropped with the buffer, and the record opens
        // once the rest arrives.
        await using TestServer server = await TestServer.StartAsync();
        System.Net.Sockets.TcpClient tcp = new();
        await tcp.ConnectAsync("127.0.0.1", server.Port);
        SplittingStream split = new(tcp.GetStream());
        await using SecureChannel channel = await SecureChannel.ConnectAsync(split, server.ClientOptions).WithTimeout();
        await channel.SendAsync(MessengerCodec.Encode(new LoginRequest("halves", "halves password", null)));
        Assert.True(Assert.IsType<LoginResult>(await NextAsync(channel)).Success);
        Assert.True(server.Server.Presence.TryGet("halves", out ClientConnection connection));

        split.HoldBack = 7;
        await channel.SendAsync(MessengerCodec.Encode(new PingMessage()));
        await WaitUntilAsync(() => connection.IdleFootprint.ReceiveBuffer, () => "the first part was never read");
        await split.ReleaseAsync();
        Assert.IsType<ServerPong>(await NextAsync(channel));
    }

    /// <summary>Writes all but the last <see cref="HoldBack"/> bytes of the next write, and those on <see cref="ReleaseAsync"/>.</summary>
    private sealed class SplittingStream(Stream inner) : PassThroughStream(inner)
    {
        private byte[] _held = [];

        public int HoldBack { get; set; }

        public async Task ReleaseAsync()
        {
            await Inner.WriteAsync(_held);
            await Inner.FlushAsync();
            _held = [];
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (HoldBack > 0 && buffer.Length > HoldBack)
            {
                _held = buffer[^HoldBack..].ToArray();
                buffer = buffer[..^HoldBack];
                HoldBack = 0;
            }
            await Inner.WriteAsync(buffer, cancellationToken);
        }
    }
}
