#!/usr/bin/env bash
# trend across a gap in the history (a recorder stopped for an hour, a
# machine suspended): the sub-window whose start falls in the gap had
# its figure taken between the last record before the gap and one after
# it, a rate averaged over more than an hour, and it went into the line
# as a 5-minute figure: a counter at 10/s wherever it was recorded
# trended "falling, -27.6%" over 2h, and "rising, +184.2%" over the 20m
# after the gap (points 10/s and 1600/3900 s). Now a sub-window whose
# records span more than 3 times the step takes no point, and the
# trend says how many were left out and why (text; --json trend.step_ns,
# left_out, left_out_why); with fewer than 2 points left the trend is
# unknown. The history is made by cli_hist_script on a synthetic clock:
# the figures are exact, computed here by hand.
# Usage: trend_gap.sh SHMSTAT CLI_HIST_SCRIPT
set -u
shmstat=$1
script=$2
seg="clitg-$$"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/shmstat-tgap-$$.XXXXXX") || exit 1
trap '"$shmstat" rm "$seg" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM PIPE      # the EXIT trap cleans up then too
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

T=1800000000              # the windows end here (a multiple of 5m)
gap='\(a gap in the history: recorder stopped, machine suspended or clock stepped\?\)'

# --- records every 10 s, 100 events each (10/s) from T-7500 to T-4800,
# none until T-1050 (nothing counted meanwhile: the machine was
# suspended), then again every 10 s, 100 events each (gap.shmhist), or
# 200 each, 20/s (gap2.shmhist), up to T
for f in gap:100 gap2:200; do
	{
		for ((t = T - 7500; t <= T - 4800; t += 10)); do
			echo "c gap_total 100"
			echo "app $t"
		done
		for ((t = T - 1050; t <= T; t += 10)); do
			echo "c gap_total ${f#*:}"
			echo "app $t"
		done
	} | hist_make "${f%:*}.shmhist"
done

# 2h in steps of 5m: sub-windows ending T-6900 .. T-4800, 8 of them, at
# 10/s; those ending T-4500 .. T-1200 have one record at both ends, no
# value; the one ending T-900 runs from the record at T-4800 to the one
# at T-900, 3900 s (more than 3 x 5m): left out (1600 / 3900 = 0.41/s,
# it made the trend falling); those ending T-600, T-300, T: 10/s. 11
# points, all 10/s: stable, slope 0. The whole window: 240 records of
# 100 after T-7200, and 106 from T-1050: 34600 / 7200 s.
expect 0 '^gap_total rate over 2h ending .*: 4\.806/s \(34600 samples, 347 records\)$' "" -- \
	"$shmstat" trend "$tmp/gap.shmhist" gap_total -w 2h --step 5m --at "@$T"
expect 0 "^trend: stable, \+0\.0% over 2h \(11 points, first 10/s, last 10/s, slope 0/s; 1 sub-window left out: its records span more than 3 times the 5m step $gap\)\$" "" -- \
	"$shmstat" trend "$tmp/gap.shmhist" gap_total -w 2h --step 5m --at "@$T"
expect 0 '"trend":\{"points":11,"first":10,"last":10,"mean":10,"slope_per_s":0,"change_pct":0,"direction":"stable","verdict":"stable","step_ns":300000000000,"left_out":1,"left_out_why":"its records span more than 3 times the step"\}\}$' "" -- \
	"$shmstat" trend "$tmp/gap.shmhist" gap_total -w 2h --step 5m --at "@$T" --json

# the default step, a twentieth of 2h, 6m (the records' spacing, 20.8 s
# on average, is less): sub-windows ending T-7200 + 360 k; k = 1 .. 6 at
# 10/s, k = 7 from T-5040 to the record at T-4800 (240 s) at 10/s; k =
# 8 .. 17 no value (k = 17 ends at T-1080, before the first record after
# the gap); k = 18 from T-4800 to T-720 (4080 s, more than 18m): left
# out; k = 19, 20 at 10/s: 9 points
expect 0 "^trend: stable, \+0\.0% over 2h \(9 points, first 10/s, last 10/s, slope 0/s; 1 sub-window left out: its records span more than 3 times the 6m step $gap\)\$" "" -- \
	"$shmstat" trend "$tmp/gap.shmhist" gap_total -w 2h --at "@$T"

