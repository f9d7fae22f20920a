#!/bin/bash
. /work/bench-env.sh
rm -rf /tmp/stsv; mkdir /tmp/stsv
${SRV}/parley server --port 6118 --data /tmp/stsv/data --password-iterations 1000 --max-connections-per-address 20000 $ONE_MACHINE_LOAD --log-level Warning > /tmp/stsv/server.log 2>&1 &
SP=$!; sleep 2
/work/out-s8base/parley bench --port 6118 --clients 200 --size 256 --duration 3s --rate 5000 > /dev/null 2>&1
(sleep 5; timeout -s INT 3 strace -f -p $SP -e trace=pwrite64,fsync,fdatasync -o /tmp/stsv/trace.txt ) &
/work/out-s8base/parley bench --port 6118 --clients 200 --size 256 --duration 12s --rate ${RATE:-15000} --server-pid $SP 2>&1 | grep -E "  delivered|CPU per"
sleep 4; kill $SP
