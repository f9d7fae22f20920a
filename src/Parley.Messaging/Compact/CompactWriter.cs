// Writes the compact form (PROTOCOL.md §11.9). SizeOf says how many bytes a message takes, or -1
// when it has no compact form (another type, a missing field, a name over 255 bytes, text that is
// not valid UTF-16): the caller then sends it as JSON, which can say anything.
using System.Buffers.Binary;
using System.Text;

namespace Parley.Messaging.Compact;

public static class CompactWriter
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static int SizeOf(ServerMessage message) => message switch
    {
        ChatMessage chat => SizeOf(chat),
        SendResult result => SizeOf(result),
        _ => -1,
    };

    public static int SizeOf(ClientMessage message) => message switch
    {
        SendRequest send => SizeOf(send),
        AckRequest ack => SizeOf(ack),
        _ => -1,
    };

    /// <summary>Writes a message <see cref="SizeOf(ServerMessage)"/> said has a compact form; returns the bytes written.</summary>
    public static int Write(ServerMessage message, Span<byte> destination) => message switch
    {
        ChatMessage chat => Write(chat, destination),
        SendResult result => Write(result, destination),
        _ => throw new ArgumentException($"{message.GetType().Name} has no compact form", nameof(message)),
    };

    public static int Write(ClientMessage message, Span<byte> destination) => message switch
    {
        SendRequest send => Write(send, destination),
        AckRequest ack => Write(ack, destination),
        _ => throw new ArgumentException($"{message.GetType().Name} has no compact form", nameof(message)),
    };

    /// <summary>One message in its compact form, as a record of its own; null when it has none.</summary>
    public static byte[]? ToArray(ClientMessage message) => ToArray(message, SizeOf(message), static (m, d) => Write(m, d));

    /// <inheritdoc cref="ToArray(ClientMessage)"/>
    public static byte[]? ToArray(ServerMessage message) => ToArray(message, SizeOf(message), static (m, d) => Write(m, d));

    private delegate int Writer<T>(T message, Span<byte> destination);

    private static byte[]? ToArray<T>(T message, int size, Writer<T> write)
    {
        if (size < 0)
        {
            return null;
        }
        byte[] bytes = new byte[size];
        write(message, bytes);
        return bytes;
    }

    // ── sizes ──

    private static int SizeOf(SendRequest s) =>
        s.To is null || s.ContentType is null || s.Body is null ? -1
        : Sum(1 + 8, Text8(s.To), OptionalText8(s.ToDevice), Text16(s.ContentType), 4 + s.Body.Length);

    // An ack outside 1 – 4096 ids is malformed in the compact form; as JSON the server answers it.
    private static int SizeOf(AckRequest a) =>
        a.MessageIds is { Length: > 0 and <= MessengerLimits.MaxAckIds } ids ? 1 + 2 + 8 * ids.Length : -1;

    private static int SizeOf(ChatMessage m) =>
        m.From is null || m.To is null || m.ContentType is null || m.Body is null ? -1
        : Sum(1 + 1 + 8 + 8, Text8(m.From), OptionalText8(m.FromDevice), Text8(m.To), OptionalText8(m.ToDevice), Text16(m.ContentType), 4 + m.Body.Length);

    private static int SizeOf(SendResult r)
    {
        if (r.To is null || StatusByte(r.Status) < 0)
        {
            return -1;
        }
        int size = Sum(1 + 1 + 1 + 8 + 8, Text8(r.To));
        if (r.Devices is { } devices)
        {
            if (devices.Length > byte.MaxValue)
            {
                return -1;
            }
            size = Sum(size, 1);
            foreach (string device in devices)
            {
                size = Sum(size, device is null ? -1 : Text8(device));
            }
        }
        return size;
    }

    /// <summary>-1 if any part is -1 (no compact form), else the total.</summary>
    private static int Sum(params ReadOnlySpan<int> parts)
    {
        int total = 0;
        foreach (int part in parts)
        {
            if (part < 0)
            {
                return -1;
            }
            total += part;
        }
        return total;
    }

    private static int Text8(string text) => Utf8Length(text) is var n and >= 0 and <= byte.MaxValue ? 1 + n : -1;

    /// <summary>An absent optional name is written as length 0 (so an empty name has no compact form).</summary>
    private static int OptionalText8(string? text) => text is null ? 1 : text.Length == 0 ? -1 : Text8(text);

    private static int Text16(string text) => Utf8Length(text) is var n and >= 0 and <= ushort.MaxValue ? 2 + n : -1;

    private static int Utf8Length(string text)
    {
        try
        {
            return StrictUtf8.GetByteCount(text);
        }
        catch (EncoderFallbackException)
        {
            return -1;
        }
    }

    private static int StatusByte(string? status) => status switch
    {
        DeliveryStatus.Queued => CompactForm.Queued,
        DeliveryStatus.Delivered => CompactForm.Delivered,
        _ => -1,
    };

    // ── writing ──

    private static int Write(SendRequest s, Span<byte> d)
    {
        d[0] = CompactForm.SendType;
        BinaryPrimitives.WriteInt64BigEndian(d[1..], s.Ref);
        int at = 9;
        at += PutText8(s.To, d[at..]);
        at += PutOptionalText8(s.ToDevice, d[at..]);
        at += PutText16(s.ContentType, d[at..]);
        return at + PutBody(s.Body, d[at..]);
    }

    private static int Write(AckRequest a, Span<byte> d)
    {
        d[0] = CompactForm.AckType;
        BinaryPrimitives.WriteUInt16BigEndian(d[1..], (ushort)a.MessageIds.Length);
        int at = 3;
        foreach (long id in a.MessageIds)
        {
            BinaryPrimitives.WriteInt64BigEndian(d[at..], id);
            at += 8;
        }
        return at;
    }

    private static int Write(ChatMessage m, Span<byte> d)
    {
        d[0] = CompactForm.MessageType;
        d[1] = m.Broadcast ? CompactForm.BroadcastFlag : (byte)0;
        BinaryPrimitives.WriteInt64BigEndian(d[2..], m.MessageId);
        BinaryPrimitives.WriteInt64BigEndian(d[10..], m.Timestamp);
        int at = 18;
        at += PutText8(m.From, d[at..]);
        at += PutOptionalText8(m.FromDevice, d[at..]);
        at += PutText8(m.To, d[at..]);
        at += PutOptionalText8(m.ToDevice, d[at..]);
        at += PutText16(m.ContentType, d[at..]);
        return at + PutBody(m.Body, d[at..]);
    }

    private static int Write(SendResult r, Span<byte> d)
    {
        d[0] = CompactForm.SendResultType;
        d[1] = (byte)StatusByte(r.Status);
        d[2] = r.Devices is null ? (byte)0 : CompactForm.DevicesFlag;
        BinaryPrimitives.WriteInt64BigEndian(d[3..], r.Ref);
        BinaryPrimitives.WriteInt64BigEndian(d[11..], r.MessageId);
        int at = 19;
        at += PutText8(r.To, d[at..]);
        if (r.Devices is { } devices)
        {
            d[at++] = (byte)devices.Length;
            foreach (string device in devices)
            {
                at += PutText8(device, d[at..]);
            }
        }
        return at;
    }

    private static int PutText8(string text, Span<byte> d)
    {
        int n = StrictUtf8.GetBytes(text, d[1..]);
        d[0] = (byte)n;
        return 1 + n;
    }

    private static int PutOptionalText8(string? text, Span<byte> d)
    {
        if (text is null)
        {
            d[0] = 0;
            return 1;
        }
        return PutText8(text, d);
    }

    private static int PutText16(string text, Span<byte> d)
    {
        int n = StrictUtf8.GetBytes(text, d[2..]);
        BinaryPrimitives.WriteUInt16BigEndian(d, (ushort)n);
        return 2 + n;
    }

    private static int PutBody(byte[] body, Span<byte> d)
    {
        BinaryPrimitives.WriteUInt32BigEndian(d, (uint)body.Length);
        body.CopyTo(d[4..]);
        return 4 + body.Length;
    }
}
