// Per-recipient inbox bounds. Used only by the store writer's single loop, so admitting a message
// and committing it cannot race with another admission: the count never overshoots. With a store
// shared by several nodes (shared: true) other nodes add and remove messages too, so the usage is
// read again for each batch: the bound can then be overshot by what the other nodes commit in
// one batch at the same moment, never more.
using Parley.Server.Storage;

namespace Parley.Server.Delivery;

internal sealed class InboxQuota(IMessageStore store, int maxMessages, long maxBytes, bool shared = false, int maxCachedRecipients = InboxQuota.DefaultMaxCachedRecipients)
{
    /// <summary>Recipients whose usage is kept between batches (~100 bytes each); past it the cache starts empty again.</summary>
    internal const int DefaultMaxCachedRecipients = 65_536;

    /// <summary>How long a cached usage is trusted when other nodes write to the same store.</summary>
    internal static readonly TimeSpan SharedUsageLifetime = TimeSpan.FromSeconds(1);

    private long _cachedSince = Environment.TickCount64;

    /// <summary>Called by the store writer before it admits a batch.</summary>
    public void BeginBatch()
    {
        if (shared && Environment.TickCount64 - _cachedSince >= (long)SharedUsageLifetime.TotalMilliseconds)
        {
            _usage.Clear();
            _cachedSince = Environment.TickCount64;
        }
        // Between batches every admitted message is committed (or forgotten), so the store has the
        // same counts: dropping the cache costs re-reads, never a wrong answer. Within a batch it
        // grows by at most the batch's messages.
        if (_usage.Count >= maxCachedRecipients)
        {
            _usage.Clear();
        }
    }

    /// <summary>Recipients whose usage is cached now (for tests).</summary>
    internal int CachedRecipients => _usage.Count;

    private readonly Dictionary<string, Usage> _usage = new(StringComparer.Ordinal);

    private sealed class Usage(InboxUsage current)
    {
        public int Messages = current.Messages;
        public long Bytes = current.Bytes;
    }

    /// <summary>Counts <paramref name="message"/> into its recipient's inbox if it fits; false when the inbox is full.</summary>
    public async ValueTask<bool> TryAdmitAsync(NewMessage message, CancellationToken cancellationToken)
    {
        if (!_usage.TryGetValue(message.Recipient, out Usage? usage))
        {
            usage = new Usage(await store.GetInboxUsageAsync(message.Recipient, cancellationToken).ConfigureAwait(false));
            _usage[message.Recipient] = usage;
        }
        if (usage.Messages >= maxMessages || usage.Bytes + message.Body.Length > maxBytes)
        {
            return false;
        }
        usage.Messages++;
        usage.Bytes += message.Body.Length;
        return true;
    }

    public void Removed(RemovedMessage removed)
    {
        if (_usage.TryGetValue(removed.Recipient, out Usage? usage))
        {
            usage.Messages--;
            usage.Bytes -= removed.BodyBytes;
        }
    }

    /// <summary>
    /// Drops what is cached; it is re-read from the store on the next message to each recipient.
    /// Called after a failed commit (the admitted messages were not stored), after expiry, and
    /// periodically, so the cache holds only recipients written to since the last sweep.
    /// </summary>
    public void Forget() => _usage.Clear();
}
