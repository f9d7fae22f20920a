#!/bin/bash
# perf-rate.sh BUILD OUTDIR RATE: perf profile of the server over 4 s of a 200 x 256 B run at RATE (unpinned)
B=$1; R=$2; RATE=$3; mkdir -p $R; D=/tmp/perf-rate; rm -rf $D; mkdir -p $D
. /work/main/docs/benchmarks/2026-12-06-s11-runs/interleaved/bench-env.sh
export DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0
$B/parley server --port 6496 --data $D/data --password-iterations 1000 --max-connections-per-address 20000 $ONE_MACHINE_LOAD --log-level Warning > /dev/null 2>&1 & SP=$!
unset DOTNET_PerfMapEnabled DOTNET_EnableWriteXorExecute
for i in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/6496) 2>/dev/null && break; sleep 0.1; done
$B/parley bench --port 6496 --clients 200 --size 256 --duration 5s --rate max > /dev/null 2>&1
$B/parley bench --port 6496 --clients 200 --size 256 --duration 15s --rate $RATE --window 8 --warmup-time 3s --server-pid $SP > $D/bench.out 2>&1 & BP=$!
for i in $(seq 1 600); do grep -q " 5.0 s " $D/bench.out && break; sleep 0.1; done
perf record -F 2999 -g -p $SP -o $D/perf.data -- sleep 4 > /dev/null 2>&1
wait $BP; kill $SP; wait $SP 2>/dev/null
grep -E "CPU per" $D/bench.out
perf report -i $D/perf.data --no-children --sort dso --stdio 2>/dev/null | grep -v "^#" | grep -v "^$" | head -15 > $R/by-dso.txt
perf report -i $D/perf.data --no-children --sort sym --stdio -g none 2>/dev/null | grep -v "^#" | grep -v "^$" | head -70 > $R/by-symbol.txt
perf report -i $D/perf.data --children --sort sym --stdio -g none 2>/dev/null | grep -v "^#" | grep -v "^$" | head -90 > $R/inclusive.txt
cat $R/by-dso.txt
