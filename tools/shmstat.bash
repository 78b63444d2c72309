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
		COMPREPLY=($(compgen -W "list show hist top watch gc rm record trend check serve flame help version --version" -- "$cur"))
		return
	fi
	cmd=${COMP_WORDS[1]}
	case "$cmd:$prev" in
	top:--by) COMPREPLY=($(compgen -W "hits weight recent upper" -- "$cur")); return ;;
	flame:--by) COMPREPLY=($(compgen -W "samples weight" -- "$cur")); return ;;
	flame:--svg) COMPREPLY=($(compgen -f -- "$cur")); return ;;
	flame:--metric|flame:--pid|flame:--title) return ;;
	trend:-f|trend:--figure)
		COMPREPLY=($(compgen -W "rate increase gauge quantile mean hits misses weight evictions hit_ratio" -- "$cur")); return ;;
	trend:--better) COMPREPLY=($(compgen -W "higher lower" -- "$cur")); return ;;
	check:--emit) COMPREPLY=($(compgen -W "prometheus-rules" -- "$cur")); return ;;
	*:-o|*:--history|*:-H|*:-r|*:--rules|*:--state|*:--out) COMPREPLY=($(compgen -f -- "$cur")); return ;;
	serve:-s|serve:--segment) COMPREPLY=($(compgen -W "$(_shmstat_segments)" -- "$cur")); return ;;
	*:-w|*:--window|*:--at|*:--step|*:--interval|*:--tiers|*:--size|*:--top|*:--count|*:-q|*:-l|*:--listen|*:--le-per-octave) return ;;
	*:-i|*:-n|*:-I|*:-X|*:-l|*:--owner|*:--high-value|*:--labels) return ;;
	esac
	case "$cmd" in
	show) opts="-p --per-process --json --prom --openmetrics --csv -i --interval -I -X --raw --out --history --window --at --range --help" ;;
	record) opts="-o --history --interval --tiers --size --top --group-read --count --wait --help" ;;
	trend) opts="-w --window --at --step -l --labels -f --figure -q --better --owner --raw --json --help" ;;
	check) opts="-r --rules -H --history --state --no-state -t --timeout -V --version --rate --increase --gauge --quantile --ratio --sig --window --below --min-samples -w --warning -c --critical --json --emit --out --help" ;;
	serve) opts="-l --listen -s --segment --uid --le-per-octave --top --max-series --max-bytes --timeout -H --history --help" ;;
	watch) opts="-i --interval -n --count -I -X --raw --wait --lines -h -t --help" ;;
	top) opts="-n --by --owner --high-value --raw --json --history --window --at --help" ;;
	gc) opts="--profiles --help" ;;
	hist) opts="-l --labels --raw --help" ;;
	flame) opts="--latency --metric --by --pid --per-process --addresses --svg --title --help" ;;
	help) COMPREPLY=($(compgen -W "list show hist top watch gc rm record trend check serve flame" -- "$cur")); return ;;
	*) opts="--help" ;;
	esac
	if [[ "$cur" == -* ]]; then
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
	elif [ "$cmd" = trend ] || [ "$cmd" = serve ]; then
		COMPREPLY=($(compgen -f -- "$cur"))
	else
		COMPREPLY=($(compgen -W "$(_shmstat_segments)" -- "$cur"))
	fi
}
complete -F _shmstat shmstat
