// Which receipts a client owes and which it waits for (PROTOCOL.md §13.11), without any I/O: the
// ids of messages we sent and the state each reached, the receipts to send (batched per recipient
// and type), and the messages shown but not yet read (for a script's `read`). Everything an
// outsider can grow here is bounded: the ids remembered, the receipts waiting, the unread kept.
// A receipt for an id we do not know, or that names a message sent to someone else, changes nothing.
// Group messages (PROTOCOL.md §14.4) are receipted pairwise to their sender like texts; the sender
// keeps a state per member for a bounded number of them, and receipts are batched per conversation
// so one receipt names messages of one conversation (a group, or the 1:1 chat).
namespace Parley.Client.EndToEnd;

public sealed class ReceiptBook
{
    /// <summary>Our sent messages remembered for their receipts; beyond it the oldest are forgotten (their receipts then ignored).</summary>
    public const int MaxTrackedSent = 1000;

    /// <summary>Message ids waiting to be receipted; beyond it the oldest are dropped (receipts are best effort).</summary>
    public const int MaxPendingIds = 1000;

    /// <summary>Shown-but-unread messages kept per sender for a later <see cref="MarkRead"/>, and senders kept.</summary>
    public const int MaxUnreadPerUser = 100, MaxUnreadUsers = 256;

    /// <summary>Our group messages remembered for their receipts (each keeps a state per member, up to <see cref="MaxMembersTracked"/>).</summary>
    public const int MaxTrackedGroupSent = 100, MaxMembersTracked = 1000;

    private readonly object _lock = new();
    private readonly Dictionary<E2eMessageId, (string To, ReceiptType? State)> _sent = [];
    private readonly Queue<E2eMessageId> _sentOrder = new();
    private readonly Dictionary<E2eMessageId, (string Group, Dictionary<string, ReceiptType> States)> _groupSent = [];
    private readonly Queue<E2eMessageId> _groupSentOrder = new();
    private readonly LinkedList<(string To, ReceiptType Type, E2eMessageId Id, string? Group)> _pending = new();
    private readonly Dictionary<string, List<(E2eMessageId Id, string? Group)>> _unread = new(StringComparer.Ordinal);

    /// <summary>
    /// Read receipts on: we send them, and show others'. Off (as in Signal): we send only
    /// "delivered", and a "read" from someone else is taken as "delivered".
    /// </summary>
    public bool ReadReceipts { get; set; } = true;

    /// <summary>Receipts waiting to be sent.</summary>
    public int PendingCount
    {
        get
        {
            lock (_lock)
            {
                return _pending.Count;
            }
        }
    }

    /// <summary>We sent message <paramref name="id"/> to <paramref name="to"/>: its receipts will be shown.</summary>
    public void Sent(string to, E2eMessageId id)
    {
        lock (_lock)
        {
            if (!_sent.TryAdd(id, (to, null)))
            {
                return;
            }
            _sentOrder.Enqueue(id);
            while (_sentOrder.Count > MaxTrackedSent)
            {
                _sent.Remove(_sentOrder.Dequeue());
            }
        }
    }

    /// <summary>We sent group message <paramref name="id"/> to #<paramref name="group"/>: each member's receipts will be shown.</summary>
    public void SentToGroup(string group, E2eMessageId id)
    {
        lock (_lock)
        {
            if (!_groupSent.TryAdd(id, (group, new Dictionary<string, ReceiptType>(StringComparer.Ordinal))))
            {
                return;
            }
            _groupSentOrder.Enqueue(id);
            while (_groupSentOrder.Count > MaxTrackedGroupSent)
            {
                _groupSent.Remove(_groupSentOrder.Dequeue());
            }
        }
    }

    /// <summary>The state a sent message reached (null: no receipt yet, or not tracked).</summary>
    public ReceiptType? StateOf(E2eMessageId id)
    {
        lock (_lock)
        {
            return _sent.TryGetValue(id, out (string To, ReceiptType? State) entry) ? entry.State : null;
        }
    }

    /// <summary>
    /// A receipt from <paramref name="from"/>: the messages it moved forward (ours, sent to that
    /// user, and not already at that state), with the state shown; null when it moved none.
    /// </summary>
    public ReceiptShown? Apply(string from, E2eReceipt receipt)
    {
        ArgumentNullException.ThrowIfNull(receipt);
        ReceiptType type = receipt.Type == ReceiptType.Read && !ReadReceipts ? ReceiptType.Delivered : receipt.Type;
        List<E2eMessageId> moved = [];
        HashSet<string?> conversations = [];
        lock (_lock)
        {
            foreach (E2eMessageId id in receipt.MessageIds.Take(E2eReceipt.MaxIds))
            {
                if (_sent.TryGetValue(id, out (string To, ReceiptType? State) entry) && entry.To == from && (entry.State is null || entry.State < type))
                {
                    _sent[id] = (entry.To, type);
                    moved.Add(id);
                    conversations.Add(null);
                }
                else if (_groupSent.TryGetValue(id, out (string Group, Dictionary<string, ReceiptType> States) sent) && MovesForward(sent.States, from, type))
                {
                    moved.Add(id);
                    conversations.Add(sent.Group);
                }
            }
        }
        // Honest clients batch per conversation; a receipt that mixes them is shown without a group.
        string? group = conversations.Count == 1 ? conversations.First() : null;
        return moved.Count == 0 ? null : new ReceiptShown(from, type, moved) { Group = group };
    }

