#!/usr/bin/env bash
# shmstat check as a Nagios plugin (issue 20), against the monitoring
# plugins' development guidelines:
#   - the first line is "SHMSTAT STATE - text", then " | " and the
#     performance data when any rule has a value; later lines are long
#     text (no '|' in them: it would start more performance data);
#   - performance data: 'label'=value[UOM];[warn];[crit];[min];[max],
#     space separated, value/min/max of [-0-9.], UOM one of s ms us % B KB
#     MB TB c or none, warn and crit ranges [@]start:end ("~" for minus
#     infinity);
#   - exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN, also for a usage or
#     configuration error and a timeout, whose first line says what is
#     wrong (and stderr too);
#   - -V prints the version, -t the timeout.
# The segment is cli_fill's: known values, no writer left.
# Usage: nagios.sh SHMSTAT CLI_FILL STALL_SO JSON_FLAT native|cross
set -u
shmstat=$1
fill=$2
stall=$3
json_flat=$4
build_kind=$5
pass=0
fail=0
tag="clin-$$"
seg="$tag-a"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/shmstat-nagios-$$.XXXXXX") || exit 1

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
cleanup() {
	"$shmstat" rm "$seg" >/dev/null 2>&1
	"$shmstat" rm "$tag-l" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM PIPE      # the EXIT trap cleans up then too

# The grammar of the plugin output
state_re='(OK|WARNING|CRITICAL|UNKNOWN)'
num_re='-?[0-9]+(\.[0-9]+)?'
range_re="@?((~|$num_re):)?($num_re)?"
label_re="'([^'=]|'')+'"
perf_re="$label_re=$num_re(s|ms|us|%|B|KB|MB|TB|c)?(;($range_re)?(;($range_re)?(;($num_re)?(;($num_re)?)?)?)?)?"
first_re="^SHMSTAT $state_re - [^|]+( \| $perf_re( $perf_re)*)?$"

# plugin CODE FIRST_LINE_ERE [STDERR_ERE] -- command...: the exit code,
# the first line (matching the grammar and FIRST_LINE_ERE, its state the
# one of CODE), long text without '|', stderr matching STDERR_ERE (or
# empty); no crash
plugin() {
	local code=$1 first=$2 err_re=$3 states=(OK WARNING CRITICAL UNKNOWN) out err rc line1
	shift 4
	"$@" > "$tmp/out" 2> "$tmp/err"; rc=$?
	out=$(cat "$tmp/out")
	err=$(cat "$tmp/err")
	line1=$(head -n 1 "$tmp/out")
	if [ "$rc" -ne "$code" ]; then
		bad "$*: exit $rc, expected $code (stdout: $out) (stderr: $err)"; return
	fi
	if ! grep -Eq -- "$first_re" <<<"$line1"; then
		bad "$*: first line is not 'SHMSTAT STATE - text | perfdata': $line1"; return
	fi
	if [ "${line1#SHMSTAT "${states[$code]}" - }" = "$line1" ]; then
		bad "$*: exit $code but the first line says: $line1"; return
	fi
	if ! grep -Eq -- "$first" <<<"$line1"; then
		bad "$*: first line does not match /$first/: $line1"; return
	fi
	if tail -n +2 "$tmp/out" | grep -q '|'; then
		bad "$*: a '|' in the long text: $out"; return
	fi
	if [ -n "$err_re" ] && ! grep -Eq -- "$err_re" <<<"$err"; then
		bad "$*: stderr does not match /$err_re/: $err"; return
	fi
	if [ -z "$err_re" ] && [ -n "$err" ]; then
		bad "$*: stderr is not empty: $err"; return
	fi
	if grep -q "Sanitizer\|runtime error\|Segmentation" <<<"$err"; then
		bad "$*: crashed: $err"; return
	fi
	ok
}
# the grammar itself takes what the guidelines allow, and refuses the rest
for p in "'a'=1" "'a b'=-1.5s;~:2;3:;0;100" "'it''s'=0c" "'x'=3%;@1:2;;;" "'y'=4;10"; do
	grep -Eq "^$perf_re$" <<<"$p" && ok || bad "perfdata grammar refuses $p"
done
for p in "a=1" "'a'=1e5" "'a'=1;x" "'a'=1GB" "'a'=" "'a'=1;2;3;4;5;6"; do
	grep -Eq "^$perf_re$" <<<"$p" && bad "perfdata grammar takes $p" || ok
done

"$fill" "$seg" || bad "cli_fill $seg failed"
# cli_temperature 42 items (gauge); cli_cache_bytes 3.5 MiB; cli_latency:
# 100 values, p95 1 us (ns); cli_errors_total 3 / cli_requests_total 30;
# cli_sigs: 7 hits, 2 misses (hit rate 77.8%), weight 6000

# ---------------------------------------------------------- one figure
# each state, its exit code, the value with its unit, perfdata in base units
plugin 0 "^SHMSTAT OK - gauge:cli_temperature = 42 items \| 'gauge:cli_temperature'=42;~:50;~:60$" "" -- \
	"$shmstat" check "$seg" --gauge cli_temperature -w 50 -c 60
plugin 1 "^SHMSTAT WARNING - gauge:cli_temperature = 42 items > 40 items \| 'gauge:cli_temperature'=42;~:40;~:50$" "" -- \
	"$shmstat" check "$seg" --gauge cli_temperature -w 40 -c 50
plugin 2 "^SHMSTAT CRITICAL - ratio:cli_errors_total = 10\.0% > 8\.0% \| 'ratio:cli_errors_total'=10%;~:5;~:8;0;100$" "" -- \
	"$shmstat" check "$seg" --ratio cli_errors_total cli_requests_total -w 5% -c 8%
plugin 3 "^SHMSTAT UNKNOWN - gauge:cli_nothing: no such series$" "" -- \
	"$shmstat" check "$seg" --gauge cli_nothing -w 1
# a figure of a metric of another type: UNKNOWN, as over a window (the
# gauge of the counter cli_requests_total was 0, OK; the increase of the
# gauge cli_temperature 0, OK)
plugin 3 "^SHMSTAT UNKNOWN - gauge:cli_requests_total: not a gauge$" "" -- \
	"$shmstat" check "$seg" --gauge cli_requests_total -w 1
plugin 3 "^SHMSTAT UNKNOWN - increase:cli_temperature: a gauge, which has no increase$" "" -- \
	"$shmstat" check "$seg" --increase cli_temperature -w 1
plugin 3 "^SHMSTAT UNKNOWN - quantile:cli_latency: fewer samples than min_samples \| 'quantile:cli_latency'=0\.000001004s;~:0\.000002;;0$" "" -- \
	"$shmstat" check "$seg" --quantile 0.95 cli_latency -w 2us --min-samples 101
# a histogram whose series have different bucket layouts cannot be summed:
# UNKNOWN, not the quantile of one series alone (it was 1ms, of the 100
# values of k="b", for 1000 values of 1us and 100 of 1ms)
"$fill" "$tag-l" layouts || bad "cli_fill $tag-l layouts failed"
plugin 3 "^SHMSTAT UNKNOWN - quantile:l_latency: its series have different bucket layouts \(select one with labels\)$" "" -- \
	"$shmstat" check "$tag-l" --quantile 0.5 l_latency -w 500us -c 900us
plugin 0 "^SHMSTAT OK - quantile:l_latency = 1us \| " "" -- \
	"$shmstat" check "$tag-l" --quantile 0.5 'l_latency{k="a"}' -w 500us -c 900us
"$shmstat" rm "$tag-l" >/dev/null 2>&1
# the long text: the rule's line
plugin 1 "^SHMSTAT WARNING - " "" -- "$shmstat" check "$seg" --gauge cli_temperature -w 40 -c 50
grep -qx "WARNING  gauge:cli_temperature: gauge of cli_temperature (lifetime) = 42 items > 40 items (1 samples)" "$tmp/out" &&
	ok || bad "no rule line after the first: $(cat "$tmp/out")"
[ "$(wc -l < "$tmp/out")" = 2 ] && ok || bad "one figure: not 2 lines: $(cat "$tmp/out")"
# units: bytes (B), durations (s), ratios (%: 0.9 or 90%), counts with k
plugin 1 "^SHMSTAT WARNING - gauge:cli_cache_bytes = 3\.5 MiB > 3\.0 MiB \| 'gauge:cli_cache_bytes'=3670016B;~:3145728;~:4194304$" "" -- \
	"$shmstat" check "$seg" --gauge cli_cache_bytes -w 3MiB -c 4MiB
plugin 0 "^SHMSTAT OK - gauge:cli_cache_bytes = 3\.5 MiB \| 'gauge:cli_cache_bytes'=3670016B;~:4000000;~:5000000$" "" -- \
	"$shmstat" check "$seg" --gauge cli_cache_bytes -w 4MB -c 5MB
plugin 0 "^SHMSTAT OK - quantile:cli_latency = 1\.004us \| 'quantile:cli_latency'=0\.000001004s;~:0\.000002;~:0\.000005;0$" "" -- \
	"$shmstat" check "$seg" --quantile 0.95 cli_latency -w 2us -c 5us
plugin 2 "^SHMSTAT CRITICAL - ratio:cli_errors_total = 10\.0% > 8\.0% \| 'ratio:cli_errors_total'=10%;~:5;~:8;0;100$" "" -- \
	"$shmstat" check "$seg" --ratio cli_errors_total cli_requests_total -w 0.05 -c 0.08
plugin 1 "^SHMSTAT WARNING - increase:cli_requests_total = 30 > 20 \| 'increase:cli_requests_total'=30c;~:20;~:1000;0$" "" -- \
	"$shmstat" check "$seg" --increase cli_requests_total -w 20 -c 1k
# a sum of selectors: requests of /a over all requests
plugin 1 "^SHMSTAT WARNING - ratio:cli_requests_total = 33\.3% > 30\.0% \| " "" -- \
	"$shmstat" check "$seg" --ratio 'cli_requests_total{path="/a"}' 'cli_requests_total{path="/a"}+cli_requests_total{path="/b"}' -w 30%
# directions: --below, and the ranges X: (below), @X: (at or above),
# @~:X (at or below), ~:X (above)
plugin 1 "^SHMSTAT WARNING - sig:cli_sigs = 77\.8% < 90\.0% \| 'sig:cli_sigs'=77\.7778%;90:;50:;0;100$" "" -- \
	"$shmstat" check "$seg" --sig hit_ratio cli_sigs -w 90% -c 50% --below
plugin 1 "^SHMSTAT WARNING - sig:cli_sigs = 77\.8% < 90\.0% \| 'sig:cli_sigs'=77\.7778%;90:;50:;0;100$" "" -- \
	"$shmstat" check "$seg" --sig hit_rate cli_sigs -w 90%: -c 50%:
plugin 2 "^SHMSTAT CRITICAL - gauge:cli_temperature = 42 items >= 42 items \| 'gauge:cli_temperature'=42;@40:;@42:$" "" -- \
	"$shmstat" check "$seg" --gauge cli_temperature -w @40: -c @42:
plugin 1 "^SHMSTAT WARNING - gauge:cli_temperature = 42 items <= 50 items \| 'gauge:cli_temperature'=42;@~:50;@~:10$" "" -- \
	"$shmstat" check "$seg" --gauge cli_temperature -w @~:50 -c @~:10
plugin 0 "^SHMSTAT OK - sig:cli_sigs = 7 \| 'sig:cli_sigs'=7c;~:10;;0$" "" -- \
	"$shmstat" check "$seg" --sig hits cli_sigs -w '~:10'

# ---------------------------------------------------------- rules files
r=$tmp/rules.yaml
cat > "$r" <<'YAML'
rules:
  - {name: temp-ok, gauge: cli_temperature, above: {warning: 50}}
  - {name: temp-warn, gauge: cli_temperature, above: {warning: 40, critical: 50}}
  - name: errors-crit
    ratio: {num: cli_errors_total, den: cli_requests_total}
    above: {warning: 1%, critical: 5%}
  - {name: cache-crit, gauge: cli_cache_bytes, above: {critical: 1MiB}}
  - {name: missing, gauge: cli_nothing, above: {warning: 1}}
  - name: p95
    quantile: {metric: cli_latency, q: 0.95}
    above: {warning: 2us, critical: 5us}
YAML
plugin 2 "^SHMSTAT CRITICAL - errors-crit = 10\.0% > 5\.0%, cache-crit = 3\.5 MiB > 1\.0 MiB; 6 rules: 2 ok, 1 warning, 2 critical, 1 unknown \| 'temp-ok'=42;~:50 'temp-warn'=42;~:40;~:50 'errors-crit'=10%;~:1;~:5;0;100 'cache-crit'=3670016B;;~:1048576 'p95'=0\.000001004s;~:0\.000002;~:0\.000005;0$" "" -- \
	"$shmstat" check -r "$r" "$seg"
# the long text: one line per rule, in file order
for l in "OK       temp-ok: gauge of cli_temperature (lifetime) = 42 items (1 samples)" \
	"WARNING  temp-warn: gauge of cli_temperature (lifetime) = 42 items > 40 items (1 samples)" \
	"CRITICAL errors-crit: ratio of cli_errors_total/... (lifetime) = 10.0% > 5.0% (30 samples)" \
	"CRITICAL cache-crit: gauge of cli_cache_bytes (lifetime) = 3.5 MiB > 1.0 MiB (1 samples)" \
	"UNKNOWN  missing: gauge of cli_nothing (lifetime): no such series (0 samples)" \
	"OK       p95: quantile 0.95 of cli_latency (lifetime) = 1.004us (100 samples)"; do
	grep -qxF -- "$l" "$tmp/out" && ok || bad "rules file: no line '$l' in: $(cat "$tmp/out")"
done
[ "$(wc -l < "$tmp/out")" = 7 ] && ok || bad "rules file: not 7 lines"
# more than three rules at the worst state: three named, "and N more"
printf 'rules:\n' > "$tmp/four.yaml"
for i in 1 2 3 4; do printf '  - {name: w%d, gauge: cli_temperature, above: {warning: %d}}\n' "$i" "$i" >> "$tmp/four.yaml"; done
plugin 1 "^SHMSTAT WARNING - w1 = 42 items > 1 items, w2 = 42 items > 2 items, w3 = 42 items > 3 items and 1 more; 4 rules: 0 ok, 4 warning, 0 critical, 0 unknown \| " "" -- \
	"$shmstat" check -r "$tmp/four.yaml" "$seg"
# a metric whose unit does not fit the thresholds: that rule UNKNOWN,
# saying why (stderr too)
printf 'rules:\n  - {name: temp-ms, gauge: cli_temperature, above: {warning: 2ms}}\n' > "$tmp/unit.yaml"
plugin 3 "^SHMSTAT UNKNOWN - temp-ms: warning threshold 2ms is a duration, but cli_temperature is in 'items' \| " \
	"^shmstat: rule 'temp-ms': warning threshold 2ms is a duration, but cli_temperature is in 'items'$" -- \
	"$shmstat" check -r "$tmp/unit.yaml" "$seg"
# --json: the same verdicts, schema shmstat.check/2
"$shmstat" check -r "$r" --json "$seg" > "$tmp/json"; rc=$?
[ "$rc" = 2 ] && ok || bad "check --json exited $rc"
if "$json_flat" < "$tmp/json" > "$tmp/flat"; then ok; else bad "check --json is not JSON"; fi
for l in schema=shmstat.check/2 health=CRITICAL rules.2.name=errors-crit rules.2.health=CRITICAL \
	rules.2.value=0.1 rules.3.unit=bytes rules.3.value=3670016 rules.4.health=UNKNOWN; do
	grep -qxF "$l" "$tmp/flat" && ok || bad "check --json lacks $l: $(cat "$tmp/flat")"
done

# ---------------------------------------- configuration and usage errors
# exit 3, "SHMSTAT UNKNOWN - message" first, the message on stderr too
printf 'rules:\n  - name: x\n    gauge: cli_temperature\n    abov: {warning: 1}\n' > "$tmp/bad.yaml"
plugin 3 "^SHMSTAT UNKNOWN - $tmp/bad\.yaml:4:5: rule 'x': unknown key \(known: name, " \
	"^shmstat: $tmp/bad\.yaml:4:5: rule 'x': unknown key" -- "$shmstat" check -r "$tmp/bad.yaml" "$seg"
printf 'rules:\n  - name: x\n    ratio: {num: a, den: b}\n    above: {warning: 15MB}\n' > "$tmp/unit2.yaml"
plugin 3 "^SHMSTAT UNKNOWN - $tmp/unit2\.yaml:4:22: rule 'x': 'above': 'warning: 15MB' is bytes, but the rule compares a ratio \(write 0\.9 or 90%\)$" \
	"^shmstat: $tmp/unit2\.yaml:4:22: rule 'x': 'above': 'warning: 15MB' is bytes" -- "$shmstat" check -r "$tmp/unit2.yaml" "$seg"
plugin 3 "^SHMSTAT UNKNOWN - $tmp/none\.yaml: cannot open: No such file or directory$" "^shmstat: $tmp/none\.yaml: cannot open" -- \
	"$shmstat" check -r "$tmp/none.yaml" "$seg"
plugin 3 "^SHMSTAT UNKNOWN - segment '$tag-none' does not exist$" "^shmstat: segment '$tag-none' does not exist$" -- \
	"$shmstat" check "$tag-none" --gauge cli_temperature -w 1
plugin 3 "^SHMSTAT UNKNOWN - history file '$tmp/none\.hist' does not exist$" "^shmstat: history file '$tmp/none\.hist' does not exist$" -- \
	"$shmstat" check -r "$r" -H "$tmp/none.hist" "$seg"
plugin 3 "^SHMSTAT UNKNOWN - -w: '15MB' is bytes, but the rule compares a ratio \(write 0\.9 or 90%\)$" \
	"^shmstat: -w: '15MB' is bytes, but the rule compares a ratio" -- \
	"$shmstat" check "$seg" --ratio cli_errors_total cli_requests_total -w 15MB
plugin 3 "^SHMSTAT UNKNOWN - -c '10:20' is bounded on both sides; a rule has one direction" "^shmstat: -c '10:20' is bounded" -- \
	"$shmstat" check "$seg" --gauge cli_temperature -c 10:20
plugin 3 "^SHMSTAT UNKNOWN - timeout 'soon' is not a whole number of seconds from 0 to 86400$" \
	"^shmstat: timeout 'soon' is not a whole number of seconds" -- "$shmstat" check -t soon "$seg" --gauge cli_temperature -w 1
# usage errors: the usage follows on stderr
plugin 3 "^SHMSTAT UNKNOWN - unknown option '--bogus'$" "^usage: shmstat check " -- "$shmstat" check --bogus "$seg"
plugin 3 "^SHMSTAT UNKNOWN - option '--quantile' needs two values: Q METRIC$" "^shmstat: option '--quantile' needs two values" -- \
	"$shmstat" check "$seg" --quantile 0.95
# the second value is not the option after it (--ratio took -w for DEN,
# then said "expected one segment NAME, not also 'SEG'")
plugin 3 "^SHMSTAT UNKNOWN - option '--ratio' needs two values: NUM DEN$" "^shmstat: option '--ratio' needs two values" -- \
	"$shmstat" check --ratio cli_errors_total -w 5% "$seg"
plugin 3 "^SHMSTAT UNKNOWN - option '--sig' needs two values: FIGURE METRIC$" "^shmstat: option '--sig' needs two values" -- \
	"$shmstat" check --sig hit_ratio --window 5m -w 90% "$seg"
plugin 3 "^SHMSTAT UNKNOWN - -w, -c, --window, --below and --min-samples go with a figure, not with --rules$" "^usage: " -- \
	"$shmstat" check -r "$r" -w 1 "$seg"
plugin 3 "^SHMSTAT UNKNOWN - one figure at a time: 'rate' and 'gauge'$" "^usage: " -- \
	"$shmstat" check "$seg" --rate a --gauge b -w 1
plugin 3 "^SHMSTAT UNKNOWN - --gauge needs -w, -c or both \(the thresholds\)$" "^shmstat: --gauge needs -w, -c or both" -- "$shmstat" check "$seg" --gauge cli_temperature
plugin 3 "^SHMSTAT UNKNOWN - expected one segment NAME$" "^shmstat: expected one segment NAME$" -- "$shmstat" check --gauge cli_temperature -w 1
# --json: the error as JSON
"$shmstat" check --json -r "$tmp/none.yaml" "$seg" > "$tmp/json" 2>/dev/null; rc=$?
[ "$rc" = 3 ] && "$json_flat" < "$tmp/json" > "$tmp/flat" && grep -qx "health=UNKNOWN" "$tmp/flat" &&
	grep -qx "error=$tmp/none.yaml: cannot open: No such file or directory" "$tmp/flat" && ok ||
	bad "check --json of a missing rules file: exit $rc, $(cat "$tmp/json")"

# ---------------------------------------------------- version, timeout
out=$("$shmstat" check -V); rc=$?
[ "$rc" = 0 ] && grep -Eq '^shmstat check [0-9]+\.[0-9]+\.[0-9]+$' <<<"$out" && ok || bad "check -V: exit $rc: $out"
[ "$("$shmstat" check --version)" = "$out" ] && ok || bad "check --version differs from -V"
# a rules file whose open never returns (cli_stall): UNKNOWN after -t 1
if [ "$build_kind" = cross ]; then
	echo "SKIP: the timeout case preloads a native library (cross build)"
else
	: > "$tmp/rules.stall"
	# LD_PRELOAD splits at spaces: the library by its name, from its
	# directory (a build tree under "/tmp/my clone" preloaded /tmp/my)
	export LD_LIBRARY_PATH="${stall%/*}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
	stall=${stall##*/}
	plugin 3 "^SHMSTAT UNKNOWN - timed out after 1 s$" "^shmstat: timed out after 1 s$" -- \
		env LD_PRELOAD="$stall" timeout 60 "$shmstat" check -t 1 -r "$tmp/rules.stall" "$seg"
	plugin 3 "^SHMSTAT UNKNOWN - timed out after 1 s$" "^shmstat: timed out after 1 s$" -- \
		env LD_PRELOAD="$stall" timeout 60 "$shmstat" check --timeout=1 -r "$tmp/rules.stall" "$seg"
	# the library stalls that file only: the same check otherwise answers
	plugin 0 "^SHMSTAT OK - " "" -- env LD_PRELOAD="$stall" "$shmstat" check -t 1 "$seg" --gauge cli_temperature -w 50
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
