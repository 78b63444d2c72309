#!/bin/sh
# mkman5.sh LOWDOWN MARKDOWN PAGE DOCDIR SEE_ALSO... - write the section 5
# man page PAGE to stdout, made from MARKDOWN (docs/rules.md,
# docs/history.md) by lowdown(1), so that the page and the Markdown cannot
# disagree:
#   NAME         PAGE, and the title of MARKDOWN (its first line, "# TITLE")
#   DESCRIPTION  the text up to the first "## " heading
#   then a section for each "## " heading, a subsection for each "### "
#   FILES        MARKDOWN as installed in DOCDIR
#   SEE ALSO     the pages SEE_ALSO ("shmstat(1)" ...)
# Links show their text only: their targets are anchors and files of the
# Markdown. Tables: lowdown gives each column of a table the same share
# of the line, in which a long word does not fit ("can't break line");
# the last column, where both pages keep their longest text, takes what
# the others leave instead (tbl's x, which replaces the table's expand).
# Text is set flush left (.ad l): justified, a narrow table cell of code
# words "cannot adjust line".
set -eu
lowdown=$1
md=$2
page=$3
docdir=$4
shift 4
title=$(sed -n '1s/^# //p' "$md" | tr -d '`')
if [ -z "$title" ]; then
	echo "mkman5.sh: $md does not open with a title line '# TITLE'" >&2
	exit 1
fi
printf '.TH %s 5 "" "shmstat" "File Formats"\n.ad l\n' "$(echo "$page" | tr '[:lower:]' '[:upper:]')"
printf '.SH NAME\n%s \\- %s\n.SH DESCRIPTION\n' "$page" "$title"
sed 1d "$md" | "$lowdown" -Tman --nroff-nolinks --parse-no-super --parse-no-strike -M shiftheadinglevelby=-1 |
	awk '/^\.TS$/ { fmt = 1 }
	     fmt && /^tab\(/ { sub(/ expand /, " ") }
	     fmt && /\.$/ { sub(/\.$/, "x."); fmt = 0 }
	     { print }'
printf '.SH FILES\n.TP\n.I %s/%s\n' "$docdir" "${md##*/}"
printf 'this page, in Markdown\n'
printf '.SH SEE ALSO\n'
sep=
for p in "$@"; do
	printf '%s.BR %s (%s)' "$sep" "${p%(*}" "$(echo "${p#*(}" | tr -d ')')"
	sep=',
'
done
printf '\n'
