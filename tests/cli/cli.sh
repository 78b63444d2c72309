#!/usr/bin/env bash
# CLI end-to-end tests: run shmstat against segments with known values and
# check output, messages and exit codes.
set -u
shmstat=$1
fill=$2
manual=$3
json_flat=$4
nomhd=$5
tag="cli-$$"
# the steps as another user run copies: the tree may be private
. "$(dirname "$0")/nobody.sh"

# ok, bad, expect, finish (lib.sh); expect's stderr in /tmp/$tag.err
expect_err=/tmp/$tag.err
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

cleanup() {
	[ -n "${holder:-}" ] && kill -9 "$holder" 2>/dev/null
	[ -n "${serve_pid:-}" ] && kill "$serve_pid" 2>/dev/null
	"$shmstat" rm "$tag-a" "$tag-b" "$tag-c" "$tag-d" "$tag-e" "$tag-m" >/dev/null 2>&1
	rm -f "/dev/shm/shmstat.$tag-foreign" "/dev/shm/shmstat.$tag-empty" \
		"/dev/shm/shmstat.$tag-fifo" "/dev/shm/shmstat.$tag-squat" /tmp/$tag.*
	nobody_cleanup
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM PIPE      # the EXIT trap cleans up then too

# --- usage errors: exit 2, message on stderr
expect 2 "" "usage: shmstat"                      -- "$shmstat"
expect 2 "" "unknown command 'bogus'"             -- "$shmstat" bogus
expect 2 "" "segment name is missing"             -- "$shmstat" show
expect 2 "" "unknown option '--bogus'"            -- "$shmstat" show --bogus x
expect 2 "" "too many arguments"                  -- "$shmstat" show a b
expect 2 "" "list takes no arguments"             -- "$shmstat" list x
expect 2 "" "segment name is missing"             -- "$shmstat" gc
expect 2 "" "segment name is missing"             -- "$shmstat" rm
# '--' ends the options of rm too: a name may start with '-'
expect 1 "" "^shmstat: segment '-$tag-nope' does not exist$" -- "$shmstat" rm -- "-$tag-nope"
expect 2 "" "^shmstat: unknown option '-$tag-nope'" -- "$shmstat" rm "-$tag-nope"
expect 2 "" "segment name is missing"             -- "$shmstat" rm --

# --- help: the same usage string from `help CMD` and `CMD --help`
for c in list show hist top watch gc rm record trend check serve; do
	a=$("$shmstat" help "$c"); b=$("$shmstat" "$c" --help)
	if [ "$a" = "$b" ] && grep -q "^usage: shmstat $c" <<<"$a"; then ok; else bad "help $c differs from $c --help"; fi
done
expect 0 "show +print every metric" "" -- "$shmstat" help
# the release and the format, from the library (issue 20)
expect 0 "^shmstat [0-9]+\.[0-9]+\.[0-9]+ \(segment format [0-9]+\.[0-9]+\)$" "" -- "$shmstat" --version
expect 0 "^shmstat [0-9]+\.[0-9]+\.[0-9]+ " "" -- "$shmstat" version
expect 2 "" "^shmstat: '--version' takes no arguments$" -- "$shmstat" --version x

# --- serve loads libmicrohttpd when it starts (tools/cmd/mhd.c): no other
# command loads it and GnuTLS; one without its functions is a clear error.
# Native builds (a cross build's shmstat is a script that runs qemu).
if native "$shmstat"; then
	loaded_late "$shmstat" microhttpd
	mkdir -p "/tmp/$tag.nomhd"
	cp "$nomhd" "/tmp/$tag.nomhd/libmicrohttpd.so.12"
	expect 1 "" "^shmstat: libmicrohttpd.so.12 has no MHD_start_daemon$" -- \
		env LD_LIBRARY_PATH="/tmp/$tag.nomhd" "$shmstat" serve --listen 127.0.0.1:0
	rm -rf "/tmp/$tag.nomhd"
fi

# --- the manual shows every usage string exactly
doc=$(cat "$manual")
for c in list show hist top watch gc rm record trend check serve flame; do
	u=$("$shmstat" help "$c")
	if [[ "$doc" == *"$u"* ]]; then ok; else bad "docs/shmstat.md lacks the usage of '$c' as the tool prints it"; fi
done
# and its table of commands has every command shmstat help lists, with
# the same words (watch was not in it)
while read -r c what; do
	grep -qxF "| [$c](#$c) | $what |" "$manual" && ok || bad "docs/shmstat.md's table lacks '| [$c](#$c) | $what |'"
done < <("$shmstat" help | sed -n '/^commands:$/,/^$/p' | sed -n 's/^  \([a-z]\+\) \+/\1 /p')

# --- errors: exit 1, lowercase message naming the thing
expect 1 "" "^shmstat: segment name 'bad/name' has a character outside" -- "$shmstat" show bad/name
expect 1 "" "^shmstat: segment '$tag-none' does not exist"             -- "$shmstat" show "$tag-none"
expect 1 "" "^shmstat: segment '$tag-none' does not exist"             -- "$shmstat" rm "$tag-none"
head -c 8192 /dev/urandom > "/dev/shm/shmstat.$tag-foreign"
expect 1 "" "^shmstat: segment '$tag-foreign' is not a shmstat segment" -- "$shmstat" show "$tag-foreign"
: > "/dev/shm/shmstat.$tag-empty"
expect 1 "" "^shmstat: segment '$tag-empty' is not a shmstat segment"   -- "$shmstat" show "$tag-empty"
# list goes on past a bad segment, names it on stderr and exits 1
expect 1 "^NAME " "^shmstat: segment '$tag-empty' is not a shmstat segment" -- "$shmstat" list
rm -f "/dev/shm/shmstat.$tag-foreign" "/dev/shm/shmstat.$tag-empty"
# the option refused, as written, also inside a cluster (issue 17)
expect 2 "" "^shmstat: unknown option '-r'$"        -- "$shmstat" show -rf x
expect 2 "" "^shmstat: unknown option '--rf'$"      -- "$shmstat" show --rf x
# every command names the option it refused, not the argument before it
for c in flame hist record serve top trend watch; do
	expect 2 "" "^shmstat: unknown option '-z'$"     -- "$shmstat" $c -zq x
done
# check exits 3 (the plugin convention's UNKNOWN) on a usage error
expect 3 "" "^shmstat: unknown option '-z'$"         -- "$shmstat" check -zq x
expect 2 "" "^shmstat: option '-I' needs a value$"  -- "$shmstat" show -pI
expect 2 "" "^shmstat: option '--history' needs a value$" -- "$shmstat" show --json --history
# show --history refuses the formats it has not by their names (--prom
# was refused as "not per process")
for f in prom openmetrics csv; do
	expect 2 "" "^shmstat: --history prints text or --json only, not --$f$" -- \
		"$shmstat" show --history "/tmp/$tag.none" --$f
done
expect 2 "" "^shmstat: --history prints text or --json only, not per process$" -- \
	"$shmstat" show --history "/tmp/$tag.none" -p
expect 2 "" "^shmstat: owner 'no-such-user-x' is neither a user nor a uid" -- "$shmstat" --owner no-such-user-x show x

# --- names another user planted: a FIFO answers at once (it used to
# block list, show and serve for good)
if nobody_init; then
	as_nobody mkfifo -m 666 "/dev/shm/shmstat.$tag-fifo" || bad "mkfifo as nobody"
	expect 1 "" "^shmstat: segment '$tag-fifo' is not a regular file$" -- timeout 5 "$shmstat" show "$tag-fifo"
	expect 1 "^NAME " "^shmstat: segment '$tag-fifo' is not a regular file$" -- timeout 5 "$shmstat" list
	rm -f "/dev/shm/shmstat.$tag-fifo"
	# the guard: nothing of the build tree runs as nobody
	expect 126 "" "^as_nobody: '$fill' is not a copy in " -- as_nobody "$fill" "$tag-squat"
	# a segment nobody made under a name: refused unless its owner is named
	if nobody_copy nobody_fill "$fill"; then
		as_nobody "$nobody_fill" "$tag-squat" || bad "cli_fill as nobody"
		expect 1 "" "^shmstat: segment '$tag-squat' is owned by uid 65534, not by this user \(uid 0\) or root" -- "$shmstat" show "$tag-squat"
		expect 0 "cli_errors_total +counter +3" "" -- "$shmstat" --owner 65534 show "$tag-squat"
		expect 0 "cli_errors_total +counter +3" "" -- "$shmstat" --owner=nobody show "$tag-squat"
		expect 0 "^$tag-squat +nobody " "" -- sh -c '"$1" list 2>/dev/null | grep "^$2 "' sh "$shmstat" "$tag-squat"
		rm -f "/dev/shm/shmstat.$tag-squat"
	else
		echo "SKIP: a segment made by uid 65534: $nobody_why" >&2
	fi
else
	echo "SKIP: names planted by uid 65534: $nobody_why" >&2
fi

# --- a segment with known values, writer detached
"$fill" "$tag-a" || bad "cli_fill failed"
"$shmstat" show "$tag-a" > /tmp/$tag.show 2>&1 || bad "show failed"
tail -n +2 /tmp/$tag.show > /tmp/$tag.body
cat > /tmp/$tag.want <<'WANT'
NAME TYPE VALUE RATE
cli_cache_bytes gauge/sum 3.5 MiB -
cli_depth_max gauge/max 7 items -
cli_errors_total counter 3 R/s
cli_latency histogram 100 R/s count=100 mean=10.18us p50=100ns p95=1.004us p99=1.004us max=1ms
cli_requests_total{path="/a"} counter 10 R/s
cli_requests_total{path="/b"} counter 20 R/s
cli_sigs sigtable 7 R/s keys=3 hits=7 misses=2 hit_ratio=77.8% weight=6000 evictions=0 max_error=0
cli_temperature gauge/sum 42 items -
cli_workers gauge/livesum 0 items -
WANT
# columns are aligned to their widest cell: normalise runs of spaces; the
# rates since creation depend on the clock (tests/cli/rates.sh checks them)
if diff /tmp/$tag.want <(tr -s ' ' < /tmp/$tag.body | sed -E 's| [0-9.]+[kMGTPE]?/s( \|$)| R/s\1|') >/dev/null; then ok
else bad "show output differs:"; diff /tmp/$tag.want <(tr -s ' ' < /tmp/$tag.body | sed -E 's| [0-9.]+[kMGTPE]?/s( \|$)| R/s\1|'); fi
expect 0 "^segment $tag-a: 9 metrics, 0 writers alive, 0 dead" "" -- "$shmstat" show "$tag-a"
# counts in the header are checked before they are printed: module and
# stack records claimed in use beyond the tables (issue 17)
cp "/dev/shm/shmstat.$tag-a" /tmp/$tag.seg
printf '\xfe\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff\xff\xff\xff\xff' |
	dd of="/dev/shm/shmstat.$tag-a" bs=1 seek=920 conv=notrunc status=none
"$shmstat" show "$tag-a" > /tmp/$tag.counts 2>&1
if grep -q "18446744073709551614" /tmp/$tag.counts; then bad "show prints a raw count: $(grep profile /tmp/$tag.counts)"; else ok; fi
expect 0 "^profile: [0-9]+ sampled stacks of [0-9]+, [0-9]+ module records" "" -- "$shmstat" show "$tag-a"
cat /tmp/$tag.seg > "/dev/shm/shmstat.$tag-a"
expect 0 "^cli_cache_bytes +gauge/sum +3670016 +-$" "" -- "$shmstat" show --raw "$tag-a"

# --- options after operands (GNU order), the same in every command
expect 0 '^\{"schema":"shmstat.show/2"' "" -- "$shmstat" show "$tag-a" --json
expect 0 '^cli_errors_total +counter +3' "" -- "$shmstat" show "$tag-a" -I 'cli_err*'
if "$shmstat" show "$tag-a" -I 'cli_err*' | grep -q cli_requests; then bad "show NAME -I GLOB kept cli_requests_total"; else ok; fi
expect 0 "count 100  sum 1.018ms" "" -- "$shmstat" hist "$tag-a" cli_latency -l ''
expect 1 "" "has no histogram 'cli_latency' with labels 'x=\"y\"'" -- "$shmstat" hist "$tag-a" cli_latency -l 'x="y"'
expect 0 " conv-2$" "" -- "$shmstat" top "$tag-a" cli_sigs -n 1 --owner acct-b
expect 0 "" "^shmstat: segment '$tag-a' has no latency stacks$" -- "$shmstat" flame "$tag-a" --latency
expect 2 "" "^shmstat: order 'x' is unknown" -- "$shmstat" flame "$tag-a" --by x
# --metric: a histogram without latency stacks prints nothing (exit 0); a
# name that is no histogram of the segment is a typo, exit 1 (it was 0,
# "no latency stacks matching the filters")
expect 0 "" "^shmstat: segment '$tag-a' has no latency stacks matching the filters$" -- \
	"$shmstat" flame "$tag-a" --metric cli_latency
for m in nope cli_errors_total 'cli_latency{x="y"}'; do
	expect 1 "" "^shmstat: segment '$tag-a' has no histogram '$m'$" -- "$shmstat" flame "$tag-a" --metric "$m"
done
expect 0 "writers 0 alive 0 dead$" "" -- "$shmstat" watch "$tag-a" -n 1 -i 10ms
expect 2 "" "^shmstat: count 'x' is not a positive number$" -- "$shmstat" watch "$tag-a" -n x
expect 2 "" "^shmstat: too many arguments$" -- "$shmstat" show "$tag-a" --json "$tag-a"

# --- top: signatures, owners, ordering, filters
"$shmstat" top "$tag-a" > /tmp/$tag.top 2>&1 || bad "top failed"
for re in "^cli_sigs: 3 keys, 9 events \(7 hits, 2 misses\), weight 6000, 0 evictions; 1 summary of 16 keys$" \
	"^  every count is exact$" \
	"^ \* +5 +0 +1 +83\.3% +5000 .* acct-a +conv-1$" \
	"^   +2 +0 +0 +100\.0% +1000 .* acct-b +conv-2$" \
	"^   +0 +0 +1 +0\.0% +0 .* - +0123456789abcdefghijklmnopqrstuv\.\.\. \(hash [0-9a-f]{16}\)$" \
	"^ +acct-a +5 +1 +83\.3% +5000$" "^ +acct-b +2 +0 +100\.0% +1000$" \
	"^ +acct-idle +0 +0 +- +0$"; do
	if grep -Eq -- "$re" /tmp/$tag.top; then ok; else bad "top output lacks /$re/:"; cat /tmp/$tag.top; fi
done
# conv-2 has 2 hits: below the default high-value mark of 3
expect 0 "^   .* conv-2$" "" -- "$shmstat" top -n 1 --owner acct-b "$tag-a" cli_sigs
expect 0 "^ \* .* conv-2$" "" -- "$shmstat" top -n 1 --owner acct-b --high-value 2 "$tag-a" cli_sigs
expect 0 "^   .* conv-1$" "" -- "$shmstat" top -n 1 --high-value 10 --by weight "$tag-a"
# an owner no table has: an error and nothing on stdout, exit 1 (it was
# the tables' head lines with no row, exit 0); one with no keys, or ''
# (the keys without an owner), is not an error
for args in "--owner acct-z $tag-a:no signature table of segment '$tag-a' has owner 'acct-z'" \
	"--owner acct-z $tag-a cli_sigs:signature table 'cli_sigs' of segment '$tag-a' has no owner 'acct-z'" \
	"--json --owner acct-z $tag-a:no signature table of segment '$tag-a' has owner 'acct-z'"; do
	# shellcheck disable=SC2086
	"$shmstat" top ${args%%:*} > /tmp/$tag.oz 2> /tmp/$tag.oz.err; rc=$?
	{ [ "$rc" = 1 ] && [ ! -s /tmp/$tag.oz ] && grep -qxF "shmstat: ${args#*:}" /tmp/$tag.oz.err; } && ok ||
		bad "top ${args%%:*}: exit $rc, stdout '$(cat /tmp/$tag.oz)', stderr '$(cat /tmp/$tag.oz.err)'"
done
expect 1 "" "^shmstat: no signature table of segment '$tag-a' has owner 'a\\\\x1b\\\\x5cz'$" -- \
	"$shmstat" top --owner "$(printf 'a\033\\z')" "$tag-a"
expect 0 "^ +acct-idle +0 +0 +- +0$" "" -- "$shmstat" top --owner acct-idle "$tag-a"
expect 0 " - +0123456789abcdef" "" -- "$shmstat" top --owner '' "$tag-a"
if "$shmstat" top -n 1 --by weight "$tag-a" | grep -q "conv-2"; then bad "top -n 1 --by weight shows conv-2"; else ok; fi
expect 1 "" "^shmstat: segment '$tag-a' has no signature table 'nope'" -- "$shmstat" top "$tag-a" nope
expect 2 "" "order 'size' is unknown" -- "$shmstat" top --by size "$tag-a"
expect 2 "" "count 'x' is not a number" -- "$shmstat" top -n x "$tag-a"
# strtoull reads a minus sign as 2^64 minus the number: this was -n 1
expect 2 "" "count '-18446744073709551615' is not a number" -- "$shmstat" top -n -18446744073709551615 "$tag-a"
# and serve's --le-per-octave and --top were 1
expect 2 "" "^shmstat: le-per-octave '-18446744073709551615' is not a power of two" -- timeout 10 "$shmstat" serve --listen 127.0.0.1:0 --le-per-octave -18446744073709551615 -s "$tag-a"
expect 2 "" "^shmstat: top '-18446744073709551615' is not 0 to" -- timeout 10 "$shmstat" serve --listen 127.0.0.1:0 --top -18446744073709551615 -s "$tag-a"
expect 2 "" "option '-n' needs a value" -- "$shmstat" top -n
# options anywhere, GNU style (issue 20): after the operands, between them
expect 0 "^ \* .* conv-2$" "" -- "$shmstat" top "$tag-a" cli_sigs -n 1 --owner acct-b --high-value 2
expect 0 "^ \* .* conv-2$" "" -- "$shmstat" top "$tag-a" -n 1 cli_sigs --owner=acct-b --high-value=2
expect 0 "" "^shmstat: segment '$tag-a' has no latency stacks$" -- "$shmstat" flame "$tag-a" --latency
# '--' ends the options: what follows is an operand even if it looks like one
expect 1 "" "^shmstat: segment '$tag-a' has no signature table '-n'" -- "$shmstat" top "$tag-a" -- -n
# a threshold that is not a count
expect 2 "" "^shmstat: high-value threshold '-1' is not a number" -- "$shmstat" top --high-value -1 "$tag-a"
expect 2 "" "^shmstat: high-value threshold '99999999999999999999' is not a number" -- \
	"$shmstat" top --high-value 99999999999999999999 "$tag-a"
# one number style: 5000 is 5000; --raw keeps integers whatever their size
expect 0 "^ \* +5 +0 +1 +0\.833[0-9]* +5000 " "" -- "$shmstat" top --raw "$tag-a"
# --raw columns as wide as their widest value: a weight of 2^64 - 6 (20
# digits) and a hit ratio 0.3333333333 (12) pushed the columns after
# them right of their headers
"$fill" "$tag-e" wide || bad "cli_fill wide failed"
"$shmstat" top --raw --high-value 99 "$tag-e" > /tmp/$tag.topw 2>&1 || bad "top --raw wide: $(cat /tmp/$tag.topw)"
cols() { cut -c1-67 /tmp/$tag.topw; }
for want in "$(printf '   %10s %8s %10s %12s %20s' HITS +ERROR MISSES HIT_RATIO WEIGHT)" \
	"$(printf '   %10s %8s %10s %12s %20s' 1 0 2 0.3333333333 18446744073709551610)" \
	"$(printf '   %10s %8s %10s %12s %20s' 1 0 0 1 1)"; do
	cols | grep -Fxq -- "$want" && ok || bad "top --raw: no line '$want': $(cat /tmp/$tag.topw)"
done
# after the weight, FIRST: its header and each row's age end together
[ "$(grep -Ec '^.{67} ( FIRST|[ 0-9]{5}[smhd]) ' /tmp/$tag.topw)" = 3 ] && ok ||
	bad "top --raw: FIRST out of its column: $(cat /tmp/$tag.topw)"
for want in "$(printf '   %-36s %10s %10s %12s %20s' OWNER HITS MISSES HIT_RATIO WEIGHT)" \
	"$(printf '   %-36s %10s %10s %12s %20s' acct-w 1 2 0.3333333333 18446744073709551610)"; do
	grep -Fxq -- "$want" /tmp/$tag.topw && ok || bad "top --raw owners: no line '$want': $(cat /tmp/$tag.topw)"
done
"$shmstat" rm "$tag-e" >/dev/null 2>&1
# owners not ASCII: the OWNER columns as wide as their widest owner in
# terminal columns, not bytes (an owner of 48 bytes in 32 columns, one of
# 22 in 11 pulled the columns after it 16 and 11 columns left). The keys
# are alike in length, so every key row, and every line of the owners'
# table (its header, 3 owners), takes as many columns as the others (wc
# -L: columns in a UTF-8 locale).
"$fill" "$tag-e" uowner || bad "cli_fill uowner failed"
LC_ALL=C.UTF-8 "$shmstat" top "$tag-e" > /tmp/$tag.topu 2>&1 || bad "top uowner: $(cat /tmp/$tag.topu)"
widths() { grep -E "$1" /tmp/$tag.topu | while IFS= read -r l; do printf '%s\n' "$l" | LC_ALL=C.UTF-8 wc -L; done | sort -u | wc -l; }
[ "$(grep -c 'key-' /tmp/$tag.topu)" = 3 ] && [ "$(widths 'key-')" = 1 ] && ok ||
	bad "top: key rows of non-ASCII owners not aligned: $(cat /tmp/$tag.topu)"
[ "$(grep -Ec '^   [^ ]' /tmp/$tag.topu)" = 4 ] && [ "$(widths '^   [^ ]')" = 1 ] && ok ||
	bad "top: owner rows of non-ASCII owners not aligned: $(cat /tmp/$tag.topu)"
# show: NAME as wide as its widest name in columns too (its labels
# "東京支店" x 4 and "é" x 11): the header and the counters' lines
LC_ALL=C.UTF-8 "$shmstat" show --raw "$tag-e" > /tmp/$tag.topu 2>&1 || bad "show uowner: $(cat /tmp/$tag.topu)"
[ "$(grep -Ec '^(NAME|ow_total)' /tmp/$tag.topu)" = 4 ] && [ "$(widths '^(NAME|ow_total)')" = 1 ] && ok ||
	bad "show: rows of non-ASCII labels not aligned: $(cat /tmp/$tag.topu)"
"$shmstat" rm "$tag-e" >/dev/null 2>&1

# events of a thread that found no summary free widen every bound: the
# head line's bound says so (11 events / 4 + 3 unsummarized = 5)
"$fill" "$tag-e" unsum || bad "cli_fill unsum failed"
expect 0 "is off by more than 3 events \(bound: events / capacity \+ unsummarized = 5\)$" "" -- \
	"$shmstat" top "$tag-e"
expect 0 "^ \* +8 +3 +0 .* u-main$" "" -- "$shmstat" top --raw "$tag-e"
expect 0 '"unsummarized":3,"max_error":3,"error_bound":5' "" -- "$shmstat" top --json "$tag-e"
"$shmstat" rm "$tag-e" >/dev/null 2>&1

# a sum past 2^64 is shown whole (the slot keeps it modulo 2^64), and the
# mean is that of the whole sum: 55,340,232,221 values of 1 s
"$fill" "$tag-w" wrap || bad "cli_fill wrap failed"
expect 0 '"count":55340232221,"sum":55340232221000000000,.*"mean":1000000000,' "" -- \
	"$shmstat" show --json "$tag-w"
expect 0 '^w_latency_seconds_sum 55340232221$' "" -- "$shmstat" show --prom "$tag-w"
expect 0 "count 55340232221  sum 55340232221000000000  mean 1000000000  " "" -- \
	"$shmstat" hist --raw "$tag-w" w_latency
expect 0 "^w_latency,,histogram,,55340232221,55340232221000000000,1000000000.000," "" -- \
	"$shmstat" show --csv "$tag-w"
expect 0 '"sum":55340232221000000000,"sum_exact":true,' "" -- "$shmstat" show --json "$tag-w"
"$shmstat" rm "$tag-w" >/dev/null 2>&1
# a sum that is an estimate says so (it was printed as if exact): 2000 and
# 2^63 past the highest bucket, bounds 2^63 apart
"$fill" "$tag-w" estsum || bad "cli_fill estsum failed"
expect 0 '"count":2,"sum":9223372036854777808,"sum_exact":false,' "" -- "$shmstat" show --json "$tag-w"
expect 0 "count 2  sum ~9223372036854777808  " "" -- "$shmstat" hist --raw "$tag-w" e_latency
expect 0 "count 2  sum ~" "" -- "$shmstat" hist "$tag-w" e_latency
# and one the estimate gets wrong: 1000 + 2 (2^64 - 1) is 36893488147419104230,
# the estimate 2^64 less (found by helper-98 at the layouts' edges)
expect 0 '"count":3,"sum":18446744073709552614,"sum_exact":false,' "" -- "$shmstat" show --json "$tag-w"
expect 0 "count 3  sum ~18446744073709552614  " "" -- "$shmstat" hist --raw "$tag-w" o_latency
"$shmstat" rm "$tag-w" >/dev/null 2>&1

# --- hist: percentile table and chart
"$shmstat" hist "$tag-a" cli_latency > /tmp/$tag.hist 2>&1 || bad "hist failed"
# 1000 lies in the bucket 1000..1007, reported as its midpoint 1004
for re in "^cli_latency$" "^  cli test latency$" "count 100  sum 1.018ms  mean 10.18us  min 100ns  max 1ms" \
	"^  p50 +100ns$" "^  p99 +1.004us$" "^  p99.9 +1ms$" "^  max +1ms$" "distribution \\(14 rows\\)" \
	"64ns \\.\\. 127ns .* 90  90\\.0%" "512ns \\.\\. 1.023us .* 9   9\\.0%"; do
	if grep -Eq -- "$re" /tmp/$tag.hist; then ok; else bad "hist output lacks /$re/:"; cat /tmp/$tag.hist; fi
done
# --- in a locale of decimal commas the figures stay C's (docs/shmstat.md):
# the same bytes as under C.UTF-8, where the suite runs (meson.build)
if mkdir -p "/tmp/$tag.loc" && localedef -i de_DE -f UTF-8 "/tmp/$tag.loc/de_DE.UTF-8" >/dev/null 2>&1 &&
	[ "$(LOCPATH=/tmp/$tag.loc LC_ALL=de_DE.UTF-8 awk 'BEGIN { printf "%.1f", 1.5 }')" = 1,5 ]; then
	for c in "hist $tag-a cli_latency" "show --prom $tag-a" "show --csv $tag-a"; do
		# shellcheck disable=SC2086 # the words of $c
		if cmp -s <(LC_ALL=C.UTF-8 "$shmstat" $c 2>&1) \
			<(LOCPATH=/tmp/$tag.loc LC_ALL=de_DE.UTF-8 LANG=de_DE.UTF-8 "$shmstat" $c 2>&1)
		then ok; else bad "$c differs under de_DE.UTF-8"; fi
	done
else
	echo "SKIP: decimal-comma locale: localedef -i de_DE failed (Debian package locales)" >&2
fi
rm -rf "/tmp/$tag.loc"
expect 1 "" "^shmstat: segment '$tag-a' has no histogram 'nope'" -- "$shmstat" hist "$tag-a" nope
expect 1 "" "^shmstat: metric 'cli_errors_total' of segment '$tag-a' is a counter, not a histogram" -- "$shmstat" hist "$tag-a" cli_errors_total
expect 1 "" "has no histogram 'cli_latency' with labels 'x=\"y\"'" -- "$shmstat" hist -l 'x="y"' "$tag-a" cli_latency
expect 2 "" "segment and histogram names are needed" -- "$shmstat" hist "$tag-a"
expect 2 "" "option '-l' needs a value" -- "$shmstat" hist -l
# labels that are not k="v" pairs: a usage error (exit 2), as trend -l says
# (hist looked for them and exited 1, "no histogram ... with labels")
for l in 'x' 'x=' 'x=1' 'x="1'; do
	expect 2 "" "^shmstat: labels '$l' are not k=\"v\" pairs separated by commas$" -- \
		"$shmstat" hist -l "$l" "$tag-a" cli_latency
done
expect 0 "^  p50 +100ns$" "" -- "$shmstat" hist "$tag-a" cli_latency -l ''
expect 0 "^  p99\.9 +1000000$" "" -- "$shmstat" hist "$tag-a" --raw cli_latency
expect 0 "\(exited writers\) +10" "" -- "$shmstat" show --per-process "$tag-a"
# list reads every segment of the host: other processes' (a fuzzer's old
# formats, a half-made one) may make it exit 1; ours must be listed, and
# no message may be about ours
"$shmstat" list > /tmp/$tag.list 2> /tmp/$tag.list.err
if grep -Eq "^$tag-a +root +0600 .* 0/0 " /tmp/$tag.list && ! grep -q "'$tag-" /tmp/$tag.list.err; then
	ok
else
	bad "list: $tag-a not listed as expected: $(cat /tmp/$tag.list /tmp/$tag.list.err)"
fi
rm -f /tmp/$tag.list /tmp/$tag.list.err

# --- machine formats: JSON through a real parser, Prometheus, CSV, filters
"$shmstat" show --json "$tag-a" > /tmp/$tag.json || bad "show --json failed"
if "$json_flat" < /tmp/$tag.json > /tmp/$tag.flat; then ok; else bad "show --json is not valid JSON"; fi
for line in "schema=shmstat.show/2" "segment.name=$tag-a" "metrics.1.name=cli_depth_max" \
	"metrics.1.aggregation=max" "metrics.1.value=7" "metrics.2.value=3" \
	"metrics.3.histogram.count=100" "metrics.3.histogram.sum=1018000" \
	"metrics.3.histogram.quantiles.0.5=100" "metrics.3.histogram.max=1000000" \
	"metrics.4.labels.path=/a" "metrics.4.value=10" "metrics.6.sigtable.hits=7" \
	"metrics.6.sigtable.top.0.key=conv-1" "metrics.6.sigtable.owners.1.weight=1000" \
	"metrics.6.sigtable.top.0.hits=5" "metrics.6.sigtable.top.0.error=0" \
	"metrics.6.sigtable.top.0.high_value=true" "metrics.6.sigtable.top.1.high_value=false" \
	"metrics.6.sigtable.top.2.cut=true" "metrics.6.sigtable.top.2.key_len=40" \
	"metrics.6.sigtable.max_error=0" "metrics.6.sigtable.events=9" \
	"metrics.8.value=0"; do
	if grep -qxF -- "$line" /tmp/$tag.flat; then ok; else bad "show --json lacks $line"; fi
done
"$shmstat" show --prom "$tag-a" > /tmp/$tag.prom || bad "show --prom failed"
for re in '^# TYPE cli_errors_total counter$' '^cli_errors_total 3$' \
	'^cli_requests_total\{path="/a"\} 10$' '^cli_latency_seconds_bucket\{le="0\.000000127"\} 90$' \
	'^cli_latency_seconds_bucket\{le="0\.000001023"\} 99$' '^cli_latency_seconds_bucket\{le="\+Inf"\} 100$' \
	'^cli_latency_seconds_count 100$' '^cli_latency_seconds_sum 0\.001018$' \
	'^cli_sigs_hits_total 7$' '^cli_sigs_owner_hits_total\{owner="acct-a"\} 5$' '^cli_cache_bytes 3670016$' \
	'^cli_sigs_top_hits\{key="conv-1",owner="acct-a",hash="[0-9a-f]{16}",cut="false"\} 5$' '^cli_depth_max 7$' \
	'^cli_sigs_top_hits_error\{key="conv-1",owner="acct-a",hash="[0-9a-f]{16}",cut="false"\} 0$' \
	'^cli_sigs_top_high_value\{key="conv-1",owner="acct-a",hash="[0-9a-f]{16}",cut="false"\} 1$' \
	'^cli_sigs_top_high_value\{key="conv-2",owner="acct-b",hash="[0-9a-f]{16}",cut="false"\} 0$' '^cli_sigs_max_error 0$' \
	'^cli_sigs_top_hits\{key="0123456789abcdefghijklmnopqrstuv",owner="[^"]*",hash="[0-9a-f]{16}",cut="true"\} 0$' \
	'^# TYPE shmstat_build_info gauge$' "^shmstat_build_info\\{version=\"$("$shmstat" --version | cut -d' ' -f2)\",format=\"[0-9]+\\.[0-9]+\"\\} 1$"; do
	if grep -Eq -- "$re" /tmp/$tag.prom; then ok; else bad "show --prom lacks /$re/"; fi
done
# --out: node_exporter's textfile collector (issue 21): the file whole,
# 0644 under any umask, labelled by segment, an older one replaced, no
# temporary file left; refused without a Prometheus format
echo "stale" > /tmp/$tag.tf.prom
(umask 077; "$shmstat" show --prom --out /tmp/$tag.tf.prom "$tag-a") && ok || bad "show --prom --out failed"
[ "$(stat -c %a /tmp/$tag.tf.prom)" = 644 ] && ok || bad "--out file mode $(stat -c %a /tmp/$tag.tf.prom)"
grep -qx "cli_errors_total{segment=\"$tag-a\"} 3" /tmp/$tag.tf.prom && grep -qx "shmstat_segment_up{segment=\"$tag-a\"} 1" /tmp/$tag.tf.prom &&
	! grep -q stale /tmp/$tag.tf.prom && ok || bad "--out file: $(head -5 /tmp/$tag.tf.prom)"
promtool check metrics < /tmp/$tag.tf.prom >/dev/null 2>&1 && ok || bad "promtool on the --out file"
# two segments' files side by side in node_exporter's textfile
# directory: no series in both (it logged an error at every scrape for
# the one shmstat_build_info both had)
"$fill" "$tag-e" || bad "cli_fill failed"
"$shmstat" show --prom --out /tmp/$tag.tf2.prom "$tag-e" && ok || bad "show --prom --out of a second segment failed"
grep -Eqx "shmstat_build_info\\{segment=\"$tag-a\",version=\"[0-9.]+\",format=\"[0-9]+\\.[0-9]+\"\\} 1" /tmp/$tag.tf.prom &&
	ok || bad "--out file's build_info: $(grep '^shmstat_build_info' /tmp/$tag.tf.prom)"
dups=$(cat /tmp/$tag.tf.prom /tmp/$tag.tf2.prom | grep -v '^#' | sed 's/ [^ ]*$//' | sort | uniq -d)
[ -z "$dups" ] && ok || bad "series in both --out files: $dups"
rm -f /tmp/$tag.tf2.prom
"$shmstat" rm "$tag-e" >/dev/null 2>&1
[ -z "$(ls /tmp/$tag.tf.prom.* 2>/dev/null)" ] && ok || bad "--out left $(ls /tmp/$tag.tf.prom.*)"
expect 2 "" "^shmstat: --out goes with --prom or --openmetrics$" -- "$shmstat" show --out /tmp/$tag.tf.prom "$tag-a"
expect 1 "" "^shmstat: cannot write '/tmp/$tag-nodir/x.prom': No such file or directory$" -- \
	"$shmstat" show --openmetrics --out "/tmp/$tag-nodir/x.prom" "$tag-a"
# --out over what is not a regular file: refused and left as it is (the
# rename put a regular file in place of /dev/null or /dev/stdout)
od=$(mktemp -d /tmp/$tag-out.XXXXXX) || exit 1
mkfifo "$od/fifo"
ln -s /proc/self/fd/1 "$od/stdout"
expect 1 "" "^shmstat: cannot write '$od/fifo': it is not a regular file; refusing it$" -- \
	"$shmstat" show --prom --out "$od/fifo" "$tag-a"
expect 1 "" "^shmstat: cannot write '$od/stdout': it is a symbolic link; refusing it$" -- \
	"$shmstat" show --prom --out "$od/stdout" "$tag-a"
[ -p "$od/fifo" ] && [ -L "$od/stdout" ] && ok || bad "--out replaced: $(ls -l "$od")"
if [ "$(id -u)" -eq 0 ] && mknod "$od/null" c 1 3 2>/dev/null; then
	expect 1 "" "^shmstat: cannot write '$od/null': it is not a regular file; refusing it$" -- \
		"$shmstat" show --prom --out "$od/null" "$tag-a"
	[ -c "$od/null" ] && ok || bad "--out replaced a device: $(ls -l "$od/null")"
else
	echo "SKIP: --out over a device: not root, or no mknod here" >&2
fi
# a directory on the way that another user planted as a link (sticky,
# world-writable directory): refused; the rename replaced the file of
# ours it led to
if [ -n "$nobody_dir" ]; then
	sd=$nobody_dir/out-sticky
	mkdir "$sd" && chmod 1777 "$sd"
	printf 'precious\n' > "$od/m.prom"
	as_nobody ln -s "$od" "$sd/dir-link" || bad "uid 65534 could not plant dir-link"
	expect 1 "" "^shmstat: cannot write '$sd/dir-link/m.prom': it goes through a symbolic link of uid 65534 in a shared directory; refusing it$" -- \
		"$shmstat" show --prom --out "$sd/dir-link/m.prom" "$tag-a"
	[ "$(cat "$od/m.prom")" = precious ] && ok || bad "--out renamed over a file behind nobody's link: $(head -2 "$od/m.prom")"
else
	echo "SKIP: --out through a planted directory link: no uid 65534" >&2
fi
rm -rf "$od"
# promtool (Debian package prometheus, installed by ./dev) lints the output
if ! command -v promtool >/dev/null; then
	bad "promtool is not installed (apt-get install prometheus)"
elif promtool check metrics < /tmp/$tag.prom > /tmp/$tag.promtool 2>&1; then ok
else bad "promtool check metrics: $(cat /tmp/$tag.promtool)"; fi
expect 0 "^# EOF$" "" -- "$shmstat" show --openmetrics "$tag-a"
# OpenMetrics: build info is an info family, its sample named _info
expect 0 "^# TYPE shmstat_build info$" "" -- "$shmstat" show --openmetrics "$tag-a"
expect 0 "^cli_requests_total\{path=\"/b\"\} 20$" "" -- "$shmstat" show --openmetrics -I 'cli_req*' "$tag-a"
if "$shmstat" show --prom -I 'cli_req*' "$tag-a" | grep -q cli_errors; then bad "-I kept cli_errors_total"; else ok; fi
if "$shmstat" show -X 'cli_*s_total' "$tag-a" | grep -q "cli_errors_total"; then bad "-X kept cli_errors_total"; else ok; fi
expect 0 'cli_requests_total\{path="/b"\}' "" -- "$shmstat" show -I 'cli_requests_total{path="/b"}' "$tag-a"
expect 0 '^cli_latency,,histogram,,100,1018000,10180.000,100,1004,1004,1000000$' "" -- "$shmstat" show --csv "$tag-a"
expect 0 '^cli_requests_total,"path=""/a""",counter,10,' "" -- "$shmstat" show --csv "$tag-a"
expect 0 "count=100 mean=10180 p50=100 p95=1004 p99=1004 max=1000000" "" -- "$shmstat" show --raw "$tag-a"
expect 2 "" "choose one output format" -- "$shmstat" show --json --csv "$tag-a"
expect 2 "" "glob '\[ab' is not valid" -- "$shmstat" show -I '[ab' "$tag-a"
expect 2 "" "unknown option '--yaml'" -- "$shmstat" show --yaml "$tag-a"

# --- bash completion: commands, options, segment names
source "$(dirname "$manual")/../tools/shmstat.bash"
COMP_WORDS=(shmstat wa); COMP_CWORD=1; _shmstat
[ "${COMPREPLY[*]}" = "watch" ] && ok || bad "completion of 'wa': ${COMPREPLY[*]}"
COMP_WORDS=(shmstat top --by w); COMP_CWORD=3; _shmstat
[ "${COMPREPLY[*]}" = "weight" ] && ok || bad "completion of top --by w: ${COMPREPLY[*]}"
COMP_WORDS=(shmstat show "$tag-"); COMP_CWORD=2; _shmstat
[[ " ${COMPREPLY[*]} " == *" $tag-a "* ]] && ok || bad "completion of segment names: ${COMPREPLY[*]}"
# every option of a command's synopsis (shmstat help CMD) completes (show
# --out, check --emit and --out, watch --interval and --count did not)
for cmd in list show hist top watch gc rm record trend check serve flame; do
	COMP_WORDS=(shmstat "$cmd" -); COMP_CWORD=2; _shmstat
	for o in $("$shmstat" help "$cmd" | awk '/^usage:/ || /^       /' |
		grep -oE -- '(^|[][ |])-{1,2}[A-Za-z][A-Za-z-]*' | sed -E 's/^[][ |]//' | sort -u); do
		[[ " ${COMPREPLY[*]} " == *" $o "* ]] && ok || bad "completion of '$cmd -' lacks $o"
	done
done
COMP_WORDS=(shmstat check --emit p); COMP_CWORD=3; _shmstat
[ "${COMPREPLY[*]}" = "prometheus-rules" ] && ok || bad "completion of check --emit p: ${COMPREPLY[*]}"

# --- watch, piped: a quiet segment has exact values and zero rates
"$shmstat" watch -i 100ms -n 3 "$tag-a" > /tmp/$tag.watch 2>&1 || bad "watch failed"
if [ "$(grep -c "  $tag-a  writers 0 alive 0 dead$" /tmp/$tag.watch)" = 3 ]; then ok; else bad "watch -n 3 did not print 3 blocks"; cat /tmp/$tag.watch; fi
if [ "$(grep -Ec '^  cli_errors_total +3 +0/s ' /tmp/$tag.watch)" = 2 ]; then ok; else bad "watch: cli_errors_total is not 3 at 0/s twice"; cat /tmp/$tag.watch; fi
if grep -Eq '^  cli_errors_total +3 +- ' /tmp/$tag.watch; then ok; else bad "watch: first sample has no rate"; fi
if grep -Eq '^  cli_depth_max +7 items$' /tmp/$tag.watch; then ok; else bad "watch: gauge row"; fi
# -i: a duration as record and show read them, 1ms to 1d; strtod's
# forms (hex, leading space, exponents) and a number without a unit are
# not durations, 1e-300 was a busy loop
for i in soon 0x10 ' 1' 1e-300 1e-3s 2 0 0ms 999us 1d1ns 2d -1s ''; do
	expect 2 "" "^shmstat: interval '$i' is not a duration from 1ms to 1d$" -- \
		"$shmstat" watch -i "$i" -n 1 "$tag-a"
done
for i in 1m30s 1h 1d 1ms 1.5s; do
	expect 0 "  $tag-a  writers 0 alive 0 dead$" "^$" -- "$shmstat" watch -i "$i" -n 1 "$tag-a"
done
expect 2 "" "count '0' is not a positive number" -- "$shmstat" watch -n 0 "$tag-a"
# --interval and --count, as record spells them (watch refused them)
expect 0 "  $tag-a  writers 0 alive 0 dead$" "^$" -- "$shmstat" watch --interval 10ms --count 1 "$tag-a"
[ "$(grep -c "  $tag-a  writers" <<<"$("$shmstat" watch --interval=10ms --count=2 "$tag-a")")" = 2 ] && ok ||
	bad "watch --interval=10ms --count=2: not 2 blocks"
expect 2 "" "^shmstat: interval '2' is not a duration from 1ms to 1d$" -- "$shmstat" watch --interval 2 -n 1 "$tag-a"
expect 2 "" "^shmstat: count '0' is not a positive number$" -- "$shmstat" watch --count 0 "$tag-a"
expect 2 "" "count '99999999999999999999' is not a positive number" -- "$shmstat" watch -n 99999999999999999999 "$tag-a"
expect 1 "" "^shmstat: segment '$tag-none' does not exist$" -- "$shmstat" watch -i 10ms -n 2 "$tag-none"
# watch: hit-ratio rows for twins with the same labels and, over all label
# sets, for a name without twins: since creation, and "-" over the
# windows not watched yet
"$fill" "$tag-d" ratio || bad "cli_fill ratio failed"
"$shmstat" watch -i 10ms -n 2 "$tag-d" > /tmp/$tag.ratio 2>&1 || bad "watch failed"
if grep -Eq '^  r_lookup_hits_total\{shard="1"\} hit ratio +75\.0% +- +- +-$' /tmp/$tag.ratio; then ok
else bad "watch: no ratio row for twins"; cat /tmp/$tag.ratio; fi
if grep -Eq '^  r_cache_hits_total\{\*\} hit ratio +85\.7% +- +- +-$' /tmp/$tag.ratio; then ok
else bad "watch: no ratio row over label sets"; fi
if [ "$(grep -c 'r_cache_hits_total{\*}' /tmp/$tag.ratio)" = 2 ]; then ok
else bad "watch: the ratio over label sets is not once per block"; fi
# serve -s NAME -s NAME: refused (it served every series of NAME twice
# in each scrape); bounded, as a serve that started would run on
expect 2 "" "^shmstat: segment '$tag-d' is named twice$" -- \
	timeout 10 "$shmstat" serve --listen 127.0.0.1:0 -s "$tag-d" -s "$tag-e" -s "$tag-d"
# serve -H FILE: a file that cannot be read as a history is refused at the
# start, exit 1, as trend refuses it (serve started, its API 503 forever)
expect 1 "" "^shmstat: history file '/tmp/$tag-none.hist' does not exist$" -- \
	timeout 10 "$shmstat" serve --listen 127.0.0.1:0 -s "$tag-d" -H "/tmp/$tag-none.hist"
expect 1 "" "^shmstat: history file '/tmp' is not a regular file$" -- \
	timeout 10 "$shmstat" serve --listen 127.0.0.1:0 -s "$tag-d" --history /tmp
# serve's /api/v1/top answers as top does: a segment with no signature
# table (this one has counters only) is an error, 404 (it was 200 with no
# tables while top exits 1)
expect 1 "" "^shmstat: segment '$tag-d' has no signature table$" -- "$shmstat" top --json "$tag-d"
"$shmstat" serve --listen 127.0.0.1:0 -s "$tag-d" 2>/tmp/$tag.serve &
serve_pid=$!
port=
for _ in $(seq 100); do
	port=$(grep -o '127.0.0.1:[0-9]*/metrics' /tmp/$tag.serve | sed 's/.*:\([0-9]*\)\/.*/\1/')
	[ -n "$port" ] && break
	kill -0 "$serve_pid" 2>/dev/null || break
	sleep 0.05
done
if [ -z "$port" ]; then bad "serve did not start: $(cat /tmp/$tag.serve)"
else
	for q in "top?segment=$tag-d:segment '$tag-d' has no signature table" \
		"top?segment=$tag-d&table=r_cache_hits_total:segment '$tag-d' has no signature table 'r_cache_hits_total'"; do
		got=$(curl -s -o /tmp/$tag.api -w '%{http_code}' "http://127.0.0.1:$port/api/v1/${q%%:*}")
		[ "$got" = 404 ] && [ "$(cat /tmp/$tag.api)" = "{\"error\":\"${q#*:}\"}" ] && ok ||
			bad "/api/v1/${q%%:*}: $got $(cat /tmp/$tag.api)"
	done
	# a parameter the path does not take (a typo: exlude= sent the whole
	# segment) or one given twice (the second was not read) is 400
	for q in "show?segment=$tag-d&exlude=r_*:parameter 'exlude' is unknown: /api/v1/show takes segment, include, exclude" \
		"segments?segment=$tag-d:parameter 'segment' is unknown: /api/v1/segments takes none" \
		"show?segment=$tag-d&segment=$tag-x:parameter 'segment' is given twice" \
		"top?segment=$tag-d&n=1&n=2:parameter 'n' is given twice"; do
		got=$(curl -s -o /tmp/$tag.api -w '%{http_code}' "http://127.0.0.1:$port/api/v1/${q%%:*}")
		[ "$got" = 400 ] && [ "$(cat /tmp/$tag.api)" = "{\"error\":\"${q#*:}\"}" ] && ok ||
			bad "/api/v1/${q%%:*}: $got $(cat /tmp/$tag.api)"
	done
	got=$(curl -s -o /tmp/$tag.api -w '%{http_code}' "http://127.0.0.1:$port/api/v1/show?segment=$tag-d&include=r_cache*&include=r_lookup*&exclude=*misses*")
	[ "$got" = 200 ] && [ "$(grep -o '"name":"r_[a-z_]*"' /tmp/$tag.api | sort -u | tr '\n' ' ')" = \
		'"name":"r_cache_hits_total" "name":"r_lookup_hits_total" ' ] && ok ||
		bad "include twice, exclude: $got $(head -c 300 /tmp/$tag.api)"
fi
kill "$serve_pid" 2>/dev/null; wait "$serve_pid" 2>/dev/null; serve_pid=
"$shmstat" rm "$tag-d"

# watch with thousands of metrics: every row, in name order, each value right
"$fill" "$tag-e" many || bad "cli_fill many failed"
"$shmstat" watch -i 10ms -n 2 "$tag-e" > /tmp/$tag.many 2>&1 || bad "watch of 3000 metrics failed"
grep '^  m_' /tmp/$tag.many | head -n 3000 | awk '{print $1}' > /tmp/$tag.names
if [ "$(wc -l < /tmp/$tag.names)" = 3000 ] && sort -c /tmp/$tag.names 2>/dev/null; then ok
else bad "watch of 3000 metrics: rows missing or out of order"; fi
if grep -Eq '^  m_2999_total +2999 ' /tmp/$tag.many && grep -Eq '^  m_0000_total +0 ' /tmp/$tag.many; then ok
else bad "watch of 3000 metrics: wrong values"; fi
"$shmstat" rm "$tag-e"

# watch follows a segment re-created under it (40 intervals of 100 ms
# leave ample room after the re-creation, which takes a few ms)
"$fill" "$tag-c" || bad "cli_fill failed"
"$shmstat" watch -i 100ms -n 40 "$tag-c" > /tmp/$tag.rec 2>&1 &
wpid=$!
for i in $(seq 200); do grep -q "writers" /tmp/$tag.rec && break; sleep 0.02; done
"$shmstat" rm "$tag-c"
"$fill" "$tag-c" || bad "cli_fill failed"
wait "$wpid" || bad "watch across a re-creation exited $?"
if grep -q "segment '$tag-c' was re-created: following the new one" /tmp/$tag.rec; then ok
else bad "watch did not report the re-creation"; tail -5 /tmp/$tag.rec; fi
if [ "$(tail -n 12 /tmp/$tag.rec | grep -Ec '^  cli_errors_total +3 ')" = 1 ]; then ok
else bad "watch did not go on with the new segment"; fi

# full screen under a pseudo-terminal (script(1)): the ncurses view draws
if command -v script >/dev/null; then
	# the program's path from the environment: a command string would
	# split it at a space and stop at a quote
	SHMSTAT=$shmstat TERM=xterm script -qec '"$SHMSTAT" watch -i 50ms -n 2 '"$tag-a" \
		/dev/null > /tmp/$tag.tty 2>&1
	if grep -q "q quit, p pause, s sort, / filter" /tmp/$tag.tty && grep -q "cli_errors_total" /tmp/$tag.tty; then ok
	else bad "watch on a terminal drew no view"; fi
	# a terminal ncurses cannot drive: the blocks, as to a pipe, and why
	# (TERM unset: ncurses said "Error opening terminal: unknown." and
	# exited 1; dumb: nothing drawn)
	for t in unset dumb bogus-term; do
		if [ "$t" = unset ]; then set_term=(env -u TERM); else set_term=(env TERM="$t"); fi
		SHMSTAT=$shmstat "${set_term[@]}" script -qec '"$SHMSTAT" watch -i 50ms -n 2 '"$tag-a"'; echo "exit $?"' \
			/dev/null 2>&1 | tr -d '\r' > /tmp/$tag.tty
		case $t in
		unset) why="TERM is not set" ;;
		dumb) why="terminal type 'dumb' \(TERM\) cannot move the cursor" ;;
		*) why="terminal type '$t' \(TERM\) is not known" ;;
		esac
		if grep -Eq "^shmstat: $why: printing snapshots one after the other, as to a pipe$" /tmp/$tag.tty &&
			[ "$(grep -c "  $tag-a  writers 0 alive 0 dead$" /tmp/$tag.tty)" = 2 ] &&
			grep -qx "exit 0" /tmp/$tag.tty; then ok
		else bad "watch on a terminal of TERM $t: $(head -c 600 /tmp/$tag.tty)"; fi
	done
