#!/bin/bash
# srv-syscalls-half.sh BUILD [RATE]: the server's system calls by name over 5 s of a paced run (200 clients x 256 B; strace -c, counts only)
B=$1; RATE=${2:-40000}; D=/tmp/srvsch; rm -rf $D; mkdir -p $D
. /work/main/docs/benchmarks/2026-12-06-s11-runs/interleaved/bench-env.sh
$B/parley server --port 6497 --data $D/data --password-iterations 1000 --max-connections-per-address 20000 $ONE_MACHINE_LOAD --log-level Warning > /dev/null 2>&1 & SP=$!
for i in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/6497) 2>/dev/null && break; sleep 0.1; done
$B/parley bench --port 6497 --clients 200 --size 256 --duration 3s --rate max > /dev/null 2>&1
$B/parley bench --port 6497 --clients 200 --size 256 --duration 12s --rate $RATE --window 8 > $D/bench.out 2>&1 & BP=$!
sleep 4
strace -f -c -p $SP -o $D/strace.txt & ST=$!
sleep 5; kill -INT $ST; wait $ST 2>/dev/null; wait $BP; kill $SP; wait $SP 2>/dev/null
grep -E "delivered  |CPU per" $D/bench.out; head -25 $D/strace.txt
