#!/usr/bin/env bash
# The memory of window answers: trend, check with a baseline, show
# --window and top --history over a history whose frames, decoded whole,
# take about 250 MiB, run with their address space limited to 176 MiB
# (ulimit -v): each decodes only the series it answers about, so each
# answers, and exactly. Two histograms of 2,345 buckets in use take 220
# MiB each over the records: show --window, trend and check read the
# records one at a time (shmstat_history_windows()), keeping what a
# series takes in one record, not in every record of the window.
# show --history at an instant long after the last record reads that
# record alone, and --range prints the records as it reads them. top --history over a table of 4,096 owners reads its records one at a
# time too: 600 records of it take about 110 MiB decoded whole, and top
# answers within 64 MiB.
# Usage: window_mem.sh SHMSTAT HIST_BIG HIST_OWNERS
set -u
shmstat=$1
big=$2
owners=$3
tag="cliwm-$$"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/shmstat-wmem-$$.XXXXXX") || exit 1
trap '"$shmstat" rm "$tag" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM PIPE      # the EXIT trap cleans up then too
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

# 99 names x 20 series + a gauge and a histogram, 8,000 records 1 s
# apart ending now (check has no clock of its own): 8,000 x 1,982 values
# of 16 bytes decoded whole; and 2 histograms big_wide_ns of 2,000
# buckets in use: 8,000 x 2,000 x 12 bytes each
groups=99
records=8000
wide=2
end=$(date +%s)
h=$tmp/big.hist
"$big" "$tag" "$h" $groups $records "$end" $wide && ok || bad "cli_hist_big failed"
limit=$((176 * 1024))          # KiB
w=$((records - 1))s            # from the first record to the last
lim() { (ulimit -v $limit && exec "$@"); }

# trend: big_07_total{k=KK} gains 1 + KK a record: 210 x 7,999
lim "$shmstat" trend "$h" big_07_total -f increase -w $w --at "@$end" --json \
	>"$tmp/t7" 2>"$tmp/err"; rc=$?
[ $rc -eq 0 ] && ok || bad "trend under ulimit -v $limit: exit $rc: $(cat "$tmp/err")"
grep -q '"value":1679790,' "$tmp/t7" && grep -q '"records":8000,' "$tmp/t7" && ok ||
	bad "trend big_07_total: $(cat "$tmp/t7")"
# big_00_total{k="00"} restarts: 3,999 before, 1 whole, 3,998 after
lim "$shmstat" trend "$h" big_00_total -f increase -w $w --at "@$end" --json \
	>"$tmp/t0" 2>"$tmp/err"
grep -q '"value":1679789,' "$tmp/t0" && grep -q '"resets":1,' "$tmp/t0" && ok ||
	bad "trend big_00_total: $(cat "$tmp/t0") $(cat "$tmp/err")"

# the histograms: 25 values a record, 7,999 records after the first
lim "$shmstat" trend "$h" big_wide_ns -f mean -w $w --at "@$end" --json \
	>"$tmp/tw" 2>"$tmp/err"; rc=$?
[ $rc -eq 0 ] && grep -q '"samples":399950,' "$tmp/tw" && grep -q '"records":8000,' "$tmp/tw" &&
	ok || bad "trend big_wide_ns under ulimit -v $limit: exit $rc: $(cat "$tmp/tw" "$tmp/err")"
lim "$shmstat" trend "$h" big_wide_ns -l 'h="1"' -w $w --step 1s --at "@$end" --json \
	>"$tmp/tw" 2>"$tmp/err"; rc=$?
[ $rc -eq 0 ] && grep -q '"samples":199975,' "$tmp/tw" && grep -q '"points":7999,' "$tmp/tw" &&
	ok || bad "trend big_wide_ns --step 1s: exit $rc: $(cat "$tmp/tw" "$tmp/err")"

# show --window: every series, in one pass
lim "$shmstat" show --history "$h" --window $w --at "@$end" --json >"$tmp/show" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] && ok || bad "show --window under ulimit -v $limit: exit $rc: $(cat "$tmp/err")"
n=$(grep -o '"name":' "$tmp/show" | wc -l)
[ "$n" -eq $((groups * 20 + 2 + wide)) ] && ok ||
	bad "show --window: $n series, not $((groups * 20 + 2 + wide))"
grep -q '"records":8000,' "$tmp/show" && ok || bad "show --window: records"
grep -q '{"name":"big_98_total","labels":"k=\\"19\\"","type":"counter","samples":159980,"resets":0,"increase":159980,' \
	"$tmp/show" && ok || bad "show --window: big_98_total{k=\"19\"}: $(grep -o '{"name":"big_98_total","labels":"k=\\"19\\""[^}]*' "$tmp/show")"
grep -q '{"name":"big_00_total","labels":"k=\\"00\\"","type":"counter","samples":7998,"resets":1,"increase":7998,' \
	"$tmp/show" && ok || bad "show --window: big_00_total{k=\"00\"}"
grep -q '{"name":"big_depth","labels":"","type":"gauge","samples":1,"resets":0,"value":7999}' \
	"$tmp/show" && ok || bad "show --window: big_depth"
grep -q '{"name":"big_wide_ns","labels":"h=\\"1\\"","type":"histogram","samples":199975,"resets":0,' \
	"$tmp/show" && ok || bad "show --window: big_wide_ns{h=\"1\"}: $(grep -o '{"name":"big_wide_ns","labels":"h=\\"1\\""[^}]*' "$tmp/show")"

