#!/usr/bin/env bash
# A window whose start falls in a gap of the history (a recorder stopped
# for hours, a machine suspended, the wall clock stepped a day forward
# between two records): check took its increase from the last record
# before the gap, a day before, and said OK with the day's average (a
# writer at 880/s: "rate = 0.0102/s"). Now a window's value says the
# time its records span when that is more than 10% longer than the
# window (check: text, --json span_ns, perfdata NAME_span; trend and
# show --window: text and --json span_ns; top --history: text), and in
# check a window whose records span more than 3 times it has no value:
# UNKNOWN, saying so.
# Records every 10 minutes (cron) still serve 5m windows, saying so.
# The history is made by cli_hist_script, its records placed against
# the real clock (check reads it): the figures are exact.
# Usage: window_span.sh SHMSTAT CLI_HIST_SCRIPT
set -u
shmstat=$1
script=$2
seg="cliws-$$"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/shmstat-wspan-$$.XXXXXX") || exit 1
trap '"$shmstat" rm "$seg" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM PIPE      # the EXIT trap cleans up then too
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

rules() {        # rules NAME WINDOW: a rate rule on span_total
	printf 'rules:\n  - name: %s\n    rate: span_total\n    window: %s\n    above: {critical: 1e12}\n' \
		"$1" "$2" > "$tmp/$1.yaml"
}

# check every record of a script is placed against: the check runs a
# few seconds after $now at most (a window of minutes is not near any
# record's edge)
now=$(date +%s)

# --- the wall clock stepped a day forward between two records of a
# recorder at 1 s, a writer at 880/s: the 5m window's start is in the
# gap; its records span a day less a second (it said OK, 0.01019/s)
{
	for i in 3 2 1 0; do
		echo "c span_total 880"
		echo "s span_sigs k1 5 acct"
		echo "app $((now - 86400 - i))"
	done
	echo "c span_total 880"
	echo "s span_sigs k1 5 acct"
	echo "app $((now - 1))"
} | hist_make day.shmhist
rules r5 5m
expect 3 '^SHMSTAT UNKNOWN - r5: its records span 86399s, more than 3 times the 5m window \(a gap in the history: recorder stopped, machine suspended or clock stepped\?\) \| '"'r5_span'=86399s"'$' "" -- \
	"$shmstat" check -r "$tmp/r5.yaml" -H "$tmp/day.shmhist" --no-state "$seg"
expect 3 '"value":null,"span_ns":86399000000000,"samples":880,"why":"its records span 86399s' "" -- \
	"$shmstat" check -r "$tmp/r5.yaml" -H "$tmp/day.shmhist" --no-state --json "$seg"
expect 3 '^UNKNOWN  rate:span_total: rate of span_total over 5m: its records span 86399s, more' "" -- \
	"$shmstat" check --rate span_total --window 5m -c 1e12 -H "$tmp/day.shmhist" "$seg"
# trend and show --window give the figure (they judge nothing) and say
# the span
expect 0 "^span_total rate over 5m ending .*: 0\.01019/s \(880 samples, 2 records, its records span 86399s\)$" "" -- \
	"$shmstat" trend "$tmp/day.shmhist" span_total -w 5m --at "@$now"
expect 0 '"records":2,"span_ns":86399000000000,"value":0\.01018530307063' "" -- \
	"$shmstat" trend "$tmp/day.shmhist" span_total -w 5m --at "@$now" --json
expect 0 '^segment .* \(2 records, its records span 86399s\)$' "" -- \
	"$shmstat" show --history "$tmp/day.shmhist" --window 5m --at "@$now"
expect 0 '"records":2,"span_ns":86399000000000,"series":\[.*\{"name":"span_total".*"increase":880,' "" -- \
	"$shmstat" show --history "$tmp/day.shmhist" --window 5m --at "@$now" --json
expect 0 '^over 5m ending .* \(2 records, its records span 86399s\)$' "" -- \
	"$shmstat" top --history "$tmp/day.shmhist" --window 5m --at "@$now"
