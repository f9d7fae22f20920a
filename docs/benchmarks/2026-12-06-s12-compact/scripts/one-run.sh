#!/bin/bash
# usage: one-run.sh OUT LABEL EXTRA_SERVER_FLAGS...
BIN=$1; LABEL=$2; shift 2
. "$(dirname "$0")/../../2026-12-06-s11-runs/interleaved/bench-env.sh"
D=/tmp/segt-$LABEL; rm -rf $D; mkdir -p $D
$BIN/parley server --port 6244 --data $D/data --password-iterations 1000 --max-connections-per-address 20000 $ONE_MACHINE_LOAD --log-level Warning "$@" > $D/server.log 2>&1 &
SP=$!
for i in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/6244) 2>/dev/null && break; sleep 0.2; done
$BIN/parley bench --port 6244 --clients 200 --size 256 --duration 5s --rate max > /dev/null 2>&1
$BIN/parley bench --port 6244 --clients 200 --size 256 --duration 20s --rate max --warmup-time 3s --server-pid $SP --json > $D/run.json 2>/dev/null
kill $SP; wait $SP 2>/dev/null
python3 -c "
import json;r=json.load(open('$D/run.json'));c=r['Cpu']
print('$LABEL', round(r['DeliveredPerSecond']), 'srv', round(c['ServerMicrosecondsPerMessage'],2), [round(p['Delivered']/p['Interval']/1000) if 'Interval' in p else p for p in r['Timeline']][:20])"
