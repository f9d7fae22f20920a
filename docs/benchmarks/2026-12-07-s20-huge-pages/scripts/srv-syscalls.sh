#!/bin/bash
# srv-syscalls.sh BUILD N : the server's system calls by name over the resumed pass of an N-client idle storm (strace -c; slow, counts only)
B=$1; N=$2; D=/tmp/srvsc; rm -rf $D; mkdir -p $D
. /work/main/docs/benchmarks/2026-12-06-s11-runs/interleaved/bench-env.sh
$B/parley server --port 6493 --data $D/data --password-iterations 1000 --max-connections-per-address 20000 $ONE_MACHINE_LOAD --cpu 0 --log-level Warning > /dev/null 2>&1 & SP=$!
for i in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/6493) 2>/dev/null && break; sleep 0.1; done
$B/parley bench --port 6493 --scenario idle --clients $N --duration 1s --group x25519 --user-prefix storm --cpu 1 > /dev/null 2>&1
$B/parley bench --port 6493 --scenario idle --clients $N --duration 1s --group x25519 --user-prefix storm --cpu 1 > $D/bench.out 2>&1 & BP=$!
for i in $(seq 1 1200); do grep -q reconnecting $D/bench.out 2>/dev/null && break; sleep 0.05; done
strace -f -c -p $SP -o $D/strace.txt & ST=$!
for i in $(seq 1 2400); do grep -q "resumed logins" $D/bench.out 2>/dev/null && break; sleep 0.05; done
kill -INT $ST; wait $ST 2>/dev/null; wait $BP; kill $SP; wait $SP 2>/dev/null
grep -E "resumed" $D/bench.out; head -40 $D/strace.txt
