#!/bin/bash
OUT=$1; LABEL=$2
. "$(dirname "$0")/../../2026-12-06-s11-runs/interleaved/bench-env.sh"   # ONE_MACHINE_LOAD: the server flags of BENCHMARKS §2
D=/tmp/perf-$LABEL; rm -rf $D; mkdir -p $D
DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 $OUT/parley server --port 6106 --data $D/data --password-iterations 1000 --max-connections-per-address 20000 $ONE_MACHINE_LOAD --log-level Warning > $D/server.log 2>&1 &
SP=$!; sleep 2
${GEN:?set GEN to the generator build}/parley bench --port 6106 --clients 200 --size 256 --duration 5s --rate max $EXTRA > /dev/null 2>&1
(sleep 8; perf record -F 999 -g -p $SP -o $D/perf.data -- sleep 15 > $D/perf.log 2>&1) &
${GEN:?set GEN to the generator build}/parley bench --port 6106 --clients 200 --size 256 --duration 25s --rate ${RATE:-max} $EXTRA --server-pid $SP > $D/bench.txt 2>&1
sleep 1; kill $SP; wait $SP 2>/dev/null
perf report -i $D/perf.data --no-children --sort dso -g none 2>/dev/null | grep -v "^#" | grep -v "^$" | head -12 > $D/by-dso.txt
perf report -i $D/perf.data --no-children --sort sym -g none 2>/dev/null | grep -v "^#" | grep -v "^$" | head -40 > $D/by-symbol.txt
perf report -i $D/perf.data --children --sort sym -g none 2>/dev/null | grep -v "^#" | grep -v "^$" | grep -E "Parley|Json|Sqlite|sqlite3_step" | head -40 > $D/inclusive.txt
grep -E "delivered|CPU per|cores" $D/bench.txt; cat $D/by-dso.txt
