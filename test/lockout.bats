#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Clients that go quiet or leave, in the modes that serve many at once
# (sock(1), -w, -k): a client or pair idle for -w is closed alone, the busy
# ones run on intact, and the server keeps serving; a client that has left
# frees its slot at once; and what a program started per client may see.
# shellcheck disable=SC2016,SC2153,SC2154
# SC2016: -c strings are for the program's shell, not for bats.
# SC2153/SC2154: T, SOCK, PORT, LPID, EXIT_STATUS come from helper.bash.

load helper
bats_require_minimum_version 1.5.0

# echo_target: a -k -c cat echo server; its port in TPORT.
echo_target() {
	sock_listen /dev/null /dev/null "$T/target.err" -k 127.0.0.1 0 -c cat
	TPORT=$PORT
}

# paced N: "line 1" .. "line N", one every 0.2 s: a client that is never
# idle for a second. (The pause is the client's pace, not a wait for an
# event.)
paced() {
	local i
	for i in $(seq "$1"); do
		printf 'line %d\n' "$i"
		sleep 0.2
	done
}

# busy_client OUT ARGS...: a sock client (ARGS) that sends 15 paced lines
# over 3 s and writes what comes back to OUT; its status must be 0.
busy_client() {
	local out=$1
	shift
	paced 15 | timeout 20 "$SOCK" "$@" >"$out" 2>"$out.err" ||
	    { echo "busy client exited $?" >&2; cat "$out.err" >&2; return 1; }
}

# idle_client PORT [ACTION...]: a client that says nothing (after ACTIONs)
# and must see the server close it after about a second: not within
# 0.7 s, but within 4 s more. Runs in the background; its PID in IPID.
idle_client() {
	local port=$1
	shift
	bg python3 "$PEER_PY" connect "$port" "$@" no_eof=0.7 eof_within=4
	IPID=$BG_PID
}

idle_client_ok() {
	wait_exit "$IPID" 10
	[ "$EXIT_STATUS" -eq 0 ]
}

# has_n N PATTERN FILE: FILE has at least N lines matching PATTERN (ERE).
has_n() {
	[ "$(grep -Ec -- "$2" "$3")" -ge "$1" ]
}

# same_lines FILE N: FILE holds exactly "line 1" .. "line N".
same_lines() {
	seq "$2" | sed 's/^/line /' >"$T/want"
	same_file "$T/want" "$1"
}

# one_idle_one_busy PID ERR PORT CLIENT...: a server (PID, stderr ERR)
# with -w 1 closes the idle client the caller started (IPID) after about a
# second, naming the connection's PORT (a pattern), while a busy client
# (sock CLIENT...) gets its 15 lines back; and it serves another client
# after.
one_idle_one_busy() {
	local pid=$1 err=$2 port=$3
	shift 3
	busy_client "$T/busy" "$@"
	same_lines "$T/busy" 15
	idle_client_ok
	grep -q "^sock: connection to 127.0.0.1 port $port: idle timeout after 1 s$" "$err"
	kill -0 "$pid"
	printf 'after\n' >"$T/m"
	run -0 timeout 5 "$SOCK" "$@" <"$T/m"
	[ "$output" = after ]
	kill -0 "$pid"
}

@test "-k -w 1 --forward: an idle pair is closed at 1 s, a busy pair runs on, the forwarder keeps serving" {
	need python3
	echo_target
	sock_listen /dev/null /dev/null "$T/fwd.err" -k -w 1 127.0.0.1 0 \
	    --forward "127.0.0.1:$TPORT"
	idle_client "$PORT"
	one_idle_one_busy "$LPID" "$T/fwd.err" "$TPORT" 127.0.0.1 "$PORT"
}

@test "-k -w 1 --proxy-server: an idle tunnel is closed at 1 s, a busy one runs on, the proxy keeps serving" {
	need python3
	echo_target
	sock_listen /dev/null /dev/null "$T/proxy.err" -k -w 1 127.0.0.1 0 \
	    --proxy-server
	# SOCKS5: no authentication, CONNECT 127.0.0.1 port TPORT; the two
	# replies are 2 and 10 bytes.
	idle_client "$PORT" "sendhex=050100050100017f000001$(printf '%04x' "$TPORT")" \
	    recv_n=12
	one_idle_one_busy "$LPID" "$T/proxy.err" "$TPORT" -x "127.0.0.1:$PORT" \
	    127.0.0.1 "$TPORT"
}

@test "-k -w 1 -e: an idle client's program is cut off at 1 s, a busy one runs on" {
	need python3
	sock_listen /dev/null "$T/out" "$T/err" -k -w 1 127.0.0.1 0 -e /bin/cat
	idle_client "$PORT"
	one_idle_one_busy "$LPID" "$T/err" "[0-9]*" 127.0.0.1 "$PORT"
}

