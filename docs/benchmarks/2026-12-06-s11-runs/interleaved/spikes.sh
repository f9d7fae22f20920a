#!/bin/bash
# usage: spikes.sh LABEL SRVBIN GENBIN RATE : one 25 s run, per-second lines kept
LABEL=$1; BIN=$2; GEN=$3; RATE=${4:-max}
. "$(dirname "$0")/bench-env.sh"   # ONE_MACHINE_LOAD: the server flags of BENCHMARKS §2
D=/tmp/spk-$LABEL; rm -rf $D; mkdir -p $D
$BIN/parley server --port 6247 --data $D/data --password-iterations 1000 --max-connections-per-address 20000 $ONE_MACHINE_LOAD --log-level Warning > $D/server.log 2>&1 &
SP=$!
for i in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/6247) 2>/dev/null && break; sleep 0.2; done
$GEN/parley bench --port 6247 --clients 200 --size 256 --duration 5s --rate max > /dev/null 2>&1
$GEN/parley bench --port 6247 --clients 200 --size 256 --duration 25s --rate $RATE --window 8 --server-pid $SP > $D/bench.txt 2>&1
kill $SP; wait $SP 2>/dev/null
echo "$LABEL: $(grep -c 'p99 [0-9][0-9][0-9]\.\|p99 [6-9][0-9]\.' $D/bench.txt) seconds with p99>=60ms; $(grep -E '^\s+delivered|CPU per' $D/bench.txt | tr -s ' ' | tr '\n' ' ')"
