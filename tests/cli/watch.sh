#!/usr/bin/env bash
# shmstat watch (issue 20, points 1, 2, 3, 5, 6). The full-screen view in
# a real terminal, tmux at 80x24: a header, 10 rows and more each with
# name, value and rate on one line of at most 80 columns, names cut with
# '~', UTF-8 sparklines in a UTF-8 locale and ASCII ones in C, "-" for
# windows not watched yet, a description line that follows the
# selection, a new size drawn at once, sorting, q. Piped: a column
# header, figures in their units. --lines with -h and -t. A missing
# segment: exit 1, or with --wait a wait until it is made.
#
# Every wait is a bounded poll for what must appear (the screen, a file).
set -u
shmstat=$1
fill=$2
tag="watch-$$"
tmp=$(mktemp -d) || exit 1
sock="shmstat-test-$$"
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

cleanup() {
	tmux -L "$sock" kill-server 2>/dev/null
	[ -n "${spinner:-}" ] && kill "$spinner" 2>/dev/null
	[ -n "${waiter:-}" ] && kill "$waiter" 2>/dev/null
	[ -n "${holder:-}" ] && kill "$holder" 2>/dev/null
	[ -n "${piper:-}" ] && kill "$piper" 2>/dev/null
	[ -n "${liner:-}" ] && kill "$liner" 2>/dev/null
	[ -n "${twinner:-}" ] && kill "$twinner" 2>/dev/null
	"$shmstat" rm "$tag-s" "$tag-w" "$tag-removed" "$tag-bad" "$tag-many" "$tag-twins" \
		"$tag-alike" "$tag-late" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM PIPE      # the EXIT trap cleans up then too

for p in tmux locale; do
	command -v "$p" >/dev/null || { echo "FAIL: $p is not installed"; exit 1; }
done
utf8=$(locale -a | grep -ix 'C.utf-\?8' | head -n 1)
[ -n "$utf8" ] || { echo "FAIL: no C.UTF-8 locale (locale -a)"; exit 1; }

# poll CMD...: run CMD every 50 ms until it succeeds, 10 s at most
poll() {
	for _ in $(seq 200); do "$@" && return 0; sleep 0.05; done
	return 1
}
tm() { tmux -L "$sock" "$@"; }
# the pane as text, a line wrapped by the terminal joined again
screen() { tm capture-pane -p -J -t view | sed 's/ *$//' > "$tmp/screen"; }
on_screen() { screen && grep -Eq -- "$1" "$tmp/screen"; }
# view LOCALE COLSxLINES ARGS...: shmstat watch ARGS in a new terminal;
# its exit status lands in $tmp/rc
view() {
	local loc=$1 size=$2
	shift 2
	rm -f "$tmp/rc"
	tm kill-session -t view 2>/dev/null
	# paths through the environment: in the command string a quote in
	# them ended the quoting ('$shmstat', a clone under "/tmp/it's")
	tm new-session -d -s view -x "${size%x*}" -y "${size#*x}" \
		-e SHMSTAT="$shmstat" -e RC="$tmp/rc" \
		"env LANG=$loc LC_ALL=$loc \"\$SHMSTAT\" watch $*; echo \$? > \"\$RC\""
}
line() { sed -n "$1p" "$tmp/screen"; }

coproc SPIN { exec "$fill" "$tag-s" spin; }
spinner=$SPIN_PID
read -r ready <&"${SPIN[0]}"
[ "$ready" = ready ] && ok || { bad "spinner did not start"; finish; exit 1; }

# --- full screen at 80x24, UTF-8: once spin_total has a rate
view "$utf8" 80x24 -i 100ms "$tag-s"
poll on_screen '^spin_total +[0-9.]+k? +[0-9.]+k?/s ' && ok || bad "no rate for spin_total: $(cat "$tmp/screen")"
[ "$(line 3)" = "NAME                                VALUE       RATE 1m 5m 15m TREND" ] && ok ||
	bad "header at 80 columns: '$(line 3)'"
rows=0
for re in '^spin_big_total +148k +0/s ' '^spin_bytes_total +3\.0 MiB +0 B/s ' \
	'^spin_cache_hits_total +90 +0/s ' '^spin_cache_misses_total +10 +0/s ' \
	'^spin_cost_total +12\.35 USD +0\.00 USD/s ' '^spin_latency +10 +0/s ' \
	'^spin_total +[0-9.]+k? +[0-9.]+k?/s ' '^still_total +5 +0/s '; do
	grep -Eq -- "$re" "$tmp/screen" && rows=$((rows + 1)) || bad "80x24: no row /$re/"
done
# names too long for the column: cut with '~', their labels kept whole
# when short, as values cut when long
for i in 1 2 3 4 5 6; do
	grep -Eq "^spin_requests_[a-z_]*~\{backend=\"$i\"\} +$i +0/s " "$tmp/screen" &&
		rows=$((rows + 1)) || bad "80x24: no row for backend $i"
done
for i in 1 2; do
	grep -Eq "^spin_lookups_total\{gp~,co~,t$i\} +$i +0/s " "$tmp/screen" &&
		rows=$((rows + 1)) || bad "80x24: no row for lookups t$i"
done
[ "$rows" -ge 10 ] && ok || bad "80x24: $rows rows with name, value and rate"
width=$(LC_ALL=$utf8 wc -L < "$tmp/screen")
[ "$width" -le 80 ] && ok || bad "80x24: a line of $width columns"
[ "$(wc -l < "$tmp/screen")" -le 24 ] && ok || bad "80x24: more than 24 lines"
# UTF-8 sparklines; "-" for the windows not watched yet
grep -Eq '^spin_total .* - +- +- +[▁▂▃▄▅▆▇█]+$' "$tmp/screen" && ok || bad "no UTF-8 sparkline: $(grep '^spin_total' "$tmp/screen")"
grep -Eq '^still_total +5 +0/s +- +- +- +▁+$' "$tmp/screen" && ok || bad "still_total: $(grep '^still_total' "$tmp/screen")"
grep -Eq '^spin_cache_hits_total hit ratio +90\.0% +- +- +-$' "$tmp/screen" && ok ||
	bad "hit ratio row: $(grep 'hit ratio' "$tmp/screen")"
grep -Eq '^spin_queue_depth +4 items$' "$tmp/screen" && ok || bad "gauge row: $(grep '^spin_queue' "$tmp/screen")"
# the description of the selected row (the first), then of others: its
# name, type, unit, labels, help
desc() { sed -n '22,24p' "$tmp/screen" | paste -sd '|'; }
has_desc() { screen && [ "$(desc)" = "$1" ]; }
[ "$(desc)" = "spin_big_total|counter, unit -, labels -|cli test" ] && ok || bad "description of the first row: '$(desc)'"
tm send-keys -t view Down
poll has_desc "spin_bytes_total|counter, unit bytes, labels -|cli test" && ok || bad "Down: '$(desc)'"
tm send-keys -t view j j j j j j
poll has_desc 'spin_lookups_total{model="gpt-4o",pattern="conversation:*",tier="t1"}|counter, unit -, labels model="gpt-4o",pattern="conversation:*",tier="t1"|cli test' &&
	ok || bad "j x 6: '$(desc)'"
tm send-keys -t view j j
poll has_desc "spin_queue_depth|gauge, unit items, labels -|cli test" && ok || bad "j x 2: '$(desc)'"
tm send-keys -t view j
poll has_desc 'spin_requests_served_by_the_upstream_backend_total{backend="1"}|counter, unit -, labels backend="1"|cli test' &&
	ok || bad "j: '$(desc)'"
[ "$(LC_ALL=$utf8 wc -L < "$tmp/screen")" -le 80 ] && ok || bad "80x24: a description wider than 80 columns"
tm send-keys -t view k k k k k k k
poll has_desc "spin_cache_hits_total hit ratio|hit ratio: VALUE since creation; 1m 5m 15m: over the last minutes|hits / (hits + misses) of spin_cache_hits_total and spin_cache_misses_total" &&
	ok || bad "k x 5: '$(desc)'"
# page down and up on a terminal of 5 lines, which shows one row: one
# row a page, down and up (they moved by LINES - 6, -1: the wrong way)
# (the keys once the view is drawn at 40 columns, its status line cut)
narrow() { tm resize-window -t view -x 40 -y 5 && poll on_screen '^sort: name .*~$'; }
narrow || bad "40x5: $(cat "$tmp/screen")"
tm send-keys -t view NPage
tm send-keys -t view NPage
tm resize-window -t view -x 80 -y 24
poll has_desc "spin_cost_total|counter, unit micro_USD, labels -|cli test" && ok || bad "5 lines, page down x 2: '$(desc)'"
narrow || bad "40x5: $(cat "$tmp/screen")"
tm send-keys -t view PPage
tm resize-window -t view -x 80 -y 24
poll has_desc "spin_cache_misses_total|counter, unit -, labels -|cli test" && ok || bad "5 lines, page up: '$(desc)'"
tm send-keys -t view g
poll has_desc "spin_big_total|counter, unit -, labels -|cli test" && ok || bad "g: '$(desc)'"
# a larger terminal: whole names; a smaller one: value and rate still
tm resize-window -t view -x 120 -y 30
poll on_screen '^spin_requests_served_by_the_upstream_backend_total\{backend="6"\} +6 +0/s ' && ok ||
	bad "120x30: $(cat "$tmp/screen")"
tm resize-window -t view -x 50 -y 24
poll on_screen '^NAME +VALUE +RATE( +1m)?$' && ok || bad "50x24 header: $(line 3)"
# (polled: the pane may be captured while the rows are being drawn again)
poll on_screen '^spin_total +[0-9.]+[kM]? +[0-9.]+[kM]?/s' && [ "$(LC_ALL=$utf8 wc -L < "$tmp/screen")" -le 50 ] &&
	ok || bad "50x24: $(cat "$tmp/screen")"
tm resize-window -t view -x 80 -y 24
# s: by rate, spin_total first
tm send-keys -t view s
poll on_screen '^sort: rate ' && ok || bad "s: $(line 2)"
poll on_screen '^NAME' && [[ "$(line 4)" == spin_total* ]] && ok || bad "sorted by rate: '$(line 4)'"
# /: the filter written on the last line, its keys no commands ('s' does
# not sort); the view refreshes meanwhile and a new size keeps the prompt
# (getnstr() stopped the refreshes, and a resize ended it with the
# characters typed so far); Backspace, Enter applies, Escape keeps the
# filter before, an empty one shows every row
prompt='^filter \(substring, empty for none\): '
tm send-keys -t view /
tm send-keys -t view -l spin_cx
tm send-keys -t view BSpace
poll on_screen "${prompt}spin_c\$" && ok || bad "/ spin_c: $(cat "$tmp/screen")"
[[ "$(line 2)" == "sort: rate "* ]] && ok || bad "s in the filter sorted: '$(line 2)'"
title=$(line 1)
poll eval 'screen && [ "$(line 1)" != "$title" ]' && ok || bad "no refresh while the filter is written: '$(line 1)'"
tm resize-window -t view -x 120 -y 30
poll on_screen "^spin_requests_served_by_the_upstream_backend_total" && grep -Eq "${prompt}spin_c\$" "$tmp/screen" &&
	ok || bad "120x30: the prompt is gone: $(cat "$tmp/screen")"
tm send-keys -t view -l ost
tm send-keys -t view Enter
poll on_screen '^sort: rate  filter: spin_cost  ' && [[ "$(line 4)" == spin_cost_total* ]] && [ -z "$(line 5)" ] &&
	ok || bad "filter spin_cost: $(cat "$tmp/screen")"
tm send-keys -t view / z
poll on_screen "${prompt}z\$" || bad "/ z: $(cat "$tmp/screen")"
tm send-keys -t view Escape
poll eval "screen && [ \"\$(line 30)\" = 'cli test' ]" && grep -q '^sort: rate  filter: spin_cost  ' "$tmp/screen" &&
	ok || bad "Escape: $(cat "$tmp/screen")"
tm send-keys -t view / Enter
poll on_screen '^sort: rate  q quit' && poll on_screen '^still_total ' && ok || bad "empty filter: $(cat "$tmp/screen")"
tm resize-window -t view -x 80 -y 24
tm send-keys -t view q
poll test -s "$tmp/rc" && [ "$(cat "$tmp/rc")" = 0 ] && ok || bad "q: exit '$(cat "$tmp/rc" 2>/dev/null)'"

# --- a locale that is not UTF-8: ASCII sparklines
view C 80x24 -i 100ms "$tag-s"
poll on_screen '^spin_total +[0-9.]+k? +[0-9.]+k?/s .*[_.:=+*#-]$' && ok || bad "C locale: $(grep '^spin_total' "$tmp/screen")"
grep -q '[▁▂▃▄▅▆▇█]' "$tmp/screen" && bad "C locale: UTF-8 bars" || ok
tm send-keys -t view q
poll test -s "$tmp/rc" && ok || bad "q in the C locale"
# -i 1m30s is 90 seconds (the title says how often; q quits at once)
view C 80x24 -i 1m30s "$tag-s"
poll on_screen " every 90(\.0+)?s " && ok || bad "-i 1m30s: $(line 1)"
tm send-keys -t view q
poll test -s "$tmp/rc" && [ "$(cat "$tmp/rc")" = 0 ] && ok || bad "q with -i 1m30s"
# -n: the view ends by itself
view "$utf8" 80x24 -i 10ms -n 3 "$tag-s"
poll test -s "$tmp/rc" && [ "$(cat "$tmp/rc")" = 0 ] && ok || bad "-n 3 on a terminal"

# --- piped: a column header each block, figures in their units
"$shmstat" watch -i 10ms -n 2 "$tag-s" > "$tmp/piped" || bad "watch piped"
[ "$(grep -Ec '^  NAME +VALUE +RATE +1m +5m +15m +TREND$' "$tmp/piped")" = 2 ] && ok || bad "piped header: $(cat "$tmp/piped")"
for re in '^  spin_bytes_total +3\.0 MiB +0 B/s ' '^  spin_cost_total +12\.35 USD +0\.00 USD/s ' \
	'^  spin_big_total +148k +0/s ' '^  spin_requests_served_by_the_upstream_backend_total\{backend="6"\} +6 +0/s '; do
	grep -Eq -- "$re" "$tmp/piped" && ok || bad "piped lacks /$re/"
done
"$shmstat" watch -i 10ms -n 2 --raw "$tag-s" > "$tmp/raw" || bad "watch --raw"
grep -Eq '^  spin_bytes_total +3145728 +0 ' "$tmp/raw" && grep -Eq '^  spin_cost_total +12345678 +0 ' "$tmp/raw" &&
	ok || bad "watch --raw: $(cat "$tmp/raw")"

# --- --lines: a line per interval, a column per metric
"$shmstat" watch --lines -i 10ms -n 5 -h 2 -t -I still_total -I spin_total "$tag-s" > "$tmp/lines" ||
	bad "watch --lines -h 2 -t"
[ "$(sed -n '1p;4p;7p' "$tmp/lines" | grep -Ec '^TIME +spin_total +still_total$')" = 3 ] &&
	[ "$(wc -l < "$tmp/lines")" = 8 ] && ok || bad "--lines -h 2: headers every 2 lines: $(cat "$tmp/lines")"
grep -Eq '^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} +- +-$' "$tmp/lines" && ok || bad "--lines: first line"
[ "$(grep -Ec '^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} +[0-9.]+k?/s +0/s$' "$tmp/lines")" = 4 ] && ok ||
	bad "--lines -t: rates per interval: $(cat "$tmp/lines")"
"$shmstat" watch "$tag-s" --lines -i 1s -n 2 -I still_total -I 'spin_b*' > "$tmp/lines1" || bad "watch --lines"
[ "$(cat "$tmp/lines1")" = "$(printf '%s\n' 'spin_big_total  spin_bytes_total  still_total' \
	'             -                 -            -' '           0/s             0 B/s          0/s')" ] &&
	ok || bad "--lines without -h and -t: $(cat "$tmp/lines1")"
# 3000 metrics: 3000 columns, the lines as long as they need (they were
# cut at 2 KiB: 79 columns, the rest dropped)
"$fill" "$tag-many" many || bad "cli_fill many"
"$shmstat" watch --lines -i 10ms -n 2 "$tag-many" > "$tmp/many" || bad "watch --lines (3000 metrics)"
[ "$(awk '{ print NF }' "$tmp/many" | paste -sd ' ')" = "3000 3000 3000" ] && ok ||
	bad "--lines, 3000 metrics: fields $(awk '{ print NF }' "$tmp/many" | paste -sd ' ')"
[ "$(awk '{ print $NF }' "$tmp/many" | paste -sd ' ')" = "m_2999_total - 0/s" ] && ok ||
	bad "--lines, 3000 metrics: last column $(awk '{ print $NF }' "$tmp/many" | paste -sd ' ')"
expect 2 "" "^shmstat: -h and -t go with --lines$" -- "$shmstat" watch -h 2 "$tag-s"
expect 2 "" "^shmstat: -h and -t go with --lines$" -- "$shmstat" watch -t "$tag-s"
expect 2 "" "^shmstat: header repeat '0' is not a positive number$" -- "$shmstat" watch --lines -h0 "$tag-s"
expect 2 "" "^shmstat: header repeat '99999999999999999999' is not a positive number$" -- \
	"$shmstat" watch --lines -h 99999999999999999999 -n 1 "$tag-s"
expect 0 "^usage: shmstat watch" "" -- "$shmstat" watch -h
expect 0 "^usage: shmstat watch" "" -- "$shmstat" watch "$tag-s" -h

# --- a segment that does not exist: an error; with --wait, waited for
expect 1 "" "^shmstat: segment '$tag-w' does not exist$" -- "$shmstat" watch -n 2 "$tag-w"
expect 1 "" "^shmstat: segment '$tag-w' does not exist$" -- "$shmstat" watch --lines "$tag-w"
expect 1 "^$" "^shmstat: waiting for segment '$tag-w'
shmstat: segment '$tag-w' does not exist$" -- "$shmstat" watch --wait -i 10ms -n 3 "$tag-w"
"$shmstat" watch --wait -i 50ms -n 1000 "$tag-w" > "$tmp/w.out" 2> "$tmp/w.err" &
waiter=$!
poll grep -q "^shmstat: waiting for segment '$tag-w'$" "$tmp/w.err" && ok || bad "--wait: $(cat "$tmp/w.err")"
"$fill" "$tag-w" || bad "cli_fill"
poll grep -Eq '^  cli_errors_total +3 ' "$tmp/w.out" && ok || bad "--wait: the segment made is not shown: $(cat "$tmp/w.out")"
kill "$waiter"
wait "$waiter" 2>/dev/null
waiter=
[ "$(grep -c . "$tmp/w.err")" = 1 ] && ok || bad "--wait: more on stderr: $(cat "$tmp/w.err")"

# --- a corrupted segment (its header changed, as while a segment is
# rewritten): said on the status line and tried again every interval, at
# the start and under the watch; piped with -n, exit 1 when no refresh
# had a snapshot
"$fill" "$tag-bad" || bad "cli_fill $tag-bad"
seg=/dev/shm/shmstat.$tag-bad
dd if="$seg" of="$tmp/byte" bs=1 skip=60 count=1 2>/dev/null
corrupt() { printf '\377' | dd of="$seg" bs=1 seek=60 conv=notrunc 2>/dev/null; }
restore() { dd if="$tmp/byte" of="$seg" bs=1 seek=60 conv=notrunc 2>/dev/null; }
corrupt
badhdr="segment '$tag-bad' is corrupted: header checksum mismatch"
expect 1 "^[0-9-]+ [0-9:]+  waiting: $badhdr$" "^shmstat: $badhdr$" -- "$shmstat" watch -i 10ms -n 2 "$tag-bad"
[ "$(grep -c "waiting: $badhdr" "$tmp/expect.err")" = 0 ] && ok || bad "piped: notes on stderr"
expect 1 "^$" "^shmstat: waiting: $badhdr$" -- "$shmstat" watch --lines -i 10ms -n 2 "$tag-bad"
view "$utf8" 80x24 -i 100ms "$tag-bad"
poll on_screen "^waiting: $badhdr$" && ok || bad "corrupted at the start: $(cat "$tmp/screen")"
restore
poll on_screen '^cli_errors_total +3 ' && grep -q '^sort: name ' "$tmp/screen" && ok ||
	bad "repaired: $(cat "$tmp/screen")"
corrupt
poll on_screen "^segment '$tag-bad' is corrupted: its header changed after it was opened$" &&
	grep -Eq '^cli_errors_total +3 ' "$tmp/screen" && ok || bad "corrupted under the watch: $(cat "$tmp/screen")"
restore
poll on_screen '^sort: name ' && grep -Eq '^cli_errors_total +3 ' "$tmp/screen" && ok ||
	bad "repaired again: $(cat "$tmp/screen")"
tm send-keys -t view q
poll test -s "$tmp/rc" && [ "$(cat "$tmp/rc")" = 0 ] && ok || bad "q after a corruption: '$(cat "$tmp/rc" 2>/dev/null)'"

# --- two label sets alike for their first 600 bytes escaped, "a" and
# "b" after (series keys were 400 bytes: both rows had one cut name, the
# selection of the first jumped to the second at each refresh, --lines
# headed both columns with the same cut name)
"$fill" "$tag-twins" twins > "$tmp/twins.out" &
twinner=$!
poll grep -qx ready "$tmp/twins.out" && ok || bad "cli_fill twins did not start"
esc=$(printf '\\x1b%.0s' $(seq 150))
twin_a="tw_long_total{v=\"${esc}a\"}" twin_b="tw_long_total{v=\"${esc}b\"}"
view "$utf8" 80x24 --raw -i 100ms "$tag-twins"
# a rate: the first row, selected at the first refresh, has been
# through another
poll on_screen '^tw_spin_total +[0-9]+ +[0-9.]+ ' && ok || bad "twins: no rate: $(cat "$tmp/screen")"
# each row cut where they differ, at the end (both were
# 'tw_long_total{\x1b\x1b\x1b\x1b\x~}': one text); the column's width
# follows tw_spin_total's figures, so the form: the name's start, '~',
# the escapes before the end, the end
esc_n() { printf '\\x1b%.0s' $(seq "$1"); }
awk '$2 == 7 { print $1 }' "$tmp/screen" | grep -Eqx 'tw_long_total\{[v="]*~(\\?x?1?b?)(\\x1b)+a"\}' &&
	awk '$2 == 11 { print $1 }' "$tmp/screen" | grep -Eqx 'tw_long_total\{[v="]*~(\\?x?1?b?)(\\x1b)+b"\}' &&
	ok || bad "twins: a row each, told apart: $(cat "$tmp/screen")"
# the selected row's name below them, in 79 cells: told apart too
[ "$(sed -n 22p "$tmp/screen")" = "tw_long_total{v~$(esc_n 15)a\"}" ] && ok ||
	bad "twins: the selected row's name: '$(sed -n 22p "$tmp/screen")'"
# and its labels line, whole labels told apart (it held the first 329
# bytes of the labels: both were 'counter, unit -, labels v="\x1b...\x1~')
[ "$(sed -n 23p "$tmp/screen")" = "counter, unit -, labels ~$(esc_n 13)a\"" ] && ok ||
	bad "twins: the selected row's labels line: '$(sed -n 23p "$tmp/screen")'"
[ "$(LC_ALL=$utf8 wc -L < "$tmp/screen")" -le 80 ] && ok || bad "twins: a line wider than 80 columns"
help_of_sel() { sed -n 24p "$tmp/screen"; }
[ "$(help_of_sel)" = "twin a" ] && ok || bad "twins: the first row's selection moved: '$(help_of_sel)'"
# after a key, a refresh (tw_spin_total moved) keeps the selection
spin_now() { screen && grep -Eo '^tw_spin_total +[0-9]+' "$tmp/screen"; }
moved() { [ "$(spin_now)" != "$1" ]; }
tm send-keys -t view j
poll on_screen '^twin b$' && [ "$(sed -n 22p "$tmp/screen")" = "tw_long_total{v~$(esc_n 15)b\"}" ] &&
	[ "$(sed -n 23p "$tmp/screen")" = "counter, unit -, labels ~$(esc_n 13)b\"" ] &&
	ok || bad "twins: j: '$(help_of_sel)' '$(sed -n 22,23p "$tmp/screen")'"
tm send-keys -t view k
poll on_screen '^twin a$' && ok || bad "twins: k: '$(help_of_sel)'"
spun=$(spin_now)
poll moved "$spun" && [ "$(help_of_sel)" = "twin a" ] && ok ||
	bad "twins: k, then a refresh: '$(help_of_sel)'"
tm send-keys -t view q
poll test -s "$tmp/rc" && ok || bad "twins: q"
# --lines: each column headed by its whole name
"$shmstat" watch --lines -i 10ms -n 2 -I 'tw_long_total*' "$tag-twins" > "$tmp/twins.lines" ||
	bad "twins: watch --lines"
[ "$(head -n 1 "$tmp/twins.lines")" = "$twin_a  $twin_b" ] && ok ||
	bad "twins: --lines header: $(head -c 300 "$tmp/twins.lines")"
# piped: names cut at 100 cells, where they differ
"$shmstat" watch --raw -n 1 -I 'tw_long_total*' "$tag-twins" > "$tmp/twins.piped" || bad "twins: watch piped"
[ "$(sed -n '3,4p' "$tmp/twins.piped" | awk '{ print $1, $2 }')" = "tw_long_total{v=~$(esc_n 20)a\"} 7
tw_long_total{v=~$(esc_n 20)b\"} 11" ] && ok || bad "twins: piped: $(cut -c 1-120 "$tmp/twins.piped")"
kill "$twinner"
wait "$twinner" 2>/dev/null
twinner=

# --- rows whose names cut to their column were one text (label values
# alike where they were cut, names alike before it): each shows where it
# differs from the others, cut in the middle ('~'); the rows alike to
# none as they were. At 80 and 50 columns, the rows and the selected
# row's name below them.
"$fill" "$tag-alike" alike || bad "cli_fill alike"
# the name and value of each row (names hold no space here)
rows_of() { screen && sed -n '4,11p' "$tmp/screen" | awk '{ print $1, $2 }'; }
rows_are() { [ "$(rows_of)" = "$1" ]; }
sel_name() { sed -n 22p "$tmp/screen"; }
view "$utf8" 80x24 --raw -i 100ms "$tag-alike"
want80='al_jobs_alone_total 8
al_jobs_taken_from_the_downst~{shard="1"} 6
al_jobs_taken_from_the_upstre~{shard="1"} 5
al_requests_total{~"200"~orders/pending"} 1
al_requests_total{~"200"~orders/shipped"} 2
al_requests_total{code="404",route="/x"} 7
al_requests_total{~"500"~orders/pending"} 3
al_requests_total{~"500"~orders/shipped"} 4'
poll rows_are "$want80" && ok || bad "alike at 80x24: $(rows_of)"
[ "$(sort -u <<<"$(rows_of | awk '{ print $1 }')" | wc -l)" = 8 ] && ok || bad "alike at 80x24: rows of one text"
[ "$(LC_ALL=$utf8 wc -L < "$tmp/screen")" -le 80 ] && ok || bad "alike: a line wider than 80 columns"
tm resize-window -t view -x 50 -y 24
want50='al_jobs_alone_total 8
al_jobs_taken_~_downstream_~ 6
al_jobs_taken_fr~_upstream_~ 5
al_requests_to~200~pending"} 1
al_requests_to~200~shipped"} 2
al_requests_total{404,/x} 7
al_requests_to~500~pending"} 3
al_requests_to~500~shipped"} 4'
poll rows_are "$want50" && ok || bad "alike at 50x24: $(rows_of)"
[ "$(sort -u <<<"$(rows_of | awk '{ print $1 }')" | wc -l)" = 8 ] && ok || bad "alike at 50x24: rows of one text"
[ "$(LC_ALL=$utf8 wc -L < "$tmp/screen")" -le 50 ] && ok || bad "alike: a line wider than 50 columns"
# the selected row's name, below the rows (49 cells at 50 columns): cut
# to tell it from the others too
tm send-keys -t view j j j
poll eval 'screen && [ "$(sel_name)" = "al_requests_total{code=\"2~/12345/orders/pending\"}" ]' && ok ||
	bad "alike at 50x24, j x 3: '$(sel_name)'"
tm send-keys -t view j
poll eval 'screen && [ "$(sel_name)" = "al_requests_total{code=\"2~/12345/orders/shipped\"}" ]' && ok ||
	bad "alike at 50x24, j x 4: '$(sel_name)'"
tm send-keys -t view j
poll eval 'screen && [ "$(sel_name)" = "al_requests_total{code=\"404\",route=\"/x\"}" ]' && ok ||
	bad "alike at 50x24, j x 5: '$(sel_name)'"
tm send-keys -t view q
poll test -s "$tmp/rc" && ok || bad "alike: q"

# --- rows whose labels lines (below the rows) cut to their width were
# one text, their labels alike up to the cut: each selected row's shows
# where its labels differ from theirs (all three were 'counter, unit -,
# labels route="/api/v1/accounts/12345/orders/pending/items",zo~' at 80
# columns); the row alike to none as it was. At 80 and 50 columns.
"$fill" "$tag-late" late || bad "cli_fill late"
labels_of_sel() { sed -n 23p "$tmp/screen"; }
# labels_are LINE: the selected row's labels line is LINE
labels_are() { screen && [ "$(labels_of_sel)" = "$1" ]; }
view "$utf8" 80x24 --raw -i 100ms "$tag-late"
late80=ro~/v1/accounts/12345/orders/pending/items
for z in eu-1 eu-2 us-1; do
	poll labels_are "counter, unit -, labels $late80\",zone=\"$z\"" && ok ||
		bad "late at 80x24, zone $z: '$(labels_of_sel)'"
	tm send-keys -t view j
done
poll labels_are 'counter, unit -, labels route="/x",zone="eu-1"' && ok ||
	bad "late at 80x24, route /x: '$(labels_of_sel)'"
[ "$(LC_ALL=$utf8 wc -L < "$tmp/screen")" -le 80 ] && ok || bad "late: a line wider than 80 columns"
tm resize-window -t view -x 50 -y 24
for z in us-1 eu-2 eu-1; do
	tm send-keys -t view k
	poll labels_are "counter, unit -, labels route~/items\",zone=\"$z\"" && ok ||
		bad "late at 50x24, zone $z: '$(labels_of_sel)'"
done
[ "$(LC_ALL=$utf8 wc -L < "$tmp/screen")" -le 50 ] && ok || bad "late: a line wider than 50 columns"
tm send-keys -t view q
poll test -s "$tmp/rc" && ok || bad "late: q"

# --- a segment removed under the watch: its last values, and the first
# line says so where 80 columns keep it (next to the name), piped too
"$fill" "$tag-removed" hold > "$tmp/hold.out" &
holder=$!
poll grep -qx ready "$tmp/hold.out" && ok || bad "cli_fill hold did not start"
view "$utf8" 80x24 -i 100ms "$tag-removed"
"$shmstat" watch -i 50ms -n 1000 "$tag-removed" > "$tmp/removed.out" &
piper=$!
"$shmstat" watch --lines -i 50ms -n 1000 "$tag-removed" > "$tmp/removed.lines" 2> "$tmp/removed.err" &
liner=$!
poll on_screen '^cli_errors_total +3 ' && ok || bad "no row before the removal: $(cat "$tmp/screen")"
poll grep -Eq '^  cli_errors_total +3 ' "$tmp/removed.out" && ok || bad "piped: no row before the removal"
"$shmstat" rm "$tag-removed" || bad "shmstat rm"
poll on_screen "^$tag-removed \\(removed: its last values\\)  [0-9-]+ [0-9:]+  every " && ok ||
	bad "removed: the first line is '$(line 1)'"
grep -Eq '^cli_errors_total +3 ' "$tmp/screen" && ok || bad "removed: the last values are gone: $(cat "$tmp/screen")"
poll grep -Eq "^[0-9-]+ [0-9:]+  $tag-removed \\(removed: its last values\\)  writers 1 alive 0 dead$" \
	"$tmp/removed.out" && ok || bad "piped: the removal is not said: $(tail -n 3 "$tmp/removed.out")"
# --lines: said once on stderr (it went on without a word)
poll grep -qx "shmstat: segment '$tag-removed' was removed: its last values" "$tmp/removed.err" && ok ||
	bad "--lines: the removal is not said: $(cat "$tmp/removed.err")"
tm send-keys -t view q
kill "$piper" "$holder" "$liner"
wait "$piper" "$holder" "$liner" 2>/dev/null
piper= holder= liner=
[ "$(grep -c . "$tmp/removed.err")" = 1 ] && ok || bad "--lines: more on stderr: $(cat "$tmp/removed.err")"

finish
