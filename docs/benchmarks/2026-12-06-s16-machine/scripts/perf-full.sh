#!/bin/bash
# perf-full.sh BUILD OUTDIR [BENCH_EXTRA...]: perf of server (CPU 0) and generator (CPU 1) over 1.5 s of the full storm
B=$1; R=$2; shift 2; mkdir -p $R; D=/tmp/perf-full; rm -rf $D; mkdir -p $D
. $(dirname "$0")/../../2026-12-06-s11-runs/interleaved/bench-env.sh
export DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0
$B/parley server --port 6493 --data $D/data --password-iterations 1000 --max-connections-per-address 20000 $ONE_MACHINE_LOAD --cpu 0 --log-level Warning > /dev/null 2>&1 & SP=$!
sleep 1.5
$B/parley bench --port 6493 --scenario idle --clients 8000 --duration 1s --group x25519 --user-prefix storm --cpu 1 --login-concurrency 1024 "$@" > /dev/null 2>&1
$B/parley bench --port 6493 --scenario idle --clients 8000 --duration 1s --group x25519 --user-prefix storm --cpu 1 --login-concurrency 1024 --server-pid $SP "$@" > $D/bench.out 2>&1 & BP=$!
sleep 0.5; GP=$(pgrep -f "bench --port 6493" | head -1)
for i in $(seq 1 600); do grep -q "warm-up" $D/bench.out && break; sleep 0.05; done
for i in $(seq 1 600); do grep -q "Made\|made the storm's 8,000\|not measured)" $D/bench.out && break; sleep 0.05; done
cat $D/bench.out
perf record -F 2999 -g -p $GP,$SP -o $D/perf.data -- sleep 1.5 > /dev/null 2>&1
wait $BP; kill $SP; wait $SP 2>/dev/null
grep -E "logins|idle clients" $D/bench.out
perf script -i $D/perf.data -F pid,time,ip,sym,dso 2>/dev/null > $D/script.txt
python3 $(dirname "$0")/../../2026-12-06-s13-logins/scripts/perf-summary.py $SP 0 1.5 60 200 < $D/script.txt > $R/full-server.txt
python3 $(dirname "$0")/../../2026-12-06-s13-logins/scripts/perf-summary.py $GP 0 1.5 60 200 < $D/script.txt > $R/full-generator.txt
