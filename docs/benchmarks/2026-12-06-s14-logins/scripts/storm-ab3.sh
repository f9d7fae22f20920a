#!/bin/bash
# storm-ab3.sh OUTDIR ROUNDS label=SERVER_BUILD:GENERATOR_BUILD:SERVER_ARGS:BENCH_ARGS ...  (args joined with ",", SERVER_ARGS "-" for none)
# Interleaved rounds of 8,000-client idle storms (CLIENTS to change), each on a fresh server: a registering run, then the measured one (BENCHMARKS §2 (n)).
R=$1; ROUNDS=$2; shift 2; mkdir -p $R
. "$(dirname "$0")/../../2026-12-06-s11-runs/interleaved/bench-env.sh"
port=6700
for round in $(seq 1 $ROUNDS); do
 for spec in "$@"; do
  label=${spec%%=*}; rest=${spec#*=}; srv=${rest%%:*}; rest=${rest#*:}; gen=${rest%%:*}; rest=${rest#*:}; sargs=${rest%%:*}; extra=${rest#*:}; sargs=${sargs//,/ }; [ "$sargs" = "-" ] && sargs=""; extra=${extra//,/ }
  port=$((port+1)); d=/tmp/storm-ab2-$label; rm -rf $d
  $srv/parley server --port $port --data $d --password-iterations 1000 --max-connections-per-address 20000 $ONE_MACHINE_LOAD $sargs --log-level Warning > $d.log 2>&1 & SP=$!
  for i in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
  $gen/parley bench --port $port --scenario idle --clients ${CLIENTS:-8000} --duration 1s --group x25519 --user-prefix storm $extra > /dev/null 2>&1
  $gen/parley bench --port $port --scenario idle --clients ${CLIENTS:-8000} --duration 1s --group x25519 --user-prefix storm --server-pid $SP --json $extra > $R/$label-$round.json 2>$R/$label-$round.err
  kill $SP; wait $SP 2>/dev/null
  python3 -c "
import json,sys;r=json.load(open('$R/$label-$round.json'));c=r['LoginCpu'];q=r['ResumedLogins'];qc=q['Cpu']
g=lambda u: '%.2fs/%d'%(u.get('GeneratorGcPauseSeconds',-1),u.get('GeneratorCollections',-1))
print('%-10s r%d full %6.0f/s srv %5.1f gen %5.1f us gc %s | resumed %6.0f/s srv %5.1f gen %5.1f us gc %s cores %.2f+%.2f (%d resumed)'%('$label',$round,r['LoginsPerSecond'],c['ServerMicrosecondsPerMessage'],c['GeneratorMicrosecondsPerMessage'],g(c),q['LoginsPerSecond'],qc['ServerMicrosecondsPerMessage'],qc['GeneratorMicrosecondsPerMessage'],g(qc),qc['ServerCores'],qc['GeneratorCores'],q['Resumed']))"
 done
done
