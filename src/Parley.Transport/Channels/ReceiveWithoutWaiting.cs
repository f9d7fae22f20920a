// After a zero-byte read wakes a waiting connection, take what the socket holds in one receive
// that cannot block, instead of asking how much is there (FIONREAD) and then receiving it.
using System.Net.Sockets;
using Parley.Protocol.Framing;

namespace Parley.Transport.Channels;

internal static class ReceiveWithoutWaiting
{
    internal enum Outcome
    {
        /// <summary>Bytes went into the decoder.</summary>
        Received,

        /// <summary>The peer ended the stream (the next read says so again).</summary>
        EndOfStream,

        /// <summary>Nothing was there: the wake was a readiness left over from an earlier read.</summary>
        NothingThere,
    }

    /// <summary>
    /// One non-blocking receive into <paramref name="decoder"/>'s buffer. When nothing is there the
    /// buffer goes back to the pool, so a connection that waits again holds none.
    /// </summary>
    /// <exception cref="IOException">The connection failed (the socket's error inside).</exception>
    internal static Outcome Into(Socket socket, FrameDecoder decoder, int readChunk)
    {
        // The socket is non-blocking underneath already (asynchronous I/O); this makes a synchronous
        // receive return WouldBlock instead of waiting. Asynchronous reads and writes are unaffected.
        if (socket.Blocking)
        {
            socket.Blocking = false;
        }
        Memory<byte> room = decoder.GetBuffer(readChunk);
        int received = socket.Receive(room.Span, SocketFlags.None, out SocketError error);
        switch (error)
        {
            case SocketError.Success when received > 0:
                decoder.Advance(received);
                return Outcome.Received;
            case SocketError.Success:
                decoder.ReleaseBuffer();
                return Outcome.EndOfStream;
            case SocketError.WouldBlock:
                decoder.ReleaseBuffer();
                return Outcome.NothingThere;
            default:
                decoder.ReleaseBuffer();
                throw new IOException("receiving failed: " + error, new SocketException((int)error));
        }
    }
}
