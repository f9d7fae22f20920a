#!/bin/bash
# syscall-stacks.sh BUILD OUTDIR FILTER: perf stacks of the server's system calls matching FILTER (e.g. 'id == 39' for getpid) during the resumed pass of an 8,000-client storm
B=$1; R=$2; F=$3; mkdir -p $R; D=/tmp/perf-sc; rm -rf $D; mkdir -p $D
. /work/main/docs/benchmarks/2026-12-06-s11-runs/interleaved/bench-env.sh
export DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0
$B/parley server --port 6494 --data $D/data --password-iterations 1000 --max-connections-per-address 20000 $ONE_MACHINE_LOAD --cpu 0 --log-level Warning > /dev/null 2>&1 & SP=$!
sleep 1.5
$B/parley bench --port 6494 --scenario idle --clients 8000 --duration 1s --group x25519 --user-prefix storm --cpu 1 --login-concurrency 1024 > /dev/null 2>&1
$B/parley bench --port 6494 --scenario idle --clients 8000 --duration 1s --group x25519 --user-prefix storm --cpu 1 --login-concurrency 1024 --server-pid $SP > $D/bench.out 2>&1 & BP=$!
for i in $(seq 1 600); do grep -q reconnecting $D/bench.out 2>/dev/null && break; sleep 0.05; done
perf record -e raw_syscalls:sys_enter --filter "$F" -g -p $SP -o $D/perf.data -- sleep 1.5 > /dev/null 2>&1
wait $BP; kill $SP; wait $SP 2>/dev/null
grep -E "resumed" $D/bench.out > $R/bench.txt
perf report -i $D/perf.data --no-children --stdio -G --percent-limit 3 2>/dev/null | head -150 > $R/stacks.txt
