using System.Buffers.Binary;
using System.Text;

namespace Parley.Protocol.Wire;

/// <summary>Builds one handshake message; the encodings mirror <see cref="WireReader"/>.</summary>
internal sealed class WireWriter
{
    internal const int MaxNameLength = 32;

    private byte[] _buffer = new byte[512];
    private int _length;

    internal int Length => _length;

    internal ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _length);

    internal byte[] ToArray() => _buffer.AsSpan(0, _length).ToArray();

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
        if (name.Length is 0 or > MaxNameLength || !name.All(c => c < 128 && IsNameByte((byte)c)))
        {
            throw new ArgumentException($"'{name}' is not a valid protocol name.", nameof(name));
        }
        WriteByte((byte)name.Length);
        WriteBytes(Encoding.ASCII.GetBytes(name));
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

    private Span<byte> Reserve(int count)
    {
        if (_length + count > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + count));
        }
        Span<byte> span = _buffer.AsSpan(_length, count);
        _length += count;
        return span;
    }
}
