// Latencies in microseconds, counted in log-linear buckets (HdrHistogram's layout): exact below
// 256 µs, then 128 buckets per power of two, so a reported percentile is at most 0.8% above the
// true one. One histogram per receiving client, written only by that client's read loop: recording
// is an increment, with no lock and no allocation; the run merges them at the end.
using System.Numerics;

namespace Parley.Bench;

public sealed class LatencyHistogram
{
    private const int ExactBits = 8;
    private const int Exact = 1 << ExactBits;
    private const int PerPowerOfTwo = Exact / 2;

    /// <summary>Latencies above 2^36 µs (19 hours) are counted as that.</summary>
    private const int HighestBit = 36;

    public const int BucketCount = Exact + ((HighestBit - ExactBits + 1) * PerPowerOfTwo);

    private readonly long[] _counts = new long[BucketCount];
    private long _max;
    private long _count;

    public long Count => Volatile.Read(ref _count);

    /// <summary>Counts one latency. Single writer: the receiving client's read loop.</summary>
    public void Record(long microseconds)
    {
        long value = Math.Clamp(microseconds, 0, (1L << (HighestBit + 1)) - 1);
        _counts[BucketOf(value)]++;
        if (value > _max)
        {
            _max = value;
        }
        Volatile.Write(ref _count, _count + 1);
    }

    internal static int BucketOf(long value)
    {
        if (value < Exact)
        {
            return (int)value;
        }
        int highBit = 63 - BitOperations.LeadingZeroCount((ulong)value);
        int shift = highBit - ExactBits + 1;
        return Exact + ((highBit - ExactBits) * PerPowerOfTwo) + (int)((value >> shift) - PerPowerOfTwo);
    }

    /// <summary>The highest latency a bucket holds (percentiles are reported from above, never flattering).</summary>
    internal static long HighestIn(int bucket)
    {
        if (bucket < Exact)
        {
            return bucket;
        }
        int offset = bucket - Exact;
        int shift = (offset / PerPowerOfTwo) + 1;
        long low = (long)((offset % PerPowerOfTwo) + PerPowerOfTwo) << shift;
        return low + (1L << shift) - 1;
    }

    /// <summary>Adds this histogram's counts into <paramref name="totals"/> (read while it may still be written: a progress figure).</summary>
    public void AddTo(long[] totals, ref long max)
    {
        for (int i = 0; i < _counts.Length; i++)
        {
            totals[i] += Volatile.Read(ref _counts[i]);
        }
        max = Math.Max(max, Volatile.Read(ref _max));
    }

    public static LatencySummary Summarise(long[] counts, long max)
    {
        long total = 0;
        foreach (long count in counts)
        {
            total += count;
        }
        if (total == 0)
        {
            return new LatencySummary(0, 0, 0, 0, 0);
        }
        return new LatencySummary(total, Milliseconds(counts, total, 0.50, max), Milliseconds(counts, total, 0.90, max), Milliseconds(counts, total, 0.99, max), max / 1000.0);
    }

    /// <summary>The smallest bucket bound at or above fraction <paramref name="p"/> of the samples (never above the true maximum).</summary>
    internal static double Milliseconds(long[] counts, long total, double p, long max)
    {
        long rank = Math.Max(1, (long)Math.Ceiling(p * total));
        long seen = 0;
        for (int i = 0; i < counts.Length; i++)
        {
            seen += counts[i];
            if (seen >= rank)
            {
                return Math.Min(HighestIn(i), max) / 1000.0;
            }
        }
        return max / 1000.0;
    }
}

public sealed record LatencySummary(long Samples, double P50Ms, double P90Ms, double P99Ms, double MaxMs);
