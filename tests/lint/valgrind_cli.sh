#!/usr/bin/env bash
# valgrind_cli.sh VALGRIND_SH SHMSTAT CLI_FILL - the reader commands of the
# shmstat tool under valgrind (valgrind.sh) on a real segment, with its
# writer (cli_fill ... hold) attached: show in every format, top, hist,
# list, and a history file (record --count 2, show --history, trend).
# Fails on any valgrind error, on a command's failure, or on empty output.
set -u
vg=$1
shmstat=$2
fill=$3
tag="vg-$$"
dir=$(mktemp -d) || exit 1
fail=0
holder=

cleanup() {
	[ -n "$holder" ] && kill "$holder" 2>/dev/null && wait "$holder" 2>/dev/null
	"$shmstat" rm "$tag" >/dev/null 2>&1
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM PIPE      # the EXIT trap cleans up then too

# run [-e CODES] [-q] DESCRIPTION -- command...: under valgrind, no
# valgrind error (exit 99 here), an exit code of CODES (default 0), and
# some output on stdout unless -q
run() {
	local codes=0 quiet=0 what rc
	[ "$1" = -e ] && { codes=$2; shift 2; }
	[ "$1" = -q ] && { quiet=1; shift; }
	what=$1
	shift 2
	VALGRIND_ERROR_EXIT=99 "$vg" "$@" > "$dir/out" 2> "$dir/err" < /dev/null
	rc=$?
	if [ "$rc" -eq 77 ]; then
		cat "$dir/out"
		exit 77
	fi
	if [ "$rc" -eq 99 ] || ! grep -qw -- "$rc" <<<"$codes" ||
	   { [ "$quiet" -eq 0 ] && [ ! -s "$dir/out" ]; }; then
		echo "FAIL: $what (exit $rc)"
		cat "$dir/err"
		fail=$((fail + 1))
	else
		echo "ok: $what"
	fi
}

coproc FILL { exec "$fill" "$tag" hold; }
holder=$FILL_PID
read -r -t 30 line <&"${FILL[0]}"
if [ "${line:-}" != "ready" ]; then
	echo "FAIL: cli_fill did not start"
	exit 1
fi

run "show"            -- "$shmstat" show "$tag"
run "show -p"         -- "$shmstat" show -p "$tag"
run "show --json"     -- "$shmstat" show --json "$tag"
run "show --prom"     -- "$shmstat" show --prom "$tag"
run "show --openmetrics" -- "$shmstat" show --openmetrics "$tag"
run "show --csv"      -- "$shmstat" show --csv "$tag"
run "show -i"         -- "$shmstat" show -i 10ms -p "$tag"
run "show -i --json"  -- "$shmstat" show -i 10ms --json "$tag"
run "watch"           -- "$shmstat" watch -i 10ms -n 3 "$tag"
run "watch --lines"   -- "$shmstat" watch --lines -h 1 -t -i 10ms -n 3 "$tag"
run "top"             -- "$shmstat" top "$tag"
run "top --by weight" -- "$shmstat" top --by weight -n 1 "$tag" cli_sigs
run "hist"            -- "$shmstat" hist "$tag" cli_latency
# other tests' segments come and go meanwhile: exit 1 naming one is fine
run -e "0 1" "list"   -- "$shmstat" list
run -q "record --count 2" -- "$shmstat" record --interval 10ms --count 2 -o "$dir/h.shmhist" "$tag"
run "show --history"  -- "$shmstat" show --history "$dir/h.shmhist" --json
run "show --history --window" -- "$shmstat" show --history "$dir/h.shmhist" --window 1h
run "trend"           -- "$shmstat" trend --window 1h "$dir/h.shmhist" cli_latency

if [ "$fail" -ne 0 ]; then
	echo "$fail command(s) failed under valgrind"
	exit 1
fi
echo "all reader commands clean under valgrind"
