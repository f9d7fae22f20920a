#!/bin/bash
# fault-stacks.sh BUILD OUTDIR: where the generator (and server) take page faults during the resumed pass of an 8,000-client storm.
B=$1; R=$2; mkdir -p $R; D=/tmp/perf-faults; rm -rf $D; mkdir -p $D
. /work/main/docs/benchmarks/2026-12-06-s11-runs/interleaved/bench-env.sh
export DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0
$B/parley server --port 6492 --data $D/data --password-iterations 1000 --max-connections-per-address 20000 $ONE_MACHINE_LOAD --cpu 0 --log-level Warning > /dev/null 2>&1 & SP=$!
sleep 1.5
$B/parley bench --port 6492 --scenario idle --clients 8000 --duration 1s --group x25519 --user-prefix storm --cpu 1 --login-concurrency 1024 > /dev/null 2>&1
$B/parley bench --port 6492 --scenario idle --clients 8000 --duration 1s --group x25519 --user-prefix storm --cpu 1 --login-concurrency 1024 --server-pid $SP > $D/bench.out 2>&1 & BP=$!
sleep 0.5; GP=$(pgrep -f "bench --port 6492" | head -1)
for i in $(seq 1 600); do grep -q reconnecting $D/bench.out && break; sleep 0.05; done
perf record -e page-faults -c 1 -g -p $GP,$SP -o $D/perf.data -- sleep 1.5 > /dev/null 2>&1
wait $BP; kill $SP; wait $SP 2>/dev/null
grep -E "storm|resumed" $D/bench.out > $R/bench.txt
perf report -i $D/perf.data --pid $GP --no-children --stdio -G --percent-limit 2 2>/dev/null | head -300 > $R/generator-faults.txt
perf report -i $D/perf.data --pid $SP --no-children --stdio -G --percent-limit 2 2>/dev/null | head -200 > $R/server-faults.txt
