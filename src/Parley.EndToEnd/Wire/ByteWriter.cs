// A growable big-endian writer for our encodings. It may hold secrets (session state), so every
// buffer it outgrows is wiped, and ToArray wipes the working buffer after copying it out.
using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Parley.EndToEnd.Wire;

internal sealed class ByteWriter
{
    private byte[] _buffer;
    private int _length;

    public ByteWriter(int initialCapacity = 256) => _buffer = new byte[Math.Max(16, initialCapacity)];

    public ByteWriter WriteByte(byte value)
    {
        Reserve(1)[0] = value;
        return this;
    }

    public ByteWriter WriteBoolean(bool value) => WriteByte(value ? (byte)1 : (byte)0);

    public ByteWriter WriteUInt16(ushort value)
    {
        BinaryPrimitives.WriteUInt16BigEndian(Reserve(2), value);
        return this;
    }

    public ByteWriter WriteUInt32(uint value)
    {
        BinaryPrimitives.WriteUInt32BigEndian(Reserve(4), value);
        return this;
    }

    public ByteWriter WriteBytes(ReadOnlySpan<byte> value)
    {
        value.CopyTo(Reserve(value.Length));
        return this;
    }

    public ByteWriter WriteLengthPrefixed16(ReadOnlySpan<byte> value)
    {
        if (value.Length > ushort.MaxValue)
        {
            throw new ArgumentException($"A u16-prefixed field holds at most {ushort.MaxValue} bytes.", nameof(value));
        }
        return WriteUInt16((ushort)value.Length).WriteBytes(value);
    }

    public ByteWriter WriteLengthPrefixed32(ReadOnlySpan<byte> value) => WriteUInt32((uint)value.Length).WriteBytes(value);

    /// <summary>The written bytes; the writer's own buffer is wiped and must not be used again.</summary>
    public byte[] ToArray()
    {
        byte[] result = _buffer.AsSpan(0, _length).ToArray();
        CryptographicOperations.ZeroMemory(_buffer);
        _length = 0;
        return result;
    }

    private Span<byte> Reserve(int count)
    {
        int needed = checked(_length + count);
        if (needed > _buffer.Length)
        {
            byte[] larger = new byte[Math.Max(needed, checked(_buffer.Length * 2))];
            _buffer.AsSpan(0, _length).CopyTo(larger);
            CryptographicOperations.ZeroMemory(_buffer);
            _buffer = larger;
        }
        Span<byte> span = _buffer.AsSpan(_length, count);
        _length = needed;
        return span;
    }
}
