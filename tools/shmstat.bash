# bash completion for shmstat(1)
_shmstat_segments()
{
	local f
	for f in /dev/shm/shmstat.*; do
		[ -e "$f" ] && printf '%s\n' "${f#/dev/shm/shmstat.}"
	done
}

_shmstat()
{
	local cur prev cmd opts
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD-1]}
	if [ "$COMP_CWORD" -eq 1 ]; then
		COMPREPLY=($(compgen -W "list show hist top watch gc rm help" -- "$cur"))
		return
	fi
	cmd=${COMP_WORDS[1]}
	case "$cmd:$prev" in
	top:--by) COMPREPLY=($(compgen -W "hits weight recent" -- "$cur")); return ;;
	*:-i|*:-n|*:-I|*:-X|*:-l|*:--owner|*:--high-value|*:--labels) return ;;
	esac
	case "$cmd" in
	show) opts="-p --per-process --json --prom --openmetrics --csv -I -X --raw --help" ;;
	watch) opts="-i -n -I -X --raw --lines --help" ;;
	top) opts="-n --by --owner --high-value --help" ;;
	hist) opts="-l --labels --help" ;;
	help) COMPREPLY=($(compgen -W "list show hist top watch gc rm" -- "$cur")); return ;;
	*) opts="--help" ;;
	esac
	if [[ "$cur" == -* ]]; then
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
	else
		COMPREPLY=($(compgen -W "$(_shmstat_segments)" -- "$cur"))
	fi
}
complete -F _shmstat shmstat
