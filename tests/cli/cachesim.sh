#!/bin/sh
# cachesim.sh - run shmstat-cachesim for a few seconds with a fixed seed and
# check what the segment says against the service's own exact tally:
#   hits + misses counters == requests, and each of them alone;
#   lookup histogram count == lookups;
#   the signature table's top key by hits == the stream's most popular key,
#   and its top 8 are conversation-0 .. 7 in order (the stream's ranks);
#   the table's per-owner weights == the per-account weights.
# Usage: cachesim.sh SHMSTAT CACHESIM JSON_FLAT
set -u
shmstat=$1
cachesim=$2
json_flat=$3
name="cachesim-test-$$"
tmp=${TMPDIR:-/tmp}/shmstat-cachesim-$$
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
cleanup() { "$shmstat" rm "$name" >/dev/null 2>&1; rm -f "$tmp".*; }
trap cleanup EXIT
trap 'exit 1' HUP INT TERM PIPE      # the EXIT trap cleans up then too

# 3 workers x 2 threads, 2.5 s, a small working set and cache
"$cachesim" --name "$name" --procs 3 --threads 2 --duration 2.5 --seed 42 \
	--keys 3000 --cache-size 512 --accounts 5 --upstream-us 2 --corrupt 0.01 \
	--ttl-ms 500 > "$tmp.out" 2> "$tmp.err"
rc=$?
if [ $rc -eq 0 ]; then ok; else bad "cachesim exited with $rc"; cat "$tmp.err"; fi
if [ -s "$tmp.err" ]; then bad "cachesim wrote to stderr:"; cat "$tmp.err"; else ok; fi

# the tally lines
field() { # field LINE-PREFIX KEY
	grep "^$1" "$tmp.out" | tr ' ' '\n' | sed -n "s/^$2=//p"
}
workers=$(grep -c '^tally pid=' "$tmp.out")
[ "$workers" -eq 3 ] && ok || bad "expected 3 worker tallies, got $workers"
requests=$(field "tally total" requests)
hits=$(field "tally total" hits)
misses=$(field "tally total" misses)
lookups=$(field "tally total" lookups)
weight=$(field "tally total" weight)
top=$(sed -n 's/^tally top=//p' "$tmp.out")
if [ -z "$requests" ] || [ -z "$top" ] || [ "$requests" -eq 0 ]; then
	bad "no usable tally:"; cat "$tmp.out"
	echo "$pass passed, $fail failed"; exit 1
fi
[ $((hits + misses)) -eq "$requests" ] && ok || bad "tally: hits $hits + misses $misses != requests $requests"
# the workers' lines add up to the total
sum=0
for n in $(grep '^tally pid=' "$tmp.out" | tr ' ' '\n' | sed -n 's/^requests=//p'); do sum=$((sum + n)); done
[ "$sum" -eq "$requests" ] && ok || bad "worker tallies sum to $sum, total says $requests"

# the segment, through the reader API
"$shmstat" show --json "$name" > "$tmp.json" || bad "shmstat show --json failed"
"$json_flat" < "$tmp.json" > "$tmp.flat" || bad "show --json is not valid JSON"
# index of metric NAME (the first one with that name)
idx() { sed -n "s/^metrics\.\([0-9]*\)\.name=$1\$/\1/p" "$tmp.flat"; }
sum_values() { # sum of the values of every metric named $1
	s=0
	for i in $(idx "$1"); do
		v=$(sed -n "s/^metrics\.$i\.value=//p" "$tmp.flat")
		s=$((s + v))
	done
	echo $s
}
seg_hits=$(sum_values cachesim_hits_total)
seg_misses=$(sum_values cachesim_misses_total)
[ $((seg_hits + seg_misses)) -eq "$requests" ] && ok ||
	bad "hits $seg_hits + misses $seg_misses counters != requests $requests"
[ "$seg_hits" -eq "$hits" ] && ok || bad "hits counters $seg_hits != tally hits $hits"
[ "$seg_misses" -eq "$misses" ] && ok || bad "misses counters $seg_misses != tally misses $misses"
[ "$(idx cachesim_hits_total | wc -l)" -eq 6 ] && ok || bad "expected 6 hits counters (tier x model)"
grep -qx 'metrics\.[0-9]*\.labels\.pattern=conversation:\*' "$tmp.flat" && ok || bad "no pattern label"

