#!/bin/bash
# alloc-srv.sh BUILD LABEL [RATE] [DUR]: allocation profile of the server during a paced run, by type and by stack (GEN=BUILD2 for another generator)
export PATH=$PATH:~/.dotnet/tools
B=$1; L=$2; RATE=${3:-20000}; DUR=${4:-10}; G=${GEN:-$B}
. /work/main/docs/benchmarks/2026-12-06-s11-runs/interleaved/bench-env.sh
D=/tmp/asrv-$L; rm -rf $D; mkdir -p $D
$B/parley server --port 6110 --data $D/data --password-iterations 1000 --max-connections-per-address 20000 $ONE_MACHINE_LOAD --log-level Warning > $D/server.log 2>&1 & SP=$!
for i in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/6110) 2>/dev/null && break; sleep 0.1; done
$G/parley bench --port 6110 --clients 200 --size 256 --duration 5s --rate max > /dev/null 2>&1
$G/parley bench --port 6110 --clients 200 --size 256 --duration $((DUR+8))s --rate $RATE --warmup-time 2s > $D/run.txt 2>&1 & GP=$!
sleep 5
dotnet-trace collect -p $SP --profile gc-verbose --duration 00:00:00:$DUR -o $D/trace.nettrace > $D/trace.log 2>&1
wait $GP; kill $SP; wait $SP 2>/dev/null
grep -E "^  delivered" $D/run.txt
N=$((RATE*DUR))
dotnet /tmp/s15-tools/allocan/allocan.dll $D/trace.nettrace $N 30
dotnet /tmp/s15-tools/allocst/allocst.dll $D/trace.nettrace "*" $N 3 | head -40
