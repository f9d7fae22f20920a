#!/bin/bash
# alloc-max.sh server|generator BUILD LABEL: allocation profile (by type, then by stack) of one process
# over a 10 s --rate max run, 200 x 256 B; the server's trace also holds its start and the 200 logins.
WHO=$1; B=$2; L=$3; D=/tmp/alloc-max-$WHO-$L; rm -rf $D; mkdir -p $D; P=6497
. /work/main/docs/benchmarks/2026-12-06-s11-runs/interleaved/bench-env.sh
TRACE="DOTNET_EnableEventPipe=1 DOTNET_EventPipeConfig=Microsoft-Windows-DotNETRuntime:0x1:5 DOTNET_EventPipeOutputPath=$D/trace.nettrace DOTNET_EventPipeCircularMB=1024"
server() { env $1 $B/parley server --port $P --data $D/data --password-iterations 1000 --max-connections-per-address 20000 $ONE_MACHINE_LOAD --log-level Warning > /dev/null 2>&1 & SP=$!
           for i in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/$P) 2>/dev/null && break; sleep 0.1; done; }
server ""
$B/parley bench --port $P --clients 200 --size 256 --duration 3s --rate max > /dev/null 2>&1   # registers the accounts
if [ "$WHO" = server ]; then kill $SP; wait $SP 2>/dev/null; server "$TRACE"; GEN_ENV=""; else GEN_ENV=$TRACE; fi
env $GEN_ENV $B/parley bench --port $P --clients 200 --size 256 --duration 10s --rate max --warmup-time 0s > $D/run.txt 2>&1
kill $SP; wait $SP 2>/dev/null
grep -E "delivered  |CPU per" $D/run.txt
N=$(grep -oP "delivered\s+\K[0-9,]+(?= \()" $D/run.txt | tail -1 | tr -d ,)
echo "messages $N"
dotnet /tmp/s15-tools/allocan/allocan.dll $D/trace.nettrace $N 25
dotnet /tmp/s15-tools/allocst/allocst.dll $D/trace.nettrace "*" $N 3 | head -40
