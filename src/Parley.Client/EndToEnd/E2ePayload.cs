// What is inside an end-to-end envelope (PROTOCOL.md §13.10): u8 kind || UTF-8 text. The kind is
// encrypted with the text, so only the recipient learns that a message was a broadcast copy. An
// unknown kind or invalid UTF-8 is reported, never shown.
using System.Text;

namespace Parley.Client.EndToEnd;

public static class E2ePayload
{
    public const byte Text = 1;
    public const byte Broadcast = 2;

    /// <summary>A file offer (PROTOCOL.md §15.2): u8 7 || the encoded offer, not text (FileOfferPayload).</summary>
    public const byte FileOffer = 7;

    private static readonly UTF8Encoding s_strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static byte[] Encode(byte kind, string text)
    {
        byte[] body = s_strict.GetBytes(text);
        byte[] payload = new byte[1 + body.Length];
        payload[0] = kind;
        body.CopyTo(payload, 1);
        return payload;
    }

    public static bool TryDecode(ReadOnlySpan<byte> payload, out byte kind, out string text)
    {
        kind = payload.Length > 0 ? payload[0] : (byte)0;
        text = "";
        if (kind is not (Text or Broadcast))
        {
            return false;
        }
        try
        {
            text = s_strict.GetString(payload[1..]);
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }
}
