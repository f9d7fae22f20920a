// The bounds on files in transit (PROTOCOL.md §11.4's table, §11.8), named once here.
namespace Parley.Server.Hosting;

public sealed partial record ServerOptions
{
    /// <summary>Largest file, in plaintext bytes (ciphertext minus 16 bytes a chunk): <c>parley server --max-file-mib</c>.</summary>
    public long MaxFileBytes { get; init; } = 100L * 1024 * 1024;

    /// <summary>Uploads one account may have started and not ended; beyond it, <c>too_many_uploads</c>.</summary>
    public int MaxUnfinishedUploadsPerAccount { get; init; } = 4;

    /// <summary>Bytes those unfinished uploads may declare in all (so an account cannot reserve disk it never fills).</summary>
    public long MaxUnfinishedUploadBytesPerAccount { get; init; } = 400L * 1024 * 1024;

    /// <summary>An unfinished upload with no chunk for this long is deleted by the sweep.</summary>
    public TimeSpan UploadExpiry { get; init; } = TimeSpan.FromHours(24);

    /// <summary>Ciphertext bytes of files waiting for one recipient (its inbox's file quota); beyond it senders get <c>inbox_full</c>.</summary>
    public long MaxInboxFileBytes { get; init; } = 1024L * 1024 * 1024;

    /// <summary>
    /// Of one recipient's file quota, what files from one sender may hold (a quarter of the default
    /// quota), so no stranger can fill someone's file inbox alone; beyond it, <c>inbox_full</c>.
    /// </summary>
    public long MaxInboxFileBytesFromOneSender { get; init; } = 256L * 1024 * 1024;

    /// <summary>
    /// Bytes of complete files one uploader may have waiting for their recipients, charged as
    /// <see cref="FileCharges"/> says (so many tiny files to many recipients cost what their rows
    /// cost); beyond it, <c>too_many_uploads</c>: <c>parley server --max-waiting-file-mib</c>.
    /// </summary>
    public long MaxWaitingFileBytesPerUploader { get; init; } = 2048L * 1024 * 1024;

    internal string FileDatabasePath => Path.Combine(DataDirectory, "files.db");
}
