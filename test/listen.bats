#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Listen mode: readiness line, bind addresses, -p spelling, one client at a
# time, -k, errors, connection lines.
# shellcheck disable=SC2016,SC2153,SC2154
# SC2016: sh -c scripts take their arguments as "$0" "$1"... on purpose.
# SC2153/SC2154: T, SOCK, PORT, LPID, BG_PID, EXIT_STATUS come from
# helper.bash (loaded by bats' load, which shellcheck cannot follow);
# stderr and stderr_lines from bats' run --separate-stderr.

load helper
bats_require_minimum_version 1.5.0

# client ARGS... <IN: run a sock client, bounded, expecting exit 0.
client() {
	run -0 timeout 10 "$SOCK" "$@"
}

@test "-l 0 -v prints the readiness line with the real port" {
	sock_listen /dev/null "$T/out" "$T/err" 0
	[ "$PORT" -gt 0 ]
	grep -Eqx "sock: listening on (::|0\\.0\\.0\\.0) port $PORT \\(tcp\\)" "$T/err"
	need ss
	is_listening "$PORT"
}

@test "a listener without a host is reached over 127.0.0.1" {
	sock_listen /dev/null "$T/out" "$T/err" 0
	printf 'over v4' >"$T/msg"
	client 127.0.0.1 "$PORT" <"$T/msg"
	wait_exit "$LPID" 5
	[ "$EXIT_STATUS" -eq 0 ]
	same_file "$T/msg" "$T/out"
}

@test "a listener without a host is reached over ::1" {
	has_ipv6_loopback || skip "::1 is not configured"
	sock_listen /dev/null "$T/out" "$T/err" 0
	grep -q '^sock: listening on :: port' "$T/err" ||
	    skip "the listener fell back to IPv4"
	printf 'over v6' >"$T/msg"
	client ::1 "$PORT" <"$T/msg"
	wait_exit "$LPID" 5
	[ "$EXIT_STATUS" -eq 0 ]
	same_file "$T/msg" "$T/out"
	grep -Eq '^sock: connection from ::1 port [0-9]+ \(tcp\)$' "$T/err"
}

@test "a listener on 127.0.0.1 is not reachable over ::1" {
	has_ipv6_loopback || skip "::1 is not configured"
	sock_listen /dev/null "$T/out" "$T/err" 127.0.0.1 0
	grep -qxF "sock: listening on 127.0.0.1 port $PORT (tcp)" "$T/err"
	run -1 --separate-stderr timeout 10 "$SOCK" ::1 "$PORT" </dev/null
	[ "$stderr" = "sock: connect to ::1 port $PORT: Connection refused" ]
	kill -0 "$LPID"
}

@test "-l -p PORT listens on that port" {
	local want
	need python3
	want=$(free_port)
	sock_listen /dev/null "$T/out" "$T/err" -p "$want"
	[ "$PORT" = "$want" ]
	printf 'dash p' >"$T/msg"
	client 127.0.0.1 "$PORT" <"$T/msg"
	wait_exit "$LPID" 5
	[ "$EXIT_STATUS" -eq 0 ]
	same_file "$T/msg" "$T/out"
}

@test "-l -p PORT HOST listens on that port of that host" {
	local want
	need python3
	want=$(free_port)
	sock_listen /dev/null "$T/out" "$T/err" -p "$want" 127.0.0.1
	grep -qxF "sock: listening on 127.0.0.1 port $want (tcp)" "$T/err"
	printf 'dash p host' >"$T/msg"
	client 127.0.0.1 "$want" <"$T/msg"
	wait_exit "$LPID" 5
	[ "$EXIT_STATUS" -eq 0 ]
	same_file "$T/msg" "$T/out"
}

@test "the listening socket is closed once its one client is accepted" {
	need ss
	open_feed "$T/lin"
	sock_listen "$T/lin" "$T/out" "$T/err" 127.0.0.1 0
	open_feed "$T/cin"
	bg sh -c 'exec "$0" 127.0.0.1 "$1" <"$2" >/dev/null 2>&1' "$SOCK" "$PORT" "$T/cin"
	wait_for 5 grep -q '^sock: connection from' "$T/err"
	wait_for 5 eval '! is_listening "$PORT"'
	run -1 --separate-stderr timeout 10 "$SOCK" 127.0.0.1 "$PORT" </dev/null
	[ "$stderr" = "sock: connect to 127.0.0.1 port $PORT: Connection refused" ]
	end_feed "$T/cin"
}

