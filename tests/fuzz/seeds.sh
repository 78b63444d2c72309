#!/usr/bin/env bash
# seeds.sh SHMSTAT SOURCE_DIR - every seed of tests/fuzz/corpus/segment and
# corpus/history is read by this build: `shmstat show` of each segment
# (copied into /dev/shm) and `shmstat show --history FILE --range @0 now`
# of each history file exit 0. A seed of an older format is refused at
# the version check, and a fuzzer that starts from it reaches nothing
# else: the segment seeds were format 2 from format 3 on, and 20 s of
# fuzz_segment covered 64 edges where docs/fuzzing.md says about 1,000.
# Make the seeds again when the format changes (docs/fuzzing.md, "Seeds").
set -u
shmstat=$1
corpus=$2/tests/fuzz/corpus
tag="fzseed-$$"
fail=0
pass=0
err=$(mktemp) || exit 1
trap 'rm -f "$err" /dev/shm/shmstat."$tag"-*' EXIT

bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

for f in "$corpus"/segment/*; do
	n=$(basename "$f")
	cp "$f" "/dev/shm/shmstat.$tag-$n" && chmod 600 "/dev/shm/shmstat.$tag-$n" || { bad "cannot copy $n"; continue; }
	if "$shmstat" show "$tag-$n" >/dev/null 2>"$err"; then pass=$((pass + 1))
	else bad "segment seed $n is not read by this build: $(cat "$err"); make the seeds again (docs/fuzzing.md, Seeds)"; fi
	rm -f "/dev/shm/shmstat.$tag-$n"
done
for f in "$corpus"/history/*; do
	n=$(basename "$f")
	if "$shmstat" show --history "$f" --range @0 now >/dev/null 2>"$err"; then pass=$((pass + 1))
	else bad "history seed $n is not read by this build: $(cat "$err"); make the seeds again (docs/fuzzing.md, Seeds)"; fi
done
echo "seeds: $pass read, $fail not"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