# check: a 10m increase against its baseline over 2h of 10m stretches,
# each 600 records of 210
cat >"$tmp/rules.yaml" <<'RULES'
rules:
  - name: big-07
    increase: big_07_total
    window: 10m
    baseline:
      window: 2h
      stat: median
      min_history: 10m
    above: {warning: 50%, critical: 100%}
RULES
lim "$shmstat" check -r "$tmp/rules.yaml" -H "$h" --no-state --json "$tag" >"$tmp/check" \
	2>"$tmp/err"; rc=$?
[ $rc -eq 0 ] && ok || bad "check under ulimit -v $limit: exit $rc: $(cat "$tmp/check" "$tmp/err")"
grep -q '"baseline":126000,' "$tmp/check" && grep -q '"baseline_values":12,' "$tmp/check" && ok ||
	bad "check: $(cat "$tmp/check")"

# check: a histogram's quantile over a window longer than the history
# (all 7,999 records after the first), 2 x 25 values a record
cat >"$tmp/rules-wide.yaml" <<'RULES'
rules:
  - name: wide-p95
    quantile: {metric: big_wide_ns, q: 0.95}
    window: 3h
    above: {warning: 1e15, critical: 2e15}
RULES
lim "$shmstat" check -r "$tmp/rules-wide.yaml" -H "$h" --no-state --json "$tag" >"$tmp/check" \
	2>"$tmp/err"; rc=$?
[ $rc -eq 0 ] && grep -q '"samples":399950' "$tmp/check" && ok ||
	bad "check big_wide_ns under ulimit -v $limit: exit $rc: $(cat "$tmp/check" "$tmp/err")"

# top --history: no table in the history (the frames kept hold nothing)
lim "$shmstat" top --history "$h" --window $w --at "@$end" >"$tmp/top" 2>"$tmp/err"; rc=$?
[ $rc -ne 0 ] && grep -q "no signature table" "$tmp/err" && ok ||
	bad "top --history: exit $rc: $(cat "$tmp/top" "$tmp/err")"
# show --history without a window, 2 h after the last record: that record
# alone, not every record of the hour before the instant and then of the
# whole file (8,000 decoded whole, more than the address space)
lim "$shmstat" show --history "$h" --at "@$((end + 7200))" --json >"$tmp/last" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] && ok || bad "show --history 2h after the last record under ulimit -v $limit: exit $rc: $(cat "$tmp/err")"
grep -q "^{\"schema\":\"shmstat.history/1\",\"frames\":\[{\"time_ns\":${end}000000000," "$tmp/last" &&
	grep -q '{"name":"big_depth","labels":"","type":"gauge","value":7999}' "$tmp/last" &&
	[ "$(grep -o '"time_ns":' "$tmp/last" | wc -l)" -eq 1 ] && ok ||
	bad "show --history 2h after the last record: $(head -c 300 "$tmp/last")"

# top --history over a table of 4,096 owners, 600 records 1 s apart
# (about 190 KiB a record decoded: 110 MiB whole), under 64 MiB: the
# records read one at a time; owner k gains 1 + k % 7 hits of weight 2 a
# record, a miss when k % 5 is 0
oh=$tmp/owners.hist
orecords=600
"$owners" "$tag-o" "$oh" 4096 $orecords "$end" && ok || bad "cli_hist_owners failed"
olim() { (ulimit -v $((64 * 1024)) && exec "$@"); }
olim "$shmstat" top --history "$oh" --window $((orecords - 1))s --at "@$end" --raw -n 3 \
	>"$tmp/otop" 2>"$tmp/err"; rc=$?
[ $rc -eq 0 ] && ok || bad "top --history of 4096 owners under ulimit -v 64 MiB: exit $rc: $(cat "$tmp/err")"
grep -q "^over 599s ending .* (600 records)$" "$tmp/otop" && ok ||
	bad "top --history of 4096 owners: $(head -3 "$tmp/otop")"
# acct-4095: 1 hit and a miss a record over 599 records; acct-4090: 3
# hits and a miss
grep -Eq "^   acct-4095 +599 +599 +0\.5 +1198$" "$tmp/otop" &&
	grep -Eq "^   acct-4090 +1797 +599 +0\.75 +3594$" "$tmp/otop" && ok ||
	bad "top --history owners: $(grep -E 'acct-409[05]' "$tmp/otop")"
[ "$(grep -c '^   acct-' "$tmp/otop")" -eq 4096 ] && ok ||
	bad "top --history: $(grep -c '^   acct-' "$tmp/otop") owners, not 4096"
olim "$shmstat" top --history "$oh" --window 1h --at "@$end" --owner acct-0006 --raw own_sigs \
	>"$tmp/otop" 2>"$tmp/err"; rc=$?
[ $rc -eq 0 ] && grep -Eq "^   acct-0006 +4193 +0 +1 +8386$" "$tmp/otop" && ok ||
	bad "top --history --owner acct-0006: exit $rc: $(cat "$tmp/otop" "$tmp/err")"
# every record of the range (8,000, more than the address space decoded
# whole), read and printed one at a time (shmstat_history_each())
lim "$shmstat" show --history "$h" --range "@$((end - records + 1))" "@$end" --json -I big_depth \
	>"$tmp/range" 2>"$tmp/err"; rc=$?
[ $rc -eq 0 ] && [ "$(grep -o '"time_ns":' "$tmp/range" | wc -l)" -eq $records ] &&
	grep -q '"series":\[{"name":"big_depth","labels":"","type":"gauge","value":7999}\]}\]}$' "$tmp/range" &&
	ok || bad "show --range under ulimit -v $limit: exit $rc: $(cat "$tmp/err"; tail -c 300 "$tmp/range")"
finish
