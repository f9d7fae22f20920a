using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Parley.Bench;
using Parley.Client;
using Parley.Crypto.KeyAgreement;

namespace Parley.Cli.Commands;

/// <summary><c>parley bench</c>: a load generator against a running server, with exactly-once checking.</summary>
internal static class BenchCommand
{
    internal static Command Create()
    {
        Option<string[]> host = new("--host")
        {
            Description = "Server HOST[:PORT] (default localhost); repeat it for the nodes of a cluster: clients are spread across them",
            Arity = ArgumentArity.ZeroOrMore,
            AllowMultipleArgumentsPerToken = false,
        };
        Option<int> port = CommandLine.PortOption.WithDefault("--port", "Server port", 5555, allowZero: false, "-p");
        Option<int> clients = new("--clients", "-c") { Description = "Number of clients", DefaultValueFactory = _ => 200 };
        Option<long?> messages = new("--messages", "-n") { Description = "Total messages to send (instead of --duration)" };
        Option<string> duration = new("--duration", "-d") { Description = "How long to send, e.g. 30s or 2m (when --messages is not given)", DefaultValueFactory = _ => "30s" };
        Option<int> size = new("--size") { Description = "Message body size in bytes (at least 16)", DefaultValueFactory = _ => 256 };
        Option<string> rate = new("--rate") { Description = "Target total messages per second, sent on a fixed timetable (latency counted from each message's due time), or 'max'", DefaultValueFactory = _ => "max" };
        Option<int> window = new("--window") { Description = "Requests each client keeps in flight at most (at --rate max, and to keep a --rate's timetable)", DefaultValueFactory = _ => 8 };
        Option<string> group = new("--group") { Description = "Key agreement group for the clients' handshakes", DefaultValueFactory = _ => "x25519" };
        group.AcceptOnlyFromAmong([.. KeyAgreementAlgorithms.All.Select(g => g.Name)]);
        Option<string> scenario = new("--scenario") { Description = "messages | burst (offline inbox delivered on login) | idle (connections held open)", DefaultValueFactory = _ => "messages" };
        scenario.AcceptOnlyFromAmong("messages", "burst", "idle");
        Option<string> prefix = new("--user-prefix") { Description = "Benchmark accounts are PREFIX-0 … PREFIX-(N-1)", DefaultValueFactory = _ => "bench" };
        Option<int?> serverPid = new("--server-pid") { Description = "A local server process (Linux): report its CPU per delivered message and its resident memory" };
        Option<string?> fingerprint = new("--fingerprint") { Description = "Only talk to a server with this key fingerprint" };
        Option<int> warmUp = new("--warmup") { Description = "idle: clients that log in (full, then resumed) before the measured storms, so JIT compilation is not counted per login", DefaultValueFactory = _ => 500 };
        Option<string> warmUpTime = new("--warmup-time") { Description = "messages: send at the run's rate for this long first (e.g. 5s), drained and checked but not measured, so JIT compilation is not counted as latency or CPU", DefaultValueFactory = _ => "0s" };
        Option<int> loginConcurrency = new("--login-concurrency") { Description = "Connection attempts in flight during the login storm", DefaultValueFactory = _ => 64 };
        Option<bool> collectDuringStorms = new("--collect-during-storms") { Description = "Let the generator's garbage collector run during login storms (by default it collects before a storm and holds off until it ends)" };
        Option<bool> smallPages = new("--small-pages") { Description = "Keep the generator's heap on 4 KiB pages (by default, on Linux, it asks for transparent huge pages, so its thousands of simulated devices' fresh memory does not cost a page fault per 4 KiB)" };
        Option<bool> coldHeap = new("--cold-heap") { Description = "Let the generator's login storms fault in their memory as they go (by default its committed heap, the storm's no-GC region among it, is faulted in before the storm's clock starts)" };
        Option<bool> json = new("--json") { Description = "Print the report as JSON (for scripts)" };
        Option<string> encoding = new("--encoding") { Description = "How clients send and receive messages: compact (binary, PROTOCOL.md §11.9) or json (as older clients and the browser do)", DefaultValueFactory = _ => "compact" };
        encoding.AcceptOnlyFromAmong("compact", "json");
        Option<string?> cpu = CommandLine.CpuAffinity.CreateOption("the generator");
        Command command = new("bench", "Load a running Parley server and report throughput, latency and exactly-once delivery")
        {
            host, port, clients, messages, duration, size, rate, window, group, scenario, prefix, serverPid, fingerprint, loginConcurrency, collectDuringStorms, smallPages, coldHeap, warmUp, warmUpTime, json, encoding, cpu,
        };
        command.Subcommands.Add(BenchPlotCommand.Create());
        command.SetAction(async (result, cancellationToken) =>
        {
            InlineSocketCompletions.TurnOn();
            if (CommandLine.CpuAffinity.PinTo(result.GetValue(cpu)) is string cpuError)
            {
                Console.Error.WriteLine($"parley bench: {cpuError}");
                return ExitCodes.Usage;
            }
            if (!TryParseDuration(result.GetValue(duration)!, out TimeSpan span))
            {
                Console.Error.WriteLine("parley bench: --duration must look like 30s, 2m or 500ms");
                return ExitCodes.Usage;
            }
            string warmUpText = result.GetValue(warmUpTime)!;
            TimeSpan warmUpSpan = TimeSpan.Zero;
            if (warmUpText is not ("0" or "0s") && !TryParseDuration(warmUpText, out warmUpSpan))
            {
                Console.Error.WriteLine("parley bench: --warmup-time must look like 5s, 1m or 0s");
                return ExitCodes.Usage;
            }
            string rateText = result.GetValue(rate)!;
            double? targetRate = null;
            if (rateText != "max")
            {
                if (!double.TryParse(rateText, NumberStyles.Float, CultureInfo.InvariantCulture, out double parsed) || parsed <= 0)
                {
                    Console.Error.WriteLine("parley bench: --rate must be a positive number of messages per second, or 'max'");
                    return ExitCodes.Usage;
                }
                targetRate = parsed;
            }
            int clientCount = result.GetValue(clients);
            if (clientCount < 2 || result.GetValue(size) < 16 || result.GetValue(window) < 1)
            {
                Console.Error.WriteLine("parley bench: --clients must be at least 2, --size at least 16 and --window at least 1");
                return ExitCodes.Usage;
            }
            string prefixValue = result.GetValue(prefix)!;
            int portValue = result.GetValue(port);
            List<(string Host, int Port)> nodes = [];
            foreach (string entry in result.GetValue(host) is { Length: > 0 } hosts ? hosts : ["localhost"])
            {
                if (!ServerEndpoint.TryParse(entry, portValue, out ServerEndpoint node, out string hostError))
                {
                    Console.Error.WriteLine($"parley bench: {hostError}");
                    return ExitCodes.Usage;
                }
                nodes.Add((node.Host, node.Port));
            }
            BenchOptions options = new()
            {
                Host = nodes[0].Host,
                Port = nodes[0].Port,
                MoreNodes = [.. nodes.Skip(1)],
                Clients = clientCount,
                Messages = result.GetValue(messages),
                Duration = span,
                Size = result.GetValue(size),
                Rate = targetRate,
                Window = result.GetValue(window),
                Group = KeyAgreementAlgorithms.Get(result.GetValue(group)!),
                Scenario = Enum.Parse<BenchScenario>(result.GetValue(scenario)!, ignoreCase: true),
                UserPrefix = prefixValue,
                HomePath = Path.Combine(ParleyHome.Default().Path, "bench"),
                ServerProcessId = result.GetValue(serverPid),
                Fingerprint = result.GetValue(fingerprint),
                LoginConcurrency = Math.Max(1, result.GetValue(loginConcurrency)),
                HoldCollectionsDuringStorms = !result.GetValue(collectDuringStorms),
                HugePagesForHeap = !result.GetValue(smallPages),
                PrefaultStormHeap = !result.GetValue(coldHeap),
                WarmUpLogins = Math.Max(0, result.GetValue(warmUp)),
                WarmUpTime = warmUpSpan,
                CompactForm = result.GetValue(encoding) == "compact",
            };
            bool asJson = result.GetValue(json);
            BenchReport report;
            try
            {
                report = await new BenchRunner(options, asJson ? null : line => Console.WriteLine(line)).RunAsync(cancellationToken);
            }
            catch (Exception e) when (e is ChatConnectionException or InvalidOperationException or Parley.Protocol.ParleyProtocolException or ArgumentException)
            {
                Console.Error.WriteLine($"parley bench: {e.Message}");
                return ExitCodes.ConnectionFailed;
            }
            if (OperatingSystem.IsLinux())
            {
                // Read back from every thread, so the report shows the pinning took (or that there was none).
                report = report with { GeneratorCpus = string.Join(' ', CommandLine.CpuAffinity.ThreadAllowedLists("self")) };
            }
            if (asJson)
            {
                Console.WriteLine(JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true }));
            }
            else
            {
                PrintTable(report);
            }
            return report.Passed ? ExitCodes.Success : ExitCodes.Failure;
        });
        return command;
    }

    /// <summary>"; CPU per login: N µs server, N µs generator", or nothing when not measured.</summary>
    private static string PerLogin(CpuUsage? cpu) => cpu?.GeneratorMicrosecondsPerMessage is double generator
        ? FormattableString.Invariant($"; CPU per login {(cpu.ServerMicrosecondsPerMessage is double server ? $"{server:N0} µs server, " : "")}{generator:N0} µs generator{Faults(cpu)}")
        : "";

    /// <summary>"; page faults per login: N server, N generator", or nothing where /proc could not tell.</summary>
    private static string Faults(CpuUsage cpu) => cpu.GeneratorPageFaultsPerMessage is double generator
        ? FormattableString.Invariant($"; page faults per login {(cpu.ServerPageFaultsPerMessage is double server ? $"{server:0.0} server, " : "")}{generator:0.0} generator")
        : "";

    /// <summary>"; page faults per message N server, N generator", the server's only with --server-pid, or nothing where /proc could not tell.</summary>
    private static string FaultsPerMessage(CpuUsage cpu) => cpu.GeneratorPageFaultsPerMessage is double generator
        ? FormattableString.Invariant($"; page faults per message {(cpu.ServerPageFaultsPerMessage is double server ? $"{server:0.00} server, " : "")}{generator:0.00} generator")
        : "";

    private static void PrintTable(BenchReport r)
    {
        Console.WriteLine();
        Console.WriteLine($"  scenario            {r.Scenario}, {r.Clients} clients on {r.Nodes} node{(r.Nodes == 1 ? "" : "s")}, {r.Group}, {r.Encoding}, {r.Size} B, rate {(r.TargetRate is double t ? t.ToString("N0", CultureInfo.InvariantCulture) + "/s" : "max")}");
        if (r.WarmUpLogins > 0)
        {
            Console.WriteLine($"  warm-up             {r.WarmUpLogins:N0} logins (full, then resumed) before the storms, not measured");
        }
        if (r.WarmUpMessages > 0)
        {
            Console.WriteLine($"  warm-up             {r.WarmUpMessages:N0} messages delivered before the run, checked, not measured");
        }
        Console.WriteLine($"  login storm         {r.LoginsPerSecond:N0} connections+logins/s ({r.LoginStormSeconds:0.00} s, {r.LoginErrors} errors){PerLogin(r.LoginCpu)}");
        if (r.ResumedLogins is { } resumed)
        {
            Console.WriteLine($"  resumed logins      {resumed.LoginsPerSecond:N0} connections+logins/s ({resumed.Seconds:0.00} s; {resumed.Resumed:N0} resumed, {resumed.Full:N0} full, {resumed.Errors} errors){PerLogin(resumed.Cpu)}");
        }
        if (r.Scenario != "idle")
        {
            Console.WriteLine($"  sent / acked        {r.Sent:N0} / {r.Acknowledged:N0} in {r.SendSeconds:0.00} s ({r.SendErrors} errors)");
            Console.WriteLine($"  offered             {r.OfferedPerSecond:N0}/s{(r.TargetRate is double target ? $" of {target:N0}/s asked, {r.LateSends:N0} sends more than 10 ms behind the timetable" : "")}");
            Console.WriteLine($"  delivered           {r.Delivered:N0} ({r.DeliveredPerSecond:N0}/s)");
            Console.WriteLine($"  lost / duplicated   {r.Lost} / {r.Duplicates}");
            Console.WriteLine($"  {(r.TargetRate is null ? "latency (ms)" : "latency (ms, due)"),-19} p50 {r.Latency.P50Ms:0.00}  p90 {r.Latency.P90Ms:0.00}  p99 {r.Latency.P99Ms:0.00}  max {r.Latency.MaxMs:0.00}");
        }
        if (r.Scenario != "idle")
        {
            Console.WriteLine($"  CPU per message     {Micros(r.Cpu.ServerMicrosecondsPerMessage)} server, {Micros(r.Cpu.GeneratorMicrosecondsPerMessage)} generator ({r.Cpu.WindowSeconds:0.00} s of sending and draining; the generator allocated {r.Cpu.GeneratorBytesAllocatedPerMessage ?? 0:N0} B per message{FaultsPerMessage(r.Cpu)})");
            Console.WriteLine($"  cores used          {(r.Cpu.ServerCores is double cores ? cores.ToString("0.00", CultureInfo.InvariantCulture) : "? (no --server-pid)")} server, {r.Cpu.GeneratorCores:0.00} generator{(r.GeneratorCpus is string cpus ? $" (on CPUs {cpus})" : "")}");
        }
        if (r.BurstSeconds is double burst)
        {
            Console.WriteLine($"  offline burst       {r.Delivered:N0} delivered in {burst:0.00} s after login");
        }
        if (r.ServerRssBytes is long rss)
        {
            Console.WriteLine($"  server memory       {rss / (1024.0 * 1024):0.0} MiB resident");
        }
        Console.WriteLine($"  result              {(r.Passed ? "PASS: every acknowledged message delivered exactly once" : "FAIL")}");
    }

    private static string Micros(double? value) => value is double v ? v.ToString("0.0", CultureInfo.InvariantCulture) + " µs" : "?";

    private static bool TryParseDuration(string text, out TimeSpan duration)
    {
        duration = default;
        (string number, double scale) = text switch
        {
            _ when text.EndsWith("ms", StringComparison.Ordinal) => (text[..^2], 0.001),
            _ when text.EndsWith('s') => (text[..^1], 1),
            _ when text.EndsWith('m') => (text[..^1], 60),
            _ => (text, 1),
        };
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || value <= 0)
        {
            return false;
        }
        duration = TimeSpan.FromSeconds(value * scale);
        return true;
    }
}
