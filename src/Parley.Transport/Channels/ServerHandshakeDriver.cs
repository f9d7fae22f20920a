// The I/O loop around the sans-IO ServerHandshake: it moves handshake frames between the stream and the
// state machine under the handshake deadline, and on success hands the session to a SecureChannel.
using Parley.Protocol;
using Parley.Protocol.Framing;
using Parley.Protocol.Handshake;

namespace Parley.Transport.Channels;

internal static class ServerHandshakeDriver
{
    /// <summary>Runs the server side of the handshake over <paramref name="stream"/>.</summary>
    public static async Task<SecureChannel> RunAsync(Stream stream, ServerChannelOptions channelOptions, CancellationToken cancellationToken)
    {
        TimeSpan timeout = channelOptions.HandshakeTimeout;
        ServerHandshakeOptions options = channelOptions.Handshake;
        using ServerHandshake handshake = new(options);
        FrameDecoder decoder = new(Frame.MaxHandshakeBodyLength, FrameIo.InitialBuffer);
        using CancellationTokenSource deadline = FrameIo.Deadline(timeout, cancellationToken);
        try
        {
            while (true)
            {
                decoder.MaxBodyLength = handshake.MaxMessageLength;
                ReadOnlyMemory<byte> body = await FrameIo.ReadHandshakeFrameAsync(stream, decoder, deadline.Token, timeout, cancellationToken).ConfigureAwait(false);
                ServerHandshakeStep step = handshake.ReadMessage(body.Span);
                if (step.Session is not null)
                {
                    (stream as WebSockets.WebSocketFrameStream)?.RecordsBegin();
                    // The NewSessionTicket, if any, shares the write of the first answer (§5.8).
                    return SecureChannel.Create(stream, step.Session, decoder, null, step.ClientIdentity, resumed: step.Resumed, heldFlight: step.Send);
                }
                if (step.Send is not null)
                {
                    await FrameIo.WriteAsync(stream, step.Send, deadline.Token, timeout).ConfigureAwait(false);
                }
            }
        }
        catch (ParleyProtocolException e) when (!e.IsRemote)
        {
            await FrameIo.TrySendAsync(stream, ServerHandshake.AlertFrame(e)).ConfigureAwait(false);
            throw;
        }
    }
}
