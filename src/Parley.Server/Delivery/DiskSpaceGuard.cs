// Refuses new messages while the data directory's disk is nearly full, so a flood fails its own
// requests with `storage_full` instead of making every commit (acknowledgements included) fail.
using Microsoft.Extensions.Logging;

namespace Parley.Server.Delivery;

internal sealed class DiskSpaceGuard(string directory, long minFreeBytes, ILogger logger, TimeProvider time)
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
            if (Volatile.Read(ref _checked) == 0 || time.GetElapsedTime(Interlocked.Read(ref _checkedAt)) >= RecheckAfter)
            {
                Interlocked.Exchange(ref _checkedAt, time.GetTimestamp());
                Volatile.Write(ref _checked, 1);
                long free = FreeBytes();
                bool low = free < minFreeBytes;
                // Logged on each change only, so a flood against a full disk adds no log lines.
                if (low != _low)
                {
                    _low = low;
                    if (low)
                    {
                        logger.LogWarning("Refusing new messages: {Free} bytes free on the data disk, below the watermark of {Watermark}", free, minFreeBytes);
                    }
                    else
                    {
                        logger.LogInformation("Taking new messages again: {Free} bytes free on the data disk", free);
                    }
                }
            }
            return _low;
        }
    }

    /// <summary>Free space available to this process on the disk holding the data directory.</summary>
    public long FreeBytes() => new DriveInfo(_directory).AvailableFreeSpace;
}
