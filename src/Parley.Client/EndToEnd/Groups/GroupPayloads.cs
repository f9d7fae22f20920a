// The group payloads (PROTOCOL.md §14.3), kept apart from E2ePayload's texts:
//   pairwise, kind 5:        u8 5 || sender key distribution (§14.3, 89 bytes)
//   inside a group message:  u8 kind (1 = text) || message id (16, random, chosen by the sender) || UTF-8 text
// The message id lets a receipt name a group message (a read receipt goes pairwise to its sender).
using System.Security.Cryptography;
using System.Text;
using Parley.EndToEnd.SenderKeys;

namespace Parley.Client.EndToEnd.Groups;

public static class GroupPayloads
{
    /// <summary>A group message's kind for a text.</summary>
    public const byte Text = 1;

    public const int MessageIdSize = 16;

    private static readonly UTF8Encoding s_strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static byte[] EncodeDistribution(SenderKeyDistribution distribution)
    {
        ArgumentNullException.ThrowIfNull(distribution);
        byte[] encoded = distribution.Encode();
        try
        {
            byte[] payload = new byte[1 + encoded.Length];
            payload[0] = E2ePayload.SenderKeyDistribution;
            encoded.CopyTo(payload, 1);
            return payload;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(encoded);
        }
    }

    /// <summary>The distribution inside a kind-5 payload; null for anything else (the caller reports it).</summary>
    public static SenderKeyDistribution? DecodeDistribution(ReadOnlySpan<byte> payload)
    {
        if (payload.Length == 0 || payload[0] != E2ePayload.SenderKeyDistribution)
        {
            return null;
        }
        try
        {
            return SenderKeyDistribution.Decode(payload[1..]);
        }
        catch (Parley.EndToEnd.E2eProtocolException)
        {
            return null;
        }
    }

    /// <summary>A text with a fresh random message id.</summary>
    public static byte[] EncodeText(string text, out byte[] messageId)
    {
        messageId = RandomNumberGenerator.GetBytes(MessageIdSize);
        byte[] body = s_strict.GetBytes(text);
        byte[] payload = new byte[1 + MessageIdSize + body.Length];
        payload[0] = Text;
        messageId.CopyTo(payload, 1);
        body.CopyTo(payload, 1 + MessageIdSize);
        return payload;
    }

    public static bool TryDecodeText(ReadOnlySpan<byte> payload, out byte[] messageId, out string text)
    {
        messageId = [];
        text = "";
        if (payload.Length < 1 + MessageIdSize || payload[0] != Text)
        {
            return false;
        }
        try
        {
            text = s_strict.GetString(payload[(1 + MessageIdSize)..]);
            messageId = payload.Slice(1, MessageIdSize).ToArray();
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }
}
