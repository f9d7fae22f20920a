// The 16-byte id a sender draws for each end-to-end payload (PROTOCOL.md §13.10). It names the
// message in receipts, the same on every device the copies went to; it is random, never a counter,
// so it says nothing about how many messages the sender wrote.
using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Parley.Client.EndToEnd;

public readonly record struct E2eMessageId(UInt128 Value)
{
    public const int Length = 16;

    public static E2eMessageId New()
    {
        Span<byte> bytes = stackalloc byte[Length];
        RandomNumberGenerator.Fill(bytes);
        return Read(bytes);
    }

    public static E2eMessageId Read(ReadOnlySpan<byte> bytes) => new(BinaryPrimitives.ReadUInt128BigEndian(bytes[..Length]));

    public void Write(Span<byte> destination) => BinaryPrimitives.WriteUInt128BigEndian(destination, Value);

    public byte[] ToBytes()
    {
        byte[] bytes = new byte[Length];
        Write(bytes);
        return bytes;
    }

    /// <summary>32 lower-case hex digits, as --json and the spec's vectors print it.</summary>
    public override string ToString()
    {
        Span<byte> bytes = stackalloc byte[Length];
        Write(bytes);
        return Convert.ToHexStringLower(bytes);
    }
}
