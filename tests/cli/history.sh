#!/usr/bin/env bash
# History CLI tests: shmstat record, show --history, trend and check against
# a writer (cli_hist_fill) that the test moves step by step. Each record is
# taken by its own `shmstat record --count 1 --interval 100ms` run between
# two known steps (record aligns to the interval, so consecutive runs take
# records at different instants): every window holds exactly known values,
# and no result depends on how long anything took.
# Usage: history.sh SHMSTAT HIST_FILL JSON_FLAT RULES_EXAMPLE CACHESIM
set -u
shmstat=$1
hfill=$2
json_flat=$3
examples=$4
cachesim=$5
tag="clih-$$"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/shmstat-history-$$.XXXXXX") || exit 1
W_PID=
recpid=
# the steps as another user run copies in a directory of their own: the
# tree, and $tmp under TMPDIR, may be private
. "$(dirname "$0")/nobody.sh"
nobody_init

# ok, bad, expect (lib.sh); the last stderr in $tmp/err, which checks
# below read
expect_err=$tmp/err
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

# has FILE LINE...: each LINE is a whole line of FILE
has() {
	local f=$1 l
	shift
	for l in "$@"; do
		if grep -qxF -- "$l" "$f"; then ok; else bad "$(basename "$f") lacks the line: $l"; fi
	done
}

# cols OWNER VIEW...: in the tables of shmstat VIEW, every row's key
# starts under KEY and every owner's hits end under HITS; OWNER (as
# printed) has two rows at least, its totals' and a key's
cols() {
	local own=$1
	shift
	"$shmstat" "$@" | awk -v own="$own" '
		/ OWNER +KEY$/ { o = index($0, "OWNER"); k = index($0, "KEY"); h = 0; next }
		/^   OWNER +HITS / { o = index($0, "OWNER"); h = index($0, "HITS") + 3; k = 0; next }
		/^$/ { o = 0 }
		o && length($0) > o {
			r = substr($0, o); sub(/^[^ ]+ +/, "", r); at = length($0) - length(r) + 1
			if (k && at != k) { print "key misplaced: " $0; bad = 1 }
			if (h && at + index(r, " ") - 2 != h) { print "hits misplaced: " $0; bad = 1 }
			if (index($0, own)) seen++
		}
		END { if (seen < 2) print "no row of owner " own; exit bad || seen < 2 }' >"$tmp/cols" &&
		ok || bad "$*: columns: $(cat "$tmp/cols")"
}

# the writer: one at a time, as a coprocess answering "ok" to each step
writer_start() { # NAME
	# in $tmp: the steps name their files relative to it, as a line of
	# words cannot hold a path with a space (a TMPDIR may have one)
	coproc W { cd "$tmp" && exec "$hfill" "$1"; }
	local line=
	read -r line <&"${W[0]}"
	[ "$line" = ready ] && ok || bad "cli_hist_fill $1 did not start"
}
step() { # COMMAND...: each one a line for the writer, acknowledged
	local c line
	for c in "$@"; do
		echo "$c" >&"${W[1]}"
		line=
		read -r line <&"${W[0]}"
		[ "$line" = ok ] || bad "writer step '$c': $line"
	done
}
writer_stop() { # end of input: the writer detaches and exits
	local fd=${W[1]}
	exec {fd}>&-
	wait "$W_PID" || bad "cli_hist_fill exited $?"
	W_PID=
}

