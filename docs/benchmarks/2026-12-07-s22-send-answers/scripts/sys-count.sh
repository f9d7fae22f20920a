#!/bin/bash
# sys-count.sh BUILD LABEL [RATE] [SECONDS] [BENCH-EXTRA]: exact system-call counts (perf stat on syscall tracepoints) of server and
# generator over a window of a paced run, per message (RATE x window); GEN=BUILD2 runs another build as the generator
B=$1; L=$2; RATE=${3:-40000}; W=${4:-4}; X=$5; G=${GEN:-$B}
. /work/main/docs/benchmarks/2026-12-06-s11-runs/interleaved/bench-env.sh
D=/tmp/syscount-$L; rm -rf $D; mkdir -p $D
$B/parley server --port 6109 --data $D/data --password-iterations 1000 --max-connections-per-address 20000 $ONE_MACHINE_LOAD --log-level Warning > $D/server.log 2>&1 & SP=$!
for i in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/6109) 2>/dev/null && break; sleep 0.1; done
$G/parley bench --port 6109 --clients 200 --size 256 --duration $((W+9))s --rate $RATE --warmup-time 2s $X > $D/run.txt 2>&1 & GP=$!
E=syscalls:sys_enter_sendto,syscalls:sys_enter_recvfrom,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_futex,syscalls:sys_enter_sched_yield,syscalls:sys_enter_write,syscalls:sys_enter_sendmsg,context-switches,task-clock
sleep 7
perf stat -x, -e $E -p $GP -o $D/gen.csv -- sleep $W > /dev/null 2>&1 &
perf stat -x, -e $E -p $SP -o $D/srv.csv -- sleep $W > /dev/null 2>&1
wait $GP; sleep 0.5; kill $SP; wait $SP 2>/dev/null
echo "== $L rate $RATE"; grep -E "^  delivered|latency|CPU per" $D/run.txt
python3 - $D/gen.csv $D/srv.csv $((RATE*W)) <<'PY'
import sys
n = int(sys.argv[3])
rows = {}
for name, f in (('generator', sys.argv[1]), ('server', sys.argv[2])):
    for line in open(f):
        p = line.strip().split(',')
        if len(p) > 3 and p[0] and p[0][0].isdigit():
            ev = p[2].replace('syscalls:sys_enter_', '')
            v = float(p[0])
            rows.setdefault(ev, {})[name] = v * 1000 / n if ev == 'task-clock' else v / n
print(f"  per message      generator   server   (task-clock in us)")
for ev, d in rows.items():
    print(f"  {ev:16s} {d.get('generator', 0):9.3f} {d.get('server', 0):8.3f}")
PY
