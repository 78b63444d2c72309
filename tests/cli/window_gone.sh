#!/usr/bin/env bash
# A metric that is in a window but not in the window's last record (its
# segment re-created by a restarted writer that has not registered it
# again yet, or the metric removed): trend gives its figure over the
# window, and says "no metric" only for a metric no record of the window
# holds; show --history --window and top --history show it (they took
# the series from the last record alone: none shown, exit 0; "no
# signature table in the window", exit 1). The history is made by cli_hist_script on a synthetic clock: the
# figures are exact.
# Usage: window_gone.sh SHMSTAT CLI_HIST_SCRIPT
set -u
shmstat=$1
script=$2
seg="cliwg-$$"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/shmstat-wgone-$$.XXXXXX") || exit 1
trap '"$shmstat" rm "$seg" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM PIPE      # the EXIT trap cleans up then too
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

t0=1700000000
f=$tmp/h.shmhist
{
	echo "open $seg"
	echo "hcreate ${f##*/} 1:600"     # in $tmp: a path may have a space
	for i in 0 1 2 3; do
		echo "c gone_total 10"
		echo "h gone_ns 1000 2"
		echo "s gone_sigs k$i 5 acct"
		echo "c kept_total 1"
		echo "app $((t0 + i))"
	done
	# the writer restarts and re-creates its segment; a record is taken
	# before it registers its metrics again
	echo "close"
	echo "unlink $seg"
	echo "open $seg"
	echo "c kept_total 1"
	echo "app $((t0 + 4))"
} | (cd "$tmp" && exec "$script") >"$tmp/out" 2>&1
if grep -q ERR "$tmp/out"; then bad "cli_hist_script: $(cat "$tmp/out")"; else ok; fi

# gone_total: 10, 20, 30, 40 at t0..t0+3, then no such series: 30 gained
# from the first record to the last in the window, 30 / 4 s
expect 0 '"value":30,' "" -- "$shmstat" trend "$f" gone_total -w 10s --at "@$((t0 + 4))" \
	-f increase --json
expect 0 '"value":7.5,' "" -- "$shmstat" trend "$f" gone_total -w 10s --at "@$((t0 + 4))" --json
# gone_ns: 2 values of 1000 ns a record, 6 after the first one; its unit
# is known from the record that holds it
expect 0 '^gone_ns quantile p50 over 10s ending .*: 1(\.0[0-9]*)?us \(6 samples, 5 records\)$' "" -- \
	"$shmstat" trend "$f" gone_ns -w 10s --at "@$((t0 + 4))" -q 0.5
# a window that holds none of its records, and a metric never recorded
expect 1 "" "^shmstat: no metric 'gone_total' in .* in the 1s window ending " -- \
	"$shmstat" trend "$f" gone_total -w 1s --at "@$((t0 + 5))"
expect 1 "" "^shmstat: no metric 'never_total' in .* in the 10s window ending " -- \
	"$shmstat" trend "$f" never_total -w 10s --at "@$((t0 + 4))"
# a metric of the last record, which came before the window: none in it
# (it was exit 0, "no value")
expect 1 "" "^shmstat: no metric 'kept_total' in .* in the 10s window ending " -- \
	"$shmstat" trend "$f" kept_total -w 10s --at "@$((t0 + 100))"
# show --window: every series of the window, in order; the unit from the
# window's first record
"$shmstat" show --history "$f" --window 10s --at "@$((t0 + 4))" >"$tmp/w.txt" 2>&1 ||
	bad "show --window exited $?: $(cat "$tmp/w.txt")"
grep -Eqx 'gone_ns histogram count=6 rate=1\.5/s p50=1(\.0[0-9]*)?us p95=1(\.0[0-9]*)?us p99=1(\.0[0-9]*)?us' \
	"$tmp/w.txt" && ok || bad "show --window: no gone_ns line: $(cat "$tmp/w.txt")"
grep -qx 'gone_sigs sigtable hits=3 misses=0 hit_ratio=100.0% weight=15' "$tmp/w.txt" && ok ||
	bad "show --window: no gone_sigs line: $(cat "$tmp/w.txt")"
grep -qx 'gone_total counter increase=30 rate=7.5/s' "$tmp/w.txt" && ok ||
	bad "show --window: no gone_total line: $(cat "$tmp/w.txt")"
[ "$(grep -c '^gone_' "$tmp/w.txt")" -eq 3 ] &&
	[ "$(grep '^gone_' "$tmp/w.txt" | sort)" = "$(grep '^gone_' "$tmp/w.txt")" ] && ok ||
	bad "show --window: not the 3 series in order: $(cat "$tmp/w.txt")"
expect 0 '"name":"gone_total","labels":"","type":"counter","samples":30,"resets":0,"increase":30,"rate":7.5' "" -- \
	"$shmstat" show --history "$f" --window 10s --at "@$((t0 + 4))" --json
# top --history: the table's figures over the window
expect 0 '^gone_sigs: 3 hits, 0 misses, hit ratio 100\.0%, weight 15$' "" -- \
	"$shmstat" top --history "$f" --window 10s --at "@$((t0 + 4))"
expect 0 '^gone_sigs: 3 hits, 0 misses, hit ratio 100\.0%, weight 15$' "" -- \
	"$shmstat" top --history "$f" --window 10s --at "@$((t0 + 4))" gone_sigs
finish
