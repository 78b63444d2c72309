#!/bin/bash
# oom_sweep.sh PROG OOM_FAIL_SO [ARGS...] - PROG (test_oom_*.c) with no
# allocation failing, which prints how many it made while armed, then
# with each of those failing in turn (OOM_FAIL_N=N). Every run must exit
# 0: no abort, no hang (a run is stopped after 60 s; they take
# milliseconds), every result checked by PROG.
set -u
prog=$1 lib=$2
shift 2
# LD_PRELOAD splits at spaces: the library by its name, from its directory
# (the build tree under "/tmp/my clone" preloaded /tmp/my, and nothing)
export LD_LIBRARY_PATH="${lib%/*}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
lib=${lib##*/}
total=$(env LD_PRELOAD="$lib" OOM_FAIL_N=0 timeout -s KILL 60 "$prog" "$@" 0) ||
	{ echo "no-failure run failed"; exit 1; }
[ "$total" -gt 0 ] || { echo "no allocation counted"; exit 1; }
fails=0
for n in $(seq 1 "$total"); do
	out=$(env LD_PRELOAD="$lib" OOM_FAIL_N=$n timeout -s KILL 60 "$prog" "$@" "$n" 2>&1)
	rc=$?
	if [ $rc -ne 0 ]; then
		echo "allocation $n of $total failing: exit $rc: $out" | head -5
		fails=$((fails + 1))
	fi
done
echo "$total runs, $fails failed"
[ "$fails" -eq 0 ]
