using System.Net.Sockets;
using Parley.Protocol;
using Parley.Protocol.Framing;
using Parley.Protocol.Handshake;
using Parley.Tests.Support;
using Parley.Transport.Channels;
using Parley.Transport.Trust;

namespace Parley.Tests.Transport;

/// <summary>Every way the connection under a channel can fail surfaces as one ChannelException.</summary>
public class ChannelExceptionTests
{
    private sealed class TrustAll : IServerTrust
    {
        public ValueTask<TrustDecision> CheckAsync(PeerIdentity identity, CancellationToken cancellationToken) =>
            ValueTask.FromResult(TrustDecision.Accept("test"));
    }

    private static async Task<(SecureChannel Client, SecureChannel Server, NetworkStream ClientStream)> Connect(Loopback loopback)
    {
        (NetworkStream c, NetworkStream s) = await loopback.ConnectAsync();
        Task<SecureChannel> server = SecureChannel.AcceptAsync(s, new ServerChannelOptions(HandshakeHarness.ServerOptions()));
        SecureChannel client = await SecureChannel.ConnectAsync(c, new ClientChannelOptions(new TrustAll())).WithTimeout();
        return (client, await server.WithTimeout(), c);
    }

    [Fact]
    public async Task The_server_channel_options_carry_the_handshake_and_messages_flow()
    {
        using Loopback loopback = new();
        (SecureChannel client, SecureChannel server, _) = await Connect(loopback);
        await using (client)
        await using (server)
        {
            await client.SendAsync("over ServerChannelOptions"u8.ToArray());
            Assert.Equal("over ServerChannelOptions"u8.ToArray(), await server.ReceiveAsync().AsTask().WithTimeout());
        }
    }

    [Fact]
    public async Task A_reset_connection_is_a_channel_exception_wrapping_the_socket_error()
    {
        using Loopback loopback = new();
        (SecureChannel client, SecureChannel server, NetworkStream clientStream) = await Connect(loopback);
        await using (server)
        {
            // Linger zero: closing sends RST instead of FIN.
            clientStream.Socket.LingerState = new LingerOption(true, 0);
            clientStream.Socket.Close();
            ChannelException error = await Assert.ThrowsAsync<ChannelException>(() => server.ReceiveAsync().AsTask().WithTimeout());
            Assert.Contains("receiving", error.Message);
            Assert.IsAssignableFrom<IOException>(error.InnerException);
            await client.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_peer_that_vanishes_mid_record_is_a_channel_exception()
    {
        using Loopback loopback = new();
        (SecureChannel client, SecureChannel server, NetworkStream clientStream) = await Connect(loopback);
        await using (server)
        {
            // Half of a record, then the peer is gone.
            byte[] frame = Frame.Wrap(new byte[200]);
            await clientStream.WriteAsync(frame.AsMemory(0, 100));
            clientStream.Socket.Shutdown(SocketShutdown.Send);
            ChannelException error = await Assert.ThrowsAsync<ChannelException>(() => server.ReceiveAsync().AsTask().WithTimeout());
            Assert.Contains("vanished in the middle of a record", error.Message);
            ParleyProtocolException cause = Assert.IsType<ParleyProtocolException>(error.InnerException);
            Assert.Equal(ProtocolError.ConnectionClosed, cause.Error);
            await client.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_disposed_channel_is_a_channel_exception_for_send_receive_and_close()
    {
        using Loopback loopback = new();
        (SecureChannel client, SecureChannel server, _) = await Connect(loopback);
        await using (client)
        {
            await server.DisposeAsync();
            ChannelException send = await Assert.ThrowsAsync<ChannelException>(() => server.SendAsync("late"u8.ToArray()).AsTask().WithTimeout());
            Assert.Contains("disposed while sending", send.Message);
            Assert.IsType<ObjectDisposedException>(send.InnerException);
            ChannelException receive = await Assert.ThrowsAsync<ChannelException>(() => server.ReceiveAsync().AsTask().WithTimeout());
            Assert.IsType<ObjectDisposedException>(receive.InnerException);
        }
    }

    [Fact]
    public async Task Sending_after_close_is_a_channel_exception()
    {
        using Loopback loopback = new();
        (SecureChannel client, SecureChannel server, _) = await Connect(loopback);
        await using (client)
        await using (server)
        {
            await client.CloseAsync();
            ChannelException error = await Assert.ThrowsAsync<ChannelException>(() => client.SendAsync("after close"u8.ToArray()).AsTask().WithTimeout());
            Assert.IsType<InvalidOperationException>(error.InnerException);
            Assert.Contains("closed for sending", error.Message);
        }
    }

    [Fact]
    public async Task The_callers_own_cancellation_stays_an_operation_canceled_exception()
    {
        using Loopback loopback = new();
        (SecureChannel client, SecureChannel server, _) = await Connect(loopback);
        await using (client)
        await using (server)
        {
            using CancellationTokenSource cancel = new();
            Task<byte[]?> receive = server.ReceiveAsync(cancel.Token).AsTask();
            await cancel.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => receive.WithTimeout());
        }
    }
}
