// A bounds-checked reader over untrusted bytes: every length is checked against what remains
// before anything is allocated, and every failure is an E2eProtocolException(MalformedData)
// naming the field. Integers are big-endian.
using System.Buffers.Binary;

namespace Parley.EndToEnd.Wire;

internal ref struct ByteReader
{
    private readonly ReadOnlySpan<byte> _data;
    private readonly string _what;
    private int _offset;

    public ByteReader(ReadOnlySpan<byte> data, string what)
    {
        _data = data;
        _what = what;
        _offset = 0;
    }

    public readonly int Remaining => _data.Length - _offset;

    public ReadOnlySpan<byte> ReadSpan(int length, string field)
    {
        if (length < 0 || length > Remaining)
        {
            throw Malformed($"{field} needs {length} bytes, {Remaining} remain");
        }
        ReadOnlySpan<byte> value = _data.Slice(_offset, length);
        _offset += length;
        return value;
    }

    public byte[] ReadBytes(int length, string field) => ReadSpan(length, field).ToArray();

    public byte ReadByte(string field) => ReadSpan(1, field)[0];

    public ushort ReadUInt16(string field) => BinaryPrimitives.ReadUInt16BigEndian(ReadSpan(2, field));

    public uint ReadUInt32(string field) => BinaryPrimitives.ReadUInt32BigEndian(ReadSpan(4, field));

    /// <summary>A u16 length, checked against <paramref name="maxLength"/> and what remains, then the bytes.</summary>
    public ReadOnlySpan<byte> ReadLengthPrefixed16(int maxLength, string field)
    {
        ushort length = ReadUInt16(field + " length");
        if (length > maxLength)
        {
            throw Malformed($"{field} is {length} bytes, at most {maxLength} allowed");
        }
        return ReadSpan(length, field);
    }

    /// <summary>A u32 length, checked against <paramref name="maxLength"/> and what remains, then the bytes.</summary>
    public ReadOnlySpan<byte> ReadLengthPrefixed32(int maxLength, string field)
    {
        uint length = ReadUInt32(field + " length");
        if (length > (uint)maxLength)
        {
            throw Malformed($"{field} is {length} bytes, at most {maxLength} allowed");
        }
        return ReadSpan((int)length, field);
    }

    public bool ReadBoolean(string field) => ReadByte(field) switch
    {
        0 => false,
        1 => true,
        byte other => throw Malformed($"{field} is {other}, expected 0 or 1"),
    };

    public ReadOnlySpan<byte> ReadRest() => ReadSpan(Remaining, "rest");

    public readonly void EnsureEnd()
    {
        if (Remaining != 0)
        {
            throw Malformed($"{Remaining} trailing bytes");
        }
    }

    public readonly void ExpectVersion(byte version, byte expected)
    {
        if (version != expected)
        {
            throw new E2eProtocolException(E2eError.UnsupportedVersion, $"{_what} version {version}, expected {expected}");
        }
    }

    private readonly E2eProtocolException Malformed(string reason) => new(E2eError.MalformedData, $"{_what}: {reason}");
}
