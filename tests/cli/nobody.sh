# nobody.sh - sourced by the CLI test scripts (cli.sh, history.sh) for the
# steps that act as another user: uid and gid 65534 ("nobody"), no
# supplementary groups, through setpriv; only as root.
#
# That user may not reach the source or the build tree: a clone under a
# 0700 home directory or a `mktemp -d` folder is private. So nothing of
# the tree is run or read as nobody: each program it runs is copied, with
# the libshmstat.so it loads, into a directory of its own under /tmp
# (0755, programs 0755, the library 0644), and files it must reach go
# there too. as_nobody refuses to start a program from anywhere else, so
# the normal suite fails if a step goes back to the build tree.
#
#   nobody_init          make $nobody_dir; 1 with $nobody_why set (and
#                        $nobody_dir empty) when no step can act as nobody
#                        here (not root, no setpriv)
#   nobody_copy VAR PROG copy PROG into $nobody_dir, set VAR to the copy;
#                        1 with $nobody_why set when it cannot be copied
#                        (a cross build's wrapper script), 1 after bad()
#                        when the copy does not load its own library
#   as_nobody CMD...     run CMD as nobody; CMD a system program (no
#                        slash) or a copy in $nobody_dir
#   nobody_cleanup       remove $nobody_dir (from the script's exit trap)
#
# The caller defines bad() (a failed check) and prints "SKIP: ... :
# $nobody_why" on stderr for the steps it leaves out.

nobody_dir=
nobody_why=

nobody_init() {
	if [ "$(id -u)" -ne 0 ]; then
		nobody_why="not root: only root can act as uid 65534"
		return 1
	fi
	if ! command -v setpriv >/dev/null; then
		nobody_why="setpriv (util-linux) is not installed"
		return 1
	fi
	nobody_dir=$(mktemp -d /tmp/shmstat-nobody.XXXXXX) || {
		nobody_why="cannot make a directory under /tmp"
		return 1
	}
	if ! chmod 0755 "$nobody_dir" || ! mkdir -m 0755 "$nobody_dir/lib"; then
		nobody_why="cannot set up $nobody_dir"
	elif ! setpriv --reuid 65534 --regid 65534 --clear-groups -- test -x "$nobody_dir/lib"; then
		nobody_why="uid 65534 cannot reach $nobody_dir"
	else
		return 0
	fi
	nobody_cleanup
	return 1
}

nobody_cleanup() {
	[ -n "$nobody_dir" ] && rm -rf "$nobody_dir"
	nobody_dir=
}

as_nobody() {
	case $1 in
	"$nobody_dir"/*) ;;
	*/*)
		echo "as_nobody: '$1' is not a copy in $nobody_dir (uid 65534 may not reach the build tree)" >&2
		return 126 ;;
	esac
	setpriv --reuid 65534 --regid 65534 --clear-groups -- \
		env LD_LIBRARY_PATH="$nobody_dir/lib" "$@"
}

nobody_copy() {
	local var=$1 prog=$2 copy soname lib loaded
	case $(head -c 4 "$prog" 2>/dev/null) in
	$'\177ELF') ;;
	*)
		nobody_why="$prog is not an ELF program (a cross build's wrapper runs the build tree's program): not copied"
		return 1 ;;
	esac
	copy=$nobody_dir/${prog##*/}
	install -m 0755 "$prog" "$copy" || {
		nobody_why="cannot copy $prog"; bad "$nobody_why to $nobody_dir"; return 1; }
	# the project's own library, found through the build's RUNPATH
	# ($ORIGIN/../libshm), which means nothing for the copy; its path
	# whole, spaces and all ("NAME => PATH (0xADDRESS)"; awk's $3 was
	# /tmp/my in a clone under "/tmp/my clone")
	read -r soname lib < <(ldd "$prog" |
		sed -n 's/^[[:space:]]*\(libshmstat\.so[^ ]*\) => \(.*\) (0x[0-9a-f]*)$/\1 \2/p')
	if [ -n "$soname" ]; then
		install -m 0644 "$lib" "$nobody_dir/lib/$soname" || {
			nobody_why="cannot copy $lib"; bad "$nobody_why to $nobody_dir/lib"; return 1; }
	fi
	# as nobody, the copy loads what it needs, the library from the copy
	loaded=$(setpriv --reuid 65534 --regid 65534 --clear-groups -- env \
		LD_LIBRARY_PATH="$nobody_dir/lib" LD_TRACE_LOADED_OBJECTS=1 "$copy" 2>&1)
	if [ $? -ne 0 ] || grep -q "not found" <<<"$loaded" ||
		{ [ -n "$soname" ] && ! grep -q "$soname => $nobody_dir/lib/$soname " <<<"$loaded"; }; then
		bad "uid 65534 cannot load $copy: $loaded"
		nobody_why="$copy does not load"
		return 1
	fi
	printf -v "$var" %s "$copy"
}
