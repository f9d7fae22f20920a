// The E2E payload of kind 7 (PROTOCOL.md §13.10, §15.2): u8 7 || encoded FileOffer. Kept out of
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
        byte[] payload = new byte[1 + encoded.Length];
        payload[0] = E2ePayload.FileOffer;
        encoded.CopyTo(payload, 1);
        CryptographicOperations.ZeroMemory(encoded);
        return payload;
    }
}
