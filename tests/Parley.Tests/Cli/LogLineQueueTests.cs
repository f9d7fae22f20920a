using Microsoft.Extensions.Logging;
using Parley.Cli.Logging;
using Parley.Tests.Support;

namespace Parley.Tests.Cli;

/// <summary>
/// The server logs from its socket event threads (decision 0024): a log output that stops taking
/// lines (a stderr pipe nobody reads, a terminal paused with Ctrl-S) must hold up neither the code
/// that logs nor more memory than the queue's bound. These tests play that output.
/// </summary>
public sealed class LogLineQueueTests
{
    [Fact]
    public async Task An_output_that_takes_nothing_neither_blocks_the_logger_nor_grows_the_queue()
    {
        using StuckWriter output = new();
        LineLoggerProvider provider = new(output, LogFormat.Text, TimeProvider.System, ownsWriter: false, queueCapacity: 4_000);
        ILogger logger = provider.CreateLogger("Parley.Server");
        const int Lines = 5_000;

        // Every call returns although the output has not taken even the first line.
        await Task.Run(() =>
        {
            for (int i = 0; i < Lines; i++)
            {
                logger.LogInformation("line {Number:D5} of the flood", i);
            }
        }).WithTimeout();
        Assert.True(output.Stuck.Wait(TestTimeouts.Event), "the writer thread never reached the output");
        // ~45 characters a line: at most ~90 of them fit in 4,000 characters.
        Assert.InRange(provider.DroppedLines, Lines - 100, Lines - 1);

        output.Release();
        provider.Dispose();
        string[] written = output.Lines();
        string notice = Assert.Single(written, l => l.Contains("log lines dropped", StringComparison.Ordinal));
        Assert.Contains("warning: ", notice);
        long dropped = long.Parse(notice.Split("warning: ")[1].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        int[] numbers = [.. written.Where(l => l.Contains("of the flood", StringComparison.Ordinal)).Select(l => int.Parse(l.Split("line ")[1][..5], System.Globalization.CultureInfo.InvariantCulture))];
        // Nothing lost unaccounted for, nothing reordered, the gap where the notice says.
        Assert.Equal(Lines, numbers.Length + dropped);
        Assert.Equal(numbers.Order(), numbers);
        Assert.Equal(dropped, provider.DroppedLines);
    }

    [Fact]
    public void Lines_logged_after_a_gap_follow_the_notice_of_it()
    {
        using StuckWriter output = new();
        LineLoggerProvider provider = new(output, LogFormat.Text, TimeProvider.System, ownsWriter: false, queueCapacity: 200);
        ILogger logger = provider.CreateLogger("Parley.Server");
        logger.LogInformation("first");
        Assert.True(output.Stuck.Wait(TestTimeouts.Event));
        for (int i = 0; i < 50; i++)
        {
            logger.LogInformation("flood {Number}", i);
        }
        output.Release();
        // Wait for the queue to drain: the flood's survivors are written, then room for more.
        Assert.True(SpinWait.SpinUntil(() => output.Lines().Any(l => l.Contains("flood 49", StringComparison.Ordinal)) || provider.DroppedLines > 0 && output.Lines().Length > 1, TestTimeouts.Event));
        logger.LogInformation("after the gap");
        provider.Dispose();
        string[] written = output.Lines();
        int notice = Array.FindIndex(written, l => l.Contains("log lines dropped", StringComparison.Ordinal));
        int after = Array.FindIndex(written, l => l.Contains("after the gap", StringComparison.Ordinal));
        Assert.True(notice > 0, string.Join('\n', written));
        Assert.True(after > notice, string.Join('\n', written));
        Assert.Contains("first", written[0]);
    }

    [Fact]
    public void An_output_that_fails_drops_its_lines_without_throwing_into_the_logger()
    {
        using FailingWriter output = new();
        LineLoggerProvider provider = new(output, LogFormat.Json, TimeProvider.System, ownsWriter: false);
        ILogger logger = provider.CreateLogger("Parley.Server");
        for (int i = 0; i < 10; i++)
        {
            logger.LogWarning("disk full {Number}", i);
        }
        provider.Dispose();
        // Each line failed (and the notices of them with the next line): counted, never thrown, and
        // the writer did not go on retrying against an output that keeps failing.
        Assert.True(provider.DroppedLines >= 10, $"{provider.DroppedLines} dropped");
        Assert.True(provider.Drained);
        Assert.Equal("", output.ToString());
    }

    /// <summary>A log output that takes nothing until released, as a pipe nobody reads.</summary>
    private sealed class StuckWriter : StringWriter
    {
        private readonly ManualResetEventSlim _release = new();
        private readonly object _lock = new();

        public ManualResetEventSlim Stuck { get; } = new();

        public void Release() => _release.Set();

        public override void WriteLine(string? value)
        {
            Stuck.Set();
            _release.Wait();
            lock (_lock)
            {
                base.WriteLine(value);
            }
        }

        public string[] Lines()
        {
            lock (_lock)
            {
                return ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            }
        }

        protected override void Dispose(bool disposing)
        {
            _release.Set();
            base.Dispose(disposing);
        }
    }

    private sealed class FailingWriter : StringWriter
    {
        public override void WriteLine(string? value) => throw new IOException("No space left on device");
    }
}
