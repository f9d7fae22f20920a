#!/bin/bash
# Session 9's measurements for issue 13 (BENCHMARKS §2 (i)), on a quiet machine.
# usage: measure.sh FINAL_OUT BASE_OUT RESULTS_DIR [parts]; FINAL_OUT also drives every run (the generator),
# except part g, which drives FINAL's server with BASE's generator and then FINAL's, in turns.
set -u
FINAL=$1; BASE=$2; R=$3; PARTS=${4:-a g b c}; mkdir -p $R
# The server flags of BENCHMARKS §2 that lift the per-address and per-sender limits for one machine.
ONE_MACHINE_LOAD="--handshake-rate-per-address 100000 --handshake-burst-per-address 20000 --max-unauthenticated 20000 --max-unauthenticated-per-address 20000 --registrations-per-minute 100000 --registrations-per-source-per-hour 100000 --sender-messages-per-second 100000 --sender-message-burst 100000 --sender-bytes-per-second 1000000000 --sender-byte-burst 1000000000 --max-inbox-messages 1000000"
summary() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); c=r.get('Cpu') or {}; print('  ', {k: r[k] for k in r if not isinstance(r[k], (dict, list))}, c)" "$1" || true; }
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
  summary $R/$name.json >&2
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

if [[ " $PARTS " == *" g "* ]]; then
# the generator alone: BASE's generator against FINAL's server (part a drives both servers with FINAL's)
S=$(start_server $FINAL $W/g-final 6205); wait_port 6205
$FINAL/parley bench --port 6205 --clients 200 --size 256 --duration 5s --rate max > /dev/null 2>&1   # register
for i in 1 2; do
  echo "== g-max-basegen-$i: (BASE) parley bench --port 6205 $MSG --rate max" >&2
  $BASE/parley bench --port 6205 $MSG --rate max --server-pid $S --json > $R/g-max-basegen-$i.json 2> $R/g-max-basegen-$i.err
  summary $R/g-max-basegen-$i.json >&2
  run g-max-finalgen-$i --port 6205 $MSG --rate max --server-pid $S
done
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
