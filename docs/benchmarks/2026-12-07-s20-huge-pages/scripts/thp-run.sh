#!/bin/bash
# thp-run.sh BUILD CLIENTS [BENCHARGS...]: one idle run on a fresh server; generator faults per login and the kernel's THP counters over the run
B=$1; N=$2; shift 2; port=$((6900 + RANDOM % 50))
. /work/main/docs/benchmarks/2026-12-06-s11-runs/interleaved/bench-env.sh
d=/tmp/thp-run; rm -rf $d; mkdir -p $d
/work/out-s19g/parley server --port $port --data $d/data --password-iterations 1000 --max-connections-per-address 20000 $ONE_MACHINE_LOAD --log-level Warning > /dev/null 2>&1 & SP=$!
for i in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
PARLEY_HOME=$d/home $B/parley bench --port $port --scenario idle --clients $N --duration 0.1s "$@" > /dev/null 2>&1   # registers
grep -E "^thp_(fault_alloc|collapse_alloc|split_pmd)" /proc/vmstat > $d/v0
PARLEY_HOME=$d/home $B/parley bench --port $port --scenario idle --clients $N --duration 0.1s --json "$@" > $d/r.json 2>/dev/null
grep -E "^thp_(fault_alloc|collapse_alloc|split_pmd)" /proc/vmstat > $d/v1
kill $SP; wait $SP 2>/dev/null
python3 -c "
import json;r=json.load(open('$d/r.json'));c=r['LoginCpu'];q=r['ResumedLogins'];qc=q['Cpu']
v0=dict(l.split() for l in open('$d/v0'));v1=dict(l.split() for l in open('$d/v1'))
print('%s n=%s %s: full %5.0f/s gen %5.1f us faults %.3f | resumed %5.0f/s gen %5.1f us faults %.3f | thp %s'%('$B'.split('-')[-1],'$N','$*',r['LoginsPerSecond'],c['GeneratorMicrosecondsPerMessage'],c['GeneratorPageFaultsPerMessage'],q['LoginsPerSecond'],qc['GeneratorMicrosecondsPerMessage'],qc['GeneratorPageFaultsPerMessage'],' '.join('%s+%d'%(k[4:],int(v1[k])-int(v0[k])) for k in v0)))"
