#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Servers: concurrent -k, -e/-c, --broker, --chat, --max-conns,
# --allow/--deny (sock(1), "Serving many clients", "Brokers and chat",
# "Running a program").
# shellcheck disable=SC2016,SC2153,SC2154
# SC2016: sh -c scripts take their arguments as "$0" "$1"... on purpose,
# and -c/-e strings are meant for the program, not for bats.
# SC2153/SC2154: T, SOCK, PORT, LPID, BG_PID, EXIT_STATUS come from
# helper.bash (loaded by bats' load, which shellcheck cannot follow);
# stderr and stderr_lines from bats' run --separate-stderr.

load helper
bats_require_minimum_version 1.5.0

# start_client IN OUT ARGS...: run "sock ARGS" in the background with
# stdin from IN, stdout to OUT and stderr to OUT.err; its PID in CPID.
start_client() {
	local in=$1 out=$2
	shift 2
	bg sh -c 'p=$0 in=$1 out=$2; shift 2; exec "$p" "$@" <"$in" >"$out" 2>"$out.err"' \
	    "$SOCK" "$in" "$out" "$@"
	CPID=$BG_PID
}

# has_n N PATTERN FILE: FILE has at least N lines matching PATTERN (ERE).
has_n() {
	[ "$(grep -Ec -- "$2" "$3")" -ge "$1" ]
}

# nth_port N FILE: the client port of the Nth "connection from" line.
nth_port() {
	sed -n 's/^sock: connection from .* port \([0-9][0-9]*\) (tcp)$/\1/p' "$2" |
	    sed -n "$1p"
}

# alphabet_file PATH BYTES LETTERS: BYTES random bytes, each mapped onto
# one of the 8 LETTERS, so that streams with disjoint alphabets can be
# told apart after they were interleaved.
alphabet_file() {
	local map="" i
	for i in $(seq 32); do
		map+=$3
	done
	head -c "$2" /dev/urandom | tr '\000-\377' "$map" >"$1"
}

# strip_notices FILE: FILE without its --chat <announce> notices, wherever
# they are.
strip_notices() {
	python3 "$PEER_PY" strip-notices "$1"
}

# send_from SRC HOST: a client bound to SRC sends "from SRC" to HOST
# port PORT; bounded, its status ignored (a refused client may be reset).
send_from() {
	printf 'from %s\n' "$1" >"$T/from"
	timeout 5 "$SOCK" -s "$1" "$2" "$PORT" <"$T/from" >/dev/null 2>&1 || true
}

refused_re() {
	printf '^sock: refused %s port [0-9]+: not allowed by --allow/--deny$' \
	    "$(printf '%s' "$1" | sed 's/\./\\./g')"
}

# ---------------------------------------------------------------- -k

@test "-k serves three clients at once and delivers each one's 1 MB intact" {
	local i cpid=() wpid=()
	sock_listen /dev/null "$T/out" "$T/err" -k 127.0.0.1 0
	alphabet_file "$T/d1" 1000000 abcdefgh
	alphabet_file "$T/d2" 1000000 ijklmnop
	alphabet_file "$T/d3" 1000000 qrstuvwx
	for i in 1 2 3; do
		open_feed "$T/c$i"
		start_client "$T/c$i" "$T/o$i" 127.0.0.1 "$PORT"
		cpid[i]=$CPID
	done
	# All three are served at once: each is accepted before any sends.
	wait_for 5 has_n 3 '^sock: connection from' "$T/err"
	for i in 1 2 3; do
		bg sh -c 'exec timeout 20 cat "$0" >"$1"' "$T/d$i" "$T/c$i"
		wpid[i]=$BG_PID
	done
	for i in 1 2 3; do
		wait_exit "${wpid[i]}" 20
		[ "$EXIT_STATUS" -eq 0 ]
		end_feed "$T/c$i"
	done
	for i in 1 2 3; do
		wait_exit "${cpid[i]}" 10
		[ "$EXIT_STATUS" -eq 0 ]
	done
	wait_for 10 size_is "$T/out" 3000000
	tr -dc 'a-h' <"$T/out" >"$T/got1"
	tr -dc 'i-p' <"$T/out" >"$T/got2"
	tr -dc 'q-x' <"$T/out" >"$T/got3"
	same_file "$T/d1" "$T/got1"
	same_file "$T/d2" "$T/got2"
	same_file "$T/d3" "$T/got3"
	# An empty stdin: the listener goes on after its clients left.
	kill -0 "$LPID"
}

@test "-k sends what stdin supplies to every connected client" {
	local i
	open_feed "$T/lin"
	sock_listen "$T/lin" "$T/out" "$T/err" -k 127.0.0.1 0
	for i in 1 2 3; do
		open_feed "$T/c$i"
		start_client "$T/c$i" "$T/o$i" 127.0.0.1 "$PORT"
	done
	wait_for 5 has_n 3 '^sock: connection from' "$T/err"
	# More than a client's queue (256 KiB): back pressure, nothing lost.
	head -c 600000 /dev/urandom >"$T/data"
	timeout 20 sh -c 'cat "$0" >"$1"' "$T/data" "$T/lin"
	for i in 1 2 3; do
		wait_for 10 size_is "$T/o$i" 600000
		same_file "$T/data" "$T/o$i"
	done
	[ ! -s "$T/out" ]
}

@test "-k reads stdin only once a client is there to get it" {
	open_feed "$T/lin"
	sock_listen "$T/lin" "$T/out" "$T/err" -k 127.0.0.1 0
	say "$T/lin" "said before anyone came"
	sleep 0.3
	open_feed "$T/c1"
	start_client "$T/c1" "$T/o1" 127.0.0.1 "$PORT"
	wait_for 5 has_line "$T/o1" "said before anyone came"
}

