using Parley.Client;
using Parley.Messaging;
using Parley.Server.Delivery;
using Parley.Tests.Support;

namespace Parley.Tests.Messenger;

/// <summary>A recipient that stops reading can make the server hold only a bounded number of bytes for it.</summary>
public class OutboxBytesTests
{
    [Fact]
    public async Task A_stalled_reader_pins_no_more_than_the_outbox_bound_and_still_gets_everything()
    {
        const long bound = 1024 * 1024;
        await using TestServer server = await TestServer.StartAsync(o => o with
        {
            MaxOutboxBytes = bound,
            // Only the outbox is under test: the sender's rate must not stop the flood first.
            SenderByteBurst = 64L * 1024 * 1024,
        });
        TaskCompletionSource unblock = new(TaskCreationOptions.RunContinuationsAsynchronously);
        TaskCompletionSource sawLast = new(TaskCreationOptions.RunContinuationsAsynchronously);
        List<long> stalledSaw = [];
        ChatClient stalled = await ChatClient.ConnectAsync("127.0.0.1", server.Port, server.ClientOptions);
        stalled.MessageHandler = async message =>
        {
            await unblock.Task;
            stalledSaw.Add(message.MessageId);
            if (message.Body.Length == 4)
            {
                sawLast.TrySetResult();
            }
        };
        Assert.True((await stalled.LoginAsync("sloth", "correct horse", null).WithTimeout()).Success);
        Assert.True(server.Server.Presence.TryGet("sloth", out ClientConnection connection));

        // Far more than the socket buffers and the bound together: 300 × 64 KiB ≈ 19 MiB.
        await using ChatClient flood = await server.LoginAsync("flood");
        byte[] body = new byte[MessengerLimits.DefaultMaxBodyLength];
        List<long> sent = [];
        for (int i = 0; i < 300; i++)
        {
            sent.Add((await flood.SendMessageAsync("sloth", "application/octet-stream", body).WithTimeout()).MessageId);
            Assert.True(connection.HeldBodyBytes <= bound, $"{connection.HeldBodyBytes} bytes held for the stalled reader");
        }
        Assert.True(connection.PeakHeldBodyBytes <= bound, $"peak {connection.PeakHeldBodyBytes} bytes held, bound {bound}");
        // The bound was reached, not avoided: live delivery filled it and the rest stayed in the store.
        Assert.True(connection.PeakHeldBodyBytes > bound / 2, $"peak {connection.PeakHeldBodyBytes} bytes: the test did not fill the outbox");

        unblock.SetResult();
        long last = (await flood.SendMessageAsync("sloth", "application/octet-stream", "last"u8.ToArray()).WithTimeout()).MessageId;
        await sawLast.Task.WithTimeout();
        Assert.Equal([.. sent, last], stalledSaw);
        Assert.True(connection.PeakHeldBodyBytes <= bound, $"peak {connection.PeakHeldBodyBytes} bytes held while catching up, bound {bound}");
        await stalled.DisposeAsync();
    }
}
