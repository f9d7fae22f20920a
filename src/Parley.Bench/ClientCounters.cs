namespace Parley.Bench;

/// <summary>
/// One sending client's counters, shared only by that client's window of send loops (so an
/// increment contends with at most a few loops, not with every client of the run).
/// </summary>
internal sealed class SenderCounters(int slot)
{
    /// <summary>This sender's place among the run's senders, for the timetable.</summary>
    public int Slot => slot;
    public long Sent;
    public long Acknowledged;
    public long Errors;

    /// <summary>Paced sends that went out more than <see cref="BenchRunner.LateAfter"/> after their due time.</summary>
    public long Late;
}

/// <summary>
/// One receiving client's counters and latencies, written only by that client's read loop (which
/// hands it one message at a time): plain increments, published with volatile writes for the
/// progress line and the drain, which read them from other threads.
/// </summary>
internal sealed class ReceiverCounters
{
    public readonly LatencyHistogram Latency = new();
    public long Delivered;
    public long Duplicates;
}
