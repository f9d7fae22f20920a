// How much a workstation-GC process allocates between gen0 collections on this machine (BENCHMARKS §2 (p)).
long total = 0; object? keep = null;
int before = GC.CollectionCount(0);
while (total < (4L << 30)) { keep = new byte[1024]; total += 1024 + 24; }
GC.KeepAlive(keep);
int n = GC.CollectionCount(0) - before;
var info = GC.GetGCMemoryInfo(GCKind.Ephemeral);
Console.WriteLine($"gen0 collections per 4 GiB: {n}  => {(n > 0 ? (4L << 30) / n / 1024.0 / 1024 : 0):0.0} MiB between collections; gen0 size before last: {info.GenerationInfo[0].SizeBeforeBytes / 1048576.0:0.0} MiB");
