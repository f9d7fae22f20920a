#!/bin/bash
# Session 8's measurements for issue 13 (BENCHMARKS §2 (h)), on a quiet machine.
# usage: measure.sh FINAL_OUT BASE_OUT RESULTS_DIR [parts]; FINAL_OUT also drives every run (the generator).
# ONE_MACHINE_LOAD: the server flags of BENCHMARKS §2 that lift the per-address and per-sender limits.
set -u
FINAL=$1; BASE=$2; R=$3; PARTS=${4:-a b c}; mkdir -p $R
. /work/bench-env.sh
W=/tmp/measure; mkdir -p $W
start_server() { # $1 binary dir, $2 data dir, $3 port, rest: extra flags
  local bin=$1 data=$2 port=$3; shift 3
  rm -rf $data; $bin/parley server --port $port --data $data --password-iterations 1000 --max-connections-per-address 20000 $ONE_MACHINE_LOAD --log-level Warning "$@" > $data.log 2>&1 &
  echo $!
}
wait_port() { for i in $(seq 1 150); do (echo > /dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.2; done; return 1; }
stop() { kill $1; wait $1 2>/dev/null; }
run() { # name, args...
  local name=$1; shift
  echo "== $name: parley bench $*" >&2
  $FINAL/parley bench "$@" --json > $R/$name.json 2> $R/$name.err
  python3 /work/summ.py $R/$name.json >&2
}
MSG="--clients 200 --size 256 --duration 30s --warmup-time 5s"
{ date -u; uptime; nproc; grep -m1 "model name" /proc/cpuinfo; } > $R/00-machine.txt

if [[ " $PARTS " == *" a "* ]]; then
for label in base final; do
  bin=$BASE; [ $label = final ] && bin=$FINAL
  S=$(start_server $bin $W/a-$label 6201); wait_port 6201
  $FINAL/parley bench --port 6201 --clients 200 --size 256 --duration 5s --rate max > /dev/null 2>&1   # register
  for i in 1 2; do run a-max-$label-$i --port 6201 $MSG --rate max --server-pid $S; done
  for i in 1 2; do run a-15177-$label-$i --port 6201 $MSG --rate 15177 --window 8 --server-pid $S; done
  if [ $label = final ]; then
    half=$(python3 -c "import json;print(int((json.load(open('$R/a-max-final-1.json'))['DeliveredPerSecond']+json.load(open('$R/a-max-final-2.json'))['DeliveredPerSecond'])/4))")
    for i in 1 2; do run a-half-final-$i --port 6201 $MSG --rate $half --window 8 --server-pid $S; done
  fi
  stop $S
done
# pinned: server on cpu 0, generator on cpu 1
S=$(start_server $FINAL $W/a-pin 6202 --cpu 0); wait_port 6202
$FINAL/parley bench --port 6202 --clients 200 --size 256 --duration 5s --rate max --cpu 1 > /dev/null 2>&1
run a-max-final-pinned --port 6202 $MSG --rate max --server-pid $S --cpu 1
stop $S
fi

if [[ " $PARTS " == *" b "* ]]; then
for label in base final; do
  bin=$BASE; [ $label = final ] && bin=$FINAL
  S=$(start_server $bin $W/b-$label 6203); wait_port 6203
  $FINAL/parley bench --port 6203 --scenario idle --clients 1000 --duration 1s --group x25519 --user-prefix storm > /dev/null 2>&1   # register
  for i in 1 2 3; do run b-storm-$label-$i --port 6203 --scenario idle --clients 1000 --duration 1s --group x25519 --user-prefix storm --server-pid $S; done
  stop $S
done
fi

if [[ " $PARTS " == *" c "* ]]; then
  S=$(start_server $FINAL $W/c-final 6204); wait_port 6204
  run c-idle-final --port 6204 --scenario idle --clients 10000 --duration 15s --server-pid $S --user-prefix idle
  stop $S
fi
