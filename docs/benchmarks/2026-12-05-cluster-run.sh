#!/usr/bin/env bash
# Cluster benchmark: PostgreSQL 15 (fsync on, defaults) + Redis, one node vs two nodes, SQLite for reference.
set -u
cd "$(dirname "$0")/../.."
OUT=/tmp/pb/out; rm -rf /tmp/pb/pg /tmp/pb/d* /tmp/pb/home; mkdir -p /tmp/pb/pg /tmp/pb/home
chown -R postgres:postgres /tmp/pb/pg
PGB=/usr/lib/postgresql/15/bin
runuser -u postgres -- $PGB/initdb -D /tmp/pb/pg/data -U parley --auth=trust -E UTF8 --no-instructions >/dev/null
runuser -u postgres -- $PGB/pg_ctl -D /tmp/pb/pg/data -l /tmp/pb/pg/log -w -o "-p 55432 -k /tmp/pb/pg -c listen_addresses=127.0.0.1 -c max_connections=300" start >/dev/null
redis-server --port 56379 --bind 127.0.0.1 --save '' --appendonly no --daemonize yes --logfile /tmp/pb/redis.log --dir /tmp/pb
P=src/Parley.Cli/bin/Release/net10.0/parley.dll
LOAD="--password-iterations 1000 --handshake-rate-per-address 100000 --handshake-burst-per-address 20000 --max-unauthenticated 20000 --max-unauthenticated-per-address 20000 --registrations-per-minute 100000 --registrations-per-source-per-hour 100000 --sender-messages-per-second 100000 --sender-message-burst 100000 --sender-bytes-per-second 1000000000 --sender-byte-burst 1000000000 --max-inbox-messages 1000000 --max-connections-per-address 20000 --log-level Warning"
export PARLEY_HOME=/tmp/pb/home
node() { # name port store bus
  mkdir -p /tmp/pb/$1; chmod 700 /tmp/pb/$1
  dotnet $P server --host 127.0.0.1 --port $2 --data /tmp/pb/$1 $3 $4 $LOAD > /tmp/pb/$1.log 2>&1 &
  echo $!
}
waitfor() { for i in $(seq 1 100); do grep -q "Waiting for connections" /tmp/pb/$1.log && return; sleep 0.2; done; cat /tmp/pb/$1.log; }
bench() { # label args...
  label=$1; shift
  echo "### $label: parley bench $*" | tee -a $OUT
  dotnet $P bench "$@" 2>&1 | tee -a $OUT | tail -9
}
: > $OUT
echo "machine: $(nproc) cores, $(grep MemTotal /proc/meminfo), $(date -u +%FT%TZ)" >> $OUT
# 1. SQLite, one node
S=$(node dsqlite 6101 "" ""); waitfor dsqlite
bench "sqlite-1node-max" --host 127.0.0.1:6101 --clients 200 --size 256 --duration 20s --rate max --user-prefix s
bench "sqlite-1node-paced" --host 127.0.0.1:6101 --clients 200 --size 256 --duration 20s --rate 2000 --user-prefix s
kill $S; wait $S 2>/dev/null
# 2. PostgreSQL + Redis, one node
A=$(node dpg1 6201 "--store postgres://parley@127.0.0.1:55432/postgres" "--bus redis://127.0.0.1:56379?prefix=one"); waitfor dpg1
bench "pg-1node-max" --host 127.0.0.1:6201 --clients 200 --size 256 --duration 20s --rate max --user-prefix p
bench "pg-1node-paced" --host 127.0.0.1:6201 --clients 200 --size 256 --duration 20s --rate 2000 --user-prefix p
kill $A; wait $A 2>/dev/null
# 3. PostgreSQL + Redis, two nodes sharing one identity; clients alternate between them (half the messages cross nodes)
mkdir -p /tmp/pb/dpg2a /tmp/pb/dpg2b; chmod 700 /tmp/pb/dpg2a /tmp/pb/dpg2b; cp /tmp/pb/dpg1/server-identity.key /tmp/pb/dpg2a/; cp /tmp/pb/dpg1/server-identity.key /tmp/pb/dpg2b/
B1=$(node dpg2a 6301 "--store postgres://parley@127.0.0.1:55432/postgres" "--bus redis://127.0.0.1:56379?prefix=two"); waitfor dpg2a
B2=$(node dpg2b 6302 "--store postgres://parley@127.0.0.1:55432/postgres" "--bus redis://127.0.0.1:56379?prefix=two"); waitfor dpg2b
bench "pg-2nodes-max" --host 127.0.0.1:6301 --host 127.0.0.1:6302 --clients 200 --size 256 --duration 20s --rate max --user-prefix p
bench "pg-2nodes-paced" --host 127.0.0.1:6301 --host 127.0.0.1:6302 --clients 200 --size 256 --duration 20s --rate 2000 --user-prefix p
kill $B1 $B2; wait $B1 $B2 2>/dev/null
runuser -u postgres -- $PGB/pg_ctl -D /tmp/pb/pg/data -m fast -w stop >/dev/null
redis-cli -p 56379 shutdown nosave
echo done >> $OUT
