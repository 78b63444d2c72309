#!/usr/bin/env bash
# Output files against a path swapped between its check and its use
# (docs/security.md, "An output file named on the command line"): uid
# 65534 renames a directory of its own on the path, in a sticky
# world-writable directory, and plants a link to a directory of root's in
# its place, after shmstat resolved the path and before it creates the
# file (check --emit --out: open; show --prom --out: the temporary file
# and its rename; check --state: the alert state's load, then its
# temporary file, mode, rename and fsync). The file must land in the
# directory that was checked, or be refused; never in the directory the
# link leads to. And the name itself planted as a link at that point:
# refused as a planted link. And record -o: its history file likewise.
#
# No timing: shmstat_hooked (outpath.c built with -DSHMSTAT_TEST_HOOKS)
# runs the shell command in SHMSTAT_TEST_OUT_HOOK once, at that very
# point (of the N-th path resolved with SHMSTAT_TEST_OUT_HOOK_AT=N).
# Only as root (the attacker is uid 65534, through setpriv).
#   outrace.sh SHMSTAT_HOOKED SHMSTAT CLI_FILL
set -u
hooked=$1
shmstat=$2
fill=$3
tag="cli-race-$$"
. "$(dirname "$0")/nobody.sh"
tmp=$(mktemp -d /tmp/shmstat-race.XXXXXX) || exit 1
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

