// The group payloads (PROTOCOL.md §14.3), kept apart from E2ePayload's texts:
//   pairwise, kind 5:        u8 5 || message id (16) || sender key distribution (§14.3, 89 bytes), the §13.10 layout
//   pairwise, kind 6:        u8 6 || message id (16) || u8 control (1 = sender key request) || group id (16) || u32 key id (§14.3)
//   inside a group message:  u8 kind (1 = text, 7 = file offer) || message id (16, random, chosen by the sender) || UTF-8 text or the offer
// The message id lets a receipt name a group message (a read receipt goes pairwise to its sender).
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Parley.EndToEnd.SenderKeys;

namespace Parley.Client.EndToEnd.Groups;

public static class GroupPayloads
{
    /// <summary>A group message's kind for a text.</summary>
    public const byte Text = 1;

    /// <summary>A group message's kind for a file offer (PROTOCOL.md §15.2), the same number as the pairwise one.</summary>
    public const byte FileOffer = E2ePayload.FileOffer;

    public const int MessageIdSize = E2eMessageId.Length;

    /// <summary>A group control payload's (kind 6) first body byte for "hand me your sender key with this id".</summary>
    public const byte KeyRequestControl = 1;

    /// <summary>A sender key request's body: control, group id, key id.</summary>
    public const int KeyRequestBodyLength = 1 + SenderKeyLimits.GroupIdSize + 4;

    private static readonly UTF8Encoding s_strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static byte[] EncodeDistribution(SenderKeyDistribution distribution)
    {
        ArgumentNullException.ThrowIfNull(distribution);
        byte[] encoded = distribution.Encode();
        try
        {
            return E2ePayload.Encode(E2ePayload.SenderKeyDistribution, E2eMessageId.New(), encoded);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(encoded);
        }
    }

    /// <summary>The distribution inside a kind-5 payload; null for anything else (the caller reports it).</summary>
    public static SenderKeyDistribution? DecodeDistribution(ReadOnlySpan<byte> payload)
    {
        if (!E2ePayload.TrySplit(payload, out byte kind, out _, out ReadOnlySpan<byte> body) || kind != E2ePayload.SenderKeyDistribution)
        {
            return null;
        }
        try
        {
            return SenderKeyDistribution.Decode(body);
        }
        catch (Parley.EndToEnd.E2eProtocolException)
        {
            return null;
        }
    }

    /// <summary>
    /// A sender key request (PROTOCOL.md §14.3): sent to the one device whose group message named
    /// <paramref name="keyId"/>, which this device does not hold.
    /// </summary>
    public static byte[] EncodeKeyRequest(ReadOnlySpan<byte> groupId, uint keyId, E2eMessageId messageId)
    {
        if (groupId.Length != SenderKeyLimits.GroupIdSize)
        {
            throw new ArgumentException("A group id is 16 bytes.", nameof(groupId));
        }
        Span<byte> body = stackalloc byte[KeyRequestBodyLength];
        body[0] = KeyRequestControl;
        groupId.CopyTo(body[1..]);
        BinaryPrimitives.WriteUInt32BigEndian(body[(1 + SenderKeyLimits.GroupIdSize)..], keyId);
        return E2ePayload.Encode(E2ePayload.GroupControl, messageId, body);
    }

    /// <summary>The group id (lower-case hex) and key id a kind-6 sender key request names; false for any other payload, or a request of another length.</summary>
    public static bool TryDecodeKeyRequest(ReadOnlySpan<byte> payload, out string groupId, out uint keyId)
    {
        groupId = "";
        keyId = 0;
        if (!E2ePayload.TrySplit(payload, out byte kind, out _, out ReadOnlySpan<byte> body)
            || kind != E2ePayload.GroupControl || body.Length != KeyRequestBodyLength || body[0] != KeyRequestControl)
        {
            return false;
        }
        groupId = Convert.ToHexStringLower(body.Slice(1, SenderKeyLimits.GroupIdSize));
        keyId = BinaryPrimitives.ReadUInt32BigEndian(body[(1 + SenderKeyLimits.GroupIdSize)..]);
        return true;
    }

    /// <summary>A text under <paramref name="messageId"/> (drawn by the caller, who may wait for its receipts).</summary>
    public static byte[] EncodeText(string text, E2eMessageId messageId)
    {
        byte[] body = s_strict.GetBytes(text);
        byte[] payload = new byte[1 + MessageIdSize + body.Length];
        payload[0] = Text;
        messageId.Write(payload.AsSpan(1, MessageIdSize));
        body.CopyTo(payload, 1 + MessageIdSize);
        return payload;
    }

    /// <summary>A file offer (its encoded bytes, §15.2) under <paramref name="messageId"/>.</summary>
    public static byte[] EncodeFileOffer(ReadOnlySpan<byte> offer, E2eMessageId messageId) => E2ePayload.Encode(FileOffer, messageId, offer);

    /// <summary>The encoded offer of a kind-7 group plaintext (the chat decodes and checks it); false for anything else.</summary>
    public static bool TryDecodeFileOffer(ReadOnlySpan<byte> payload, out E2eMessageId messageId, out byte[] offer)
    {
        offer = [];
        if (!E2ePayload.TrySplit(payload, out byte kind, out messageId, out ReadOnlySpan<byte> body) || kind != FileOffer)
        {
            return false;
        }
        offer = body.ToArray();
        return true;
    }

    public static bool TryDecodeText(ReadOnlySpan<byte> payload, out E2eMessageId messageId, out string text)
    {
        messageId = default;
        text = "";
        if (payload.Length < 1 + MessageIdSize || payload[0] != Text)
        {
            return false;
        }
        try
        {
            text = s_strict.GetString(payload[(1 + MessageIdSize)..]);
            messageId = E2eMessageId.Read(payload[1..]);
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }
}