i=$(idx cachesim_lookup_duration)
hcount=$(sed -n "s/^metrics\.$i\.histogram\.count=//p" "$tmp.flat")
[ "$hcount" = "$lookups" ] && ok || bad "lookup histogram count $hcount != tally lookups $lookups"
i=$(idx cachesim_write_duration)
wcount=$(sed -n "s/^metrics\.$i\.histogram\.count=//p" "$tmp.flat")
[ "$wcount" = "$misses" ] && ok || bad "write histogram count $wcount != misses $misses"
i=$(idx cachesim_inflight)
[ "$(sed -n "s/^metrics\.$i\.value=//p" "$tmp.flat")" = 0 ] && ok || bad "inflight is not 0 at exit"

i=$(idx cachesim_signatures)
stop=$(sed -n "s/^metrics\.$i\.sigtable\.top\.0\.key=//p" "$tmp.flat")
[ "$stop" = "$top" ] && ok || bad "signature table top key '$stop' != tally top '$top'"
sh=$(sed -n "s/^metrics\.$i\.sigtable\.hits=//p" "$tmp.flat")
sw=$(sed -n "s/^metrics\.$i\.sigtable\.weight=//p" "$tmp.flat")
[ "$sh" = "$hits" ] && ok || bad "signature table hits $sh != tally hits $hits"
[ "$sw" = "$weight" ] && ok || bad "signature table weight $sw != tally weight $weight"
# per-account weights: shmstat top's owner totals against the tally
"$shmstat" top --raw -n 1 "$name" cachesim_signatures > "$tmp.top" || bad "shmstat top failed"
grep -q "^ [ *] .* $top$" "$tmp.top" && ok || bad "shmstat top's first key is not $top"
"$shmstat" top -n 8 "$name" cachesim_signatures | awk '$NF ~ /^conversation-/ { sub(/:.*/, "", $NF); print $NF }' > "$tmp.top8"
printf 'conversation-%d\n' 0 1 2 3 4 5 6 7 | cmp -s - "$tmp.top8" && ok ||
	{ bad "shmstat top -n 8 does not list conversation-0 .. 7 in order:"; cat "$tmp.top8"; }
for a in 1 2 3 4 5; do
	want=$(field "tally total" "acct-$a")
	got=$(awk -v o="acct-$a" '$1 == o { print $5 }' "$tmp.top")
	[ -n "$want" ] && [ "$got" = "$want" ] && ok || bad "acct-$a: shmstat top says '$got', tally '$want'"
done

# --no-sig: the other metrics counted, the signature table not
"$shmstat" rm "$name" >/dev/null 2>&1
"$cachesim" --name "$name" --no-sig --procs 1 --threads 2 --duration 0.3 --seed 42 \
	> "$tmp.out3" 2>&1 && ok || bad "--no-sig run failed"
req3=$(grep '^tally total' "$tmp.out3" | tr ' ' '\n' | sed -n 's/^requests=//p')
"$shmstat" show --json "$name" | "$json_flat" > "$tmp.flat" || bad "show --json of the --no-sig run failed"
h3=$(sum_values cachesim_hits_total)
m3=$(sum_values cachesim_misses_total)
[ -n "$req3" ] && [ "$req3" -gt 0 ] && [ $((h3 + m3)) -eq "$req3" ] && ok ||
	bad "--no-sig: hits $h3 + misses $m3 counters != requests '$req3'"
i=$(idx cachesim_signatures)
[ -n "$i" ] && [ "$(sed -n "s/^metrics\.$i\.sigtable\.hits=//p" "$tmp.flat")" = 0 ] &&
	[ "$(sed -n "s/^metrics\.$i\.sigtable\.misses=//p" "$tmp.flat")" = 0 ] && ok ||
	bad "--no-sig: the signature table counted events"

# --no-instrument: same work, no segment touched
"$shmstat" rm "$name" >/dev/null 2>&1
"$cachesim" --name "$name" --no-instrument --procs 1 --threads 1 --duration 0.3 --seed 42 \
	> "$tmp.out2" 2>&1 && ok || bad "--no-instrument run failed"
grep -q '^tally total requests=[1-9]' "$tmp.out2" && ok || bad "--no-instrument prints no tally"
if "$shmstat" show "$name" >/dev/null 2>&1; then bad "--no-instrument created the segment"; else ok; fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
