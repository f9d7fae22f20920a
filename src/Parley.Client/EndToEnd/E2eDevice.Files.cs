// File offers end to end (PROTOCOL.md §15.2): the offer, key included, travels as payload kind 7
// inside the pairwise envelopes like a text, to every device of the recipient and our own others.
// The offer names no recipient, so a group message can carry the same bytes.
using Parley.EndToEnd.Files;

namespace Parley.Client.EndToEnd;

public sealed partial class E2eDevice
{
    /// <summary>Sends <paramref name="offer"/> to every device of <paramref name="to"/> (and our own other devices).</summary>
    /// <exception cref="IdentityChangedException">A device of the recipient presents a new identity key; nothing was sent.</exception>
    public async Task<E2eSent> SendFileOfferAsync(ChatClient client, string to, FileOffer offer, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(offer);
        byte[] payload = FileOfferPayload.Encode(offer);
        try
        {
            return await SendPayloadAsync(client, to, payload, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(payload);
        }
    }
}