cleanup() {
	[ -n "$W_PID" ] && kill -9 "$W_PID" 2>/dev/null
	[ -n "$recpid" ] && kill -9 "$recpid" 2>/dev/null
	"$shmstat" rm "$tag-m" "$tag-bg" "$tag-cs" >/dev/null 2>&1
	rm -rf "$tmp"
	nobody_cleanup
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM PIPE      # the EXIT trap cleans up then too

# one record of segment $2 into history $1, taken on the next 100 ms
# boundary; small files, a fine tier
rec() { # FILE NAME [more options]
	local f=$1 n=$2
	shift 2
	"$shmstat" record --count 1 --interval 100ms --tiers 100ms:10m,1s:1h --size 256K \
		"$@" -o "$f" "$n" 2>>"$tmp/rec.err" || bad "record $n into $f exited $?: $(cat "$tmp/rec.err")"
}
# the times (ns) of the records of history $1, one a line
times() { "$shmstat" show --history "$1" --range @0 now --json | "$json_flat" | sed -n 's/^frames\.[0-9]*\.time_ns=//p'; }
# an instant for --at / --range: @SECONDS.NANOSECONDS
at() { printf '@%d.%09d' $(($1 / 1000000000)) $(($1 % 1000000000)); }
# printf FORMAT with an expression awk computes (in doubles, as the tools do)
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
# a rate per second as show prints it (tools/units.h): below 10,000 whole
# or %.4g, then %.3g and k, M, G, T, P, E
rate() {
	awk "BEGIN { v = $1; split(\"k M G T P E\", sfx, \" \")
		if (v < 10000) { printf (v == int(v) ? \"%d/s\" : \"%.4g/s\"), v; exit }
		for (u = 0; v >= 999.5 && u < 6; u++) v /= 1000
		printf \"%.3g%s/s\", v, sfx[u] }"
}
# a regular expression matching string $1 literally
re_quote() { sed 's/[].[\\*^$()+?{}|]/\\&/g' <<<"$1"; }
# a duration as the tools print it, from milliseconds
fmt_ms() { if [ $(($1 % 1000)) = 0 ]; then echo "$(($1 / 1000))s"; else echo "$1ms"; fi; }
# poll (never a bare sleep): until command succeeds, at most 10 s
until_true() {
	local _
	for _ in $(seq 500); do "$@" && return 0; sleep 0.02; done
	return 1
}

# ----------------------------------------------------------------- record
# bad options: exit 2, a precise lowercase message, no file made
expect 2 "" "^shmstat: tier '1s' is not STEP:SPAN$"   -- "$shmstat" record --tiers 1s -o "$tmp/x" "$tag-m"
expect 2 "" "^shmstat: tier step '0s' is not a duration$" -- "$shmstat" record --tiers 0s:1m -o "$tmp/x" "$tag-m"
expect 2 "" "^shmstat: tier span '500ms' is not a duration of at least its step$" -- "$shmstat" record --tiers 1s:500ms -o "$tmp/x" "$tag-m"
expect 2 "" "^shmstat: size 'abc' is not a byte count$" -- "$shmstat" record --size abc -o "$tmp/x" "$tag-m"
# out of the file's bounds: a bad value too (exit 1, 'max_bytes 1, not 16 KiB
# to 1 TiB', from the library creating the file)
for z in 1 16383 1025G; do
	expect 2 "" "^shmstat: size '$z' is not 16K to 1024G$" -- "$shmstat" record --size "$z" -o "$tmp/x" "$tag-m"
done
[ -e "$tmp/x" ] && bad "record --size out of bounds made a file" || ok
expect 2 "" "^shmstat: interval 'x' is not a duration of at least 1ms$" -- "$shmstat" record --interval x -o "$tmp/x" "$tag-m"
expect 2 "" "^shmstat: count '0' is not a positive number$" -- "$shmstat" record --count 0 -o "$tmp/x" "$tag-m"
expect 2 "" "^shmstat: top '2000' is not 0 to 1000$" -- "$shmstat" record --top 2000 -o "$tmp/x" "$tag-m"
# a minus sign, and a top past 2^32: strtoul made them 2^64 - 1 and 1
expect 2 "" "^shmstat: count '-1' is not a positive number$" -- "$shmstat" record --count -1 -o "$tmp/x" "$tag-m"
expect 2 "" "^shmstat: top '4294967297' is not 0 to 1000$" -- "$shmstat" record --top 4294967297 -o "$tmp/x" "$tag-m"
expect 2 "" "^shmstat: unknown option '--bogus'$"      -- "$shmstat" record --bogus -o "$tmp/x" "$tag-m"
expect 2 "" "^shmstat: option '--count' needs a value$" -- "$shmstat" record -o "$tmp/x" "$tag-m" --count
expect 2 "" "^shmstat: expected one segment NAME$"     -- "$shmstat" record -o "$tmp/x"
expect 2 "" "^shmstat: segment name 'bad/name' has a character outside" -- "$shmstat" record -o "$tmp/x" bad/name
# tiers the library refuses: exit 1, nothing left behind
expect 1 "" "^shmstat: cannot create history file '$tmp/x': tier 1 is not coarser than tier 0" -- \
	"$shmstat" record --wait --tiers 1m:1h,1s:10m -o "$tmp/x" "$tag-m"
# a file size limit below the file's size (ulimit -f, in KiB): a
# message and exit 1, not a death by SIGXFSZ leaving the temporary file
expect 1 "" "^shmstat: cannot create history file '$tmp/x' of 262144 bytes: " -- \
	bash -c 'ulimit -f 100 && exec "$@"' sh "$shmstat" record --wait --size 256K -o "$tmp/x" "$tag-m"
left=$(ls -A "$tmp")
[ "$left" = err ] && ok || bad "refused records left files: $left"
# never through a symbolic link, even one to nothing
ln -s "$tmp/target" "$tmp/link"
expect 1 "" "^shmstat: history file '$tmp/link' is a symbolic link; refusing it$" -- \
	"$shmstat" record --wait --count 1 -o "$tmp/link" "$tag-m"
[ -e "$tmp/target" ] && bad "record created the target of a symlink" || ok
head -c 65536 /dev/urandom > "$tmp/foreign"
expect 1 "" "^shmstat: history file '$tmp/foreign' is not a shmstat history file" -- \
	"$shmstat" record --wait --count 1 -o "$tmp/foreign" "$tag-m"

# a segment that does not exist: an error (exit 1), and no file is made
expect 1 "" "^shmstat: segment '$tag-bg' does not exist \(--wait waits for it\)$" -- \
	"$shmstat" record --count 1 -o "$tmp/bg.hist" "$tag-bg"
[ ! -e "$tmp/bg.hist" ] && ok || bad "record of a missing segment created $tmp/bg.hist"
# with --wait: record creates the file (0600 under any umask), waits,
# finds the segment, follows its re-creation, and ends on SIGTERM with
# exit 0
(umask 000; exec "$shmstat" record --wait --interval 100ms --tiers 100ms:10m --size 256K \
	-o "$tmp/bg.hist" "$tag-bg" 2>"$tmp/bg.err") &
recpid=$!
if until_true grep -q "^shmstat: waiting for segment '$tag-bg': segment '$tag-bg' does not exist$" "$tmp/bg.err"; then ok
else bad "record did not say it waits for the segment: $(cat "$tmp/bg.err")"; fi
[ "$(stat -c %a "$tmp/bg.hist")" = 600 ] && ok || bad "history file mode $(stat -c %a "$tmp/bg.hist"), expected 600"
grep -q "^shmstat: recording segment '$tag-bg' into $tmp/bg.hist every 100ms (tiers 100ms:10m)$" "$tmp/bg.err" \
	&& ok || bad "record did not announce itself: $(cat "$tmp/bg.err")"
# one writer per history file
expect 1 "" "^shmstat: history file '$tmp/bg.hist' is being written by another process$" -- \
	"$shmstat" record --wait --count 1 --interval 100ms -o "$tmp/bg.hist" "$tag-bg"
last_a_is() { "$shmstat" show --history "$1" 2>/dev/null | grep -qx "hf_requests_total{path=\"/a\"} counter $2"; }
writer_start "$tag-bg"
step "c a 5"
until_true last_a_is "$tmp/bg.hist" 5 && ok || bad "record did not record the new segment"
grep -q "^shmstat: segment '$tag-bg' found$" "$tmp/bg.err" && ok || bad "record did not say it found the segment"
writer_stop
"$shmstat" rm "$tag-bg" || bad "rm $tag-bg"
writer_start "$tag-bg"
step "c a 3"
until_true last_a_is "$tmp/bg.hist" 3 && ok || bad "record did not follow the re-created segment: $(cat "$tmp/bg.err")"
kill -TERM "$recpid"
wait "$recpid"; rc=$?; recpid=
[ "$rc" = 0 ] && ok || bad "record exited $rc on SIGTERM, expected 0"
writer_stop
# what it left reads back: the first record's value, then a reset
"$shmstat" show --history "$tmp/bg.hist" --range @0 now --json > "$tmp/bg.json" || bad "show --range of bg.hist"
"$json_flat" < "$tmp/bg.json" > "$tmp/bg.flat" || bad "show --range --json of bg.hist is not JSON"
# the first record with the series (the recorder may have seen the new
# segment before the step): 0 or 5
a0=$("$shmstat" show --history "$tmp/bg.hist" --range @0 now | sed -n 's/^hf_requests_total{path="\/a"} counter //p' | head -n 1)
n=$(grep -c '^frames\.[0-9]*\.time_ns=' "$tmp/bg.flat")
if [ "$n" -ge 2 ] && { [ "$a0" = 0 ] || [ "$a0" = 5 ]; }; then ok; else bad "bg.hist: $n records, the first with a=$a0"; fi
"$shmstat" show --history "$tmp/bg.hist" --window 1h --json -I 'hf_requests_total{path="/a"}' \
	| "$json_flat" > "$tmp/bgw.flat" || bad "show --window --json of bg.hist"
has "$tmp/bgw.flat" "records=$n" "series.0.resets=1" "series.0.increase=$((5 - a0 + 3))"

# --group-read: 0640 under any umask; an existing file keeps its tiers
writer_start "$tag-m"
# in this shell, not a subshell: a failure inside rec must count
old_umask=$(umask); umask 077
rec "$tmp/g.hist" "$tag-m" --group-read
umask "$old_umask"
[ "$(stat -c %a "$tmp/g.hist")" = 640 ] && ok || bad "--group-read made mode $(stat -c %a "$tmp/g.hist")"
: > "$tmp/rec.err"
expect 0 "" "" -- "$shmstat" record --count 1 --interval 100ms --tiers 1s:1h -o "$tmp/g.hist" "$tag-m"
grep -q "(tiers 100ms:10m,1s:1h)" "$tmp/err" && ok || bad "an existing history took other tiers: $(cat "$tmp/err")"
# a finer tier than 1ms does not take the interval below --interval's 1ms
# (tiers 1ns:1ns snapshotted without a pause)
expect 0 "" "every 1ms \\(tiers 1ns:1ns\\)" -- "$shmstat" record --count 1 --tiers 1ns:1ns -o "$tmp/ns.hist" "$tag-m"
# an --interval longer than the finest tier's step is kept (it was once
# cut down to the step)
expect 0 "" "every 300ms \(tiers 100ms:10m,1s:1h\)" -- \
	"$shmstat" record --count 1 --interval 300ms -o "$tmp/g.hist" "$tag-m"
# --count N: N records, exit 0
expect 0 "" "" -- "$shmstat" record --count 3 --interval 100ms --tiers 100ms:10m --size 256K -o "$tmp/c3.hist" "$tag-m"
[ "$(times "$tmp/c3.hist" | wc -l)" = 3 ] && ok || bad "record --count 3 did not take 3 records"
# --count N and a snapshot that fails at every interval (memory short:
# the segment's copy needs some 40 MB, ulimit -v allows 20): N intervals,
# exit 1 saying so (it retried for ever, "out of memory" 10 times a second)
expect 1 "" "^shmstat: no snapshot of segment '$tag-m' was recorded in 2 intervals$" -- \
	timeout 20 bash -c 'ulimit -v 20000 && exec "$@"' _ "$shmstat" record --count 2 \
	--interval 100ms -o "$tmp/nomem.hist" "$tag-m"
[ "$(grep -c "out of memory copying segment '$tag-m'" "$tmp/err")" = 2 ] && ok ||
	bad "record --count 2 out of memory: $(cat "$tmp/err")"

# the clock behind the last record (one written while it was ahead,
# through cli_hist_fill): 5 minutes behind (within the bound, 10m), the
# snapshots are skipped, said once, and nothing is written (record is
# stopped long before the clock passes that record); a day behind (past
# the bound), the file's tiers start anew at once and the records before
# are not read
T='[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}'
f=$tmp/ahead.hist
all_times() { "$shmstat" show --history "$1" --range @0 @9999999999 --json | "$json_flat" | sed -n 's/^frames\.[0-9]*\.time_ns=//p'; }
rec "$f" "$tag-m"
step "a ${f##*/} 300"
"$shmstat" record --interval 100ms -o "$f" "$tag-m" 2>"$tmp/behind.err" &
recpid=$!
behind_re="^shmstat: the clock \($T\) is behind the last record of history file '$(re_quote "$f")' \($T\) by [0-9.]+m: snapshots are skipped until it catches up, for at most 10m$"
until_true grep -Eq "$behind_re" "$tmp/behind.err" && ok || bad "record did not say the clock is behind: $(cat "$tmp/behind.err")"
kill -TERM "$recpid"
wait "$recpid"; rc=$?; recpid=
[ "$rc" = 0 ] && ok || bad "record behind the clock exited $rc on SIGTERM, expected 0"
[ "$(grep -Ec "$behind_re" "$tmp/behind.err")" = 1 ] && [ "$(wc -l < "$tmp/behind.err")" = 2 ] && ok ||
	bad "record behind the clock said more than it starts and is behind: $(cat "$tmp/behind.err")"
[ "$(all_times "$f" | wc -l)" = 2 ] && ok || bad "record behind the clock wrote records: $(all_times "$f")"
step "a ${f##*/} 86400"
now=$(date +%s%N)
expect 0 "" "^shmstat: the clock \($T\) is behind the last record of history file '$(re_quote "$f")' \($T\) by (23\.9h|24h), past 10m: its tiers start anew \(the records before are no longer read\)$" -- \
	timeout 20 "$shmstat" record --count 1 --interval 100ms -o "$f" "$tag-m"
grep -q "skipped" "$tmp/err" && bad "a day behind, record skipped snapshots: $(cat "$tmp/err")" || ok
mapfile -t ts < <(all_times "$f")
{ [ "${#ts[@]}" = 1 ] && [ "${ts[0]}" -ge "$now" ] && [ "${ts[0]}" -le "$(date +%s%N)" ]; } && ok \
	|| bad "the clock a day behind: records ${ts[*]}, expected the new one alone"

# ---------------------------------------------------- show --history
# four records, R0 .. R3, of known steps
h=$tmp/main.hist
rec "$h" "$tag-m"                                                       # R0: all 0
step "c a 10" "c b 1" "g 5" "h 50 90" "h 100 10" "s hit k1 100" "s hit k1 100" \
	"s miss k2" "c hits 9" "c misses 1"
rec "$h" "$tag-m"                                                       # R1
step "c a 20" "g -3" "h 120 100" "s hit k2 50" "c hits 81" "c misses 9"
rec "$h" "$tag-m"                                                       # R2
step "c a 30" "g 7"
rec "$h" "$tag-m"                                                       # R3
mapfile -t t < <(times "$h")
if [ "${#t[@]}" = 4 ] && [ "${t[0]}" -lt "${t[1]}" ] && [ "${t[1]}" -lt "${t[2]}" ] && [ "${t[2]}" -lt "${t[3]}" ]; then ok
else bad "main.hist: expected 4 records in time order, got: ${t[*]}"; fi

# --range: every record in order, cumulative values
"$shmstat" show --history "$h" --range @0 now > "$tmp/range" || bad "show --range failed"
if [ "$(grep -Ec "^# [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}  segment $tag-m  step 100ms$" "$tmp/range")" = 4 ]; then ok
else bad "show --range: not 4 record headers:"; cat "$tmp/range"; fi
cat > "$tmp/range.want" <<'WANT'
#
hf_hits_total counter 0
hf_latency histogram count=0
hf_misses_total counter 0
hf_queue_depth gauge 0 items
hf_requests_total{path="/a"} counter 0
hf_requests_total{path="/b"} counter 0
hf_sigs sigtable hits=0 misses=0 hit_ratio=- weight=0 evictions=0 max_error=0
#
hf_hits_total counter 9
hf_latency histogram count=100 p50=50ns p95=100ns p99=100ns max=100ns
hf_misses_total counter 1
hf_queue_depth gauge 5 items
hf_requests_total{path="/a"} counter 10
hf_requests_total{path="/b"} counter 1
hf_sigs sigtable hits=2 misses=1 hit_ratio=66.7% weight=200 evictions=0 max_error=0
#
hf_hits_total counter 90
hf_latency histogram count=200 p50=100ns p95=120ns p99=120ns max=120ns
hf_misses_total counter 10
hf_queue_depth gauge -3 items
hf_requests_total{path="/a"} counter 30
hf_requests_total{path="/b"} counter 1
hf_sigs sigtable hits=3 misses=1 hit_ratio=75.0% weight=250 evictions=0 max_error=0
#
hf_hits_total counter 90
hf_latency histogram count=200 p50=100ns p95=120ns p99=120ns max=120ns
hf_misses_total counter 10
hf_queue_depth gauge 7 items
hf_requests_total{path="/a"} counter 60
hf_requests_total{path="/b"} counter 1
hf_sigs sigtable hits=3 misses=1 hit_ratio=75.0% weight=250 evictions=0 max_error=0
WANT
if diff "$tmp/range.want" <(sed 's/^# .*/#/' "$tmp/range") > "$tmp/range.diff"; then ok
else bad "show --range output differs:"; cat "$tmp/range.diff"; fi
# a part of the range: R1 and R2 only (1 ms either side of them)
"$shmstat" show --history "$h" --range "$(at $((t[1] - 1000000)))" "$(at $((t[2] + 1000000)))" -I 'hf_requests_total{path="/a"}' > "$tmp/part"
if [ "$(grep -v '^# ' "$tmp/part" | tr '\n' ' ')" = 'hf_requests_total{path="/a"} counter 10 hf_requests_total{path="/a"} counter 30 ' ]; then ok
else bad "show --range R1 R2 -I:"; cat "$tmp/part"; fi
# the records as JSON, through a real parser
"$shmstat" show --history "$h" --range @0 now --json > "$tmp/range.json" || bad "show --range --json failed"
if "$json_flat" < "$tmp/range.json" > "$tmp/range.flat"; then ok; else bad "show --range --json is not JSON"; fi
has "$tmp/range.flat" "schema=shmstat.history/1" "frames.0.segment=$tag-m" "frames.0.step_ns=100000000" \
	"frames.0.time_ns=${t[0]}" "frames.3.time_ns=${t[3]}" \
	"frames.0.series.0.name=hf_hits_total" "frames.0.series.4.name=hf_requests_total" \
	"frames.0.series.4.labels=path=\"/a\"" "frames.0.series.4.type=counter" \
	"frames.0.series.4.value=0" "frames.1.series.4.value=10" "frames.2.series.4.value=30" \
	"frames.3.series.4.value=60" "frames.3.series.5.value=1" \
	"frames.1.series.3.type=gauge" "frames.1.series.3.value=5" "frames.2.series.3.value=-3" \
	"frames.3.series.3.value=7" "frames.1.series.1.type=histogram" "frames.1.series.1.value=100" \
	"frames.3.series.1.value=200" "frames.3.series.6.type=sigtable" "frames.3.series.6.hits=3" \
	"frames.3.series.6.misses=1" "frames.3.series.6.weight=250" "frames.3.series.6.evictions=0" \
	"frames.3.series.6.unsummarized=0" "frames.3.series.6.max_error=0"
[ "$(grep -c '^frames\.[0-9]*\.time_ns=' "$tmp/range.flat")" = 4 ] && ok || bad "show --range --json: not 4 frames"
# no --window, no --at: the last record; --at: the last one at or before
expect 0 'hf_queue_depth gauge 7 items$' "" -- "$shmstat" show --history "$h"
expect 0 'hf_requests_total\{path="/a"\} counter 60$' "" -- "$shmstat" show --history "$h"
expect 0 'hf_requests_total\{path="/a"\} counter 10$' "" -- "$shmstat" show --history "$h" --at "$(at $((t[1] + 1000000)))"
expect 1 "" "^shmstat: no record in .* at or before the instant$" -- "$shmstat" show --history "$h" --at "$(at $((t[0] - 1000000)))"

# --window over all four records: exact increases, the last gauge value,
# the histogram values recorded in it, the signature table's figures
dt=$((t[3] - t[0]))
"$shmstat" show --history "$h" --window 1h > "$tmp/win" || bad "show --window failed"
if grep -Eq "^segment $tag-m from .* to .* \(4 records\)$" "$tmp/win"; then ok; else bad "show --window header:"; cat "$tmp/win"; fi
has "$tmp/win" \
	"hf_requests_total{path=\"/a\"} counter increase=60 rate=$(rate "60e9 / $dt")" \
	"hf_requests_total{path=\"/b\"} counter increase=1 rate=$(rate "1e9 / $dt")" \
	"hf_hits_total counter increase=90 rate=$(rate "90e9 / $dt")" \
	"hf_misses_total counter increase=10 rate=$(rate "10e9 / $dt")" \
	"hf_queue_depth gauge value=7 items" \
	"hf_latency histogram count=200 rate=$(rate "200e9 / $dt") p50=100ns p95=120ns p99=120ns" \
	"hf_sigs sigtable hits=3 misses=1 hit_ratio=75.0% weight=250" \
	"    hits +2 (at most +2) - k1" "    hits +1 (at most +1) - k2"
"$shmstat" show --history "$h" --window 1h --json > "$tmp/win.json" || bad "show --window --json failed"
if "$json_flat" < "$tmp/win.json" > "$tmp/win.flat"; then ok; else bad "show --window --json is not JSON"; fi
has "$tmp/win.flat" "schema=shmstat.window/1" "segment=$tag-m" "records=4" \
	"series.0.name=hf_hits_total" "series.0.increase=90" "series.0.samples=90" \
	"series.1.name=hf_latency" "series.1.type=histogram" "series.1.samples=200" \
	"series.1.p50=100" "series.1.p95=120" "series.1.p99=120" "series.1.rate=$(calc %.6g "200e9 / $dt")" \
	"series.3.name=hf_queue_depth" "series.3.value=7" \
	"series.4.labels=path=\"/a\"" "series.4.increase=60" "series.4.resets=0" \
	"series.4.rate=$(calc %.6g "60e9 / $dt")" "series.5.increase=1" \
	"series.6.hits=3" "series.6.misses=1" "series.6.hit_rate=0.75" "series.6.weight=250" \
	"series.6.top.0.key=k1" "series.6.top.0.hits=2" "series.6.top.0.hits_error=0" \
	"series.6.top.0.high_value=false" "series.6.top.1.key=k2" "series.6.top.1.hits=1"
# a window from R1 (at most 999 ns after it) to 1 ms after R2: what
# happened between them
w12=$(( (t[2] - t[1]) / 1000 + 1000 ))us
"$shmstat" show --history "$h" --at "$(at $((t[2] + 1000000)))" --window "$w12" > "$tmp/win12" || bad "show --window R1..R2"
has "$tmp/win12" "hf_requests_total{path=\"/a\"} counter increase=20 rate=$(rate "20e9 / ($((t[2] - t[1])))")" \
	"hf_queue_depth gauge value=-3 items" \
	"hf_latency histogram count=100 rate=$(rate "100e9 / ($((t[2] - t[1])))") p50=120ns p95=120ns p99=120ns" \
	"hf_sigs sigtable hits=1 misses=0 hit_ratio=100.0% weight=50" \
	"    hits +1 (at most +1) - k2" "    hits +0 (at most +0) - k1"
grep -q "(2 records)$" "$tmp/win12" && ok || bad "window R1..R2 is not 2 records: $(head -1 "$tmp/win12")"
# a window from 1 ms before R1: it starts at the last record before it,
# R0, so it counts all that was counted up to R2
w02=$(( (t[2] - t[1]) / 1000 + 2000 ))us
"$shmstat" show --history "$h" --at "$(at $((t[2] + 1000000)))" --window "$w02" > "$tmp/win02" || bad "show --window R0..R2"
has "$tmp/win02" "hf_requests_total{path=\"/a\"} counter increase=30 rate=$(rate "30e9 / ($((t[2] - t[0])))")" \
	"hf_latency histogram count=200 rate=$(rate "200e9 / ($((t[2] - t[0])))") p50=100ns p95=120ns p99=120ns"
# (R0 to R2 is about twice the window: the span is said)
grep -Eq "\(3 records, its records span [0-9.]+(ms|us|s)\)$" "$tmp/win02" && ok ||
	bad "window R0..R2 is not 3 records, its span said: $(head -1 "$tmp/win02")"
# one record in a 2 ms window: the increase since the record before (R2)
"$shmstat" show --history "$h" --at "$(at $((t[3] + 1000000)))" --window 2ms > "$tmp/win1"
has "$tmp/win1" "hf_requests_total{path=\"/a\"} counter increase=30 rate=$(rate "30e9 / ($((t[3] - t[2])))")" \
	"hf_queue_depth gauge value=7 items"
# no record before the window's start and one in it: no increase, but a
# gauge value
"$shmstat" show --history "$h" --at "$(at $((t[0] + 1000000)))" --window 2ms > "$tmp/win0"
has "$tmp/win0" "hf_requests_total{path=\"/a\"} counter no value (fewer than two records in the window)" \
	"hf_queue_depth gauge value=0 items"
# errors
expect 2 "" "^shmstat: --window, --at and --range need --history$" -- "$shmstat" show --window 1h "$tag-m"
expect 2 "" "^shmstat: --window, --at and --range need --history$" -- "$shmstat" show --range -1h now "$tag-m"
expect 2 "" "^shmstat: no segment name with --history$"          -- "$shmstat" show --history "$h" "$tag-m"
expect 2 "" "^shmstat: window 'x' is not a duration from 1ns to 366d$"            -- "$shmstat" show --history "$h" --window x
expect 2 "" "^shmstat: --range needs START and END$"             -- "$shmstat" show --history "$h" --range now
expect 2 "" "^shmstat: range ends before it starts$"             -- "$shmstat" show --history "$h" --range now -1h
expect 2 "" "^shmstat: range start 'soon' is not a time$"        -- "$shmstat" show --history "$h" --range soon now
# a usage error is followed by the usage (these were not)
for a in "--range now -1h" "--range soon now" "--at soon" "--window 1d --at @1000"; do
	# shellcheck disable=SC2086
	expect 2 "" "^usage: shmstat show " -- "$shmstat" show --history "$h" $a
done
expect 2 "" "^shmstat: choose --at or --range$"                  -- "$shmstat" show --history "$h" --at now --range -1h now
# (--window with --range was the range, the window dropped without a word)
expect 2 "" "^shmstat: choose --window or --range$"              -- "$shmstat" show --history "$h" --window 1m --range -1h now
expect 2 "" "^shmstat: choose --window or --range$"              -- "$shmstat" show --history "$h" --range -1h now --window 1m
expect 2 "" "^shmstat: --history prints text or --json only"      -- "$shmstat" show --history "$h" --prom
expect 1 "" "^shmstat: no records in $h in the window$"          -- "$shmstat" show --history "$h" --at "$(at $((t[0] - 1000000000)))" --window 1s
expect 1 "" "^shmstat: history file '$tmp/foreign' is not a shmstat history file" -- "$shmstat" show --history "$tmp/foreign"
expect 1 "" "^shmstat: history file '$tmp/foreign' is not a shmstat history file" -- "$shmstat" show --history "$tmp/foreign" --window 1h
expect 1 "" "^shmstat: history file '$tmp/missing' does not exist$" -- "$shmstat" show --history "$tmp/missing"
: > "$tmp/empty"
expect 1 "" "^shmstat: history file '$tmp/empty' is not a shmstat history file" -- "$shmstat" show --history "$tmp/empty"
expect 1 "" "^shmstat: history file '$tmp/link' is a symbolic link" -- "$shmstat" show --history "$tmp/link"
# a history this user may not read (root: ask nobody, with a copy of the
# tool, in a directory it can reach; others: mode 000)
if [ "$(id -u)" -eq 0 ]; then
	if [ -n "$nobody_dir" ] && nobody_copy nobody_shmstat "$shmstat"; then
		install -m 0600 "$h" "$nobody_dir/private.hist"
		expect 1 "" "^shmstat: history file '$nobody_dir/private.hist' is not readable by this user$" -- \
			as_nobody "$nobody_shmstat" show --history "$nobody_dir/private.hist"
	else
		echo "SKIP: a history uid 65534 may not read: $nobody_why" >&2
	fi
else
	cp "$h" "$tmp/private.hist"
	chmod 000 "$tmp/private.hist"
	expect 1 "" "^shmstat: history file '$tmp/private.hist' is not readable by this user$" -- \
		"$shmstat" show --history "$tmp/private.hist"
fi

# ------------------------------------------------------------------ trend
# sixteen records, R0 .. R15; before R(k), a gains 10k (faster and
# faster), b gains 160 - 10k (slower and slower), the gauge is k, the
# histogram records 10 values of 8k
th=$tmp/trend.hist
rec "$th" "$tag-m"
for k in $(seq 15); do
	step "c a $((10 * k))" "c b $((160 - 10 * k))" "g $k" "h $((8 * k)) 10"
	rec "$th" "$tag-m"
done
mapfile -t tt < <(times "$th")
[ "${#tt[@]}" = 16 ] && ok || bad "trend.hist: ${#tt[@]} records, expected 16"
tdt=$((tt[15] - tt[0]))
# the window: every record, 1 ms either side, a whole number of 300 ms
# sub-windows (each holds two records or more)
tw_ms=$(( ((tdt + 2000000) / 300000000 + 1) * 300 ))
tw=${tw_ms}ms
twd=$(fmt_ms "$tw_ms")
tat=$(at $((tt[15] + 1000000)))
trend() { "$shmstat" trend --at "$tat" --window "$tw" --step 300ms "$@"; }
a_rate=$(re_quote "$(calc %.4g "1200e9 / $tdt")")
expect 0 "^hf_requests_total\{path=\"/a\"\} rate over $twd ending .*: $a_rate/s \(1200 samples, 16 records\)$" "" -- \
	trend "$th" hf_requests_total -l 'path="/a"'
expect 0 "^trend: rising, \+[0-9.]+% over $twd \([0-9]+ points, first .*/s, last .*/s, slope -?[0-9.]+[kMGT]?/s\)$" "" -- \
	trend "$th" hf_requests_total -l 'path="/a"'
expect 0 "^trend: falling, -[0-9.]+% over $twd " "" -- trend "$th" hf_requests_total -l 'path="/b"'
expect 0 "^trend: improving, " "" -- trend "$th" hf_requests_total -l 'path="/a"' --better higher
expect 0 "^trend: degrading, " "" -- trend "$th" hf_requests_total -l 'path="/a"' --better lower
expect 0 "^trend: improving, " "" -- trend "$th" hf_requests_total -l 'path="/b"' --better lower
expect 0 ": 1200 \(1200 samples, 16 records\)$" "" -- trend "$th" hf_requests_total -l 'path="/a"' -f increase
# every series: 2400 in all
expect 0 "^hf_requests_total increase over $twd ending .*: 2400 \(2400 samples, 16 records\)$" "" -- \
	trend "$th" hf_requests_total -f increase
# a gauge: its last value, rising; a histogram: p95 of the window, and a
# quantile that rises is degrading
expect 0 "^hf_queue_depth gauge over $twd ending .*: 15 items \(1 samples, 16 records\)$" "" -- trend "$th" hf_queue_depth
expect 0 "^trend: rising, " "" -- trend "$th" hf_queue_depth
expect 0 "^hf_latency quantile p95 over $twd ending .*: 120ns \(150 samples, 16 records\)$" "" -- trend "$th" hf_latency
expect 0 "^trend: degrading, " "" -- trend "$th" hf_latency
# its increase and rate: the values it recorded, a count (they were in
# its unit: '150ns', 'ns/s')
expect 0 "^hf_latency increase over $twd ending .*: 150 \(150 samples, 16 records\)$" "" -- \
	trend "$th" hf_latency -f increase
expect 0 "^hf_latency rate over $twd ending .*: [0-9.]+[kMGT]?/s \(150 samples, 16 records\)$" "" -- \
	trend "$th" hf_latency -f rate
expect 0 "^trend: [a-z]+, [-+][0-9.]+% over $twd \([0-9]+ points, first [0-9.]+[kMGT]?/s, last [0-9.]+[kMGT]?/s, slope -?[0-9.e+-]+[kMGT]?/s\)$" "" -- \
	trend "$th" hf_latency -f rate
trend "$th" hf_requests_total -l 'path="/a"' --json > "$tmp/trend.json" || bad "trend --json failed"
if "$json_flat" < "$tmp/trend.json" > "$tmp/trend.flat"; then ok; else bad "trend --json is not JSON"; fi
has "$tmp/trend.flat" "schema=shmstat.trend/1" "metric=hf_requests_total" "labels=path=\"/a\"" \
	"figure=rate" "records=16" "samples=1200" "resets=0" "value=$(calc %.6g "1200e9 / $tdt")" \
	"window_ns=$((tw_ms * 1000000))" "trend.direction=rising" "trend.verdict=rising"
p=$(sed -n 's/^trend\.points=//p' "$tmp/trend.flat")
[ "${p:-0}" -ge 2 ] && ok || bad "trend --json: $p points"
# the order of the issue: HISTORY METRIC first, options after
expect 0 "^trend: rising" "" -- "$shmstat" trend "$th" hf_requests_total -l 'path="/a"' --at "$tat" --window "$tw" --step 300ms
# errors
expect 1 "" "^shmstat: no metric 'hf_nope' in $th in the $twd window ending [0-9]{4}-" -- trend "$th" hf_nope
# labels no series has: an error, not "no value" with exit 0 (issue 20)
expect 1 "" "^shmstat: rate of 'hf_requests_total' \{path=\"/nope\"\}: no such series in the window$" -- \
	trend "$th" hf_requests_total -l 'path="/nope"'
expect 1 "" "^shmstat: rate of 'hf_requests_total' \{path=\"/nope\"\}: no such series" -- \
	trend "$th" hf_requests_total -l 'path="/nope"' --json
expect 2 "" "^shmstat: window 'x' is not a duration from 1ns to 366d$" -- "$shmstat" trend --window x "$th" hf_requests_total
expect 2 "" "^shmstat: window '0' is not a duration from 1ns to 366d$" -- "$shmstat" trend --window 0 "$th" hf_requests_total
expect 2 "" "^shmstat: step 'x' is not a duration from 1ns to 366d$"   -- "$shmstat" trend --step x "$th" hf_requests_total
# a duration past 366 days said "not a duration", as if 400d were no duration
expect 2 "" "^shmstat: window '400d' is not a duration from 1ns to 366d$" -- "$shmstat" trend --window 400d "$th" hf_requests_total
expect 2 "" "^shmstat: window '400d' is not a duration from 1ns to 366d$" -- "$shmstat" top --history "$th" --window 400d
expect 2 "" "^shmstat: window '400d' is not a duration from 1ns to 366d$" -- "$shmstat" show --history "$th" --window 400d
expect 2 "" "^shmstat: step '1ns' cuts the window into more than 100000 sub-windows$" -- \
	"$shmstat" trend --window 1h --step 1ns "$th" hf_requests_total
expect 2 "" "^shmstat: unknown figure 'bogus'$"       -- "$shmstat" trend -f bogus "$th" hf_requests_total
expect 2 "" "^shmstat: quantile '2' is not 0 to 1$"   -- "$shmstat" trend -q 2 "$th" hf_latency
expect 2 "" "^shmstat: --better takes higher or lower, not 'up'$" -- "$shmstat" trend --better up "$th" hf_latency
expect 2 "" "^shmstat: instant 'soon' is not a time$" -- "$shmstat" trend --at soon "$th" hf_latency
expect 2 "" "^shmstat: expected HISTORY and METRIC$"  -- "$shmstat" trend "$th"
expect 2 "" "^shmstat: unknown option '--bogus'$"     -- "$shmstat" trend --bogus "$th" hf_latency
expect 1 "" "^shmstat: history file '$tmp/foreign' is not a shmstat history file" -- "$shmstat" trend "$tmp/foreign" hf_latency
expect 1 "" "^shmstat: history file '$tmp/missing' does not exist$" -- "$shmstat" trend "$tmp/missing" hf_latency

# ------------------------------------------- per-owner history (issue 21)
# three records; between them acct-a hits ok1 three times (100 each),
# acct-b hits ok2 once (7) and misses ok3 once
oh=$tmp/owner.hist
rec "$oh" "$tag-m"
step "s hit ok1 100 acct-a" "s hit ok1 100 acct-a" "s hit ok2 7 acct-b" "s miss ok3 acct-b"
rec "$oh" "$tag-m"
step "s hit ok1 100 acct-a"
rec "$oh" "$tag-m"
"$shmstat" top --history "$oh" --raw hf_sigs >"$tmp/otop" 2>&1 || bad "top --history: $(cat "$tmp/otop")"
for re in '^over 1h ending .* \(3 records\)$' \
	'^hf_sigs: 4 hits, 1 misses, hit ratio 0\.8, weight 307$' \
	'^   acct-a +3 +0 +1 +300$' '^   acct-b +1 +1 +0\.5 +7$' \
	'^ \* +\+3 +\+3 +acct-a +ok1$' '^   +\+1 +\+1 +acct-b +ok2$'; do
	grep -Eq -- "$re" "$tmp/otop" && ok || { bad "top --history lacks /$re/:"; cat "$tmp/otop"; }
done
expect 0 "^   acct-b +1 +1 +50\.0% +7$" "" -- "$shmstat" top --history "$oh" --owner acct-b
# the keys' header over their columns (it was one column right of them)
cols acct-b top --history "$oh" hf_sigs
# no such table: the error alone, exit 1 (the head line "over 1h ending
# ..." came first on stdout)
"$shmstat" top --history "$oh" no_such_table >"$tmp/onone" 2>"$tmp/onone.err"; rc=$?
{ [ "$rc" = 1 ] && [ ! -s "$tmp/onone" ] &&
	grep -qxF "shmstat: history $oh has no signature table 'no_such_table' in the window" "$tmp/onone.err"; } &&
	ok || bad "top --history of no table: exit $rc, stdout '$(cat "$tmp/onone")', stderr '$(cat "$tmp/onone.err")'"
# --high-value, in the usage of top --history too: the mark of ok1's +3
# at 3 (the default), not at 4
expect 0 '^ \* +\+3 +\+3 +acct-a +ok1$' "" -- "$shmstat" top --history "$oh" --high-value 3 hf_sigs
expect 0 '^   +\+3 +\+3 +acct-a +ok1$' "" -- "$shmstat" top --history "$oh" --high-value 4 hf_sigs
if "$shmstat" top --history "$oh" --owner acct-b | grep -q acct-a; then bad "top --owner acct-b shows acct-a"; else ok; fi
expect 0 "^hf_sigs weight of owner acct-b over 1h ending .*: 7 \(2 samples, 3 records\)$" "" -- \
	"$shmstat" trend "$oh" hf_sigs --owner acct-b -f weight --window 1h --raw
expect 0 "^hf_sigs hit_ratio of owner acct-a over 1h ending .*: 100\.0% " "" -- \
	"$shmstat" trend "$oh" hf_sigs --owner acct-a --window 1h
expect 1 "" "^shmstat: hit_ratio of 'hf_sigs' of owner 'acct-z': no such series in the window$" -- \
	"$shmstat" trend "$oh" hf_sigs --owner acct-z --window 1h
expect 2 "" "^shmstat: --owner takes a signature table's hits, misses, weight or hit_ratio$" -- \
	"$shmstat" trend "$oh" hf_requests_total --owner acct-a --window 1h
expect 1 "" "^shmstat: history $oh has no signature table 'nope' in the window$" -- \
	"$shmstat" top --history "$oh" nope
# an owner no table of the window's last record has: an error, as live
expect 1 "" "^shmstat: no signature table of history $oh has owner 'acct-z' in the window$" -- \
	"$shmstat" top --history "$oh" --owner acct-z
expect 1 "" "^shmstat: signature table 'hf_sigs' of history $oh has no owner 'acct-z' in the window$" -- \
	"$shmstat" top --history "$oh" --owner acct-z hf_sigs
expect 2 "" "^shmstat: --window and --at need --history$" -- "$shmstat" top --window 1h "$tag-m"
# check rules can name an owner: its figure over a window of the
# history, and over its lifetime from the live segment
cat >"$tmp/owner-rules.yaml" <<'EOF'
rules:
  - name: acct-b-weight
    sig: {metric: hf_sigs, figure: weight, owner: acct-b}
    window: 1h
    above: {warning: 5, critical: 100}
  - name: acct-a-ratio
    sig: {metric: hf_sigs, figure: hit_ratio, owner: acct-a}
    below: {warning: 90%}
EOF
"$shmstat" check -r "$tmp/owner-rules.yaml" -H "$oh" --no-state "$tag-m" >"$tmp/ocheck" 2>&1; rc=$?
[ "$rc" = 1 ] && ok || bad "owner rules: exit $rc, expected 1 (WARNING): $(cat "$tmp/ocheck")"
grep -Eq "^WARNING +acct-b-weight: sig weight of owner acct-b of hf_sigs over 1h = 7 > 5 " "$tmp/ocheck" && ok ||
	bad "owner rule over a window: $(cat "$tmp/ocheck")"
grep -Eq "^OK +acct-a-ratio: sig hit_ratio of owner acct-a of hf_sigs \(lifetime\) = 100\.0% " "$tmp/ocheck" && ok ||
	bad "owner rule over the lifetime: $(cat "$tmp/ocheck")"

# ------------------------------------------------------------------ check
# the segment now: hits 90, misses 10; gauge 15; latency 200 + 150 values
# (90 x 50, 10 x 100, 100 x 120, then 10 each of 8 .. 120: p95 120);
# requests 60 + 1 + 2400
r=$tmp/rules
mkdir "$r"
cat > "$r/ratio.yaml" <<'EOF'
rules:
  - name: hit-ratio
    ratio:
      num: [hf_hits_total]
      den: [hf_hits_total, hf_misses_total]
    below: {warning: 0.8, critical: 0.5}
EOF
cat > "$r/gauge.yaml" <<'EOF'
rules:
  - name: depth
    gauge: hf_queue_depth
    above: {warning: 8, critical: 12}
EOF
cat > "$r/quantile.yaml" <<'EOF'
rules:
  - name: p95
    quantile: {metric: hf_latency, q: 0.95}
    above: {warning: 100, critical: 200}
EOF
cat > "$r/few.yaml" <<'EOF'
rules:
  - name: few
    rate: hf_requests_total
    above: {warning: 1}
    min_samples: 1000000
EOF
# the plugin output: the first line (status, the rule or the worst rules
# and the counts | perfdata), then a line per rule; figures in their units
line_ok='^OK +hit-ratio: ratio of hf_hits_total/\.\.\. \(lifetime\) = 90\.0% \(100 samples\)$'
line_crit='^CRITICAL depth: gauge of hf_queue_depth \(lifetime\) = 15 items > 12 items \(1 samples\)$'
line_warn='^WARNING +p95: quantile 0\.95 of hf_latency \(lifetime\) = 120ns > 100ns \(350 samples\)$'
perf_ok="'hit-ratio'=90%;80:;50:;0;100"
perf_crit="'depth'=15;~:8;~:12"
perf_warn="'p95'=0\.00000012s;~:0\.0000001;~:0\.0000002;0"
expect 0 "^SHMSTAT OK - hit-ratio = 90\.0% \| $perf_ok$" "" -- "$shmstat" check -r "$r/ratio.yaml" "$tag-m"
expect 2 "^SHMSTAT CRITICAL - depth = 15 items > 12 items \| $perf_crit$" "" -- "$shmstat" check -r "$r/gauge.yaml" "$tag-m"
expect 1 "^SHMSTAT WARNING - p95 = 120ns > 100ns \| $perf_warn$" "" -- "$shmstat" check -r "$r/quantile.yaml" "$tag-m"
expect 3 "^SHMSTAT UNKNOWN - few: fewer samples than min_samples \| 'few'=[0-9.]+;~:1;;0$" "" -- "$shmstat" check -r "$r/few.yaml" "$tag-m"
line_unk='^UNKNOWN +few: rate of hf_requests_total \(lifetime\): fewer samples than min_samples \(2461 samples\)$'
expect 0 "$line_ok"   "" -- "$shmstat" check -r "$r/ratio.yaml" "$tag-m"
expect 2 "$line_crit" "" -- "$shmstat" check -r "$r/gauge.yaml" "$tag-m"
expect 1 "$line_warn" "" -- "$shmstat" check -r "$r/quantile.yaml" "$tag-m"
expect 3 "$line_unk"  "" -- "$shmstat" check -r "$r/few.yaml" "$tag-m"
# several rules: exit with the worst, CRITICAL > WARNING > UNKNOWN > OK
combine() { { echo "rules:"; for f in "$@"; do sed 1d "$r/$f.yaml"; done; } > "$r/$(IFS=-; echo "$*").yaml"; }
combine ratio quantile; combine ratio few; combine quantile few; combine gauge few
combine ratio gauge quantile few
expect 1 "^SHMSTAT WARNING - p95 = 120ns > 100ns; 2 rules: 1 ok, 1 warning, 0 critical, 0 unknown \| $perf_ok $perf_warn$" "" -- "$shmstat" check -r "$r/ratio-quantile.yaml" "$tag-m"
expect 3 "^SHMSTAT UNKNOWN - few: fewer samples than min_samples; 2 rules: 1 ok, 0 warning, 0 critical, 1 unknown \| $perf_ok 'few'=" "" -- "$shmstat" check -r "$r/ratio-few.yaml" "$tag-m"
expect 1 "^SHMSTAT WARNING - p95 = 120ns > 100ns; 2 rules: 0 ok, 1 warning, 0 critical, 1 unknown \| " "" -- "$shmstat" check -r "$r/quantile-few.yaml" "$tag-m"
expect 2 "^SHMSTAT CRITICAL - depth = 15 items > 12 items; 2 rules: 0 ok, 0 warning, 1 critical, 1 unknown \| " "" -- "$shmstat" check -r "$r/gauge-few.yaml" "$tag-m"
"$shmstat" check -r "$r/ratio-gauge-quantile-few.yaml" "$tag-m" > "$tmp/check4"; rc=$?
[ "$rc" = 2 ] && ok || bad "check of four rules exited $rc, expected 2"
for re in "$line_ok" "$line_crit" "$line_warn" "$line_unk" \
	"^SHMSTAT CRITICAL - depth = 15 items > 12 items; 4 rules: 1 ok, 1 warning, 1 critical, 1 unknown \| $perf_ok $perf_crit $perf_warn 'few'="; do
	grep -Eq -- "$re" "$tmp/check4" && ok || { bad "check of four rules lacks /$re/:"; cat "$tmp/check4"; }
done
head -n 1 "$tmp/check4" | grep -q '^SHMSTAT CRITICAL - ' && ok || bad "check of four rules: the status is not the first line"
[ "$(wc -l < "$tmp/check4")" = 5 ] && ok || bad "check of four rules: not the first line and 4 rule lines"
# the order of the issue: NAME first, --rules after
expect 2 "$line_crit" "" -- "$shmstat" check "$tag-m" --rules "$r/gauge.yaml"
# window rules: UNKNOWN without a history, exact values with one
cat > "$r/window.yaml" <<'EOF'
rules:
  - name: win-inc
    increase: 'hf_requests_total{path="/a"}'
    window: 1h
    above: {warning: 100}
  - name: win-ratio
    ratio:
      num: [hf_hits_total]
      den: [hf_hits_total, hf_misses_total]
    window: 1h
    below: {warning: 0.95, critical: 0.5}
  - name: win-p95
    quantile: {metric: hf_latency, q: 0.95}
    window: 1h
    above: {warning: 1s}
    min_samples: 200
  - name: win-sig
    sig: {metric: hf_sigs, figure: hit_rate}
    window: 1h
    below: {warning: 0.5}
EOF
expect 3 "^UNKNOWN +win-inc: increase of hf_requests_total\\{path=\"/a\"\\} over 1h: needs --history for its 1h window \(0 samples\)$" "" -- \
	"$shmstat" check -r "$r/window.yaml" "$tag-m"
expect 3 "^SHMSTAT UNKNOWN - win-inc: needs --history for its 1h window, win-ratio: needs --history for its 1h window, win-p95: needs --history for its 1h window and 1 more; 4 rules: 0 ok, 0 warning, 0 critical, 4 unknown$" "" -- \
	"$shmstat" check -r "$r/window.yaml" "$tag-m"
[ -e "$h.alerts" ] && bad "check without --history made $h.alerts" || ok
"$shmstat" check -r "$r/window.yaml" -H "$h" "$tag-m" > "$tmp/checkw"; rc=$?
[ "$rc" = 1 ] && ok || bad "check of window rules on main.hist exited $rc, expected 1"
for re in '^OK +win-inc: increase of hf_requests_total\{path="/a"\} over 1h = 60 \(60 samples\)$' \
	'^WARNING  win-ratio: ratio of hf_hits_total/\.\.\. over 1h = 90\.0% < 95\.0% \(100 samples\), firing since ' \
	'^OK +win-p95: quantile 0\.95 of hf_latency over 1h = 120ns \(200 samples\)$' \
	'^OK +win-sig: sig hit_ratio of hf_sigs over 1h = 75\.0% \(4 samples\)$' \
	"^SHMSTAT WARNING - win-ratio = 90\.0% < 95\.0%; 4 rules: 3 ok, 1 warning, 0 critical, 0 unknown \| 'win-inc'=60;~:100;;0 'win-ratio'=90%;95:;50:;0;100 'win-p95'=0\.00000012s;~:1;;0 'win-sig'=75%;50:;;0;100$"; do
	grep -Eq -- "$re" "$tmp/checkw" && ok || { bad "check -H lacks /$re/:"; cat "$tmp/checkw"; }
done
# the state file: HISTORY.alerts, 0600, JSON; a firing alert keeps its
# start across runs
[ -f "$h.alerts" ] && [ "$(stat -c %a "$h.alerts")" = 600 ] && ok || bad "check -H made no $h.alerts (0600)"
"$json_flat" < "$h.alerts" > "$tmp/alerts.flat" || bad "$h.alerts is not JSON"
has "$tmp/alerts.flat" "format=shmstat.alerts/1" "alerts.0.rule=win-ratio" "alerts.0.phase=firing" \
	"alerts.0.state=WARNING" "alerts.0.fired=1"
since1=$(sed -n 's/^alerts\.0\.active_since=//p' "$tmp/alerts.flat")
"$shmstat" check -r "$r/window.yaml" -H "$h" --json "$tag-m" > "$tmp/check.json"; rc=$?
[ "$rc" = 1 ] && ok || bad "check --json exited $rc, expected 1"
if "$json_flat" < "$tmp/check.json" > "$tmp/check.flat"; then ok; else bad "check --json is not JSON"; fi
has "$tmp/check.flat" "schema=shmstat.check/2" "segment=$tag-m" "health=WARNING" "state=$h.alerts" \
	"rules.0.name=win-inc" "rules.0.health=OK" "rules.0.value=60" "rules.0.samples=60" \
	"rules.1.name=win-ratio" "rules.1.health=WARNING" "rules.1.level=WARNING" "rules.1.value=0.9" \
	"rules.1.samples=100" "rules.1.alert.phase=firing" "rules.1.alert.active_since_ns=$since1" \
	"rules.1.alert.fired=1" "rules.2.value=120" "rules.2.samples=200" "rules.3.value=0.75" \
	"rules.0.unit=" "rules.2.unit=ns"
t1=$(sed -n 's/^time_ns=//p' "$tmp/check.flat")
[ -n "$since1" ] && [ "$t1" -gt "$since1" ] && ok || bad "second check at $t1 is not after the alert's start $since1"
"$shmstat" check -r "$r/window.yaml" -H "$h" "$tag-m" > "$tmp/checkw2"
if [ "$(grep -o 'firing since .*' "$tmp/checkw")" = "$(grep -o 'firing since .*' "$tmp/checkw2")" ] &&
	grep -q 'firing since' "$tmp/checkw2"; then ok; else bad "'firing since' changed between runs"; fi
# the increase and rate of a histogram count the values it recorded: a
# count, not an amount in its unit (ns): it said 'increase ... = 200ns',
# '0.0000002s' in the performance data, and took 2ms as 2,000,000 values
cat > "$r/hcount.yaml" <<'EOF'
rules:
  - name: hist-inc
    increase: hf_latency
    window: 1h
    above: {warning: 1k}
  - name: hist-rate
    rate: hf_latency
    window: 1h
    above: {warning: 1M}
  - name: hist-life
    increase: hf_latency
    above: {warning: 1M}
EOF
"$shmstat" check -r "$r/hcount.yaml" -H "$h" --no-state "$tag-m" > "$tmp/hcount"; rc=$?
[ "$rc" = 0 ] && ok || bad "check of histogram counts exited $rc, expected 0: $(cat "$tmp/hcount")"
for re in '^OK +hist-inc: increase of hf_latency over 1h = 200 \(200 samples\)$' \
	'^OK +hist-rate: rate of hf_latency over 1h = [0-9.]+[kMGT]?/s \(200 samples\)$' \
	'^OK +hist-life: increase of hf_latency \(lifetime\) = [0-9]+ \([0-9]+ samples\)$' \
	"^SHMSTAT OK - 3 rules: 3 ok, 0 warning, 0 critical, 0 unknown \| 'hist-inc'=200;~:1000;;0 'hist-rate'=[0-9.]+;~:1000000;;0 'hist-life'=[0-9]+c;~:1000000;;0$"; do
	grep -Eq -- "$re" "$tmp/hcount" && ok || { bad "check of histogram counts lacks /$re/:"; cat "$tmp/hcount"; }
done
"$shmstat" check -r "$r/hcount.yaml" -H "$h" --no-state --json "$tag-m" | "$json_flat" > "$tmp/hcount.flat" ||
	bad "check --json of histogram counts"
has "$tmp/hcount.flat" "rules.0.value=200" "rules.0.unit=" "rules.1.unit=" "rules.2.unit="
printf 'rules:\n  - name: hist-ms\n    increase: hf_latency\n    window: 1h\n    above: {warning: 2ms}\n' > "$r/hcount-ms.yaml"
expect 3 "^UNKNOWN +hist-ms: increase of hf_latency over 1h: warning threshold 2ms is a duration, but the increase of histogram hf_latency counts the values it recorded \(no unit\) \(200 samples\)$" \
	"^shmstat: rule 'hist-ms': warning threshold 2ms is a duration, but the increase of histogram hf_latency counts the values it recorded \(no unit\)$" -- \
	"$shmstat" check -r "$r/hcount-ms.yaml" -H "$h" --no-state "$tag-m"
# a baseline rests on the stretches that gave a value: records made at
# once 58, 17.5, 12.5, 7.5 and 2.5 minutes ago (cli_hist_fill, each away
# from the 5m stretches' ends by 30 s and more), so of the 12 5m
# stretches of the hour before the window only the last 3 have two
# records, and the first of them (20 to 15 minutes ago) starts at the
# record of 58 minutes ago: its records span 40.5 minutes, more than 3
# times 5m, so it gives no value (it gave 100, an increase of 40
# minutes); the other two 10 and 10 (median 10), and the window's is
# 30. min_history 10m (2 stretches) has its baseline, 30m (6) has none
# though the records reach back 53 minutes before the window.
bh=$tmp/base.hist
b=${bh##*/}
step "a $b -3480" "c a 100" "a $b -1050" "c a 10" "a $b -750" "c a 10" "a $b -450" \
	"c a 30" "a $b -150"
cat > "$r/base.yaml" <<'EOF'
rules:
  - name: base-10m
    increase: 'hf_requests_total{path="/a"}'
    window: 5m
    baseline: {window: 1h, min_history: 10m}
    above: {warning: 50%, critical: 150%}
  - name: base-30m
    increase: 'hf_requests_total{path="/a"}'
    window: 5m
    baseline: {window: 1h, min_history: 30m}
    above: {warning: 50%, critical: 150%}
EOF
"$shmstat" check -r "$r/base.yaml" -H "$bh" --no-state "$tag-m" > "$tmp/base.out"; rc=$?
[ "$rc" = 2 ] && ok || bad "check of the baseline rules exited $rc, expected 2: $(cat "$tmp/base.out")"
has "$tmp/base.out" \
	"SHMSTAT CRITICAL - base-10m = +200.0% > +150.0%; 2 rules: 0 ok, 0 warning, 1 critical, 1 unknown | 'base-10m'=30;;;0 'base-10m_change'=200%;~:50;~:150 'base-30m'=30;;;0" \
	'CRITICAL base-10m: increase of hf_requests_total{path="/a"} over 5m = 30, +200.0% on 10 > +150.0% (median, baseline: 2 of 12 5m stretches gave a value; 30 samples)' \
	'UNKNOWN  base-30m: increase of hf_requests_total{path="/a"} over 5m: no baseline: 2 of 12 5m stretches before the window gave a value, min_history is 30m (30 samples)'
"$shmstat" check -r "$r/base.yaml" -H "$bh" --no-state --json "$tag-m" | "$json_flat" > "$tmp/base.flat" ||
	bad "check --json of the baseline rules"
has "$tmp/base.flat" "rules.0.baseline=10" "rules.0.baseline_stretches=12" "rules.0.baseline_values=2" \
	"rules.1.baseline=null" "rules.1.baseline_stretches=12" "rules.1.baseline_values=2"
# a stretch the history starts inside gives no value: records 19.5, 17.5,
# 12.5, 7.5 and 2.5 minutes ago, 2 counted per minute (10 per 5m), so the
# stretch of 20 to 15 minutes ago holds only the 4 of 19.5 .. 17.5 minutes
# ago; the mean of 10, 10 and 4 (8) made the window's 10 +25.0%.
ph=$tmp/part.hist
b=${ph##*/}
step "a $b -1170" "c a 4" "a $b -1050" "c a 10" "a $b -750" "c a 10" "a $b -450" \
	"c a 10" "a $b -150"
cat > "$r/part.yaml" <<'EOF'
rules:
  - name: part
    increase: 'hf_requests_total{path="/a"}'
    window: 5m
    baseline: {window: 1h, stat: mean}
    above: {warning: 20%, critical: 50%}
EOF
"$shmstat" check -r "$r/part.yaml" -H "$ph" --no-state "$tag-m" > "$tmp/part.out"; rc=$?
[ "$rc" = 0 ] && ok || bad "check of a baseline over a partly covered stretch exited $rc, expected 0: $(cat "$tmp/part.out")"
has "$tmp/part.out" \
	'OK       part: increase of hf_requests_total{path="/a"} over 5m = 10, +0.0% on 10 (mean, baseline: 2 of 12 5m stretches gave a value; 10 samples)'
# --state without a history; `for` keeps a bad rule PENDING (OK)
cat > "$r/for.yaml" <<'EOF'
rules:
  - name: depth-for
    gauge: hf_queue_depth
    above: {critical: 12}
    for: 1h
EOF
expect 0 "^OK +depth-for: gauge of hf_queue_depth \(lifetime\) = 15 items > 12 items \(1 samples\), pending since " "" -- \
	"$shmstat" check -r "$r/for.yaml" --state "$tmp/for.state" "$tag-m"
[ -f "$tmp/for.state" ] && ok || bad "check --state made no state file"
expect 0 "pending since" "" -- "$shmstat" check -r "$r/for.yaml" --state "$tmp/for.state" "$tag-m"
expect 2 "^note: no alert state \(--history or --state\): 'for' durations do not apply$" "" -- \
	"$shmstat" check -r "$r/for.yaml" "$tag-m"
expect 2 "^CRITICAL depth-for: " "" -- "$shmstat" check -r "$r/for.yaml" -H "$h" --no-state "$tag-m"
# a state of another rules file (two checks of one history share
# HISTORY.alerts by default) is refused while that file is there: each
# run forgot the other file's alerts, so a `for` never ran out (the
# pending alert began again at every run); a rules file renamed (its
# old path gone) takes its state over
bad_since() { "$json_flat" < "$1" | sed -n 's/^alerts\.0\.bad_since=//p'; }
since_a=$(bad_since "$tmp/for.state")
cp "$r/ratio.yaml" "$r/other.yaml"
expect 3 "^SHMSTAT UNKNOWN - hit-ratio = 90\.0%; alert state: $tmp/for.state: alert state of rules file '[^']*/for\.yaml', not of '[^']*/other\.yaml': give each rules file its own --state; refusing it" \
	"^shmstat: $tmp/for.state: alert state of rules file " -- \
	"$shmstat" check -r "$r/other.yaml" --state "$tmp/for.state" "$tag-m"
expect 0 "pending since" "" -- "$shmstat" check -r "$r/for.yaml" --state "$tmp/for.state" "$tag-m"
[ -n "$since_a" ] && [ "$(bad_since "$tmp/for.state")" = "$since_a" ] && ok ||
	bad "the pending alert of for.yaml began again ($since_a, now $(bad_since "$tmp/for.state"))"
mv "$r/for.yaml" "$r/for2.yaml"
expect 0 "pending since" "" -- "$shmstat" check -r "$r/for2.yaml" --state "$tmp/for.state" "$tag-m"
[ "$(bad_since "$tmp/for.state")" = "$since_a" ] && ok || bad "a renamed rules file lost its state"
mv "$r/for2.yaml" "$r/for.yaml"
# a gauge's baseline is the stat of every record in its window, however
# many: 110,000 records 1 ms apart (40,000 of 0, then 70,000 of 100):
# mean 63.64 (it was 60, the 100,000 oldest, saying "100000 of 100000")
gh=$tmp/gauge-ms.hist
step "g 0" "m ${gh##*/} 40000 110" "g 100" "m ${gh##*/} 70000 70"
cat > "$r/gmean.yaml" <<'EOF'
rules:
  - name: gauge-mean
    gauge: hf_queue_depth
    baseline: {window: 10m, stat: mean}
    above: {warning: 1000%}
EOF
expect 0 "^OK +gauge-mean: gauge of hf_queue_depth \(lifetime\) = 100 items, \+57\.1% on 63\.64 items \(mean, baseline: 110000 of 110000 records gave a value; 1 samples\)$" "" -- \
	"$shmstat" check -r "$r/gmean.yaml" -H "$gh" --no-state "$tag-m"
step "g 15"
# a state file that cannot be read or written: the check failed, so at
# best UNKNOWN; a bad state file is reported, never reset
(umask 077; echo garbage > "$tmp/bad.state")
expect 3 "^SHMSTAT UNKNOWN - hit-ratio = 90\.0%; alert state: $tmp/bad.state:1: corrupt alert state: not JSON" "^shmstat: $tmp/bad.state:1: corrupt alert state: not JSON" -- \
	"$shmstat" check -r "$r/ratio.yaml" --state "$tmp/bad.state" "$tag-m"
[ "$(cat "$tmp/bad.state")" = garbage ] && ok || bad "check overwrote a corrupt state file"
expect 1 "^SHMSTAT WARNING - p95 = 120ns > 100ns; alert state: " "^shmstat: $tmp/bad.state:1: corrupt alert state" -- \
	"$shmstat" check -r "$r/quantile.yaml" --state "$tmp/bad.state" "$tag-m"
expect 3 "^SHMSTAT UNKNOWN - hit-ratio = 90\.0%; alert state: $tmp/nodir/state: " "^shmstat: $tmp/nodir/state: " -- \
	"$shmstat" check -r "$r/ratio.yaml" --state "$tmp/nodir/state" "$tag-m"
# a state file another user planted in a sticky world-writable directory
# (issue 17): a 0666 file saying depth-for fires since 2001, a FIFO with
# no writer. check refuses both with the file named and goes on as with an
# unreadable state (no state: depth-for is CRITICAL at once; at best
# UNKNOWN), never reports the planted alert, never blocks, never replaces
# the file; a state it saves there itself is 0600 and ours.
if [ -n "$nobody_dir" ]; then
	sd=$nobody_dir/sticky
	mkdir "$sd" && chmod 1777 "$sd"
	planted='{"format": "shmstat.alerts/1", "alerts": [{"rule": "depth-for", "phase": "firing", "state": "CRITICAL", "bad_level": "CRITICAL", "worst": "CRITICAL", "bad_since": 1000000000000000000, "active_since": 1000000000000000000, "cleared_at": 0, "quiet_since": 0, "last_ns": 1000000000000000000, "fired": 1}]}'
	as_nobody sh -c \
		'umask 0; printf "%s\n" "$1" > "$2/state" && mkfifo -m 666 "$2/fifo"' sh "$planted" "$sd" ||
		bad "uid 65534 could not plant its state files"
	expect 2 "^CRITICAL depth-for: gauge of hf_queue_depth \(lifetime\) = 15 items > 12 items \(1 samples\)$" \
		"^shmstat: $sd/state: alert state is owned by uid 65534, not by this user \(uid 0\); refusing it$" -- \
		"$shmstat" check -r "$r/for.yaml" --state "$sd/state" "$tag-m"
	"$shmstat" check -r "$r/for.yaml" --state "$sd/state" "$tag-m" 2>&1 | grep -q 'firing since' &&
		bad "check reported the planted alert" || ok
	[ "$(stat -c '%a %u' "$sd/state")" = "666 65534" ] && ok || bad "check replaced the planted state"
	expect 2 "" "^shmstat: $sd/fifo: alert state is not a regular file; refusing it$" -- \
		timeout 20 "$shmstat" check -r "$r/for.yaml" --state "$sd/fifo" "$tag-m"
	expect 0 "pending since" "" -- "$shmstat" check -r "$r/for.yaml" --state "$sd/mine" "$tag-m"
	[ "$(stat -c '%a %u' "$sd/mine")" = "600 0" ] && ok || bad "check saved $sd/mine as $(stat -c '%a %u' "$sd/mine")"
	# --emit --out to a name nobody planted there: refused, left as it
	# is; a symbolic link nobody planted there to a file of ours too
	printf 'precious\n' > "$tmp/precious-sd"
	as_nobody ln -s "$tmp/precious-sd" "$sd/prom-link" || bad "uid 65534 could not plant prom-link"
	expect 3 "" "^shmstat: cannot write '$sd/prom-link': it goes through a symbolic link of uid 65534 in a shared directory; refusing it$" -- \
		"$shmstat" check -r "$r/window.yaml" --emit prometheus-rules --out "$sd/prom-link"
	[ "$(cat "$tmp/precious-sd")" = precious ] && ok || bad "--out wrote through nobody's link: $(head -3 "$tmp/precious-sd")"
	# nobody's link further on the path: behind a link of ours, or a
	# directory on the way (the name alone was checked: both written)
	ln -s "$sd/prom-link" "$tmp/our-link"
	expect 3 "" "^shmstat: cannot write '$tmp/our-link': it goes through a symbolic link of uid 65534 in a shared directory; refusing it$" -- \
		"$shmstat" check -r "$r/window.yaml" --emit prometheus-rules --out "$tmp/our-link"
	[ "$(cat "$tmp/precious-sd")" = precious ] && ok || bad "--out wrote through our link to nobody's: $(head -3 "$tmp/precious-sd")"
	mkdir "$tmp/our-dir" && printf 'precious\n' > "$tmp/our-dir/out.yml"
	as_nobody ln -s "$tmp/our-dir" "$sd/dir-link" || bad "uid 65534 could not plant dir-link"
	expect 3 "" "^shmstat: cannot write '$sd/dir-link/out.yml': it goes through a symbolic link of uid 65534 in a shared directory; refusing it$" -- \
		"$shmstat" check -r "$r/window.yaml" --emit prometheus-rules --out "$sd/dir-link/out.yml"
	[ "$(cat "$tmp/our-dir/out.yml")" = precious ] && ok || bad "--out wrote through nobody's directory link: $(head -3 "$tmp/our-dir/out.yml")"
	as_nobody sh -c 'umask 0; echo planted > "$1/prom.yml"' sh "$sd" || bad "uid 65534 could not plant prom.yml"
	expect 3 "" "^shmstat: cannot write '$sd/prom.yml': it is owned by uid 65534, not by this user \(uid 0\) or root; refusing it$" -- \
		"$shmstat" check -r "$r/window.yaml" --emit prometheus-rules --out "$sd/prom.yml"
	[ "$(cat "$sd/prom.yml")" = planted ] && ok || bad "--out wrote into the planted file"
else
	echo "SKIP: state files planted by uid 65534: $nobody_why" >&2
fi
# --emit prometheus-rules --out: a hard link in its place is refused,
# the file it names left as it was; a FIFO with no reader does not block;
# a file of this user is replaced whole (a link planted by another user:
# above, as nobody)
printf 'precious\n' > "$tmp/precious"
ln "$tmp/precious" "$tmp/out-hard"
mkfifo "$tmp/out-fifo"
expect 3 "" "^shmstat: cannot write '$tmp/out-hard': it has 2 hard links; refusing it$" -- \
	"$shmstat" check -r "$r/window.yaml" --emit prometheus-rules --out "$tmp/out-hard"
[ "$(cat "$tmp/precious")" = precious ] && ok || bad "--out wrote through a hard link: $(head -3 "$tmp/precious")"
expect 3 "" "^shmstat: cannot write '$tmp/out-fifo': it is a fifo with no reader$" -- \
	timeout 20 "$shmstat" check -r "$r/window.yaml" --emit prometheus-rules --out "$tmp/out-fifo"
head -c 100000 /dev/zero | tr '\0' x > "$tmp/out-mine"
expect 0 "" "^shmstat: ([0-9]+) of \1 rules written as Prometheus rules$" -- \
	"$shmstat" check -r "$r/window.yaml" --emit prometheus-rules --out "$tmp/out-mine"
head -1 "$tmp/out-mine" | grep -q '^# Prometheus rules' && ! grep -q xxx "$tmp/out-mine" && ok ||
	bad "--out did not replace the file whole: $(head -c 200 "$tmp/out-mine")"
# a rules file with an error: exit 3, FILE:LINE:COLUMN: what is wrong
printf 'rules:\n  - name: x\n    gauge: hf_queue_depth\n    abov: {warning: 1}\n' > "$r/badkey.yaml"
# (the plugin's first line says it too: SHMSTAT UNKNOWN - the message)
expect 3 "^SHMSTAT UNKNOWN - $r/badkey.yaml:4:5: rule 'x': unknown key \(known: name, " \
	"^shmstat: $r/badkey.yaml:4:5: rule 'x': unknown key \(known: name, " -- "$shmstat" check -r "$r/badkey.yaml" "$tag-m"
printf 'rules:\n  - name: x\n    gauge: hf_queue_depth\n    above: {warning: 1\n' > "$r/badyaml.yaml"
expect 3 "" "^shmstat: $r/badyaml.yaml:[0-9]+:[0-9]+: bad YAML" -- "$shmstat" check -r "$r/badyaml.yaml" "$tag-m"
printf 'rules:\n  - name: x\n    quantile: {metric: hf_latency, q: 95}\n    above: {warning: 1}\n' > "$r/badq.yaml"
expect 3 "" "^shmstat: $r/badq.yaml:3:39: rule 'x': 'q' must be between 0 and 1" -- "$shmstat" check -r "$r/badq.yaml" "$tag-m"
expect 3 "" "^shmstat: $r/none.yaml: " -- "$shmstat" check -r "$r/none.yaml" "$tag-m"
# a FIFO as the rules file: refused at once (issue 17), not opened blocking
mkfifo "$r/fifo.yaml"
expect 3 "" "^shmstat: $r/fifo.yaml: not a regular file$" -- timeout 20 "$shmstat" check -r "$r/fifo.yaml" "$tag-m"
# a file that is not a rules file: its content is never echoed
printf 'root:*:20228:0:99999:7:::\nmysecret:$6$s3cr3t:20228:0:99999:7:::\n' > "$r/shadow"
expect 3 "" "^shmstat: $r/shadow:1:1: top level: unknown key \(known: expire, rules\)$" -- \
	"$shmstat" check -r "$r/shadow" "$tag-m"
"$shmstat" check -r "$r/shadow" "$tag-m" 2>&1 | grep -Eq 'root|mysecret|s3cr3t' && bad "check echoed the rules file" || ok
# other failures: UNKNOWN too
expect 3 "^SHMSTAT UNKNOWN - segment '$tag-none' does not exist$" "^shmstat: segment '$tag-none' does not exist$" -- \
	"$shmstat" check -r "$r/ratio.yaml" "$tag-none"
expect 3 "^SHMSTAT UNKNOWN - history file '$tmp/foreign' is not a shmstat history file" \
	"^shmstat: history file '$tmp/foreign' is not a shmstat history file" -- \
	"$shmstat" check -r "$r/window.yaml" -H "$tmp/foreign" "$tag-m"
expect 3 "^SHMSTAT UNKNOWN - --rules FILE or a figure \(--rate, --ratio, \.\.\.\) is required$" \
	"^shmstat: --rules FILE or a figure \(--rate, --ratio, \.\.\.\) is required$" -- "$shmstat" check "$tag-m"
expect 3 "^SHMSTAT UNKNOWN - unknown option '--bogus'$" "^shmstat: unknown option '--bogus'$" -- \
	"$shmstat" check --bogus -r "$r/ratio.yaml" "$tag-m"
expect 3 "" "^shmstat: option '--rules' needs a value$" -- "$shmstat" check "$tag-m" --rules

# keys longer than a record keeps (128 bytes), two of them the same in
# those bytes: the window's JSON says they are cut, how long they are, and
# keeps them apart by their hash, as top --json does
kh=$tmp/keys.hist
p130=$(printf 'p%.0s' $(seq 130))
rec "$kh" "$tag-m"
step "s hit ${p130}X 1" "s hit ${p130}X 1" "s hit ${p130}X 1" "s hit ${p130}Y 1" "s hit ${p130}Y 1" "s hit k1 1"
rec "$kh" "$tag-m"
"$shmstat" show --history "$kh" --window 1h --json > "$tmp/kwin.json" || bad "show --window --json (long keys)"
"$json_flat" < "$tmp/kwin.json" > "$tmp/kwin.flat" || bad "show --window --json (long keys) is not JSON"
for n in 0 1; do
	grep -Eq "^series\.[0-9]+\.top\.$n\.key=p{128}$" "$tmp/kwin.flat" &&
		grep -Eq "^series\.[0-9]+\.top\.$n\.key_len=131$" "$tmp/kwin.flat" &&
		grep -Eq "^series\.[0-9]+\.top\.$n\.cut=true$" "$tmp/kwin.flat" && ok ||
		bad "window key $n is not a cut key of 131 bytes: $(grep "top\.$n\." "$tmp/kwin.flat")"
done
grep -Eq '^series\.[0-9]+\.top\.2\.key=k1$' "$tmp/kwin.flat" &&
	grep -Eq '^series\.[0-9]+\.top\.2\.key_len=2$' "$tmp/kwin.flat" &&
	grep -Eq '^series\.[0-9]+\.top\.2\.cut=false$' "$tmp/kwin.flat" && ok ||
	bad "window key k1: $(grep 'top\.2\.' "$tmp/kwin.flat")"
h0=$(sed -n 's/^series\.[0-9]*\.top\.0\.hash=\([0-9a-f]\{16\}\)$/\1/p' "$tmp/kwin.flat")
h1=$(sed -n 's/^series\.[0-9]*\.top\.1\.hash=\([0-9a-f]\{16\}\)$/\1/p' "$tmp/kwin.flat")
[ -n "$h0" ] && [ -n "$h1" ] && [ "$h0" != "$h1" ] && ok || bad "window keys' hashes '$h0' '$h1'"
"$shmstat" top --json -n 100 "$tag-m" hf_sigs > "$tmp/ktop.json" || bad "top --json (long keys)"
for kx in "$h0" "$h1"; do
	"$json_flat" < "$tmp/ktop.json" | grep -Eqx "tables\.0\.table\.top\.[0-9]+\.hash=$kx" && ok ||
		bad "the window's key of hash $kx is not in top --json"
done
# and the text views that list keys tell them apart the same way: the
# prefix marked cut, then the hash
# (arguments whole: a TMPDIR may have a space)
kview() { # ARGS...: shmstat ARGS
	local kx
	"$shmstat" "$@" > "$tmp/kview.txt" || bad "$* (long keys)"
	for kx in "$h0" "$h1"; do
		grep -Eq "(^| )p{128}\.\.\. \(hash $kx\)( |$)" "$tmp/kview.txt" && ok ||
			bad "$*: no key p{128}... (hash $kx): $(grep -o 'ppp.*' "$tmp/kview.txt" | head -3)"
	done
}
kview top "$tag-m" hf_sigs
kview top --history "$kh"
kview show --history "$kh" --window 1h

# an owner's name in trend's text, as top prints it: a control
# character and a backslash as \xNN, never a terminal escape
esc=$(printf 'e\033[2Jx\\y')
eh=$tmp/esc.hist
rec "$eh" "$tag-m"
step "s hit kesc 1 $esc"
rec "$eh" "$tag-m"
expect 0 '^hf_sigs hits of owner e\\x1b\[2Jx\\x5cy over 1h ending .*: [0-9]+ \(' "" -- \
	"$shmstat" trend "$eh" hf_sigs --owner "$esc" -f hits --window 1h --raw
# and top's tables widen the OWNER column for an owner longer than it
# (15 columns as printed)
cols 'e\\x1b[2Jx\\x5cy' top "$tag-m" hf_sigs
cols 'e\\x1b[2Jx\\x5cy' top --history "$eh" hf_sigs
# an owner wider than the owners' table (43 columns as printed, past its
# 36): its figures under their heads (its row was 36 columns wide)
lng=$(printf 'long-\033\033\033\033\033\033\033\033-owner')
lh=$tmp/long.hist
rec "$lh" "$tag-m"
step "s hit klong 1 $lng"
rec "$lh" "$tag-m"
cols 'long-\\x1b' top "$tag-m" hf_sigs
cols 'long-\\x1b' top --history "$lh" hf_sigs

# ------------------------------------------------------------ the example
# docs/examples/cachesim-rules.yaml loads: an exit of 0 .. 3, never a
# message about the file
for hh in "" "$h"; do
	args=()
	[ -n "$hh" ] && args=(-H "$hh" --no-state)
	"$shmstat" check -r "$examples" "${args[@]}" "$tag-m" > "$tmp/ex.out" 2> "$tmp/ex.err"; rc=$?
	if [ "$rc" -le 3 ] && [ ! -s "$tmp/ex.err" ] && [ "$(grep -Ec '^(OK|WARNING|CRITICAL|UNKNOWN) +[a-z0-9-]+: ' "$tmp/ex.out")" = 13 ]; then ok
	else bad "check of the example rules (${args[*]}) exited $rc: $(cat "$tmp/ex.err" "$tmp/ex.out")"; fi
done
writer_stop
# on the segment and history of shmstat-cachesim, every rule finds its series
cs="--name $tag-cs --procs 1 --threads 1 --duration 10 --requests 20000 --keys 300 --cache-size 64 --ttl-ms 0"
# shellcheck disable=SC2086
"$cachesim" $cs --seed 1 > /dev/null || bad "shmstat-cachesim failed"
rec "$tmp/cs.hist" "$tag-cs"
# shellcheck disable=SC2086
"$cachesim" $cs --seed 2 > /dev/null || bad "shmstat-cachesim failed"
rec "$tmp/cs.hist" "$tag-cs"
"$shmstat" check -r "$examples" -H "$tmp/cs.hist" "$tag-cs" > "$tmp/cs.out" 2> "$tmp/cs.err"; rc=$?
if [ "$rc" -le 3 ] && [ ! -s "$tmp/cs.err" ] && [ "$(grep -Ec '^(OK|WARNING|CRITICAL|UNKNOWN) +[a-z0-9-]+: ' "$tmp/cs.out")" = 13 ]; then ok
else bad "check of the example on cachesim exited $rc: $(cat "$tmp/cs.err" "$tmp/cs.out")"; fi
if grep -E "no such series|no data|not a histogram" "$tmp/cs.out"; then bad "an example rule names no cachesim series"; else ok; fi
[ -f "$tmp/cs.hist.alerts" ] && ok || bad "check of the example kept no alert state"
# its baselines, on seconds of history: judged by their fallback, not
# UNKNOWN, saying how much history there is and how much they need
for rule in lookup-p95-degraded savings-drop; do
	grep -Eq "^(OK|WARNING|CRITICAL) +$rule: .* \(fallback thresholds, no baseline: (no|[0-9.]+[a-z]+ of) history before the window, min_history is (5m|1h); [0-9]+ samples\)" "$tmp/cs.out" &&
		ok || bad "example rule $rule is not judged by its fallback: $(grep " $rule: " "$tmp/cs.out")"
done
# --count N and a snapshot that fits no ring of the file (the cachesim
# table's 1,000 top keys, 14 KB, in a file of 16K): exit 1, naming the file
# and what was recorded, where it skipped it every interval for good
expect 1 "" "^shmstat: history file '$(re_quote "$tmp/small.hist")': a record of segment '$tag-cs' takes [0-9]+ bytes( \([0-9]+ with [0-9]+ series written inline: the file's dictionary has no room for them\))?, more than the ring of tier [0-9] \([0-9]+ bytes\); make the file bigger \(--count 1: 0 recorded\)$" -- \
	timeout 10 "$shmstat" record --count 1 --interval 100ms --size 16K --tiers 100ms:10m,1s:1h \
	--top 1000 -o "$tmp/small.hist" "$tag-cs"

finish
