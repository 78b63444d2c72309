#!/usr/bin/env bash
# The test scripts with the build tree under a path of a space, quotes and
# a non-ASCII letter ("it's a \"tree\" ü"), as a clone may be: a copy of
# the programs they run there, laid out as in the build (tools/, libshm/,
# tests/...: the RUNPATHs find the library). Before, such a path was split
# at its space by LD_PRELOAD (nagios.sh's cli_stall, oom_sweep.sh's
# oom_fail: not preloaded), ended the quoting of a command string
# (watch.sh's tmux session) and was cut at its space when nobody.sh read
# ldd's answer (cli.sh and history.sh then failed as root). And the
# history scripts with a TMPDIR of a space: their writers read lines of
# words, a path among them, and the path was cut (window_gone.sh, 8
# failures; history.sh, 39).
# Usage: oddpath.sh SHMSTAT CLI_FILL JSON_FLAT CLI_STALL TEST_OOM_REGISTER
#                   OOM_FAIL CLI_HIST_FILL CLI_HIST_SCRIPT CACHESIM RULES
set -u
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/shmstat-oddpath-$$.XXXXXX") || exit 1
odd="$tmp/it's a \"tree\" ü"
nobody_dir=
trap 'nobody_cleanup; rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM PIPE      # the EXIT trap cleans up then too
# shellcheck source=lib.sh
source "$here/lib.sh"
# shellcheck source=nobody.sh
source "$here/nobody.sh"

# cp SRC DIR: SRC into $odd/DIR, as the build has it
put() {
	mkdir -p "$odd/$2" && cp "$1" "$odd/$2/" || { echo "FAIL: cannot copy $1"; exit 1; }
}
lib=$(ldd "$1" | sed -n 's/^[[:space:]]*libshmstat\.so[^ ]* => \(.*\) (0x[0-9a-f]*)$/\1/p')
[ -n "$lib" ] || { echo "FAIL: $1 does not load libshmstat"; exit 1; }
put "$lib" libshm
put "$1" tools
put "$2" tests/cli
put "$3" tests/cli
put "$4" tests/cli
put "$5" tests/unit
put "$6" tests/unit
shmstat="$odd/tools/${1##*/}"
fill="$odd/tests/cli/${2##*/}"
json_flat="$odd/tests/cli/${3##*/}"
# the copies, not the build's, and their library from the copy
unset LD_LIBRARY_PATH
[ "$(ldd "$shmstat" | grep -c "$odd/tools/../libshm/")" = 1 ] && ok ||
	{ bad "the copy does not load the copied library: $(ldd "$shmstat")"; finish; exit 1; }

# each script whole, its last line the tally
run() {
	local out
	out=$("$@" 2>&1) && ok || bad "${*: -5:3}: $(grep -E '^FAIL|runs|passed' <<<"$out" | head -5)"
}
run bash "$here/nagios.sh" "$shmstat" "$fill" "$odd/tests/cli/${4##*/}" "$json_flat" native
run bash "$here/watch.sh" "$shmstat" "$fill"
run bash "$here/../unit/oom_sweep.sh" "$odd/tests/unit/${5##*/}" "$odd/tests/unit/${6##*/}"
mkdir "$tmp/t m p" || exit 1
run env TMPDIR="$tmp/t m p" bash "$here/window_gone.sh" "$1" "$8"
run env TMPDIR="$tmp/t m p" bash "$here/history.sh" "$1" "$7" "$3" "${10}" "$9"
[ -z "$(ls -A "$tmp/t m p")" ] && ok || bad "left in TMPDIR: $(ls -A "$tmp/t m p")"
# as root: what nobody.sh copies for uid 65534, from this tree
if nobody_init; then
	if nobody_copy nobody_fill "$fill"; then
		as_nobody "$nobody_fill" "oddpath-$$" && ok || bad "cli_fill as uid 65534"
		rm -f "/dev/shm/shmstat.oddpath-$$"
	else
		bad "nobody_copy: $nobody_why"
	fi
else
	echo "SKIP: nobody.sh's copies: $nobody_why" >&2
fi
finish