@test "-k exits 0 once stdin with data has ended and the last client left" {
	local a b
	open_feed "$T/lin"
	sock_listen "$T/lin" "$T/out" "$T/err" -k 127.0.0.1 0
	open_feed "$T/ca"
	start_client "$T/ca" "$T/oa" -d 127.0.0.1 "$PORT"
	a=$CPID
	open_feed "$T/cb"
	start_client "$T/cb" "$T/ob" 127.0.0.1 "$PORT"
	b=$CPID
	wait_for 5 has_n 2 '^sock: connection from' "$T/err"
	say "$T/lin" "hello both"
	wait_for 5 has_line "$T/oa" "hello both"
	wait_for 5 has_line "$T/ob" "hello both"
	say "$T/cb" "b was here"
	wait_for 5 has_line "$T/out" "b was here"
	end_feed "$T/lin"
	# Each client got the FIN: the -d one leaves, the other stays.
	wait_exit "$a" 5
	[ "$EXIT_STATUS" -eq 0 ]
	sleep 0.2
	kill -0 "$LPID"
	end_feed "$T/cb"
	wait_exit "$b" 5
	[ "$EXIT_STATUS" -eq 0 ]
	wait_exit "$LPID" 5
	[ "$EXIT_STATUS" -eq 0 ]
	[ "$(cat "$T/oa")" = "hello both" ]
	[ "$(cat "$T/ob")" = "hello both" ]
	[ "$(cat "$T/out")" = "b was here" ]
}

@test "-k with an empty stdin keeps running after every client left" {
	sock_listen /dev/null "$T/out" "$T/err" -k 127.0.0.1 0
	printf 'one\n' >"$T/m"
	run -0 timeout 5 "$SOCK" 127.0.0.1 "$PORT" <"$T/m"
	wait_for 5 has_line "$T/out" one
	sleep 0.3
	kill -0 "$LPID"
	run -0 timeout 5 "$SOCK" 127.0.0.1 "$PORT" <"$T/m"
	wait_for 5 has_n 2 '^one$' "$T/out"
}

@test "-k: a client that resets is reported, the others go on, exit 1" {
	local b
	need python3
	open_feed "$T/lin"
	sock_listen "$T/lin" "$T/out" "$T/err" -k 127.0.0.1 0
	open_feed "$T/cb"
	start_client "$T/cb" "$T/ob" 127.0.0.1 "$PORT"
	b=$CPID
	wait_for 5 has_n 1 '^sock: connection from' "$T/err"
	# A second client connects, waits until it is accepted, then resets.
	peer_connect "$PORT" name="$T/cport" await="$T/go" rst
	wait_for 5 has_n 2 '^sock: connection from' "$T/err"
	touch "$T/go"
	peer_ok
	wait_for 5 has_line "$T/err" \
	    "sock: read from 127.0.0.1 port $(cat "$T/cport"): Connection reset by peer"
	say "$T/lin" "still serving"
	wait_for 5 has_line "$T/ob" "still serving"
	say "$T/cb" "b goes on"
	wait_for 5 has_line "$T/out" "b goes on"
	end_feed "$T/lin"
	end_feed "$T/cb"
	wait_exit "$b" 5
	[ "$EXIT_STATUS" -eq 0 ]
	wait_exit "$LPID" 5
	[ "$EXIT_STATUS" -eq 1 ]
}

@test "-k -w drops a client idle that long and goes on serving" {
	local p
	sock_listen /dev/null "$T/out" "$T/err" -k -w 0.5 127.0.0.1 0
	open_feed "$T/c1"
	start_client "$T/c1" "$T/o1" 127.0.0.1 "$PORT"
	wait_for 5 has_n 1 '^sock: connection from' "$T/err"
	p=$(nth_port 1 "$T/err")
	wait_for 5 has_line "$T/err" \
	    "sock: connection to 127.0.0.1 port $p: idle timeout after 0.5 s"
	kill -0 "$LPID"
	printf 'after\n' >"$T/m"
	run -0 timeout 5 "$SOCK" 127.0.0.1 "$PORT" <"$T/m"
	wait_for 5 has_line "$T/out" after
}

@test "-k serves 50 clients connected at once and writes all their lines" {
	need python3
	sock_listen /dev/null "$T/out" "$T/err" -k 127.0.0.1 0
	# 50 clients connect at once, each sends a line and its FIN, and none
	# gets anything back but the server's FIN.
	run -0 timeout 20 python3 "$PEER_PY" many "$PORT" 1 50
	for i in $(seq 0 49); do
		printf 'client 0.%d\n' "$i"
	done | sort >"$T/want"
	wait_for 5 has_n 50 '^client 0\.[0-9]+$' "$T/out"
	sort "$T/out" >"$T/got"
	same_file "$T/want" "$T/got"
	[ "$(grep -c '^sock: connection from' "$T/err")" -eq 50 ]
}

@test "-k over a Unix socket serves two clients at once" {
	open_feed "$T/c1"
	open_feed "$T/c2"
	sock_listen_unix /dev/null "$T/out" "$T/err" -k "$T/s.sock"
	start_client "$T/c1" "$T/o1" -U "$T/s.sock"
	start_client "$T/c2" "$T/o2" -U "$T/s.sock"
	wait_for 5 has_n 2 '^sock: connection from' "$T/err"
	say "$T/c1" "first"
	say "$T/c2" "second"
	wait_for 5 has_line "$T/out" first
	wait_for 5 has_line "$T/out" second
}

# ---------------------------------------------------------------- -e, -c

