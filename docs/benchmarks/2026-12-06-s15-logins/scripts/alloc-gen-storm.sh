#!/bin/bash
# alloc-gen-storm.sh BUILD LABEL : allocation profile (by type, then byte[] by stack) of the generator's measured 8,000-client storm
B=$1; L=$2; D=/tmp/agst-$L; rm -rf $D; mkdir -p $D
. $(dirname "$0")/../../2026-12-06-s11-runs/interleaved/bench-env.sh
$B/parley server --port 6495 --data $D/data --password-iterations 1000 --max-connections-per-address 20000 $ONE_MACHINE_LOAD --cpu 0 --log-level Warning > /dev/null 2>&1 & SP=$!
for i in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/6495) 2>/dev/null && break; sleep 0.1; done
$B/parley bench --port 6495 --scenario idle --clients 8000 --duration 1s --group x25519 --user-prefix storm --cpu 1 --login-concurrency 1024 > /dev/null 2>&1
DOTNET_EnableEventPipe=1 DOTNET_EventPipeConfig='Microsoft-Windows-DotNETRuntime:0x1:5' DOTNET_EventPipeOutputPath=$D/trace.nettrace DOTNET_EventPipeCircularMB=1024 \
$B/parley bench --port 6495 --scenario idle --clients 8000 --duration 1s --group x25519 --user-prefix storm --cpu 1 --login-concurrency 1024 --warmup 0 > $D/run.txt 2>&1
kill $SP; wait $SP 2>/dev/null
grep -E "storm|resumed" $D/run.txt
dotnet /tmp/s15-tools/allocan/allocan.dll $D/trace.nettrace 16000 25
dotnet /tmp/s15-tools/allocst/allocst.dll $D/trace.nettrace "*" 16000 3 | head -30
