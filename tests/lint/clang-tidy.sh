#!/bin/sh
# clang-tidy on the library and the tools, with the configuration in
# .clang-tidy at the top of the tree: any finding fails (the target is zero).
#   tests/lint/clang-tidy.sh BUILD_DIR SOURCE_DIR
# Uses BUILD_DIR/compile_commands.json (the library as shipped and the
# tools, see ccdb.py); runs LINT_JOBS (default 2) clang-tidy at a time.
# A file whose input (preprocessed text, command, .clang-tidy, clang-tidy's
# version) is listed in tests/lint/clang-tidy.passed as analysed with zero
# findings is not analysed again (tidycache.py; SHMSTAT_TIDY_CACHE=0
# analyses every file). The list for this tree is written to
# BUILD_DIR/clang-tidy.passed; commit it as tests/lint/clang-tidy.passed.
set -eu
build=$1
src=$2
jobs=${LINT_JOBS:-2}
tidy=
for t in clang-tidy clang-tidy-14 clang-tidy-15 clang-tidy-16; do
	if command -v "$t" >/dev/null 2>&1; then tidy=$t; break; fi
done
if [ -z "$tidy" ]; then
	echo "clang-tidy is not installed (Debian: apt-get install clang-tidy): skipped"
	exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 "$src/tests/lint/ccdb.py" "$build" "$tmp" > "$tmp/all"
TIDY=$tidy python3 "$src/tests/lint/tidycache.py" plan "$tmp" "$src" \
	"$src/tests/lint/clang-tidy.passed" > "$tmp/files"
: > "$tmp/failed"
# one log per file; a file fails on any diagnostic or a non-zero exit
xargs -P "$jobs" -I{} sh -c '
	log="$1/$(echo "$4" | tr / _).log"
	if ! "$2" -p "$1" --quiet --config-file="$3/.clang-tidy" "$4" > "$log" 2>&1 ||
	   grep -q -E "(warning|error):" "$log"; then
		echo "$4" >> "$1/failed"
	fi' sh "$tmp" "$tidy" "$src" {} < "$tmp/files"
n=$(wc -l < "$tmp/files")
all=$(wc -l < "$tmp/all")
python3 "$src/tests/lint/tidycache.py" save "$tmp" "$src" "$tmp/failed" "$build/clang-tidy.passed"
if [ -s "$tmp/failed" ]; then
	sort "$tmp/failed" | while read -r f; do
		echo "== $f"
		grep -v -E '^[0-9]+ warnings? generated\.$|^Suppressed [0-9]+ warnings|^Use -header-filter' \
			"$tmp/$(echo "$f" | tr / _).log" || true
	done
	c=$(cat "$tmp"/*.log | grep -c -E "^[^ ].*:[0-9]+:[0-9]+: (warning|error):" || true)
	echo "clang-tidy ($tidy): $c findings in $(wc -l < "$tmp/failed") of $n files analysed"
	echo "fix them, or silence a false positive on its line with"
	echo "NOLINTNEXTLINE(check) and a comment saying why (see .clang-tidy)"
	exit 1
fi
echo "clang-tidy ($tidy): $n files analysed, $((all - n)) of $all known to pass as they are, 0 findings"
if ! cmp -s "$build/clang-tidy.passed" "$src/tests/lint/clang-tidy.passed"; then
	echo "the list of inputs known to pass changed: cp $build/clang-tidy.passed $src/tests/lint/"
fi
