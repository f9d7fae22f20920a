# runs.py DIR...: one line per ab-max.sh report (JSON), in the order the rounds ran, then ranges per label
import json, glob, sys, statistics
rows = {}
for d in sys.argv[1:]:
    files = sorted(glob.glob(f'{d}/*.json'), key=lambda f: (int(f.rsplit('-', 1)[1].split('.')[0]), f))
    for f in files:
        label = f.split('/')[-1].rsplit('-', 1)[0]; r = json.load(open(f)); c = r['Cpu']; l = r['Latency']
        x = (round(r['DeliveredPerSecond']), l['P99Ms'], c['ServerMicrosecondsPerMessage'], c['GeneratorMicrosecondsPerMessage'], c['GeneratorBytesAllocatedPerMessage'], r['LateSends'], r['Lost'])
        rows.setdefault(label, []).append(x)
        print(f"{d.split('/')[-1]}/{f.split('/')[-1]:12s} msg/s {x[0]:7d}  p99 {x[1]:7.1f} ms  server {x[2]:5.2f} us  generator {x[3]:5.2f} us  {x[4]:6.0f} B/msg  late {x[5]:6d}  lost {x[6]}")
for label, xs in rows.items():
    print(f"== {label}, {len(xs)} runs")
    for i, k in enumerate(['msg/s', 'p99 ms', 'server us', 'generator us', 'generator B/msg', 'late sends']):
        v = [x[i] for x in xs]
        print(f"   {k:16s} {min(v):10.1f} - {max(v):10.1f}, median {statistics.median(v):10.1f}")
    print(f"   p99 under 50 ms: {sum(1 for x in xs if x[1] < 50)} of {len(xs)}")
