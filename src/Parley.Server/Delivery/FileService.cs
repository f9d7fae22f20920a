// What every connection shares for files (PROTOCOL.md §11.8): the store and its bounds. Admission
// of a new upload is serialised here, so two concurrent begins of one account cannot both pass its
// bound of unfinished uploads. The bounds of complete files are the store's to keep: it checks them
// in the transaction that counts a file (FileTotals), which holds across nodes too.
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

    /// <summary>Held while an upload is admitted: the checks and the insert are one step.</summary>
    public SemaphoreSlim Admission { get; } = new(1, 1);

    /// <summary>Plaintext bytes of a file of <paramref name="size"/> ciphertext bytes in <paramref name="chunkCount"/> chunks (each adds a 16-byte tag).</summary>
    public static long PlaintextSize(long size, long chunkCount) => size - chunkCount * 16;

    public static long ChunkCountFor(long size, int chunkSize) => (size + chunkSize - 1) / chunkSize;
}
