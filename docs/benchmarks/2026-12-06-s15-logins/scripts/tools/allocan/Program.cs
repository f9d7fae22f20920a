using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Parsers;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;
// Sums AllocationTick events (one per ~100 KB allocated) by type: an allocation profile by sampling.
var bytes = new Dictionary<string, long>();
long total = 0;
using (var source = new EventPipeEventSource(args[0]))
{
    source.Clr.GCAllocationTick += (GCAllocationTickTraceData e) =>
    {
        string name = e.TypeName ?? "?";
        bytes[name] = bytes.GetValueOrDefault(name) + e.AllocationAmount64;
        total += e.AllocationAmount64;
    };
    source.Process();
}
long messages = args.Length > 1 ? long.Parse(args[1]) : 1;
Console.WriteLine($"total sampled {total:N0} B; per message {(double)total / messages:F0} B");
foreach (var (name, b) in bytes.OrderByDescending(kv => kv.Value).Take(int.Parse(args.Length > 2 ? args[2] : "30")))
{
    Console.WriteLine($"{b * 100.0 / total,6:F1}%  {(double)b / messages,8:F0} B/msg  {name}");
}
