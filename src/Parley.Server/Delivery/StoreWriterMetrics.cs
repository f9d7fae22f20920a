// How busy the one loop that commits every message is, for dotnet-counters or any OpenTelemetry
// exporter (meter "Parley.Server"). Its busy seconds per second near 1 mean the server's message
// rate is at its limit however many cores are idle (BENCHMARKS §2 (i)); the commit seconds within
// them are the store's share (SQLite's work and its fsync).
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Parley.Server.Delivery;

internal sealed class StoreWriterMetrics : IDisposable
{
    public const string MeterName = "Parley.Server";

    private readonly Counter<double> _busy;
    private readonly Counter<double> _committing;
    private readonly Counter<long> _commits;
    private readonly Counter<long> _operations;

    public StoreWriterMetrics()
    {
        Meter = new Meter(MeterName);
        _busy = Meter.CreateCounter<double>("parley.store_writer.busy", "s", "Wall-clock time the store writer's loop spent on batches (per second: how close it is to its limit)");
        _committing = Meter.CreateCounter<double>("parley.store_writer.commit", "s", "Wall-clock time inside store commits, part of the busy time");
        _commits = Meter.CreateCounter<long>("parley.store_writer.commits", "{commit}", "Transactions committed");
        _operations = Meter.CreateCounter<long>("parley.store_writer.operations", "{operation}", "New messages and acknowledged ids in those commits");
    }

    /// <summary>This writer's own meter (one per server, so several servers in one process are told apart).</summary>
    public Meter Meter { get; }

    /// <summary>One batch: <paramref name="busyTicks"/> and <paramref name="commitTicks"/> in <see cref="Stopwatch"/> ticks.</summary>
    public void Batch(long busyTicks, long commitTicks, int operations)
    {
        _busy.Add(busyTicks / (double)Stopwatch.Frequency);
        if (operations > 0)
        {
            _committing.Add(commitTicks / (double)Stopwatch.Frequency);
            _commits.Add(1);
            _operations.Add(operations);
        }
    }

    public void Dispose() => Meter.Dispose();
}
