#!/bin/bash
# t1k.sh ROUNDS label=BUILD[:BENCHARGS] ... : 1,000-client idle runs (one fresh server each), generator page faults per login: first storm, resumed storm; default warm-up and --warmup 0
R=$1; shift; port=6800
. /work/main/docs/benchmarks/2026-12-06-s11-runs/interleaved/bench-env.sh
for round in $(seq 1 $R); do for w in default 0; do for spec in "$@"; do
  label=${spec%%=*}; rest=${spec#*=}; b=${rest%%:*}; extra=""; [ "$rest" != "$b" ] && extra=${rest#*:}; extra=${extra//,/ }
  port=$((port+1)); d=/tmp/t1k-$label; rm -rf $d; mkdir -p $d
  /work/out-s19g/parley server --port $port --data $d/data --password-iterations 1000 --max-connections-per-address 20000 $ONE_MACHINE_LOAD --log-level Warning > /dev/null 2>&1 & SP=$!
  for i in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
  wa=""; [ $w = 0 ] && wa="--warmup 0"
  PARLEY_HOME=$d/home $b/parley bench --port $port --scenario idle --clients 1000 --duration 0.1s --json $wa $extra > $d/r.json 2>/dev/null
  kill $SP; wait $SP 2>/dev/null
  python3 -c "
import json;r=json.load(open('$d/r.json'));c=r['LoginCpu'];q=r['ResumedLogins'];qc=q['Cpu']
print('%-8s warmup=%-7s full %5.0f/s faults %.3f | resumed %5.0f/s faults %.3f'%('$label','$w',r['LoginsPerSecond'],c['GeneratorPageFaultsPerMessage'],q['LoginsPerSecond'],qc['GeneratorPageFaultsPerMessage']))"
done; done; done
