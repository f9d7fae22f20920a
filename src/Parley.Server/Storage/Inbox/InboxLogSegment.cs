// One file of the inbox log: its handle, its key, where the next frame goes, and how many of the
// messages it holds are still live (a segment with none is deleted once every older one is).
using Microsoft.Win32.SafeHandles;
using Parley.Transport.Files;

namespace Parley.Server.Storage.Inbox;

internal sealed class InboxLogSegment : IDisposable
{
    private InboxLogSegment(int number, string path, SafeFileHandle handle, ulong key, long length)
    {
        Number = number;
        Path = path;
        Handle = handle;
        Key = key;
        Length = length;
    }

    public int Number { get; }

    public string Path { get; }

    public SafeFileHandle Handle { get; }

    public ulong Key { get; }

    /// <summary>Where the next frame goes: the end of the last whole frame.</summary>
    public long Length { get; set; }

    /// <summary>Messages in this segment that the index still points to.</summary>
    public long LiveMessages { get; set; }

    /// <summary>Bytes of those messages' entries.</summary>
    public long LiveBytes { get; set; }

    /// <summary>Bytes of every message entry written here, live or not: more than <see cref="LiveBytes"/> means it holds a removed message's body.</summary>
    public long MessageBytes { get; set; }

    public static string FileName(int number) => number.ToString("D10", System.Globalization.CultureInfo.InvariantCulture) + ".log";

    /// <summary>
    /// Creates segment <paramref name="number"/> owner-only with a fresh header: written and synced
    /// under a temporary name, then renamed, so a crash never leaves a segment without its header
    /// (the caller syncs the directory). On failure nothing is left under either name.
    /// </summary>
    public static InboxLogSegment Create(string directory, int number)
    {
        string path = System.IO.Path.Combine(directory, FileName(number));
        string temporary = path + ".tmp";
        byte[] header = InboxLogFrame.NewSegmentHeader(out ulong key);
        try
        {
            using (FileStream file = OwnerOnly.OpenWrite(temporary, FileMode.Create))
            {
                file.Write(header);
                file.Flush(flushToDisk: true);
            }
            if (File.Exists(path) && new FileInfo(path).Length <= InboxLogFrame.SegmentHeaderBytes)
            {
                // An earlier attempt that failed after its rename, never written to: replaced.
                File.Delete(path);
            }
            File.Move(temporary, path);
        }
        catch
        {
            DeleteIfPossible(temporary);
            throw;
        }
        try
        {
            SafeFileHandle handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
            return new InboxLogSegment(number, path, handle, key, header.Length);
        }
        catch
        {
            // It holds no frame yet: gone again, so that the next attempt can create it.
            DeleteIfPossible(path);
            throw;
        }
    }

    /// <summary>Clean-up after a failure: a failing clean-up must not hide the failure's own cause (which the log reports).</summary>
    private static void DeleteIfPossible(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Opens an existing segment for replay; its length is set once replay has found its last whole frame.</summary>
    public static InboxLogSegment Open(string path, int number)
    {
        SafeFileHandle handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
        try
        {
            byte[] header = new byte[InboxLogFrame.SegmentHeaderBytes];
            int read = RandomAccess.Read(handle, header, 0);
            if (read < header.Length || !InboxLogFrame.TryReadSegmentHeader(header, out ulong key))
            {
                throw new InvalidDataException($"{path} is not an inbox log segment this server reads (its header is missing or of another version)");
            }
            return new InboxLogSegment(number, path, handle, key, header.Length);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Writes a sealed frame at the end and syncs it; on failure the segment ends where it did before.</summary>
    public void Append(ReadOnlySpan<byte> frame)
    {
        RandomAccess.Write(Handle, frame, Length);
        RandomAccess.FlushToDisk(Handle);
        Length += frame.Length;
    }

    /// <summary>Cuts a partly written frame off the end (after a failed write, or a torn tail found by replay).</summary>
    public void Truncate(long length)
    {
        RandomAccess.SetLength(Handle, length);
        RandomAccess.FlushToDisk(Handle);
        Length = length;
    }

    public void Dispose() => Handle.Dispose();
}
