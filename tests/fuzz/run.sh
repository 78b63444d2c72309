#!/usr/bin/env bash
# tests/fuzz/run.sh - build the libFuzzer harnesses with clang (ASan +
# UBSan) and run each for a while on a copy of its seed corpus.
#
#   tests/fuzz/run.sh [--src SOURCE_ROOT] BUILD_DIR [SECONDS [HARNESS...]]
#
# SOURCE_ROOT the project's sources (default: the tree this script is in)
# BUILD_DIR   where objects, harnesses, work corpora and crash inputs go
#             (created; never the source tree)
# SECONDS     run time per harness (default 60); 0: build only
# HARNESS     segment, history, rules (default: all three, side by side,
#             FUZZ_PARALLEL at a time)
#
# Exit status 0 when no harness found anything; 77 (skipped) without
# clang or its libFuzzer runtime; 1 when one crashed,
# leaked, timed out or ran out of memory: the input is left in
# BUILD_DIR/artifacts/ and printed (path and base64). Reproduce with
#   BUILD_DIR/fuzz_NAME BUILD_DIR/artifacts/NAME-crash-...
#
# Environment: CC (default clang), FUZZ_ARGS (more libFuzzer flags, e.g.
# -jobs=2 -workers=2), FUZZ_PARALLEL (harnesses run at a time; default:
# the CPUs, each harness being one process), FUZZ_KEEP=1 keeps the corpus
# grown by a previous run in BUILD_DIR/work/NAME (default: a fresh copy of
# the seeds).
# docs/fuzzing.md says more.
set -euo pipefail

usage() {
	sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'
	exit 2
}

src=
if [ "${1:-}" = --src ]; then
	[ $# -ge 2 ] || usage
	src=$(cd "$2" && pwd)
	shift 2
fi
[ $# -ge 1 ] || usage
case "$1" in -h|--help) usage ;; esac
build=$1
seconds=${2:-60}
shift $(( $# >= 2 ? 2 : 1 ))
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=(segment history rules)
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "run.sh: SECONDS must be a number, not '$seconds'" >&2; exit 2; }
for h in "${harnesses[@]}"; do
	case "$h" in segment|history|rules) ;; *) echo "run.sh: unknown harness '$h'" >&2; exit 2 ;; esac
done
jobs_max=$(nproc 2>/dev/null || echo 2)
parallel=${FUZZ_PARALLEL:-$jobs_max}
[[ "$parallel" =~ ^[1-9][0-9]{0,3}$ ]] ||
	{ echo "run.sh: FUZZ_PARALLEL must be a whole number from 1 to 9999, not '$parallel'" >&2; exit 2; }

[ -n "$src" ] || src=$(cd "$(dirname "$0")/../.." && pwd)
fuzz=$src/tests/fuzz
mkdir -p "$build"
build=$(cd "$build" && pwd)
case "$build/" in
"$src/tests/"*|"$src/libshm/"*|"$src/tools/"*|"$src/docs/"*)
	echo "run.sh: BUILD_DIR must not be inside the source tree's sources" >&2; exit 2 ;;
esac

CC=${CC:-clang}
if ! command -v "$CC" >/dev/null ||
   ! echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { return 0; }' |
     "$CC" -x c -fsanitize=fuzzer,address,undefined -o /dev/null - 2>/dev/null; then
	echo "run.sh: skipped: no $CC with libFuzzer (Debian: apt-get install clang libclang-rt-14-dev)" >&2
	exit 77
fi