@test "-k -e /bin/cat echoes to several clients at once" {
	local i cpid=()
	sock_listen /dev/null "$T/out" "$T/err" -k -e /bin/cat 127.0.0.1 0
	for i in 1 2 3; do
		open_feed "$T/c$i"
		start_client "$T/c$i" "$T/o$i" 127.0.0.1 "$PORT"
		cpid[i]=$CPID
	done
	wait_for 5 has_n 3 '^sock: connection from' "$T/err"
	for i in 1 2 3; do
		say "$T/c$i" "hello from $i"
	done
	# Every program answers while all three connections are open.
	for i in 1 2 3; do
		wait_for 5 has_line "$T/o$i" "hello from $i"
	done
	head -c 200000 /dev/urandom | base64 >"$T/big"
	for i in 1 2 3; do
		timeout 10 sh -c 'cat "$0" >"$1"' "$T/big" "$T/c$i"
		end_feed "$T/c$i"
	done
	for i in 1 2 3; do
		wait_exit "${cpid[i]}" 10
		[ "$EXIT_STATUS" -eq 0 ]
		{ echo "hello from $i"; cat "$T/big"; } >"$T/want"
		same_file "$T/want" "$T/o$i"
	done
	wait_for 5 has_n 3 '^sock: program [0-9]+ exited with status 0$' "$T/err"
	[ ! -s "$T/out" ]
}

@test "-c gives the program SOCK_REMOTE_* SOCK_LOCAL_* and SOCK_PROTO=tcp" {
	local src
	need python3
	sock_listen /dev/null "$T/out" "$T/err" \
	    -c 'echo "$SOCK_REMOTE_ADDR $SOCK_REMOTE_PORT $SOCK_LOCAL_ADDR $SOCK_LOCAL_PORT $SOCK_PROTO"' \
	    127.0.0.1 0
	src=$(free_port)
	run -0 --separate-stderr timeout 5 "$SOCK" -p "$src" 127.0.0.1 "$PORT" </dev/null
	[ "$output" = "127.0.0.1 $src 127.0.0.1 $PORT tcp" ]
	wait_exit "$LPID" 5
	[ "$EXIT_STATUS" -eq 0 ]
}

@test "-c 'echo \$SOCK_REMOTE_ADDR' on a dual-stack listener prints 127.0.0.1" {
	sock_listen /dev/null "$T/out" "$T/err" -c 'echo $SOCK_REMOTE_ADDR' 0
	run -0 --separate-stderr timeout 5 "$SOCK" 127.0.0.1 "$PORT" </dev/null
	[ "$output" = 127.0.0.1 ]
}

@test "-c over IPv6 gives ::1 addresses" {
	has_ipv6_loopback || skip "::1 is not configured"
	sock_listen /dev/null "$T/out" "$T/err" \
	    -c 'echo "$SOCK_REMOTE_ADDR $SOCK_LOCAL_ADDR $SOCK_LOCAL_PORT $SOCK_PROTO"' ::1 0
	run -0 --separate-stderr timeout 5 "$SOCK" ::1 "$PORT" </dev/null
	[ "$output" = "::1 ::1 $PORT tcp" ]
}

@test "-U -l -c gives the program SOCK_PROTO=unix and the socket path" {
	sock_listen_unix /dev/null "$T/out" "$T/err" \
	    -c 'echo "$SOCK_PROTO|$SOCK_LOCAL_ADDR|$SOCK_LOCAL_PORT|$SOCK_REMOTE_PORT"' \
	    "$T/s.sock"
	run -0 --separate-stderr timeout 5 "$SOCK" -U "$T/s.sock" </dev/null
	[ "$output" = "unix|$T/s.sock||" ]
}

@test "connect mode -e: the program talks to the peer and its status is sock's" {
	printf '#!/bin/sh\necho "to the peer"\nread -r line\necho "got: $line" >&2\nexit 7\n' \
	    >"$T/prog"
	chmod +x "$T/prog"
	printf 'from the listener\n' >"$T/lin"
	sock_listen "$T/lin" "$T/out" "$T/err" 127.0.0.1 0
	run -7 --separate-stderr timeout 5 "$SOCK" -e "$T/prog" 127.0.0.1 "$PORT"
	[ -z "$output" ]
	[ "$stderr" = "got: from the listener" ]
	wait_exit "$LPID" 5
	[ "$(cat "$T/out")" = "to the peer" ]
}

@test "connect mode -c exits 0 with a program that succeeds" {
	sock_listen /dev/null "$T/out" "$T/err" 127.0.0.1 0
	run -0 timeout 5 "$SOCK" -c 'echo fine' 127.0.0.1 "$PORT"
	wait_exit "$LPID" 5
	[ "$(cat "$T/out")" = fine ]
}

@test "a program killed by a signal makes sock exit 128+signal" {
	sock_listen /dev/null "$T/out" "$T/err" 127.0.0.1 0
	run -143 timeout 5 "$SOCK" -c 'kill -TERM $$' 127.0.0.1 "$PORT"
}

@test "listen mode -e without -k serves one connection and exits with the program's status" {
	printf '#!/bin/sh\necho served\nexit 5\n' >"$T/prog"
	chmod +x "$T/prog"
	sock_listen /dev/null "$T/out" "$T/err" -e "$T/prog" 127.0.0.1 0
	run -0 --separate-stderr timeout 5 "$SOCK" 127.0.0.1 "$PORT" </dev/null
	[ "$output" = served ]
	wait_exit "$LPID" 5
	[ "$EXIT_STATUS" -eq 5 ]
	run -1 --separate-stderr timeout 5 "$SOCK" 127.0.0.1 "$PORT" </dev/null
	[ "$stderr" = "sock: connect to 127.0.0.1 port $PORT: Connection refused" ]
}

@test "-e runs no shell: \$HOME and ; reach the program literally" {
	sock_listen /dev/null "$T/out" "$T/err" 127.0.0.1 0
	run -0 timeout 5 "$SOCK" -e 'echo $HOME;ls' 127.0.0.1 "$PORT"
	wait_exit "$LPID" 5
	[ "$(cat "$T/out")" = '$HOME;ls' ]
}

