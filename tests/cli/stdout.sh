#!/usr/bin/env bash
# What a command prints must reach stdout: to a full disk (/dev/full,
# ENOSPC) or a closed stdout (EBADF) each command says so on stderr and
# exits 1 (check: 3, UNKNOWN), instead of exit 0 with its output lost
# (show, hist, top, list, check, help and --version did; watch without a
# count went on forever). flame and show --json say it in their own words.
# Usage: stdout.sh SHMSTAT CLI_FILL
set -u
shmstat=$1
fill=$2
seg="clio-$$"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/shmstat-stdout-$$.XXXXXX") || exit 1
trap '"$shmstat" rm "$seg" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM PIPE      # the EXIT trap cleans up then too
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

"$fill" "$seg" || { echo "FAIL: cli_fill failed"; exit 1; }
# cli_depth_max is 7: a WARNING, an answer check must not lose
cat > "$tmp/rules.yaml" <<'RULES'
rules:
  - {name: depth, gauge: cli_depth_max, above: {warning: 5}}
RULES

# to_full CODE ERR_RE -- COMMAND...: stdout /dev/full, then closed (the
# reason is lost when stdio dropped what it could not write, before exit)
to_full() {
	local code=$1 re=$2
	shift 3
	expect "$code" "" "$re(: No space left on device)?$" -- sh -c '"$@" > /dev/full' sh "$@"
	expect "$code" "" "$re(: Bad file descriptor)?$" -- sh -c '"$@" >&-' sh "$@"
}
out='^shmstat: cannot write standard output'
to_full 1 "$out" -- "$shmstat" show "$seg"
to_full 1 "$out" -- "$shmstat" show --csv "$seg"
to_full 1 "$out" -- "$shmstat" show --prom "$seg"
to_full 1 "$out" -- "$shmstat" hist "$seg" cli_latency
# (list exits 1 for a segment it cannot read, as other users' may be)
to_full 1 "$out" -- "$shmstat" list
to_full 1 "$out" -- "$shmstat" --version
to_full 1 "$out" -- "$shmstat" help
to_full 1 "$out" -- "$shmstat" show --help
to_full 3 "$out" -- "$shmstat" check --rules "$tmp/rules.yaml" "$seg"
expect 1 "^SHMSTAT WARNING - " "" -- "$shmstat" check --rules "$tmp/rules.yaml" "$seg"
# show --json says it in its own words when its buffer filled, once
expect 1 "" "^shmstat: cannot write (JSON|standard output: No space left on device)$" -- sh -c '"$@" > /dev/full' sh "$shmstat" show --json "$seg"
[ "$(wc -l < "$tmp/expect.err")" = 1 ] && ok || bad "show --json: $(cat "$tmp/expect.err")"
# a command that failed already keeps its status and its one message
expect 1 "" "^shmstat: segment '$seg-none' does not exist$" -- \
	sh -c '"$@" > /dev/full' sh "$shmstat" show "$seg-none"
# watch stops at the first refresh it cannot write (the timeout is a
# guard: it went on for ever)
expect 1 "" "$out" -- sh -c '"$@" > /dev/full' sh timeout 60 "$shmstat" watch -i 10ms "$seg"
expect 1 "" "$out" -- sh -c '"$@" > /dev/full' sh timeout 60 "$shmstat" watch --lines -i 10ms "$seg"
# and what it printed is one line, not one per try
[ "$(wc -l < "$tmp/expect.err")" = 1 ] && ok || bad "watch --lines: $(cat "$tmp/expect.err")"
finish
