// The most undelivered messages the server holds in all. The SQLite store's inbox log keeps an
// index entry in memory for each (~40 – 80 bytes), so without a bound, accounts filling their
// inboxes would hold memory in proportion to what they send. Checked in the store writer's one
// loop, counting what the batch has admitted so far: it is never overshot.
namespace Parley.Server.Delivery;

internal sealed class StoredMessageBound(Func<long> storedMessages, long maxMessages)
{
    private long _stored;
    private long _admitted;

    public long MaxMessages => maxMessages;

    /// <summary>Called by the store writer before it admits a batch.</summary>
    public void BeginBatch()
    {
        _stored = storedMessages();
        _admitted = 0;
    }

    /// <summary>Counts one more message in; false when the server holds as many as it may.</summary>
    public bool TryAdmit()
    {
        if (_stored + _admitted >= maxMessages)
        {
            return false;
        }
        _admitted++;
        return true;
    }
}

/// <summary>The server holds as many undelivered messages as it may; the message was not stored.</summary>
public sealed class StoredMessagesFullException(long maxMessages)
    : Exception($"the server holds {maxMessages} undelivered messages, as many as it may; the message was not stored");
