using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;
// GC count by generation and type, and total suspension (pause) time, between two timestamps (seconds from trace start).
double from = args.Length > 1 ? double.Parse(args[1]) : 0, to = args.Length > 2 ? double.Parse(args[2]) : 1e9;
var counts = new Dictionary<string, int>(); double pause = 0, suspendStart = -1, t0 = -1; long promoted = 0;
var starts = new List<double>(); var bucket = new SortedDictionary<int,(int n,double p)>();
using (var source = new EventPipeEventSource(args[0]))
{
    source.Clr.GCStart += e => { double t = e.TimeStampRelativeMSec / 1000; if (t < from || t > to) return; string k = $"gen{e.Depth} {e.Type} {e.Reason}"; counts[k] = counts.GetValueOrDefault(k) + 1; starts.Add(t); };
    source.Clr.GCSuspendEEStart += e => suspendStart = e.TimeStampRelativeMSec;
    source.Clr.GCRestartEEStop += e => { double t = e.TimeStampRelativeMSec / 1000; if (suspendStart >= 0 && t >= from && t <= to) { pause += e.TimeStampRelativeMSec - suspendStart; int b=(int)((t-from)*2); var x=bucket.GetValueOrDefault(b); bucket[b]=(x.n+1,x.p+e.TimeStampRelativeMSec - suspendStart);} suspendStart = -1; };
    source.Clr.GCHeapStats += e => { double t = e.TimeStampRelativeMSec / 1000; if (t >= from && t <= to) promoted += e.TotalPromotedSize0 + e.TotalPromotedSize1; };
    source.Process();
}
foreach (var (k, v) in counts.OrderByDescending(kv => kv.Value)) Console.WriteLine($"{v,6} {k}");
foreach (var (b,(n,p)) in bucket) Console.WriteLine($"  t+{b/2.0:F1}s {n} GCs {p:F0} ms"); Console.WriteLine($"pauses {pause:F0} ms, promoted gen0+gen1 {promoted / 1e6:F1} MB, GCs {starts.Count}, first {(starts.Count > 0 ? starts[0] : 0):F1}s last {(starts.Count > 0 ? starts[^1] : 0):F1}s");