@test "-e splits on blanks only, without quoting" {
	sock_listen /dev/null "$T/out" "$T/err" 127.0.0.1 0
	run -0 timeout 5 "$SOCK" -e "printf  [%s]	'a  b'  \"c\"" 127.0.0.1 "$PORT"
	wait_exit "$LPID" 5
	[ "$(cat "$T/out")" = "['a][b'][\"c\"]" ]
}

@test "-e and -c misuse is a usage error" {
	local args
	for args in "-e cat -c cat 127.0.0.1 1|-e and -c cannot be used together" \
	    "-l -e cat --broker 0|-e cannot be used with --broker" \
	    "-l -c cat --chat 0|-c cannot be used with --chat" \
	    "-e cat -d 127.0.0.1 1|-e cannot be used with -d: the program talks to the peer directly" \
	    "-e cat -q 1 127.0.0.1 1|-e cannot be used with -q: the program talks to the peer directly" \
	    "-l -k -e cat -C 0|-e cannot be used with -C: the program talks to the peer directly"; do
		# shellcheck disable=SC2086 # word splitting wanted
		run -2 --separate-stderr "$SOCK" ${args%%|*}
		[ -z "$output" ]
		[ "${#stderr_lines[@]}" -eq 2 ]
		[[ ${stderr_lines[0]} == "sock: ${args#*|}"* ]]
		[ "${stderr_lines[1]}" = "sock: see 'sock --help' for usage" ]
	done
	run -2 --separate-stderr "$SOCK" -e '' 127.0.0.1 1
	[ "${stderr_lines[0]}" = "sock: -e needs a program to run" ]
	run -2 --separate-stderr "$SOCK" -e '  	 ' 127.0.0.1 1
	[ "${stderr_lines[0]}" = "sock: -e needs a program to run" ]
}

@test "a -k -e program holds no socket but its own connection" {
	sock_listen /dev/null "$T/out" "$T/err" -k \
	    -c 'ls -l /proc/$$/fd | sed -n "s/.* \([0-9]*\) -> socket:.*/\1/p"' \
	    127.0.0.1 0
	open_feed "$T/c1"
	start_client "$T/c1" "$T/o1" 127.0.0.1 "$PORT"
	wait_for 5 has_n 1 '^sock: connection from' "$T/err"
	run -0 --separate-stderr timeout 5 "$SOCK" 127.0.0.1 "$PORT" </dev/null
	[ "$(sort <<<"$output" | tr '\n' ' ')" = "0 1 " ]
}

@test "no zombie is left after 100 -k -e connections" {
	need python3
	sock_listen /dev/null "$T/out" "$T/err" -k -e /bin/cat 127.0.0.1 0
	# 5 batches of 20 clients at once, each echoed its own line.
	run -0 timeout 30 python3 "$PEER_PY" many "$PORT" 5 20 echo
	wait_for 5 has_n 100 '^sock: program [0-9]+ exited with status 0$' "$T/err"
	wait_for 5 eval '[ -z "$(ps --ppid "$LPID" -o pid= 2>/dev/null)" ]'
	kill -0 "$LPID"
	[ "$(grep -c '^sock: connection from' "$T/err")" -eq 100 ]
}

# ---------------------------------------------------------------- broker

@test "--broker relays each of two clients' lines to the other, not back" {
	local a b
	sock_listen /dev/null "$T/out" "$T/err" --broker 127.0.0.1 0
	open_feed "$T/ca"
	start_client "$T/ca" "$T/oa" 127.0.0.1 "$PORT"
	a=$CPID
	open_feed "$T/cb"
	start_client "$T/cb" "$T/ob" 127.0.0.1 "$PORT"
	b=$CPID
	wait_for 5 has_n 2 '^sock: connection from' "$T/err"
	say "$T/ca" "from a"
	wait_for 5 has_line "$T/ob" "from a"
	say "$T/cb" "from b"
	wait_for 5 has_line "$T/oa" "from b"
	wait_for 5 has_line "$T/out" "from b"
	end_feed "$T/ca"
	end_feed "$T/cb"
	wait_exit "$a" 5
	[ "$EXIT_STATUS" -eq 0 ]
	wait_exit "$b" 5
	[ "$EXIT_STATUS" -eq 0 ]
	[ "$(cat "$T/oa")" = "from b" ]
	[ "$(cat "$T/ob")" = "from a" ]
	printf 'from a\nfrom b\n' >"$T/want"
	same_file "$T/want" "$T/out"
	kill -0 "$LPID"
}

@test "--broker sends its own stdin to every client, and -d does not read it" {
	open_feed "$T/lin"
	sock_listen "$T/lin" "$T/out" "$T/err" --broker 127.0.0.1 0
	open_feed "$T/ca"
	start_client "$T/ca" "$T/oa" 127.0.0.1 "$PORT"
	open_feed "$T/cb"
	start_client "$T/cb" "$T/ob" 127.0.0.1 "$PORT"
	wait_for 5 has_n 2 '^sock: connection from' "$T/err"
	say "$T/lin" "from the broker"
	wait_for 5 has_line "$T/oa" "from the broker"
	wait_for 5 has_line "$T/ob" "from the broker"
	[ ! -s "$T/out" ]

	open_feed "$T/lin2"
	sock_listen "$T/lin2" "$T/out2" "$T/err2" --broker -d 127.0.0.1 0
	open_feed "$T/cc"
	start_client "$T/cc" "$T/oc" 127.0.0.1 "$PORT"
	wait_for 5 has_n 1 '^sock: connection from' "$T/err2"
	# Not read at all: a writer that fills the FIFO's buffer blocks.
	run timeout 1 sh -c 'head -c 200000 /dev/zero >"$0"' "$T/lin2"
	[ "$status" -eq 124 ]
	[ ! -s "$T/oc" ]
}

