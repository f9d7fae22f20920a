#!/bin/bash
# A perf profile of server and generator during the resumed pass of a 12,000-client storm (BENCHMARKS §2 (m)).
# usage: perf-resumed.sh BUILD OUTDIR  -> OUTDIR/resumed-server.txt, OUTDIR/resumed-generator.txt
B=$1; R=$2; mkdir -p $R; D=/tmp/perf-resumed; rm -rf $D; mkdir -p $D
. "$(dirname "$0")/../../2026-12-06-s11-runs/interleaved/bench-env.sh"
export DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0
$B/parley server --port 6491 --data $D/data --password-iterations 1000 --max-connections-per-address 20000 $ONE_MACHINE_LOAD --log-level Warning > /dev/null 2>&1 & SP=$!
sleep 1.5
$B/parley bench --port 6491 --scenario idle --clients 12000 --duration 1s --group x25519 --user-prefix storm > /dev/null 2>&1
$B/parley bench --port 6491 --scenario idle --clients 12000 --duration 1s --group x25519 --user-prefix storm --server-pid $SP > $D/bench.out 2>&1 & BP=$!
sleep 0.5; GP=$(pgrep -f "bench --port 6491" | head -1)
for i in $(seq 1 600); do grep -q reconnecting $D/bench.out && break; sleep 0.05; done
perf record -F 2999 -g -p $GP,$SP -o $D/perf.data -- sleep 2.5 > /dev/null 2>&1
wait $BP; kill $SP; wait $SP 2>/dev/null
grep resumed $D/bench.out
perf script -i $D/perf.data -F pid,time,ip,sym,dso 2>/dev/null > $D/script.txt
python3 "$(dirname "$0")/perf-summary.py" $SP 0 2.5 30 160 < $D/script.txt > $R/resumed-server.txt
python3 "$(dirname "$0")/perf-summary.py" $GP 0 2.5 30 160 < $D/script.txt > $R/resumed-generator.txt
