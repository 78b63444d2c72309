#!/usr/bin/env bash
# ./dev's own usage errors (README, Quick start): exit 2 and a line on
# stderr naming what is wrong, before anything is installed or built.
# ./dev runs from a copy in a directory of its own, with no meson.build: a
# value it let through would fail later there (exit 1), not build or run
# anything in the source tree.
# Usage: dev.sh DEV
set -u
dev=$1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/shmstat-dev-$$.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
cp "$dev" "$tmp/dev"

expect 2 "" "^usage: \./dev demo " -- "$tmp/dev"
expect 0 "^usage: \./dev demo " "" -- "$tmp/dev" --help
expect 2 "" "^dev: unknown demo option '--bogus'$" -- "$tmp/dev" demo --bogus
expect 2 "" "^dev: option '--seconds' needs a value$" -- "$tmp/dev" demo --seconds
# --seconds: whole seconds ('abc' and '2.5' went on into the demo, which
# ended in "abc: unbound variable", exit 1)
for v in abc 2.5 0 -3 86401 1e3; do
	expect 2 "" "^dev: --seconds '$v' is not a whole number of seconds from 1 to 86400$" -- \
		"$tmp/dev" demo --seconds "$v"
done
finish
