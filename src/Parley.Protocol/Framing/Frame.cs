using System.Buffers.Binary;

namespace Parley.Protocol.Framing;

/// <summary>
/// Every Parley message travels in a frame: a 4-byte big-endian length, then that many bytes of
/// body (PROTOCOL.md §4). A length of 0 is an error, as is any length above the limit in force.
/// </summary>
public static class Frame
{
    public const int HeaderSize = 4;

    /// <summary>The limit while the handshake runs: handshake messages are small (a modp2048 hello is under 700 bytes).</summary>
    public const int MaxHandshakeBodyLength = 4096;

    public static void WriteHeader(Span<byte> destination, int bodyLength) =>
        BinaryPrimitives.WriteUInt32BigEndian(destination, checked((uint)bodyLength));

    /// <summary>Wraps a body in a frame (allocating; for handshake messages).</summary>
    public static byte[] Wrap(ReadOnlySpan<byte> body)
    {
        byte[] frame = new byte[HeaderSize + body.Length];
        WriteHeader(frame, body.Length);
        body.CopyTo(frame.AsSpan(HeaderSize));
        return frame;
    }

    /// <summary>Checks a length header against a limit before anything is allocated for the body.</summary>
    public static int ReadAndCheckLength(ReadOnlySpan<byte> header, int maxBodyLength)
    {
        uint length = BinaryPrimitives.ReadUInt32BigEndian(header);
        if (length == 0)
        {
            throw new ParleyProtocolException(ProtocolError.EmptyFrame, "a frame of length 0 was received");
        }
        if (length > (uint)maxBodyLength)
        {
            throw new ParleyProtocolException(ProtocolError.FrameTooLarge, $"a frame of {length} bytes exceeds the limit of {maxBodyLength} bytes");
        }
        return (int)length;
    }
}