@test "--broker among ten clients: each gets the nine other lines" {
	local i j
	sock_listen /dev/null "$T/out" "$T/err" --broker 127.0.0.1 0
	for i in $(seq 10); do
		open_feed "$T/c$i"
		start_client "$T/c$i" "$T/o$i" 127.0.0.1 "$PORT"
	done
	wait_for 5 has_n 10 '^sock: connection from' "$T/err"
	for i in $(seq 10); do
		say "$T/c$i" "line of client $i"
	done
	for i in $(seq 10); do
		wait_for 5 has_n 9 '^line of client' "$T/o$i"
	done
	wait_for 5 has_n 10 '^line of client' "$T/out"
	for i in $(seq 10); do
		for j in $(seq 10); do
			[ "$j" -eq "$i" ] || echo "line of client $j"
		done | sort >"$T/want"
		sort "$T/o$i" >"$T/got"
		same_file "$T/want" "$T/got"
	done
	seq 10 | sed 's/^/line of client /' | sort >"$T/want"
	sort "$T/out" >"$T/got"
	same_file "$T/want" "$T/got"
}

# ---------------------------------------------------------------- chat

@test "--chat prefixes each line with <userN> and announces joins and leaves" {
	local a b pa pb base
	open_feed "$T/lin"
	sock_listen "$T/lin" "$T/out" "$T/err" --chat 127.0.0.1 0
	open_feed "$T/ca"
	start_client "$T/ca" "$T/oa" 127.0.0.1 "$PORT"
	a=$CPID
	wait_for 5 has_n 1 '^sock: connection from' "$T/err"
	pa=$(nth_port 1 "$T/err")
	open_feed "$T/cb"
	start_client "$T/cb" "$T/ob" 127.0.0.1 "$PORT"
	b=$CPID
	wait_for 5 has_n 2 '^sock: connection from' "$T/err"
	pb=$(nth_port 2 "$T/err")
	wait_for 5 has_line "$T/oa" \
	    "<announce> 127.0.0.1 port $pb is connected as <user2>."
	say "$T/ca" "hello"
	wait_for 5 has_line "$T/ob" "<user1> hello"
	say "$T/cb" "hi there"
	wait_for 5 has_line "$T/oa" "<user2> hi there"
	say "$T/lin" "from the host"
	wait_for 5 has_line "$T/oa" "<user0> from the host"
	wait_for 5 has_line "$T/ob" "<user0> from the host"
	# A line in two writes gets one prefix: the server reads the first
	# before the second is sent.
	read -r base _ < <(bytes_taken "$PORT")
	timeout 5 sh -c 'printf "half " >"$0"' "$T/ca"
	wait_for 5 has_taken "$PORT" $((base + 5))
	say "$T/ca" "and half"
	wait_for 5 has_line "$T/ob" "<user1> half and half"
	end_feed "$T/ca"
	wait_exit "$a" 5
	[ "$EXIT_STATUS" -eq 0 ]
	wait_for 5 has_line "$T/ob" "<announce> <user1> is disconnected."
	end_feed "$T/cb"
	wait_exit "$b" 5
	wait_for 5 has_line "$T/out" "<announce> <user2> is disconnected."

	printf '%s\n' "<announce> 127.0.0.1 port $pb is connected as <user2>." \
	    "<user2> hi there" "<user0> from the host" >"$T/want"
	same_file "$T/want" "$T/oa"
	printf '%s\n' "<user1> hello" "<user0> from the host" \
	    "<user1> half and half" "<announce> <user1> is disconnected." \
	    >"$T/want"
	same_file "$T/want" "$T/ob"
	printf '%s\n' "<announce> 127.0.0.1 port $pa is connected as <user1>." \
	    "<announce> 127.0.0.1 port $pb is connected as <user2>." \
	    "<user1> hello" "<user2> hi there" "<user1> half and half" \
	    "<announce> <user1> is disconnected." \
	    "<announce> <user2> is disconnected." >"$T/want"
	same_file "$T/want" "$T/out"
}

@test "--chat: a notice does not cut a line another user is still typing" {
	local pb
	sock_listen /dev/null "$T/out" "$T/err" --chat 127.0.0.1 0
	open_feed "$T/cc"
	start_client "$T/cc" "$T/oc" 127.0.0.1 "$PORT"
	wait_for 5 has_n 1 '^sock: connection from' "$T/err"
	open_feed "$T/ca"
	start_client "$T/ca" "$T/oa" 127.0.0.1 "$PORT"
	wait_for 5 has_n 2 '^sock: connection from' "$T/err"
	wait_for 5 has_n 1 'is connected as <user2>' "$T/oc"
	# user2 has typed half a line when user3 joins. A server that holds
	# partial lines shows none of it: wait until it has read it.
	timeout 5 sh -c 'printf "par" >"$0"' "$T/ca"
	wait_for 5 has_taken "$PORT" 3
	open_feed "$T/cb"
	start_client "$T/cb" "$T/ob" 127.0.0.1 "$PORT"
	wait_for 5 has_n 3 '^sock: connection from' "$T/err"
	pb=$(nth_port 3 "$T/err")
	say "$T/ca" "tial"
	wait_for 5 grep -q 'tial' "$T/oc"
	wait_for 5 grep -q 'tial' "$T/out"
	printf '%s\n' "<announce> 127.0.0.1 port $pb is connected as <user3>." \
	    "<user2> partial" | sort >"$T/want"
	sed 1d "$T/oc" | sort >"$T/got"
	same_file "$T/want" "$T/got"
	grep -v 'connected as <user[12]>' "$T/out" | sort >"$T/got"
	same_file "$T/want" "$T/got"
}

