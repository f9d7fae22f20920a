#!/bin/bash
# jit-over-time.sh SERVER_BUILD GEN_BUILD: the server's "Tiered Compilation" thread CPU (ms per second) through ab-max.sh's sequence (5 s at max, then 3 s warm-up + 20 s at 40,000 msg/s)
SB=$1; GB=$2
. /work/main/docs/benchmarks/2026-12-06-s11-runs/interleaved/bench-env.sh
D=/tmp/jit-ot; rm -rf $D; mkdir -p $D
$SB/parley server --port 6244 --data $D/data --password-iterations 1000 --max-connections-per-address 20000 $ONE_MACHINE_LOAD --log-level Warning > $D/server.log 2>&1 & SP=$!
for i in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/6244) 2>/dev/null && break; sleep 0.2; done
( $GB/parley bench --port 6244 --clients 200 --size 256 --duration 5s --rate max > /dev/null 2>&1
  $GB/parley bench --port 6244 --clients 200 --size 256 --duration 20s --rate 40000 --window 8 --warmup-time 3s --server-pid $SP > $D/run.txt 2>&1 ) & BP=$!
python3 - $SP $BP <<'PY'
import os, sys, time
sp, bp = sys.argv[1], int(sys.argv[2])
def jit_and_all():
    j = a = 0
    for t in os.listdir(f"/proc/{sp}/task"):
        try:
            st = open(f"/proc/{sp}/task/{t}/stat").read(); name = st[st.index("(")+1:st.rindex(")")]; f = st[st.rindex(")")+2:].split()
            v = int(f[11]) + int(f[12]); a += v
            if name.startswith(".NET Tiered"): j += v
        except OSError: pass
    return j, a
t0 = time.time(); pj, pa = jit_and_all(); sec = 0
while True:
    time.sleep(1); sec += 1
    if not os.path.exists(f'/proc/{bp}') or open(f'/proc/{bp}/stat').read().split()[2] == 'Z': break
    j, a = jit_and_all()
    print(f"{sec:3d} s  JIT {10*(j-pj):5d} ms/s  server {10*(a-pa):5d} ms/s")
    pj, pa = j, a
PY
wait $BP; kill $SP; wait $SP 2>/dev/null; grep -E "^  delivered|CPU per" $D/run.txt
