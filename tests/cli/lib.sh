# lib.sh - what the CLI test scripts share; sourced after `set -u`.
#   ok, bad MESSAGE          count a check (bad prints "FAIL: MESSAGE")
#   expect CODE OUT_RE ERR_RE -- COMMAND...
#                            run COMMAND: its exit status must be CODE,
#                            stdout and stderr match the extended regular
#                            expressions (empty: anything), no crash
#   holds EXPR               awk's verdict on a comparison of numbers
#   native PROGRAM           true when PROGRAM is an ELF file (a cross
#                            build's tool is a script that runs qemu)
#   loaded_late PROGRAM LIB  a check that PROGRAM does not need LIB (a
#                            pattern of its soname) at start: it loads it
#                            with dlopen when a command needs it
#   hist_make FILE           run $script (cli_hist_script) in $tmp on the
#                            script on stdin after "open $seg; hcreate
#                            FILE" (the default tiers of shmstat record);
#                            a check that it ran without ERR
#   finish                   print the tally; exit 1 if a check failed
# Scripts that source it set $tmp, a directory of their own; expect keeps
# the last command's stderr in $expect_err (default $tmp/expect.err).
pass=0
fail=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

expect() {
	local code=$1 out_re=$2 err_re=$3 out err rc
	shift 4
	out=$("$@" 2>"${expect_err:-$tmp/expect.err}"); rc=$?
	err=$(cat "${expect_err:-$tmp/expect.err}")
	if [ "$rc" -ne "$code" ]; then
		bad "$*: exit $rc, expected $code (stdout: $out) (stderr: $err)"; return
	fi
	if [ -n "$out_re" ] && ! grep -Eq -- "$out_re" <<<"$out"; then
		bad "$*: stdout does not match /$out_re/: $out"; return
	fi
	if [ -n "$err_re" ] && ! grep -Eq -- "$err_re" <<<"$err"; then
		bad "$*: stderr does not match /$err_re/: $err"; return
	fi
	if grep -q "Sanitizer\|runtime error\|Segmentation" <<<"$err"; then
		bad "$*: crashed: $err"; return
	fi
	ok
}

holds() { awk "BEGIN { exit !($1) }"; }

native() { [ "$(head -c 4 "$1" | od -An -c | tr -d ' ')" = '177ELF' ]; }

loaded_late() {
	if LC_ALL=C readelf -d "$1" | grep -q "NEEDED.*$2"; then
		bad "$1 needs $2 at start"
	else
		ok
	fi
}

hist_make() {
	{
		echo "open $seg"
		echo "hcreate $1 1:600,10:21600,300:604800"
		cat
	} | (cd "$tmp" && exec "$script") >"$tmp/out" 2>&1
	if [ "${PIPESTATUS[1]}" != 0 ] || grep -q ERR "$tmp/out"; then
		bad "cli_hist_script: $(cat "$tmp/out")"
	else
		ok
	fi
}

finish() {
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
}
