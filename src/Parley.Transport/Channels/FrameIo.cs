// Frame-level reads and writes on a raw stream, shared by the handshake drivers and the record channel.
using System.Runtime.CompilerServices;
using Parley.Protocol;
using Parley.Protocol.Framing;

namespace Parley.Transport.Channels;

internal static class FrameIo
{
    // Rented from the pool only while bytes flow (an idle connection gives it back). A read takes
    // whatever room the buffer has; a frame larger than the buffer grows it once its header has
    // been checked against the limit.
    internal const int InitialBuffer = 2048;
    internal const int ReadChunk = 512;

    internal static async Task TrySendAsync(Stream stream, byte[] frame)
    {
        try
        {
            using CancellationTokenSource cts = new(TransportTimeouts.FarewellSend);
            await stream.WriteAsync(frame, cts.Token).ConfigureAwait(false);
            await stream.FlushAsync(cts.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or NotSupportedException)
        {
            // Best effort only.
        }
    }

    internal static CancellationTokenSource Deadline(TimeSpan timeout, CancellationToken cancellationToken)
    {
        CancellationTokenSource cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        return cts;
    }

    internal static async Task WriteAsync(Stream stream, byte[] frame, CancellationToken token, TimeSpan timeout)
    {
        try
        {
            await stream.WriteAsync(frame, token).ConfigureAwait(false);
            await stream.FlushAsync(token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            throw new ParleyProtocolException(ProtocolError.HandshakeTimeout, $"the handshake did not finish within {timeout.TotalSeconds:0.#} s");
        }
    }

    internal static async Task<ReadOnlyMemory<byte>> ReadHandshakeFrameAsync(Stream stream, FrameDecoder decoder, CancellationToken deadline, TimeSpan timeout, CancellationToken caller)
    {
        try
        {
            return await ReadFrameAsync(stream, decoder, deadline).ConfigureAwait(false)
                ?? throw new ParleyProtocolException(ProtocolError.ConnectionClosed, "the peer closed the connection during the handshake");
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !caller.IsCancellationRequested)
        {
            throw new ParleyProtocolException(ProtocolError.HandshakeTimeout, $"the handshake did not finish within {timeout.TotalSeconds:0.#} s");
        }
        catch (IOException e)
        {
            throw new ParleyProtocolException(ProtocolError.ConnectionClosed, "the connection failed during the handshake: " + e.Message, inner: e);
        }
    }

    /// <summary>Null at a clean end of stream between frames.</summary>
    internal static async Task<ReadOnlyMemory<byte>?> ReadFrameAsync(Stream stream, FrameDecoder decoder, CancellationToken cancellationToken)
    {
        // A handshake's peer answers within moments, so its frames are read straight into the
        // buffer: the zero-byte wait that spares an idle connection its buffer would cost a
        // handshake one more system call per frame (a peek before each read). The buffer held
        // meanwhile (2 KiB) lasts at most the handshake deadline; on the server the count of such
        // connections is bounded by its unauthenticated-connection limit.
        (FrameEvent Event, ReadOnlyMemory<byte> Body)? read = await ReadFrameEventAsync(stream, decoder, cancellationToken, dataReady: true).ConfigureAwait(false);
        if (read is null)
        {
            return null;
        }
        // Skipping is enabled only once the handshake is over.
        return read.Value.Event == FrameEvent.Frame ? read.Value.Body : throw new InvalidOperationException("a handshake decoder does not skip frames");
    }

    /// <summary>
    /// The next frame or skipped frame; null at a clean end of stream between frames. While a
    /// frame is skipped its bytes pass through the decoder's small buffer and are dropped.
    /// </summary>
    /// <param name="dataReady">Read at once: the caller has just waited for data (<see cref="SecureChannel.WaitForDataAsync"/>), or expects it within moments (a handshake).</param>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))] // as SecureChannel's receive path: one per record otherwise
    internal static async ValueTask<(FrameEvent Event, ReadOnlyMemory<byte> Body)?> ReadFrameEventAsync(Stream stream, FrameDecoder decoder, CancellationToken cancellationToken, bool dataReady = false)
    {
        while (true)
        {
            FrameEvent frameEvent = decoder.Read(out ReadOnlyMemory<byte> body);
            if (frameEvent != FrameEvent.NeedMoreData)
            {
                return (frameEvent, body);
            }
            if (!decoder.InsideFrame && !dataReady)
            {
                // Wait for data with a zero-byte read, holding no buffer: the decoder's goes back
                // to the pool, whatever a burst of large records grew it to.
                decoder.ReleaseBuffer();
                await stream.ReadAsync(Memory<byte>.Empty, cancellationToken).ConfigureAwait(false);
            }
            dataReady = false;
            int read = await stream.ReadAsync(decoder.GetBuffer(ReadChunk), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                if (decoder.InsideFrame)
                {
                    throw new ParleyProtocolException(ProtocolError.ConnectionClosed, $"the connection ended in the middle of a frame ({decoder.BufferedLength} bytes buffered)");
                }
                return null;
            }
            decoder.Advance(read);
        }
    }
}