@test "-l -w 1 -e: the one program's idle connection is closed at 1 s" {
	need python3
	sock_listen /dev/null "$T/out" "$T/err" -w 1 127.0.0.1 0 -e /bin/cat
	idle_client "$PORT"
	idle_client_ok
	wait_exit "$LPID" 5
	[ "$EXIT_STATUS" -eq 3 ]
}

@test "--broker and --chat with -w 1: idle clients are closed and the server goes on relaying" {
	local mode bpid bport
	need python3
	for mode in --broker --chat; do
		sock_listen /dev/null /dev/null "$T/b.err" -w 1 127.0.0.1 0 "$mode"
		bpid=$LPID bport=$PORT
		idle_client "$bport"
		idle_client_ok
		grep -q "^sock: connection to 127.0.0.1 port [0-9]*: idle timeout after 1 s$" "$T/b.err"
		# A listener that reads the talker's lines (and says nothing,
		# but is never idle while they arrive).
		open_feed "$T/quiet"
		bg sh -c 'p=$0 in=$1 out=$2; shift 2; exec "$p" "$@" <"$in" >"$out"' \
		    "$SOCK" "$T/quiet" "$T/heard" 127.0.0.1 "$bport"
		wait_for 5 has_n 2 '^sock: connection from' "$T/b.err"
		busy_client "$T/busy" 127.0.0.1 "$bport"
		wait_for 5 has_n 15 'line [0-9]+$' "$T/heard"
		grep 'line [0-9]*$' "$T/heard" | sed 's/^.*\(line [0-9]*\)$/\1/' \
		    >"$T/heard.lines"
		same_lines "$T/heard.lines" 15
		kill -0 "$bpid"
		end_feed "$T/quiet"
		kill "$bpid"
		wait "$bpid" 2>/dev/null || true
	done
}

@test "-e and -c programs never see SOCK_PROXY_PASSWORD" {
	SOCK_PROXY_PASSWORD=hunter2 sock_listen /dev/null "$T/out" "$T/err" \
	    -k 127.0.0.1 0 -c 'tr "\0" "\n" </proc/$$/environ'
	run -0 timeout 5 "$SOCK" 127.0.0.1 "$PORT" </dev/null
	# The program's environment was read: it has sock's variables.
	[[ "$output" == *SOCK_REMOTE_ADDR=127.0.0.1* ]]
	[[ "$output" != *SOCK_PROXY_PASSWORD* ]]
	[[ "$output" != *hunter2* ]]
}

@test "a program run in connect mode through an authenticating proxy never sees the password" {
	sock_listen /dev/null "$T/seen" "$T/target.err" 127.0.0.1 0
	local tport=$PORT tpid=$LPID
	SOCK_PROXY_PASSWORD=hunter2 sock_listen /dev/null /dev/null "$T/proxy.err" \
	    -k 127.0.0.1 0 --proxy-server --proxy-auth alice
	SOCK_PROXY_PASSWORD=hunter2 run -0 timeout 5 "$SOCK" \
	    -x "socks5://alice@127.0.0.1:$PORT" 127.0.0.1 "$tport" \
	    -c 'tr "\0" "\n" </proc/$$/environ'
	wait_exit "$tpid" 5
	[ "$EXIT_STATUS" -eq 0 ]
	grep -q "^SOCK_PROTO=tcp$" "$T/seen"
	run -1 grep -e SOCK_PROXY_PASSWORD -e hunter2 "$T/seen"
}

@test "-k with a quiet open stdin: a client that has left gives its slot back at once" {
	open_feed "$T/in"
	sock_listen "$T/in" "$T/out" "$T/err" -k --max-conns 1 127.0.0.1 0
	printf 'first\n' >"$T/m1"
	printf 'second\n' >"$T/m2"
	# Each client sends its line and its FIN, and is gone.
	run -0 timeout 5 "$SOCK" --send-only 127.0.0.1 "$PORT" <"$T/m1"
	wait_for 5 has_line "$T/out" first
	run -0 timeout 5 "$SOCK" --send-only 127.0.0.1 "$PORT" <"$T/m2"
	wait_for 5 has_line "$T/out" second
	run -1 grep -q 'refused' "$T/err"
	kill -0 "$LPID"
}

@test "-k: a client that has half-closed still gets what stdin says later" {
	open_feed "$T/in"
	sock_listen "$T/in" "$T/out" "$T/err" -k 127.0.0.1 0
	printf 'question\n' >"$T/m"
	start_half_closed() {
		bg sh -c 'exec "$0" 127.0.0.1 "$1" <"$2" >"$3"' "$SOCK" "$PORT" \
		    "$T/m" "$T/answer"
		CPID=$BG_PID
	}
	start_half_closed
	wait_for 5 has_line "$T/out" question
	say "$T/in" answer
	end_feed "$T/in"
	wait_exit "$CPID" 5
	[ "$EXIT_STATUS" -eq 0 ]
	[ "$(cat "$T/answer")" = answer ]
}

# ---------------------------------------------------------------- one source

