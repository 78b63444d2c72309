# lib.sh - what the CLI test scripts share; sourced after `set -u`.
#   ok, bad MESSAGE          count a check (bad prints "FAIL: MESSAGE")
#   expect CODE OUT_RE ERR_RE -- COMMAND...
#                            run COMMAND: its exit status must be CODE,
#                            stdout and stderr match the extended regular
#                            expressions (empty: anything), no crash
#   holds EXPR               awk's verdict on a comparison of numbers
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

finish() {
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
}
