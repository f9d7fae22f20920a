using Parley.Server.Accounts;
using Parley.Tests.Support;

namespace Parley.Tests.Messenger;

/// <summary>The back-off rules of PROTOCOL.md §11.4, driven by a manual clock.</summary>
public class LoginThrottleTests
{
    private static bool Attempt(LoginThrottle throttle, string account, string source, bool right, out TimeSpan wait)
    {
        if (!throttle.TryBegin(account, source, out wait))
        {
            return false;
        }
        if (right)
        {
            throttle.Succeeded(account, source);
        }
        else
        {
            throttle.Failed(account, source);
        }
        return true;
    }

    /// <summary>The wait of a pair that must be locked now.</summary>
    private static TimeSpan WaitFor(LoginThrottle throttle, string account, string source)
    {
        Assert.False(throttle.TryBegin(account, source, out TimeSpan wait));
        return wait;
    }

    [Fact]
    public void Waits_double_after_the_free_failures_and_end_when_the_time_has_passed()
    {
        ManualClock time = new();
        LoginThrottle throttle = new(time, freeFailuresPerPair: 3, freeFailuresPerSource: 100);
        for (int i = 0; i < 3; i++)
        {
            Assert.True(Attempt(throttle, "alice", "10.0.0.1", right: false, out _));
        }
        Assert.True(Attempt(throttle, "alice", "10.0.0.1", right: false, out _));
        Assert.False(throttle.TryBegin("alice", "10.0.0.1", out TimeSpan wait));
        Assert.Equal(TimeSpan.FromSeconds(1), wait);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(Attempt(throttle, "alice", "10.0.0.1", right: false, out _));
        Assert.False(throttle.TryBegin("alice", "10.0.0.1", out wait));
        Assert.Equal(TimeSpan.FromSeconds(2), wait);
        time.Advance(TimeSpan.FromSeconds(2));
        // A success clears the pair: the next failure is free again.
        Assert.True(Attempt(throttle, "alice", "10.0.0.1", right: true, out _));
        Assert.True(Attempt(throttle, "alice", "10.0.0.1", right: false, out _));
        Assert.True(throttle.TryBegin("alice", "10.0.0.1", out _));
    }

    [Fact]
    public void The_wait_is_capped_at_five_minutes()
    {
        ManualClock time = new();
        LoginThrottle throttle = new(time);
        for (int i = 0; i < 40; i++)
        {
            Attempt(throttle, "alice", "10.0.0.1", right: false, out _);
            time.Advance(LoginThrottle.MaxDelay);
        }
        Attempt(throttle, "alice", "10.0.0.1", right: false, out _);
        Assert.Equal(LoginThrottle.MaxDelay, WaitFor(throttle, "alice", "10.0.0.1"));
    }

    [Fact]
    public void An_attackers_failures_do_not_lock_the_user_out_from_their_own_source()
    {
        ManualClock time = new();
        LoginThrottle throttle = new(time);
        for (int i = 0; i < 30; i++)
        {
            Attempt(throttle, "alice", "203.0.113.66", right: false, out _);
        }
        Assert.True(WaitFor(throttle, "alice", "203.0.113.66") > TimeSpan.Zero);
        Assert.True(throttle.TryBegin("alice", "198.51.100.7", out TimeSpan wait), $"alice's own address waits {wait}");
        throttle.Succeeded("alice", "198.51.100.7");
    }

    [Fact]
    public void A_success_on_one_account_does_not_pay_for_failures_on_others()
    {
        ManualClock time = new();
        LoginThrottle throttle = new(time, freeFailuresPerPair: 3, freeFailuresPerSource: 10);
        for (int i = 0; i < 11; i++)
        {
            Assert.True(Attempt(throttle, $"victim{i}", "203.0.113.66", right: false, out _));
        }
        Assert.False(throttle.TryBegin("victim11", "203.0.113.66", out TimeSpan first));
        Assert.Equal(TimeSpan.FromSeconds(1), first);
        time.Advance(first);
        // The attacker logs in to their own account from the same source, many times.
        for (int i = 0; i < 20; i++)
        {
            Assert.True(Attempt(throttle, "mallory", "203.0.113.66", right: true, out _));
        }
        Assert.True(Attempt(throttle, "victim11", "203.0.113.66", right: false, out _));
        Assert.False(throttle.TryBegin("victim12", "203.0.113.66", out TimeSpan second));
        Assert.Equal(TimeSpan.FromSeconds(2), second);
    }

