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

    public static string FileName(int number) => number.ToString("D10", System.Globalization.CultureInfo.InvariantCulture) + ".log";

    /// <summary>Creates segment <paramref name="number"/> owner-only with a fresh header, synced (the caller syncs the directory).</summary>
    public static InboxLogSegment Create(string directory, int number)
    {
        string path = System.IO.Path.Combine(directory, FileName(number));
        using (FileStream _ = OwnerOnly.OpenWrite(path, FileMode.CreateNew))
        {
        }
        SafeFileHandle handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
        try
        {
            byte[] header = InboxLogFrame.NewSegmentHeader(out ulong key);
            RandomAccess.Write(handle, header, 0);
            RandomAccess.FlushToDisk(handle);
            return new InboxLogSegment(number, path, handle, key, header.Length);
        }
        catch
        {
            // Gone again, so that the next attempt can create it.
            handle.Dispose();
            File.Delete(path);
            throw;
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
