#!/bin/sh
# The shared library exports exactly the symbols of its version script.
set -eu
lib=$1
map=$2
exported=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRV]$/ && $3 !~ /^SHMSTAT_/ {sub(/@.*/, "", $3); print $3}' | sort -u)
listed=$(sed -n 's/^[[:space:]]*\(shmstat_[a-z0-9_]*\);.*/\1/p' "$map" | sort -u)
if [ "$exported" != "$listed" ]; then
	echo "exported symbols differ from $map:"
	diff -u "$(printf '%s' "$listed" > /tmp/shmstat-listed.$$; echo /tmp/shmstat-listed.$$)" \
		"$(printf '%s' "$exported" > /tmp/shmstat-exported.$$; echo /tmp/shmstat-exported.$$)" || true
	rm -f /tmp/shmstat-listed.$$ /tmp/shmstat-exported.$$
	exit 1
fi
echo "1 passed, 0 failed"
