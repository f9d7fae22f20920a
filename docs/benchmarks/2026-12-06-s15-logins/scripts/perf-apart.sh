#!/bin/bash
# A perf profile of server (CPU 0) and generator (CPU 1) during the first 1.5 s of the resumed pass of an 8,000-client storm (BENCHMARKS §2 (o)).
# usage: perf-apart.sh BUILD OUTDIR  -> OUTDIR/resumed-server.txt, OUTDIR/resumed-generator.txt; then
#        python3 coreclr-callers.py SERVER_PID 1 < /tmp/perf-resumed/script.txt   (the runtime's samples by first managed caller)
B=$1; R=$2; mkdir -p $R; D=/tmp/perf-resumed; rm -rf $D; mkdir -p $D
. $(dirname "$0")/../../2026-12-06-s11-runs/interleaved/bench-env.sh
export DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0
$B/parley server --port 6491 --data $D/data --password-iterations 1000 --max-connections-per-address 20000 $ONE_MACHINE_LOAD --cpu 0 --log-level Warning > /dev/null 2>&1 & SP=$!
sleep 1.5
$B/parley bench --port 6491 --scenario idle --clients 8000 --duration 1s --group x25519 --user-prefix storm --cpu 1 --login-concurrency 1024 > /dev/null 2>&1
$B/parley bench --port 6491 --scenario idle --clients 8000 --duration 1s --group x25519 --user-prefix storm --cpu 1 --login-concurrency 1024 --server-pid $SP > $D/bench.out 2>&1 & BP=$!
sleep 0.5; GP=$(pgrep -f "bench --port 6491" | head -1)
for i in $(seq 1 600); do grep -q reconnecting $D/bench.out && break; sleep 0.05; done
perf record -F 2999 -g -p $GP,$SP -o $D/perf.data -- sleep 1.5 > /dev/null 2>&1
wait $BP; kill $SP; wait $SP 2>/dev/null
grep resumed $D/bench.out
perf script -i $D/perf.data -F pid,time,ip,sym,dso 2>/dev/null > $D/script.txt
python3 $(dirname "$0")/../../2026-12-06-s13-logins/scripts/perf-summary.py $SP 0 1.5 60 200 < $D/script.txt > $R/resumed-server.txt
python3 $(dirname "$0")/../../2026-12-06-s13-logins/scripts/perf-summary.py $GP 0 1.5 60 200 < $D/script.txt > $R/resumed-generator.txt
