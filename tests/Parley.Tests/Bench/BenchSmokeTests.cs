using System.Text.Json;
using Parley.Bench;
using Parley.Tests.Support;

namespace Parley.Tests.Bench;

/// <summary>Small runs of the load generator: they check correctness (zero loss), not speed.</summary>
public class BenchSmokeTests
{
    [Fact]
    public async Task A_small_run_delivers_every_message_exactly_once()
    {
        await using TestServer server = await TestServer.StartAsync();
        using TempDirectory temp = new();
        BenchOptions options = new()
        {
            Host = "127.0.0.1",
            Port = server.Port,
            Clients = 5,
            Messages = 300,
            Size = 64,
            HomePath = temp.File("bench-home"),
        };
        List<string> lines = [];
        BenchReport first = await new BenchRunner(options, lines.Add).RunAsync().WithTimeout();
        Assert.True(first.Passed);
        Assert.Equal(300, first.Acknowledged);
        Assert.Equal(300, first.Delivered);
        Assert.Equal(0, first.Lost);
        Assert.Equal(300, first.Latency.Samples);
        Assert.True(first.Latency.P50Ms > 0 && first.Latency.P50Ms <= first.Latency.P99Ms && first.Latency.P99Ms <= first.Latency.MaxMs);
        Assert.Contains(lines, l => l.Contains("registering 5 accounts", StringComparison.Ordinal));

        // A second run reuses the device tokens: no registration, and still exactly once.
        lines.Clear();
        BenchReport second = await new BenchRunner(options with { Rate = 500 }, lines.Add).RunAsync().WithTimeout();
        Assert.True(second.Passed);
        Assert.DoesNotContain(lines, l => l.Contains("registering", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_offline_burst_scenario_delivers_the_whole_inbox_on_login()
    {
        await using TestServer server = await TestServer.StartAsync();
        using TempDirectory temp = new();
        BenchReport report = await new BenchRunner(new BenchOptions
        {
            Host = "127.0.0.1",
            Port = server.Port,
            Scenario = BenchScenario.Burst,
            Clients = 3,
            Messages = 400,
            Size = 32,
            HomePath = temp.File("bench-home"),
        }).RunAsync().WithTimeout();
        Assert.True(report.Passed);
        Assert.Equal(400, report.Delivered);
        Assert.NotNull(report.BurstSeconds);
    }

    [Fact]
    public async Task Parley_bench_through_the_executable_reports_json_and_exits_zero()
    {
        await using TestServer server = await TestServer.StartAsync();
        using TempDirectory temp = new();
        await using ParleyProcess bench = ParleyProcess.Start(temp.Path, new Dictionary<string, string> { ["PARLEY_HOME"] = temp.File("home") },
            "bench", "--host", "127.0.0.1", "--port", server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--clients", "4", "--messages", "200", "--size", "100", "--json");
        Assert.Equal(0, await bench.WaitForExitAsync());
        using JsonDocument report = JsonDocument.Parse(bench.Stdout);
        Assert.Equal(200, report.RootElement.GetProperty("Delivered").GetInt64());
        Assert.Equal(0, report.RootElement.GetProperty("Lost").GetInt64());
        Assert.True(report.RootElement.GetProperty("Passed").GetBoolean());
    }

    [Fact]
    public async Task The_table_without_a_server_pid_gives_the_generator_s_page_faults_and_leaves_the_server_s_out()
    {
        await using TestServer server = await TestServer.StartAsync();
        using TempDirectory temp = new();
        await using ParleyProcess bench = ParleyProcess.Start(temp.Path, new Dictionary<string, string> { ["PARLEY_HOME"] = temp.File("home") },
            "bench", "--host", "127.0.0.1", "--port", server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--clients", "3", "--messages", "100", "--size", "64");
        Assert.Equal(0, await bench.WaitForExitAsync());
        string cpuLine = Assert.Single(bench.Stdout.Split('\n'), l => l.Contains("CPU per message", StringComparison.Ordinal));
        // The server's count needs --server-pid: it is left out, not printed as "?".
        if (OperatingSystem.IsLinux())
        {
            Assert.Matches(@"; page faults per message [0-9.]+ generator\)", cpuLine);
        }
    }
}
