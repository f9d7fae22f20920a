// The inbox log's framing (docs/decisions/0017): a segment starts with a 24-byte header (magic,
// format version, a random 64-bit key), then holds frames, one per commit, each 8-byte aligned:
//
//   u32 payload length | u64 XXH3-64(length ‖ payload, seed = the segment's key) | payload | zero padding
//
// The checksum finds a torn write at the tail after a crash (the commit it held never returned).
// It is seeded with the segment's random key so that no one who can only send messages can make
// bytes inside a body pass for a frame of their own when recovery looks past damage.
using System.Buffers.Binary;
using System.IO.Hashing;
using System.Security.Cryptography;

namespace Parley.Server.Storage.Inbox;

internal static class InboxLogFrame
{
    internal const int SegmentHeaderBytes = 24;
    internal const int HeaderBytes = 12;
    internal const int Alignment = 8;

    /// <summary>No frame is larger: a commit's frame beyond it is refused, and recovery reads a larger length as damage.</summary>
    internal const int MaxPayloadBytes = 32 * 1024 * 1024;

    private const uint FormatVersion = 1;
    private static ReadOnlySpan<byte> Magic => "PRLYINBX"u8;

    /// <summary>A new segment's header with a fresh random key.</summary>
    internal static byte[] NewSegmentHeader(out ulong key)
    {
        byte[] header = new byte[SegmentHeaderBytes];
        Magic.CopyTo(header);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), FormatVersion);
        key = BinaryPrimitives.ReadUInt64LittleEndian(RandomNumberGenerator.GetBytes(8));
        BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(16), key);
        return header;
    }

    /// <summary>The segment's key; false when <paramref name="header"/> is not a segment header this version reads.</summary>
    internal static bool TryReadSegmentHeader(ReadOnlySpan<byte> header, out ulong key)
    {
        key = 0;
        if (header.Length < SegmentHeaderBytes || !header[..8].SequenceEqual(Magic) || BinaryPrimitives.ReadUInt32LittleEndian(header[8..]) != FormatVersion)
        {
            return false;
        }
        key = BinaryPrimitives.ReadUInt64LittleEndian(header[16..]);
        return true;
    }

    /// <summary>A frame's whole length on disk, header and padding included.</summary>
    internal static int FrameBytes(int payloadBytes) => Align(HeaderBytes + payloadBytes);

    internal static int Align(int bytes) => (bytes + Alignment - 1) & ~(Alignment - 1);

    /// <summary>Writes the header of a frame whose payload already sits at <paramref name="frame"/>[HeaderBytes..], and zeroes its padding.</summary>
    internal static void Seal(Span<byte> frame, int payloadBytes, ulong key)
    {
        if (payloadBytes is <= 0 or > MaxPayloadBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(payloadBytes), payloadBytes, $"an inbox log frame holds 1 to {MaxPayloadBytes} bytes");
        }
        BinaryPrimitives.WriteUInt32LittleEndian(frame, (uint)payloadBytes);
        BinaryPrimitives.WriteUInt64LittleEndian(frame[4..], Checksum(frame[..4], frame.Slice(HeaderBytes, payloadBytes), key));
        frame[(HeaderBytes + payloadBytes)..FrameBytes(payloadBytes)].Clear();
    }

    /// <summary>The payload length a frame header claims, or -1 when no frame can be that long.</summary>
    internal static int ClaimedPayload(ReadOnlySpan<byte> header)
    {
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(header);
        return length is 0 or > MaxPayloadBytes ? -1 : (int)length;
    }

    /// <summary>True when <paramref name="payload"/> is what the header at <paramref name="header"/> sealed.</summary>
    internal static bool Verify(ReadOnlySpan<byte> header, ReadOnlySpan<byte> payload, ulong key) =>
        BinaryPrimitives.ReadUInt64LittleEndian(header[4..]) == Checksum(header[..4], payload, key);

    private static ulong Checksum(ReadOnlySpan<byte> length, ReadOnlySpan<byte> payload, ulong key)
    {
        XxHash3 hash = new(unchecked((long)key));
        hash.Append(length);
        hash.Append(payload);
        return hash.GetCurrentHashAsUInt64();
    }
}