# 20/s after the gap: points (x = the sub-window's end in s from T-7200)
# 10/s at x = 300 .. 2400 (8), 20/s at 6600, 6900, 7200 (3). n = 11,
# sum x = 31500, sum y = 140, sum x^2 = 161370000, sum xy = 522000:
# slope = (11 x 522000 - 31500 x 140) / (11 x 161370000 - 31500^2)
# = 1332000 / 782820000 = 37/21745 = 0.00170154/s; the change over the
# points' 6900 s in percent of the mean, 140/11: 37/21745 x 6900 x 11 /
# 140 x 100 = 92.2478...% (the point at x = 5400, 3200 / 3900 =
# 0.82/s, made it +59.9%, slope 0.001019/s)
expect 0 "^trend: rising, \+92\.2% over 2h \(11 points, first 10/s, last 20/s, slope 0\.001702/s; 1 sub-window left out: its records span more than 3 times the 5m step $gap\)\$" "" -- \
	"$shmstat" trend "$tmp/gap2.shmhist" gap_total -w 2h --step 5m --at "@$T"
json=$("$shmstat" trend "$tmp/gap2.shmhist" gap_total -w 2h --step 5m --at "@$T" --json)
slope=$(grep -o '"slope_per_s":[^,]*' <<<"$json" | cut -d: -f2)
pct=$(grep -o '"change_pct":[^,]*' <<<"$json" | cut -d: -f2)
mean=$(grep -o '"mean":[^,]*' <<<"$json" | cut -d: -f2)
if holds "${slope:-x} - 37/21745 < 1e-15 && 37/21745 - ${slope:-x} < 1e-15 && ${pct:-x} - 92.2478073777223 < 1e-9 && 92.2478073777223 - ${pct:-x} < 1e-9 && ${mean:-x} - 140/11 < 1e-12 && 140/11 - ${mean:-x} < 1e-12" 2>/dev/null; then
	ok
else
	bad "gap2 trend --json: slope $slope (37/21745), change_pct $pct (92.2478), mean $mean (140/11): $json"
fi

# too few points left: 20m ending T-600: sub-windows ending T-1500 and
# T-1200 no value, T-900 left out (3900 s), T-600 10/s: one point, the
# trend unknown, saying why; the whole window's figure still says the
# span of its records (T-4800 to T-600)
expect 0 '^gap_total rate over 20m ending .*: 1\.095/s \(4600 samples, 47 records, its records span 70m\)$' "" -- \
	"$shmstat" trend "$tmp/gap.shmhist" gap_total -w 20m --step 5m --at "@$((T - 600))"
expect 0 "^trend: unknown \(1 sub-windows with a value; need 2; 1 sub-window left out: its records span more than 3 times the 5m step $gap\)\$" "" -- \
	"$shmstat" trend "$tmp/gap.shmhist" gap_total -w 20m --step 5m --at "@$((T - 600))"
expect 0 '"trend":\{"points":1,"first":10,"last":10,"mean":10,"slope_per_s":0,"change_pct":0,"direction":"unknown","verdict":"unknown","step_ns":300000000000,"left_out":1,"left_out_why":"its records span more than 3 times the step"\}\}$' "" -- \
	"$shmstat" trend "$tmp/gap.shmhist" gap_total -w 20m --step 5m --at "@$((T - 600))" --json

# --- records every 15m (cron), 9000 events each (10/s), the last at T:
# in steps of 5m a sub-window with a record spans 15m, 3 times the step,
# not more: 8 points, nothing left out; in steps of 4m each spans 15m,
# more than 12m: all 8 left out, the trend unknown
{
	for ((t = T - 9000; t <= T; t += 900)); do
		echo "c gap_total 9000"
		echo "app $t"
	done
} | hist_make cron.shmhist
expect 0 '^trend: stable, \+0\.0% over 2h \(8 points, first 10/s, last 10/s, slope 0/s\)$' "" -- \
	"$shmstat" trend "$tmp/cron.shmhist" gap_total -w 2h --step 5m --at "@$T"
expect 0 '"left_out":0,"left_out_why":null\}\}$' "" -- \
	"$shmstat" trend "$tmp/cron.shmhist" gap_total -w 2h --step 5m --at "@$T" --json
expect 0 "^trend: unknown \(0 sub-windows with a value; need 2; 8 sub-windows left out: their records span more than 3 times the 4m step $gap\)\$" "" -- \
	"$shmstat" trend "$tmp/cron.shmhist" gap_total -w 2h --step 4m --at "@$T"

finish
