#!/bin/bash
# render.sh - render a flame-graph SVG with headless Chromium and check
# that it is one: Chromium exits 0 and writes a PNG (the PNG signature,
# not empty), and the DOM Chromium dumps has the <svg> root and no
# <parsererror> (what Chromium puts in place of a document that is not
# well-formed XML). The network is never needed: every network feature
# Chromium has at start is turned off.
# Usage: render.sh SVGFILE OUTDIR
#   writes OUTDIR/NAME.png and OUTDIR/NAME.dom (NAME: SVGFILE without .svg)
# Exit 0 when all is well, 1 with the reason on stderr when not, 77 (a
# skip for meson) when Chromium is not installed. CHROMIUM overrides the
# browser (default: chromium on PATH, then /usr/bin/chromium).
set -eu

fail() {
	echo "render.sh: $*" >&2
	exit 1
}

[ $# -eq 2 ] || fail "usage: render.sh SVGFILE OUTDIR"
svg=$1
outdir=$2

chromium=${CHROMIUM:-}
if [ -z "$chromium" ]; then
	chromium=$(command -v chromium || true)
	[ -n "$chromium" ] || chromium=/usr/bin/chromium
fi
if ! [ -x "$chromium" ] && ! command -v "$chromium" >/dev/null 2>&1; then
	echo "render.sh: chromium is not installed (Debian: apt-get install chromium): skipped" >&2
	exit 77
fi

[ -f "$svg" ] && [ -r "$svg" ] || fail "cannot read $svg"
[ -s "$svg" ] || fail "$svg is empty"
mkdir -p "$outdir" || fail "cannot create $outdir"
case $svg in
/*) ;;
*) svg=$PWD/$svg ;;
esac
name=$(basename "$svg" .svg)
png=$outdir/$name.png
dom=$outdir/$name.dom
rm -f "$png" "$dom"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/flame-render.XXXXXX") || fail "cannot create a temp directory"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

# file:// URL of the SVG: every byte but the unreserved ones and '/'
# percent-encoded
url=file://
LC_ALL=C
for ((i = 0; i < ${#svg}; i++)); do
	c=${svg:i:1}
	case $c in
	[A-Za-z0-9/._~-]) url+=$c ;;
	*) printf -v c '%%%02X' "'$c"; url+=$c ;;
	esac
done

# a run of chromium with a profile of its own; the log goes to $tmp/LOG
run() {
	local log=$1 profile
	shift
	profile=$(mktemp -d "$tmp/profile.XXXXXX") || exit 1
	local cmd=("$chromium" --headless --no-sandbox --disable-gpu --disable-quic
		--no-first-run --disable-background-networking --disable-component-update
		--disable-sync --user-data-dir="$profile" "$@" "$url")
	if command -v timeout >/dev/null 2>&1; then
		cmd=(timeout 120 "${cmd[@]}")
	fi
	HOME=$tmp "${cmd[@]}" > "$tmp/$log.out" 2> "$tmp/$log.err"
}

show_log() {
	tail -n 20 "$tmp/$1.err" >&2 || true
}

rc=0
run shot --screenshot="$png" --window-size=1200,800 || rc=$?
if [ "$rc" -ne 0 ]; then
	show_log shot
	fail "chromium --screenshot exited with $rc"
fi
[ -s "$png" ] || { show_log shot; fail "chromium wrote no png ($png)"; }
sig=$(od -An -tx1 -N8 "$png" | tr -d ' \n')
[ "$sig" = 89504e470d0a1a0a ] || fail "$png is not a png (starts with $sig)"

rc=0
run dom --dump-dom || rc=$?
if [ "$rc" -ne 0 ]; then
	show_log dom
	fail "chromium --dump-dom exited with $rc"
fi
cp "$tmp/dom.out" "$dom"
if grep -q -i parsererror "$dom"; then
	sed -n 's/.*\(error on line[^<]*\).*/\1/p' "$dom" | head -n 3 >&2
	fail "chromium could not parse $svg as XML (parsererror, see $dom)"
fi
grep -q '<svg' "$dom" || fail "no <svg> root in the dom of $svg (see $dom)"
echo "render.sh: $png ($(wc -c < "$png") bytes), dom has <svg> and no parsererror"
