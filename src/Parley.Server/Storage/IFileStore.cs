// Where the server keeps files in transit (PROTOCOL.md §11.8): opaque ciphertext chunks with the
// bookkeeping of who uploads, who may download and which recipient devices still need the file.
// An interface of its own, beside IMessageStore, so a file store can live elsewhere than messages
// (another database, a disk or object store; docs/decisions/0010).
namespace Parley.Server.Storage;

/// <summary>A new upload: <paramref name="Size"/> ciphertext bytes in <paramref name="ChunkCount"/> chunks of <paramref name="ChunkSize"/> (the last one shorter).</summary>
public sealed record NewUpload(string FileId, string Owner, string OwnerDevice, IReadOnlyList<string> Recipients, long Size, int ChunkSize, long ChunkCount, long CreatedAt);

/// <summary>A file as stored; <paramref name="Received"/> chunks from index 0 are held.</summary>
public sealed record StoredFile(string FileId, string Owner, IReadOnlyList<string> Recipients, long Size, int ChunkSize, long ChunkCount,
    long Received, bool Complete, long CreatedAt, long LastActivity);

/// <summary>Unfinished uploads of one account and the bytes they declared.</summary>
public readonly record struct UploadUsage(int Uploads, long Bytes);

/// <summary>A recipient's file quota in use (FileCharges.InInbox per complete file): by every sender, and by one.</summary>
public readonly record struct InboxFileUse(long All, long FromUploader);

/// <summary>Complete files of one uploader still waiting for recipients, and their charge (FileCharges.ForUploader).</summary>
public readonly record struct WaitingFiles(int Files, long Charged);

/// <summary>What a sweep deleted.</summary>
public readonly record struct FileSweep(int Abandoned, int Expired);

public interface IFileStore : IAsyncDisposable
{
    Task CreateUploadAsync(NewUpload upload, CancellationToken cancellationToken);

    Task<StoredFile?> FindAsync(string fileId, CancellationToken cancellationToken);

    /// <summary>Uploads of <paramref name="owner"/> not yet ended, and their declared sizes.</summary>
    Task<UploadUsage> UnfinishedUploadsAsync(string owner, CancellationToken cancellationToken);

    /// <summary>
    /// The complete files waiting for <paramref name="recipient"/> (some device of theirs has not
    /// taken them yet), each charged at least FileCharges.MinimumFile: what counts against its file
    /// quota, in all and from <paramref name="uploader"/>. An upload in progress counts against its uploader's own bounds
    /// instead, so one that never sends its chunks (or never ends) holds nothing of anyone else's.
    /// </summary>
    Task<InboxFileUse> BytesHeldForAsync(string recipient, string uploader, CancellationToken cancellationToken);

    /// <summary>The complete files of <paramref name="uploader"/> still on the server (until the last device takes them, or they expire), and what they are charged.</summary>
    Task<WaitingFiles> WaitingFilesOfAsync(string uploader, CancellationToken cancellationToken);

    /// <summary>
    /// Stores chunk <paramref name="index"/> if it is the next one (= received) of an unfinished
    /// upload, in one transaction with the count; returns the chunks held afterwards (unchanged for a repeat).
    /// </summary>
    Task<long> AppendChunkAsync(string fileId, long index, ReadOnlyMemory<byte> body, long now, CancellationToken cancellationToken);

    /// <summary>
    /// Marks the upload complete, durably, waiting for <paramref name="devices"/> (user, device) to
    /// take it; false (and nothing written) when the upload is gone (swept meanwhile).
    /// </summary>
    Task<bool> CompleteAsync(string fileId, IReadOnlyList<(string User, string Device)> devices, long now, CancellationToken cancellationToken);

    /// <summary>One chunk's ciphertext (null when not held).</summary>
    Task<byte[]?> ReadChunkAsync(string fileId, long index, CancellationToken cancellationToken);

    /// <summary>
    /// Records that <paramref name="device"/> of <paramref name="user"/> has the file; deletes the
    /// file when no awaited device is left. Returns whether this call deleted it: false for a file
    /// that is gone (the last device took it meanwhile) or not complete, which stays as it is.
    /// </summary>
    Task<bool> MarkDoneAsync(string fileId, string user, string device, CancellationToken cancellationToken);

    /// <summary>Deletes unfinished uploads idle since before <paramref name="idleBefore"/> and files created before <paramref name="createdBefore"/>.</summary>
    Task<FileSweep> DeleteExpiredAsync(long idleBefore, long createdBefore, CancellationToken cancellationToken);
}
