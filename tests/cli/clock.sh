#!/usr/bin/env bash
# The wall clock stepped while a tool sleeps (NTP, a virtual machine
# resumed), seen through the LD_PRELOAD library cli_clockshift (the
# machine's clock is not touched): CLOCKSHIFT_RT gives the offsets in
# seconds, the next one from each sleep on.
#  - show -i: the rates are over the time between the two snapshots, a
#    step of a day forward or an hour back between them changes nothing.
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

finish
