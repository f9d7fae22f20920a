using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Parsers;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;
// Prints, per 100 ms of the trace: methods jitted by tier, and the tiering events (pause/resume/background jit).
string path = args[0];
using EventPipeEventSource source = new(path);
var buckets = new SortedDictionary<long, Dictionary<string, int>>();
void Count(double ms, string what) { long b = (long)(ms / 100); if (!buckets.TryGetValue(b, out var d)) buckets[b] = d = new(); d[what] = d.GetValueOrDefault(what) + 1; }
var tiering = new List<string>();
string[] watch = args.Skip(1).ToArray();
source.Clr.MethodLoadVerbose += e =>
{
    Count(e.TimeStampRelativeMSec, e.OptimizationTier.ToString());
    string name = e.MethodNamespace + "::" + e.MethodName;
    if (watch.Any(w => name.Contains(w, StringComparison.Ordinal))) Console.WriteLine($"   {e.TimeStampRelativeMSec,10:F1} ms {e.OptimizationTier,-28} {name}");
};
source.AllEvents += e =>
{
    if (e.EventName is { } n && n.Contains("Tiered", StringComparison.Ordinal)) Count(e.TimeStampRelativeMSec, n);
};
source.Dynamic.All += e =>
{
    if (e.ProviderName == "Microsoft-Windows-DotNETRuntime" && e.EventName.Contains("TieredCompilation", StringComparison.Ordinal))
    {
        Count(e.TimeStampRelativeMSec, e.EventName.Replace("TieredCompilation/", "TC/"));
        if (tiering.Count < 100000) tiering.Add($"{e.TimeStampRelativeMSec,10:F1} {e.EventName} {string.Join(" ", e.PayloadNames.Select(n => n + "=" + e.PayloadByName(n)))}");
    }
};
source.Process();
foreach (var (b, d) in buckets)
    Console.WriteLine($"{b * 100,7} ms " + string.Join(" ", d.OrderBy(p => p.Key).Select(p => $"{p.Key}={p.Value}")));
File.WriteAllLines(path + ".tiering.txt", tiering);