# crowd_of N SECS: N clients from 127.0.0.1 that stall, held SECS; waits
# until all are connected; the report goes to $T/crowd (test/crowd.py).
crowd_of() {
	bg python3 "$BATS_TEST_DIRNAME/crowd.py" "$PORT" "$1" "" "$2" >"$T/crowd"
	CROWD_PID=$BG_PID
	wait_for 10 grep -q '^ready$' "$T/crowd"
}

# per_source_holds ARGS...: with "sock -k --max-conns-per-source 2 ARGS"
# listening (PORT, LPID, $T/err), 127.0.0.1 holds three connections: the
# third is closed at once, the two others stay; a client from 127.0.0.2
# is still served (CMD from $T/cmd, given the port, must print "hello");
# once 127.0.0.1's connections are gone, it is served again.
per_source_holds() {
	crowd_of 3 3
	wait_for 5 grep -q "^sock: refused 127.0.0.1 port [0-9]*: already 2 connections from its address (--max-conns-per-source)$" "$T/err"
	"$@" 127.0.0.2 >"$T/second"
	[ "$(cat "$T/second")" = hello ]
	wait_exit "$CROWD_PID" 10
	grep -q '^closed 1 in' "$T/crowd"
	"$@" 127.0.0.1 >"$T/again"
	[ "$(cat "$T/again")" = hello ]
}

# echo_from SRC: send "hello" to PORT from address SRC and print the answer.
echo_from() {
	printf 'hello\n' | timeout 5 "$SOCK" -s "$1" 127.0.0.1 "$PORT"
}

# proxied_from SRC: the same, through the SOCKS5 proxy at PORT to TPORT.
proxied_from() {
	printf 'hello\n' | timeout 5 "$SOCK" -s "$1" -x "127.0.0.1:$PORT" \
	    127.0.0.1 "$TPORT"
}

@test "-k -e --max-conns-per-source 2: one address at its limit cannot keep another out" {
	need python3
	sock_listen /dev/null "$T/out" "$T/err" -k --max-conns-per-source 2 \
	    127.0.0.1 0 -e /bin/cat
	per_source_holds echo_from
}

@test "--forward --max-conns-per-source 2: one address at its limit cannot keep another out" {
	need python3
	echo_target
	sock_listen /dev/null "$T/out" "$T/err" -k --max-conns-per-source 2 \
	    127.0.0.1 0 --forward "127.0.0.1:$TPORT"
	per_source_holds echo_from
}

@test "--proxy-server --max-conns-per-source 2: one address at its limit cannot keep another out" {
	need python3
	echo_target
	sock_listen /dev/null "$T/out" "$T/err" -k --max-conns-per-source 2 \
	    127.0.0.1 0 --proxy-server
	per_source_holds proxied_from
}

@test "-k --max-conns-per-source 2: a third client from one address is refused, another address is not" {
	need python3
	sock_listen /dev/null "$T/out" "$T/err" -k --max-conns-per-source 2 \
	    127.0.0.1 0
	crowd_of 3 3
	wait_for 5 grep -q "^sock: refused 127.0.0.1 port [0-9]*: already 2 connections from its address (--max-conns-per-source)$" "$T/err"
	printf 'from .2\n' >"$T/m"
	run -0 timeout 5 "$SOCK" -s 127.0.0.2 127.0.0.1 "$PORT" <"$T/m"
	wait_for 5 has_line "$T/out" "from .2"
	wait_exit "$CROWD_PID" 10
	grep -q '^closed 1 in' "$T/crowd"
}

@test "--allow and --deny come before --max-conns-per-source" {
	sock_listen /dev/null "$T/out" "$T/err" -k --max-conns-per-source 1 \
	    --deny 127.0.0.3 127.0.0.1 0
	run -0 timeout 5 "$SOCK" -s 127.0.0.3 127.0.0.1 "$PORT" </dev/null
	wait_for 5 grep -q "^sock: refused 127.0.0.3 port [0-9]*: not allowed by --allow/--deny$" "$T/err"
	run -1 grep -q 'per-source' "$T/err"
}

@test "--max-conns-per-source: needs a server of many clients, counts IP addresses only, takes 1 or more" {
	run -2 --separate-stderr "$SOCK" -l 0 --max-conns-per-source 2
	[ "${stderr_lines[0]}" = "sock: --max-conns-per-source needs -k, --broker, --chat or --forward" ]
	run -2 --separate-stderr "$SOCK" -l -k -U "$T/s" --max-conns-per-source 2
	[ "${stderr_lines[0]}" = "sock: --max-conns-per-source cannot be used with -U: it counts the connections of each IP address" ]
	run -2 --separate-stderr "$SOCK" -l -k -u 0 --max-conns-per-source 2
	[ "${stderr_lines[0]}" = "sock: --max-conns-per-source cannot be used with -u (except with --forward)" ]
	run -2 --separate-stderr "$SOCK" -l -k 0 --max-conns-per-source 0
	[[ "${stderr_lines[0]}" == "sock: invalid --max-conns-per-source "* ]]
}
