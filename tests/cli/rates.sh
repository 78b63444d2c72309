#!/usr/bin/env bash
# shmstat show's rates and figures (issue 20, points 5 and 6): the RATE
# column since each metric's creation, bounded by clock readings taken
# around the writer and around show; -i DURATION, a rate over the
# interval between two snapshots, against a still counter (exactly 0) and
# a moving one (its increase, a whole number, within what was read
# before and after); figures in the unit each metric registered.
set -u
shmstat=$1
fill=$2
json_flat=$3
tag="rates-$$"
tmp=$(mktemp -d) || exit 1
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

cleanup() {
	[ -n "${spinner:-}" ] && kill "$spinner" 2>/dev/null
	"$shmstat" rm "$tag-c" "$tag-s" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM PIPE      # the EXIT trap cleans up then too

# field FLAT METRIC FIELD: a field of the metric named METRIC in the
# output of json_flat
field() {
	local i
	i=$(sed -n "s/^metrics\.\([0-9]*\)\.name=$2\$/\1/p" "$1")
	[ -n "$i" ] && sed -n "s/^metrics\.$i\.$3=//p" "$1"
}
now() { date +%s%N; }

# --- the rate since creation: cli_errors_total is 3, registered between
# t0 and t1; the snapshot is taken between t2 and t3, after the other
# checks (the longer the time between, the narrower the bounds)
t0=$(now)
"$fill" "$tag-c" || bad "cli_fill failed"
t1=$(now)

# --- -i: a writer adding 1 every millisecond, and a still counter
coproc SPIN { exec "$fill" "$tag-s" spin; }
spinner=$SPIN_PID
read -r line <&"${SPIN[0]}"
[ "$line" = ready ] && ok || bad "spinner did not start"
value() { "$shmstat" show --json -I spin_total "$tag-s" | "$json_flat" | sed -n 's/^metrics\.0\.value=//p'; }
# the increase over the interval is rate x interval: a whole number, at
# most what was added between the reads before and after; a writer that
# was not scheduled for the whole interval gives 0, so up to 5 tries
for try in 1 2 3 4 5; do
	before=$(value)
	"$shmstat" show -i 200ms --json -I spin_total -I still_total "$tag-s" | "$json_flat" > "$tmp/s.flat"
	after=$(value)
	r=$(field "$tmp/s.flat" spin_total rate)
	v=$(field "$tmp/s.flat" spin_total value)
	d=$(sed -n 's/^rate_interval_ns=//p' "$tmp/s.flat")
	k=$(awk "BEGIN { printf \"%.6f\", $r * $d / 1e9 }")
	holds "$k > 0" && break
done
if holds "$d >= 200000000"; then ok; else bad "-i 200ms: rate_interval_ns $d"; fi
if holds "$k - int($k + 0.5) < 1e-3 && int($k + 0.5) - $k < 1e-3"; then ok
else bad "-i: rate $r x interval $d ns = $k, not a whole increase"; fi
if holds "$before <= $v && $v <= $after && $k >= 0 && $k <= $v - $before"; then ok
else bad "-i: increase $k, value $v, not within the reads before ($before) and after ($after)"; fi
holds "$k > 0" && ok || bad "-i: spin_total did not move in 5 intervals"
[ "$(field "$tmp/s.flat" still_total rate)" = 0 ] && ok || bad "-i: still_total's rate is not 0"
expect 0 "^segment $tag-s: .*, rates over [0-9.]+ms$" "" -- "$shmstat" show -i 50ms "$tag-s"
expect 0 '^still_total +counter +5 +0/s$' "" -- "$shmstat" show "$tag-s" -i 50ms
expect 0 "^segment $tag-s: .*, rates over [0-9]+ ns$" "" -- "$shmstat" show -i 50ms --raw "$tag-s"

# --- figures in their registered unit; --raw exact
"$shmstat" show "$tag-s" > "$tmp/u.txt"
for re in '^spin_bytes_total +counter +3\.0 MiB +[0-9.]+ (B|KiB|MiB|GiB|TiB)/s$' \
	'^spin_cost_total +counter +12\.35 USD +[0-9.]+[kMGT]? USD/s$' \
	'^spin_big_total +counter +148k +[0-9.]+[kMGT]?/s$'; do
	grep -Eq -- "$re" "$tmp/u.txt" && ok || bad "show lacks /$re/: $(cat "$tmp/u.txt")"
done
"$shmstat" show --raw "$tag-s" > "$tmp/r.txt"
for re in '^spin_bytes_total +counter +3145728 +[0-9.e+]+$' '^spin_cost_total +counter +12345678 +[0-9.e+]+$' \
	'^spin_big_total +counter +148000 +[0-9.e+]+$'; do
	grep -Eq -- "$re" "$tmp/r.txt" && ok || bad "show --raw lacks /$re/: $(cat "$tmp/r.txt")"
done

# --- the rate since creation, bounded
t2=$(now)
"$shmstat" show --json -I cli_errors_total "$tag-c" | "$json_flat" > "$tmp/c.flat" || bad "show --json"
t3=$(now)
r=$(field "$tmp/c.flat" cli_errors_total rate)
if [ -n "$r" ] && holds "$r >= 3e9 / ($t3 - $t0) && $r <= 3e9 / ($t2 - $t1)"; then ok
else bad "rate since creation $r/s not in [3/($t3 - $t0) ns, 3/($t2 - $t1) ns]"; fi
grep -qx "rate_interval_ns=null" "$tmp/c.flat" && ok || bad "show --json: rate_interval_ns is not null"
# the same in the text form (--raw: %.10g, the bounds widened by 1e-9)
t2=$(now)
"$shmstat" show --raw "$tag-c" > "$tmp/c.txt" || bad "show --raw"
t3=$(now)
r=$(awk '$1 == "cli_errors_total" { print $4 }' "$tmp/c.txt")
if [ -n "$r" ] && holds "$r >= 3e9 / ($t3 - $t0) * (1 - 1e-9) && $r <= 3e9 / ($t2 - $t1) * (1 + 1e-9)"; then ok
else bad "text rate since creation '$r' out of bounds: $(cat "$tmp/c.txt")"; fi
grep -Eq "^segment $tag-c: .*, rates since creation$" "$tmp/c.txt" && ok || bad "no 'rates since creation' in the header"
grep -Eq '^NAME +TYPE +VALUE +RATE$' "$tmp/c.txt" && ok || bad "no RATE in the column header"
# histograms: their count's rate; gauges have none
t=$(awk '$1 == "cli_latency" { print $4 }' "$tmp/c.txt")
holds "${t:-0} > 0" && ok || bad "histogram count rate '$t'"
expect 0 '^cli_temperature +gauge/sum +42 +-$' "" -- "$shmstat" show --raw "$tag-c"

# --- usage errors
expect 2 "" "^shmstat: interval 'soon' is not a duration from 1ns to 1h$" -- "$shmstat" show -i soon "$tag-s"
expect 2 "" "^shmstat: interval '2h' is not a duration from 1ns to 1h$" -- "$shmstat" show "$tag-s" -i 2h
expect 2 "" "^shmstat: -i goes with text or --json, which print rates$" -- "$shmstat" show -i 1s --prom "$tag-s"
expect 2 "" "^shmstat: -i goes with a segment, not --history$" -- "$shmstat" show --history "$tmp/h" -i 1s
expect 2 "" "^shmstat: option '-i' needs a value$" -- "$shmstat" show "$tag-s" -i

finish