san=(-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
cflags=(-g -O1 -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter
	-Wno-missing-field-initializers -Werror
	-I"$src/libshm/include" -I"$src/libshm" -I"$src/libshm/history"
	-I"$src/libshm/profile" -I"$src/tools" -I"$src/tools/cmd" -I"$src/tools/render"
	-I"$src/tools/alerting" -I"$src/tools/symbolize"
	$(pkg-config --cflags liburcu-bp liburcu-cds libxxhash yaml-0.1 jansson libmicrohttpd ncursesw libdw))
libs=($(pkg-config --libs liburcu-bp liburcu-cds libxxhash yaml-0.1 jansson libmicrohttpd ncursesw libdw) -liberty -lpthread -lm)

# ------------------------------------------------------------------ build
# Every library source, and every tool source but the demo programs
# (tools/demo/; the tool's main() renamed: libFuzzer has its own),
# compiled once with coverage for libFuzzer; each harness links them all.
obj=$build/obj
mkdir -p "$obj"
sources=("$src"/libshm/*.c "$src"/libshm/*/*.c)
for f in "$src"/tools/*.c "$src"/tools/*/*.c; do
	case "$f" in "$src"/tools/demo/*) continue ;; esac
	sources+=("$f")
done

compile() {   # SOURCE OBJECT [FLAGS...]
	local s=$1 o=$2
	shift 2
	if [ ! -e "$o" ] || [ "$s" -nt "$o" ] || [ "$0" -nt "$o" ] ||
	   [ -n "$(find "$src/libshm" "$src/tools" "$fuzz" -name '*.h' -newer "$o" -print -quit)" ]; then
		"$CC" "${cflags[@]}" "${san[@]}" -fsanitize=fuzzer-no-link "$@" -c "$s" -o "$o"
	fi
}

objs=()
pids=()
for s in "${sources[@]}"; do
	dir=$(basename "$(dirname "$s")")
	o=$obj/$dir-$(basename "$s" .c).o
	objs+=("$o")
	extra=()
	[ "$s" = "$src/tools/shmstat.c" ] && extra=(-Dmain=shmstat_tool_main)
	# liburcu's cds_lfht_for_each_entry() takes caa_container_of() of
	# the NULL that ends the walk (shmstat_close(), writer side): clang's
	# pointer-overflow check stops there; not what the harnesses test
	[ "$s" = "$src/libshm/registry.c" ] && extra=(-fno-sanitize=pointer-overflow)
	compile "$s" "$o" "${extra[@]}" &
	pids+=($!)
	if [ ${#pids[@]} -ge "$jobs_max" ]; then
		wait "${pids[0]}" || { echo "run.sh: build failed" >&2; exit 1; }
		pids=("${pids[@]:1}")
	fi
done
for p in "${pids[@]}"; do
	wait "$p" || { echo "run.sh: build failed" >&2; exit 1; }
done

for h in segment history rules; do
	compile "$fuzz/fuzz_$h.c" "$obj/fuzz_$h.o"
	out=$build/fuzz_$h
	if [ ! -e "$out" ] || [ -n "$(find "$obj" -name '*.o' -newer "$out" -print -quit)" ]; then
		"$CC" -fsanitize=fuzzer "${san[@]}" "$obj/fuzz_$h.o" "${objs[@]}" "${libs[@]}" -o "$out"
	fi
done
[ "$seconds" -gt 0 ] || { echo "run.sh: built $build/fuzz_{segment,history,rules}"; exit 0; }

# -------------------------------------------------------------------- run
max_len_of() {
	case "$1" in
	segment) echo 81920 ;;    # the seeds: 28 to 68 KiB (4 KiB pages)
	history) echo 65536 ;;    # the seeds: 16 and 64 KiB
	rules)   echo 16384 ;;
	esac
}

export SHMSTAT_FUZZ_TAG=fuzzrun$$
pids=()
cleanup() {
	# the harnesses still running (killed alone, not with its process
	# group, this script would leave them behind)
	local p
	for p in "${pids[@]}"; do
		pkill -TERM -P "$p" 2>/dev/null || true
		kill "$p" 2>/dev/null || true
	done
	rm -f /dev/shm/shmstat."$SHMSTAT_FUZZ_TAG"-*
	rm -rf "${TMPDIR:-/tmp}"/shmstat-"$SHMSTAT_FUZZ_TAG"-*
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM PIPE      # the EXIT trap cleans up then too
# libFuzzer's own checks do the work; a leak is a failure, like a crash
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

mkdir -p "$build/artifacts" "$build/logs"

# run_one NAME: one harness for SECONDS; its report into logs/NAME.report,
# its status (0 or 1) into logs/NAME.status. The harnesses run side by
# side, as many at a time as there are CPUs (FUZZ_PARALLEL): each is one
# process, so each still has a CPU for its SECONDS, as one after the other.
run_one() {
	local h=$1 work=$build/work/$1 log=$build/logs/$1.log rc=0 before after a
	local dict=()
	if [ "${FUZZ_KEEP:-0}" != 1 ] || [ ! -d "$work" ]; then
		rm -rf "$work"
		mkdir -p "$work"
		cp "$fuzz/corpus/$h"/* "$work"/
	fi
	[ -f "$fuzz/$h.dict" ] && dict=(-dict="$fuzz/$h.dict")
	# this harness's findings: its artifacts are named NAME-...
	before=$(ls "$build/artifacts" | grep -c "^$h-" || true)
	echo "== fuzz_$h: ${seconds}s on $(ls "$work" | wc -l) inputs (log: $log)"
	# -jobs=N writes its fuzz-N.log files in the working directory: one
	# of each harness's own
	mkdir -p "$build/jobs/$h"
	cd "$build/jobs/$h"
	# -close_fd_mask=3: what the tools print is thrown away; libFuzzer
	# and the sanitizers report on a copy of stderr
	"$build/fuzz_$h" -max_total_time="$seconds" -max_len="$(max_len_of "$h")" -timeout=10 \
		-rss_limit_mb=2048 -close_fd_mask=3 -print_final_stats=1 \
		-artifact_prefix="$build/artifacts/$h-" "${dict[@]}" ${FUZZ_ARGS:-} \
		"$work" >"$log" 2>&1 || rc=$?
	# the last status line: executions, coverage, speed
	grep -E '^#[0-9]+' "$log" | tail -n 1 || true
	grep -E '^(stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb|stat::new_units_added)' "$log" || true
	after=$(ls "$build/artifacts" | grep -c "^$h-" || true)
	if [ "$rc" -ne 0 ] || [ "$after" -ne "$before" ]; then
		echo 1 > "$build/logs/$h.status"
		echo "!! fuzz_$h failed (exit $rc):"
		grep -E 'ERROR: |runtime error|SUMMARY|Test unit written|timeout|out-of-memory' "$log" | head -n 20 || true
		for a in $(ls -t "$build/artifacts" | grep "^$h-" | head -n $((after - before > 0 ? after - before : 1))); do
			echo "input: $build/artifacts/$a ($(stat -c %s "$build/artifacts/$a") bytes), base64:"
			base64 -w 76 "$build/artifacts/$a" | head -c 65536
			echo
		done
	else
		echo 0 > "$build/logs/$h.status"
	fi
}

pids=()
for h in "${harnesses[@]}"; do
	rm -f "$build/logs/$h.status"
	run_one "$h" > "$build/logs/$h.report" 2>&1 &
	pids+=($!)
	if [ ${#pids[@]} -ge "$parallel" ]; then
		wait "${pids[0]}" || true
		pids=("${pids[@]:1}")
	fi
done
for p in "${pids[@]}"; do
	wait "$p" || true
done
pids=()       # waited for: their pids may be another process's now
# the reports in the harnesses' order; a harness without a status
# (its run_one stopped short) failed
status=0
for h in "${harnesses[@]}"; do
	cat "$build/logs/$h.report"
	case "$(cat "$build/logs/$h.status" 2>/dev/null)" in
	0) ;;
	1) status=1 ;;
	*) status=1; echo "!! fuzz_$h: its run stopped without a result" ;;
	esac
done
exit $status
