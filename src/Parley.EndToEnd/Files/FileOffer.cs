// A file offer (PROTOCOL.md §15.2): what a recipient needs to fetch, decrypt and check one file,
// sent inside an end-to-end message (a pairwise envelope now, a group message later: the offer
// names no recipient, so the same bytes fit both). Version 1:
//   u8 version = 1 || file id (16) || u64 size || u32 chunk size || key (32) || SHA-256 of the
//   plaintext (32) || u16 name length || name (UTF-8, 1..255 bytes) || u8 type length ||
//   content type (printable ASCII, 0..128)
// The name is the sender's word only: a receiver sanitises it before using it as a file name.
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Parley.EndToEnd.Wire;

namespace Parley.EndToEnd.Files;

public sealed class FileOffer : IDisposable
{
    public const byte Version = 1;
    public const int MaxNameBytes = 255;
    public const int MaxContentTypeLength = 128;
    public const int HashSize = 32;

    private static readonly UTF8Encoding s_strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly byte[] _sha256;

    /// <param name="key">Owned by the offer from now on (disposed with it).</param>
    public FileOffer(FileId fileId, FileLayout layout, FileKey key, ReadOnlySpan<byte> sha256, string name, string contentType)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (sha256.Length != HashSize)
        {
            throw new ArgumentException($"the hash is {HashSize} bytes", nameof(sha256));
        }
        CheckName(name);
        CheckContentType(contentType);
        FileId = fileId;
        Layout = layout;
        Key = key;
        _sha256 = sha256.ToArray();
        Name = name;
        ContentType = contentType;
    }

    public FileId FileId { get; }

    public FileLayout Layout { get; }

    public FileKey Key { get; }

    /// <summary>SHA-256 of the whole plaintext: the receiver compares it (in constant time) once every chunk is in.</summary>
    public ReadOnlySpan<byte> Sha256 => _sha256;

    /// <summary>The sender's name for the file, unsanitised: never a path to write to as it is.</summary>
    public string Name { get; }

    public string ContentType { get; }

    public byte[] Encode()
    {
        byte[] name = s_strict.GetBytes(Name);
        byte[] type = Encoding.ASCII.GetBytes(ContentType);
        byte[] key = Key.Export();
        try
        {
            Span<byte> number = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64BigEndian(number, (ulong)Layout.Size);
            return new ByteWriter(128 + name.Length + type.Length)
                .WriteByte(Version)
                .WriteBytes(FileId.Bytes)
                .WriteBytes(number)
                .WriteUInt32((uint)Layout.ChunkSize)
                .WriteBytes(key)
                .WriteBytes(_sha256)
                .WriteUInt16((ushort)name.Length).WriteBytes(name)
                .WriteByte((byte)type.Length).WriteBytes(type)
                .ToArray();
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <exception cref="E2eProtocolException">Malformed (lengths, a bad name or type, trailing bytes) or an unknown version.</exception>
    public static FileOffer Decode(ReadOnlySpan<byte> encoded)
    {
        ByteReader reader = new(encoded, "file offer");
        reader.ExpectVersion(reader.ReadByte("version"), Version);
        FileId id = FileId.FromBytes(reader.ReadSpan(FileId.Size, "file id"));
        ulong size = BinaryPrimitives.ReadUInt64BigEndian(reader.ReadSpan(8, "size"));
        uint chunkSize = reader.ReadUInt32("chunk size");
        if (size > FileLayout.MaxSize || chunkSize > int.MaxValue)
        {
            throw new E2eProtocolException(E2eError.MalformedData, "file offer: size or chunk size out of range");
        }
        FileLayout layout = new((long)size, (int)chunkSize);
        ReadOnlySpan<byte> keyBytes = reader.ReadSpan(FileKey.Size, "key");
        ReadOnlySpan<byte> hash = reader.ReadSpan(HashSize, "hash");
        ReadOnlySpan<byte> nameBytes = reader.ReadLengthPrefixed16(MaxNameBytes, "name");
        int typeLength = reader.ReadByte("content type length");
        ReadOnlySpan<byte> typeBytes = reader.ReadSpan(typeLength, "content type");
        reader.EnsureEnd();
        string name;
        try
        {
            name = s_strict.GetString(nameBytes);
        }
        catch (DecoderFallbackException)
        {
            throw new E2eProtocolException(E2eError.MalformedData, "file offer: the name is not UTF-8");
        }
        string type = Encoding.ASCII.GetString(typeBytes);
        try
        {
            CheckName(name);
            CheckContentType(type);
        }
        catch (ArgumentException e)
        {
            throw new E2eProtocolException(E2eError.MalformedData, "file offer: " + e.Message);
        }
        return new FileOffer(id, layout, FileKey.Import(keyBytes), hash, name, type);
    }

    private static void CheckName(string name)
    {
        int bytes = s_strict.GetByteCount(name);
        if (bytes is 0 or > MaxNameBytes)
        {
            throw new ArgumentException($"a file name is 1 to {MaxNameBytes} bytes of UTF-8", nameof(name));
        }
    }

    private static void CheckContentType(string type)
    {
        if (type.Length > MaxContentTypeLength || !type.All(c => c is >= ' ' and <= '~'))
        {
            throw new ArgumentException($"a content type is 0 to {MaxContentTypeLength} printable ASCII characters", nameof(type));
        }
    }

    public void Dispose() => Key.Dispose();
}
