#!/bin/bash
# pf-max.sh BUILD OUT [ENV...]: the server's page faults, CPU and system calls over 5 s of a run of 200 clients x 256 B at --rate ${RATE:-max}
B=$1; OUT=$2; shift 2; D=/tmp/pf-max; rm -rf $D; mkdir -p $D
. /work/main/docs/benchmarks/2026-12-06-s11-runs/interleaved/bench-env.sh
env "$@" $B/parley server --port 6494 --data $D/data --password-iterations 1000 --max-connections-per-address 20000 $ONE_MACHINE_LOAD --log-level Warning > /dev/null 2>&1 & SP=$!
for i in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/6494) 2>/dev/null && break; sleep 0.1; done
$B/parley bench --port 6494 --clients 200 --size 256 --duration 5s --rate max > /dev/null 2>&1
$B/parley bench --port 6494 --clients 200 --size 256 --duration 15s --rate ${RATE:-max} --window 8 --warmup-time 3s --server-pid $SP > $D/bench.out 2>&1 & BP=$!
for i in $(seq 1 600); do grep -q " 5.0 s " $D/bench.out && break; sleep 0.1; done
perf stat -e page-faults,task-clock,context-switches,syscalls:sys_enter_madvise,syscalls:sys_enter_recvfrom,syscalls:sys_enter_sendto,syscalls:sys_enter_futex,syscalls:sys_enter_epoll_wait -p $SP -o $D/stat.txt -- sleep 5 > /dev/null 2>&1
wait $BP; kill $SP; wait $SP 2>/dev/null
A=$(grep " 5.0 s " $D/bench.out | grep -oP 'delivered\s+\K[0-9,]+' | tr -d ,); Z=$(grep " 10.0 s " $D/bench.out | grep -oP 'delivered\s+\K[0-9,]+' | tr -d ,)
{ echo "env: $*"; grep -E "delivered  |CPU per" $D/bench.out; echo "delivered in the 5 s window: $((Z-A))"; grep -E "page-faults|task-clock|context|syscalls" $D/stat.txt | awk -v n=$((Z-A)) '{gsub(",","",$1); printf "%-40s %12s  %.3f per msg\n", $2, $1, $1/n}'; } > $OUT
cat $OUT
