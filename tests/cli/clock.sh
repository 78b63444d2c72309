#!/usr/bin/env bash
# The wall clock stepped while a tool sleeps (NTP, a virtual machine
# resumed), seen through the LD_PRELOAD library cli_clockshift (the
# machine's clock is not touched): CLOCKSHIFT_RT gives the offsets in
# seconds, the next one from each sleep on.
#  - show -i: the rates are over the time between the two snapshots, a
#    step of a day forward or an hour back between them changes nothing;
#  - check: a lifetime rate with the clock back past the registration is
#    UNKNOWN, saying so;
#  - record: a step back while it sleeps is seen at the next interval
#    (skipped until the clock catches up, or the tiers start anew past
#    the bound, docs/shmstat.md), never a sleep as long as the step.
set -u
shmstat=$1
fill=$2
json_flat=$3
shim=$4
tag="clock-$$"
tmp=$(mktemp -d) || exit 1
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

cleanup() {
	[ -n "${spinner:-}" ] && kill "$spinner" 2>/dev/null
	"$shmstat" rm "$tag" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM PIPE      # the EXIT trap cleans up then too

# shifted OFFSETS COMMAND...: COMMAND with CLOCKSHIFT_RT=OFFSETS
shifted() {
	local rt=$1

	shift
	CLOCKSHIFT_RT=$rt CLOCKSHIFT_LOG="$tmp/cut" LD_PRELOAD="$shim" "$@"
}

coproc SPIN { exec "$fill" "$tag" spin; }
spinner=$SPIN_PID
read -r line <&"${SPIN[0]}"
[ "$line" = ready ] && ok || bad "spinner did not start"

# --- show -i 200ms with the clock stepped during the sleep: the interval
# is the time that passed (at least the 200 ms slept, far less than the
# step), and still_total's rate is 0, spin_total's a whole increase
for step in 86400 -3600; do
	shifted "0,$step" "$shmstat" show -i 200ms --json -I spin_total \
		-I still_total "$tag" | "$json_flat" > "$tmp/s.flat"
	d=$(sed -n 's/^rate_interval_ns=//p' "$tmp/s.flat")
	if holds "$d >= 200000000 && $d < 3600000000000"; then ok
	else bad "show -i 200ms, clock stepped by ${step}s: rate_interval_ns $d"; fi
	grep -qx 'metrics\.1\.rate=0' "$tmp/s.flat" && ok ||
		bad "show -i, clock stepped by ${step}s: still_total's rate is not 0: $(grep rate "$tmp/s.flat")"
	r=$(sed -n 's/^metrics\.0\.rate=//p' "$tmp/s.flat")
	if [ -n "$r" ] && [ "$r" != null ] &&
	   holds "$r * $d / 1e9 - int($r * $d / 1e9 + 0.5) < 1e-3 && int($r * $d / 1e9 + 0.5) - $r * $d / 1e9 < 1e-3"
	then ok; else bad "show -i, clock stepped by ${step}s: spin_total's rate $r over $d ns"; fi
done
expect 0 "^segment $tag: .*, rates over [0-9.]+ms$" "" -- \
	shifted 0,86400 "$shmstat" show -i 50ms -I still_total "$tag"

# --- check's lifetime rate with the clock back past the registration:
# UNKNOWN, saying why (it said "no value")
expect 3 "^SHMSTAT UNKNOWN - rate:spin_total: the clock is before the series' registration \(stepped back\?\)$" "" -- \
	shifted -86400 "$shmstat" check "$tag" --rate spin_total -w 1

# --- record every 200ms, the clock stepped back 2 s at the third sleep:
# skipped while behind, said once, then recording again; no sleep asked
# for longer than an interval
rm -f "$tmp/cut"
shifted "0,0,0,-2" "$shmstat" record -o "$tmp/a.shmhist" --tiers 200ms:1m \
	--count 4 "$tag" 2> "$tmp/a.err"
rc=$?
[ $rc = 0 ] && ok || bad "record, clock back 2 s: exit $rc: $(cat "$tmp/a.err")"
[ ! -e "$tmp/cut" ] && ok || bad "record slept past its interval: $(cat "$tmp/cut")"
grep -Eq "^shmstat: the clock \(.*\) is behind the last record of history file .$tmp/a.shmhist. \(.*\) by [0-9.]+m?s: snapshots are skipped until it catches up, for at most 10m$" "$tmp/a.err" &&
	ok || bad "record, clock back 2 s: not said: $(cat "$tmp/a.err")"
grep -q "^shmstat: the clock caught up with the last record of history file '$tmp/a.shmhist': recording again ([0-9]* snapshots skipped)$" "$tmp/a.err" &&
	ok || bad "record, clock back 2 s: catching up not said: $(cat "$tmp/a.err")"
n=$(shifted "-2" "$shmstat" show --history "$tmp/a.shmhist" --range @0 now --json |
	"$json_flat" | grep -c '^frames\.[0-9]*\.time_ns=')
[ "$n" = 4 ] && ok || bad "record, clock back 2 s: $n records, not 4"

# the clock stepped back an hour: past the bound, the tiers start anew at
# the next snapshot (the kernel's absolute sleep would have waited an hour)
rm -f "$tmp/cut"
shifted "0,0,-3600" "$shmstat" record -o "$tmp/b.shmhist" --tiers 200ms:1m \
	--count 3 "$tag" 2> "$tmp/b.err"
rc=$?
[ $rc = 0 ] && ok || bad "record, clock back 1 h: exit $rc: $(cat "$tmp/b.err")"
[ ! -e "$tmp/cut" ] && ok || bad "record slept past its interval: $(cat "$tmp/cut")"
grep -q "^shmstat: the clock (.*) is behind the last record of history file '$tmp/b.shmhist' (.*) by 60m, past 10m: its tiers start anew (the records before are no longer read)$" "$tmp/b.err" &&
	ok || bad "record, clock back 1 h: not said: $(cat "$tmp/b.err")"
n=$(shifted "-3600" "$shmstat" show --history "$tmp/b.shmhist" --range @0 now --json |
	"$json_flat" | grep -c '^frames\.[0-9]*\.time_ns=')
[ "$n" = 2 ] && ok || bad "record, clock back 1 h: $n records after the restart, not 2"

# --- an interval shorter than the finest tier's step: a snapshot in the
# step of the last record writes nothing and is not counted (--count 3
# gave 1 or 2 records: the clock that came back into the last record's
# step, above, did the same at random)
"$shmstat" record -o "$tmp/c.shmhist" --tiers 1s:1m --interval 100ms \
	--count 3 "$tag" 2> "$tmp/c.err"
rc=$?
[ $rc = 0 ] && ok || bad "record, interval under the step: exit $rc: $(cat "$tmp/c.err")"
n=$("$shmstat" show --history "$tmp/c.shmhist" --range @0 now --json |
	"$json_flat" | grep -c '^frames\.[0-9]*\.time_ns=')
[ "$n" = 3 ] && ok || bad "record --count 3, interval under the step: $n records, not 3"

finish
