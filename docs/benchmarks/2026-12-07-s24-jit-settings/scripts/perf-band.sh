#!/bin/bash
# perf-band.sh BUILD OUTDIR ROUNDS: pinned 8,000-client storms (server on CPU 0, generator on CPU 1, as §2 (u)),
# each on a fresh server, with the server sampled (cpu-clock, 2,999 Hz, call graphs) through the resumed pass.
# Per round: OUTDIR/rN.txt (the report; text, since --json prints no progress to wait on), OUTDIR/rN-server.txt
# (perf-summary of the server's samples).
B=$1; R=$2; ROUNDS=${3:-6}; mkdir -p $R
H="$(dirname "$0")/../../2026-12-06-s13-logins/scripts"
. "$(dirname "$0")/../../2026-12-06-s11-runs/interleaved/bench-env.sh"
export DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0
for round in $(seq 1 $ROUNDS); do
  D=/tmp/perf-band; rm -rf $D; mkdir -p $D; port=$((6800 + round))
  $B/parley server --port $port --data $D/data --password-iterations 1000 --max-connections-per-address 20000 $ONE_MACHINE_LOAD --cpu 0 --log-level Warning > /dev/null 2>&1 & SP=$!
  for i in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
  $B/parley bench --port $port --scenario idle --clients 8000 --duration 1s --group x25519 --user-prefix storm --login-concurrency 1024 --cpu 1 > /dev/null 2>&1
  $B/parley bench --port $port --scenario idle --clients 8000 --duration 1s --group x25519 --user-prefix storm --login-concurrency 1024 --cpu 1 --server-pid $SP > $R/r$round.txt 2>&1 & BP=$!
  for i in $(seq 1 1200); do grep -q reconnecting $R/r$round.txt && break; sleep 0.05; done
  perf record -F 2999 -g -p $SP -o $D/perf.data -- sleep 1.2 > /dev/null 2>&1
  wait $BP; kill $SP; wait $SP 2>/dev/null
  perf script -i $D/perf.data -F pid,time,ip,sym,dso 2>/dev/null | python3 $H/perf-summary.py $SP 0 1.2 40 120 > $R/r$round-server.txt
  echo "r$round $(grep 'resumed logins' $R/r$round.txt)"
done
