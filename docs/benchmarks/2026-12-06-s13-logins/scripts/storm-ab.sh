#!/bin/bash
# Session 13 login storms (BENCHMARKS §2 (m)): interleaved rounds, each a fresh server, one registering run,
# then a measured idle storm of CLIENTS (default 8000) full handshakes and their resumed reconnects.
# usage: storm-ab.sh OUTDIR ROUNDS label=SERVER_BUILD:GENERATOR_BUILD ...
R=$1; ROUNDS=$2; shift 2; mkdir -p $R
. "$(dirname "$0")/../../2026-12-06-s11-runs/interleaved/bench-env.sh"
port=6400
for round in $(seq 1 $ROUNDS); do
 for spec in "$@"; do
  label=${spec%%=*}; bins=${spec#*=}; srv=${bins%%:*}; gen=${bins#*:}
  port=$((port+1)); d=/tmp/storm-ab-$label; rm -rf $d
  $srv/parley server --port $port --data $d --password-iterations 1000 --max-connections-per-address 20000 $ONE_MACHINE_LOAD --log-level Warning > $d.log 2>&1 & SP=$!
  for i in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
  $gen/parley bench --port $port --scenario idle --clients ${CLIENTS:-8000} --duration 1s --group x25519 --user-prefix storm > /dev/null 2>&1
  $gen/parley bench --port $port --scenario idle --clients ${CLIENTS:-8000} --duration 1s --group x25519 --user-prefix storm --server-pid $SP --json > $R/$label-$round.json 2>$R/$label-$round.err
  kill $SP; wait $SP 2>/dev/null
  python3 -c "
import json,sys;r=json.load(open('$R/$label-$round.json'));c=r['LoginCpu'];q=r['ResumedLogins'];qc=q['Cpu']
print('%-10s r%d full %6.0f/s srv %5.1f gen %5.1f us | resumed %6.0f/s srv %5.1f gen %5.1f us (%d resumed) genalloc %.0f B'%('$label',$round,r['LoginsPerSecond'],c['ServerMicrosecondsPerMessage'],c['GeneratorMicrosecondsPerMessage'],q['LoginsPerSecond'],qc['ServerMicrosecondsPerMessage'],qc['GeneratorMicrosecondsPerMessage'],q['Resumed'],qc['GeneratorBytesAllocatedPerMessage']))"
 done
done