expect 0 '^segment .* \(5 records\)$' "" -- \
	"$shmstat" show --history "$tmp/day.shmhist" --window 2d --at "@$now"
# a 2d window holds the whole history, which starts inside it: 4 x 880
# events over the 86,402 s from its first record to its last, no note (a
# span shorter than asked)
rules r2d 2d
expect 0 "^SHMSTAT OK - r2d = 0.04074/s \| 'r2d'=0.0407398;;~:1000000000000;0$" "" -- \
	"$shmstat" check -r "$tmp/r2d.yaml" -H "$tmp/day.shmhist" --no-state "$seg"

# --- a recorder stopped for an hour: records every second from now-4000
# to now-3600 (360 events a record), then again from now-10 (1000 a
# record)
{
	for ((t = now - 4000; t <= now - 3600; t++)); do
		echo "c span_total 360"
		echo "app $t"
	done
	for ((t = now - 10; t < now; t++)); do
		echo "c span_total 1000"
		echo "app $t"
	done
} | hist_make stop.shmhist
expect 3 '^SHMSTAT UNKNOWN - r5: its records span 3599s, more than 3 times the 5m window' "" -- \
	"$shmstat" check -r "$tmp/r5.yaml" -H "$tmp/stop.shmhist" --no-state "$seg"
# 1h: from the record at now-3600 to the last, at now-1: 10,000 events
# over 3,599 s, 1h less a second: no note
rules r1h 1h
expect 0 "^SHMSTAT OK - r1h = 2.779/s \| 'r1h'=2.77855;;~:1000000000000;0$" "" -- \
	"$shmstat" check -r "$tmp/r1h.yaml" -H "$tmp/stop.shmhist" --no-state "$seg"
# 20m: from the same record (the last before now-20m), over 3599 s, not
# more than 3 times 20m: a value (2.77855/s as for 1h), its span said;
# 15m: over 3 times, UNKNOWN
rules r20 20m
expect 0 "^SHMSTAT OK - r20 = 2.779/s \(its records span 3599s\) \| 'r20_span'=3599s 'r20'=2.77855;;~:1000000000000;0$" "" -- \
	"$shmstat" check -r "$tmp/r20.yaml" -H "$tmp/stop.shmhist" --no-state "$seg"
rules r15 15m
expect 3 '^SHMSTAT UNKNOWN - r15: its records span 3599s, more than 3 times the 15m window' "" -- \
	"$shmstat" check -r "$tmp/r15.yaml" -H "$tmp/stop.shmhist" --no-state "$seg"

# --- cron: one record every 10 minutes, 528,000 events each (880/s): a
# 5m window runs from the record 10 minutes before the last: 880/s,
# with its span said (text, perfdata, --json)
{
	for t in 2401 1801 1201 601 1; do
		echo "c span_total 528000"
		echo "app $((now - t))"
	done
} | hist_make cron.shmhist
expect 0 "^SHMSTAT OK - r5 = 880/s \(its records span 10m\) \| 'r5_span'=600s 'r5'=880;;~:1000000000000;0$" "" -- \
	"$shmstat" check -r "$tmp/r5.yaml" -H "$tmp/cron.shmhist" --no-state "$seg"
expect 0 '^OK       r5: rate of span_total over 5m, its records span 10m = 880/s \(528000 samples\)$' "" -- \
	"$shmstat" check -r "$tmp/r5.yaml" -H "$tmp/cron.shmhist" --no-state "$seg"
expect 0 '"value":880,"span_ns":600000000000,"samples":528000}' "" -- \
	"$shmstat" check -r "$tmp/r5.yaml" -H "$tmp/cron.shmhist" --no-state --json "$seg"
# 1h: the history starts inside it, at now-2401: 4 x 528,000 events
# over 2400 s, a span shorter than asked: no note
expect 0 "^SHMSTAT OK - r1h = 880/s \| 'r1h'=880;;~:1000000000000;0$" "" -- \
	"$shmstat" check -r "$tmp/r1h.yaml" -H "$tmp/cron.shmhist" --no-state "$seg"

finish
