// The E2E payload of kind 7 (PROTOCOL.md §13.10, §15.2): u8 7 || message id (16) || encoded FileOffer. Kept out of
// E2ePayload, which only registers the kind, so text payloads and files change independently.
using System.Security.Cryptography;
using Parley.EndToEnd.Files;

namespace Parley.Client.EndToEnd;

public static class FileOfferPayload
{
    public static byte[] Encode(FileOffer offer)
    {
        ArgumentNullException.ThrowIfNull(offer);
        byte[] encoded = offer.Encode();
        try
        {
            return E2ePayload.Encode(E2ePayload.FileOffer, E2eMessageId.New(), encoded);
        }
        finally
        {
            // The offer holds the file's key.
            CryptographicOperations.ZeroMemory(encoded);
        }
    }
}
