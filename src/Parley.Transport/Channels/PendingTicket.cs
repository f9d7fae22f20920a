using Parley.Protocol;
using Parley.Protocol.Handshake;

namespace Parley.Transport.Channels;

/// <summary>
/// A client channel's resumption secret, waiting for the server's NewSessionTicket record
/// (PROTOCOL.md §5.8): at most one is taken per connection; the ticket goes to the store.
/// </summary>
internal sealed class PendingTicket(ResumptionSecret secret, ISessionTicketStore store, TimeProvider clock) : IDisposable
{
    private ResumptionSecret? _secret = secret;

    /// <summary>Turns the record's payload into a saved ticket; a second ticket, or one after Dispose, is unexpected_message.</summary>
    internal void Accept(ReadOnlySpan<byte> payload)
    {
        ResumptionSecret secret = Interlocked.Exchange(ref _secret, null)
            ?? throw new ParleyProtocolException(ProtocolError.UnexpectedMessage, "a second NewSessionTicket record on one connection");
        using (secret)
        {
            NewSessionTicket message = NewSessionTicket.Decode(payload);
            store.Save(secret.Accept(message, clock.GetUtcNow()));
        }
    }

    public void Dispose() => Interlocked.Exchange(ref _secret, null)?.Dispose();
}
