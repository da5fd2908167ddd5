# SPDX-License-Identifier: ISC
# bash completion for sock(1), installed by make install as
# $(PREFIX)/share/bash-completion/completions/sock.
#
# The option lists follow the table in sock.c (options[]);
# test/options.bats fails when an option is missing here, or when an
# option's value is completed as if it took none (or the other way round).

_sock()
{
	local cur prev i unix=
	local opts='-4 -6 -b -C -c -D -d -e -F -h -I -i -k -l -M -m -N -n -O -o
	    -P -p -q -r -s -T -t -U -u -v -W -w -X -x -z --allow --allowfile
	    --broker --chat --deny --denyfile --forward --help --hex-dump
	    --keepalive --listen-fd --proxy-auth --proxy-server
	    --send-proxy --send-proxy-v2 --accept-proxy
	    --limit-rate --max-conns --max-conns-per-source --mptcp
	    --no-shutdown --nodelay --progress --pty --raw
	    --recv-only --send-only --ssl --tls --tls-alpn --tls-ca --tls-cert
	    --tls-insecure --tls-key --tls-min --tls-pin --tls-servername
	    --tls-verify-client --version --wait'
	local tos='lowdelay throughput reliability mincost af11 af12 af13 af21
	    af22 af23 af31 af32 af33 af41 af42 af43 cs0 cs1 cs2 cs3 cs4 cs5 cs6
	    cs7 ef va le'

	COMPREPLY=()
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=
	if [ "$COMP_CWORD" -gt 0 ]; then
		prev=${COMP_WORDS[COMP_CWORD - 1]}
	fi

	# --progress=VALUE: bash splits the word at the "=".
	if [ "$COMP_CWORD" -gt 1 ] && [ "$prev" = = ] &&
	    [ "${COMP_WORDS[COMP_CWORD - 2]}" = --progress ]; then
		mapfile -t COMPREPLY < <(compgen -W 'auto always' -- "$cur")
		return
	fi
	if [ "$cur" = = ] && [ "$prev" = --progress ]; then
		COMPREPLY=(auto always)
		return
	fi

	# The value of the option before the cursor.
	case $prev in
	-o | --hex-dump | --allowfile | --denyfile | --tls-ca | --tls-cert | \
	    --tls-key)
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		return
		;;
	-T)
		mapfile -t COMPREPLY < <(compgen -W "$tos" -- "$cur")
		return
		;;
	-s)
		mapfile -t COMPREPLY < <(compgen -A hostname -- "$cur")
		return
		;;
	-e | -c)
		mapfile -t COMPREPLY < <(compgen -c -- "$cur")
		return
		;;
	--tls-min)
		mapfile -t COMPREPLY < <(compgen -W '1.2 1.3' -- "$cur")
		return
		;;
	-X)
		mapfile -t COMPREPLY < <(compgen -W '4 4a 5 connect' -- "$cur")
		return
		;;
	-x)
		mapfile -t COMPREPLY < <(compgen -A hostname -- "$cur")
		return
		;;
	-I | -i | -M | -m | -O | -P | -p | -q | -W | -w | --allow | --deny | \
	    --limit-rate | --max-conns | --max-conns-per-source | --wait | \
	    --tls-alpn | --tls-pin | \
	    --tls-servername | --forward | --proxy-auth | --listen-fd)
		# A number, a port or an address list: nothing to offer.
		return
		;;
	esac

	case $cur in
	-*)
		mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
		;;
	*)
		# An operand: a path with -U, else a host (or a port).
		for ((i = 1; i < COMP_CWORD; i++)); do
			case ${COMP_WORDS[i]} in
			--*) ;;
			-*U*) unix=1 ;;
			esac
		done
		if [ -n "$unix" ]; then
			mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		else
			mapfile -t COMPREPLY < <(compgen -A hostname -- "$cur")
		fi
		;;
	esac
}
complete -F _sock sock
