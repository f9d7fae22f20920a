#!/bin/bash
# idle-ab.sh OUTDIR ROUNDS label=BUILD ...: 10,000 idle connections on a fresh server per run (BENCHMARKS (c)), interleaved.
R=$1; ROUNDS=$2; shift 2; mkdir -p $R
. /work/main/docs/benchmarks/2026-12-06-s11-runs/interleaved/bench-env.sh
port=6900
for round in $(seq 1 $ROUNDS); do
 for spec in "$@"; do
  label=${spec%%=*}; b=${spec#*=}; port=$((port+1)); d=/tmp/idle-ab-$label; rm -rf $d
  $b/parley server --port $port --data $d --password-iterations 1000 --max-connections-per-address 20000 $ONE_MACHINE_LOAD --log-level Warning > $d.log 2>&1 & SP=$!
  for i in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
  $b/parley bench --port $port --scenario idle --clients 10000 --duration 15s --server-pid $SP --user-prefix idle > $R/$label-$round.txt 2>&1
  kill $SP; wait $SP 2>/dev/null
  echo "$label r$round $(grep -i 'resident\|RSS' $R/$label-$round.txt | head -2 | tr '\n' ' ')"
 done
done
