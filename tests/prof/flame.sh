#!/usr/bin/env bash
# shmstat flame end to end: two prof_target processes of 3 threads each,
# whose CPU time is 75% in hot_a and 25% in hot_b by construction (counted
# in rounds of work, not seconds), profiled into one segment at 997 Hz and
# read back. The folded stacks must give hot_a 75% of the samples in the
# two functions (share_ok: +- 5 points or 4 standard deviations), with
# names resolved; the SVG must render in headless Chromium. The tool
# does not load libdw before it names frames; without libdw's
# functions, the frames are addresses and a warning says why.
# Usage: flame.sh SHMSTAT PROF_TARGET RENDER_SH EMPTY_MODULE
set -u
shmstat=$1
target=$2
render=$3
empty=$4
name="clif-$$"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/shmstat-flame-$$.XXXXXX") || exit 1
trap '"$shmstat" rm "$name" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM PIPE      # the EXIT trap cleans up then too

# ok, bad, expect, finish (tests/cli/lib.sh); expect's stderr in $tmp/err
expect_err="$tmp/err"
# shellcheck source=../cli/lib.sh
source "$(dirname "$0")/../cli/lib.sh"

# share FOLDED LEAF: samples whose innermost frame is LEAF
leaf_sum() {
	awk -v leaf="$2" '{ n = $NF; $NF = ""; sub(/ $/, ""); k = split($0, f, ";");
		if (f[k] == leaf) s += n } END { print s + 0 }' "$1"
}

# share_ok A B: is A / (A + B) within 75% +- 5 points, or +- 4 standard
# deviations of the share of A + B samples drawn at 75% when that is
# wider (outside: 1 correct profile in 16,000, as binomial draws). For
# one process's 450 samples 5 points are 2.4 standard deviations: a full
# suite once failed on 80.4%.
share_ok() {
	awk -v a="$1" -v b="$2" 'BEGIN { n = a + b; if (n == 0) exit 1
		t = 4 * sqrt(0.75 * 0.25 / n); if (t < 0.05) t = 0.05
		d = a / n - 0.75; exit !(d <= t && -d <= t) }'
}

# --- two profiled processes, run to completion
"$target" "$name" 3 8000 997 >"$tmp/cpu1" & p1=$!
"$target" "$name" 3 8000 997 >"$tmp/cpu2" & p2=$!
wait "$p1" || bad "prof_target 1 failed"
wait "$p2" || bad "prof_target 2 failed"

expect 0 "profile: [0-9]+ sampled stacks" "" -- "$shmstat" show "$name"
expect 0 '"profile":\{"max_stacks":4096,"stacks":[1-9]' "" -- "$shmstat" show --json "$name"

"$shmstat" flame "$name" >"$tmp/all.folded" 2>"$tmp/err" || bad "flame exited $?: $(cat "$tmp/err")"
if grep -Evq '^[^ ].* [0-9]+$' "$tmp/all.folded"; then
	bad "folded lines malformed: $(grep -Ev '^[^ ].* [0-9]+$' "$tmp/all.folded" | head -3)"
else
	ok
fi
a=$(leaf_sum "$tmp/all.folded" hot_a)
b=$(leaf_sum "$tmp/all.folded" hot_b)
total=$(awk '{ s += $NF } END { print s + 0 }' "$tmp/all.folded")
echo "samples: hot_a $a, hot_b $b, all $total"
if [ $((a + b)) -lt 400 ]; then
	bad "too few samples in hot_a and hot_b: $a + $b"
else
	if share_ok "$a" "$b"; then ok; else
		bad "hot_a has $((1000 * a / (a + b))) per mille of $((a + b)) samples, expected 750"; fi
	# nearly every sample is in one of the two
	if [ $((100 * (a + b) / total)) -ge 90 ]; then ok; else
		bad "only $a + $b of $total samples in hot_a and hot_b"; fi
