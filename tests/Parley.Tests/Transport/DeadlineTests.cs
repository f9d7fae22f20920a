using Parley.Tests.Support;
using Parley.Transport;

namespace Parley.Tests.Transport;

public class DeadlineTests
{
    [Fact]
    public void The_source_is_cancelled_when_the_given_clock_reaches_the_delay_and_not_before()
    {
        ManualClock clock = new();
        using CancellationTokenSource source = new();
        using ITimer timer = Deadline.CancelAfter(source, TimeSpan.FromSeconds(5), clock);
        clock.Advance(TimeSpan.FromSeconds(4));
        Assert.False(source.IsCancellationRequested);
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(source.IsCancellationRequested);
    }

    [Fact]
    public void A_deadline_firing_after_its_work_disposed_the_source_is_harmless()
    {
        ManualClock clock = new();
        CancellationTokenSource source = new();
        using ITimer timer = Deadline.CancelAfter(source, TimeSpan.FromSeconds(1), clock);
        source.Dispose();
        Assert.Null(Record.Exception(() => clock.Advance(TimeSpan.FromSeconds(1))));
    }
}
