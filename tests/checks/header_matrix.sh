#!/bin/sh
# The public headers under another compiler than the build's (clang and
# clang++ when the build uses gcc): test_header.c as C99, C11, C17 and
# C2x, test_header.cc as C++11 to C++20, with the warnings of
# tests/checks/meson.build as errors, each linked with the build's
# libshmstat.so and run (it checks its counts exactly). A compiler that
# is not installed is skipped (exit 77 when neither is).
#
# Usage: header_matrix.sh CC CXX SRCDIR INCLUDEDIR LIBDIR
set -u
ccomp=$1
cxx=$2
src=$3
inc=$4
libdir=$5
dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT
cw="-Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wundef
 -Wconversion -Wsign-conversion -Wcast-qual -Wredundant-decls -Werror"
xw="-Wall -Wextra -Wpedantic -Wshadow -Wold-style-cast -Wzero-as-null-pointer-constant -Werror"
pass=0
fail=0
ran=0
# one: COMPILER STD SOURCE WARNINGS
one() {
	name=$(basename "$1")-$2
	ran=1
	# shellcheck disable=SC2086 # the warnings are words
	if ! "$1" -std="$2" $4 -I"$inc" "$3" -L"$libdir" -lshmstat -pthread \
		-o "$dir/$name" 2>"$dir/err"; then
		fail=$((fail + 1))
		echo "FAIL: $1 -std=$2: $(grep -m 5 'error' "$dir/err")"
		return
	fi
	if out=$(LD_LIBRARY_PATH="$libdir" "$dir/$name" "test-header-m-$(echo "$name" | tr + x)" 2>&1); then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL: $1 -std=$2 runs: $out"
	fi
}
if command -v "$ccomp" >/dev/null 2>&1; then
	for std in c99 c11 c17 c2x; do one "$ccomp" $std "$src/test_header.c" "$cw"; done
else
	echo "$ccomp not installed: skipped"
fi
if command -v "$cxx" >/dev/null 2>&1; then
	for std in c++11 c++14 c++17 c++20; do one "$cxx" $std "$src/test_header.cc" "$xw"; done
else
	echo "$cxx not installed: skipped"
fi
[ "$ran" -eq 1 ] || exit 77
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
