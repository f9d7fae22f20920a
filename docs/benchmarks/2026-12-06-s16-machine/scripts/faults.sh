#!/bin/bash
# faults.sh BUILD OUT [BENCH_EXTRA...]: page faults and CPU of server (CPU 0) and generator (CPU 1) over the whole measured idle run (both storms)
B=$1; OUT=$2; shift 2; D=/tmp/faults; rm -rf $D; mkdir -p $D
. $(dirname "$0")/../../2026-12-06-s11-runs/interleaved/bench-env.sh 2>/dev/null || . /work/main/docs/benchmarks/2026-12-06-s11-runs/interleaved/bench-env.sh
$B/parley server --port 6495 --data $D/data --password-iterations 1000 --max-connections-per-address 20000 $ONE_MACHINE_LOAD --cpu 0 --log-level Warning > /dev/null 2>&1 & SP=$!
for i in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/6495) 2>/dev/null && break; sleep 0.1; done
$B/parley bench --port 6495 --scenario idle --clients 8000 --duration 1s --group x25519 --user-prefix storm --cpu 1 --login-concurrency 1024 "$@" > /dev/null 2>&1
perf stat -e page-faults,task-clock -o $D/gen.txt -- $B/parley bench --port 6495 --scenario idle --clients 8000 --duration 1s --group x25519 --user-prefix storm --cpu 1 --login-concurrency 1024 --server-pid $SP "$@" > $D/bench.out 2>&1 &
BP=$!; perf stat -e page-faults,task-clock -p $SP -o $D/srv.txt -- sleep 1000 > /dev/null 2>&1 & PP=$!
wait $BP; pkill -f "^sleep 1000"; wait $PP 2>/dev/null; kill $SP; wait $SP 2>/dev/null
{ grep -E "login storm|resumed logins" $D/bench.out; echo "-- generator (whole process)"; grep -E "page-faults|task-clock" $D/gen.txt; echo "-- server (during the measured bench run)"; grep -E "page-faults|task-clock" $D/srv.txt; } > $OUT
cat $OUT
