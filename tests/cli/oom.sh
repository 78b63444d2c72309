#!/usr/bin/env bash
# Out of memory in the readers, after the copy too: each allocation of
# shmstat show, show --json, show -i and top failing in turn (the
# LD_PRELOAD library oom_fail, armed from the start with OOM_ARM=1, its
# OOM_FAIL_N-th call failing). Each run ends with exit 0 (the failure
# was absorbed) or 1 with one line on stderr; one that says "out of
# memory" says what was being done ("out of memory sorting the metrics
# of segment 'X'"): a bare "shmstat: out of memory" came from 20 places
# (sorting, laying out, listing the processes, reading a signature
# table...).
# Usage: oom.sh SHMSTAT CLI_FILL OOM_FAIL_SO
set -u
shmstat=$1
fill=$2
lib=$3
tag="clioom-$$"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/shmstat-oom-$$.XXXXXX") || exit 1
trap '"$shmstat" rm "$tag" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM PIPE      # the EXIT trap cleans up then too
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# LD_PRELOAD splits at spaces: the library by its name, from its directory
export LD_LIBRARY_PATH="${lib%/*}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
lib=${lib##*/}

"$fill" "$tag" || { bad "cli_fill failed"; finish; exit 1; }
after=0        # runs that failed after the copy, with the step named
for args in "show" "show --json" "show -i 10ms" "top"; do
	# shellcheck disable=SC2086 # the words of $args are arguments
	env LD_PRELOAD="$lib" OOM_ARM=1 OOM_FAIL_N=0 OOM_CALLS="$tmp/calls" \
		"$shmstat" $args "$tag" >/dev/null 2>"$tmp/err" || bad "$args with no failure: $(cat "$tmp/err")"
	total=$(cat "$tmp/calls" 2>/dev/null)
	[ "${total:-0}" -gt 0 ] && ok || { bad "$args: no allocation counted"; continue; }
	for n in $(seq 1 "$total"); do
		# shellcheck disable=SC2086
		env LD_PRELOAD="$lib" OOM_ARM=1 OOM_FAIL_N="$n" timeout -s KILL 60 \
			"$shmstat" $args "$tag" >/dev/null 2>"$tmp/err"
		rc=$?
		err=$(cat "$tmp/err")
		case $rc in
		0) ok ;;
		1)
			[ "$(grep -c . "$tmp/err")" = 1 ] && grep -q '^shmstat: [a-z]' "$tmp/err" && ok ||
				bad "$args, allocation $n of $total failing: stderr '$err'"
			if grep -q 'out of memory' "$tmp/err"; then
				grep -Eq "^shmstat: out of memory [a-z]+ .*'$tag'|^shmstat: out of memory [a-z]+ [a-z]" \
					"$tmp/err" && ok ||
					bad "$args, allocation $n of $total failing: '$err' does not say what was being done"
			fi
			grep -Eq "^shmstat: out of memory (sorting|laying out|computing the rates of|reading the metrics of|listing the processes of|summing the values of) .*segment '$tag'$|^shmstat: out of memory (reading|listing the keys of) signature table 'cli_sigs'$" \
				"$tmp/err" && after=$((after + 1))
			;;
		*) bad "$args, allocation $n of $total failing: exit $rc: $err" ;;
		esac
	done
done
# the steps after the copy were reached, each named
[ "$after" -ge 10 ] && ok || bad "$after runs failed after the copy with the step named"
finish
