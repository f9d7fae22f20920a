using System.Buffers.Binary;

namespace Parley.Protocol.Wire;

/// <summary>Bounds-checked reader over one message; every overrun is a specific malformed error.</summary>
internal ref struct WireReader
{
    private readonly ReadOnlySpan<byte> _data;
    private readonly string _message;
    private int _position;

    internal WireReader(ReadOnlySpan<byte> data, string message)
    {
        _data = data;
        _message = message;
        _position = 0;
    }

    internal readonly int Position => _position;

    internal readonly int Remaining => _data.Length - _position;

    internal byte ReadByte(string field) => ReadBytes(1, field)[0];

    internal ushort ReadUInt16(string field) => BinaryPrimitives.ReadUInt16BigEndian(ReadBytes(2, field));

    internal ReadOnlySpan<byte> ReadBytes(int count, string field) => ReadBytes(count, field, null);

    // A field's part ("length", "count") is joined to its name only for an error: a handshake reads
    // some twenty fields, and building each name up front was a string per field per login.
    private ReadOnlySpan<byte> ReadBytes(int count, string field, string? part)
    {
        if (count > Remaining)
        {
            throw Malformed($"truncated in field '{(part is null ? field : field + " " + part)}' (needs {count} bytes, {Remaining} left)");
        }
        ReadOnlySpan<byte> slice = _data.Slice(_position, count);
        _position += count;
        return slice;
    }

    /// <summary>A u16 length followed by that many bytes.</summary>
    internal ReadOnlySpan<byte> ReadVector16(string field) => ReadBytes(BinaryPrimitives.ReadUInt16BigEndian(ReadBytes(2, field, "length")), field);

    /// <summary>A u8 length (1..32) followed by that many bytes of [a-z0-9-].</summary>
    internal string ReadName(string field)
    {
        int length = ReadBytes(1, field, "length")[0];
        if (length is 0 or > WireWriter.MaxNameLength)
        {
            throw Malformed($"field '{field}' has name length {length} (must be 1..{WireWriter.MaxNameLength})");
        }
        ReadOnlySpan<byte> bytes = ReadBytes(length, field);
        foreach (byte b in bytes)
        {
            if (!WireWriter.IsNameByte(b))
            {
                throw Malformed($"field '{field}' holds a name with a byte outside [a-z0-9-]");
            }
        }
        return ProtocolNames.Get(bytes);
    }

    /// <summary>A u8 count followed by that many names.</summary>
    internal List<string> ReadNameList(string field)
    {
        int count = ReadBytes(1, field, "count")[0];
        if (count == 0)
        {
            throw Malformed($"field '{field}' is an empty list");
        }
        List<string> names = new(count);
        for (int i = 0; i < count; i++)
        {
            names.Add(ReadName(field));
        }
        return names;
    }

    internal readonly void EnsureEnd()
    {
        if (Remaining != 0)
        {
            throw Malformed($"{Remaining} unexpected trailing bytes");
        }
    }

    private readonly ParleyProtocolException Malformed(string detail) =>
        new(ProtocolError.Malformed, $"{_message}: {detail}");
}
