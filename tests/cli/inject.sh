#!/usr/bin/env bash
# Issue 17 items 3 and 8: a writer (cli_hostile) puts an injection
# ("\n# EOF\ninjected_total{segment="victim"} 1"), bytes that are not
# UTF-8, ESC[2J and BEL into its names, labels, help, signature-table
# owners and keys, through the API and by rewriting descriptors in the
# file. Next to it, a victim segment (cli_fill). Then:
#   - serve's exposition (both segments), show --prom and --openmetrics
#     parse: promtool check metrics, and a strict line grammar; no
#     injected_total series; the victim's series are all there;
#   - show --json and show --history --window --json are valid UTF-8
#     JSON;
#   - show (text, --per-process, --csv), list, top, hist, show --history
#     print no byte below 0x20 but newline and tab, and no byte that is
#     not UTF-8; error messages neither; top (and top --history) print
#     the owners twin-<0xff> and twin-\xff (the text) as two lines;
#   - the forged descriptors are counted as bad and left out;
#   - -I and -X match a name{labels} whole however long it prints
#     escaped (cli_hostile NAME long: 812 bytes).
# And a writer of names that clash once exported (cli_hostile NAME clash):
# every exposition has each family, sample name and series once (the first
# metric in the exposition's order kept), the others counted in
# shmstat_scrape_dropped_metrics and named in show's warnings; and no
# label twice in a sample (a signature table whose own labels are those
# its samples add, cut included, gets them renamed exported_LABEL).
#
# Usage: inject.sh SHMSTAT CLI_HOSTILE CLI_FILL
set -u
shmstat=$1
hostile=$2
fill=$3
pass=0
fail=0
evil="inj-evil-$$"
victim="inj-victim-$$"
clash="inj-clash-$$"
dir=$(mktemp -d) || exit 1

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

