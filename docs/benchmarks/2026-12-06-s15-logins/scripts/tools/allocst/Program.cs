using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Etlx;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;
// AllocationTick samples of one type (args[1], or all), grouped by the innermost Parley frames of their stacks.
string etlx = TraceLog.CreateFromEventPipeDataFile(args[0]);
using var log = new TraceLog(etlx);
string? type = args.Length > 1 && args[1] != "*" ? args[1] : null;
long per = args.Length > 2 ? long.Parse(args[2]) : 1;
int depth = args.Length > 3 ? int.Parse(args[3]) : 3;
var bytes = new Dictionary<string, long>(); long total = 0;
foreach (var ev in log.Events)
{
    if (ev is not GCAllocationTickTraceData e) continue;
    if (type != null && e.TypeName != type) continue;
    var frames = new List<string>();
    for (var s = ev.CallStack(); s != null; s = s.Caller)
    {
        string m = s.CodeAddress.FullMethodName ?? "?";
        if (Environment.GetEnvironmentVariable("RAW") != "1" && frames.Count == 0 && !m.StartsWith("Parley") ) { if (frames.Count == 0 && s.Caller != null) continue; }
        frames.Add(m.Length > 110 ? m[..110] : m);
        if (frames.Count >= depth) break;
    }
    string key = (type == null ? e.TypeName + " <- " : "") + string.Join(" <- ", frames);
    bytes[key] = bytes.GetValueOrDefault(key) + e.AllocationAmount64; total += e.AllocationAmount64;
}
Console.WriteLine($"total {total:N0} B, per unit {(double)total / per:F0} B");
foreach (var (k, b) in bytes.OrderByDescending(kv => kv.Value).Take(40)) Console.WriteLine($"{b * 100.0 / total,5:F1}% {(double)b / per,7:F0} B  {k}");
