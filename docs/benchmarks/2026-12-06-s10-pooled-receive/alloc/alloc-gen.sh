#!/bin/bash
# usage: alloc-gen.sh OUT LABEL RATE DUR -> allocation profile of the generator (parley bench) by type
export PATH=$PATH:~/.dotnet/tools
OUT=$1; LABEL=$2; RATE=${3:-15000}; DUR=${4:-15}
. /work/bench-env.sh
D=/tmp/agen-$LABEL; rm -rf $D; mkdir -p $D
$OUT/parley server --port 6105 --data $D/data --password-iterations 1000 --max-connections-per-address 20000 $ONE_MACHINE_LOAD --log-level Warning > $D/server.log 2>&1 &
SPID=$!
sleep 2
$OUT/parley bench --port 6105 --clients 200 --size 256 --duration 5s --rate $RATE > $D/warm.txt 2>&1
$OUT/parley bench --port 6105 --clients 200 --size 256 --duration $((DUR+6))s --rate $RATE --json > $D/run.json 2> $D/run.err &
GPID=$!
sleep 3
dotnet-trace collect -p $GPID --profile gc-verbose --duration 00:00:00:$DUR -o $D/trace.nettrace > $D/trace.log 2>&1
wait $GPID
kill $SPID; wait $SPID 2>/dev/null
N=$(python3 -c "print(int($RATE*$DUR))")
dotnet /tmp/allocan/bin/Release/net10.0/allocan.dll $D/trace.nettrace $N 30
