#!/bin/bash
# usage: alloc-trace.sh OUTDIR LABEL RATE DUR -> allocation profile of the server by type (AllocationTick sampling)
# EXTRA: more bench arguments, e.g. "--encoding json"
export PATH=$PATH:~/.dotnet/tools
OUT=$1; LABEL=$2; RATE=${3:-4000}; DUR=${4:-15}
. "$(dirname "$0")/../../2026-12-06-s11-runs/interleaved/bench-env.sh"
D=/tmp/atrace-$LABEL; rm -rf $D; mkdir -p $D
$OUT/parley server --port 6104 --data $D/data --password-iterations 1000 --max-connections-per-address 20000 $ONE_MACHINE_LOAD --log-level Warning > $D/server.log 2>&1 &
SPID=$!
sleep 2
$OUT/parley bench --port 6104 --clients 200 --size 256 --duration 5s --rate $RATE $EXTRA > $D/warm.txt 2>&1
dotnet-trace collect -p $SPID --profile gc-verbose --duration 00:00:00:$((DUR+5)) -o $D/trace.nettrace > $D/trace.log 2>&1 &
TPID=$!
sleep 3
$OUT/parley bench --port 6104 --clients 200 --size 256 --duration ${DUR}s --rate $RATE $EXTRA --json > $D/run.json 2> $D/run.err
wait $TPID 2>/dev/null
kill $SPID; wait $SPID 2>/dev/null
N=$(python3 -c "import json;print(json.load(open('$D/run.json'))['Delivered'])")
dotnet ${ALLOCAN:?build docs/benchmarks/2026-12-06-s10-pooled-receive/alloc/allocan and set ALLOCAN to its allocan.dll} $D/trace.nettrace $N 30
