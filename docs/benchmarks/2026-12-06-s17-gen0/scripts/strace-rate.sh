#!/bin/bash
# strace-rate.sh BUILD OUT RATE: system calls of the server, with their errors (EAGAIN), over 4 s of a 200 x 256 B run at RATE
B=$1; OUT=$2; RATE=$3; D=/tmp/strace-rate; rm -rf $D; mkdir -p $D
. /work/main/docs/benchmarks/2026-12-06-s11-runs/interleaved/bench-env.sh
$B/parley server --port 6498 --data $D/data --password-iterations 1000 --max-connections-per-address 20000 $ONE_MACHINE_LOAD --log-level Warning > /dev/null 2>&1 & SP=$!
for i in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/6498) 2>/dev/null && break; sleep 0.1; done
$B/parley bench --port 6498 --clients 200 --size 256 --duration 5s --rate max > /dev/null 2>&1
$B/parley bench --port 6498 --clients 200 --size 256 --duration 12s --rate $RATE --window 8 --warmup-time 2s --server-pid $SP > $D/bench.out 2>&1 & BP=$!
for i in $(seq 1 600); do grep -q " 4.0 s " $D/bench.out && break; sleep 0.1; done
timeout -s INT 4 strace -c -f -p $SP -o $OUT > /dev/null 2>&1
wait $BP; kill $SP; wait $SP 2>/dev/null
grep -E "delivered  " $D/bench.out >> $OUT
head -14 $OUT
