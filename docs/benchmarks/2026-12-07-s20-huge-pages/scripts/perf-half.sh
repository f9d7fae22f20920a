#!/bin/bash
# perf-half.sh BUILD OUTDIR [RATE]: perf profiles of server and generator during a paced run (200 clients x 256 B, RATE msg/s, default 40000)
B=$1; R=$2; RATE=${3:-40000}; mkdir -p $R; D=/tmp/perf-half; rm -rf $D; mkdir -p $D
. /work/main/docs/benchmarks/2026-12-06-s11-runs/interleaved/bench-env.sh
export DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0
$B/parley server --port 6496 --data $D/data --password-iterations 1000 --max-connections-per-address 20000 $ONE_MACHINE_LOAD --log-level Warning > /dev/null 2>&1 & SP=$!
for i in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/6496) 2>/dev/null && break; sleep 0.1; done
$B/parley bench --port 6496 --clients 200 --size 256 --duration 5s --rate max > /dev/null 2>&1
$B/parley bench --port 6496 --clients 200 --size 256 --duration 15s --rate $RATE --window 8 --warmup-time 3s --server-pid $SP > $D/bench.out 2>&1 & BP=$!
sleep 1; GP=$(pgrep -f "bench --port 6496 --clients 200 --size 256 --duration 15s" | head -1)
sleep 7
perf record -F 2999 -g -p $GP,$SP -o $D/perf.data -- sleep 3 > /dev/null 2>&1
wait $BP; kill $SP; wait $SP 2>/dev/null
grep -E "delivered|latency|CPU per|cores" $D/bench.out | tee $R/bench.txt
perf script -i $D/perf.data -F pid,time,ip,sym,dso 2>/dev/null > $D/script.txt
python3 /work/main/docs/benchmarks/2026-12-06-s13-logins/scripts/perf-summary.py $SP 0 3 60 200 < $D/script.txt > $R/server.txt
python3 /work/main/docs/benchmarks/2026-12-06-s13-logins/scripts/perf-summary.py $GP 0 3 60 200 < $D/script.txt > $R/generator.txt
