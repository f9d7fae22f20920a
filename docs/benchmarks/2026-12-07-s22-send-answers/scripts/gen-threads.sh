#!/bin/bash
# gen-threads.sh BUILD LABEL [RATE] [SECONDS] [BENCH-EXTRA]: CPU time and voluntary context switches of server and
# generator by thread name over a window of a paced run (from /proc, no tracing). Messages in the window are taken as
# RATE x the window's length (the paced run keeps its timetable when it is not late; check "late" in run.txt).
B=$1; L=$2; RATE=${3:-40000}; W=${4:-5}; X=$5; G=${GEN:-$B}
. /work/main/docs/benchmarks/2026-12-06-s11-runs/interleaved/bench-env.sh
D=/tmp/genthr-$L; rm -rf $D; mkdir -p $D
$B/parley server --port 6107 --data $D/data --password-iterations 1000 --max-connections-per-address 20000 $ONE_MACHINE_LOAD --log-level Warning > $D/server.log 2>&1 & SP=$!
for i in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/6107) 2>/dev/null && break; sleep 0.1; done
$G/parley bench --port 6107 --clients 200 --size 256 --duration $((W+10))s --rate $RATE --warmup-time 2s $X > $D/run.txt 2>&1 & GP=$!
cat > $D/snap.py <<'PY'
import os, sys, time
out = []
for p, f in zip(sys.argv[1::2], sys.argv[2::2]):
    lines = [f"time|{time.time()}"]
    for t in os.listdir(f"/proc/{p}/task"):
        try:
            st = open(f"/proc/{p}/task/{t}/stat").read(); name = st[st.index("(") + 1:st.rindex(")")]; x = st[st.rindex(")") + 2:].split()
            v = [l.split()[1] for l in open(f"/proc/{p}/task/{t}/status") if l.startswith("voluntary_ctxt")][0]
            lines.append(f"{t}|{name}|{x[11]}|{x[12]}|{v}")
        except (OSError, IndexError):
            pass
    out.append((f, lines))
for f, lines in out:
    open(f, "w").write("\n".join(lines) + "\n")
PY
sleep 7; python3 $D/snap.py $GP $D/g0 $SP $D/s0; sleep $W; python3 $D/snap.py $GP $D/g1 $SP $D/s1
wait $GP; kill $SP; wait $SP 2>/dev/null
echo "== $L rate $RATE"; grep -E "^  delivered|latency|CPU per" $D/run.txt
for p in g s; do python3 - $D/${p}0 $D/${p}1 $RATE $p <<'PY'
import sys, collections
def read(p):
    r = {}
    for line in open(p):
        k = line.rstrip('\n').split('|')
        if k[0] == 'time': r['_t'] = float(k[1]); continue
        r[k[0]] = (k[1], int(k[2]), int(k[3]), int(k[4]))
    return r
a, b = read(sys.argv[1]), read(sys.argv[2]); secs = b.pop('_t') - a.pop('_t'); n = float(sys.argv[3]) * secs
by = collections.defaultdict(lambda: [0, 0, 0])
for tid, (name, u, s, v) in b.items():
    u0, s0, v0 = a.get(tid, (name, 0, 0, 0))[1:]
    t = by[name]; t[0] += 1; t[1] += (u - u0 + s - s0) * 10; t[2] += v - v0
print(f"  {'generator' if sys.argv[4] == 'g' else 'server'} over {secs:.2f} s: thread, count, CPU us/msg, voluntary switches/msg")
tot = [0, 0]
for name, (c, ms, v) in sorted(by.items(), key=lambda x: -x[1][1]):
    if ms or v: print(f"    {name:18s} {c:3d} {ms * 1000 / n:7.2f} {v / n:7.3f}")
    tot[0] += ms; tot[1] += v
print(f"    {'all':18s}     {tot[0] * 1000 / n:7.2f} {tot[1] / n:7.3f}   cores {tot[0] / 1000 / secs:.2f}")
PY
done
