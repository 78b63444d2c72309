#!/bin/sh
# The shared library's thread-local block stays small. It has
# initial-exec thread-locals, so a dlopen() of it must place its whole TLS
# block in the static TLS that glibc keeps spare for such libraries, a
# few hundred bytes past what the program's own modules took: at 0x6b8
# bytes test_dlclose's dlopen() failed ("cannot allocate memory in static
# TLS block"), and a host that has dlopen()ed another such library first
# leaves less. The limit keeps about 500 bytes of that spare room free.
set -eu
lib=$1
limit=1280
hex=$(readelf -lW "$lib" | awk '$1 == "TLS" { print $6 }')
size=$((${hex:-0}))
if [ "$size" -gt "$limit" ]; then
	echo "$lib: its TLS block is $size bytes, more than $limit: a dlopen() of it may fail"
	echo "(move a thread-local array to the heap, as libshm/util.c does with the error message)"
	exit 1
fi
echo "TLS block $size bytes (limit $limit); 1 passed, 0 failed"
