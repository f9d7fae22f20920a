#!/bin/bash
# usage: ab3.sh RATE OUTDIR GENBIN WARMUP label=SERVERBIN ...
RATE=$1; R=$2; GEN=$3; WU=$4; shift 4; mkdir -p $R
. "$(dirname "$0")/bench-env.sh"   # ONE_MACHINE_LOAD: the server flags of BENCHMARKS §2
for round in 1 2; do
for pair in "$@"; do
  label=${pair%%=*}; BIN=${pair#*=}
  D=/tmp/ab3-$label; rm -rf $D; mkdir -p $D
  $BIN/parley server --port 6243 --data $D/data --password-iterations 1000 --max-connections-per-address 20000 $ONE_MACHINE_LOAD --log-level Warning > $D/server.log 2>&1 &
  SP=$!
  for i in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/6243) 2>/dev/null && break; sleep 0.2; done
  $GEN/parley bench --port 6243 --clients 200 --size 256 --duration 5s --rate max > /dev/null 2>&1
  $GEN/parley bench --port 6243 --clients 200 --size 256 --duration 20s --rate $RATE --window 8 --warmup-time $WU --server-pid $SP --json > $R/$label-$round.json 2>/dev/null
  kill $SP; wait $SP 2>/dev/null
  python3 -c "
import json;r=json.load(open('$R/$label-$round.json'));c=r['Cpu'];l=r['Latency']
print('$label-$round', 'rate', round(r['DeliveredPerSecond']), 'late', r['LateSends'], 'lost', r['Lost'], 'p50',l['P50Ms'], 'p90',l['P90Ms'],'p99', l['P99Ms'], 'srv',round(c['ServerMicrosecondsPerMessage'],1), 'gen',round(c['GeneratorMicrosecondsPerMessage'],1))"
done; done
