#!/bin/sh
# valgrind.sh PROGRAM [ARGS...] - PROGRAM under valgrind's memcheck; fails
# (exit 1) on any error: an invalid read or write, a jump on an
# uninitialised value, a bad free, a definite leak. Children made by fork()
# are checked too (they are the same program). VALGRIND_ERROR_EXIT sets the
# exit code of a valgrind error (default 1), to tell it from the program's.
set -eu
if ! command -v valgrind >/dev/null 2>&1; then
	echo "valgrind is not installed (Debian: apt-get install valgrind): skipped"
	exit 77
fi
exec valgrind --quiet --error-exitcode="${VALGRIND_ERROR_EXIT:-1}" --leak-check=full --errors-for-leak-kinds=definite \
	--show-leak-kinds=definite --track-origins=yes --num-callers=30 "$@"
