// Asking for a sender key, and answering (PROTOCOL.md §14.3 "Asking for a key"). A device that gets
// a group message under a key it does not hold (it is new, or lost its state) asks the one sending
// device for it; that device answers with its current key, to the asking device only, if the asker
// is a member and the key is still the one it sends with. Both sides are driven by what others send
// us, so both are bounded: each (group, other device) is asked or answered at most once per
// RepeatAfter whatever the key id (so made-up key ids from one device buy nothing), and at most a
// few a minute in all. What is refused here is not sent, and a later message asks again; what could
// not be sent for want of a connection is put back. Pure state over a clock: E2eGroups sends.
namespace Parley.Client.EndToEnd.Groups;

/// <summary>One sender key of one device: the device that uses it (or asked for it) and the group it is for.</summary>
public readonly record struct SenderKeyWant(string GroupId, string User, string Device, uint KeyId);

/// <summary>What <see cref="SenderKeyRequests.WantAsk"/> decided.</summary>
public enum SenderKeyAsk
{
    /// <summary>Not asked: the rate is spent (a later message asks again).</summary>
    NotAsked,

    /// <summary>Queued to be asked now.</summary>
    Asked,

    /// <summary>That device was asked for its key to this group lately: still waiting for the answer.</summary>
    AskedBefore,
}

public sealed class SenderKeyRequests(TimeProvider time)
{
    /// <summary>A device is asked again, or answered again, only after this long (a request or its answer may have been lost).</summary>
    public static readonly TimeSpan RepeatAfter = TimeSpan.FromMinutes(5);

    /// <summary>Requests this device makes at most per minute, to all devices together.</summary>
    public const int AsksPerMinute = 10;

    /// <summary>Answers this device sends at most per minute: each costs a pairwise envelope (and, to a new device, a bundle fetch).</summary>
    public const int AnswersPerMinute = 30;

    /// <summary>(Group, device) pairs remembered as asked or answered; past it the oldest are forgotten (they may then be asked or answered again).</summary>
    public const int MaxRemembered = 1024;

    /// <summary>Requests or answers waiting for a connection, per direction; past it the oldest waiting goes.</summary>
    public const int MaxWaiting = 64;

    /// <summary>Member lists asked of the server at most per minute, each group at most once per <see cref="RepeatAfter"/>.</summary>
    public const int MemberListsPerMinute = 10;

    private readonly Direction _asks = new(time, AsksPerMinute);
    private readonly Direction _answers = new(time, AnswersPerMinute);
    private readonly Direction _memberLists = new(time, MemberListsPerMinute);

    /// <summary>A request to make, for a group message this device could not open.</summary>
    public SenderKeyAsk WantAsk(SenderKeyWant want) => _asks.Want(want);

    /// <summary>A request that arrived, to answer; false when that device was answered lately or the rate is spent.</summary>
    public bool WantAnswer(SenderKeyWant want) => _answers.Want(want) == SenderKeyAsk.Asked;

    /// <summary>The requests to send now (each once).</summary>
    public List<SenderKeyWant> TakeAsks() => _asks.Take();

    /// <summary>The requests to answer now (each once).</summary>
    public List<SenderKeyWant> TakeAnswers() => _answers.Take();

    /// <summary>Requests taken but not sent (the connection went): they wait for the next one, ahead of newer ones.</summary>
    public void PutBackAsks(IEnumerable<SenderKeyWant> wants) => _asks.PutBack(wants);

    /// <summary>Answers taken but not sent (the connection went): they wait for the next one.</summary>
    public void PutBackAnswers(IEnumerable<SenderKeyWant> wants) => _answers.PutBack(wants);

    /// <summary>
    /// A request taken but refused (by the server, or held back by a changed identity): that device
    /// counts as not asked, so the next message it cannot read asks again, and says so, rather than
    /// "still waiting" for five minutes on a request that never left.
    /// </summary>
    public void AskNotSent(SenderKeyWant want) => _asks.Forget(want);

    /// <summary>An answer taken but refused: that device may be answered again when it asks again.</summary>
    public void AnswerNotSent(SenderKeyWant want) => _answers.Forget(want);

    /// <summary>
    /// A group held only in part (joined by a notice that named only us) got a key from a sender its list does not
    /// name: the server's member list is asked for, so its members' keys are vouched for (PROTOCOL.md §14.3).
    /// </summary>
    public void WantMembers(string groupId) => _memberLists.Want(new SenderKeyWant(groupId, "", "", 0));

    /// <summary>The groups whose member lists to ask for now (each once).</summary>
    public List<string> TakeMemberLists() => [.. _memberLists.Take().Select(w => w.GroupId)];

    /// <summary>Member lists taken but not asked for (the connection went).</summary>
    public void PutBackMemberLists(IEnumerable<string> groupIds) => _memberLists.PutBack(groupIds.Select(g => new SenderKeyWant(g, "", "", 0)));

    public bool HasWork => _asks.Waiting > 0 || _answers.Waiting > 0 || _memberLists.Waiting > 0;

    /// <summary>One direction: what is queued, what was done lately (oldest first), and a token bucket refilled per minute.</summary>
    private sealed class Direction(TimeProvider time, int perMinute)
    {
        private readonly OrderedDictionary<(string GroupId, string User, string Device), long> _lately = [];
        private readonly List<SenderKeyWant> _waiting = [];
        private double _tokens = perMinute;
        private long _filledAt = time.GetTimestamp();

        public int Waiting => _waiting.Count;

        public SenderKeyAsk Want(SenderKeyWant want)
        {
            long now = time.GetTimestamp();
            (string, string, string) device = (want.GroupId, want.User, want.Device);
            if (_lately.TryGetValue(device, out long at) && time.GetElapsedTime(at, now) < RepeatAfter)
            {
                return SenderKeyAsk.AskedBefore;
            }
            _tokens = Math.Min(perMinute, _tokens + (time.GetElapsedTime(_filledAt, now).TotalMinutes * perMinute));
            _filledAt = now;
            if (_tokens < 1)
            {
                return SenderKeyAsk.NotAsked;
            }
            _tokens -= 1;
            // Removed and added again: the newest goes last, and the oldest are forgotten first.
            _lately.Remove(device);
            _lately.Add(device, now);
            while (_lately.Count > MaxRemembered)
            {
                _lately.RemoveAt(0);
            }
            _waiting.Add(want);
            Bound();
            return SenderKeyAsk.Asked;
        }

        public List<SenderKeyWant> Take()
        {
            List<SenderKeyWant> taken = [.. _waiting];
            _waiting.Clear();
            return taken;
        }

        public void PutBack(IEnumerable<SenderKeyWant> wants)
        {
            _waiting.InsertRange(0, wants);
            Bound();
        }

        public void Forget(SenderKeyWant want) => _lately.Remove((want.GroupId, want.User, want.Device));

        /// <summary>Long without a connection: the oldest waiting go, and count as never asked or answered (the next message asks again).</summary>
        private void Bound()
        {
            if (_waiting.Count > MaxWaiting)
            {
                foreach (SenderKeyWant dropped in _waiting.Take(_waiting.Count - MaxWaiting))
                {
                    Forget(dropped);
                }
                _waiting.RemoveRange(0, _waiting.Count - MaxWaiting);
            }
        }
    }
}