    [Fact]
    public void Concurrent_reservations_past_the_free_failures_run_one_at_a_time()
    {
        ManualClock time = new();
        LoginThrottle throttle = new(time, freeFailuresPerPair: 100, freeFailuresPerSource: 10);
        int reserved = 0;
        for (int i = 0; i < 30; i++)
        {
            if (throttle.TryBegin($"victim{i}", "203.0.113.66", out _))
            {
                reserved++;
            }
        }
        // Nothing settled yet: only as many as the free failures may be in flight at once.
        Assert.Equal(10, reserved);
    }

    [Fact]
    public void A_spent_global_budget_slows_unknown_sources_but_not_users_with_a_recent_success()
    {
        ManualClock time = new();
        LoginThrottle throttle = new(time, failuresPerMinute: 5);
        Assert.True(Attempt(throttle, "alice", "198.51.100.7", right: true, out _));
        // A distributed attacker spends the budget: one failure each from five sources.
        for (int i = 0; i < 5; i++)
        {
            Assert.True(Attempt(throttle, $"victim{i}", $"203.0.113.{i}", right: false, out _));
        }
        Assert.True(throttle.BudgetSpent);
        // A new source gets one attempt per window, then waits.
        Assert.True(Attempt(throttle, "bob", "192.0.2.1", right: false, out _));
        Assert.False(throttle.TryBegin("bob", "192.0.2.1", out TimeSpan wait));
        Assert.Equal(LoginThrottle.BudgetWindow, wait);
        // Alice, known from her source, is not slowed at all, typos included.
        for (int i = 0; i < 3; i++)
        {
            Assert.True(Attempt(throttle, "alice", "198.51.100.7", right: i == 2, out TimeSpan aliceWait), $"alice waits {aliceWait}");
        }
        // Her success does not help the same source's other accounts, nor her account from elsewhere.
        Assert.True(Attempt(throttle, "alice", "192.0.2.99", right: false, out _));
        Assert.False(throttle.TryBegin("alice", "192.0.2.99", out _));
        // Once a whole window passes quietly, the budget is back.
        time.Advance(2 * LoginThrottle.BudgetWindow);
        Assert.False(throttle.BudgetSpent);
        Assert.True(throttle.TryBegin("bob", "192.0.2.1", out _));
    }

    [Fact]
    public void Peeking_reports_the_wait_but_reserves_nothing()
    {
        ManualClock time = new();
        LoginThrottle throttle = new(time, failuresPerMinute: 1);
        Assert.Equal(TimeSpan.Zero, throttle.Peek("alice", "10.0.0.1"));
        Assert.True(Attempt(throttle, "bob", "10.0.0.2", right: false, out _));
        // Budget spent: peeking does not use up the source's one attempt per window.
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(TimeSpan.Zero, throttle.Peek("alice", "10.0.0.1"));
        }
        Assert.True(Attempt(throttle, "alice", "10.0.0.1", right: false, out _));
        Assert.Equal(LoginThrottle.BudgetWindow, throttle.Peek("alice", "10.0.0.1"));
    }

    [Fact]
    public void Rotating_addresses_inside_one_ipv6_64_does_not_escape_the_back_off()
    {
        ManualClock time = new();
        LoginThrottle throttle = new(time);
        // The server keys the throttle by RemoteParty.Of(the connection's address).Source.
        for (int i = 0; i < 20; i++)
        {
            string rotated = Parley.Server.Hosting.RemoteParty.Of($"2001:db8:1:2::{i + 1:x}").Source;
            Attempt(throttle, $"victim{i}", rotated, right: false, out _);
        }
        Assert.True(WaitFor(throttle, "victim99", Parley.Server.Hosting.RemoteParty.Of("2001:db8:1:2:ffff:ffff:ffff:ffff").Source) > TimeSpan.Zero);
        Assert.True(throttle.TryBegin("victim99", Parley.Server.Hosting.RemoteParty.Of("2001:db8:1:3::1").Source, out _));
        Assert.Equal("192.0.2.7", Parley.Server.Hosting.RemoteParty.Of("::ffff:192.0.2.7").Source);
    }
}
