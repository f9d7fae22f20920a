// The receive side of a run: each message's header names its sender, its sequence number and the
// time it was due (or sent, at --rate max); the ledger proves exactly-once, and each receiving
// client counts its own latencies, merged when the run reports.
using System.Buffers.Binary;
using System.Diagnostics;
using Parley.Client;
using Parley.Messaging;

namespace Parley.Bench;

public sealed partial class BenchRunner
{
    private ReceiverCounters?[] _receivers = [];
    private DeliveryLedger _ledger = null!;
    private long[] _progressLatencies = new long[LatencyHistogram.BucketCount];

    /// <summary>The message handler of client <paramref name="index"/>: made once per client, not per message.</summary>
    private Func<ChatMessage, ValueTask> Receiver(int index) => message =>
    {
        Receive(index, message);
        return ValueTask.CompletedTask;
    };

    private void Receive(int index, ChatMessage message)
    {
        if (message.ContentType != ContentType || message.Body.Length < HeaderSize)
        {
            return;
        }
        long now = Stopwatch.GetTimestamp();
        int sender = BinaryPrimitives.ReadInt32BigEndian(message.Body);
        uint sequence = BinaryPrimitives.ReadUInt32BigEndian(message.Body.AsSpan(4));
        long sentAt = BinaryPrimitives.ReadInt64BigEndian(message.Body.AsSpan(8));
        // Only this client's read loop writes its counters (it hands over one message at a time).
        ReceiverCounters counters = _receivers[index] ??= new ReceiverCounters();
        if (_ledger.TryMark(sender, sequence))
        {
            counters.Latency.Record(Stopwatch.GetElapsedTime(sentAt, now).Ticks / TimeSpan.TicksPerMicrosecond);
            Volatile.Write(ref counters.Delivered, counters.Delivered + 1);
        }
        else
        {
            Volatile.Write(ref counters.Duplicates, counters.Duplicates + 1);
        }
    }

    private long Delivered => SumReceivers(static c => Volatile.Read(ref c.Delivered));

    private long Duplicates => SumReceivers(static c => Volatile.Read(ref c.Duplicates));

    private long SumReceivers(Func<ReceiverCounters, long> field)
    {
        long sum = 0;
        foreach (ReceiverCounters? counters in _receivers)
        {
            if (counters is not null)
            {
                sum += field(counters);
            }
        }
        return sum;
    }

    /// <summary>Every receiver's latencies added up (read while they may still be written: exact once the run is over).</summary>
    private (long[] Counts, long Max) MergedLatencies()
    {
        long[] counts = new long[LatencyHistogram.BucketCount];
        long max = 0;
        foreach (ReceiverCounters? counters in _receivers)
        {
            counters?.Latency.AddTo(counts, ref max);
        }
        return (counts, max);
    }

    /// <summary>p99 of the latencies recorded since the last call, in milliseconds (for the progress line).</summary>
    private double TakeWindowP99Milliseconds()
    {
        (long[] counts, long max) = MergedLatencies();
        long[] window = new long[counts.Length];
        long total = 0;
        for (int i = 0; i < counts.Length; i++)
        {
            window[i] = Math.Max(0, counts[i] - _progressLatencies[i]);
            total += window[i];
        }
        _progressLatencies = counts;
        return total == 0 ? 0 : LatencyHistogram.Milliseconds(window, total, 0.99, max);
    }

    /// <summary>Waits until every acknowledged message has arrived, or the drain timeout.</summary>
    private async Task<double> DrainAsync(double sendSeconds, CancellationToken cancellationToken)
    {
        Stopwatch clock = Stopwatch.StartNew();
        while (Delivered < Acknowledged && clock.Elapsed < options.DrainTimeout)
        {
            await Task.Delay(10, cancellationToken).ConfigureAwait(false);
        }
        Progress(sendSeconds + clock.Elapsed.TotalSeconds);
        return sendSeconds + clock.Elapsed.TotalSeconds;
    }
}
