// The two kinds of entry a frame of the inbox log holds, and their encoding (docs/decisions/0017).
// Pure functions over bytes: the log writes what Encode produced and replays what Decode reads.
// A message entry is self-contained (every field of the stored message, body included), so the
// log reads one back with a single positioned read and compaction copies it without re-encoding.
using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Parley.Server.Storage.Inbox;

internal enum InboxLogEntryKind : byte
{
    /// <summary>A committed message: id, time, flags, five names, body.</summary>
    Message = 1,

    /// <summary>A message removed (acknowledged or expired): recipient and id.</summary>
    Removal = 2,
}

/// <summary>A removal as the log records it.</summary>
internal readonly record struct InboxLogRemoval(string Recipient, long Id);

internal static class InboxLogEntry
{
    /// <summary>Names and content types are short (usernames, device ids, content types ≤ 128 characters): a 16-bit length each.</summary>
    private const int MaxTextBytes = ushort.MaxValue;

    /// <summary>A message entry's fields of fixed size: kind, id, time, flags and the body's length.</summary>
    private const int FixedMessageBytes = 1 + 8 + 8 + 1 + 4;

    /// <summary>Appends <paramref name="message"/> with <paramref name="id"/>; returns the entry's length.</summary>
    /// <exception cref="ArgumentException">A field the log cannot hold (a missing or overlong name).</exception>
    internal static int WriteMessage(ArrayBufferWriter<byte> output, NewMessage message, long id)
    {
        int length = FixedMessageBytes + TextBytes(message.Recipient) + TextBytes(message.Sender) + TextBytes(message.ContentType)
            + TextBytes(message.RecipientDevice) + TextBytes(message.SenderDevice) + message.Body.Length;
        Span<byte> span = output.GetSpan(length)[..length];
        span[0] = (byte)InboxLogEntryKind.Message;
        BinaryPrimitives.WriteInt64LittleEndian(span[1..], id);
        BinaryPrimitives.WriteInt64LittleEndian(span[9..], message.Timestamp);
        span[17] = message.Broadcast ? (byte)1 : (byte)0;
        int at = 18;
        at += WriteText(span[at..], message.Recipient);
        at += WriteText(span[at..], message.Sender);
        at += WriteText(span[at..], message.ContentType);
        at += WriteText(span[at..], message.RecipientDevice);
        at += WriteText(span[at..], message.SenderDevice);
        BinaryPrimitives.WriteInt32LittleEndian(span[at..], message.Body.Length);
        message.Body.CopyTo(span[(at + 4)..]);
        output.Advance(length);
        return length;
    }

    internal static void WriteRemoval(ArrayBufferWriter<byte> output, InboxLogRemoval removal)
    {
        int length = 1 + 8 + TextBytes(removal.Recipient);
        Span<byte> span = output.GetSpan(length)[..length];
        span[0] = (byte)InboxLogEntryKind.Removal;
        BinaryPrimitives.WriteInt64LittleEndian(span[1..], removal.Id);
        WriteText(span[9..], removal.Recipient);
        output.Advance(length);
    }

    /// <summary>The message entry at the start of <paramref name="entry"/> (exactly one entry's bytes, as a positioned read returns them).</summary>
    internal static StoredMessage ReadMessage(ReadOnlySpan<byte> entry)
    {
        MessageEntry m = ParseMessage(entry, out int length);
        if (length != entry.Length)
        {
            throw new InvalidDataException("an inbox log entry is not the length the index recorded");
        }
        return new StoredMessage(m.Id, m.Sender, m.Recipient, m.Timestamp, m.ContentType, entry.Slice(m.BodyOffset, m.BodyLength).ToArray(),
            m.Broadcast, m.RecipientDevice, m.SenderDevice);
    }

    /// <summary>A message entry's fields without its body (replay indexes the body's place, never copies it).</summary>
    internal readonly record struct MessageEntry(long Id, long Timestamp, bool Broadcast, string Recipient, string Sender, string ContentType,
        string RecipientDevice, string SenderDevice, int BodyOffset, int BodyLength);

    /// <summary>Parses the entry at the start of <paramref name="payload"/>; <paramref name="length"/> is its length.</summary>
    /// <exception cref="InvalidDataException">Not an entry this version writes.</exception>
    internal static InboxLogEntryKind Parse(ReadOnlySpan<byte> payload, out int length, out MessageEntry message, out InboxLogRemoval removal)
    {
        message = default;
        removal = default;
        if (payload.IsEmpty)
        {
            throw new InvalidDataException("an inbox log frame ends inside an entry");
        }
        switch ((InboxLogEntryKind)payload[0])
        {
            case InboxLogEntryKind.Message:
                message = ParseMessage(payload, out length);
                return InboxLogEntryKind.Message;
            case InboxLogEntryKind.Removal:
                Need(payload, 11);
                long id = BinaryPrimitives.ReadInt64LittleEndian(payload[1..]);
                int at = 9;
                string recipient = ReadText(payload, ref at);
                removal = new InboxLogRemoval(recipient, id);
                length = at;
                return InboxLogEntryKind.Removal;
            default:
                throw new InvalidDataException($"an inbox log entry has the unknown kind {payload[0]}");
        }
    }

    private static MessageEntry ParseMessage(ReadOnlySpan<byte> payload, out int length)
    {
        Need(payload, FixedMessageBytes + 5 * 2);
        long id = BinaryPrimitives.ReadInt64LittleEndian(payload[1..]);
        long timestamp = BinaryPrimitives.ReadInt64LittleEndian(payload[9..]);
        bool broadcast = payload[17] != 0;
        int at = 18;
        string recipient = ReadText(payload, ref at);
        string sender = ReadText(payload, ref at);
        string contentType = ReadText(payload, ref at);
        string recipientDevice = ReadText(payload, ref at);
        string senderDevice = ReadText(payload, ref at);
        Need(payload, at + 4);
        int bodyLength = BinaryPrimitives.ReadInt32LittleEndian(payload[at..]);
        if (bodyLength < 0)
        {
            throw new InvalidDataException("an inbox log entry has a negative body length");
        }
        at += 4;
        Need(payload, (long)at + bodyLength);
        length = at + bodyLength;
        return new MessageEntry(id, timestamp, broadcast, recipient, sender, contentType, recipientDevice, senderDevice, at, bodyLength);
    }

    private static int TextBytes(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int bytes = Encoding.UTF8.GetByteCount(text);
        if (bytes > MaxTextBytes)
        {
            throw new ArgumentException($"a name of {bytes} bytes is longer than the inbox log holds ({MaxTextBytes})");
        }
        return 2 + bytes;
    }

    private static int WriteText(Span<byte> span, string text)
    {
        int bytes = Encoding.UTF8.GetBytes(text, span[2..]);
        BinaryPrimitives.WriteUInt16LittleEndian(span, (ushort)bytes);
        return 2 + bytes;
    }

    private static string ReadText(ReadOnlySpan<byte> payload, ref int at)
    {
        Need(payload, at + 2);
        int bytes = BinaryPrimitives.ReadUInt16LittleEndian(payload[at..]);
        Need(payload, at + 2 + bytes);
        string text = bytes == 0 ? "" : Encoding.UTF8.GetString(payload.Slice(at + 2, bytes));
        at += 2 + bytes;
        return text;
    }

    private static void Need(ReadOnlySpan<byte> payload, long bytes)
    {
        if (payload.Length < bytes)
        {
            throw new InvalidDataException("an inbox log frame ends inside an entry");
        }
    }
}