cleanup() {
	[ -n "${serve_pid:-}" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
	"$shmstat" rm "$evil" >/dev/null 2>&1
	"$shmstat" rm "$victim" >/dev/null 2>&1
	"$shmstat" rm "$clash" >/dev/null 2>&1
	rm -f "/dev/shm/shmstat.inj-$$-"*
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM PIPE      # the EXIT trap cleans up then too

for p in promtool curl python3; do
	command -v "$p" >/dev/null || { echo "FAIL: $p is not installed (./dev installs it)"; exit 1; }
done

"$fill" "$victim" >/dev/null || { echo "FAIL: victim writer"; exit 1; }
forged=$("$hostile" "$evil") || { echo "FAIL: hostile writer"; exit 1; }
"$hostile" "$clash" clash || { echo "FAIL: clashing writer"; exit 1; }

# terminal-safe: no byte < 0x20 but \n and \t, no DEL, valid UTF-8 without
# C1 controls
cat >"$dir/clean.py" <<'PY'
import sys
b = open(sys.argv[1], 'rb').read()
bad = [c for c in b if (c < 0x20 and c not in (9, 10)) or c == 0x7f]
if bad:
    sys.exit('control bytes %r' % sorted(set(bad)))
try:
    t = b.decode('utf-8')
except UnicodeDecodeError as e:
    sys.exit('not UTF-8: %s' % e)
if any(0x80 <= ord(ch) <= 0x9f for ch in t):
    sys.exit('C1 control characters')
PY
# valid UTF-8 JSON, read strictly
cat >"$dir/isjson.py" <<'PY'
import json, sys
json.loads(open(sys.argv[1], 'rb').read().decode('utf-8', errors='strict'))
PY
# the exposition line grammar (text 0.0.4 / OpenMetrics 1.0): comments,
# samples whose label values escape \ " and newline only; # EOF only last
cat >"$dir/expo.py" <<'PY'
import re, sys
om = sys.argv[2] == 'om'
text = open(sys.argv[1], 'rb').read().decode('utf-8', errors='strict')
name = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
value = r'"(?:[^"\\\n]|\\[\\"n])*"'
pair = r'[a-zA-Z_][a-zA-Z0-9_]*=' + value
sample = re.compile(r'^' + name + r'(\{' + pair + r'(,' + pair + r')*\})? -?[0-9.e+Inf]+$')
helpesc = r'(?:[^"\\\n]|\\[\\"n])*' if om else r'(?:[^\\\n]|\\[\\n])*'
comment = re.compile(r'^# (HELP ' + name + ' ' + helpesc + '|TYPE ' + name + r' \w+|UNIT ' + name + r' \w*)$')
lines = text.split('\n')
if lines[-1] != '':
    sys.exit('no final newline')
lines = lines[:-1]
if om:
    if lines[-1] != '# EOF':
        sys.exit('OpenMetrics without # EOF last')
    lines = lines[:-1]
for n, l in enumerate(lines, 1):
    if l == '# EOF':
        sys.exit('line %d: # EOF before the end' % n)
    if not (sample.match(l) or comment.match(l)):
        sys.exit('line %d does not parse: %r' % (n, l))
    labels = re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)=' + value, l.split('}')[0]) if '{' in l else []
    if len(labels) != len(set(labels)):
        sys.exit('line %d repeats a label: %r' % (n, l))
PY
# each family, sample name and series once; a sample name of its family's
# type (OpenMetrics: no family or sample named like one that another
# family's type keeps, as req_created for counter req)
cat >"$dir/unique.py" <<'PY'
import re, sys
om = sys.argv[2] == 'om'
suf = {'counter': ['_total', '_created'] if om else [''], 'gauge': [''], 'info': ['_info'],
       'histogram': ['_bucket', '_sum', '_count'] + (['_created'] if om else [])}
fams, owner, series, cur = {}, {}, set(), None
for n, l in enumerate(open(sys.argv[1], encoding='utf-8', newline='').read().split('\n'), 1):
    m = re.match(r'^# TYPE (\S+) (\S+)$', l)
    if m:
        cur = m.group(1)
        if cur in fams:
            sys.exit('line %d: family %s again' % (n, cur))
        fams[cur] = m.group(2)
        continue
    if l == '' or l.startswith('#'):
        continue
    name, labels = re.match(r'^([^{ ]+)(\{.*\})? ', l).groups()
    if cur is None or not any(name == cur + x for x in suf[fams[cur]]):
        sys.exit('line %d: %s is not a sample of family %s (%s)' % (n, name, cur, fams.get(cur)))
    if owner.setdefault(name, cur) != cur or (name, labels) in series:
        sys.exit('line %d: %s again' % (n, l))
    series.add((name, labels))
taken = {}
for f, t in fams.items():
    for x in suf[t] + ([''] if om else []):
        if taken.setdefault(f + x, f) != f:
            sys.exit('family %s takes %s, a name of %s' % (f, f + x, taken[f + x]))
PY
unique() { python3 "$dir/unique.py" "$1" "$2" >"$dir/why" 2>&1 && ok || bad "$3: $(cat "$dir/why")"; }
clean() { python3 "$dir/clean.py" "$1" >"$dir/why" 2>&1 && ok || bad "$2: $(cat "$dir/why")"; }
isjson() { python3 "$dir/isjson.py" "$1" >"$dir/why" 2>&1 && ok || bad "$2: $(tail -1 "$dir/why")"; }
expo() { python3 "$dir/expo.py" "$1" "$2" >"$dir/why" 2>&1 && ok || bad "$3: $(cat "$dir/why")"; }
noinject() {
	if grep -a -q '^injected_total' "$1" || grep -a -q '^# EOF' <(head -n -1 "$1"); then
		bad "$2: injected series: $(grep -a -n 'injected' "$1" | head -3)"
	else
		ok
	fi
}

# --- the reader: forged descriptors are bad, left out
"$shmstat" show --json "$evil" >"$dir/show.json" 2>"$dir/show.err" && ok || bad "show --json failed"
isjson "$dir/show.json" "show --json"
python3 - "$dir/show.json" "$forged" >"$dir/why" 2>&1 <<'PY' && ok || bad "$(cat "$dir/why")"
import json, sys
d = json.load(open(sys.argv[1], 'rb'))
names = sorted(m['name'] for m in d['metrics'])
want = ['hx_api_total', 'hx_ctl_total', 'hx_dup_total', 'hx_dup_total', 'hx_ok_total',
        'hx_seg_total', 'hx_sigs']
if names != want:
    sys.exit('metrics %r, want %r (the forged ones left out)' % (names, want))
api = [m for m in d['metrics'] if m['name'] == 'hx_api_total'][0]
if api['labels'] != {'v': '"\n# EOF\ninjected_total{segment="victim"} 1\n'}:
    sys.exit('label value through the API not kept: %r' % api['labels'])
PY
"$shmstat" show "$evil" >"$dir/show.txt" 2>&1 && ok || bad "show failed"
grep -q "warning: $forged metric descriptors failed validation" "$dir/show.txt" && ok ||
	bad "show does not count $forged bad descriptors: $(head -3 "$dir/show.txt")"

# --- expositions
"$shmstat" serve --listen 127.0.0.1:0 -s "$victim" -s "$evil" -s "$clash" 2>"$dir/serve.err" &
serve_pid=$!
port=
for _ in $(seq 100); do
	port=$(grep -o '127.0.0.1:[0-9]*/metrics' "$dir/serve.err" | sed 's/.*:\([0-9]*\)\/.*/\1/')
	[ -n "$port" ] && break
	kill -0 "$serve_pid" 2>/dev/null || break
	sleep 0.05
done
[ -n "$port" ] || { echo "FAIL: serve did not start: $(cat "$dir/serve.err")"; exit 1; }
curl -sf "http://127.0.0.1:$port/metrics" >"$dir/serve.txt" && ok || bad "GET /metrics"
curl -sf -H 'Accept: application/openmetrics-text; version=1.0.0' \
	"http://127.0.0.1:$port/metrics" >"$dir/serve.om" && ok || bad "GET /metrics (OpenMetrics)"
"$shmstat" show --prom "$evil" >"$dir/show.prom" 2>"$dir/show.prom.err" && ok || bad "show --prom"
"$shmstat" show --openmetrics "$evil" >"$dir/show.om" && ok || bad "show --openmetrics"
for f in serve.txt show.prom; do
	promtool check metrics <"$dir/$f" >"$dir/promtool.out" 2>&1
	grep -q 'error while linting' "$dir/promtool.out" && bad "promtool: $f: $(cat "$dir/promtool.out")" || ok
	expo "$dir/$f" text "$f"
	noinject "$dir/$f" "$f"
done
for f in serve.om show.om; do
	expo "$dir/$f" om "$f"
	noinject "$dir/$f" "$f"
done
unique "$dir/serve.txt" text "serve's exposition"
unique "$dir/serve.om" om "serve's OpenMetrics"
grep -q "^cli_requests_total{path=\"/a\",segment=\"$victim\"} " "$dir/serve.txt" && ok ||
	bad "the victim's series are missing from the scrape"
grep -q "^hx_seg_total{exported_segment=\"victim\",segment=\"$evil\"} 8$" "$dir/serve.txt" && ok ||
	bad "the writer's own segment label is not renamed: $(grep -a '^hx_seg' "$dir/serve.txt")"
grep -q '^hx_seg_total{segment="victim"} 8$' "$dir/show.prom" && ok ||
	bad "show --prom (no segment label of its own) renamed the writer's label"
# a key's bytes after a NUL are the key's too
for k in a b; do
	grep -q "^hx_sigs_top_hits{key=\"nul\\\\\\\\x00$k\",owner=" "$dir/show.prom" && ok ||
		bad "the key nul\\0$k is not whole in show --prom: $(grep -a '^hx_sigs_top_hits{key="nul' "$dir/show.prom")"
done
# owners "twin-<0xff>" and "twin-\\xff" (the text): a series each
unique "$dir/show.prom" text "show --prom"
[ "$(grep -a -c '^hx_sigs_owner_hits_total{owner="twin-' "$dir/show.prom")" = 2 ] && ok ||
	bad "the owners twin-<0xff> and twin-\\xff: $(grep -a '^hx_sigs_owner_hits_total{owner="twin-' "$dir/show.prom")"
# two descriptors of one counter and labels (forged): its series once,
# the second descriptor counted and named
for f in serve.txt serve.om; do
	[ "$(grep -c '^hx_dup_total{' "$dir/$f")" = 1 ] && ok || bad "$f: $(grep -a '^hx_dup' "$dir/$f")"
done
grep -qx "shmstat_scrape_dropped_metrics{segment=\"$evil\",reason=\"duplicate_series\"} 1" \
	"$dir/serve.txt" && ok || bad "duplicate series: $(grep -a "dropped_metrics.*$evil" "$dir/serve.txt")"
grep -qx "shmstat: warning: counter hx_dup_total{v=\"x\"} left out of the exposition: a metric of the same name and labels comes before it" \
	"$dir/show.prom.err" && ok || bad "show --prom's warning of the duplicate: $(cat "$dir/show.prom.err")"
# watch keeps the two apart: each its value and, the second refresh, its
# rate (sharing one series, each reset the other: "-" every refresh)
"$shmstat" watch -i 10ms -n 2 "$evil" >"$dir/watch.txt" 2>&1 || bad "watch: $(cat "$dir/watch.txt")"
[ "$(grep -Ec '^  hx_dup_total\{v="x"\} +1[12] +0/s ' "$dir/watch.txt")" = 2 ] && ok ||
	bad "watch, the duplicates: $(grep -a 'hx_dup' "$dir/watch.txt")"
grep -q "^shmstat_segment_up{segment=\"$evil\"} 1" "$dir/serve.txt" && ok ||
	bad "the hostile segment is not up"
# the clashing writer's: each of 5 pairs' second metric, and its gauge
# named like the exporter's own, left out and counted
for r in name_clash:5 reserved_name:1; do
	grep -qx "shmstat_scrape_dropped_metrics{segment=\"$clash\",reason=\"${r%:*}\"} ${r#*:}" \
		"$dir/serve.txt" && ok || bad "dropped ${r%:*}: $(grep -a "dropped_metrics.*$clash" "$dir/serve.txt")"
done
grep -qx "shmstat_scrape_dropped_metrics{segment=\"$victim\",reason=\"name_clash\"} 0" "$dir/serve.txt" &&
	ok || bad "the victim's metrics dropped: $(grep -a "dropped_metrics.*$victim" "$dir/serve.txt")"
grep -qx "shmstat_segment_up{segment=\"$clash\"} 1" "$dir/serve.txt" && ok ||
	bad "the exporter's shmstat_segment_up: $(grep -a '^shmstat_segment_up' "$dir/serve.txt")"
kill "$serve_pid"; wait "$serve_pid" 2>/dev/null; serve_pid=

# --- names that clash, in show's expositions: the families kept, exactly
# (the first of each pair in the exposition's order; a counter named
# _total keeps its name as family; a counter's samples end in _total in
# both formats); a warning for each metric left out
types() { sed -n 's/^# TYPE //p' "$1" | tr '\n' ' '; }
sig="t_hits_total counter t_misses_total counter t_weight_total counter t_evictions_total counter \
t_owner_hits_total counter t_owner_misses_total counter t_owner_weight_total counter t_max_error gauge \
t_top_hits gauge t_top_hits_error gauge t_top_high_value gauge"
"$shmstat" show --prom "$clash" >"$dir/clash.prom" 2>"$dir/clash.err" && ok || bad "show --prom (clash)"
[ "$(types "$dir/clash.prom")" = "_total counter c_total counter g_seconds gauge h histogram req_total counter \
$sig shmstat_build_info gauge " ] && ok || bad "show --prom's families: $(types "$dir/clash.prom")"
"$shmstat" show --openmetrics "$clash" >"$dir/clash.om" 2>/dev/null && ok || bad "show --openmetrics (clash)"
[ "$(types "$dir/clash.om")" = "_total counter c counter g_seconds gauge h histogram req counter \
${sig//_total counter/ counter} shmstat_build info " ] && ok ||
	bad "show --openmetrics' families: $(types "$dir/clash.om")"
grep -qx '_total_total 1' "$dir/clash.om" && ok || bad "counter _total: $(grep -a '^_total' "$dir/clash.om")"
# a counter registered without _total has one sample name in both formats,
# the one Prometheus stores (it prefers OpenMetrics, which adds _total):
# 'req 1' in the text format made a series that changed its name with the
# format negotiated, promtool's lint refuse the file, and a rule that
# --emit translated never match what Prometheus had
for f in clash.prom clash.om; do
	grep -qx 'req_total 1' "$dir/$f" && ok || bad "$f: counter req: $(grep -a '^req' "$dir/$f")"
done
printf 'rules:\n  - name: r\n    increase: req\n    window: 5m\n    above: {critical: 1}\n' >"$dir/req.yaml"
"$shmstat" check -r "$dir/req.yaml" --emit prometheus-rules "$clash" 2>/dev/null |
	grep -qF "expr: 'sum(increase(req_total[5m]))'" && ok ||
	bad "--emit of counter req: $("$shmstat" check -r "$dir/req.yaml" --emit prometheus-rules "$clash" 2>&1 | grep expr)"
# OpenMetrics: metadata as TYPE, UNIT, HELP; le values canonical numbers
# (Go's %g with ".0" when bare: 1.0, 7.0, 2.097151e+06); the text format
# keeps HELP, TYPE and exact integers
for want in '# TYPE h histogram|# HELP h clash|h_bucket{le="1.0"} 0|h_bucket{le="3.0"} 0|h_bucket{le="7.0"} 1' \
	'h_bucket{le="2.097151e+06"} 1|h_bucket{le="4.194303e+06"} 2' \
	'# TYPE g_seconds gauge|# UNIT g_seconds seconds|# HELP g_seconds clash|g_seconds 4'; do
	tr '\n' '|' <"$dir/clash.om" | grep -qF "|$want|" && ok || bad "show --openmetrics lacks the lines $want"
done
tr '\n' '|' <"$dir/clash.prom" | grep -qF '|# HELP h clash|# TYPE h histogram|h_bucket{le="1"} 0|' && ok ||
	bad "show --prom's histogram h: $(grep -a -m4 '^# .* h \|^h_' "$dir/clash.prom")"
expo "$dir/clash.om" om "show --openmetrics (clash)"
expo "$dir/clash.prom" text "show --prom (clash)"
# table t's own labels cut, hash, key, owner are its samples' too: renamed
grep -q '^t_top_hits{exported_cut="c",exported_hash="h",exported_key="k",exported_owner="o",key="k",owner="",hash="[0-9a-f]\{16\}",cut="false"} 1$' \
	"$dir/clash.prom" && ok || bad "table t's labels not renamed: $(grep -a '^t_top_hits{' "$dir/clash.prom")"
unique "$dir/clash.om" om "show --openmetrics (clash)"
unique "$dir/clash.prom" text "show --prom (clash)"
cat >"$dir/clash.want" <<'EOF'
shmstat: warning: counter c_total left out of the exposition: the name c is another metric's
shmstat: warning: gauge g_seconds left out of the exposition: the name g_seconds is another metric's
shmstat: warning: gauge h_count left out of the exposition: the name h_count is another metric's
shmstat: warning: gauge req_created left out of the exposition: the name req_created is another metric's
shmstat: warning: gauge shmstat_segment_up left out of the exposition: the name shmstat_segment_up is reserved for shmstat's own metrics
shmstat: warning: counter t_hits_total left out of the exposition: the name t_hits is another metric's
EOF
cmp -s "$dir/clash.err" "$dir/clash.want" && ok || bad "show --prom's warnings: $(cat "$dir/clash.err")"
# --out, read by node_exporter's textfile collector: promtool takes it
"$shmstat" show --prom --out "$dir/clash.tf.prom" "$clash" 2>/dev/null && ok || bad "show --prom --out (clash)"
promtool check metrics <"$dir/clash.tf.prom" >"$dir/promtool.out" 2>&1
grep -q 'error while linting' "$dir/promtool.out" && bad "promtool: clash.tf.prom: $(cat "$dir/promtool.out")" || ok
unique "$dir/clash.tf.prom" text "show --prom --out (clash)"
grep -qx "shmstat_scrape_dropped_metrics{segment=\"$clash\",reason=\"name_clash\"} 5" "$dir/clash.tf.prom" &&
	ok || bad "--out's dropped metrics: $(grep -a dropped_metrics "$dir/clash.tf.prom")"

# --- JSON of a history window: owners and keys that are not UTF-8
"$shmstat" record --count 1 --interval 100ms --tiers 100ms:10m --size 256K \
	-o "$dir/h.shh" "$evil" 2>"$dir/rec.err" && ok || bad "record: $(cat "$dir/rec.err")"
"$shmstat" show --history "$dir/h.shh" --window 10m --json >"$dir/win.json" 2>&1 && ok ||
	bad "show --history --window --json: $(head -3 "$dir/win.json")"
isjson "$dir/win.json" "show --history --window --json"
"$shmstat" show --history "$dir/h.shh" --json >"$dir/range.json" 2>&1 && ok || bad "show --history --json"
isjson "$dir/range.json" "show --history --json"

# --- human-readable output
"$shmstat" show --per-process "$evil" >"$dir/showp.txt" 2>&1 && ok || bad "show --per-process"
"$shmstat" show --csv "$evil" >"$dir/show.csv" 2>&1 && ok || bad "show --csv"
"$shmstat" list >"$dir/list.txt" 2>&1       # other segments may fail: output only
"$shmstat" top "$evil" >"$dir/top.txt" 2>&1 && ok || bad "top"
# the owners twin-<0xff> and twin-\\xff (the text) are two lines in top too
# (a backslash of an owner is \x5c, as in keys), not twice "twin-\xff"
"$shmstat" top --history "$dir/h.shh" --window 10m >"$dir/toph.txt" 2>&1 && ok || bad "top --history"
for f in top.txt toph.txt; do
	for o in 'twin-\xff ' 'twin-\x5cxff '; do
		[ "$(grep -a -c -F "   $o" "$dir/$f")" = 1 ] && ok ||
			bad "$f: owner line '$o': $(grep -a -F '   twin-' "$dir/$f")"
	done
done
"$shmstat" show --history "$dir/h.shh" >"$dir/hist.txt" 2>&1 && ok || bad "show --history"
"$shmstat" show --history "$dir/h.shh" --window 10m >"$dir/win.txt" 2>&1 && ok ||
	bad "show --history --window"
for f in show.txt showp.txt show.csv list.txt top.txt toph.txt hist.txt win.txt; do
	clean "$dir/$f" "$f"
done
grep -q 'hx_ctl_total{v="\\x1b\[2J\\x07\\x0d"}' "$dir/show.txt" && ok ||
	bad "show does not escape the control characters: $(grep -a hx_ctl "$dir/show.txt")"
python3 - "$dir/show.csv" >"$dir/why" 2>&1 <<'PY' && ok || bad "CSV: $(cat "$dir/why")"
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline='', encoding='utf-8')))
if any(len(r) != len(rows[0]) for r in rows) or len(rows) != 8:
    sys.exit('rows %r' % rows)
