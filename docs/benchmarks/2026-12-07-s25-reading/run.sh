#!/bin/bash
# Session 25's reading of issue 13's targets on this machine: main's build (server code as 82cfc2b), same scripts as §2 (v)/(x).
cd /work/main
T=docs/benchmarks/2026-12-06-s16-machine/scripts; S=docs/benchmarks/2026-12-06-s14-logins/scripts
B=/work/out-s25; O=/work/s25
date -u; /tmp/sysc | head -1; nproc; uptime
bash $T/ab-max.sh 4 max $O/max base=$B:$B:- 
date -u; /tmp/sysc | head -1
bash $T/ab-max.sh 6 40000 $O/half base=$B:$B:-
date -u; /tmp/sysc | head -1
bash $S/storm-ab3.sh $O/storm 6 base=$B:$B:--cpu,0:--login-concurrency,1024,--cpu,1
date -u; /tmp/sysc | head -1; uptime
