#!/bin/sh
# check_man.sh SHMSTAT PAGE1 [PAGE5...] - the man pages as installed:
#  - shmstat(1), PAGE1, shows every command with its usage line, the
#    options before COMMAND (--owner) and --version as `shmstat help` says
#    them, names the section 5 pages in SEE ALSO, and nothing in the
#    source tree (docs/);
#  - each section 5 page (shmstat-rules(5), shmstat-history(5)) has NAME,
#    DESCRIPTION and SEE ALSO;
#  - every page renders with man -l at 80 columns, and with groff with all
#    warnings on, without a word on stderr (when man and groff are there:
#    ./dev test installs man-db, which brings groff-base).
set -u
tool=$1
page=$2
shift 2
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
err=$(mktemp)
trap 'rm -f "$err" "$err.man" "$err.top"' EXIT

for c in $("$tool" help | awk '/^commands:/ {on=1; next} on && !NF {exit} on {print $1}'); do
	first=$("$tool" help "$c" | head -n 1)
	if grep -qxF -- ".SS $c" "$page" && grep -qxF -- "$first" "$page"; then ok
	else bad "$page lacks command '$c' or its usage line"; fi
done
# and the options that come before COMMAND (--owner) and --version, as
# the tool's own usage says them (the page had none of them)
"$tool" help | awk '/^commands:/ {exit} NF {print}' > "$err.top"
while IFS= read -r line; do
	grep -qxF -- "$line" "$page" && ok || bad "$page lacks the tool's usage line '$line'"
done < "$err.top"
for p in shmstat-rules shmstat-history; do
	grep -qx "\.BR $p (5)" "$page" && ok || bad "$page: SEE ALSO does not name $p(5)"
done
grep -n 'docs/' "$page" && bad "$page points into the source tree (docs/)" || ok

for p5 in "$@"; do
	for s in NAME DESCRIPTION "SEE ALSO"; do
		grep -qx "\.SH $s" "$p5" && ok || bad "$p5 has no section $s"
	done
	grep -qx '\.BR shmstat (1),' "$p5" && ok || bad "$p5: SEE ALSO does not name shmstat(1)"
done

# render PAGE HEADING: man -l at 80 columns; stderr must stay empty
render() {
	out=$(MANWIDTH=80 man -l "$1" 2>"$err.man") || { bad "man -l $1 failed: $(cat "$err.man")"; return; }
	if [ -s "$err.man" ]; then bad "man -l $1 warns: $(cat "$err.man")"; return; fi
	printf '%s\n' "$out" | grep -q "^$2" && ok || bad "man -l $1 does not render its $2"
}
if command -v man >/dev/null; then
	render "$page" "EXIT STATUS"
	for p5 in "$@"; do render "$p5" "DESCRIPTION"; done
else
	echo "SKIP: man is not installed: the pages are not rendered (./dev test installs man-db)" >&2
fi
if command -v groff >/dev/null; then
	for p in "$page" "$@"; do
		groff -k -t -man -Tutf8 -ww -z "$p" 2>"$err"
		[ -s "$err" ] && bad "groff -ww warns on $p: $(cat "$err")" || ok
	done
else
	echo "SKIP: groff is not installed: the pages are not checked for warnings" >&2
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
