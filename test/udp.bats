#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# UDP (-u): both directions, the quit rules after end of stdin (-q), the
# listener waiting for its first peer, one datagram per read, errors.
# shellcheck disable=SC2016,SC2153,SC2154
# SC2016: sh -c scripts take their arguments as "$0" "$1"... on purpose.
# SC2153/SC2154: T, SOCK, PORT, LPID, BG_PID, EXIT_STATUS come from
# helper.bash (loaded by bats' load, which shellcheck cannot follow);
# stderr and stderr_lines from bats' run --separate-stderr.

load helper
bats_require_minimum_version 1.5.0

# udp_peer [REPLY]: start a python3 UDP socket on 127.0.0.1 that logs the
# size of each datagram it receives, one per line, to $T/peer.log (and
# answers each with REPLY if given); set PEER_PORT.
udp_peer() {
	need python3
	: >"$T/peer.log"
	local acts=(log="$T/peer.log")
	[ $# -eq 0 ] || acts+=(reply="$1")
	bg python3 "$PEER_PY" udp "$T/peer.port" "${acts[@]}"
	wait_for 5 test -s "$T/peer.port"
	PEER_PORT=$(cat "$T/peer.port")
}

# count_lines FILE N: FILE has at least N lines.
count_lines() {
	[ "$(wc -l <"$1")" -ge "$2" ]
}

@test "a UDP client's datagram reaches the listener's stdout" {
	sock_listen /dev/null "$T/out" "$T/err" -u 127.0.0.1 0
	grep -qxF "sock: listening on 127.0.0.1 port $PORT (udp)" "$T/err"
	printf 'hello\n' >"$T/msg"
	run -0 timeout 10 "$SOCK" -u 127.0.0.1 "$PORT" <"$T/msg"
	wait_exit "$LPID" 5
	[ "$EXIT_STATUS" -eq 0 ]
	same_file "$T/msg" "$T/out"
}

@test "a UDP listener answers its first peer" {
	open_feed "$T/lin"
	sock_listen "$T/lin" "$T/lout" "$T/lerr" -u 127.0.0.1 0
	datagram_ping_pong -u 127.0.0.1 "$PORT"
}

@test "a UDP listener ignores datagrams from a second peer" {
	open_feed "$T/lin"
	sock_listen "$T/lin" "$T/lout" "$T/lerr" -u 127.0.0.1 0
	open_feed "$T/c1"
	bg sh -c 'exec "$0" -u 127.0.0.1 "$1" <"$2" >/dev/null 2>&1' "$SOCK" "$PORT" "$T/c1"
	local c1pid=$BG_PID
	feed "$T/c1" 'first
'
	wait_for 5 has_text "$T/lout" first
	printf 'intruder\n' >"$T/m2"
	run timeout 10 "$SOCK" -u 127.0.0.1 "$PORT" <"$T/m2"
	feed "$T/c1" 'second
'
	wait_for 5 has_text "$T/lout" second
	printf 'first\nsecond\n' >"$T/want"
	same_file "$T/want" "$T/lout"
	end_feed "$T/c1"
	wait_exit "$c1pid" 4
}

@test "a UDP client with empty stdin exits by itself about 1 s later" {
	local start ms
	udp_peer
	start=$(date +%s%N)
	bg sh -c 'exec "$0" -u 127.0.0.1 "$1" </dev/null' "$SOCK" "$PEER_PORT"
	wait_exit "$BG_PID" 4
	ms=$(elapsed_ms "$start")
	[ "$EXIT_STATUS" -eq 0 ]
	[ "$ms" -ge 800 ]
}

@test "-q 0 makes a UDP client quit as soon as stdin is sent" {
	local start ms
	udp_peer
	printf 'bye\n' >"$T/msg"
	start=$(date +%s%N)
	bg sh -c 'exec "$0" -q 0 -u 127.0.0.1 "$1" <"$2"' "$SOCK" "$PEER_PORT" "$T/msg"
	wait_exit "$BG_PID" 4
	ms=$(elapsed_ms "$start")
	[ "$EXIT_STATUS" -eq 0 ]
	[ "$ms" -lt 700 ]
	wait_for 5 count_lines "$T/peer.log" 1
}

@test "-q 2 makes a UDP client wait 2 s after stdin ends" {
	local start ms
	udp_peer
	start=$(date +%s%N)
	bg sh -c 'exec "$0" -q 2 -u 127.0.0.1 "$1" </dev/null' "$SOCK" "$PEER_PORT"
	wait_exit "$BG_PID" 5
	ms=$(elapsed_ms "$start")
	[ "$EXIT_STATUS" -eq 0 ]
	[ "$ms" -ge 1900 ]
}

@test "a UDP listener waits for its first datagram however long it takes" {
	sock_listen /dev/null "$T/out" "$T/err" -u 127.0.0.1 0
	sleep 1.5
	kill -0 "$LPID"
	printf 'late\n' >"$T/msg"
	run -0 timeout 10 "$SOCK" -u 127.0.0.1 "$PORT" <"$T/msg"
	wait_exit "$LPID" 5
	[ "$EXIT_STATUS" -eq 0 ]
	same_file "$T/msg" "$T/out"
}

@test "each line written through a FIFO goes out as its own datagram" {
	udp_peer
	open_feed "$T/cin"
	bg sh -c 'exec "$0" -u 127.0.0.1 "$1" <"$2"' "$SOCK" "$PEER_PORT" "$T/cin"
	local cpid=$BG_PID
	feed "$T/cin" 'a
'
	wait_for 5 count_lines "$T/peer.log" 1
	feed "$T/cin" 'bb
'
	wait_for 5 count_lines "$T/peer.log" 2
	feed "$T/cin" 'ccc
'
	wait_for 5 count_lines "$T/peer.log" 3
	end_feed "$T/cin"
	wait_exit "$cpid" 4
	[ "$EXIT_STATUS" -eq 0 ]
	[ "$(cat "$T/peer.log")" = "$(printf '2\n3\n4')" ]
}

@test "a UDP client writes each answer it receives to stdout" {
	udp_peer 'answer
'
	printf 'question\n' >"$T/msg"
	run -0 --separate-stderr timeout 10 "$SOCK" -q 0.3 -u 127.0.0.1 "$PEER_PORT" <"$T/msg"
	[ "$output" = answer ]
}

@test "a UDP client sending to a closed port exits 1 with connection refused" {
	local p
	need python3
	p=$(free_port udp)
	printf 'anyone?\n' >"$T/msg"
	run -1 --separate-stderr timeout 10 "$SOCK" -u 127.0.0.1 "$p" <"$T/msg"
	[ -z "$output" ]
	[[ ${stderr_lines[0]} == 'sock: '*"127.0.0.1 port $p: Connection refused" ]]
}

@test "a UDP listener with -k takes datagrams from one client after another" {
	sock_listen /dev/null "$T/out" "$T/err" -k -u 127.0.0.1 0
	printf 'a\n' >"$T/m1"
	printf 'b\n' >"$T/m2"
	run -0 timeout 10 "$SOCK" -q 0 -u 127.0.0.1 "$PORT" <"$T/m1"
	wait_for 5 has_text "$T/out" a
	run -0 timeout 10 "$SOCK" -q 0 -u 127.0.0.1 "$PORT" <"$T/m2"
	wait_for 5 has_text "$T/out" b
	printf 'a\nb\n' >"$T/want"
	same_file "$T/want" "$T/out"
	kill -0 "$LPID"
}

@test "a UDP listener sends its stdin to its first peer once it arrives" {
	printf 'waiting for you\n' >"$T/answer"
	sock_listen "$T/answer" "$T/lout" "$T/lerr" -u 127.0.0.1 0
	open_feed "$T/cin"
	bg sh -c 'exec "$0" -u 127.0.0.1 "$1" <"$2" >"$3"' \
	    "$SOCK" "$PORT" "$T/cin" "$T/cout"
	local cpid=$BG_PID
	feed "$T/cin" 'hi
'
	wait_for 5 has_text "$T/cout" 'waiting for you'
	end_feed "$T/cin"
	wait_exit "$cpid" 4
	[ "$EXIT_STATUS" -eq 0 ]
	same_file "$T/answer" "$T/cout"
	wait_exit "$LPID" 4
	[ "$EXIT_STATUS" -eq 0 ]
	[ "$(cat "$T/lout")" = hi ]
}
