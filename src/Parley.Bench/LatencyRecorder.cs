namespace Parley.Bench;

/// <summary>
/// End-to-end latencies in microseconds, kept whole (a run is at most a few million samples)
/// so percentiles are exact rather than bucketed.
/// </summary>
public sealed class LatencyRecorder
{
    private readonly object _lock = new();
    private List<long> _samples = new(1 << 16);
    private List<long> _window = new(1 << 12);

    public void Record(long microseconds)
    {
        lock (_lock)
        {
            _samples.Add(microseconds);
            _window.Add(microseconds);
        }
    }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _samples.Count;
            }
        }
    }

    /// <summary>p99 of the samples since the last call (for the progress line).</summary>
    public double TakeWindowP99Milliseconds()
    {
        List<long> window;
        lock (_lock)
        {
            window = _window;
            _window = new List<long>(1 << 12);
        }
        return window.Count == 0 ? 0 : Percentile(window, 0.99) / 1000.0;
    }

    public LatencySummary Summarise()
    {
        List<long> all;
        lock (_lock)
        {
            all = _samples;
            _samples = [];
        }
        if (all.Count == 0)
        {
            return new LatencySummary(0, 0, 0, 0, 0);
        }
        all.Sort();
        return new LatencySummary(all.Count, At(all, 0.50) / 1000.0, At(all, 0.90) / 1000.0, At(all, 0.99) / 1000.0, all[^1] / 1000.0);
    }

    private static double Percentile(List<long> values, double p)
    {
        values.Sort();
        return At(values, p);
    }

    private static long At(List<long> sorted, double p) => sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
}

public sealed record LatencySummary(int Samples, double P50Ms, double P90Ms, double P99Ms, double MaxMs);
