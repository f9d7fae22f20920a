// Per-sender (account) token buckets, one for messages and one for body bytes. Keyed by account,
// not connection, so reconnecting does not refill them. A request takes from both or from neither.
using System.Collections.Concurrent;
using Parley.Server.Hosting;

namespace Parley.Server.Delivery;

internal sealed class SenderRateLimiter(ServerOptions options)
{
    private readonly ConcurrentDictionary<string, Buckets> _senders = new(StringComparer.Ordinal);

    private sealed class Buckets(double messages, double bytes, DateTimeOffset at)
    {
        public double Messages = messages;
        public double Bytes = bytes;
        public DateTimeOffset RefilledAt = at;
    }

    /// <summary>Whether a request of this size can ever pass (it is not larger than the bursts).</summary>
    public bool CanEverAllow(int messages, long bytes) => messages <= options.SenderMessageBurst && bytes <= options.SenderByteBurst;

    /// <summary>Takes the cost from <paramref name="sender"/>'s buckets, or returns false and how long until it would fit.</summary>
    public bool TryTake(string sender, int messages, long bytes, out TimeSpan retryAfter)
    {
        DateTimeOffset now = options.Time.GetUtcNow();
        // The factory takes its values as an argument: a lambda capturing `now` made the compiler
        // allocate its closure at this method's entry, once per message, found or not.
        Buckets buckets = _senders.GetOrAdd(sender, static (_, start) => new Buckets(start.Messages, start.Bytes, start.At),
            (Messages: options.SenderMessageBurst, Bytes: options.SenderByteBurst, At: now));
        lock (buckets)
        {
            Refill(buckets, now);
            if (buckets.Messages >= messages && buckets.Bytes >= bytes)
            {
                buckets.Messages -= messages;
                buckets.Bytes -= bytes;
                retryAfter = TimeSpan.Zero;
                return true;
            }
            double messageWait = Math.Max(0, messages - buckets.Messages) / options.SenderMessagesPerSecond;
            double byteWait = Math.Max(0, bytes - buckets.Bytes) / options.SenderBytesPerSecond;
            retryAfter = TimeSpan.FromSeconds(Math.Max(messageWait, byteWait));
            return false;
        }
    }

    /// <summary>
    /// Takes messages for work already done that cost more than the burst could pay up front (a full group's notices and
    /// its invitations): the bucket may go below zero, and the sender waits until it has refilled past that.
    /// </summary>
    public void TakeOwed(string sender, int messages)
    {
        if (messages <= 0)
        {
            return;
        }
        DateTimeOffset now = options.Time.GetUtcNow();
        Buckets buckets = _senders.GetOrAdd(sender, static (_, start) => new Buckets(start.Messages, start.Bytes, start.At),
            (Messages: options.SenderMessageBurst, Bytes: options.SenderByteBurst, At: now));
        lock (buckets)
        {
            Refill(buckets, now);
            buckets.Messages -= messages;
        }
    }

    /// <summary>
    /// Gives back messages taken for work that turned out smaller than the bound paid up front (a group change that
    /// invited fewer than it might have, or was refused); never past the burst.
    /// </summary>
    public void GiveBack(string sender, int messages)
    {
        if (messages > 0 && _senders.TryGetValue(sender, out Buckets? buckets))
        {
            lock (buckets)
            {
                buckets.Messages = Math.Min(options.SenderMessageBurst, buckets.Messages + messages);
            }
        }
    }

    /// <summary>Drops senders whose buckets are full again: a new bucket would be identical.</summary>
    public void ForgetIdle()
    {
        DateTimeOffset now = options.Time.GetUtcNow();
        foreach ((string sender, Buckets buckets) in _senders)
        {
            lock (buckets)
            {
                Refill(buckets, now);
                if (buckets.Messages >= options.SenderMessageBurst && buckets.Bytes >= options.SenderByteBurst)
                {
                    _senders.TryRemove(new KeyValuePair<string, Buckets>(sender, buckets));
                }
            }
        }
    }

    internal int TrackedSenders => _senders.Count;

    private void Refill(Buckets buckets, DateTimeOffset now)
    {
        double seconds = Math.Max(0, (now - buckets.RefilledAt).TotalSeconds);
        buckets.Messages = Math.Min(options.SenderMessageBurst, buckets.Messages + seconds * options.SenderMessagesPerSecond);
        buckets.Bytes = Math.Min(options.SenderByteBurst, buckets.Bytes + seconds * options.SenderBytesPerSecond);
        buckets.RefilledAt = now;
    }
}
