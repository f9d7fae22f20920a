// How a file is cut into chunks (PROTOCOL.md §15): every chunk holds chunkSize plaintext bytes
// but the last, which holds the rest (1 to chunkSize bytes; an empty file is one empty chunk, so
// its end is still authenticated). Both sides compute the layout from the offer's size and chunk
// size alone, so a receiver knows how many chunks to expect and which one must be the last.
namespace Parley.EndToEnd.Files;

public readonly record struct FileLayout
{
    /// <summary>Plaintext bytes per chunk <c>parley chat</c> uses: 48 KiB, so a chunk's ciphertext (+16) and its JSON fit one record (§11.8).</summary>
    public const int DefaultChunkSize = 48 * 1024;

    public const int MinChunkSize = 1024;

    /// <summary>Largest chunk: its ciphertext must fit the default 64 KiB body.</summary>
    public const int MaxChunkSize = 64 * 1024 - FileChunkCipher.TagSize;

    /// <summary>Largest file size the layout accepts (2^48 bytes, far past any server limit); keeps chunk counts in range.</summary>
    public const long MaxSize = 1L << 48;

    public FileLayout(long size, int chunkSize)
    {
        if (size < 0 || size > MaxSize)
        {
            throw new E2eProtocolException(E2eError.MalformedData, $"a file is 0 to {MaxSize} bytes");
        }
        if (chunkSize is < MinChunkSize or > MaxChunkSize)
        {
            throw new E2eProtocolException(E2eError.MalformedData, $"a chunk is {MinChunkSize} to {MaxChunkSize} bytes");
        }
        Size = size;
        ChunkSize = chunkSize;
        ChunkCount = size == 0 ? 1 : (size + chunkSize - 1) / chunkSize;
    }

    public long Size { get; }

    public int ChunkSize { get; }

    public long ChunkCount { get; }

    public bool IsLast(long index) => index == ChunkCount - 1;

    /// <summary>Plaintext bytes of chunk <paramref name="index"/>.</summary>
    public int PlaintextLength(long index)
    {
        if (index < 0 || index >= ChunkCount)
        {
            throw new ArgumentOutOfRangeException(nameof(index), $"chunk {index} is outside 0..{ChunkCount - 1}");
        }
        return IsLast(index) ? (int)(Size - (ChunkCount - 1) * ChunkSize) : ChunkSize;
    }

    public int CiphertextLength(long index) => PlaintextLength(index) + FileChunkCipher.TagSize;

    /// <summary>Ciphertext bytes of the whole file (what the server stores).</summary>
    public long CiphertextSize => Size + ChunkCount * FileChunkCipher.TagSize;

    /// <summary>Where chunk <paramref name="index"/> starts in the plaintext.</summary>
    public long Offset(long index) => index * ChunkSize;
}
