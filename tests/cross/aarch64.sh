#!/usr/bin/env bash
# tests/cross/aarch64.sh - build shmstat for aarch64 (arm64) with Debian's
# cross compiler and run its tests under qemu-user (docs/ci.md, "aarch64").
# Not part of ./dev test: it takes far longer.
#
#   tests/cross/aarch64.sh [meson test args...]
#
# Installs what it needs (as root; otherwise prints the apt-get command and
# exits 2), builds tests/cross/qemu_procfix.c, writes the qemu wrapper into
# a second cross file, configures build-aarch64/ with tests/cross/aarch64.txt
# and -Dsanitizers=false, builds, and runs `meson test` with a timeout
# multiplier. Arguments go to `meson test` (e.g. --suite unit, a test name).
#
# Environment:
#   BUILD=DIR       build directory (default build-aarch64); DIR-qemu beside
#                   it holds the shim and the wrapper's cross file
#   QEMU=PROG       the qemu-aarch64 to run, as is (default: qemu-aarch64
#                   on PATH if it is QEMU 10 or newer, otherwise Debian 13's,
#                   fetched into DIR-qemu: see "qemu" below)
#   TIMEOUT_MULT=N  meson test --timeout-multiplier (default 10)
set -euo pipefail
cd "$(dirname "$0")/../.."
top=$PWD
build=${BUILD:-build-aarch64}
case "$build" in /*) ;; *) build=$top/$build ;; esac
qdir=$build-qemu
qemu=${QEMU:-qemu-aarch64}
mult=${TIMEOUT_MULT:-10}

# ---------------------------------------------------------------- packages
# Host: the cross compilers, qemu-user, the build tools and what the test
# scripts run on the host (promtool and curl: tests/cli/prometheus.sh;
# chromium: tests/flame/render.sh; lowdown: the section 5 man pages,
# docs/mkman5.sh; man-db: the man-page test renders them). arm64: the -dev
# packages of the libraries the build links, from Debian's multiarch
# archive.
host_packages=(crossbuild-essential-arm64 qemu-user meson ninja-build pkg-config
	prometheus curl chromium lowdown man-db)
arm64_packages=(libc6-dev liburcu-dev libxxhash-dev libmicrohttpd-dev libyaml-dev
	libjansson-dev libncurses-dev libdw-dev libiberty-dev libcmocka-dev)

missing=()
for p in "${host_packages[@]}" "${arm64_packages[@]/%/:arm64}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
need_arch=0
dpkg --print-foreign-architectures | grep -qx arm64 || need_arch=1
if [ ${#missing[@]} -gt 0 ] || [ $need_arch -eq 1 ]; then
	if [ "$(id -u)" -eq 0 ]; then
		export DEBIAN_FRONTEND=noninteractive
		if [ $need_arch -eq 1 ]; then
			echo "aarch64.sh: dpkg --add-architecture arm64" >&2
			dpkg --add-architecture arm64
		fi
		echo "aarch64.sh: installing ${missing[*]}" >&2
		apt-get update -qq >&2
		apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
	else
		echo "aarch64.sh: missing Debian packages; run:" >&2
		[ $need_arch -eq 1 ] && echo "  sudo dpkg --add-architecture arm64" >&2
		echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
		exit 2
	fi
fi

# ---------------------------------------------------------------- qemu
# Debian 12's qemu-user (7.2) crashes in the child when a multi-threaded
# program forks (every process of ours has liburcu's threads): "ERROR:
# ../../plugins/core.c:221:qemu_plugin_vcpu_init_hook: assertion failed"
# and "cpu_exec: assertion failed: (cpu == current_cpu)", and the child
# dies. QEMU 10.0 (Debian 13's) runs the same tests. Unless QEMU names one,
# a qemu-aarch64 older than 10 on PATH is replaced by Debian 13's, fetched
# with apt-get download through a private apt configuration under $qdir
# and unpacked there, not installed (its qemu-aarch64 is static).
mkdir -p "$qdir"
qemu_major() { "$1" --version | sed -n '1s/.*version \([0-9]*\)\..*/\1/p'; }
if [ -z "${QEMU:-}" ] && [ "$(qemu_major "$(command -v "$qemu" || echo false)")" -lt 10 ] 2>/dev/null; then
	if [ ! -x "$qdir/trixie/usr/bin/qemu-aarch64" ]; then
		echo "aarch64.sh: $($qemu --version | head -1) crashes in fork children of threaded programs;" \
		     "fetching Debian 13's qemu-user into $qdir/trixie" >&2
		apt=$qdir/apt
		mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/dl"
		echo "deb [arch=amd64] http://deb.debian.org/debian trixie main" >"$apt/sources.list"
		aptopts=(-o Dir::Etc::SourceList="$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
			-o Dir::State::Lists="$apt/lists" -o Dir::Cache="$apt/cache"
			-o APT::Architecture=amd64 -o APT::Architectures::=amd64 -o APT::Sandbox::User="$(id -un)")
		apt-get -qq "${aptopts[@]}" update >&2
		(cd "$apt/dl" && rm -f ./*.deb && apt-get -qq "${aptopts[@]}" download qemu-user >&2)
		rm -rf "$qdir/trixie"
		dpkg-deb -x "$apt"/dl/qemu-user_*.deb "$qdir/trixie"
	fi
	qemu=$qdir/trixie/usr/bin/qemu-aarch64
fi
command -v "$qemu" >/dev/null || { echo "aarch64.sh: $qemu not found" >&2; exit 2; }
qemu=$(command -v "$qemu")

# ---------------------------------------------------------------- qemu wrapper
# qemu_procfix.so (see its top comment) is preloaded into every aarch64
# program through qemu's -E, which sets the guest's environment only: qemu
# itself, an x86-64 program, does not load it. Built here, before meson
# setup, because meson runs the exe_wrapper during setup (its sanity check).
aarch64-linux-gnu-gcc -std=gnu11 -O2 -Wall -Wextra -Werror -fPIC -shared \
	-o "$qdir/libqemu_procfix.so" tests/cross/qemu_procfix.c
wrapper="['$qemu', '-E', 'LD_PRELOAD=$qdir/libqemu_procfix.so']"
cat >"$qdir/qemu.txt" <<EOF
# written by tests/cross/aarch64.sh: the qemu wrapper for tests/cross/aarch64.txt
[binaries]
exe_wrapper = $wrapper

[properties]
run_wrapper = $wrapper
EOF

# ---------------------------------------------------------------- build, test
echo "aarch64.sh: $("$qemu" --version | head -1), $(aarch64-linux-gnu-gcc --version | head -1)" >&2
if [ -f "$build/build.ninja" ]; then
	meson setup --reconfigure "$build" -Dsanitizers=false >&2
else
	meson setup "$build" --cross-file tests/cross/aarch64.txt --cross-file "$qdir/qemu.txt" \
		-Dsanitizers=false >&2
fi
ninja -C "$build" >&2
# meson test's exit status is the script's; --print-errorlogs shows the
# output of the failures
exec meson test -C "$build" --timeout-multiplier "$mult" --print-errorlogs "$@"
