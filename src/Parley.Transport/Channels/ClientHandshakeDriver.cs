// The I/O loop around the sans-IO ClientHandshake: it moves handshake frames between the stream and the
// state machine under the handshake deadline, and on success hands the session to a SecureChannel.
using Parley.Protocol;
using Parley.Protocol.Framing;
using Parley.Protocol.Handshake;
using Parley.Transport.Diagnosis;
using Parley.Transport.Trust;

namespace Parley.Transport.Channels;

internal static class ClientHandshakeDriver
{
    /// <summary>Runs the client side of the handshake over <paramref name="stream"/>.</summary>
    /// <exception cref="ParleyProtocolException">The handshake failed; the server was told why where possible.</exception>
    /// <exception cref="HostKeyMismatchException">The trust policy found a changed server key.</exception>
    public static async Task<SecureChannel> RunAsync(Stream stream, ClientChannelOptions options, CancellationToken cancellationToken = default)
    {
        // A ticket is used once whatever happens: taken from the store now, wiped when this ends.
        using ResumptionTicket? ticket = options.Tickets?.Take();
        ClientHandshakeOptions handshakeOptions = options.Tickets is null
            ? options.Handshake
            : options.Handshake with { AcceptSessionTickets = true, Resumption = ticket };
        using ClientHandshake handshake = new(handshakeOptions, options.Entropy);
        FrameDecoder decoder = new(Frame.MaxHandshakeBodyLength, FrameIo.InitialBuffer);
        // Until the server's first message has been read, a failure may mean it is no Parley server at all.
        bool answered = false;
        try
        {
            await FrameIo.WriteAsync(stream, handshake.Start(), cancellationToken, options.HandshakeTimeout).ConfigureAwait(false);
            using CancellationTokenSource deadline = FrameIo.Deadline(options.HandshakeTimeout, cancellationToken);
            PeerIdentity? identity = null;
            while (identity is null)
            {
                ReadOnlyMemory<byte> body = await FrameIo.ReadHandshakeFrameAsync(stream, decoder, deadline.Token, options.HandshakeTimeout, cancellationToken).ConfigureAwait(false);
                ClientHandshakeStep step = handshake.ReadMessage(body.Span);
                answered = true;
                if (step.Send is not null)
                {
                    await FrameIo.WriteAsync(stream, step.Send, deadline.Token, options.HandshakeTimeout).ConfigureAwait(false);
                }
                identity = step.ServerIdentity;
            }
            TrustDecision decision;
            try
            {
                decision = await options.ServerTrust.CheckAsync(identity, cancellationToken).ConfigureAwait(false);
            }
            catch (HostKeyMismatchException)
            {
                // Tell the server why we are leaving, then let the loud local error through.
                await FrameIo.TrySendAsync(stream, handshake.Reject(ProtocolError.UntrustedPeer, "the client has a different key pinned for this server")).ConfigureAwait(false);
                throw;
            }
            if (!decision.Trusted)
            {
                await FrameIo.TrySendAsync(stream, handshake.Reject(ProtocolError.UntrustedPeer, "the client does not trust this server key")).ConfigureAwait(false);
                throw new ParleyProtocolException(ProtocolError.UntrustedPeer, decision.Reason);
            }
            ClientHandshakeResult result = handshake.Confirm();
            // Finished (and a ClientIdentity) go out with the first record the caller sends right
            // away (a login), else on their own as soon as the caller has returned (§5.4).
            SecureChannel channel = SecureChannel.Create(stream, result.Session, decoder, identity, resumed: result.Resumed,
                pendingTicket: result.Resumption is { } resumption ? new PendingTicket(resumption, options.Tickets!, handshakeOptions.Clock) : null,
                heldFlight: result.Send);
            channel.WriteHeldFlightSoon(options.HandshakeTimeout);
            return channel;
        }
        catch (ParleyProtocolException e) when (e.IsRemote && handshake.OfferedTicket && !handshake.Resumed)
        {
            // A server from before resumption refuses the ResumingClientHello (unexpected_message):
            // the caller may connect again, and with the ticket gone it runs a full handshake.
            throw new ParleyProtocolException(e.Error, e.Detail, isRemote: true, inner: e) { Unauthenticated = e.Unauthenticated, DuringResumption = true };
        }
        catch (ParleyProtocolException e) when (!e.IsRemote && handshake.State != ClientHandshakeState.Complete && e.Error != ProtocolError.UntrustedPeer)
        {
            await FrameIo.TrySendAsync(stream, Frame.Wrap(new Alert(e.Error, e.Detail).EncodeMessage())).ConfigureAwait(false);
            if (!answered && Foreign(e, decoder) is { } what)
            {
                throw new NotParleyException(what, e);
            }
            throw;
        }
    }

    /// <summary>
    /// What the first answer looked like, when the error shows it was not a Parley server's: a
    /// length no handshake message has (text read as a number), a first byte that is no handshake
    /// type, a close or a deadline with not one byte received. Null for errors a Parley server can cause.
    /// </summary>
    private static string? Foreign(ParleyProtocolException e, FrameDecoder decoder) => e.Error switch
    {
        ProtocolError.FrameTooLarge or ProtocolError.EmptyFrame or ProtocolError.UnexpectedMessage =>
            ForeignProtocol.Recognise(decoder.Buffered) ?? "it answered with data that is not a Parley handshake",
        ProtocolError.ConnectionClosed when decoder.BufferedLength == 0 => "it closed the connection without answering the handshake",
        ProtocolError.HandshakeTimeout when decoder.BufferedLength == 0 => $"it did not answer the handshake ({e.Detail})",
        _ => null,
    };
}
