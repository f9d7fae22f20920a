#!/bin/bash
# usage: [PIN=1] ab-enc.sh RATE OUTDIR WARMUP label=BIN:ENCODING ...   (BIN runs both server and generator;
# ENCODING is compact, json, or - for a build without --encoding; PIN=1: server on CPU 0, generator on CPU 1)
RATE=$1; R=$2; WU=$3; shift 3; mkdir -p $R
. "$(dirname "$0")/../../2026-12-06-s11-runs/interleaved/bench-env.sh"
for round in 1 2; do
for pair in "$@"; do
  label=${pair%%=*}; rest=${pair#*=}; BIN=${rest%%:*}; ENC=${rest#*:}
  D=/tmp/abe-$label; rm -rf $D; mkdir -p $D
  SCPU=""; GCPU=""; [ "${PIN:-0}" = 1 ] && SCPU="--cpu 0" && GCPU="--cpu 1"
  $BIN/parley server $SCPU --port 6243 --data $D/data --password-iterations 1000 --max-connections-per-address 20000 $ONE_MACHINE_LOAD --log-level Warning > $D/server.log 2>&1 &
  SP=$!
  for i in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/6243) 2>/dev/null && break; sleep 0.2; done
  EARG=""; [ "$ENC" != "-" ] && EARG="--encoding $ENC"
  $BIN/parley bench --port 6243 --clients 200 --size 256 --duration 5s --rate max $EARG > /dev/null 2>&1
  $BIN/parley bench $GCPU --port 6243 --clients 200 --size 256 --duration 20s --rate $RATE --window 8 --warmup-time $WU --server-pid $SP $EARG --json > $R/$label-$round.json 2>/dev/null
  kill $SP; wait $SP 2>/dev/null
  python3 -c "
import json;r=json.load(open('$R/$label-$round.json'));c=r['Cpu'];l=r['Latency']
print('$label-$round', r.get('Encoding'), 'rate', round(r['DeliveredPerSecond']), 'lost', r['Lost'], 'p50',l['P50Ms'], 'p99', l['P99Ms'], 'srv',round(c['ServerMicrosecondsPerMessage'],2), 'gen',round(c['GeneratorMicrosecondsPerMessage'],2), 'cores', round(c.get('ServerCores',0),2), round(c.get('GeneratorCores',0),2))"
done; done
