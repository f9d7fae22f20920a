// The send side of a run: every client keeps up to --window requests in flight, either as fast as
// the server answers (--rate max, closed loop) or paced on an open-loop timetable (SendTimetable).
// One loop per client sends whatever is ready in one write (SendMessagesAsync): every free place
// in the window at full rate, the messages already due when paced. The loop owns a body buffer
// per place (encoded before SendMessagesAsync returns, so reused at once), recipients' names are
// made once, and counters are per client. Answers come to the sender's SendAnswers on the
// client's read loop, which counts them and gives the window's place back: no task per message.
using System.Buffers.Binary;
using System.Diagnostics;
using Parley.Client;
using Parley.Messaging;

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
            loops.Add(SendLoopAsync(clients[sender]!, sender, fixedTarget(sender), counters, perSender, timetable, stop.Token));
        }
        await Task.WhenAll(loops).ConfigureAwait(false);
        return Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    private async Task SendLoopAsync(ChatClient client, int sender, int? fixedTarget, SenderCounters counters, long limit, SendTimetable? timetable, CancellationToken cancellationToken)
    {
        Random random = new();
        int window = options.Window;
        // One permit per request that may be in flight; each answer gives its permit back.
        using SemaphoreSlim free = new(window, window);
        List<OutgoingMessage> batch = new(window);
        byte[][] bodies = new byte[window][];
        for (int i = 0; i < window; i++)
        {
            bodies[i] = new byte[options.Size];
        }
        SendAnswers answers = new(counters, free);
        long lateTicks = (long)(LateAfter.TotalSeconds * Stopwatch.Frequency);
        long lastSend = 0;
        long next = 0;
        while (next < limit)
        {
            try
            {
                await free.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            long due = timetable?.DueTimestamp(counters.Slot, next) ?? 0;
            if (timetable is null)
            {
                // Answers arrive together (the server writes them together) and each frees its permit
                // from the thread pool: let the ones already queued run, so they share this write.
                await Task.Yield();
            }
            else
            {
                if (timetable.IsPastEnd(due))
                {
                    free.Release();
                    break;
                }
                long early = due - Stopwatch.GetTimestamp();
                if (early > 0)
                {
                    try
                    {
                        // Timers have a 1 ms resolution: round up, so nothing leaves before it is due.
                        await Task.Delay((int)Math.Ceiling(early * 1000.0 / Stopwatch.Frequency), cancellationToken).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        free.Release();
                        break;
                    }
                }
            }
            // Whatever else is ready goes in the same write: at --rate max every free permit, paced
            // only the messages already due. The permit is taken only for a message that goes.
            batch.Clear();
            long now = Stopwatch.GetTimestamp();
            do
            {
                long sequence = next + batch.Count;
                long stamp = timetable?.DueTimestamp(counters.Slot, sequence) ?? now;
                if (timetable is not null && now - stamp > lateTicks)
                {
                    Interlocked.Increment(ref counters.Late);
                }
                byte[] body = bodies[batch.Count];
                BinaryPrimitives.WriteInt32BigEndian(body, sender);
                BinaryPrimitives.WriteUInt32BigEndian(body.AsSpan(4), (uint)sequence);
                BinaryPrimitives.WriteInt64BigEndian(body.AsSpan(8), stamp);
                batch.Add(new OutgoingMessage(_names[fixedTarget ?? PickOther(random, sender)], ContentType, body));
            }
            while (batch.Count < window && MayJoin(next + batch.Count) && free.Wait(0));
            next += batch.Count;
            Interlocked.Add(ref counters.Sent, batch.Count);
            lastSend = now;
            try
            {
                await client.SendMessagesAsync(batch, answers, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (IsSendFailure(e))
            {
                // Each message of the batch was reported lost (and its place given back) already.
            }
        }
        // Every answer: each gives its place back, so the window is whole again once all have come.
        for (int place = 0; place < window; place++)
        {
            await free.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        }
        // Once per loop, not per message: the time of the run's last send, for the offered rate.
        long seen = Volatile.Read(ref _lastSendTimestamp);
        while (lastSend > seen && Interlocked.CompareExchange(ref _lastSendTimestamp, lastSend, seen) != seen)
        {
            seen = Volatile.Read(ref _lastSendTimestamp);
        }

        bool MayJoin(long sequence) =>
            sequence < limit && (timetable is null || (timetable.DueTimestamp(counters.Slot, sequence) is long at && !timetable.IsPastEnd(at) && at <= Stopwatch.GetTimestamp()));
    }

    /// <summary>One sender's answers: counted, and each gives its place in the window back.</summary>
    private sealed class SendAnswers(SenderCounters counters, SemaphoreSlim free) : ISendAnswers
    {
        public void Accepted(long reference, SendResult result)
        {
            Interlocked.Increment(ref counters.Acknowledged);
            free.Release();
        }

        public void Refused(long reference, ChatException refusal) => Failed();

        public void Lost(long reference, ChatConnectionException error) => Failed();

        private void Failed()
        {
            Interlocked.Increment(ref counters.Errors);
            free.Release();
        }
    }

    private static bool IsSendFailure(Exception e) => e is ChatException or ChatConnectionException or IOException or Parley.Protocol.ParleyProtocolException;

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