    /// <summary>
    /// A member's state for a group message moves forward; a group message keeps at most
    /// <see cref="MaxMembersTracked"/> members' states (the group limit), so a sender of made-up
    /// names cannot grow it.
    /// </summary>
    private static bool MovesForward(Dictionary<string, ReceiptType> states, string from, ReceiptType type)
    {
        if (states.TryGetValue(from, out ReceiptType state))
        {
            if (state >= type)
            {
                return false;
            }
        }
        else if (states.Count >= MaxMembersTracked)
        {
            return false;
        }
        states[from] = type;
        return true;
    }

    /// <summary>Our own other device receipted these messages (it got or read them too): those it read are no longer unread here.</summary>
    public void ApplyOwn(E2eReceipt receipt)
    {
        ArgumentNullException.ThrowIfNull(receipt);
        if (receipt.Type != ReceiptType.Read)
        {
            return;
        }
        lock (_lock)
        {
            HashSet<E2eMessageId> read = [.. receipt.MessageIds];
            foreach (List<(E2eMessageId Id, string? Group)> ids in _unread.Values)
            {
                ids.RemoveAll(entry => read.Contains(entry.Id));
            }
        }
    }

    /// <summary>
    /// A message from <paramref name="from"/> was opened: it is receipted "read" when the user saw it
    /// and read receipts are on, else "delivered" (and kept as unread for <see cref="MarkRead"/>).
    /// <paramref name="group"/> names the group of a group message (its receipts are batched apart
    /// from the 1:1 chat's).
    /// </summary>
    public void Received(string from, E2eMessageId id, bool seen, string? group = null)
    {
        lock (_lock)
        {
            bool read = seen && ReadReceipts;
            Queue(from, read ? ReceiptType.Read : ReceiptType.Delivered, id, group);
            if (!seen)
            {
                if (!_unread.TryGetValue(from, out List<(E2eMessageId Id, string? Group)>? ids))
                {
                    if (_unread.Count >= MaxUnreadUsers)
                    {
                        return;
                    }
                    _unread[from] = ids = [];
                }
                ids.Add((id, group));
                if (ids.Count > MaxUnreadPerUser)
                {
                    ids.RemoveAt(0);
                }
            }
        }
    }

    /// <summary>The user read what came from <paramref name="from"/>: "read" receipts are queued for it (none when read receipts are off); how many messages.</summary>
    public int MarkRead(string from)
    {
        lock (_lock)
        {
            if (!_unread.Remove(from, out List<(E2eMessageId Id, string? Group)>? ids))
            {
                return 0;
            }
            if (ReadReceipts)
            {
                foreach ((E2eMessageId id, string? group) in ids)
                {
                    Queue(from, ReceiptType.Read, id, group);
                }
            }
            return ids.Count;
        }
    }

    private void Queue(string to, ReceiptType type, E2eMessageId id, string? group)
    {
        _pending.AddLast((to, type, id, group));
        while (_pending.Count > MaxPendingIds)
        {
            _pending.RemoveFirst();
        }
    }

    /// <summary>The next receipt to send: the oldest waiting id with up to <see cref="E2eReceipt.MaxIds"/> others for the same user, type and conversation.</summary>
    public bool TryTake(out string to, out E2eReceipt? receipt)
    {
        lock (_lock)
        {
            to = "";
            receipt = null;
            if (_pending.First is not { } first)
            {
                return false;
            }
            (to, ReceiptType type, _, string? group) = first.Value;
            List<E2eMessageId> ids = [];
            for (LinkedListNode<(string To, ReceiptType Type, E2eMessageId Id, string? Group)>? node = first; node is not null && ids.Count < E2eReceipt.MaxIds;)
            {
                LinkedListNode<(string To, ReceiptType Type, E2eMessageId Id, string? Group)>? next = node.Next;
                if (node.Value.To == to && node.Value.Type == type && node.Value.Group == group)
                {
                    if (!ids.Contains(node.Value.Id))
                    {
                        ids.Add(node.Value.Id);
                    }
                    _pending.Remove(node);
                }
                node = next;
            }
            receipt = new E2eReceipt(type, ids) { Group = group };
            return true;
        }
    }

    /// <summary>A receipt that could not be sent (the connection went): it waits for the next one, ahead of newer receipts.</summary>
    public void PutBack(string to, E2eReceipt receipt)
    {
        ArgumentNullException.ThrowIfNull(receipt);
        lock (_lock)
        {
            foreach (E2eMessageId id in receipt.MessageIds.Reverse())
            {
                _pending.AddFirst((to, receipt.Type, id, receipt.Group));
            }
            while (_pending.Count > MaxPendingIds)
            {
                _pending.RemoveLast();
            }
        }
    }
}

/// <summary>What a receipt moved forward: <paramref name="From"/> got or read these of our messages.</summary>
public sealed record ReceiptShown(string From, ReceiptType Type, IReadOnlyList<E2eMessageId> MessageIds)
{
    /// <summary>The group the messages were sent to (null: the 1:1 chat).</summary>
    public string? Group { get; init; }
}
