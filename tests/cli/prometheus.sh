#!/usr/bin/env bash
# End-to-end: shmstat serve scraped by a real Prometheus server (Debian
# package prometheus) every second. Known values are written into a
# segment; Prometheus' HTTP API must return them exactly, and
# histogram_quantile() must land within the bucket error. Also: promtool
# checks the exposition, bad requests get 404/405/431 and the exporter
# keeps serving, a missing segment is shmstat_segment_up 0.
#
# Usage: prometheus.sh SHMSTAT HIST_FILL JSON_FLAT EXAMPLE_RULES
set -u
shmstat=$1
fill=$2
json_flat=$3
src_rules=$4
pass=0
fail=0
tag="e2e-prom-$$"
dir=$(mktemp -d) || exit 1

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

cleanup() {
	[ -n "${serve_pid:-}" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
	[ -n "${prom_pid:-}" ] && kill "$prom_pid" 2>/dev/null && wait "$prom_pid" 2>/dev/null
	[ -n "${rec_pid:-}" ] && kill "$rec_pid" 2>/dev/null && wait "$rec_pid" 2>/dev/null
	[ -n "${W_PID:-}" ] && kill -9 "$W_PID" 2>/dev/null
	"$shmstat" rm "$tag" "$tag-al" >/dev/null 2>&1
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM PIPE      # the EXIT trap cleans up then too

for p in prometheus promtool curl; do
	command -v "$p" >/dev/null || { echo "FAIL: $p is not installed (./dev installs it)"; exit 1; }
done

# --- known values: 1000 requests on /a, 7 on /b; a gauge of -3; latencies
# 90 x 1000 ns and 10 x 50000 ns
"$fill" "$tag" >/dev/null <<EOF || { echo "FAIL: writer"; exit 1; }
c a 1000
c b 7
g -3
h 1000 90
h 50000 10
s hit key-1 100
s hit key-1 100
s miss key-2
EOF

# a history of it, for the JSON API's range and window
"$shmstat" record --count 1 --interval 100ms --tiers 100ms:10m --size 256K -o "$dir/e2e.hist" "$tag" \
	2>/dev/null || { echo "FAIL: record"; exit 1; }

# --- one rules file for shmstat check and for Prometheus (issue 21): a
# writer that the test drives (a coprocess answering "ok" to each step),
# recorded every second for check, its rules translated for Prometheus
coproc W { exec "$fill" "$tag-al"; }
read -r line <&"${W[0]}"
[ "$line" = ready ] && ok || { echo "FAIL: alert writer did not start"; exit 1; }
step() { echo "$1" >&"${W[1]}"; read -r line <&"${W[0]}"; [ "$line" = ok ] || bad "step '$1': $line"; }
"$shmstat" record --interval 1s --tiers 1s:10m --size 256K -o "$dir/al.hist" "$tag-al" 2>/dev/null &
rec_pid=$!
cat >"$dir/rules.yaml" <<'EOF'
rules:
  - name: a-rate
    description: requests on /a faster than 10 a second
    rate: 'hf_requests_total{path="/a"}'
    window: 5s
    above: {warning: 5, critical: 10}
EOF
"$shmstat" check -r "$dir/rules.yaml" --emit prometheus-rules --out "$dir/prom-rules.yml" "$tag-al" \
	2>"$dir/emit.err" && ok || bad "--emit prometheus-rules: $(cat "$dir/emit.err")"
grep -qx "shmstat: 1 of 1 rules written as Prometheus rules" "$dir/emit.err" && ok || bad "emit: $(cat "$dir/emit.err")"
promtool check rules "$dir/prom-rules.yml" >"$dir/promtool-rules.out" 2>&1 && ok ||
	bad "promtool check rules: $(cat "$dir/promtool-rules.out")"
grep -qF "expr: 'sum(rate(hf_requests_total{path=\"/a\"}[5s]))'" "$dir/prom-rules.yml" && ok ||
	bad "the translated value: $(cat "$dir/prom-rules.yml")"
# the shipped example translates whole, and promtool takes it
"$shmstat" check -r "$src_rules" --emit prometheus-rules --out "$dir/example-rules.yml" 2>"$dir/emit2.err" &&
	promtool check rules "$dir/example-rules.yml" >"$dir/promtool-rules.out" 2>&1 && ok ||
	bad "the example rules: $(cat "$dir/emit2.err" "$dir/promtool-rules.out")"
nrules=$(grep -c '^  - name:' "$src_rules")
grep -q "$nrules of $nrules rules written" "$dir/emit2.err" && ok || bad "example rules ($nrules): $(cat "$dir/emit2.err")"
# thresholds of 16 digits judge a value at 10 (or 0.002 s) as check does:
# written with the digits they take (as %.15g, '>= 10' fired where check
# said OK), ns moved to seconds as decimals
cat >"$dir/edge.yaml" <<'EOF'
rules:
  - {name: gi, gauge: e_gi, at_or_above: {warning: 10.00000000000001}}
  - {name: gn, gauge: e_gns, at_or_above: {warning: 1999999.999999999ns}}
  - {name: gt, gauge: e_gi, below: {warning: 9.999999999999999}}
  - {name: gh, gauge: e_gns, above: {warning: 1.9999995ms}}
EOF
cat >"$dir/edge-test.yml" <<'EOF'
rule_files: [edge.yml]
evaluation_interval: 15s
tests:
  - interval: 15s
    input_series:
      - {series: 'e_gi{segment="s"}', values: '10x4'}
      - {series: 'e_gns_seconds{segment="s"}', values: '0.002x4'}
    alert_rule_test:
      - {eval_time: 30s, alertname: gi, exp_alerts: []}
      - {eval_time: 30s, alertname: gt, exp_alerts: []}
      - eval_time: 30s
        alertname: gn
        exp_alerts: [{exp_labels: {severity: warning, shmstat_rule: gn}, exp_annotations: {summary: gn, description: 'value 0.002'}}]
      - eval_time: 30s
        alertname: gh
        exp_alerts: [{exp_labels: {severity: warning, shmstat_rule: gh}, exp_annotations: {summary: gh, description: 'value 0.002'}}]
EOF
"$shmstat" check -r "$dir/edge.yaml" --emit prometheus-rules --out "$dir/edge.yml" 2>"$dir/emit3.err" &&
	(cd "$dir" && promtool test rules edge-test.yml) >"$dir/promtool-test.out" 2>&1 && ok ||
	bad "edge thresholds: $(cat "$dir/emit3.err" "$dir/edge.yml" "$dir/promtool-test.out")"
"$shmstat" check -r "$dir/rules.yaml" --emit nagios >/dev/null 2>"$dir/u.err"; [ $? = 3 ] &&
	grep -q "^shmstat: --emit takes prometheus-rules, not 'nagios'" "$dir/u.err" && ok || bad "--emit nagios: $(cat "$dir/u.err")"

# --- the exporter on a free port, 64 le bounds per power of two
"$shmstat" serve --listen 127.0.0.1:0 -s "$tag" -s "$tag-missing" -s "$tag-al" --le-per-octave 64 \
	--history "$dir/e2e.hist" 2>"$dir/serve.err" &
serve_pid=$!
port=
for _ in $(seq 100); do
	port=$(grep -o '127.0.0.1:[0-9]*/metrics' "$dir/serve.err" | sed 's/.*:\([0-9]*\)\/.*/\1/')
	[ -n "$port" ] && break
	kill -0 "$serve_pid" 2>/dev/null || break
	sleep 0.05
done
[ -n "$port" ] || { echo "FAIL: serve did not start: $(cat "$dir/serve.err")"; exit 1; }
url="http://127.0.0.1:$port"

# --- the exposition itself
curl -sf "$url/metrics" >"$dir/m.txt" && ok || bad "GET /metrics failed"
promtool check metrics <"$dir/m.txt" >"$dir/promtool.out" 2>&1 && ok ||
	bad "promtool check metrics: $(cat "$dir/promtool.out")"
grep -qx "hf_requests_total{path=\"/a\",segment=\"$tag\"} 1000" "$dir/m.txt" && ok ||
	bad "exposition lacks the /a counter"
grep -qx "shmstat_segment_up{segment=\"$tag-missing\"} 0" "$dir/m.txt" && ok ||
	bad "missing segment not reported as down"
grep -qx "hf_latency_seconds_count{segment=\"$tag\"} 100" "$dir/m.txt" && ok || bad "histogram count"
# base units (issue 21): a histogram of ns in seconds, le and sum exact
grep -qx "hf_latency_seconds_sum{segment=\"$tag\"} 0.00059" "$dir/m.txt" && ok || bad "histogram sum in seconds"
grep -q "^hf_latency_seconds_bucket{segment=\"$tag\",le=\"0.000001023\"} 90$" "$dir/m.txt" && ok ||
	bad "le in seconds: $(grep -m3 '^hf_latency_seconds_bucket' "$dir/m.txt")"
# one family per meaning: the table's totals, the owners' totals apart
grep -qx "hf_sigs_hits_total{segment=\"$tag\"} 2" "$dir/m.txt" && ok || bad "table total family"
if grep -q '^hf_sigs_hits_total{.*owner=' "$dir/m.txt"; then bad "owner series in the totals' family"; else ok; fi
# self-metrics
for re in '^shmstat_build_info\{version="[0-9.]+",format="[0-9]+\.[0-9]+"\} 1$' \
	"^shmstat_segment_writers\\{segment=\"$tag\",state=\"alive\"\\} 0$" \
	"^shmstat_segment_writers\\{segment=\"$tag\",state=\"dead\"\\} 0$" \
	"^shmstat_segment_dropped_total\\{segment=\"$tag\",what=\"registrations\"\\} 0$" \
	"^shmstat_segment_used_ratio\\{segment=\"$tag\",region=\"metrics\"\\} 0\\.[0-9]+$" \
	'^shmstat_scrape_duration_seconds [0-9]+(\.[0-9]+)?$'; do
	grep -Eq -- "$re" "$dir/m.txt" && ok || bad "exposition lacks /$re/"
done
n_le=$(grep -c "^hf_latency_seconds_bucket{segment=\"$tag\"" "$dir/m.txt")
[ "$n_le" -gt 100 ] && [ "$n_le" -lt 3000 ] && ok || bad "le bounds: $n_le"
curl -sf -H 'Accept: application/openmetrics-text; version=1.0.0' "$url/metrics" >"$dir/om.txt" &&
	[ "$(tail -1 "$dir/om.txt")" = "# EOF" ] && grep -q '^# TYPE hf_requests counter$' "$dir/om.txt" &&
	ok || bad "OpenMetrics on Accept"
grep -qx '# UNIT hf_latency_seconds seconds' "$dir/om.txt" && ok || bad "OpenMetrics # UNIT line"
# each family's TYPE before its HELP in OpenMetrics (serve's own
# shmstat_serve_refused_segments had the text format's HELP, TYPE)
first_help=$(awk '$2 == "TYPE" { t[$3] = 1 } $2 == "HELP" && !t[$3] { print $3; exit }' "$dir/om.txt")
[ -z "$first_help" ] && ok || bad "OpenMetrics: # HELP $first_help before its # TYPE"
# Accept negotiated by q (0: not acceptable), media types in any case; the
# text format on a tie, without Accept, or when neither is acceptable
ctype() { curl -s -o /dev/null -w '%{content_type}' -H "Accept: $1" "$url/metrics"; }
om_type='application/openmetrics-text; version=1.0.0; charset=utf-8'
text_type='text/plain; version=0.0.4; charset=utf-8'
for a in "text/plain;version=0.0.4;q=0.6,application/openmetrics-text;version=1.0.0;q=0.5,*/*;q=0.4:$text_type" \
	"application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2:$om_type" \
	"Application/OpenMetrics-Text; Version=1.0.0:$om_type" \
	"application/openmetrics-text;q=0:$text_type" \
	"application/openmetrics-text;q=0.5, text/plain;q=0.5:$text_type" \
	"text/*;q=0.9, application/*:$om_type" \
	"application/openmetrics-text ; Q=0.9 , text/plain;q=0.8:$om_type" \
	"application/openmetrics-text;q=2,text/plain;q=0.1:$text_type" \
	"*/*:$text_type"; do
	[ "$(ctype "${a%%:*}")" = "${a#*:}" ] && ok || bad "Accept: ${a%%:*}: $(ctype "${a%%:*}")"
done
[ "$(curl -s -o /dev/null -w '%{content_type}' "$url/metrics")" = "$text_type" ] && ok || bad "no Accept"

# --- the JSON API (issue 21): the commands' JSON, byte for byte on the
# same (unchanging) segment; only the snapshot's time differs
notime() { sed -E 's/"taken_ns":[0-9]+/"taken_ns":T/; s/"rate":[0-9.e+-]+/"rate":R/g'; }
api() { curl -s -o "$dir/api.out" -w '%{http_code} %{content_type}' "$url/api/v1/$1"; }
same() {   # NAME API_QUERY COMMAND...: the answer is the command's output
	local what=$1 q=$2
	shift 2
	"$@" | notime >"$dir/cmd.json"
	if [ "$(api "$q")" = "200 application/json" ] && notime <"$dir/api.out" | cmp -s - "$dir/cmd.json" &&
		"$json_flat" <"$dir/api.out" >/dev/null; then ok
	else bad "$what: /api/v1/$q differs from '$*': $(head -c 300 "$dir/api.out")"; fi
}
same "show" "show?segment=$tag" "$shmstat" show --json "$tag"
same "show -I -X" "show?segment=$tag&include=hf_req*&include=hf_sigs&exclude=*path=\"/b\"*" \
	"$shmstat" show --json -I 'hf_req*' -I hf_sigs -X '*path="/b"*' "$tag"
same "top" "top?segment=$tag&n=1&by=weight" "$shmstat" top --json -n 1 --by weight "$tag"
same "top of a table" "top?segment=$tag&table=hf_sigs&n=1" "$shmstat" top --json -n 1 "$tag" hf_sigs
# owner= empty is top --owner '': the keys without an owner (it was no filter)
same "top, owner empty" "top?segment=$tag&owner=" "$shmstat" top --json --owner '' "$tag"
same "range" "range?history=e2e.hist&start=@0&end=@4000000000" \
	"$shmstat" show --history "$dir/e2e.hist" --range @0 @4000000000 --json
soon=$(( $(date +%s) + 60 ))
same "window" "window?history=e2e.hist&window=1h&at=@$soon&include=hf_*" \
	"$shmstat" show --history "$dir/e2e.hist" --window 1h --at "@$soon" --json -I 'hf_*'
[ "$(api segments)" = "200 application/json" ] && "$json_flat" <"$dir/api.out" >"$dir/api.flat" &&
	grep -qx "segments.0.name=$tag" "$dir/api.flat" && grep -qx "segments.0.up=true" "$dir/api.flat" &&
	grep -qx "segments.1.name=$tag-al" "$dir/api.flat" &&
	grep -qx "segments.2.name=$tag-missing" "$dir/api.flat" && grep -qx "segments.2.up=false" "$dir/api.flat" &&
	grep -qx "histories.0=e2e.hist" "$dir/api.flat" && ok || bad "/api/v1/segments: $(cat "$dir/api.out")"
# bad queries: a status and a JSON error naming what is wrong
for q in "show:400:parameter 'segment' is missing" "show?segment=nope:404:segment 'nope' is not served" \
	"show?segment=$tag&include=%5Bx:400:include: glob '[x' is not valid\"}" \
	"show?segment=$tag&include=a&exclude=%5Bb&exclude=%5Bc:400:exclude: glob '[b' is not valid\"}" \
	"window?history=e2e.hist&window=1h$(printf '&include=a%.0s' $(seq 33)):400:more than 32 'include' parameters\"}" "top?segment=$tag&n=0:400:n '0' is not a number" \
	"top?segment=$tag&by=size:400:by 'size' is unknown" "top?segment=$tag&table=nope:404:no signature table 'nope'" \
	"top?segment=$tag&table=:404:segment '$tag' has no signature table ''\"}" \
	"top?segment=$tag&table=hf_sigs&owner=nobody:404:signature table 'hf_sigs' of segment '$tag' has no owner 'nobody'\"}" \
	"top?segment=$tag&owner=nobody:404:no signature table of segment '$tag' has owner 'nobody'\"}" \
	"range?history=nope&start=@0&end=now:404:history 'nope' is not served" \
	"range?history=e2e.hist&start=soon&end=now:400:start 'soon' is not an instant" \
	"window?history=e2e.hist&window=x:400:window 'x' is not a duration from 1ns to 366d" \
	"range?history=e2e.hist&start=now&end=-1h:400:range ends before it starts" \
	"window?history=e2e.hist&window=1d&at=@1000:400:window reaches before 1970" \
	"window?history=e2e.hist&window=1s&at=@1000:404:history 'e2e.hist': no records in e2e.hist in" \
	"top?segment=$tag&n:400:n '' is not a number" "top?segment=$tag&by:400:by '' is unknown" \
	"window?history=e2e.hist&window=1h&at:400:at '' is not an instant" \
	"top?segment=$tag%00x:404:segment '$tag%00x' is not served\"}" \
	"top?segment=$tag&n=1%00x:400:n '1%00x' is not a number" \
	"top?segment=$tag&n%00=1:400:parameter 'n%00' is unknown" "show%00x?segment=$tag:404:no such path" \
	"show?segment=$tag-missing:503:segment '$tag-missing' cannot be read: /dev/shm/shmstat.$tag-missing: No such file or directory\"}" "nope:404:no such path"; do
	path=${q%%:*}; rest=${q#*:}; want=${rest%%:*}; msg=${rest#*:}
	got=$(api "$path")
	if [ "${got%% *}" = "$want" ] && "$json_flat" <"$dir/api.out" | grep -qF "error=" &&
		grep -qF -- "$msg" "$dir/api.out"; then ok
	else bad "/api/v1/$path: '$got' $(cat "$dir/api.out"), expected $want and '$msg'"; fi
done

# --- bad requests, then still serving
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
[ "$(code "$url/nope")" = 404 ] && ok || bad "unknown path is not 404"
[ "$(code -X POST -d x=1 "$url/metrics")" = 405 ] && ok || bad "POST is not 405"
[ "$(code -X DELETE "$url/metrics")" = 405 ] && ok || bad "DELETE is not 405"
# %00 is no NUL (which ended the path: /metrics%00x was /metrics)
for p in /metrics%00x /healthz%00 /%00; do
	[ "$(code "$url$p")" = 404 ] && ok || bad "$p is $(code "$url$p"), not 404"
done
# under /api/ the answer is JSON as every other error there (it was the
# text "method not allowed"), with Allow
for m in POST DELETE; do
	got=$(curl -s -D "$dir/api.hdr" -o "$dir/api.out" -w '%{http_code} %{content_type}' -X "$m" "$url/api/v1/show?segment=$tag")
	[ "$got" = "405 application/json" ] && grep -qi '^Allow: GET, HEAD' "$dir/api.hdr" &&
		[ "$(cat "$dir/api.out")" = '{"error":"method not allowed: GET or HEAD"}' ] && ok ||
		bad "$m /api/v1/show: '$got' $(cat "$dir/api.out")"
done
got=$(curl -s -o "$dir/api.out" -w '%{http_code} %{content_type}' -X GET -d x=1 "$url/api/v1/segments")
[ "$got" = "400 application/json" ] && [ "$(cat "$dir/api.out")" = '{"error":"a GET request has no body"}' ] && ok ||
	bad "GET /api/v1/segments with a body: '$got' $(cat "$dir/api.out")"
big=$(head -c 40000 /dev/zero | tr '\0' a)
[ "$(code -H "X-Big: $big" "$url/metrics")" = 431 ] && ok || bad "huge header is not 431"
# HEAD /metrics is headers alone: libmicrohttpd 0.9.75 ended them with a
# chunked answer's last chunk (0 CRLF CRLF), which a client keeping the
# connection took for the start of its next answer (curl: "Received
# HTTP/0.9"); what follows the headers on the connection is EOF or the
# answer to the request pipelined after it
# (sent in one write, by cat: bash's printf writes a line at a time, and
# one after serve closed the connection killed the script with SIGPIPE)
printf 'HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' \
	>"$dir/head.req"
exec 3<>"/dev/tcp/127.0.0.1/$port"
cat "$dir/head.req" >&3
timeout 10 cat <&3 | tr -d '\r' >"$dir/head.out"
exec 3<&-
after=$(awk 'f { print } !f && /^$/ { f = 1 }' "$dir/head.out")
head -1 "$dir/head.out" | grep -qx 'HTTP/1.1 200 OK' && grep -qix "content-type: $text_type" "$dir/head.out" &&
	{ [ -z "$after" ] || [ "${after#HTTP/1.1 200 OK}" != "$after" ]; } && ok ||
	bad "HEAD /metrics then GET on one connection: $(head -c 400 "$dir/head.out")"
[ "$(curl -s "$url/healthz")" = ok ] && ok || bad "/healthz"
[ "$(code "$url/metrics")" = 200 ] && ok || bad "not serving after bad requests"

# --- a real Prometheus scraping every second, on a free port
cat >"$dir/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: ['$dir/prom-rules.yml']
scrape_configs:
  - job_name: shmstat
    static_configs:
      - targets: ['127.0.0.1:$port']
EOF
promtool check config "$dir/prometheus.yml" >/dev/null 2>&1 && ok || bad "prometheus config"
pport=
for _ in 1 2 3 4 5; do
	try=$((20000 + RANDOM % 20000))
	prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/tsdb" \
		--web.listen-address="127.0.0.1:$try" >"$dir/prom.log" 2>&1 &
	prom_pid=$!
	for _ in $(seq 200); do
		if curl -sf "http://127.0.0.1:$try/-/ready" >/dev/null 2>&1; then
			pport=$try
			break
		fi
		kill -0 "$prom_pid" 2>/dev/null || break
		sleep 0.1
	done
	[ -n "$pport" ] && break
	kill "$prom_pid" 2>/dev/null; wait "$prom_pid" 2>/dev/null; prom_pid=
done
[ -n "$pport" ] || { echo "FAIL: prometheus did not start: $(tail -5 "$dir/prom.log")"; exit 1; }
papi="http://127.0.0.1:$pport/api/v1/query"

# query EXPR: the value of its first result ("" while there is none)
query() {
	curl -sf --get --data-urlencode "query=$1" "$papi" | "$json_flat" 2>/dev/null |
		sed -n 's/^data\.result\.0\.value\.1=//p'
}
# wait (bounded: 60 s) until EXPR has a value; print it
await() {
	local v=
	for _ in $(seq 600); do
		v=$(query "$1")
		[ -n "$v" ] && { echo "$v"; return 0; }
		sleep 0.1
	done
	return 1
}

v=$(await "hf_requests_total{path=\"/a\",segment=\"$tag\"}") && [ "$v" = 1000 ] && ok ||
	bad "prometheus has /a = '$v', expected 1000"
v=$(query "hf_requests_total{path=\"/b\"}"); [ "$v" = 7 ] && ok || bad "/b = '$v', expected 7"
v=$(query "hf_queue_depth"); [ "$v" = -3 ] && ok || bad "gauge = '$v', expected -3"
v=$(query "hf_latency_seconds_count"); [ "$v" = 100 ] && ok || bad "histogram count = '$v'"
v=$(query "hf_latency_seconds_sum"); [ "$v" = 0.00059 ] && ok || bad "histogram sum = '$v', expected 0.00059 s"
# sum() of the table's totals is the writer's exact tally: 2 hits, 1 miss
v=$(query "sum(hf_sigs_hits_total)"); [ "$v" = 2 ] && ok || bad "sum of signature hits = '$v', expected 2"
v=$(query "sum(hf_sigs_misses_total)"); [ "$v" = 1 ] && ok || bad "sum of signature misses = '$v', expected 1"
v=$(query "shmstat_build_info"); [ "$v" = 1 ] && ok || bad "shmstat_build_info = '$v'"
v=$(query "shmstat_segment_writers{segment=\"$tag\",state=\"alive\"}"); [ "$v" = 0 ] && ok ||
	bad "writers alive = '$v'"
v=$(query "shmstat_segment_up{segment=\"$tag-missing\"}"); [ "$v" = 0 ] && ok ||
	bad "segment_up of the missing segment = '$v'"
# quantiles: p50 = 1000 ns, p95 = 50000 ns, within the bucket error of 64
# bounds per power of two (1/64 of the value) plus interpolation
within() { awk -v v="$1" -v want="$2" 'BEGIN { d = v - want; if (d < 0) d = -d; exit !(v != "" && d <= want / 64) }'; }
v=$(query "histogram_quantile(0.5, hf_latency_seconds_bucket)")
within "$v" 0.000001 && ok || bad "histogram_quantile(0.5) = '$v', expected 1e-6 s within 1/64"
v=$(query "histogram_quantile(0.95, hf_latency_seconds_bucket)")
within "$v" 0.00005 && ok || bad "histogram_quantile(0.95) = '$v', expected 5e-5 s within 1/64"
# Prometheus saw the exporter as healthy
v=$(query "up{job=\"shmstat\"}"); [ "$v" = 1 ] && ok || bad "up = '$v'"

# a removed segment is down at the very next scrape, its series gone
"$shmstat" rm "$tag" || bad "rm $tag"
curl -sf "$url/metrics" >"$dir/m2.txt" || bad "GET /metrics after rm"
grep -qx "shmstat_segment_up{segment=\"$tag\"} 0" "$dir/m2.txt" && ok ||
	bad "removed segment still up: $(grep segment_up "$dir/m2.txt")"
if grep -q "^hf_.*segment=\"$tag\"" "$dir/m2.txt"; then bad "series of the removed segment still exported"; else ok; fi
# and Prometheus sees it so (bounded wait: scrapes every second)
down=
for _ in $(seq 600); do
	[ "$(query "shmstat_segment_up{segment=\"$tag\"}")" = 0 ] && { down=1; break; }
	sleep 0.1
done
[ -n "$down" ] && ok || bad "prometheus never saw shmstat_segment_up 0 after rm"

# --- the translated alert fires and resolves, as shmstat check judges
# the same data: requests on /a at 400/s, then none (bounded waits)
alert_state() {   # the state of alert a_rate of severity $1 ("" if none)
	curl -sf "http://127.0.0.1:$pport/api/v1/alerts" | "$json_flat" 2>/dev/null | awk -F= -v sev="$1" '
		/^data\.alerts\.[0-9]+\.labels\.alertname=/ { split($1, p, "."); name[p[3]] = $2 }
		/^data\.alerts\.[0-9]+\.labels\.severity=/ { split($1, p, "."); s[p[3]] = $2 }
		/^data\.alerts\.[0-9]+\.state=/ { split($1, p, "."); st[p[3]] = $2 }
		END { for (k in st) if (name[k] == "a_rate" && s[k] == sev) print st[k] }'
}
check_rc() { "$shmstat" check -r "$dir/rules.yaml" -H "$dir/al.hist" --no-state "$tag-al" >"$dir/check.out" 2>&1; echo $?; }
fired= judged=
for _ in $(seq 240); do
	step "c a 100"
	sleep 0.25
	[ -z "$fired" ] && [ "$(alert_state critical)" = firing ] && fired=1
	[ -z "$judged" ] && [ "$(check_rc)" = 2 ] && judged=1
	[ -n "$fired" ] && [ -n "$judged" ] && break
done
[ -n "$fired" ] && ok || bad "the translated alert never fired (critical): $(curl -s "http://127.0.0.1:$pport/api/v1/alerts")"
[ -n "$judged" ] && ok || bad "shmstat check never said CRITICAL: $(cat "$dir/check.out")"
[ -z "$(alert_state warning)" ] && ok || bad "the warning alert fires with the critical one"
resolved= judged=
for _ in $(seq 240); do
	sleep 0.25
	[ -z "$resolved" ] && [ -z "$(alert_state critical)" ] && [ -z "$(alert_state warning)" ] && resolved=1
	[ -z "$judged" ] && [ "$(check_rc)" = 0 ] && judged=1
	[ -n "$resolved" ] && [ -n "$judged" ] && break
done
[ -n "$resolved" ] && ok || bad "the translated alert never resolved: $(curl -s "http://127.0.0.1:$pport/api/v1/alerts")"
[ -n "$judged" ] && ok || bad "shmstat check never said OK again: $(cat "$dir/check.out")"

echo "prometheus e2e: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
