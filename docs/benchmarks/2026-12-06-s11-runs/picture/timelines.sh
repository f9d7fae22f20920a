#!/bin/bash
# The picture in BENCHMARKS 2 (k): one generator (GEN, a build whose reports carry timelines)
# against the before and the after server in turn, at --rate max, then `parley bench plot`.
# usage: timelines.sh GEN BEFORE_SERVER AFTER_SERVER OUTDIR
GEN=$1; BEFORE=$2; AFTER=$3; R=$4; mkdir -p $R
ONE_MACHINE_LOAD="--handshake-rate-per-address 100000 --handshake-burst-per-address 20000 --max-unauthenticated 20000 --max-unauthenticated-per-address 20000 --registrations-per-minute 100000 --registrations-per-source-per-hour 100000 --sender-messages-per-second 100000 --sender-message-burst 100000 --sender-bytes-per-second 1000000000 --sender-byte-burst 1000000000 --max-inbox-messages 1000000"
for label in before after; do
  BIN=$BEFORE; [ $label = after ] && BIN=$AFTER
  D=/tmp/timelines-$label; rm -rf $D; mkdir -p $D
  $BIN/parley server --port 6249 --data $D/data --password-iterations 1000 --max-connections-per-address 20000 $ONE_MACHINE_LOAD --log-level Warning > $D/server.log 2>&1 &
  SP=$!
  for i in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/6249) 2>/dev/null && break; sleep 0.2; done
  $GEN/parley bench --port 6249 --clients 200 --size 256 --duration 5s --rate max > /dev/null 2>&1
  $GEN/parley bench --port 6249 --clients 200 --size 256 --duration 30s --rate max --warmup-time 3s --server-pid $SP --json > $R/max-$label.json
  kill $SP; wait $SP 2>/dev/null
done
$GEN/parley bench plot --out $R/before-after-max.png "before (SQLite rows)=$R/max-before.json" "after (inbox log)=$R/max-after.json"
