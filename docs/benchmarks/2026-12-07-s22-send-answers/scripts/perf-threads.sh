#!/bin/bash
# perf-threads.sh BUILD LABEL [RATE]: perf profile (call graphs) of server and generator during a paced run; writes $D/script.txt with comm,tid
B=$1; L=$2; RATE=${3:-20000}; G=${GEN:-$B}
. /work/main/docs/benchmarks/2026-12-06-s11-runs/interleaved/bench-env.sh
export DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0
D=/tmp/perfthr-$L; rm -rf $D; mkdir -p $D
$B/parley server --port 6108 --data $D/data --password-iterations 1000 --max-connections-per-address 20000 $ONE_MACHINE_LOAD --log-level Warning > $D/server.log 2>&1 & SP=$!
for i in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/6108) 2>/dev/null && break; sleep 0.1; done
$G/parley bench --port 6108 --clients 200 --size 256 --duration 14s --rate $RATE --warmup-time 2s > $D/run.txt 2>&1 & GP=$!
sleep 7
perf record -F 1999 -g -p $GP,$SP -o $D/perf.data -- sleep 3 > /dev/null 2>&1
wait $GP; kill $SP; wait $SP 2>/dev/null
echo "$SP $GP" > $D/pids
perf script -i $D/perf.data -F pid,comm,tid,ip,sym,dso 2>/dev/null > $D/script.txt
grep -E "^  delivered|latency|CPU per" $D/run.txt
