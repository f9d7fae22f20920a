using System.Net.Sockets;
using Parley.Protocol.Framing;
using Parley.Tests.Support;
using Parley.Transport.Channels;

namespace Parley.Tests.Transport;

/// <summary>
/// The receive the server's reader uses after a wake-up instead of asking the kernel how much is
/// there: over real loopback sockets, it never waits, and it holds no buffer when nothing came.
/// </summary>
public class ReceiveWithoutWaitingTests
{
    [Fact]
    public async Task Nothing_there_returns_at_once_and_leaves_no_buffer_held()
    {
        using Loopback loopback = new();
        (NetworkStream client, NetworkStream server) = await loopback.ConnectAsync();
        FrameDecoder decoder = new(initialCapacity: 2048);

        Assert.Equal(ReceiveWithoutWaiting.Outcome.NothingThere, ReceiveWithoutWaiting.Into(server.Socket, decoder, 512));
        Assert.False(decoder.HoldsBuffer);
        Assert.Equal(0, decoder.BufferedLength);
        GC.KeepAlive(client);
    }

    [Fact]
    public async Task Bytes_there_go_into_the_decoder_and_the_socket_still_reads_and_writes_asynchronously()
    {
        using Loopback loopback = new();
        (NetworkStream client, NetworkStream server) = await loopback.ConnectAsync();
        FrameDecoder decoder = new(initialCapacity: 2048);
        byte[] sent = Enumerable.Range(0, 300).Select(i => unchecked((byte)i)).ToArray();
        await client.WriteAsync(sent);

        // Wait for the bytes the way the server does (a zero-byte read), then take them.
        List<ReceiveWithoutWaiting.Outcome> outcomes = [];
        while (decoder.BufferedLength < sent.Length)
        {
            await server.ReadAsync(Memory<byte>.Empty).AsTask().WithTimeout();
            outcomes.Add(ReceiveWithoutWaiting.Into(server.Socket, decoder, 512));
        }
        Assert.Contains(ReceiveWithoutWaiting.Outcome.Received, outcomes);
        Assert.DoesNotContain(ReceiveWithoutWaiting.Outcome.EndOfStream, outcomes);
        Assert.Equal(sent, decoder.Buffered.ToArray());

        // The socket is non-blocking for synchronous calls now; asynchronous I/O is as before.
        await server.WriteAsync("pong"u8.ToArray());
        byte[] pong = new byte[4];
        await client.ReadExactlyAsync(pong).AsTask().WithTimeout();
        Assert.Equal("pong"u8.ToArray(), pong);
        await client.WriteAsync("more"u8.ToArray());
        byte[] more = new byte[4];
        await server.ReadExactlyAsync(more).AsTask().WithTimeout();
        Assert.Equal("more"u8.ToArray(), more);
    }

    [Fact]
    public async Task The_end_of_the_stream_is_reported_as_such()
    {
        using Loopback loopback = new();
        (NetworkStream client, NetworkStream server) = await loopback.ConnectAsync();
        FrameDecoder decoder = new(initialCapacity: 2048);
        client.Socket.Shutdown(SocketShutdown.Send);
        await server.ReadAsync(Memory<byte>.Empty).AsTask().WithTimeout();

        Assert.Equal(ReceiveWithoutWaiting.Outcome.EndOfStream, ReceiveWithoutWaiting.Into(server.Socket, decoder, 512));
        Assert.False(decoder.HoldsBuffer);
    }
}
