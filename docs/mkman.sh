#!/bin/sh
# mkman.sh SHMSTAT DOCDIR - write the shmstat(1) man page to stdout, built
# from the tool's own usage strings (so the page cannot disagree with the
# tool); DOCDIR is where the documentation is installed (SEE ALSO).
set -eu
tool=$1
docdir=$2
esc() { sed -e 's/\\/\\e/g' -e 's/^\./\\\&./' -e "s/^'/\\\\\\&'/"; }
cat <<'HEAD'
.TH SHMSTAT 1 "" "shmstat" "User Commands"
.SH NAME
shmstat \- read live metrics from shmstat shared-memory segments
.SH SYNOPSIS
.B shmstat
.RB [ \-\-owner
.IR USER ]...\&
.I COMMAND
.RI [ ARGS ]
.br
.B shmstat help
.RI [ COMMAND ]
.br
.B shmstat \-\-version
|
.B version
.SH DESCRIPTION
Instrumented processes write counters, gauges, histograms and signature
tables into a POSIX shared-memory segment,
.IR /dev/shm/shmstat.NAME .
.B shmstat
reads segments without locks and without slowing the writers down.
.SH OPTIONS
HEAD
# the tool's own usage, up to its list of commands: the options that come
# before COMMAND (--owner) and --version
printf '.nf\n'
"$tool" help | awk '/^commands:/ {exit} {print}' | sed -e '$ { /^$/d; }' | esc
printf '.fi\n.SH COMMANDS\n'
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
.BR shmstat-rules (5)
(the rules file of
.BR "shmstat check" ),
.BR shmstat-history (5)
(history files).
TAIL
printf '.PP
In
.IR %s :
' "$docdir"
cat <<'TAIL'
rules.md and history.md, the text of those pages in Markdown,
prometheus.md, how to export to Prometheus with
.B shmstat serve
and
.BR "shmstat check \-\-emit prometheus\-rules" ,
and cachesim-rules.yaml, an example rules file.
The library's interface is described in its headers,
.IR shmstat.h ,
.IR shmstat_inline.h ,
.IR shmstat_profile.h ,
.I shmstat_history.h
and
.IR shmstat_window.h .
TAIL
