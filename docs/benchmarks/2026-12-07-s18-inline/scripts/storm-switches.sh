#!/bin/bash
# storm-switches.sh BUILD LABEL OUT : the server's context switches, system calls and CPU over the resumed pass
# of an 8,000-client storm (from "reconnecting" to its result line), server on CPU 0, generator on CPU 1.
B=$1; L=$2; OUT=$3; D=/tmp/ssw-$L; rm -rf $D; mkdir -p $D
. /work/main/docs/benchmarks/2026-12-06-s11-runs/interleaved/bench-env.sh
$B/parley server --port 6492 --data $D/data --password-iterations 1000 --max-connections-per-address 20000 $ONE_MACHINE_LOAD --cpu 0 --log-level Warning > /dev/null 2>&1 & SP=$!
for i in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/6492) 2>/dev/null && break; sleep 0.1; done
$B/parley bench --port 6492 --scenario idle --clients 8000 --duration 1s --group x25519 --user-prefix storm --cpu 1 --login-concurrency 1024 > /dev/null 2>&1
$B/parley bench --port 6492 --scenario idle --clients 8000 --duration 1s --group x25519 --user-prefix storm --cpu 1 --login-concurrency 1024 --server-pid $SP > $D/bench.out 2>&1 & BP=$!
for i in $(seq 1 1200); do grep -q reconnecting $D/bench.out 2>/dev/null && break; sleep 0.05; done
perf stat -e context-switches,cpu-migrations,task-clock,raw_syscalls:sys_enter -p $SP -o $D/stat.txt -- sleep 60 > /dev/null 2>&1 & PS=$!
for i in $(seq 1 1200); do grep -q "resumed logins" $D/bench.out 2>/dev/null && break; sleep 0.05; done
kill -INT $PS; wait $PS 2>/dev/null; wait $BP; kill $SP; wait $SP 2>/dev/null
{ echo "== $L"; grep -E "logins|resumed" $D/bench.out; grep -E "context|migr|task-clock|sys_enter" $D/stat.txt; } | tee -a $OUT