@test "--chat: another user's line does not cut a line still being typed" {
	sock_listen /dev/null "$T/out" "$T/err" --chat 127.0.0.1 0
	open_feed "$T/cc"
	start_client "$T/cc" "$T/oc" 127.0.0.1 "$PORT"
	open_feed "$T/ca"
	start_client "$T/ca" "$T/oa" 127.0.0.1 "$PORT"
	open_feed "$T/cb"
	start_client "$T/cb" "$T/ob" 127.0.0.1 "$PORT"
	wait_for 5 has_n 3 '^sock: connection from' "$T/err"
	wait_for 5 has_n 2 'is connected as' "$T/oc"
	wait_for 5 has_n 3 'is connected as' "$T/out"
	# A server that holds partial lines shows none: wait until it has
	# read this one.
	timeout 5 sh -c 'printf "par" >"$0"' "$T/ca"
	wait_for 5 has_taken "$PORT" 3
	say "$T/cb" "hello"
	wait_for 5 grep -q 'hello' "$T/oc"
	say "$T/ca" "tial"
	wait_for 5 grep -q 'tial' "$T/oc"
	wait_for 5 grep -q 'tial' "$T/out"
	printf '%s\n' "<user2> partial" "<user3> hello" | sort >"$T/want"
	grep -v '^<announce>' "$T/oc" | sort >"$T/got"
	same_file "$T/want" "$T/got"
	grep -v '^<announce>' "$T/out" | sort >"$T/got"
	same_file "$T/want" "$T/got"
}

@test "--chat drops a client that never reads without stalling the others" {
	local pp a
	need python3
	sock_listen /dev/null "$T/out" "$T/err" --chat 127.0.0.1 0
	# user1: connects with a small receive buffer and never reads.
	peer_connect "$PORT" rcvbuf=4096 sleep=60
	wait_for 5 has_n 1 '^sock: connection from' "$T/err"
	pp=$(nth_port 1 "$T/err")
	# user2 listens; user3 sends 2 MB of lines and leaves.
	open_feed "$T/cb"
	start_client "$T/cb" "$T/ob" 127.0.0.1 "$PORT"
	wait_for 5 has_n 2 '^sock: connection from' "$T/err"
	seq 1 250000 | sed 's/^/chat line /' >"$T/data"
	start_client "$T/data" "$T/oa" 127.0.0.1 "$PORT"
	a=$CPID
	wait_exit "$a" 20
	[ "$EXIT_STATUS" -eq 0 ]
	wait_for 10 has_line "$T/ob" "<announce> <user3> is disconnected."
	grep -qxF "sock: dropping 127.0.0.1 port $pp: its queue is full (it does not read)" \
	    "$T/err"
	# user2 got every line of user3, and the notices (wherever they
	# landed: see the test on notices and partial lines).
	sed 's/^/<user3> /' "$T/data" >"$T/want"
	strip_notices "$T/ob" >"$T/got"
	same_file "$T/want" "$T/got"
	grep -qF "<announce> <user1> is disconnected." "$T/ob"
	strip_notices "$T/out" >"$T/got"
	same_file "$T/want" "$T/got"
}

# ---------------------------------------------------------------- --max-conns

@test "--max-conns 2 closes a third client at once while two are connected" {
	local a
	sock_listen /dev/null "$T/out" "$T/err" -k --max-conns 2 127.0.0.1 0
	open_feed "$T/c1"
	start_client "$T/c1" "$T/o1" 127.0.0.1 "$PORT"
	a=$CPID
	open_feed "$T/c2"
	start_client "$T/c2" "$T/o2" 127.0.0.1 "$PORT"
	wait_for 5 has_n 2 '^sock: connection from' "$T/err"
	# Closed at once, not left waiting: an empty-stdin client ends now.
	run -0 timeout 5 "$SOCK" 127.0.0.1 "$PORT" </dev/null
	printf 'third\n' >"$T/m3"
	run timeout 5 "$SOCK" 127.0.0.1 "$PORT" <"$T/m3"
	[ "$status" -ne 124 ]
	wait_for 5 has_n 2 '^sock: refused 127\.0\.0\.1 port [0-9]+: already 2 clients \(--max-conns\)$' "$T/err"
	say "$T/c1" one
	say "$T/c2" two
	end_feed "$T/c1"
	wait_exit "$a" 5
	# One left: the next is served.
	printf 'fourth\n' >"$T/m4"
	run -0 timeout 5 "$SOCK" 127.0.0.1 "$PORT" <"$T/m4"
	wait_for 5 has_line "$T/out" fourth
	has_line "$T/out" one
	has_line "$T/out" two
	run ! has_line "$T/out" third
}

@test "--max-conns with -k -e counts the programs still running" {
	local a
	sock_listen /dev/null "$T/out" "$T/err" -k --max-conns 1 -e cat 127.0.0.1 0
	open_feed "$T/c1"
	start_client "$T/c1" "$T/o1" 127.0.0.1 "$PORT"
	a=$CPID
	wait_for 5 has_n 1 '^sock: connection from' "$T/err"
	run -0 --separate-stderr timeout 5 "$SOCK" 127.0.0.1 "$PORT" </dev/null
	[ -z "$output" ]
	wait_for 5 has_n 1 '^sock: refused 127\.0\.0\.1 port [0-9]+: already 1 clients \(--max-conns\)$' "$T/err"
	say "$T/c1" "first"
	end_feed "$T/c1"
	wait_exit "$a" 5
	[ "$(cat "$T/o1")" = first ]
	wait_for 5 has_n 1 '^sock: program [0-9]+ exited with status 0$' "$T/err"
	printf 'next\n' >"$T/m"
	run -0 --separate-stderr timeout 5 "$SOCK" 127.0.0.1 "$PORT" <"$T/m"
	[ "$output" = next ]
}

