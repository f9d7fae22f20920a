// Keeps a file transfer at or under a chosen rate (`parley chat --file-rate`), as scp -l and
// curl --limit-rate do, so a large file does not take a slow link from everything else. Each chunk
// waits until the bytes before it are due at the rate. A transfer that fell behind by up to a second
// (a slow moment of the network) catches up; one further behind (a pause) counts afresh from then,
// so it never bursts over the rate to make up for lost time.
// One pacer may serve several transfers at once: together they keep to the rate.
namespace Parley.Client.Files;

public sealed class TransferPacer
{
    /// <summary>How far behind the rate a transfer may fall and still catch up.</summary>
    private static readonly TimeSpan MaxCredit = TimeSpan.FromSeconds(1);

    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private long _startedAt;
    private long _bytesSinceStart;
    private bool _started;

    /// <exception cref="ArgumentOutOfRangeException"><paramref name="bytesPerSecond"/> is not positive.</exception>
    public TransferPacer(long bytesPerSecond, TimeProvider? time = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytesPerSecond);
        BytesPerSecond = bytesPerSecond;
        _time = time ?? TimeProvider.System;
    }

    public long BytesPerSecond { get; }

    /// <summary>Waits until <paramref name="bytes"/> more may go at the rate, and counts them as gone.</summary>
    public async ValueTask WaitAsync(int bytes, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        TimeSpan wait = Reserve(bytes);
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>How long the next <paramref name="bytes"/> must wait: those before them must have had their time.</summary>
    private TimeSpan Reserve(int bytes)
    {
        lock (_lock)
        {
            return ReserveLocked(bytes);
        }
    }

    private TimeSpan ReserveLocked(int bytes)
    {
        long now = _time.GetTimestamp();
        if (!_started)
        {
            _started = true;
            _startedAt = now;
        }
        TimeSpan elapsed = _time.GetElapsedTime(_startedAt, now);
        TimeSpan due = TimeSpan.FromSeconds((double)_bytesSinceStart / BytesPerSecond);
        if (elapsed - due > MaxCredit)
        {
            // Behind by more than the credit allows: count afresh from now rather than burst to catch up.
            _startedAt = now;
            _bytesSinceStart = 0;
            due = TimeSpan.Zero;
            elapsed = TimeSpan.Zero;
        }
        _bytesSinceStart += bytes;
        return due > elapsed ? due - elapsed : TimeSpan.Zero;
    }
}
