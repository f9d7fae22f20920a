// Makes a directory's entries durable (a new segment's name, a rename): fsync of the directory
// itself, which .NET has no API for (it refuses to open a directory as a file).
using System.Runtime.InteropServices;

namespace Parley.Server.Storage.Inbox;

internal static class DirectorySync
{
    private const int ReadOnly = 0;

    /// <exception cref="IOException">The directory could not be opened or synced.</exception>
    public static void Sync(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            // NTFS journals its directory entries; there is no directory handle to flush.
            return;
        }
        int fd = Open(directory, ReadOnly);
        if (fd < 0)
        {
            throw new IOException($"could not open {directory} to sync it (errno {Marshal.GetLastPInvokeError()})");
        }
        try
        {
            if (Fsync(fd) != 0)
            {
                throw new IOException($"could not sync {directory} (errno {Marshal.GetLastPInvokeError()})");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    // DllImport rather than LibraryImport, as in MemoryTrim: the generated stubs would need unsafe code in this project.
    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Fsync(int fd);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Close(int fd);
}
