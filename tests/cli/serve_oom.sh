#!/usr/bin/env bash
# Out of memory in shmstat serve while it answers: for each of /metrics,
# /api/v1/show, /api/v1/top and /api/v1/segments, each allocation made
# after serve is up (the LD_PRELOAD library oom_fail, armed by SIGUSR2
# with OOM_ARM=signal, its OOM_FAIL_N-th call from then failing) fails in
# turn, one serve per allocation. The request gets its answer (200), a
# 500 (or a 503: the segment could not be read) whose body says what was
# being done ("out of memory making the scrape of every segment", not a
# bare "out of memory"), or its
# connection closed (libmicrohttpd's own allocations); serve answers
# /healthz after it and exits 0 at SIGTERM.
# Usage: serve_oom.sh SHMSTAT CLI_FILL OOM_FAIL_SO
set -u
shmstat=$1
fill=$2
lib=$3
tag="cliservoom-$$"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/shmstat-servoom-$$.XXXXXX") || exit 1
pid=
trap '[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; "$shmstat" rm "$tag" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM PIPE      # the EXIT trap cleans up then too
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || { echo "curl not found: skipped"; exit 77; }
# LD_PRELOAD splits at spaces: the library by its name, from its directory
export LD_LIBRARY_PATH="${lib%/*}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
lib=${lib##*/}

"$fill" "$tag" || { bad "cli_fill failed"; finish; exit 1; }

# start serve with the N-th allocation after SIGUSR2 failing; $port, $pid
start() {
	rm -f "$tmp/armed" "$tmp/calls" "$tmp/serve.err"
	env LD_PRELOAD="$lib" OOM_ARM=signal OOM_ARMED="$tmp/armed" OOM_FAIL_N="$1" \
		OOM_CALLS="$tmp/calls" "$shmstat" serve --listen 127.0.0.1:0 -s "$tag" \
		2>"$tmp/serve.err" &
	pid=$!
	port=
	# until it says where it listens (or is gone): a condition, not a delay
	while [ -z "$port" ] && kill -0 "$pid" 2>/dev/null; do
		port=$(grep -so '127.0.0.1:[0-9]*/metrics' "$tmp/serve.err" | sed 's/.*:\([0-9]*\)\/.*/\1/')
		[ -n "$port" ] || sleep 0.02
	done
	[ -n "$port" ] || { bad "serve did not start: $(cat "$tmp/serve.err")"; return 1; }
	kill -USR2 "$pid"
	while [ ! -e "$tmp/armed" ] && kill -0 "$pid" 2>/dev/null; do
		sleep 0.01
	done
	[ -e "$tmp/armed" ] || { bad "serve was not armed: $(cat "$tmp/serve.err")"; return 1; }
}

# SIGTERM: serve must exit 0
stop() {
	local rc
	kill -TERM "$pid"
	wait "$pid"; rc=$?
	pid=
	[ "$rc" = 0 ] && ok || bad "$1: serve exited $rc: $(cat "$tmp/serve.err")"
}

named=0        # 500s whose body says what was being done
for path in "/metrics" "/api/v1/show?segment=$tag" "/api/v1/top?segment=$tag" "/api/v1/segments"; do
	start 0 || continue
	code=$(curl -s -o "$tmp/body" -w '%{http_code}' --max-time 60 "http://127.0.0.1:$port$path")
	[ "$code" = 200 ] && ok || bad "$path with no failure: $code $(cat "$tmp/body")"
	stop "$path"
	total=$(cat "$tmp/calls" 2>/dev/null)
	[ "${total:-0}" -gt 0 ] && ok || { bad "$path: no allocation counted"; continue; }
	for n in $(seq 1 "$total"); do
		start "$n" || continue
		code=$(curl -s -o "$tmp/body" -w '%{http_code}' --max-time 60 \
			"http://127.0.0.1:$port$path")
		body=$(head -c 300 "$tmp/body" 2>/dev/null)
		case $code in
		200|000) ok ;;
		500|503)
			# 503: the segment could not be read (its copy failed)
			if grep -Eq 'out of memory [a-z]+ [a-z]' <<<"$body"; then
				named=$((named + 1))
				ok
			else
				bad "$path, allocation $n of $total failing: 500 '$body' does not say what was being done"
			fi
			;;
		*) bad "$path, allocation $n of $total failing: HTTP $code '$body'" ;;
		esac
		# still serving
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 60 \
			"http://127.0.0.1:$port/healthz")
		[ "$code" = 200 ] && ok || bad "$path, allocation $n failing: /healthz then: $code"
		grep -q "Sanitizer\|runtime error" "$tmp/serve.err" &&
			bad "$path, allocation $n failing: $(cat "$tmp/serve.err")"
		stop "$path, allocation $n"
	done
done
# the answers' own allocations were reached, and their failures named
[ "$named" -ge 4 ] && ok || bad "only $named answers of 500 said what was being done"
finish
