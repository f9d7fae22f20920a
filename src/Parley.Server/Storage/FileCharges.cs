// What a file costs against the bounds of §11.8, in bytes. Its ciphertext alone would let a sender
// store unbounded bookkeeping for free: a 16-byte file names up to 256 recipients, each with rows
// for their devices. So every file counts at least MinimumFile bytes, and against its uploader also
// PerRecipient bytes for each recipient it names.
namespace Parley.Server.Storage;

public static class FileCharges
{
    /// <summary>The least a file counts, in a recipient's quota and its uploader's: 64 KiB.</summary>
    public const long MinimumFile = 64 * 1024;

    /// <summary>What each recipient a file names adds to its uploader's charge (its rows and its devices' rows).</summary>
    public const long PerRecipient = 4 * 1024;

    /// <summary>The most ciphertext a file of <paramref name="maxFileBytes"/> plaintext bytes can take: 16 bytes of tag for every 1,024 (the smallest chunk, §15.1).</summary>
    public static long LargestCiphertext(long maxFileBytes) => maxFileBytes + 16 * ((maxFileBytes + 1023) / 1024);

    /// <summary>A file of <paramref name="size"/> ciphertext bytes in a recipient's quota.</summary>
    public static long InInbox(long size) => Math.Max(size, MinimumFile);

    /// <summary>A file of <paramref name="size"/> ciphertext bytes for <paramref name="recipients"/> recipients, against its uploader.</summary>
    public static long ForUploader(long size, int recipients) => InInbox(size) + PerRecipient * recipients;
}
