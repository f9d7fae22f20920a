#!/bin/bash
# fault-series.sh BUILD OUT: the generator's page faults every 200 ms over a measured 8,000-client idle run, with its progress lines timestamped
B=$1; OUT=$2; D=/tmp/fseries; rm -rf $D; mkdir -p $D
. /work/main/docs/benchmarks/2026-12-06-s11-runs/interleaved/bench-env.sh
$B/parley server --port 6493 --data $D/data --password-iterations 1000 --max-connections-per-address 20000 $ONE_MACHINE_LOAD --cpu 0 --log-level Warning > /dev/null 2>&1 & SP=$!
for i in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/6493) 2>/dev/null && break; sleep 0.1; done
$B/parley bench --port 6493 --scenario idle --clients 8000 --duration 1s --group x25519 --user-prefix storm --cpu 1 --login-concurrency 1024 > /dev/null 2>&1
T0=$(date +%s.%N)
$B/parley bench --port 6493 --scenario idle --clients 8000 --duration 1s --group x25519 --user-prefix storm --cpu 1 --login-concurrency 1024 --server-pid $SP 2>&1 | while IFS= read -r l; do echo "$(echo "$(date +%s.%N) - $T0" | bc) $l"; done > $D/bench.out & 
sleep 0.2; GP=$(pgrep -f "bench --port 6493" | head -1)
perf stat -I 200 -e page-faults -p $GP -o $D/series.txt > /dev/null 2>&1 & PP=$!
while kill -0 $GP 2>/dev/null; do sleep 0.2; done; kill -INT $PP; wait $PP 2>/dev/null; kill $SP; wait $SP 2>/dev/null
{ cat $D/bench.out; echo "-- faults every 200 ms (time from perf start, ~0.2 s after bench start)"; grep -v "^#" $D/series.txt | awk '{printf "%s %s\n",$1,$2}'; } > $OUT
