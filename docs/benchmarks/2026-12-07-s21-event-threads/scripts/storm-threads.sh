#!/bin/bash
# storm-threads.sh BUILD LABEL OUT : the server's CPU time and context switches by thread name over the resumed pass of
# an 8,000-client storm (from "reconnecting" to its result line), read from /proc/PID/task/*/{stat,status} (no tracing);
# server on CPU 0, generator (from /work/out-s20f) on CPU 1.
B=$1; L=$2; OUT=$3; D=/tmp/sthr-$L; rm -rf $D; mkdir -p $D; G=${GEN:-/work/out-s20f}
. /work/main/docs/benchmarks/2026-12-06-s11-runs/interleaved/bench-env.sh
$B/parley server --port 6497 --data $D/data --password-iterations 1000 --max-connections-per-address 20000 $ONE_MACHINE_LOAD --cpu 0 --log-level Warning > /dev/null 2>&1 & SP=$!
for i in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/6497) 2>/dev/null && break; sleep 0.1; done
$G/parley bench --port 6497 --scenario idle --clients 8000 --duration 1s --group x25519 --user-prefix storm --cpu 1 --login-concurrency 1024 > /dev/null 2>&1
snap() { for t in /proc/$SP/task/*; do n=$(cat $t/comm 2>/dev/null); s=($(sed 's/.*) //' $t/stat 2>/dev/null)); v=$(awk '/^voluntary_ctxt/{print $2}' $t/status 2>/dev/null); nv=$(awk '/^nonvoluntary_ctxt/{print $2}' $t/status 2>/dev/null); echo "${t##*/}|$n|${s[11]}|${s[12]}|$v|$nv"; done; }
$G/parley bench --port 6497 --scenario idle --clients 8000 --duration 1s --group x25519 --user-prefix storm --cpu 1 --login-concurrency 1024 --server-pid $SP > $D/bench.out 2>&1 & BP=$!
for i in $(seq 1 1200); do grep -q reconnecting $D/bench.out 2>/dev/null && break; sleep 0.02; done
snap > $D/before.txt
for i in $(seq 1 2400); do grep -q "resumed logins" $D/bench.out 2>/dev/null && break; sleep 0.02; done
snap > $D/after.txt
wait $BP; kill $SP; wait $SP 2>/dev/null
{ echo "== $L"; grep -E "resumed logins" $D/bench.out
python3 - $D/before.txt $D/after.txt <<'PY'
import sys, collections
def read(p):
    r = {}
    for line in open(p):
        tid, name, u, s, v, nv = line.rstrip('\n').split('|')
        if u: r[tid] = (name, int(u), int(s), int(v or 0), int(nv or 0))
    return r
a, b = read(sys.argv[1]), read(sys.argv[2])
by = collections.OrderedDict()
for tid, (name, u, s, v, nv) in b.items():
    u0, s0, v0, nv0 = a.get(tid, (name, 0, 0, 0, 0))[1:]
    t = by.setdefault(name, [0, 0, 0, 0, 0]); t[0] += 1; t[1] += (u - u0 + s - s0) * 10; t[2] += v - v0; t[3] += nv - nv0
tot = [0, 0, 0]
for name, (n, ms, v, nv, _) in sorted(by.items(), key=lambda kv: -kv[1][1]):
    if ms or v or nv: print('  %-16s threads %2d  cpu %6d ms  switches %6d voluntary %6d involuntary' % (name, n, ms, v, nv))
    tot[0] += ms; tot[1] += v; tot[2] += nv
print('  %-16s           cpu %6d ms  switches %6d voluntary %6d involuntary (per login: %.2f + %.2f)' % ('all', tot[0], tot[1], tot[2], tot[1] / 8000, tot[2] / 8000))
PY
} | tee -a $OUT
