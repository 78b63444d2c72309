#!/bin/sh
# mkman.sh SHMSTAT - write the shmstat(1) man page to stdout, built from the
# tool's own usage strings (so the page cannot disagree with the tool).
set -eu
tool=$1
esc() { sed -e 's/\\/\\e/g' -e 's/^\./\\\&./' -e "s/^'/\\\\\\&'/"; }
cat <<'HEAD'
.TH SHMSTAT 1 "" "shmstat" "User Commands"
.SH NAME
shmstat \- read live metrics from shmstat shared-memory segments
.SH SYNOPSIS
.B shmstat
.I COMMAND
.RI [ ARGS ]
.br
.B shmstat help
.RI [ COMMAND ]
.SH DESCRIPTION
Instrumented processes write counters, gauges, histograms and signature
tables into a POSIX shared-memory segment,
.IR /dev/shm/shmstat.NAME .
.B shmstat
reads segments without locks and without slowing the writers down.
.SH COMMANDS
HEAD
for c in $("$tool" help | awk '/^commands:/ {on=1; next} on && !NF {exit} on {print $1}'); do
	printf '.SS %s\n.nf\n' "$c"
	"$tool" help "$c" | esc
	printf '.fi\n'
done
cat <<'TAIL'
.SH EXIT STATUS
0 on success, 1 on an error (a message on standard error names what is
wrong), 2 on a usage error.
.B shmstat check
exits with the Nagios plugin codes instead: 0 OK, 1 WARNING, 2 CRITICAL,
3 UNKNOWN (also for a usage or configuration error and a timeout).
.SH FILES
.I /dev/shm/shmstat.*
.SH SEE ALSO
The library's documentation: docs/api.md and docs/format.md in the
source tree.
TAIL