PY

# --- error messages quoting what a writer chose: a segment name that
# list cannot open (made by another user, or not a segment)
bogus="/dev/shm/shmstat.inj-$$-$(printf 'a\033[2Jb\007')"
printf 'junk' >"$bogus"
"$shmstat" list >"$dir/list2.txt" 2>&1
clean "$dir/list2.txt" "list with a hostile file name"
"$shmstat" show "inj-$$-$(printf 'a\033[2Jb\007')" >"$dir/err.txt" 2>&1
clean "$dir/err.txt" "error message"

# --- -I and -X match the whole escaped name{labels}, however long: one
# of 812 bytes (200 ESC in a label, \x1b each) was matched cut at 511
# bytes, so '*}' left it out and '*\x1b"}' did not drop it
long="inj-$$-long"
"$hostile" "$long" long || bad "long writer"
long_kept() {
	"$shmstat" show --raw "$1" "$2" "$long" >"$dir/long.txt" 2>&1
	grep -q '^hx_long_total' "$dir/long.txt" && ok ||
		bad "show $1 '$2' left hx_long_total out: $(head -c 300 "$dir/long.txt")"
}
long_kept -I '*}'
long_kept -I 'hx_long_total{*\\x1b"}'
long_kept -X 'hx_short*'
"$shmstat" show --raw -X '*\\x1b"}' "$long" >"$dir/long.txt" 2>&1
grep -q '^hx_long_total' "$dir/long.txt" && bad "-X '*\\x1b\"}' kept hx_long_total" || ok
grep -q '^hx_short_total' "$dir/long.txt" && ok || bad "-X '*\\x1b\"}' dropped hx_short_total"
# and show, hist and top name such a metric whole (they cut it at 511
# bytes)
lname="{v=\"$(printf '\\x1b%.0s' $(seq 200))\"}"
"$shmstat" show "$long" >"$dir/long.txt" 2>&1
grep -qF "hx_long_total$lname  counter" "$dir/long.txt" && ok || bad "show cut the name: $(head -c 300 "$dir/long.txt")"
"$shmstat" hist "$long" hx_long_hist >"$dir/long.txt" 2>&1
grep -qF "hx_long_hist$lname" "$dir/long.txt" && ok || bad "hist cut the name: $(head -c 300 "$dir/long.txt")"
"$shmstat" top "$long" hx_long_sigs >"$dir/long.txt" 2>&1
grep -qF "hx_long_sigs$lname: 1 keys" "$dir/long.txt" && ok || bad "top cut the name: $(head -c 300 "$dir/long.txt")"
# top lists the tables by name, as show does (it listed them in the
# order of their directory slots: hx_long_sigs, then hx_b_sigs)
[ "$("$shmstat" top "$long" | grep -o '^hx_[a-z]*_sigs' | tr '\n' ' ')" = "hx_b_sigs hx_long_sigs " ] && ok ||
	bad "top's tables not by name: $("$shmstat" top "$long" | grep -o '^hx_[a-z]*_sigs' | tr '\n' ' ')"
[ "$("$shmstat" top --json "$long" | grep -o '"name":"hx_[a-z]*_sigs"' | tr '\n' ' ')" = '"name":"hx_b_sigs" "name":"hx_long_sigs" ' ] && ok ||
	bad "top --json's tables not by name: $("$shmstat" top --json "$long" | grep -o '"name":"hx_[a-z]*_sigs"')"

echo "inject: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