@test "-k serves a second client after the first one left" {
	sock_listen /dev/null "$T/out" "$T/err" -k 127.0.0.1 0
	printf 'one\n' >"$T/m1"
	printf 'two\n' >"$T/m2"
	client 127.0.0.1 "$PORT" <"$T/m1"
	client 127.0.0.1 "$PORT" <"$T/m2"
	cat "$T/m1" "$T/m2" >"$T/want"
	wait_for 5 eval '[ "$(wc -c <"$T/out")" -ge 8 ]'
	same_file "$T/want" "$T/out"
	kill -0 "$LPID"
	[ "$(grep -c '^sock: connection from' "$T/err")" -eq 2 ]
}

@test "a listener on a name listens on each of its addresses on one port" {
	local lpid port
	need_dual_name
	"${DUAL_RUN[@]}" "$SOCK" -v -l "$DUAL" 0 </dev/null >"$T/out" 2>"$T/err" 3>&- &
	lpid=$!
	PIDS+=("$lpid")
	wait_for 5 eval '[ "$(grep -c "^sock: listening on" "$T/err")" -ge 2 ]'
	port=$(port_from "$T/err")
	grep -qxF "sock: listening on ::1 port $port (tcp)" "$T/err"
	grep -qxF "sock: listening on 127.0.0.1 port $port (tcp)" "$T/err"
	printf 'either' >"$T/msg"
	client ::1 "$port" <"$T/msg"
	wait_exit "$lpid" 5
	[ "$EXIT_STATUS" -eq 0 ]
	same_file "$T/msg" "$T/out"
}

@test "-w does not bound how long a listener waits for its first client" {
	sock_listen /dev/null "$T/out" "$T/err" -w 0.3 127.0.0.1 0
	sleep 1
	kill -0 "$LPID"
	printf 'late but welcome' >"$T/msg"
	client 127.0.0.1 "$PORT" <"$T/msg"
	wait_exit "$LPID" 5
	[ "$EXIT_STATUS" -eq 0 ]
	same_file "$T/msg" "$T/out"
}

@test "a port already in use exits 1 with a bind message" {
	sock_listen /dev/null "$T/out" "$T/err" 127.0.0.1 0
	run -1 --separate-stderr timeout 10 "$SOCK" -l 127.0.0.1 "$PORT" </dev/null
	[ -z "$output" ]
	[ "$stderr" = "sock: bind to 127.0.0.1 port $PORT: $(errtext EADDRINUSE)" ]
}

@test "-v prints a connection from line naming the client's address and port" {
	local src
	need python3
	src=$(free_port)
	sock_listen /dev/null "$T/out" "$T/err" 127.0.0.1 0
	printf 'x' >"$T/msg"
	client -p "$src" 127.0.0.1 "$PORT" <"$T/msg"
	wait_exit "$LPID" 5
	grep -qxF "sock: connection from 127.0.0.1 port $src (tcp)" "$T/err"
}

@test "an IPv4 client of a dual-stack listener is printed as IPv4" {
	sock_listen /dev/null "$T/out" "$T/err" 0
	printf 'x' >"$T/msg"
	client 127.0.0.1 "$PORT" <"$T/msg"
	wait_exit "$LPID" 5
	grep -Eq '^sock: connection from 127\.0\.0\.1 port [0-9]+ \(tcp\)$' "$T/err"
	run ! grep -q 'ffff' "$T/err"
}

@test "a listener without -v prints nothing on stderr" {
	local p
	need ss
	bg sh -c 'exec "$0" -l 127.0.0.1 0 </dev/null >"$1" 2>"$2"' \
	    "$SOCK" "$T/out" "$T/err"
	local lpid=$BG_PID
	wait_for 5 has_bound_port "$lpid"
	p=$(bound_port "$lpid")
	printf 'quiet' >"$T/msg"
	client 127.0.0.1 "$p" <"$T/msg"
	wait_exit "$lpid" 5
	[ "$EXIT_STATUS" -eq 0 ]
	same_file "$T/msg" "$T/out"
	[ ! -s "$T/err" ]
}

@test "a listener sends its stdin to the client" {
	printf 'from the listener\n' >"$T/answer"
	sock_listen "$T/answer" "$T/out" "$T/err" 127.0.0.1 0
	run -0 timeout 10 "$SOCK" 127.0.0.1 "$PORT" </dev/null
	[ "$output" = "from the listener" ]
	wait_exit "$LPID" 5
	[ "$EXIT_STATUS" -eq 0 ]
}