@test "--max-conns 0, -1, 2000000 and abc are usage errors" {
	local v
	for v in 0 -1 2000000 abc ''; do
		run -2 --separate-stderr "$SOCK" -l -k --max-conns "$v" 0
		[ -z "$output" ]
		[[ ${stderr_lines[0]} == "sock: invalid --max-conns value \"$v\": must be a number from 1 to 1048576" ]]
		[ "${stderr_lines[1]}" = "sock: see 'sock --help' for usage" ]
	done
}

@test "--max-conns beyond what the descriptor limit serves is a usage error that says the limit" {
	# 200 descriptors: 24 kept back and 3 pipes for splicing leave 170
	# clients, or 85 forwarded pairs of two sockets each.
	run -2 --separate-stderr sh -c 'ulimit -n 200 && exec "$@"' sh \
	    "$SOCK" -l -k --max-conns 171 127.0.0.1 0
	[ "${stderr_lines[0]}" = "sock: --max-conns 171: the descriptor limit of 200 (ulimit -n) serves at most 170 clients at once" ]
	[ "${stderr_lines[1]}" = "sock: see 'sock --help' for usage" ]
	run -2 --separate-stderr sh -c 'ulimit -n 200 && exec "$@"' sh \
	    "$SOCK" -l -k --max-conns 86 127.0.0.1 0 --forward 127.0.0.1:9
	[ "${stderr_lines[0]}" = "sock: --max-conns 86: the descriptor limit of 200 (ulimit -n) serves at most 85 pairs at once" ]
	# What the limit serves is taken, and -v says so.
	sock_listen /dev/null "$T/out" "$T/err" -k --max-conns 170 127.0.0.1 0
	wait_for 5 grep -Eq '^sock: up to 170 connections at once \(descriptor limit [0-9]+\)$' "$T/err"
}

# ---------------------------------------------------------------- --allow, --deny

@test "--allow refuses other addresses and a single listener waits for an allowed one" {
	sock_listen /dev/null "$T/out" "$T/err" --allow 127.0.0.1 127.0.0.1 0
	# Refused: closed at once, so an empty-stdin client ends at once.
	run -0 timeout 5 "$SOCK" -s 127.0.0.2 127.0.0.1 "$PORT" </dev/null
	send_from 127.0.0.3 127.0.0.1
	wait_for 5 has_n 2 '^sock: refused 127\.0\.0\.[23] port' "$T/err"
	grep -Eq "$(refused_re 127.0.0.2)" "$T/err"
	grep -Eq "$(refused_re 127.0.0.3)" "$T/err"
	kill -0 "$LPID"
	send_from 127.0.0.1 127.0.0.1
	wait_exit "$LPID" 5
	[ "$EXIT_STATUS" -eq 0 ]
	[ "$(cat "$T/out")" = "from 127.0.0.1" ]
}

@test "--deny 127.0.0.2/32 refuses that address only" {
	sock_listen /dev/null "$T/out" "$T/err" -k --deny 127.0.0.2/32 127.0.0.1 0
	send_from 127.0.0.2 127.0.0.1
	send_from 127.0.0.1 127.0.0.1
	send_from 127.0.0.3 127.0.0.1
	wait_for 5 has_line "$T/out" "from 127.0.0.3"
	has_line "$T/out" "from 127.0.0.1"
	run ! has_line "$T/out" "from 127.0.0.2"
	grep -Eq "$(refused_re 127.0.0.2)" "$T/err"
	[ "$(grep -c '^sock: refused' "$T/err")" -eq 1 ]
}

@test "--allow takes CIDR blocks: 127.0.0.0/30 admits .2 and .3, not .4" {
	sock_listen /dev/null "$T/out" "$T/err" -k \
	    --allow 10.0.0.0/8,127.0.0.0/30 127.0.0.1 0
	send_from 127.0.0.4 127.0.0.1
	send_from 127.0.0.2 127.0.0.1
	send_from 127.0.0.3 127.0.0.1
	wait_for 5 has_line "$T/out" "from 127.0.0.3"
	has_line "$T/out" "from 127.0.0.2"
	run ! has_line "$T/out" "from 127.0.0.4"
	grep -Eq "$(refused_re 127.0.0.4)" "$T/err"
}

@test "--allow 127.0.0.0/8 admits every loopback address" {
	sock_listen /dev/null "$T/out" "$T/err" -k --allow 127.0.0.0/8 127.0.0.1 0
	send_from 127.0.0.2 127.0.0.1
	send_from 127.9.8.7 127.0.0.1
	wait_for 5 has_line "$T/out" "from 127.9.8.7"
	has_line "$T/out" "from 127.0.0.2"
	run ! grep -q '^sock: refused' "$T/err"
}

@test "--allow ::1 admits ::1 and refuses 127.0.0.1 on a dual-stack listener" {
	has_ipv6_loopback || skip "::1 is not configured"
	sock_listen /dev/null "$T/out" "$T/err" -k --allow ::1 0
	grep -q '^sock: listening on :: port' "$T/err" ||
	    skip "the listener fell back to IPv4"
	send_from 127.0.0.1 127.0.0.1
	send_from ::1 ::1
	wait_for 5 has_line "$T/out" "from ::1"
	run ! has_line "$T/out" "from 127.0.0.1"
	grep -Eq "$(refused_re 127.0.0.1)" "$T/err"
}

@test "--deny ::1/128 refuses ::1 and admits 127.0.0.1" {
	has_ipv6_loopback || skip "::1 is not configured"
	sock_listen /dev/null "$T/out" "$T/err" -k --deny ::1/128 0
	send_from ::1 ::1
	send_from 127.0.0.1 127.0.0.1
	wait_for 5 has_line "$T/out" "from 127.0.0.1"
	run ! has_line "$T/out" "from ::1"
	grep -Eq '^sock: refused ::1 port [0-9]+: not allowed by --allow/--deny$' "$T/err"
}

