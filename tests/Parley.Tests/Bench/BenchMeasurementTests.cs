using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Parley.Bench;
using Parley.Cli.CommandLine;
using Parley.Tests.Support;

namespace Parley.Tests.Bench;

/// <summary>
/// What `parley bench` measures besides delivery: the server's and its own CPU per message, the
/// paced timetable, and pinning to CPUs. Real processes, no timing assertions: the figures are
/// checked to exist and to be consistent with each other and with the run.
/// </summary>
public partial class BenchMeasurementTests
{
    /// <summary>Lifts the limits a generator on one address would hit (as BENCHMARKS.md §2's commands do), and registers cheaply.</summary>
    private static readonly string[] s_oneMachineLoad =
    [
        "--password-iterations", "1000", "--registrations-per-minute", "1000", "--registrations-per-source-per-hour", "1000",
        "--sender-messages-per-second", "100000", "--sender-message-burst", "100000",
    ];

    private static async Task<(ParleyProcess Server, int Port)> StartServerAsync(TempDirectory temp, params string[] extra)
    {
        ParleyProcess server = ParleyProcess.Start(temp.Path, null, ["server", "--host", "127.0.0.1", "--port", "0", "--data", "data", .. s_oneMachineLoad, .. extra]);
        string started = await server.WaitForLineAsync("[SERVER] Started on");
        await server.WaitForLineAsync("[SERVER] Waiting for connections...");
        return (server, int.Parse(PortPattern().Match(started).Groups[1].Value, CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Bench_with_server_pid_reports_the_servers_and_its_own_cpu_per_delivered_message()
    {
        using TempDirectory temp = new();
        (ParleyProcess server, int port) = await StartServerAsync(temp);
        await using ParleyProcess disposeServer = server;
        await using ParleyProcess bench = ParleyProcess.Start(temp.Path, new Dictionary<string, string> { ["PARLEY_HOME"] = temp.File("home") },
            "bench", "--host", "127.0.0.1", "--port", port.ToString(CultureInfo.InvariantCulture), "--clients", "4", "--messages", "2000", "--size", "64",
            "--server-pid", server.ProcessId.ToString(CultureInfo.InvariantCulture), "--json");
        Assert.True(await bench.WaitForExitAsync() == 0, bench.Stdout + bench.Stderr);

        using JsonDocument report = JsonDocument.Parse(bench.Stdout);
        Assert.Equal(2000, report.RootElement.GetProperty("Delivered").GetInt64());
        JsonElement cpu = report.RootElement.GetProperty("Cpu");
        double window = cpu.GetProperty("WindowSeconds").GetDouble();
        double serverSeconds = cpu.GetProperty("ServerSeconds").GetDouble();
        double generatorSeconds = cpu.GetProperty("GeneratorSeconds").GetDouble();
        Assert.True(window > 0);
        // The server did work for 2,000 messages; neither process can have used more than every
        // core for the whole window (plus a few 10 ms clock ticks: /proc's resolution).
        Assert.True(serverSeconds > 0, $"server CPU {serverSeconds} s");
        Assert.True(serverSeconds <= (window * Environment.ProcessorCount) + 0.05, $"server CPU {serverSeconds} s in a {window} s window");
        Assert.True(generatorSeconds > 0 && generatorSeconds <= (window * Environment.ProcessorCount) + 0.05, $"generator CPU {generatorSeconds} s in a {window} s window");
        Assert.Equal(serverSeconds * 1e6 / 2000, cpu.GetProperty("ServerMicrosecondsPerMessage").GetDouble(), 6);
        Assert.Equal(generatorSeconds * 1e6 / 2000, cpu.GetProperty("GeneratorMicrosecondsPerMessage").GetDouble(), 6);
        Assert.Equal(serverSeconds / window, cpu.GetProperty("ServerCores").GetDouble(), 6);
    }

    [Fact]
    public async Task A_paced_run_sends_exactly_its_timetable_and_reports_what_it_offered()
    {
        await using TestServer server = await TestServer.StartAsync();
        using TempDirectory temp = new();
        // 250 messages a second for one second: messages 0 … 249 of the timetable are due within
        // the run, whatever the machine's speed (a late sender still sends them, late).
        BenchReport report = await new BenchRunner(new BenchOptions
        {
            Host = "127.0.0.1",
            Port = server.Port,
            Clients = 4,
            Rate = 250,
            Duration = TimeSpan.FromSeconds(1),
            Window = 2,
            Size = 32,
            HomePath = temp.File("bench-home"),
        }).RunAsync().WithTimeout();
        Assert.True(report.Passed);
        Assert.Equal(250, report.Sent);
        Assert.Equal(250, report.Delivered);
        Assert.Equal(250, report.TargetRate);
        Assert.True(report.OfferedPerSecond > 0);
        Assert.InRange(report.LateSends, 0, 250);
        Assert.Equal(250, report.Latency.Samples);
        Assert.True(report.Cpu.GeneratorSeconds > 0);
        Assert.Null(report.Cpu.ServerMicrosecondsPerMessage); // no --server-pid
    }

    [Fact]
    public async Task A_warm_up_sends_and_checks_its_own_messages_and_the_run_counts_only_what_follows()
    {
        await using TestServer server = await TestServer.StartAsync();
        using TempDirectory temp = new();
        // The same timetable twice: 200 messages in the warm-up second, then 200 measured.
        List<string> lines = [];
        BenchReport report = await new BenchRunner(new BenchOptions
        {
            Host = "127.0.0.1",
            Port = server.Port,
            Clients = 4,
            Rate = 200,
            Duration = TimeSpan.FromSeconds(1),
            WarmUpTime = TimeSpan.FromSeconds(1),
            Window = 2,
            Size = 32,
            HomePath = temp.File("bench-home"),
        }, line => { lock (lines) { lines.Add(line); } }).RunAsync().WithTimeout();
        Assert.True(report.Passed);
        Assert.Equal(200, report.WarmUpMessages);
        Assert.Equal(200, report.Sent);
        Assert.Equal(200, report.Delivered);
        Assert.Equal(200, report.Latency.Samples);
        Assert.Equal(0, report.Duplicates);
        Assert.Contains(lines, l => l.Contains("warm-up over: 200 messages delivered", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("1", 2, 0b10UL)]
    [InlineData("0-1", 2, 0b11UL)]
    [InlineData(" 0,2-3 ", 4, 0b1101UL)]
    [InlineData("3,1", 4, 0b1010UL)]
    public void A_cpu_list_is_parsed_as_the_kernel_writes_it(string list, int machineCpus, ulong expected)
    {
        Assert.True(CpuAffinity.TryParse(list, machineCpus, out ulong mask, out string error), error);
        Assert.Equal(expected, mask);
        Assert.Equal(list.Trim() == "3,1" ? "1,3" : list.Trim(), CpuAffinity.Describe(mask));
    }

    [Theory]
    [InlineData("", "name at least one CPU")]
    [InlineData("a", "'a' is not a CPU number or range")]
    [InlineData("1-0", "'1-0' is not a CPU number or range")]
    [InlineData("0-1-2", "is not a CPU number or range")]
    [InlineData("-1", "is not a CPU number or range")]
    [InlineData("0,", "'' is not a CPU number or range")]
    [InlineData("2", "CPU 2 does not exist: this machine has CPUs 0-1")]
    [InlineData("0-7", "CPU 7 does not exist")]
    public void A_bad_cpu_list_is_refused_in_words(string list, string expected)
    {
        Assert.False(CpuAffinity.TryParse(list, 2, out _, out string error));
        Assert.Contains(expected, error);
    }

    [Fact]
    public async Task Server_and_bench_refuse_a_bad_cpu_list_with_a_usage_error()
    {
        using TempDirectory temp = new();
        (int serverExit, _, string serverError) = await ParleyProcess.RunAsync(temp.Path, "server", "--port", "0", "--data", "data", "--cpu", "0-x").WithTimeout();
        Assert.Equal(2, serverExit);
        Assert.Contains("--cpu: '0-x' is not a CPU number or range", serverError);
        Assert.False(Directory.Exists(temp.File("data")));

        string beyond = CpuAffinity.MachineCpus().ToString(CultureInfo.InvariantCulture);
        (int benchExit, _, string benchError) = await ParleyProcess.RunAsync(temp.Path, "bench", "--port", "1", "--cpu", beyond).WithTimeout();
        Assert.Equal(2, benchExit);
        Assert.Contains($"--cpu: CPU {beyond} does not exist", benchError);
    }

    [Fact]
    public async Task A_server_started_with_cpu_runs_every_thread_on_that_cpu_and_so_does_the_bench()
    {
        // The last CPU this test may use (so the test works inside a cpuset too).
        string last = CpuAffinity.Describe(1UL << (System.Numerics.BitOperations.Log2(AllowedMask())));
        using TempDirectory temp = new();
        (ParleyProcess server, int port) = await StartServerAsync(temp, "--cpu", last);
        await using ParleyProcess disposeServer = server;
        Assert.Equal([last], CpuAffinity.ThreadAllowedLists(server.ProcessId.ToString(CultureInfo.InvariantCulture)));

        await using ParleyProcess bench = ParleyProcess.Start(temp.Path, new Dictionary<string, string> { ["PARLEY_HOME"] = temp.File("home") },
            "bench", "--host", "127.0.0.1", "--port", port.ToString(CultureInfo.InvariantCulture), "--clients", "2", "--messages", "20", "--size", "32",
            "--cpu", last, "--json");
        Assert.True(await bench.WaitForExitAsync() == 0, bench.Stdout + bench.Stderr);
        using JsonDocument report = JsonDocument.Parse(bench.Stdout);
        Assert.Equal(last, report.RootElement.GetProperty("GeneratorCpus").GetString());
        // The server kept its pinning while it served (threads it started meanwhile inherited it).
        Assert.Equal([last], CpuAffinity.ThreadAllowedLists(server.ProcessId.ToString(CultureInfo.InvariantCulture)));
    }

    private static ulong AllowedMask()
    {
        Assert.True(CpuAffinity.TryParse(CpuAffinity.AllowedList("self"), CpuAffinity.MaxCpus, out ulong mask, out string error), error);
        return mask;
    }

    [GeneratedRegex(@"Started on [^:]+:(\d+)")]
    private static partial Regex PortPattern();
}

/// <summary>The latency histogram and the exactly-once ledger the generator records into.</summary>
public class BenchRecordingTests
{
    [Fact]
    public void Every_latency_falls_in_a_bucket_whose_bound_is_at_most_a_128th_above_it()
    {
        for (long value = 0; value < 1L << 37; value = (value * 5 / 4) + 1)
        {
            long highest = LatencyHistogram.HighestIn(LatencyHistogram.BucketOf(value));
            Assert.InRange(highest, value, value + (value / 128));
        }
        Assert.Equal(LatencyHistogram.BucketCount - 1, LatencyHistogram.BucketOf((1L << 37) - 1));
    }

    [Fact]
    public void The_timetable_spreads_message_k_of_the_run_to_sender_k_mod_n_due_at_k_over_r()
    {
        long frequency = System.Diagnostics.Stopwatch.Frequency;
        SendTimetable timetable = new(rate: 100, senders: 4, startTimestamp: 1_000, length: TimeSpan.FromSeconds(1));
        for (long k = 0; k < 100; k++)
        {
            long due = timetable.DueTimestamp((int)(k % 4), k / 4);
            Assert.Equal(1_000 + (k * frequency / 100), due);
            Assert.False(timetable.IsPastEnd(due));
        }
        Assert.True(timetable.IsPastEnd(timetable.DueTimestamp(0, 25))); // message 100 is due at t0 + 1 s: after the run
        Assert.False(new SendTimetable(100, 4, 0, length: null).IsPastEnd(long.MaxValue - 1)); // --messages: no end in time
    }

    [Fact]
    public void Percentiles_of_merged_histograms_are_those_of_all_the_samples()
    {
        LatencyHistogram first = new();
        LatencyHistogram second = new();
        for (int i = 1; i <= 100; i++)
        {
            (i % 2 == 0 ? first : second).Record(i);
        }
        second.Record(5_000_000);
        long[] counts = new long[LatencyHistogram.BucketCount];
        long max = 0;
        first.AddTo(counts, ref max);
        second.AddTo(counts, ref max);
        LatencySummary summary = LatencyHistogram.Summarise(counts, max);
        Assert.Equal(101, summary.Samples);
        Assert.Equal(0.051, summary.P50Ms); // the 51st of 101 samples: 51 µs (exact below 256 µs)
        Assert.Equal(0.100, summary.P99Ms);
        Assert.Equal(5000, summary.MaxMs);
    }

    [Fact]
    public void The_ledger_tells_a_duplicate_from_a_first_arrival_across_chunks_and_threads()
    {
        DeliveryLedger ledger = new(3);
        uint[] sequences = [0, 1, 63, 64, 65_535, 65_536, 1_000_000, uint.MaxValue];
        foreach (uint sequence in sequences)
        {
            Assert.True(ledger.TryMark(2, sequence));
            Assert.False(ledger.TryMark(2, sequence));
            Assert.True(ledger.TryMark(1, sequence));
        }
        Assert.False(ledger.TryMark(3, 0)); // no such sender: never counted as delivered

        // Four threads mark the same 200,000 messages: each is first exactly once.
        int firsts = 0;
        Parallel.For(0, 4, _ =>
        {
            for (uint sequence = 0; sequence < 200_000; sequence++)
            {
                if (ledger.TryMark(0, sequence))
                {
                    Interlocked.Increment(ref firsts);
                }
            }
        });
        Assert.Equal(200_000, firsts);
    }
}
