using Parley.Server.Storage;

namespace Parley.Tests.Storage;

/// <summary>The SQLite writer's cache of each recipient's last id (InboxHeads): what it reads, what it keeps, and its bound.</summary>
public sealed class InboxHeadsTests
{
    private sealed class StoredHeads
    {
        public Dictionary<string, long> Rows { get; } = new(StringComparer.Ordinal);

        public int Reads { get; private set; }

        public long? Read(string recipient)
        {
            Reads++;
            return Rows.TryGetValue(recipient, out long last) ? last : null;
        }

        /// <summary>What the store's WriteHeads does with <see cref="InboxHeads.Moved"/>.</summary>
        public void Write(InboxHeads heads)
        {
            foreach ((string recipient, long last, bool stored) in heads.Moved)
            {
                Assert.Equal(Rows.ContainsKey(recipient), stored);
                Rows[recipient] = last;
            }
        }
    }

    private static long[] Commit(InboxHeads heads, StoredHeads table, params string[] recipients)
    {
        heads.BeginTransaction();
        long[] ids = [.. recipients.Select(r => heads.Next(r, table.Read))];
        table.Write(heads);
        heads.Committed();
        return ids;
    }

    [Fact]
    public void Ids_continue_from_the_stored_head_and_each_recipient_is_read_once()
    {
        StoredHeads table = new();
        table.Rows["alice"] = 41;
        InboxHeads heads = new(capacity: 16);

        Assert.Equal([42L, 1L, 43L, 2L], Commit(heads, table, "alice", "bob", "alice", "bob"));
        Assert.Equal([44L, 3L], Commit(heads, table, "alice", "bob"));

        Assert.Equal(2, table.Reads);
        Assert.Equal(44, table.Rows["alice"]);
        Assert.Equal(3, table.Rows["bob"]);
    }

    [Fact]
    public void A_transaction_that_did_not_commit_leaves_no_trace()
    {
        StoredHeads table = new();
        InboxHeads heads = new(capacity: 16);
        Assert.Equal([1L], Commit(heads, table, "alice"));

        // Ids given, heads never written, transaction rolled back.
        heads.BeginTransaction();
        Assert.Equal([2L, 3L], new[] { heads.Next("alice", table.Read), heads.Next("alice", table.Read) });
        heads.Forget();

        Assert.Equal([2L], Commit(heads, table, "alice"));
    }

    [Fact]
    public void The_cache_never_holds_more_than_its_capacity_and_ids_stay_right_past_it()
    {
        // An outsider can make the server write to many recipients; the cache stays bounded and
        // a recipient it dropped is read again, so no id is given twice.
        StoredHeads table = new();
        InboxHeads heads = new(capacity: 8);
        for (int round = 1; round <= 3; round++)
        {
            for (int first = 0; first < 40; first += 5)
            {
                string[] recipients = [.. Enumerable.Range(first, 5).Select(i => $"user{i}")];
                Assert.Equal(Enumerable.Repeat((long)round, 5), Commit(heads, table, recipients));
                Assert.InRange(heads.CachedCount, 0, 8);
            }
        }
        Assert.All(table.Rows.Values, last => Assert.Equal(3, last));
    }
}
