#!/usr/bin/env bash
# ./dev's own usage errors (README, Quick start): exit 2 and a line on
# stderr naming what is wrong, before anything is installed or built;
# not root with a package missing, the apt-get line to run and exit 1.
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

# not root, two packages missing (id, dpkg-query on PATH say so; an
# apt-get there fails if it runs): the command to run, what root runs
# (the package lists updated first: a fresh machine has none), exit 1,
# nothing configured
mkdir "$tmp/bin"
printf '#!/bin/sh\necho 1000\n' > "$tmp/bin/id"
printf '#!/bin/sh\necho "apt-get ran" >&2\nexit 99\n' > "$tmp/bin/apt-get"
printf '#!/bin/sh\nfor a; do p=$a; done\ncase $p in lowdown|tmux) exit 1 ;; esac\nprintf "install ok installed"\n' \
	> "$tmp/bin/dpkg-query"
chmod 755 "$tmp/bin/id" "$tmp/bin/apt-get" "$tmp/bin/dpkg-query"
re="^  sudo apt-get update \&\& sudo apt-get install -y --no-install-recommends"
expect 1 "" "$re lowdown$" -- env PATH="$tmp/bin:$PATH" "$tmp/dev" demo --seconds 1
expect 1 "" "$re lowdown tmux$" -- env PATH="$tmp/bin:$PATH" "$tmp/dev" test
[ ! -e "$tmp/build" ] && ok || bad "./dev left $tmp/build"
finish
