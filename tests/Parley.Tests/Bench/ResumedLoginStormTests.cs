using Parley.Bench;
using Parley.Server.Hosting;
using Parley.Tests.Support;

namespace Parley.Tests.Bench;

/// <summary>The idle scenario's two login storms: full handshakes first, then every client resumes with its ticket (correctness only, not speed).</summary>
public class ResumedLoginStormTests
{
    [Fact]
    public async Task The_idle_scenario_reports_a_second_storm_in_which_every_client_resumed()
    {
        await using TestServer server = await TestServer.StartAsync();
        using TempDirectory temp = new();
        const int Clients = 6;
        const int WarmUp = 4;
        List<string> lines = [];
        BenchReport report = await new BenchRunner(new BenchOptions
        {
            Host = "127.0.0.1",
            Port = server.Port,
            Scenario = BenchScenario.Idle,
            Clients = Clients,
            WarmUpLogins = WarmUp,
            Duration = TimeSpan.Zero,
            HomePath = temp.File("bench-home"),
            // The server runs in this process: its CPU figure here includes the clients' (a real run names the server's pid).
            ServerProcessId = Environment.ProcessId,
        }, line => { lock (lines) { lines.Add(line); } }).RunAsync().WithTimeout();

        Assert.True(report.Passed);
        // On Linux each storm that got its no-GC region had the heap faulted in before its clock
        // started, or says why not (another test in this process may hold the one region there is,
        // or end it, so all four outcomes can occur here).
        if (OperatingSystem.IsLinux())
        {
            Assert.Contains(lines, l => l.Contains("faulted in before the storm", StringComparison.Ordinal)
                || l.Contains("cannot fault memory in ahead", StringComparison.Ordinal)
                || l.Contains("would not hold collections off", StringComparison.Ordinal));
        }
        ResumedLoginStorm resumed = Assert.IsType<ResumedLoginStorm>(report.ResumedLogins);
        Assert.Equal((Clients, 0, 0L), (resumed.Resumed, resumed.Full, resumed.Errors));
        Assert.True(resumed.LoginsPerSecond > 0);
        // Each storm reports CPU per login, measured over that storm alone (the first one registers: PBKDF2 makes it plainly non-zero).
        CpuUsage full = Assert.IsType<CpuUsage>(report.LoginCpu);
        Assert.True(full.ServerMicrosecondsPerMessage > 0 && full.WindowSeconds > 0, $"first storm: {full}");
        CpuUsage again = Assert.IsType<CpuUsage>(resumed.Cpu);
        Assert.True(again.ServerMicrosecondsPerMessage is >= 0 && again.GeneratorMicrosecondsPerMessage is >= 0 && again.WindowSeconds > 0, $"resumed storm: {again}");
        // Page faults come from /proc for both sides (here one process); a count, never negative.
        Assert.True(again.ServerPageFaultsPerMessage is >= 0 && again.GeneratorPageFaultsPerMessage is >= 0, $"resumed storm: {again}");
        // The warm-up logs 4 clients in fully, then resumed (unmeasured), for as many rounds as the
        // JIT keeps compiling; registration and the first storm ran full handshakes; the
        // reconnect pass resumed every client.
        Assert.True(report.WarmUpLogins > 0 && report.WarmUpLogins % (2 * WarmUp) == 0, $"warm-up logins: {report.WarmUpLogins}");
        Assert.Equal(report.WarmUpLogins / 2 + Clients, server.Server.Handshakes.Resumed);
    }

    [Fact]
    public async Task Against_a_server_without_tickets_the_second_storm_runs_full_handshakes()
    {
        await using TestServer server = await TestServer.StartAsync(o => o with { SessionTickets = false });
        using TempDirectory temp = new();
        BenchReport report = await new BenchRunner(new BenchOptions
        {
            Host = "127.0.0.1",
            Port = server.Port,
            Scenario = BenchScenario.Idle,
            Clients = 3,
            WarmUpLogins = 0,
            Duration = TimeSpan.Zero,
            HomePath = temp.File("bench-home"),
        }).RunAsync().WithTimeout();

        Assert.True(report.Passed);
        Assert.Equal((0, 3), (report.ResumedLogins!.Resumed, report.ResumedLogins.Full));
        Assert.Equal(new HandshakeCounts(Full: server.Server.Handshakes.Full, Resumed: 0), server.Server.Handshakes);
    }
}
