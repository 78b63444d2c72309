#!/bin/sh
# cppcheck on the library and the tools: any finding fails (the target is
# zero). Checks: warning, style, performance, portability; the suppressions
# with their reasons are in tests/lint/cppcheck.supp and on single lines
# ("cppcheck-suppress ID" after a comment saying why).
#   tests/lint/cppcheck.sh BUILD_DIR SOURCE_DIR
# Uses BUILD_DIR/compile_commands.json (the library as shipped and the
# tools, see ccdb.py), minus the system include directories: cppcheck knows
# the C library and POSIX from its --library files.
set -eu
build=$1
src=$2
jobs=${LINT_JOBS:-2}
if ! command -v cppcheck >/dev/null 2>&1; then
	echo "cppcheck is not installed (Debian: apt-get install cppcheck): skipped"
	exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 "$src/tests/lint/ccdb.py" "$build" "$tmp" --no-system-includes > "$tmp/files"
rc=0
cppcheck --project="$tmp/compile_commands.json" -j "$jobs" --quiet \
	--enable=warning,style,performance,portability --library=posix --library=gnu \
	--inline-suppr --suppressions-list="$src/tests/lint/cppcheck.supp" \
	--error-exitcode=1 --template='{file}:{line}:{column}: {severity}: {message} [{id}]' \
	2> "$tmp/out" || rc=$?
n=$(wc -l < "$tmp/files")
if [ "$rc" -ne 0 ] || [ -s "$tmp/out" ]; then
	cat "$tmp/out"
	echo "cppcheck $(cppcheck --version | sed 's/^Cppcheck //'): $(grep -c -E '\[[A-Za-z0-9_]+\]$' "$tmp/out" || true) findings in $n files (exit $rc)"
	echo "fix them, or suppress a false positive on its line with a comment saying why"
	echo "and 'cppcheck-suppress ID' (see tests/lint/cppcheck.supp)"
	exit 1
fi
echo "cppcheck $(cppcheck --version | sed 's/^Cppcheck //'): $n files, 0 findings"