fi
# the callers are named too: the thread function above both
expect 0 ';worker;hot_a [0-9]+$' "" -- "$shmstat" flame "$name"
expect 0 ';worker;hot_b [0-9]+$' "" -- "$shmstat" flame "$name"

# per process: two roots, each with its own share within 5 points
"$shmstat" flame --per-process "$name" >"$tmp/pp.folded" 2>/dev/null
roots=$(cut -d';' -f1 "$tmp/pp.folded" | sort -u | grep -c '^prof_target (pid [0-9]*)$')
[ "$roots" -eq 2 ] && ok || bad "expected 2 process roots, got $roots: $(cut -d';' -f1 "$tmp/pp.folded" | sort -u)"
for pid in $p1 $p2; do
	"$shmstat" flame --pid "$pid" "$name" >"$tmp/p.folded" 2>/dev/null
	pa=$(leaf_sum "$tmp/p.folded" hot_a)
	pb=$(leaf_sum "$tmp/p.folded" hot_b)
	if share_ok "$pa" "$pb"; then ok; else
		bad "pid $pid: hot_a $pa, hot_b $pb: not 75%"; fi
done
# the SVG's subtitle counts the processes drawn: one with --pid (it said
# "2 processes", every process of the profile), none when no stack is kept
expect 0 '>cpu samples, by samples, 2 processes</text>' "" -- "$shmstat" flame --svg - "$name"
expect 0 '>cpu samples, by samples, 1 process</text>' "" -- "$shmstat" flame --svg - --pid "$p1" "$name"
expect 0 '>timed sections, by nanoseconds, 0 processes</text>' "has no latency stacks" -- \
	"$shmstat" flame --svg - --latency "$name"
# --by weight: nanoseconds of CPU, the two processes' CPU time while they
# were profiled, but the CPU of each thread before its first sample and
# after its last: within a tenth (one period a sample was a quarter of it
# on a kernel ticking at 250 Hz, where a 997 Hz timer fires 250 times a
# second). (%.0f: mawk prints a sum past 2^31 as 2.89468e+09, and %d
# stops there)
w=$("$shmstat" flame --by weight "$name" | awk '{ s += $NF } END { printf "%.0f\n", s }')
cpu=$(awk '$1 == "process_cpu" { s += $2 } END { printf "%.0f\n", s }' "$tmp/cpu1" "$tmp/cpu2")
echo "weight $w ns, cpu $cpu ns"
[ "$cpu" -gt 0 ] && [ $((10 * w)) -ge $((9 * cpu)) ] && [ "$w" -le $((cpu + 6 * 1003009)) ] && ok ||
	bad "weight $w ns is not the $cpu ns of CPU the processes used"
# addresses only
expect 0 'prof_target\+0x[0-9a-f]+ [0-9]+$' "" -- "$shmstat" flame --addresses "$name"
# libdw: loaded by the symbolizer only (tools/symbolize/dw.c); a libdw.so.1
# without its functions leaves the frames as addresses, and says why
if native "$shmstat"; then
	loaded_late "$shmstat" libdw
	mkdir -p "$tmp/nodw"
	cp "$empty" "$tmp/nodw/libdw.so.1"
	expect 0 ';\[prof_target\] [0-9]+$' \
		"^shmstat: cannot read .*prof_target for pid [0-9]+ .*: libdw.so.1 has no dwfl_begin; its frames are shown as addresses$" \
		-- env LD_LIBRARY_PATH="$tmp/nodw" "$shmstat" flame "$name"
fi
# no latency stacks here
expect 0 "" "has no latency stacks" -- "$shmstat" flame --latency "$name"
expect 0 "" "no cpu stacks matching the filters" -- "$shmstat" flame --pid 1 "$name"

