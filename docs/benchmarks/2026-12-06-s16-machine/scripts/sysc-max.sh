#!/bin/bash
# sysc-max.sh BUILD OUT: the server's system calls over 5 s of a --rate max run (200 clients x 256 B); divide by the messages delivered in those 5 s
B=$1; OUT=$2; D=/tmp/sysc-max; rm -rf $D; mkdir -p $D
. $(dirname "$0")/../../2026-12-06-s11-runs/interleaved/bench-env.sh
$B/parley server --port 6494 --data $D/data --password-iterations 1000 --max-connections-per-address 20000 $ONE_MACHINE_LOAD --log-level Warning > /dev/null 2>&1 & SP=$!
for i in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/6494) 2>/dev/null && break; sleep 0.1; done
$B/parley bench --port 6494 --clients 200 --size 256 --duration 5s --rate max > /dev/null 2>&1
$B/parley bench --port 6494 --clients 200 --size 256 --duration 15s --rate max --warmup-time 3s --server-pid $SP > $D/bench.out 2>&1 & BP=$!
for i in $(seq 1 600); do grep -q " 5.0 s " $D/bench.out && break; sleep 0.1; done
perf stat -e 'syscalls:sys_enter_*' -e 'context-switches' -p $SP -o $D/stat.txt -- sleep 5 > /dev/null 2>&1
grep " 1[01].0 s " $D/bench.out
wait $BP; kill $SP; wait $SP 2>/dev/null
grep -E "delivered  |CPU per" $D/bench.out
(grep -E "delivered" $D/bench.out | grep -E " (5|6|7|8|9|10)\.0 s " ; grep -v " 0 " $D/stat.txt | grep -E "syscalls|context" | sort -rn | head -20) > $OUT
cat $OUT
