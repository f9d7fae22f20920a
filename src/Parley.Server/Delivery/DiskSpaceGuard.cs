// Refuses new messages while the data directory's disk is nearly full, so a flood fails its own
// requests with `storage_full` instead of making every commit (acknowledgements included) fail.
using System.Diagnostics;

namespace Parley.Server.Delivery;

internal sealed class DiskSpaceGuard(string directory, long minFreeBytes)
{
    // Free space is a system call away; once a second is enough to notice a filling disk.
    private static readonly TimeSpan RecheckAfter = TimeSpan.FromSeconds(1);

    private readonly string _directory = Path.GetFullPath(directory);
    private long _checkedAt;
    private volatile bool _low;
    private int _checked;

    public long MinFreeBytes => minFreeBytes;

    public bool IsLow
    {
        get
        {
            if (minFreeBytes <= 0)
            {
                return false;
            }
            if (Volatile.Read(ref _checked) == 0 || Stopwatch.GetElapsedTime(Interlocked.Read(ref _checkedAt)) >= RecheckAfter)
            {
                Interlocked.Exchange(ref _checkedAt, Stopwatch.GetTimestamp());
                Volatile.Write(ref _checked, 1);
                _low = FreeBytes() < minFreeBytes;
            }
            return _low;
        }
    }

    /// <summary>Free space available to this process on the disk holding the data directory.</summary>
    public long FreeBytes() => new DriveInfo(_directory).AvailableFreeSpace;
}
