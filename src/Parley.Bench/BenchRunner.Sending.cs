// The send side of a run: every client keeps up to --window requests in flight, either as fast as
// the server answers (--rate max, closed loop) or paced on an open-loop timetable (SendTimetable).
// Per message the generator itself allocates nothing: each send loop owns one body buffer (reused
// once its previous request was answered, so the client never sees it change under a request in
// flight), recipients' names are made once, and counters are per client.
using System.Buffers.Binary;
using System.Diagnostics;
using Parley.Client;

namespace Parley.Bench;

public sealed partial class BenchRunner
{
    /// <summary>A paced send this far behind its due time counts as late (the pacer could not keep its timetable).</summary>
    internal static readonly TimeSpan LateAfter = TimeSpan.FromMilliseconds(10);

    private SenderCounters?[] _senders = [];
    private long _sendStartTimestamp;
    private long _lastSendTimestamp;

    /// <summary>Sends from every sender until the count or the time is reached; returns the phase's length in seconds (until the last answer).</summary>
    /// <param name="messages">Messages to send in all, or null to send for <paramref name="duration"/>.</param>
    private async Task<double> SendPhaseAsync(ChatClient?[] clients, int[] senders, Func<int, int?> fixedTarget, long? messages, TimeSpan duration, CancellationToken cancellationToken)
    {
        int[] active = senders.Where(i => clients[i] is not null).ToArray();
        long perSender = messages is long total ? Math.Max(1, total / Math.Max(1, active.Length)) : long.MaxValue;
        using CancellationTokenSource stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        long start = Stopwatch.GetTimestamp();
        _sendStartTimestamp = start;
        _lastSendTimestamp = start;
        SendTimetable? timetable = options.Rate is double rate
            ? new SendTimetable(rate, active.Length, start, messages is null ? duration : null)
            : null;
        if (timetable is null && messages is null)
        {
            stop.CancelAfter(duration);
        }
        using Timer ticker = new(_ => Progress(Stopwatch.GetElapsedTime(start).TotalSeconds), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        _senders = new SenderCounters?[options.Clients];
        List<Task> loops = [];
        for (int slot = 0; slot < active.Length; slot++)
        {
            int sender = active[slot];
            SenderCounters counters = new(slot);
            _senders[sender] = counters;
            for (int w = 0; w < options.Window; w++)
            {
                loops.Add(SendLoopAsync(clients[sender]!, sender, fixedTarget(sender), counters, perSender, timetable, stop.Token));
            }
        }
        await Task.WhenAll(loops).ConfigureAwait(false);
        return Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    private async Task SendLoopAsync(ChatClient client, int sender, int? fixedTarget, SenderCounters counters, long limit, SendTimetable? timetable, CancellationToken cancellationToken)
    {
        Random random = new();
        byte[] body = new byte[options.Size];
        long lateTicks = (long)(LateAfter.TotalSeconds * Stopwatch.Frequency);
        long lastSend = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            long sequence = Interlocked.Increment(ref counters.NextSequence) - 1;
            if (sequence >= limit)
            {
                break;
            }
            long stamp;
            if (timetable is null)
            {
                stamp = Stopwatch.GetTimestamp();
            }
            else
            {
                stamp = timetable.DueTimestamp(counters.Slot, sequence);
                if (timetable.IsPastEnd(stamp))
                {
                    break;
                }
                long early = stamp - Stopwatch.GetTimestamp();
                if (early > 0)
                {
                    try
                    {
                        // Timers have a 1 ms resolution: round up, so nothing leaves before it is due.
                        await Task.Delay((int)Math.Ceiling(early * 1000.0 / Stopwatch.Frequency), cancellationToken).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        break;
                    }
                }
                else if (-early > lateTicks)
                {
                    Interlocked.Increment(ref counters.Late);
                }
            }
            int target = fixedTarget ?? PickOther(random, sender);
            BinaryPrimitives.WriteInt32BigEndian(body, sender);
            BinaryPrimitives.WriteUInt32BigEndian(body.AsSpan(4), (uint)sequence);
            BinaryPrimitives.WriteInt64BigEndian(body.AsSpan(8), stamp);
            Interlocked.Increment(ref counters.Sent);
            lastSend = Stopwatch.GetTimestamp();
            try
            {
                await client.SendMessageAsync(_names[target], ContentType, body, CancellationToken.None).ConfigureAwait(false);
                Interlocked.Increment(ref counters.Acknowledged);
            }
            catch (Exception e) when (e is ChatException or ChatConnectionException or IOException or Parley.Protocol.ParleyProtocolException)
            {
                Interlocked.Increment(ref counters.Errors);
            }
        }
        // Once per loop, not per message: the time of the run's last send, for the offered rate.
        long seen = Volatile.Read(ref _lastSendTimestamp);
        while (lastSend > seen && Interlocked.CompareExchange(ref _lastSendTimestamp, lastSend, seen) != seen)
        {
            seen = Volatile.Read(ref _lastSendTimestamp);
        }
    }

    private int PickOther(Random random, int sender)
    {
        int target = random.Next(options.Clients - 1);
        return target >= sender ? target + 1 : target;
    }

    private long SumSenders(Func<SenderCounters, long> field)
    {
        long sum = 0;
        foreach (SenderCounters? counters in _senders)
        {
            if (counters is not null)
            {
                sum += field(counters);
            }
        }
        return sum;
    }

    private long Sent => SumSenders(static c => Volatile.Read(ref c.Sent));

    private long Acknowledged => SumSenders(static c => Volatile.Read(ref c.Acknowledged));

    private long SendErrors => SumSenders(static c => Volatile.Read(ref c.Errors));

    private long LateSends => SumSenders(static c => Volatile.Read(ref c.Late));

    /// <summary>Messages sent per second from the start of the send phase to the last send.</summary>
    private double OfferedPerSecond()
    {
        double seconds = Stopwatch.GetElapsedTime(_sendStartTimestamp, Volatile.Read(ref _lastSendTimestamp)).TotalSeconds;
        return seconds > 0 ? Sent / seconds : 0;
    }
}
