using Parley.Server.Accounts;

namespace Parley.Tests.Server;

/// <summary>Account ids kept for token logins (AccountIdCache): what is kept, and the bound on how many.</summary>
public class AccountIdCacheTests
{
    [Fact]
    public void An_id_once_read_is_answered_and_an_empty_one_is_never_kept()
    {
        AccountIdCache cache = new();
        Assert.False(cache.TryGet("alice", out _));
        cache.Put("alice", "0123456789abcdef0123456789abcdef");
        Assert.True(cache.TryGet("alice", out string id));
        Assert.Equal("0123456789abcdef0123456789abcdef", id);
        // An account the id migration has not reached, or one that is gone: read again next time.
        cache.Put("bob", "");
        cache.Put("carol", null);
        Assert.False(cache.TryGet("bob", out _));
        Assert.False(cache.TryGet("carol", out _));
        Assert.False(cache.TryGet("ALICE", out _));
    }

    [Fact]
    public void Many_names_never_hold_more_than_the_bound()
    {
        const int Bound = 100;
        AccountIdCache cache = new(Bound);
        for (int i = 0; i < 10 * Bound; i++)
        {
            cache.Put($"user-{i}", $"id-{i}");
            Assert.True(cache.Count <= Bound, $"{cache.Count} names after {i + 1}");
        }
        // The newest is always kept: a full cache starts over rather than refusing.
        Assert.True(cache.TryGet($"user-{10 * Bound - 1}", out string last));
        Assert.Equal($"id-{10 * Bound - 1}", last);
    }
}
