#!/bin/bash
# sysc.sh BUILD OUT : system calls of the server (CPU 0) in the first 1.2 s of the resumed pass of an 8,000-client storm
# (the tracepoints slow it: divide by accept4 for per-login counts, not by the storm's rate)
B=$1; OUT=$2; D=/tmp/sysc; rm -rf $D; mkdir -p $D
. $(dirname "$0")/../../2026-12-06-s11-runs/interleaved/bench-env.sh
$B/parley server --port 6492 --data $D/data --password-iterations 1000 --max-connections-per-address 20000 $ONE_MACHINE_LOAD --cpu 0 --log-level Warning > /dev/null 2>&1 & SP=$!
for i in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/6492) 2>/dev/null && break; sleep 0.1; done
$B/parley bench --port 6492 --scenario idle --clients 8000 --duration 1s --group x25519 --user-prefix storm --cpu 1 --login-concurrency 1024 > /dev/null 2>&1
$B/parley bench --port 6492 --scenario idle --clients 8000 --duration 1s --group x25519 --user-prefix storm --cpu 1 --login-concurrency 1024 --server-pid $SP > $D/bench.out 2>&1 & BP=$!
for i in $(seq 1 600); do grep -q reconnecting $D/bench.out && break; sleep 0.02; done
perf stat -e 'syscalls:sys_enter_*' -p $SP -o $D/stat.txt -- sleep 1.2 > /dev/null 2>&1
wait $BP; kill $SP; wait $SP 2>/dev/null
grep -i resumed $D/bench.out | head -3
grep -v " 0 " $D/stat.txt | grep syscalls | sort -rn | head -25 > $OUT
cat $OUT