@test "IPv4 clients of a dual-stack listener match IPv4 entries" {
	has_ipv6_loopback || skip "::1 is not configured"
	sock_listen /dev/null "$T/out" "$T/err" -k --deny 127.0.0.0/8 0
	grep -q '^sock: listening on :: port' "$T/err" ||
	    skip "the listener fell back to IPv4"
	send_from 127.0.0.1 127.0.0.1
	send_from ::1 ::1
	wait_for 5 has_line "$T/out" "from ::1"
	run ! has_line "$T/out" "from 127.0.0.1"
	grep -Eq "$(refused_re 127.0.0.1)" "$T/err"

	sock_listen /dev/null "$T/out2" "$T/err2" -k --allow 127.0.0.2 0
	send_from 127.0.0.1 127.0.0.1
	send_from 127.0.0.2 127.0.0.1
	wait_for 5 has_line "$T/out2" "from 127.0.0.2"
	run ! has_line "$T/out2" "from 127.0.0.1"
}

@test "--allowfile reads one entry a line with comments and blank lines" {
	printf '# who may connect\n\n  127.0.0.2   # the second loopback\n\t::1/128\n#127.0.0.1\n   \n' \
	    >"$T/allow"
	sock_listen /dev/null "$T/out" "$T/err" -k --allowfile "$T/allow" 127.0.0.1 0
	send_from 127.0.0.1 127.0.0.1
	send_from 127.0.0.2 127.0.0.1
	wait_for 5 has_line "$T/out" "from 127.0.0.2"
	run ! has_line "$T/out" "from 127.0.0.1"
	grep -Eq "$(refused_re 127.0.0.1)" "$T/err"
}

@test "--denyfile refuses the addresses it lists" {
	printf '# blocked\n127.0.0.2/32\r\n\n10.0.0.0/8 # not us\n' >"$T/deny"
	sock_listen /dev/null "$T/out" "$T/err" -k --denyfile "$T/deny" 127.0.0.1 0
	send_from 127.0.0.2 127.0.0.1
	send_from 127.0.0.1 127.0.0.1
	wait_for 5 has_line "$T/out" "from 127.0.0.1"
	run ! has_line "$T/out" "from 127.0.0.2"
	grep -Eq "$(refused_re 127.0.0.2)" "$T/err"
}

@test "a bad --allow or --deny entry is a usage error that names it" {
	local e
	for e in 1.2.3.4/33 300.1.1.1 ::1/129 localhost 10.0.0.0/8/8 \
	    1.2.3.4/ 1.2.3.4/-1 ''; do
		run -2 --separate-stderr "$SOCK" -l --allow "127.0.0.1,$e" 0
		[ -z "$output" ]
		[ "${stderr_lines[0]}" = "sock: invalid address \"$e\" in --allow: must be an IPv4 or IPv6 address or CIDR block" ]
		[ "${stderr_lines[1]}" = "sock: see 'sock --help' for usage" ]
	done
	run -2 --separate-stderr "$SOCK" -l --deny 10.0.0.0/x 0
	[ "${stderr_lines[0]}" = "sock: invalid address \"10.0.0.0/x\" in --deny: must be an IPv4 or IPv6 address or CIDR block" ]
}

@test "a bad entry in --allowfile or --denyfile names the file and line" {
	printf '# fine\n127.0.0.1\n\nnot-an-address # oops\n' >"$T/list"
	run -2 --separate-stderr "$SOCK" -l --allowfile "$T/list" 0
	[ -z "$output" ]
	[ "${stderr_lines[0]}" = "sock: invalid address \"not-an-address\" in $T/list line 4: must be an IPv4 or IPv6 address or CIDR block" ]
	[ "${stderr_lines[1]}" = "sock: see 'sock --help' for usage" ]
	printf '::1/200\n' >"$T/list2"
	run -2 --separate-stderr "$SOCK" -l --denyfile "$T/list2" 0
	[ "${stderr_lines[0]}" = "sock: invalid address \"::1/200\" in $T/list2 line 1: must be an IPv4 or IPv6 address or CIDR block" ]
}

@test "an unreadable --allowfile or --denyfile exits 1" {
	run -1 --separate-stderr "$SOCK" -l --allowfile "$T/missing" 0
	[ -z "$output" ]
	[ "$stderr" = "sock: --allowfile $T/missing: No such file or directory" ]
	mkdir "$T/dir"
	run -1 --separate-stderr "$SOCK" -l --denyfile "$T/dir" 0
	[ "$stderr" = "sock: --denyfile $T/dir: Is a directory" ]
}

@test "a one-line HTTP responder (-k -c printf) answers every request whole" {
	need curl
	sock_listen /dev/null /dev/null "$T/lerr" -k 127.0.0.1 0 \
	    -c 'printf "HTTP/1.0 200 OK\r\n\r\nhello\n"'
	local i ok=0
	# The program exits without reading the request; sock's own copy of
	# the socket keeps that from resetting the answer away.
	for i in $(seq 20); do
		if [ "$(curl -s --max-time 5 "http://127.0.0.1:$PORT/")" = hello ]; then
			ok=$((ok + 1))
		fi
	done
	[ "$ok" -eq 20 ]
}

@test "-q ends a -k -d server once nothing has arrived for that long" {
	sock_listen /dev/null "$T/out" "$T/lerr" -k -d -q 1 127.0.0.1 0
	printf 'one\n' | timeout 5 "$SOCK" 127.0.0.1 "$PORT"
	wait_exit "$LPID" 5
	[ "$EXIT_STATUS" -eq 0 ]
	[ "$(cat "$T/out")" = one ]
}
