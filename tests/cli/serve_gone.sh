#!/usr/bin/env bash
# shmstat serve without -s (every segment found in /dev/shm at each
# scrape): a segment removed between two scrapes is shmstat_segment_up 0
# at the next scrape, its series gone, and serve says on stderr it is
# down, as for a segment named with -s (docs/prometheus.md,
# "Self-metrics"); the scrape after that no longer lists it. It was left
# out at once, with no up 0 and no word, so that the alert
# shmstat_segment_up == 0 never fired for a segment that was gone.
# A name created again is served anew.
# Usage: serve_gone.sh SHMSTAT CLI_FILL
set -u
shmstat=$1
fill=$2
tag="cliservgone-$$"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/shmstat-servgone-$$.XXXXXX") || exit 1
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; "$shmstat" rm "$tag-a" "$tag-b" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM PIPE      # the EXIT trap cleans up then too
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || { echo "curl not found: skipped"; exit 77; }

if ! "$fill" "$tag-a" || ! "$fill" "$tag-b"; then bad "cli_fill failed"; finish; exit 1; fi
"$shmstat" serve --listen 127.0.0.1:0 2>"$tmp/serve.err" &
pid=$!
port=
# until it says where it listens (or is gone): a condition, not a delay
for _ in $(seq 200); do
	port=$(grep -o '127.0.0.1:[0-9]*/metrics' "$tmp/serve.err" | sed 's/.*:\([0-9]*\)\/.*/\1/')
	[ -n "$port" ] && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.05
done
[ -n "$port" ] || { bad "serve did not start: $(cat "$tmp/serve.err")"; finish; exit 1; }
scrape() { curl -sf "http://127.0.0.1:$port/metrics" >"$tmp/$1" || bad "GET /metrics ($1)"; }
up() { grep -x "shmstat_segment_up{segment=\"$tag-$2\"} [01]" "$tmp/$1" | sed 's/.* //'; }

scrape m1
[ "$(up m1 a)" = 1 ] && [ "$(up m1 b)" = 1 ] && ok || bad "first scrape: a up '$(up m1 a)', b up '$(up m1 b)'"
grep -qx "cli_errors_total{segment=\"$tag-a\"} 3" "$tmp/m1" && ok || bad "first scrape: no cli_errors_total of a"

"$shmstat" rm "$tag-a" || bad "rm $tag-a"
scrape m2
[ "$(up m2 a)" = 0 ] && ok || bad "the scrape after rm: a up '$(up m2 a)', expected 0"
[ "$(up m2 b)" = 1 ] && ok || bad "the scrape after rm: b up '$(up m2 b)', expected 1"
if grep -v '^shmstat_' "$tmp/m2" | grep -q "segment=\"$tag-a\""; then
	bad "series of the removed segment still exported: $(grep -v '^shmstat_' "$tmp/m2" | grep "segment=\"$tag-a\"" | head -n 3)"
else ok; fi
grep -q "^shmstat: segment '$tag-a' is down: " "$tmp/serve.err" && ok ||
	bad "serve did not say the segment is down: $(cat "$tmp/serve.err")"

# once said down, forgotten: a name no longer in /dev/shm
scrape m3
if grep -q "segment=\"$tag-a\"" "$tmp/m3"; then
	bad "the removed segment still listed two scrapes later: $(grep "segment=\"$tag-a\"" "$tmp/m3" | head -n 3)"
else ok; fi
[ "$(up m3 b)" = 1 ] && ok || bad "third scrape: b up '$(up m3 b)'"

# created again: served anew
"$fill" "$tag-a" || bad "cli_fill again"
scrape m4
[ "$(up m4 a)" = 1 ] && grep -qx "cli_errors_total{segment=\"$tag-a\"} 3" "$tmp/m4" && ok ||
	bad "created again: a up '$(up m4 a)'"

kill "$pid" 2>/dev/null
wait "$pid"; rc=$?
[ "$rc" = 0 ] && ok || bad "serve exited $rc at SIGTERM"
pid=
finish