fi

# --- a writer that stays attached, then dies
coproc HOLD { exec "$fill" "$tag-b" hold; }
holder=$HOLD_PID
read -r line <&"${HOLD[0]}"
[ "$line" = ready ] && ok || bad "holder did not start"
expect 0 "1 writers alive, 0 dead" "" -- "$shmstat" show "$tag-b"
expect 0 "cli_workers +gauge/livesum +1 items +-$" "" -- "$shmstat" show "$tag-b"
expect 0 "pid $holder +cli_fill +10" "" -- "$shmstat" show -p "$tag-b"
"$shmstat" show --json -p -I 'cli_requests_total' "$tag-b" | "$json_flat" > /tmp/$tag.pflat || bad "show --json -p is not valid JSON"
for line in "metrics.0.per_process.0.pid=$holder" "metrics.0.per_process.0.value=10" \
	"metrics.0.gone=0" "processes.0.pid=$holder" "processes.0.comm=cli_fill" "processes.0.alive=true"; do
	if grep -qxF -- "$line" /tmp/$tag.pflat; then ok; else bad "show --json -p lacks $line"; fi
done
kill -9 "$holder"; wait "$holder" 2>/dev/null; holder=
expect 0 "0 writers alive, 1 dead" "" -- "$shmstat" show "$tag-b"
expect 0 "cli_workers +gauge/livesum +0 items +-$" "" -- "$shmstat" show "$tag-b"
expect 0 "cli_requests_total\{path=\"/b\"\} +counter +20" "" -- "$shmstat" show "$tag-b"
expect 0 "reaped 1 dead writer$" "" -- "$shmstat" gc "$tag-b"
expect 0 "0 writers alive, 0 dead" "" -- "$shmstat" show "$tag-b"
expect 0 "cli_requests_total\{path=\"/b\"\} +counter +20" "" -- "$shmstat" show "$tag-b"
expect 0 "reaped 0 dead writers$" "" -- "$shmstat" gc "$tag-b"