# --- the SVG, rendered by a browser
expect 0 "" "" -- "$shmstat" flame --svg "$tmp/flame.svg" --title "prof <target> & co" "$name"
grep -q '<title>hot_a (' "$tmp/flame.svg" && ok || bad "svg has no hot_a frame title"
grep -q 'prof &lt;target&gt; &amp; co' "$tmp/flame.svg" && ok || bad "svg title not escaped"
bash "$render" "$tmp/flame.svg" "$tmp/render" >"$tmp/render.log" 2>&1
case $? in
0) ok ;;
77) echo "SKIP: no chromium to render the svg" ;;
*) bad "render.sh failed: $(tail -5 "$tmp/render.log")" ;;
esac
expect 0 '^<\?xml|^<svg' "" -- "$shmstat" flame --svg - "$name"

# --- gc --profiles frees what the two (exited) processes left
expect 0 "freed [1-9][0-9]* stack entries and [1-9][0-9]* module records of gone processes" "" -- \
	"$shmstat" gc --profiles "$name"
if "$shmstat" show "$name" | grep -q '^profile:'; then bad "show still mentions a profile after gc --profiles"; else ok; fi
expect 0 "" "has no cpu stacks" -- "$shmstat" flame "$name"
expect 0 "freed 0 stack entries and 0 module records" "" -- "$shmstat" gc --profiles "$name"
expect 2 "" "unknown option '--bogus'" -- "$shmstat" gc --bogus "$name"

# --- bad input: usage errors exit 2, runtime errors 1
expect 2 "" "segment name is missing" -- "$shmstat" flame
expect 2 "" "order 'x' is unknown \(samples or weight\)" -- "$shmstat" flame --by x "$name"
expect 2 "" "pid 'abc' is not a process id" -- "$shmstat" flame --pid abc "$name"
expect 2 "" "unknown option '--bogus'" -- "$shmstat" flame --bogus "$name"
expect 2 "" "too many arguments" -- "$shmstat" flame "$name" extra
expect 1 "" "segment 'nonexistent-$$' does not exist" -- "$shmstat" flame "nonexistent-$$"
expect 1 "" "cannot write svg file '/nonexistent-dir/x.svg'" -- \
	"$shmstat" flame --svg /nonexistent-dir/x.svg "$name"
# --svg to a hard link: refused, the file it names left as it was; a
# FIFO with no reader does not block; a file of this user is replaced
# whole; a symbolic link of this user's is followed (/dev/stdout too).
# A link another user planted in /tmp: tests/cli/history.sh (check --out)
printf 'precious\n' > "$tmp/precious"
ln "$tmp/precious" "$tmp/hard.svg"
mkfifo "$tmp/fifo.svg"
expect 1 "" "^shmstat: cannot write svg file '$tmp/hard.svg': it has 2 hard links; refusing it$" -- \
	"$shmstat" flame --svg "$tmp/hard.svg" "$name"
[ "$(cat "$tmp/precious")" = precious ] && ok || bad "--svg wrote through a hard link: $(head -c 200 "$tmp/precious")"
rm "$tmp/hard.svg"
ln -s "$tmp/precious" "$tmp/link.svg"
expect 0 "" "" -- "$shmstat" flame --svg "$tmp/link.svg" "$name"
[ -L "$tmp/link.svg" ] && head -c 5 "$tmp/precious" | grep -q '^<' && ok ||
	bad "--svg did not write through this user's link: $(head -c 200 "$tmp/precious")"
"$shmstat" flame --svg /dev/stdout "$name" | head -c 5 | grep -q '^<' && ok ||
	bad "--svg /dev/stdout did not write the svg to stdout"
expect 1 "" "^shmstat: cannot write svg file '$tmp/fifo.svg': it is a fifo with no reader$" -- \
	timeout 20 "$shmstat" flame --svg "$tmp/fifo.svg" "$name"
head -c 100000 /dev/zero | tr '\0' x > "$tmp/mine.svg"
expect 0 "" "" -- "$shmstat" flame --svg "$tmp/mine.svg" "$name"
head -c 5 "$tmp/mine.svg" | grep -q '^<' && ! grep -q xxx "$tmp/mine.svg" && ok ||
	bad "--svg did not replace the file whole: $(head -c 200 "$tmp/mine.svg")"

echo -n "flame: "
finish
