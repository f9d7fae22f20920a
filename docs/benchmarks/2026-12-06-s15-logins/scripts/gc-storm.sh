#!/bin/bash
# gc-storm.sh BUILD LABEL [ENV...] (build the tools first: build-tools.sh) : GC counts and pauses of the server (pinned to cpu 0) during the measured run of an 8,000-client storm
B=$1; L=$2; shift 2; D=/tmp/gcs-$L; rm -rf $D; mkdir -p $D
. $(dirname "$0")/../../2026-12-06-s11-runs/interleaved/bench-env.sh
T0=$(date +%s.%N)
env "$@" DOTNET_EnableEventPipe=1 DOTNET_EventPipeConfig='Microsoft-Windows-DotNETRuntime:0x1:4' DOTNET_EventPipeOutputPath=$D/trace.nettrace \
$B/parley server --port 6493 --data $D/data --password-iterations 1000 --max-connections-per-address 20000 $ONE_MACHINE_LOAD --cpu 0 --log-level Warning > /dev/null 2>&1 & SP=$!
for i in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/6493) 2>/dev/null && break; sleep 0.1; done
$B/parley bench --port 6493 --scenario idle --clients 8000 --duration 1s --group x25519 --user-prefix storm --cpu 1 --login-concurrency 1024 > /dev/null 2>&1
T1=$(date +%s.%N)
$B/parley bench --port 6493 --scenario idle --clients 8000 --duration 1s --group x25519 --user-prefix storm --cpu 1 --login-concurrency 1024 --server-pid $SP --json > $D/run.json 2>$D/run.err
T2=$(date +%s.%N)
kill $SP; wait $SP 2>/dev/null
python3 -c "
import json;r=json.load(open('$D/run.json'));q=r['ResumedLogins'];print('full %.0f/s resumed %.0f/s srv %.1f us'%(r['LoginsPerSecond'],q['LoginsPerSecond'],q['Cpu']['ServerMicrosecondsPerMessage']))"
dotnet /tmp/s15-tools/gcan/gcan.dll $D/trace.nettrace $(echo "$T1-$T0" | bc) $(echo "$T2-$T0" | bc)
