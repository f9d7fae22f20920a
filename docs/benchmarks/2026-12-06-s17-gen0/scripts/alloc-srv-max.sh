#!/bin/bash
# alloc-srv-max.sh BUILD LABEL: allocation profile of the server (by type, then by stack) over a 10 s --rate max run, 200 x 256 B
B=$1; L=$2; D=/tmp/asm-$L; rm -rf $D; mkdir -p $D
. /work/main/docs/benchmarks/2026-12-06-s11-runs/interleaved/bench-env.sh
$B/parley server --port 6499 --data $D/data --password-iterations 1000 --max-connections-per-address 20000 $ONE_MACHINE_LOAD --log-level Warning > /dev/null 2>&1 & SP0=$!
for i in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/6499) 2>/dev/null && break; sleep 0.1; done
$B/parley bench --port 6499 --clients 200 --size 256 --duration 3s --rate max > /dev/null 2>&1
kill $SP0; wait $SP0 2>/dev/null
DOTNET_EnableEventPipe=1 DOTNET_EventPipeConfig='Microsoft-Windows-DotNETRuntime:0x1:5' DOTNET_EventPipeOutputPath=$D/trace.nettrace DOTNET_EventPipeCircularMB=1024 \
$B/parley server --port 6499 --data $D/data --password-iterations 1000 --max-connections-per-address 20000 $ONE_MACHINE_LOAD --log-level Warning > /dev/null 2>&1 & SP=$!
for i in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/6499) 2>/dev/null && break; sleep 0.1; done
$B/parley bench --port 6499 --clients 200 --size 256 --duration 10s --rate max --warmup-time 0s > $D/run.txt 2>&1
kill $SP; wait $SP 2>/dev/null
grep -E "delivered  " $D/run.txt
N=$(grep -oP "delivered\s+\K[0-9,]+(?= \()" $D/run.txt | tail -1 | tr -d ,)
echo "messages $N (the trace also holds the storm of 200 logins and the start)"
dotnet /tmp/s15-tools/allocan/allocan.dll $D/trace.nettrace $N 25
dotnet /tmp/s15-tools/allocst/allocst.dll $D/trace.nettrace "*" $N 3 | head -30
