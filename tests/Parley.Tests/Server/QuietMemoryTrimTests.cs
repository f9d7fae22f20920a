using Parley.Server.Hosting;
using Parley.Tests.Support;

namespace Parley.Tests.Server;

/// <summary>
/// Giving memory back after a login storm (decision 0013 §4) is bounded: only after logins, only
/// once they have stopped for the quiet period, at most once per interval. What a trim does to
/// resident memory is a benchmark's business (BENCHMARKS.md §2), not a test's.
/// </summary>
public class QuietMemoryTrimTests
{
    private static readonly TimeSpan Quiet = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    [Fact]
    public void Nothing_is_trimmed_before_any_login_however_long_the_server_is_quiet()
    {
        ManualClock clock = new();
        int trims = 0;
        QuietMemoryTrim trim = new(clock, Quiet, Interval, () => trims++);
        for (int tick = 0; tick < 100; tick++)
        {
            Assert.False(trim.Tick(activity: 0));
            clock.Advance(TimeSpan.FromSeconds(1));
        }
        Assert.Equal(0, trims);
    }

    [Fact]
    public void Trims_once_the_logins_have_stopped_for_the_quiet_period_and_not_again_without_new_logins()
    {
        ManualClock clock = new();
        int trims = 0;
        QuietMemoryTrim trim = new(clock, Quiet, Interval, () => trims++);
        // A storm: logins on every tick.
        for (long logins = 1; logins <= 20; logins++)
        {
            Assert.False(trim.Tick(logins * 100));
            clock.Advance(TimeSpan.FromSeconds(1));
        }
        // Quiet, but not yet for the whole period.
        clock.Advance(Quiet - TimeSpan.FromSeconds(2));
        Assert.False(trim.Tick(2000));
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(trim.Tick(2000));
        Assert.Equal(1, trims);
        // Quiet on: nothing more to give back until logins happen again.
        for (int tick = 0; tick < 300; tick++)
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            Assert.False(trim.Tick(2000));
        }
        Assert.Equal(1, trims);
        Assert.Equal(1, trim.Trims);
    }

    [Fact]
    public void Storms_that_come_and_go_quickly_are_trimmed_at_most_once_per_interval()
    {
        ManualClock clock = new();
        List<DateTimeOffset> trimmedAt = [];
        QuietMemoryTrim trim = new(clock, Quiet, Interval, () => trimmedAt.Add(clock.Now));
        long logins = 0;
        // Ten minutes of: a login, then quiet for twice the quiet period, every 10 s.
        for (int second = 0; second < 600; second++)
        {
            if (second % 10 == 0)
            {
                logins++;
            }
            trim.Tick(logins);
            clock.Advance(TimeSpan.FromSeconds(1));
        }
        Assert.InRange(trimmedAt.Count, 2, 10);
        for (int i = 1; i < trimmedAt.Count; i++)
        {
            Assert.True(trimmedAt[i] - trimmedAt[i - 1] >= Interval, $"trims at {trimmedAt[i - 1]:T} and {trimmedAt[i]:T}");
        }
    }

    [Fact]
    public void A_long_trim_pushes_the_next_one_back_so_trims_take_at_most_one_percent_of_the_time()
    {
        ManualClock clock = new();
        TimeSpan pause = TimeSpan.FromSeconds(2);
        List<DateTimeOffset> trimmedAt = [];
        // Each trim "takes" 2 s on the clock: the next may come 200 s later, not after the 1 min interval.
        QuietMemoryTrim trim = new(clock, Quiet, Interval, () =>
        {
            trimmedAt.Add(clock.Now);
            clock.Advance(pause);
        });
        long logins = 0;
        for (int second = 0; second < 1200; second++)
        {
            if (second % 10 == 0)
            {
                logins++;
            }
            trim.Tick(logins);
            clock.Advance(TimeSpan.FromSeconds(1));
        }
        Assert.InRange(trimmedAt.Count, 2, 7);
        for (int i = 1; i < trimmedAt.Count; i++)
        {
            Assert.True(trimmedAt[i] - trimmedAt[i - 1] >= pause + pause * QuietMemoryTrim.PauseBudgetFactor,
                $"trims at {trimmedAt[i - 1]:T} and {trimmedAt[i]:T}");
        }
    }

    [Fact]
    public void A_server_that_never_falls_quiet_is_never_trimmed()
    {
        ManualClock clock = new();
        int trims = 0;
        QuietMemoryTrim trim = new(clock, Quiet, Interval, () => trims++);
        for (long second = 1; second <= 600; second++)
        {
            // A login every 4 s: never 5 s without one.
            trim.Tick(second / 4);
            clock.Advance(TimeSpan.FromSeconds(1));
        }
        Assert.Equal(0, trims);
    }

    [Fact]
    public void An_infinite_quiet_period_turns_it_off()
    {
        ManualClock clock = new();
        int trims = 0;
        QuietMemoryTrim trim = new(clock, Timeout.InfiniteTimeSpan, Interval, () => trims++);
        trim.Tick(1);
        clock.Advance(TimeSpan.FromDays(1));
        Assert.False(trim.Tick(1));
        Assert.Equal(0, trims);
    }

    [Fact]
    public void The_native_trim_runs_where_glibc_has_it_and_is_a_no_op_elsewhere()
    {
        // Whether it frees anything is not asserted (that is the benchmark's business): only that
        // calling it is safe, and that it says whether there was one to call.
        bool trimmed = MemoryTrim.TrimNativeHeap();
        if (!OperatingSystem.IsLinux())
        {
            Assert.False(trimmed);
        }
        Assert.Equal(trimmed, MemoryTrim.TrimNativeHeap());
    }

    [Fact]
    public async Task The_servers_sweep_trims_once_after_a_login_when_the_clock_has_moved_past_the_quiet_period()
    {
        ManualClock clock = new();
        await using TestServer server = await TestServer.StartAsync(o => o with
        {
            Time = clock,
            KeepAliveInterval = TimeSpan.FromMinutes(10),
            IdleTimeout = TimeSpan.FromMinutes(30),
            ReleaseIdleStateAfter = TimeSpan.FromSeconds(2),
            TrimMemoryAfterQuiet = Quiet,
        });
        await using Parley.Client.ChatClient client = await server.LoginAsync("storm");
        Assert.Equal(0, server.Server.MemoryTrim.Trims);

        // The sweep ticks on the server's clock; each step gives it a tick to see the login, then the quiet.
        using CancellationTokenSource deadline = new(TestTimeouts.Event);
        while (server.Server.MemoryTrim.Trims == 0)
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(10, deadline.Token);
        }
        Assert.Equal(1, server.Server.MemoryTrim.Trims);
        // Quiet on, and no new login: no second trim however long the clock runs.
        for (int i = 0; i < 20; i++)
        {
            clock.Advance(TimeSpan.FromSeconds(10));
            await Task.Delay(10, deadline.Token);
        }
        Assert.Equal(1, server.Server.MemoryTrim.Trims);
    }
}
