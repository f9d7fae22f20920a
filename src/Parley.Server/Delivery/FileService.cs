// What every connection shares for files (PROTOCOL.md §11.8): the store and its bounds. The bounds
// are the store's to keep, in the transactions that change what they count, so they hold across the
// nodes of a cluster: unfinished uploads where one is created (TryCreateUploadAsync), complete files
// where one counts (FileTotals).
using Microsoft.Extensions.Logging;
using Parley.Server.Hosting;
using Parley.Server.Storage;

namespace Parley.Server.Delivery;

internal sealed class FileService(IFileStore store, ServerOptions options, ILogger logger)
{
    /// <summary>Chunks one connection may have queued for sending at once: a download holds at most this many bodies in memory.</summary>
    public const int ChunksInOutbox = 4;

    public IFileStore Store => store;

    public ServerOptions Options => options;

    public ILogger Logger => logger;

    /// <summary>Plaintext bytes of a file of <paramref name="size"/> ciphertext bytes in <paramref name="chunkCount"/> chunks (each adds a 16-byte tag).</summary>
    public static long PlaintextSize(long size, long chunkCount) => size - chunkCount * 16;

    /// <summary>Chunks of <paramref name="chunkSize"/> that hold <paramref name="size"/> bytes; never overflows, whatever size a client declares.</summary>
    public static long ChunkCountFor(long size, int chunkSize) => size / chunkSize + (size % chunkSize == 0 ? 0 : 1);
}