cleanup() {
	"$shmstat" rm "$tag-a" >/dev/null 2>&1
	rm -rf "$tmp"
	nobody_cleanup
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM PIPE      # the EXIT trap cleans up then too

# the hook exists in the test build only: the installed program ignores
# the variable
if native "$shmstat"; then
	grep -q SHMSTAT_TEST_OUT_HOOK "$shmstat" && bad "$shmstat reads SHMSTAT_TEST_OUT_HOOK" || ok
	grep -q SHMSTAT_TEST_OUT_HOOK "$hooked" && ok || bad "$hooked has no SHMSTAT_TEST_OUT_HOOK"
fi
if ! nobody_init; then
	echo "SKIP: a path swapped by uid 65534: $nobody_why" >&2
	finish || exit 1
	exit 77
fi
sd=$nobody_dir/sticky
mkdir "$sd" && chmod 1777 "$sd" || bad "cannot make $sd"
mkdir "$tmp/victim" && printf 'precious\n' > "$tmp/victim/out.yml" &&
	printf 'precious\n' > "$tmp/victim/m.prom" || bad "cannot make $tmp/victim"
# swap DIR: as uid 65534, $sd/DIR renamed DIR.old, a link to the victim
# directory planted as $sd/DIR
swap() {
	printf "setpriv --reuid 65534 --regid 65534 --clear-groups -- sh -c 'mv \"\$1/%s\" \"\$1/%s.old\" && ln -s \"\$2\" \"\$1/%s\"' sh '%s' '%s'" \
		"$1" "$1" "$1" "$sd" "$tmp/victim"
}
victim_intact() {
	[ "$(cat "$tmp/victim/out.yml")" = precious ] && [ "$(cat "$tmp/victim/m.prom")" = precious ] &&
		[ "$(ls "$tmp/victim")" = "$(printf 'm.prom\nout.yml')" ] && ok ||
		bad "$1 wrote into the directory the swapped-in link leads to: $(ls -l "$tmp/victim"; head -3 "$tmp/victim"/*)"
}

# --- check --emit prometheus-rules --out (open_out_file)
cat > "$tmp/rules.yaml" <<'EOF'
rules:
  - name: errs
    increase: cli_errors_total
    window: 1h
    above: {warning: 100}
EOF
setpriv --reuid 65534 --regid 65534 --clear-groups -- mkdir "$sd/d" || bad "uid 65534 could not make $sd/d"
expect 0 "" "^shmstat: 1 of 1 rules written as Prometheus rules$" -- \
	env SHMSTAT_TEST_OUT_HOOK="$(swap d)" "$hooked" check -r "$tmp/rules.yaml" --emit prometheus-rules --out "$sd/d/out.yml"
[ -L "$sd/d" ] && ok || bad "the hook did not swap $sd/d: $(ls -l "$sd")"
victim_intact "check --out"
grep -q '^# Prometheus rules' "$sd/d.old/out.yml" && ok ||
	bad "check --out: not in the directory checked: $(ls -l "$sd/d.old")"
# the name itself planted as a link to a file of root's at that point
# (in a directory of root's, 1777): refused, as a planted link
plant="setpriv --reuid 65534 --regid 65534 --clear-groups -- ln -s '$tmp/victim/out.yml' '$sd/f.yml'"
expect 3 "" "^shmstat: cannot write '$sd/f.yml': it goes through a symbolic link of uid 65534 in a shared directory; refusing it$" -- \
	env SHMSTAT_TEST_OUT_HOOK="$plant" "$hooked" check -r "$tmp/rules.yaml" --emit prometheus-rules --out "$sd/f.yml"
[ -L "$sd/f.yml" ] && ok || bad "the hook did not plant $sd/f.yml"
victim_intact "check --out to a name planted since"

# --- show --prom --out (the temporary file, its rename), the path
# through a link of root's own to the sticky directory
"$fill" "$tag-a" || bad "cli_fill failed"
ln -s "$sd" "$tmp/to-sticky"
setpriv --reuid 65534 --regid 65534 --clear-groups -- mkdir "$sd/e" || bad "uid 65534 could not make $sd/e"
expect 0 "" "" -- env SHMSTAT_TEST_OUT_HOOK="$(swap e)" "$hooked" show --prom --out "$tmp/to-sticky/e/m.prom" "$tag-a"
[ -L "$sd/e" ] && ok || bad "the hook did not swap $sd/e: $(ls -l "$sd")"
victim_intact "show --out"
grep -qx "cli_errors_total{segment=\"$tag-a\"} 3" "$sd/e.old/m.prom" && ok ||
	bad "show --out: not in the directory checked: $(ls -l "$sd/e.old")"
[ "$(ls "$sd/e.old")" = m.prom ] && ok || bad "show --out left $(ls "$sd/e.old")"

# --- check --state (alerts_load(), then alerts_save(): the temporary
# file, the 0640 kept from the file it replaces, the rename, the
# directory's fsync): the state lands in the directory checked, or is
# refused; never in the directory a link of uid 65534 leads to
cat > "$tmp/for.yaml" <<'EOF'
rules:
  - name: temp-for
    gauge: cli_temperature
    above: {critical: 40}
    for: 1h
EOF
planted_msg() {
	printf '^shmstat: %s: alert state goes through a symbolic link of uid 65534 in a shared directory; refusing it$' "$1"
}
# no race: the link planted before the run, where a directory of the
# path was: refused at the load (no state: temp-for CRITICAL at once)
setpriv --reuid 65534 --regid 65534 --clear-groups -- ln -s "$tmp/victim" "$sd/p" ||
	bad "uid 65534 could not plant $sd/p"
expect 2 "^CRITICAL +temp-for: " "$(planted_msg "$sd/p/state.json")" -- \
	"$shmstat" check -r "$tmp/for.yaml" --state "$sd/p/state.json" "$tag-a"
victim_intact "check --state through a link planted before the run"
rm -f "$tmp/victim/state.json"          # each case fails on its own
# the directory swapped after the save resolved it (the second path
# resolved; the load the first): the temporary file, its mode and the
# rename all in the directory checked; a state of root's there, 0640,
# kept 0640 (the victim directory has none: 0600 had it been looked up
# by name)
setpriv --reuid 65534 --regid 65534 --clear-groups -- mkdir "$sd/s" || bad "uid 65534 could not make $sd/s"
expect 0 "pending since" "" -- "$shmstat" check -r "$tmp/for.yaml" --state "$sd/s/state.json" "$tag-a"
chmod 0640 "$sd/s/state.json"
since=$(sed -n 's/^ *"bad_since": \([0-9]*\),$/\1/p' "$sd/s/state.json")
expect 0 "pending since" "" -- env SHMSTAT_TEST_OUT_HOOK="$(swap s)" SHMSTAT_TEST_OUT_HOOK_AT=2 \
	"$hooked" check -r "$tmp/for.yaml" --state "$sd/s/state.json" "$tag-a"
[ -L "$sd/s" ] && ok || bad "the hook did not swap $sd/s: $(ls -l "$sd")"
victim_intact "check --state (the save)"
rm -f "$tmp/victim/state.json"
[ "$(ls -A "$sd/s.old" 2>&1)" = state.json ] && ok ||
	bad "check --state (the save): not alone in the directory checked: $(ls -lA "$sd/s.old")"
[ "$(stat -c '%a %u %h' "$sd/s.old/state.json")" = "640 0 1" ] && ok ||
	bad "check --state (the save): $(stat -c '%a %u %h' "$sd/s.old/state.json"), expected 640 0 1"
# the alert loaded from there and saved back: pending since the first run
[ -n "$since" ] && grep -q "\"bad_since\": $since,\$" "$sd/s.old/state.json" &&
	! grep -q "\"last_ns\": $since,\$" "$sd/s.old/state.json" && ok ||
	bad "check --state (the save): not the state of the first run, saved again: $(cat "$sd/s.old/state.json")"
# the directory swapped after the load resolved it (the first path
# resolved): the load reads the directory checked, the save meets the
# link and refuses it (the state left as it was; at best UNKNOWN)
setpriv --reuid 65534 --regid 65534 --clear-groups -- mkdir "$sd/t" || bad "uid 65534 could not make $sd/t"
expect 0 "pending since" "" -- "$shmstat" check -r "$tmp/for.yaml" --state "$sd/t/state.json" "$tag-a"
before=$(cat "$sd/t/state.json")
expect 3 "^SHMSTAT UNKNOWN - .*alert state: $sd/t/state.json: alert state goes through" \
	"$(planted_msg "$sd/t/state.json")" -- \
	env SHMSTAT_TEST_OUT_HOOK="$(swap t)" SHMSTAT_TEST_OUT_HOOK_AT=1 \
	"$hooked" check -r "$tmp/for.yaml" --state "$sd/t/state.json" "$tag-a"
[ -L "$sd/t" ] && ok || bad "the hook did not swap $sd/t: $(ls -l "$sd")"
victim_intact "check --state (the load)"
[ "$(ls -A "$sd/t.old" 2>&1)" = state.json ] && [ "$(cat "$sd/t.old/state.json")" = "$before" ] && ok ||
	bad "check --state (the load): the directory checked changed: $(ls -lA "$sd/t.old")"


# --- record -o (the history file: made under a temporary name in its
# directory, then renamed into place): a link of uid 65534 planted before
# the run where a directory of the path was is refused (root's 64 MiB
# history was created in the directory the link led to); the directory
# swapped after the check: the file lands in the directory checked
setpriv --reuid 65534 --regid 65534 --clear-groups -- ln -s "$tmp/victim" "$sd/r" ||
	bad "uid 65534 could not plant $sd/r"
expect 1 "" "^shmstat: cannot open history file '$sd/r/h.shmhist': it goes through a symbolic link of uid 65534 in a shared directory; refusing it$" -- \
	"$shmstat" record -o "$sd/r/h.shmhist" --count 1 --size 64K "$tag-a"
victim_intact "record -o through a link planted before the run"
setpriv --reuid 65534 --regid 65534 --clear-groups -- mkdir "$sd/h" || bad "uid 65534 could not make $sd/h"
expect 0 "" "^shmstat: recording segment '$tag-a' into $sd/h/h.shmhist every" -- \
	env SHMSTAT_TEST_OUT_HOOK="$(swap h)" "$hooked" record -o "$sd/h/h.shmhist" --count 1 --size 64K "$tag-a"
[ -L "$sd/h" ] && ok || bad "the hook did not swap $sd/h: $(ls -l "$sd")"
victim_intact "record -o"
[ "$(ls -A "$sd/h.old" 2>&1)" = h.shmhist ] && [ "$(stat -c '%s %u' "$sd/h.old/h.shmhist")" = "65536 0" ] &&
	ok || bad "record -o: not alone in the directory checked: $(ls -lA "$sd/h.old")"
expect 0 "^# .*  segment $tag-a  step 1s" "" -- "$shmstat" show --history "$sd/h.old/h.shmhist"

finish
