#!/bin/bash
# A/B of runtime knobs on one build, quiet machine. usage: ab-spin.sh BIN OUTDIR
BIN=$1; R=$2; mkdir -p $R
. /work/bench-env.sh
run() { # label rate env...
  local label=$1 rate=$2; shift 2
  local D=/tmp/abs-$label; rm -rf $D; mkdir -p $D
  env "$@" $BIN/parley server --port 6231 --data $D/data --password-iterations 1000 --max-connections-per-address 20000 $ONE_MACHINE_LOAD --log-level Warning > $D/server.log 2>&1 &
  local SP=$!
  for i in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/6231) 2>/dev/null && break; sleep 0.2; done
  $BIN/parley bench --port 6231 --clients 200 --size 256 --duration 5s --rate max > /dev/null 2>&1
  env "$@" $BIN/parley bench --port 6231 --clients 200 --size 256 --duration 20s --rate $rate --window 8 --server-pid $SP --json > $R/$label.json 2> $R/$label.err
  kill $SP; wait $SP 2>/dev/null
  python3 /work/summ.py $R/$label.json | sed "s/^/$label: /"
}
for i in 1 2; do
  run base-max-$i max X=1
  run spin0-max-$i max DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0
  run base-half-$i 15177 X=1
  run spin0-half-$i 15177 DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0
done
