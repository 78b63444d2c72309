#!/bin/sh
# The release build (-O3, NDEBUG: what ./dev bench builds) compiles with
# warnings as errors too. -O3 inlines more and warns about other things
# (maybe-uninitialized once broke ./dev bench while ./dev test passed).
# Builds the library, the tools and the benchmarks, not the tests.
# Usage: release_build.sh SOURCE_ROOT SCRATCH_DIR
set -eu
src=$1
dir=$2
if [ ! -f "$dir/build.ninja" ]; then
	rm -rf "$dir"
	meson setup "$dir" "$src" --buildtype=release -Dtests=disabled >"$dir.log" 2>&1 ||
		{ cat "$dir.log"; echo "release_build: meson setup failed"; exit 1; }
fi
if ! ninja -C "$dir" >"$dir.log" 2>&1; then
	grep -E 'error|warning' "$dir.log" | head -40
	echo "release_build: the release build failed (log: $dir.log)"
	exit 1
fi
echo "release build: ok ($(grep -c '^\[' "$dir.log" || true) steps)"
