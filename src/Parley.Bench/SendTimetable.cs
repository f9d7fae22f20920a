// The paced mode's open-loop timetable: message k of the run is due at t0 + k/R whatever happened to
// the messages before it, spread round-robin across the senders (sender slot p sends messages
// p, p+n, p+2n … of the run). A sender that is late (its window of requests in flight is full, or
// the generator is short of CPU) sends as soon as it can, and its latency is measured from the due
// time, not the actual send: otherwise a stalled server would slow the generator down and hide
// its own stall from the percentiles (coordinated omission).
using System.Diagnostics;

namespace Parley.Bench;

internal sealed class SendTimetable(double rate, int senders, long startTimestamp, TimeSpan? length)
{
    private readonly double _ticksPerMessage = Stopwatch.Frequency / rate;
    private readonly long _endTimestamp = length is TimeSpan span ? startTimestamp + (long)(span.TotalSeconds * Stopwatch.Frequency) : long.MaxValue;

    public long StartTimestamp => startTimestamp;

    /// <summary>When the <paramref name="sequence"/>-th message of sender slot <paramref name="slot"/> is due (Stopwatch ticks).</summary>
    public long DueTimestamp(int slot, long sequence) => startTimestamp + (long)(((sequence * senders) + slot) * _ticksPerMessage);

    /// <summary>Whether a message due then falls after the run's duration (so it is not sent).</summary>
    public bool IsPastEnd(long dueTimestamp) => dueTimestamp >= _endTimestamp;
}
