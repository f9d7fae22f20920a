// Reads the compact messages of one record (PROTOCOL.md §11.9), one at a time, until the record
// ends. Every length is checked against what is left of the record, text must be valid UTF-8, and
// flags and statuses must be ones version 1 defines; anything else throws, naming the fault but
// never quoting the bytes. After a throw the rest of the record cannot be found and is dropped.
using System.Buffers.Binary;
using System.Text;

namespace Parley.Messaging.Compact;

public ref struct CompactReader
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private ReadOnlySpan<byte> _rest;

    /// <summary>Where the next message starts, in bytes from the record's start.</summary>
    private int _offset;

    public CompactReader(ReadOnlySpan<byte> record)
        : this(record, 0)
    {
    }

    /// <summary>Reads from <paramref name="offset"/> on: a reader that must await between messages makes a new reader where the last one stopped.</summary>
    public CompactReader(ReadOnlySpan<byte> record, int offset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(offset, record.Length);
        _rest = record[offset..];
        _offset = offset;
    }

    /// <summary>
    /// Remembers the last content type read, so a run of messages of one type shares one string.
    /// Only one a message may carry (at most 128 UTF-16 code units) is kept.
    /// </summary>
    public string? LastContentType { get; set; }

    public readonly bool AtEnd => _rest.IsEmpty;

    /// <summary>Where the next message starts, in bytes from the record's start.</summary>
    public readonly int Offset => _offset;

    /// <summary>The next <c>send</c> or <c>ack</c>.</summary>
    /// <exception cref="MessengerProtocolException">Not a well-formed compact client message.</exception>
    public ClientMessage ReadClient()
    {
        int start = _offset;
        byte type = U8(start);
        return type switch
        {
            CompactForm.SendType => ReadSend(start),
            CompactForm.AckType => ReadAck(start),
            _ => throw Fault(start, $"type 0x{type:x2} is not a compact client message"),
        };
    }

    /// <summary>The next <c>message</c> or <c>send_result</c>.</summary>
    /// <exception cref="MessengerProtocolException">Not a well-formed compact server message.</exception>
    public ServerMessage ReadServer()
    {
        int start = _offset;
        byte type = U8(start);
        return type switch
        {
            CompactForm.MessageType => ReadChatMessage(start),
            CompactForm.SendResultType => ReadSendResult(start),
            _ => throw Fault(start, $"type 0x{type:x2} is not a compact server message"),
        };
    }

    private SendRequest ReadSend(int start)
    {
        long reference = I64(start);
        string to = Text8(start, "to");
        string? toDevice = OptionalText8(start, "toDevice");
        string contentType = ContentType(start);
        byte[] body = Body(start);
        return new SendRequest(reference, to, contentType, body, toDevice);
    }

    private AckRequest ReadAck(int start)
    {
        int count = U16(start);
        // Part of being well formed here, unlike JSON's ack (PROTOCOL.md §11.9): one record of
        // empty acks would otherwise be thousands of requests, each answered alone.
        if (count is 0 or > MessengerLimits.MaxAckIds)
        {
            throw Fault(start, $"an ack names 1 to {MessengerLimits.MaxAckIds} message ids, not {count}");
        }
        ReadOnlySpan<byte> ids = Take(start, 8 * count, "messageIds");
        long[] messageIds = new long[count];
        for (int i = 0; i < count; i++)
        {
            messageIds[i] = BinaryPrimitives.ReadInt64BigEndian(ids[(8 * i)..]);
        }
        return new AckRequest(messageIds);
    }

    private ChatMessage ReadChatMessage(int start)
    {
        byte flags = U8(start);
        if ((flags & ~CompactForm.BroadcastFlag) != 0)
        {
            throw Fault(start, $"message flags 0x{flags:x2} are not defined");
        }
        long id = I64(start);
        long timestamp = I64(start);
        string from = Text8(start, "from");
        string? fromDevice = OptionalText8(start, "fromDevice");
        string to = Text8(start, "to");
        string? toDevice = OptionalText8(start, "toDevice");
        string contentType = ContentType(start);
        byte[] body = Body(start);
        return new ChatMessage(id, from, to, timestamp, contentType, body, (flags & CompactForm.BroadcastFlag) != 0, toDevice, fromDevice);
    }

    private SendResult ReadSendResult(int start)
    {
        string status = U8(start) switch
        {
            CompactForm.Queued => DeliveryStatus.Queued,
            CompactForm.Delivered => DeliveryStatus.Delivered,
            var other => throw Fault(start, $"send_result status {other} is not defined"),
        };
        byte flags = U8(start);
        if ((flags & ~CompactForm.DevicesFlag) != 0)
        {
            throw Fault(start, $"send_result flags 0x{flags:x2} are not defined");
        }
        long reference = I64(start);
        long id = I64(start);
        string to = Text8(start, "to");
        string[]? devices = null;
        if ((flags & CompactForm.DevicesFlag) != 0)
        {
            devices = new string[U8(start)];
            for (int i = 0; i < devices.Length; i++)
            {
                devices[i] = Text8(start, "devices");
            }
        }
        return new SendResult(reference, id, to, status, devices);
    }

    private string ContentType(int start)
    {
        ReadOnlySpan<byte> bytes = Take(start, U16(start), "contentType");
        if (LastContentType is { } last && last.Length == bytes.Length && Ascii.Equals(bytes, last))
        {
            return last;
        }
        string contentType = Decode(start, bytes, "contentType");
        if (contentType.Length <= MessengerLimits.MaxContentTypeLength)
        {
            LastContentType = contentType;
        }
        return contentType;
    }

    private byte[] Body(int start) => Take(start, checked((int)Math.Min(U32(start), int.MaxValue)), "body").ToArray();

    private string Text8(int start, string field) => Decode(start, Take(start, U8(start), field), field);

    private string? OptionalText8(int start, string field)
    {
        int length = U8(start);
        return length == 0 ? null : Decode(start, Take(start, length, field), field);
    }

    private static string Decode(int start, ReadOnlySpan<byte> bytes, string field)
    {
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw Fault(start, $"{field} is not valid UTF-8");
        }
    }

    private byte U8(int start) => Take(start, 1, "a field")[0];

    private ushort U16(int start) => BinaryPrimitives.ReadUInt16BigEndian(Take(start, 2, "a field"));

    private uint U32(int start) => BinaryPrimitives.ReadUInt32BigEndian(Take(start, 4, "a field"));

    private long I64(int start) => BinaryPrimitives.ReadInt64BigEndian(Take(start, 8, "a field"));

    private ReadOnlySpan<byte> Take(int start, int length, string what)
    {
        if (length > _rest.Length)
        {
            throw Fault(start, $"{what} runs past the end of the record ({length} bytes wanted, {_rest.Length} left)");
        }
        ReadOnlySpan<byte> taken = _rest[..length];
        _rest = _rest[length..];
        _offset += length;
        return taken;
    }

    private static MessengerProtocolException Fault(int start, string what) =>
        new($"not a valid compact message at byte {start} of the record: {what}");
}
