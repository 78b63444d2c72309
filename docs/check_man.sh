#!/bin/sh
# The man page shows every command with its usage line, and man renders it.
set -u
tool=$1
page=$2
pass=0
fail=0
for c in $("$tool" help | awk '/^commands:/ {on=1; next} on && !NF {exit} on {print $1}'); do
	first=$("$tool" help "$c" | head -n 1)
	if grep -qxF -- ".SS $c" "$page" && grep -qxF -- "$first" "$page"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1)); echo "FAIL: $page lacks command '$c' or its usage line"
	fi
done
if command -v man >/dev/null; then
	if man -l "$page" 2>/dev/null | grep -q "EXIT STATUS"; then pass=$((pass + 1))
	else fail=$((fail + 1)); echo "FAIL: man -l does not render $page"; fi
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
