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

/// <summary>What one account may have in unfinished uploads at once: a count, and the bytes they declare.</summary>
public readonly record struct UploadLimits(int MaxUploads, long MaxBytes)
{
    /// <summary>True when <paramref name="usage"/> leaves room for one more upload of <paramref name="size"/> bytes.</summary>
    public bool Admit(UploadUsage usage, long size) => usage.Uploads < MaxUploads && usage.Bytes + size <= MaxBytes;
}

/// <summary>A recipient's file quota in use (FileCharges.InInbox per complete file): by every sender, and by one.</summary>
public readonly record struct InboxFileUse(long All, long FromUploader);

/// <summary>Complete files of one uploader still waiting for recipients, and their charge (FileCharges.ForUploader).</summary>
public readonly record struct WaitingFiles(int Files, long Charged);

/// <summary>
/// The bounds a file must fit as it completes (§11.8): its uploader's waiting files, each awaiting
/// recipient's file quota, and the part of that quota one sender may hold. The store checks them in
/// the transaction that counts the file, so two completions (on one node or two) cannot both pass
/// the same bound.
/// </summary>
public readonly record struct FileBounds(long WaitingPerUploader, long Inbox, long FromOneSender)
{
    /// <summary>No bound (tests of the bookkeeping alone).</summary>
    public static FileBounds None => new(long.MaxValue, long.MaxValue, long.MaxValue);
}

public enum CompletionResult
{
    /// <summary>Complete now, awaiting the devices given; counted in every total.</summary>
    Completed,
    /// <summary>Complete before this call (a repeated end): nothing changed.</summary>
    AlreadyComplete,
    /// <summary>There is no such upload (the sweep took it): nothing written.</summary>
    Gone,
    /// <summary>The uploader's waiting files would pass <see cref="FileBounds.WaitingPerUploader"/>: nothing written.</summary>
    UploaderFull,
    /// <summary><see cref="FileCompletion.Recipient"/>'s quota would pass <see cref="FileBounds.Inbox"/>: nothing written.</summary>
    InboxFull,
    /// <summary>The uploader's share of <see cref="FileCompletion.Recipient"/>'s quota would pass <see cref="FileBounds.FromOneSender"/>: nothing written.</summary>
    SenderShareFull,
}

/// <summary>How a completion ended; for a refusal, what was held: the uploader's waiting files, or the recipient's quota in use (in all, or from this uploader).</summary>
public readonly record struct FileCompletion(CompletionResult Result, string? Recipient = null, long Held = 0, int Files = 0)
{
    /// <summary>The file is complete (now or before): its end may be confirmed.</summary>
    public bool IsComplete => Result is CompletionResult.Completed or CompletionResult.AlreadyComplete;
}

/// <summary>What a sweep deleted.</summary>
public readonly record struct FileSweep(int Abandoned, int Expired);

public interface IFileStore : IAsyncDisposable
{
    Task CreateUploadAsync(NewUpload upload, CancellationToken cancellationToken);

    /// <summary>
    /// Creates the upload only if its owner's unfinished uploads, counted in the same transaction,
    /// leave room for it under <paramref name="limits"/>: null when created, else the usage that
    /// refused it. The count and the insert are one step for every node of a shared store (on
    /// PostgreSQL under a lock per owner), so the bound holds across a cluster, not once per node.
    /// </summary>
    Task<UploadUsage?> TryCreateUploadAsync(NewUpload upload, UploadLimits limits, CancellationToken cancellationToken);

    Task<StoredFile?> FindAsync(string fileId, CancellationToken cancellationToken);

    /// <summary>Uploads of <paramref name="owner"/> not yet ended, and their declared sizes.</summary>
    Task<UploadUsage> UnfinishedUploadsAsync(string owner, CancellationToken cancellationToken);

    /// <summary>
    /// The complete files waiting for <paramref name="recipient"/> (some device of theirs has not
    /// taken them yet), each charged at least FileCharges.MinimumFile: what counts against its file
    /// quota, in all and from <paramref name="uploader"/>. An upload in progress counts against its uploader's own bounds
    /// instead, so one that never sends its chunks (or never ends) holds nothing of anyone else's.
    /// A running total kept by the writes that change it: one row to read, however many files.
    /// </summary>
    Task<InboxFileUse> BytesHeldForAsync(string recipient, string uploader, CancellationToken cancellationToken);

    /// <summary>The complete files of <paramref name="uploader"/> still on the server (until the last device takes them, or they expire), and what they are charged; a running total.</summary>
    Task<WaitingFiles> WaitingFilesOfAsync(string uploader, CancellationToken cancellationToken);

    /// <summary>
    /// Stores chunk <paramref name="index"/> if it is the next one (= received) of an unfinished
    /// upload, in one transaction with the count; returns the chunks held afterwards (unchanged for a repeat).
    /// </summary>
    Task<long> AppendChunkAsync(string fileId, long index, ReadOnlyMemory<byte> body, long now, CancellationToken cancellationToken);

    /// <summary>
    /// Marks the upload complete, durably, waiting for <paramref name="devices"/> (user, device) to
    /// take it, and counts it against its uploader and each user with an awaited device, if it fits
    /// <paramref name="bounds"/>. Nothing is written when it does not fit, when it is complete
    /// already (a repeated end) or when it is gone (swept meanwhile).
    /// </summary>
    Task<FileCompletion> CompleteAsync(string fileId, IReadOnlyList<(string User, string Device)> devices, FileBounds bounds, long now, CancellationToken cancellationToken);

    /// <summary>One chunk's ciphertext (null when not held).</summary>
    Task<byte[]?> ReadChunkAsync(string fileId, long index, CancellationToken cancellationToken);

    /// <summary>
    /// Records that <paramref name="device"/> of <paramref name="user"/> has the file; deletes the
    /// file when no awaited device is left. Returns whether this call deleted it: false for a file
    /// that is gone (the last device took it meanwhile) or not complete, which stays as it is.
    /// </summary>
    Task<bool> MarkDoneAsync(string fileId, string user, string device, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes unfinished uploads idle since before <paramref name="idleBefore"/> and files created
    /// before <paramref name="createdBefore"/>, a few at a time, so no transaction of the sweep
    /// holds the store for long.
    /// </summary>
    Task<FileSweep> DeleteExpiredAsync(long idleBefore, long createdBefore, CancellationToken cancellationToken);
}
