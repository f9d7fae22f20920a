using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Parley.Protocol.Wire;

/// <summary>
/// Builds one handshake message in room the caller gives it (stack memory: every handshake message
/// is a few hundred bytes), moving to a pooled array only when that is outgrown. <see cref="ToArray"/>
/// ends it; an encoder that throws instead leaves a grown writer's array to the collector (no message
/// that can outgrow its room carries a secret: a ticket's plaintext is at most 111 bytes).
/// A login writes four or five of these; on the heap each was a 512-byte array and a copy, and
/// the ticket's plaintext (a resumption secret) was left in one unwiped (docs/decisions/0021).
/// The encodings mirror <see cref="WireReader"/>.
/// </summary>
internal ref struct WireWriter
{
    internal const int MaxNameLength = 32;

    /// <summary>The room an encoder starts with; a larger message moves to a pooled array.</summary>
    internal const int StackSize = 512;

    private Span<byte> _buffer;
    private byte[]? _rented;
    private int _length;
    private bool _ended;

    internal WireWriter(Span<byte> room)
    {
        _buffer = room;
    }

    internal readonly int Length => _length;

    internal readonly ReadOnlySpan<byte> WrittenSpan => _buffer[.._length];

    /// <summary>The message, copied out; the writer gives back (wiped) any pooled array it took and is done.</summary>
    internal byte[] ToArray()
    {
        byte[] message = _buffer[.._length].ToArray();
        if (_rented is { } rented)
        {
            CryptographicOperations.ZeroMemory(rented.AsSpan(0, _length));
            ArrayPool<byte>.Shared.Return(rented);
            _rented = null;
        }
        _buffer = default;
        _length = 0;
        _ended = true;
        return message;
    }

    internal void WriteByte(byte value) => Reserve(1)[0] = value;

    internal void WriteUInt16(ushort value) => BinaryPrimitives.WriteUInt16BigEndian(Reserve(2), value);

    internal void WriteBytes(ReadOnlySpan<byte> value) => value.CopyTo(Reserve(value.Length));

    internal void WriteVector16(ReadOnlySpan<byte> value)
    {
        WriteUInt16(checked((ushort)value.Length));
        WriteBytes(value);
    }

    internal void WriteName(string name)
    {
        if (!IsName(name))
        {
            throw new ArgumentException($"'{name}' is not a valid protocol name.", nameof(name));
        }
        WriteByte((byte)name.Length);
        Span<byte> bytes = Reserve(name.Length);
        for (int i = 0; i < name.Length; i++)
        {
            bytes[i] = (byte)name[i];
        }
    }

    internal void WriteNameList(IReadOnlyList<string> names)
    {
        WriteByte(checked((byte)names.Count));
        foreach (string name in names)
        {
            WriteName(name);
        }
    }

    internal static bool IsNameByte(byte b) => b is (>= (byte)'a' and <= (byte)'z') or (>= (byte)'0' and <= (byte)'9') or (byte)'-';

    private static bool IsName(string name)
    {
        if (name.Length is 0 or > MaxNameLength)
        {
            return false;
        }
        foreach (char c in name)
        {
            if (c >= 128 || !IsNameByte((byte)c))
            {
                return false;
            }
        }
        return true;
    }

    private Span<byte> Reserve(int count)
    {
        if (_ended)
        {
            throw new InvalidOperationException("This writer was ended by ToArray.");
        }
        if (_length + count > _buffer.Length)
        {
            Grow(_length + count);
        }
        Span<byte> span = _buffer.Slice(_length, count);
        _length += count;
        return span;
    }

    private void Grow(int needed)
    {
        byte[] larger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, needed));
        _buffer[.._length].CopyTo(larger);
        if (_rented is { } old)
        {
            CryptographicOperations.ZeroMemory(old.AsSpan(0, _length));
            ArrayPool<byte>.Shared.Return(old);
        }
        _rented = larger;
        _buffer = larger;
    }
}
