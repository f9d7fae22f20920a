// Asking for a sender key, and answering (PROTOCOL.md §14.3 "Asking for a key"). A device that gets
// a group message under a key it does not hold (it is new, or lost its state) asks the one sending
// device for it; that device answers with its current key, to the asking device only, if the asker
// is a member and the key is still the one it sends with. Both sides are driven by what others send
// us, so both are bounded: each (device, group, key) is asked or answered at most once per
// RepeatAfter, and at most a few a minute in all. Whatever is refused here is simply not sent, and a
// later message asks again. Pure state over a clock: E2eGroups does the sending.
namespace Parley.Client.EndToEnd.Groups;

/// <summary>One sender key of one device: the device that uses it (or asked for it) and the group it is for.</summary>
public readonly record struct SenderKeyWant(string GroupId, string User, string Device, uint KeyId);

public sealed class SenderKeyRequests(TimeProvider time)
{
    /// <summary>The same key is asked for, or answered, again only after this long (a request or its answer may have been lost).</summary>
    public static readonly TimeSpan RepeatAfter = TimeSpan.FromMinutes(5);

    /// <summary>Requests this device makes at most per minute: a member who makes up key ids cannot make it send more.</summary>
    public const int AsksPerMinute = 10;

    /// <summary>Answers this device sends at most per minute: each costs a pairwise envelope (and, to a new device, a bundle fetch).</summary>
    public const int AnswersPerMinute = 30;

    /// <summary>Keys remembered as asked or answered; past it the oldest are forgotten (they may then be asked or answered again).</summary>
    public const int MaxRemembered = 1024;

    /// <summary>Requests or answers waiting for a connection, per direction; past it the oldest waiting goes.</summary>
    public const int MaxWaiting = 64;

    private readonly Direction _asks = new(time, AsksPerMinute);
    private readonly Direction _answers = new(time, AnswersPerMinute);

    /// <summary>A request to make, for a group message this device could not open; false when it was made lately or the rate is spent.</summary>
    public bool WantAsk(SenderKeyWant want) => _asks.Want(want);

    /// <summary>A request that arrived, to answer; false when it was answered lately or the rate is spent.</summary>
    public bool WantAnswer(SenderKeyWant want) => _answers.Want(want);

    /// <summary>The requests to send now (each once).</summary>
    public List<SenderKeyWant> TakeAsks() => _asks.Take();

    /// <summary>The requests to answer now (each once).</summary>
    public List<SenderKeyWant> TakeAnswers() => _answers.Take();

    public bool HasWork => _asks.Waiting > 0 || _answers.Waiting > 0;

    /// <summary>One direction: what is queued, what was done lately, and a token bucket refilled per minute.</summary>
    private sealed class Direction(TimeProvider time, int perMinute)
    {
        private readonly Dictionary<SenderKeyWant, long> _lately = [];
        private readonly Queue<SenderKeyWant> _order = new();
        private readonly List<SenderKeyWant> _waiting = [];
        private double _tokens = perMinute;
        private long _filledAt = time.GetTimestamp();

        public int Waiting => _waiting.Count;

        public bool Want(SenderKeyWant want)
        {
            long now = time.GetTimestamp();
            if (_lately.TryGetValue(want, out long at) && time.GetElapsedTime(at, now) < RepeatAfter)
            {
                return false;
            }
            _tokens = Math.Min(perMinute, _tokens + (time.GetElapsedTime(_filledAt, now).TotalMinutes * perMinute));
            _filledAt = now;
            if (_tokens < 1)
            {
                return false;
            }
            _tokens -= 1;
            if (_lately.ContainsKey(want))
            {
                _lately[want] = now;
            }
            else
            {
                _lately[want] = now;
                _order.Enqueue(want);
                while (_order.Count > MaxRemembered)
                {
                    _lately.Remove(_order.Dequeue());
                }
            }
            _waiting.Add(want);
            if (_waiting.Count > MaxWaiting)
            {
                // Long without a connection: the oldest goes (asked or answered again after RepeatAfter).
                _waiting.RemoveAt(0);
            }
            return true;
        }

        public List<SenderKeyWant> Take()
        {
            List<SenderKeyWant> taken = [.. _waiting];
            _waiting.Clear();
            return taken;
        }
    }
}
