#!/usr/bin/env bash
# The install test (issue 8): `meson install --destdir` into a temporary
# directory, then check what it holds and build docs/examples/minimal.c
# against it with `pkg-config --cflags --libs shmstat`, and run it.
#
# Usage: install.sh BUILD_DIR SOURCE_DIR
set -u
build=$1
src=$2
# pkg-config's flags are words, split at a space: the install goes under
# /tmp when TMPDIR has one ("-I/tmp/my tmp/..." built nothing)
case ${TMPDIR:-/tmp} in
*[[:space:]]*) dest=$(mktemp -d /tmp/shmstat-install.XXXXXX) ;;
*) dest=$(mktemp -d) ;;
esac || exit 1
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
trap 'rm -rf "$dest"' EXIT

meson install -C "$build" --no-rebuild --destdir "$dest" >"$dest.log" 2>&1 ||
	{ echo "FAIL: meson install: $(tail -5 "$dest.log")"; rm -f "$dest.log"; exit 1; }
rm -f "$dest.log"
prefix=$(meson introspect "$build" --buildoptions |
	sed -n 's/.*"name": "prefix", "value": "\([^"]*\)".*/\1/p')
[ -n "$prefix" ] || prefix=/usr/local
root="$dest$prefix"

# what a user gets
for f in bin/shmstat include/shmstat.h include/shmstat_inline.h include/shmstat_profile.h \
	include/shmstat_history.h \
	include/shmstat_window.h share/man/man1/shmstat.1 \
	share/man/man5/shmstat-rules.5 share/man/man5/shmstat-history.5 \
	share/doc/shmstat/rules.md share/doc/shmstat/history.md share/doc/shmstat/prometheus.md \
	share/doc/shmstat/cachesim-rules.yaml \
	share/bash-completion/completions/shmstat; do
	[ -e "$root/$f" ] && ok || bad "not installed: $prefix/$f"
done
# the installed documents are the tree's, and the pages name where they are
for f in rules.md history.md prometheus.md examples/cachesim-rules.yaml; do
	cmp -s "$src/docs/$f" "$root/share/doc/shmstat/${f#examples/}" && ok ||
		bad "$prefix/share/doc/shmstat/${f#examples/} differs from docs/$f"
done
for f in man1/shmstat.1 man5/shmstat-rules.5 man5/shmstat-history.5; do
	grep -qF "$prefix/share/doc/shmstat" "$root/share/man/$f" && ok ||
		bad "$prefix/share/man/$f does not name $prefix/share/doc/shmstat"
done
pc=$(find "$root" -name shmstat.pc | head -1)
[ -n "$pc" ] && ok || bad "shmstat.pc not installed"
lib=$(find "$root" -name 'libshmstat.so.0*' -type f | head -1)
[ -n "$lib" ] && ok || bad "libshmstat.so not installed"
[ -n "$(find "$root" -name libshmstat.a | head -1)" ] && ok || bad "libshmstat.a not installed"
bash -n "$root/share/bash-completion/completions/shmstat" 2>/dev/null && ok ||
	bad "bash completion does not parse"

# the example, built as a user would, against the installed files only
pcdir=$(dirname "$pc")
flags=$(PKG_CONFIG_PATH="$pcdir" pkg-config --define-variable=prefix="$root" --cflags --libs shmstat) ||
	bad "pkg-config --cflags --libs shmstat failed"
case "$flags" in *"$dest"*) ok ;; *) bad "pkg-config flags do not point into the install: $flags" ;; esac
cc -std=c11 -Wall -Wextra -Werror "$src/docs/examples/minimal.c" $flags -o "$dest/minimal" 2>"$dest/cc.err" &&
	ok || bad "the example does not build: $(cat "$dest/cc.err")"
out=$(LD_LIBRARY_PATH="$(dirname "$lib")" "$dest/minimal" 2>&1) && [ "$out" = "minimal_events_total 42" ] &&
	ok || bad "the example printed '$out'"
# it runs against the installed library, not the build's
LD_LIBRARY_PATH="$(dirname "$lib")" ldd "$dest/minimal" | grep -q "$dest" && ok ||
	bad "the example is not linked with the installed library"
# the installed tool finds the installed library by itself (a RUNPATH),
# but under /usr (the system's directory, where ldconfig finds it)
libdir=$(meson introspect "$build" --buildoptions |
	sed -n 's/.*"name": "libdir", "value": "\([^"]*\)".*/\1/p')
case $libdir in /*) ;; *) libdir=$prefix/$libdir ;; esac
runpath=$(readelf -d "$root/bin/shmstat" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p')
if [ "$prefix" = /usr ]; then
	[ -z "$runpath" ] && ok || bad "installed shmstat has a RUNPATH under /usr: $runpath"
else
	[ "$runpath" = "$libdir" ] && ok || bad "installed shmstat's RUNPATH is '$runpath', not $libdir"
fi
# the installed tool runs
v=$(LD_LIBRARY_PATH="$(dirname "$lib")" "$root/bin/shmstat" help 2>&1) &&
	grep -q "serve" <<<"$v" && ok || bad "installed shmstat does not run: $v"

echo "install: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
