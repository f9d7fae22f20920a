// What is inside an end-to-end envelope (PROTOCOL.md §13.10): u8 kind || 16-byte message id ||
// body. The kind is encrypted with the rest, so only the recipient learns that a message was a
// broadcast copy or a receipt. The id is the sender's random name for the message, which receipts
// (kind 3, §13.11) quote back. An unknown kind, a short payload or invalid UTF-8 is reported, never shown.
using System.Text;

namespace Parley.Client.EndToEnd;

public static class E2ePayload
{
    /// <summary>A text to one user (body: UTF-8).</summary>
    public const byte Text = 1;

    /// <summary>A copy of a broadcast (body: UTF-8); never answered with a receipt.</summary>
    public const byte Broadcast = 2;

    /// <summary>Delivered or read, naming message ids (body: <see cref="E2eReceipt"/>); never answered with a receipt.</summary>
    public const byte Receipt = 3;

    /// <summary>Reserved: typing indicators (not sent by this version).</summary>
    public const byte Typing = 4;

    /// <summary>Groups (PROTOCOL.md §14.3): a sender key handed to one member device (body: <see cref="Groups.GroupPayloads"/>).</summary>
    public const byte SenderKeyDistribution = 5;

    /// <summary>Group control between member devices (PROTOCOL.md §14.3): today only a sender key request (body: <see cref="Groups.GroupPayloads"/>).</summary>
    public const byte GroupControl = 6;

    /// <summary>A file offer (PROTOCOL.md §15.2): the encoded offer, not text (FileOfferPayload).</summary>
    public const byte FileOffer = 7;

    /// <summary>Kinds that carry group payloads rather than text: the group layer reads them, not the chat.</summary>
    public static bool IsGroupKind(byte kind) => kind is SenderKeyDistribution or GroupControl;

    /// <summary>Kind and message id before the body.</summary>
    public const int HeaderLength = 1 + E2eMessageId.Length;

    private static readonly UTF8Encoding s_strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>A text payload under a fresh random message id.</summary>
    public static byte[] Encode(byte kind, string text) => Encode(kind, E2eMessageId.New(), text);

    public static byte[] Encode(byte kind, E2eMessageId id, string text) => Encode(kind, id, s_strict.GetBytes(text));

    public static byte[] Encode(byte kind, E2eMessageId id, ReadOnlySpan<byte> body)
    {
        byte[] payload = new byte[HeaderLength + body.Length];
        payload[0] = kind;
        id.Write(payload.AsSpan(1, E2eMessageId.Length));
        body.CopyTo(payload.AsSpan(HeaderLength));
        return payload;
    }

    /// <summary>Splits a payload into kind, id and body; false when it is too short to hold the header.</summary>
    public static bool TrySplit(ReadOnlySpan<byte> payload, out byte kind, out E2eMessageId id, out ReadOnlySpan<byte> body)
    {
        kind = 0;
        id = default;
        body = default;
        if (payload.Length < HeaderLength)
        {
            return false;
        }
        kind = payload[0];
        id = E2eMessageId.Read(payload[1..]);
        body = payload[HeaderLength..];
        return true;
    }

    /// <summary>A text or broadcast payload: its kind, id and text; false for anything else or invalid UTF-8.</summary>
    public static bool TryDecodeText(ReadOnlySpan<byte> payload, out byte kind, out E2eMessageId id, out string text)
    {
        text = "";
        if (!TrySplit(payload, out kind, out id, out ReadOnlySpan<byte> body) || kind is not (Text or Broadcast))
        {
            return false;
        }
        try
        {
            text = s_strict.GetString(body);
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }

    /// <summary>A text or broadcast payload's kind and text (the id dropped).</summary>
    public static bool TryDecode(ReadOnlySpan<byte> payload, out byte kind, out string text) => TryDecodeText(payload, out kind, out _, out text);
}
