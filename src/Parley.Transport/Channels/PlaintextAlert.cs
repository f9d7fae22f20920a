using System.Net.Sockets;
using Parley.Protocol;
using Parley.Protocol.Framing;
using Parley.Protocol.Handshake;
using Parley.Transport;

namespace Parley.Transport.Channels;

/// <summary>
/// The one frame sent before any handshake: a plaintext alert refusing a connection (PROTOCOL.md),
/// so Hosting never writes raw frames itself.
/// </summary>
public static class PlaintextAlert
{
    /// <summary>
    /// Sends the alert without blocking (a refused peer that does not read cannot hold the
    /// caller) and shuts the socket down; a peer already gone is not an error.
    /// </summary>
    public static void TrySendAndShutdown(Socket socket, ProtocolError error, string reason)
    {
        ArgumentNullException.ThrowIfNull(socket);
        try
        {
            socket.Blocking = false;
            socket.Send(Frame.Wrap(new Alert(error, reason).EncodeMessage()), SocketFlags.None, out _);
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Gone already; closing is all that is left.
        }
    }

    /// <summary>
    /// The same refusal on any stream (a WebSocket, a test pipe): written with a short deadline so
    /// a peer that does not read cannot hold the caller; a peer already gone is not an error.
    /// The caller disposes the stream.
    /// </summary>
    public static async Task TrySendAsync(Stream stream, ProtocolError error, string reason)
    {
        ArgumentNullException.ThrowIfNull(stream);
        try
        {
            using CancellationTokenSource deadline = new(TransportTimeouts.FarewellSend);
            await stream.WriteAsync(Frame.Wrap(new Alert(error, reason).EncodeMessage()), deadline.Token).ConfigureAwait(false);
            await stream.FlushAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or NotSupportedException)
        {
            // Gone already, or not reading: closing is all that is left.
        }
    }
}
