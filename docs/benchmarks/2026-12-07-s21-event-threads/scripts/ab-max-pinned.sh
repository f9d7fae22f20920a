#!/bin/bash
# ab-max-pinned.sh ROUNDS RATE OUTDIR label=SERVER_BUILD:GEN_BUILD:SERVER_ENV ...  (as ab-max.sh of 2026-12-06-s16-machine, with the server on CPU 0 and the generator on CPU 1)
ROUNDS=$1; RATE=$2; R=$3; shift 3; mkdir -p $R
. $(dirname "$0")/../../2026-12-06-s11-runs/interleaved/bench-env.sh
for round in $(seq 1 $ROUNDS); do
for spec in "$@"; do
  label=${spec%%=*}; rest=${spec#*=}; SB=${rest%%:*}; rest=${rest#*:}; GB=${rest%%:*}; SENV=${rest#*:}; [ "$SENV" = "-" ] && SENV=""; SENV=${SENV//,/ }
  D=/tmp/abm-$label; rm -rf $D; mkdir -p $D
  env $SENV $SB/parley server --port 6243 --data $D/data --password-iterations 1000 --max-connections-per-address 20000 $ONE_MACHINE_LOAD --cpu 0 --log-level Warning > $D/server.log 2>&1 &
  SP=$!
  for i in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/6243) 2>/dev/null && break; sleep 0.2; done
  $GB/parley bench --port 6243 --clients 200 --size 256 --duration 5s --rate max --cpu 1 > /dev/null 2>&1
  $GB/parley bench --port 6243 --clients 200 --size 256 --duration 20s --rate $RATE --window 8 --warmup-time 3s --server-pid $SP --cpu 1 --json > $R/$label-$round.json 2>/dev/null
  kill $SP; wait $SP 2>/dev/null
  python3 -c "
import json;r=json.load(open('$R/$label-$round.json'));c=r['Cpu'];l=r['Latency']
print('$label-$round', 'rate', round(r['DeliveredPerSecond']), 'lost', r['Lost'], 'p50',l['P50Ms'], 'p99', l['P99Ms'], 'srv',round(c['ServerMicrosecondsPerMessage'],2), 'gen',round(c['GeneratorMicrosecondsPerMessage'],2), 'cores', round(c.get('ServerCores',0),2), round(c.get('GeneratorCores',0),2))"
done; done
