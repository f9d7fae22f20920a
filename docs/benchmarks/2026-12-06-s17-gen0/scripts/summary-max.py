# summary-max.py DIR: one line per ab-max.sh report (rate, loss, latency, CPU per message), then medians per label
import json, os, sys, statistics, collections
d = sys.argv[1]; per = collections.defaultdict(list)
for f in sorted(os.listdir(d), key=lambda n: (n.rsplit('-', 1)[-1], n)):
    if not f.endswith('.json'): continue
    r = json.load(open(os.path.join(d, f))); c = r['Cpu']; l = r['Latency']; label = f.rsplit('-', 1)[0]
    per[label].append((r['DeliveredPerSecond'], c['ServerMicrosecondsPerMessage'], c['GeneratorMicrosecondsPerMessage'], l['P99Ms']))
    print(f[:-5], 'rate', round(r['DeliveredPerSecond']), 'lost', r['Lost'], 'p50', l['P50Ms'], 'p99', l['P99Ms'], 'srv', round(c['ServerMicrosecondsPerMessage'], 2), 'gen', round(c['GeneratorMicrosecondsPerMessage'], 2))
for label, runs in per.items():
    m = lambda i: statistics.median(x[i] for x in runs)
    print(f'{label}: {len(runs)} runs, median rate {m(0):.0f}, server {m(1):.2f} us, generator {m(2):.2f} us, p99 {m(3):.1f} ms; server range {min(x[1] for x in runs):.2f} - {max(x[1] for x in runs):.2f}')
