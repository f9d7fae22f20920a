using Parley.Server.Accounts;

namespace Parley.Tests.Messenger;

public class LoginThrottleTests
{
    private sealed class ManualTime : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = new(2026, 11, 22, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => Now;
    }

    [Fact]
    public void Waits_double_after_the_free_failures_and_end_when_the_time_has_passed()
    {
        ManualTime time = new();
        LoginThrottle throttle = new(time, freeFailuresPerAccount: 3, freeFailuresPerAddress: 100);
        for (int i = 0; i < 3; i++)
        {
            throttle.RecordFailure("alice", "10.0.0.1");
        }
        Assert.Equal(TimeSpan.Zero, throttle.RetryAfter("alice", "10.0.0.1"));
        throttle.RecordFailure("alice", "10.0.0.1");
        Assert.Equal(TimeSpan.FromSeconds(1), throttle.RetryAfter("alice", "10.0.0.1"));
        throttle.RecordFailure("alice", "10.0.0.1");
        Assert.Equal(TimeSpan.FromSeconds(2), throttle.RetryAfter("alice", "10.0.0.1"));
        Assert.Equal(TimeSpan.Zero, throttle.RetryAfter("bob", "10.0.0.2"));
        time.Now += TimeSpan.FromSeconds(2);
        Assert.Equal(TimeSpan.Zero, throttle.RetryAfter("alice", "10.0.0.1"));
        throttle.RecordSuccess("alice", "10.0.0.1");
        throttle.RecordFailure("alice", "10.0.0.1");
        Assert.Equal(TimeSpan.Zero, throttle.RetryAfter("alice", "10.0.0.1"));
    }

    [Fact]
    public void The_wait_is_capped_at_five_minutes()
    {
        ManualTime time = new();
        LoginThrottle throttle = new(time);
        for (int i = 0; i < 40; i++)
        {
            throttle.RecordFailure("alice", "10.0.0.1");
        }
        Assert.Equal(TimeSpan.FromMinutes(5), throttle.RetryAfter("alice", "10.0.0.1"));
    }
}
