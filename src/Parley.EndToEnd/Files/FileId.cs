// A file's id (PROTOCOL.md §11.8, §15): 16 random bytes the server makes at file_upload_begin,
// written as 32 lower-case hex digits on the wire. The end-to-end layer binds every chunk to it.
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

namespace Parley.EndToEnd.Files;

public readonly record struct FileId
{
    public const int Size = 16;

    private readonly byte[] _bytes;

    private FileId(byte[] bytes) => _bytes = bytes;

    public ReadOnlySpan<byte> Bytes => _bytes;

    public static FileId New() => new(RandomNumberGenerator.GetBytes(Size));

    public static FileId FromBytes(ReadOnlySpan<byte> bytes) =>
        bytes.Length == Size ? new FileId(bytes.ToArray()) : throw new E2eProtocolException(E2eError.MalformedData, $"a file id is {Size} bytes");

    /// <summary>Parses exactly 32 lower-case hex digits; anything else is not a file id.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out FileId id)
    {
        id = default;
        if (text is not { Length: Size * 2 } || !text.All(c => c is (>= '0' and <= '9') or (>= 'a' and <= 'f')))
        {
            return false;
        }
        id = new FileId(Convert.FromHexString(text));
        return true;
    }

    public bool Equals(FileId other) => Bytes.SequenceEqual(other.Bytes);

    public override int GetHashCode() => _bytes is null ? 0 : BitConverter.ToInt32(_bytes, 0);

    public override string ToString() => _bytes is null ? "" : Convert.ToHexStringLower(_bytes);
}