# --- another user's segment: readable only as its mode allows, never writable
if [ -n "$nobody_dir" ] && nobody_copy nobody_shmstat "$shmstat"; then
	expect 1 "" "^shmstat: segment '$tag-b' is not readable by this user" -- as_nobody "$nobody_shmstat" show "$tag-b"
	chown nobody "/dev/shm/shmstat.$tag-b"
	expect 1 "" "^shmstat: segment '$tag-b' is owned by uid [0-9]+, not by this user" -- "$shmstat" gc "$tag-b"
	# readers check the owner as writers do (issue 17), unless told
	expect 1 "" "^shmstat: segment '$tag-b' is owned by uid [0-9]+, not by this user" -- "$shmstat" show "$tag-b"
	expect 0 "cli_errors_total" "" -- "$shmstat" --owner nobody show "$tag-b"
	chown root "/dev/shm/shmstat.$tag-b"
else
	echo "SKIP: another user's segment: $nobody_why" >&2
fi

# --- record: a snapshot too big for the file names the record's own size
# (its values), the same in files of 64K, 256K and 512K, then its size
# with the series inline that the file's dictionary has no room for, and
# the ring it does not fit in. The size alone said went from 96,712 to
# 82,376 bytes with the file's size (the dictionary's room). 3,000
# counters of 0 .. 2,999: 128 values of one byte and 2,872 of two, 5,872;
# a record's header (32), its kind (1), generation (8) and segment name
# (1 + its length: "-m" after the tag); 8-byte aligned.
"$fill" "$tag-m" many || bad "cli_fill many failed"
own=$(( (32 + 1 + 8 + 1 + ${#tag} + 2 + 5872 + 7) / 8 * 8 ))
for sz in 64K 256K 512K; do
	rm -f /tmp/$tag.rec
	expect 1 "" "^shmstat: history file '/tmp/$tag.rec': a record of segment '$tag-m' takes $own bytes \([0-9]+ with [0-9]+ series written inline: the file's dictionary has no room for them\), more than the ring of tier [0-9] \([0-9]+ bytes\); make the file bigger \(--count 1: 0 recorded\)$" -- \
		"$shmstat" record --count 1 --size $sz -o /tmp/$tag.rec "$tag-m"
	# more than the ring: the record with its series inline
	sed -nE 's/.* \(([0-9]+) with .* tier [0-9] \(([0-9]+) bytes\).*/\1 \2/p' /tmp/$tag.err > /tmp/$tag.sizes
	read -r total ring < /tmp/$tag.sizes
	[ "${total:-0}" -gt "${ring:-0}" ] && [ "$ring" -gt 0 ] && ok || bad "record --size $sz: sizes $(cat /tmp/$tag.sizes)"
done
"$shmstat" rm "$tag-m" >/dev/null 2>&1

# --- rm
expect 0 "" "" -- "$shmstat" rm "$tag-a" "$tag-b"
expect 1 "" "does not exist" -- "$shmstat" show "$tag-a"

finish
