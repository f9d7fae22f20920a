#!/bin/bash
S=/work/main/docs/benchmarks/2026-12-06-s14-logins/scripts; T=/work/main/docs/benchmarks/2026-12-06-s16-machine/scripts
bash $T/ab-max.sh 3 40000 /work/s17/half base=/work/out-main:/work/out-main:- g0=/work/out-g0:/work/out-g0:- > /work/s17/half.log 2>&1
bash $S/storm-ab3.sh /work/s17/storms 5 base=/work/out-main:/work/out-main:--cpu,0:--login-concurrency,1024,--cpu,1 g0=/work/out-g0:/work/out-g0:--cpu,0:--login-concurrency,1024,--cpu,1 > /work/s17/storms.log 2>&1
echo ALLDONE >> /work/s17/storms.log
