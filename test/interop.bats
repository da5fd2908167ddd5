#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Interoperability: sock beside real peers on loopback (nc.openbsd, ncat,
# socat, nc.traditional, busybox nc and python3), each way round, whole
# transfers and half-closes (sock(1), "Data flow and end of stream").
#
# In a peer command, the word part @PORT@ is replaced by the port in use.
#
# Each @test body runs in a subshell (SC2030/SC2031); run sets status and
# output, and helper.bash sets PORT and LPID (SC2154/SC2153).
# shellcheck disable=SC2030,SC2031,SC2153,SC2154

load helper
bats_require_minimum_version 1.5.0

SIZE=3000000

# peer_bg IN OUT CMD...: run a peer program in the background, stdin from IN
# and stdout to OUT (opened in the child), stderr appended to $T/peer.err;
# PEER is its PID.
peer_bg() {
	local in=$1 out=$2
	shift 2
	"$@" <"$in" >"$out" 2>>"$T/peer.err" 3>&- 5>&- &
	PEER=$!
	PIDS+=("$PEER")
}

# exited_ok PID ERRFILE: PID exits 0 within 10 s; show ERRFILE otherwise.
exited_ok() {
	wait_exit "$1" 10
	if [ "$EXIT_STATUS" -ne 0 ]; then
		echo "exit status $EXIT_STATUS" >&2
		cat "$2" >&2
		return 1
	fi
}

# peer_done: the peer program exits within 10 s (any status: some netcats
# report a status of their own; what counts is sock's status and the data).
peer_done() {
	wait_exit "$PEER" 10 || { cat "$T/peer.err" >&2; return 1; }
}

# upload_to_listener CMD...: a sock listener started < /dev/null receives
# the whole upload from the client CMD (stdin: the payload).
upload_to_listener() {
	random_file "$T/data" "$SIZE"
	sock_listen /dev/null "$T/out" "$T/err" 127.0.0.1 0
	peer_bg "$T/data" /dev/null "${@//@PORT@/$PORT}"
	exited_ok "$LPID" "$T/err"
	peer_done
	same_file "$T/data" "$T/out"
}

# download_from_listener CMD...: a sock client started < /dev/null receives
# the whole download from the listener CMD (stdin: the payload).
download_from_listener() {
	local port
	random_file "$T/data" "$SIZE"
	port=$(free_port)
	peer_bg "$T/data" /dev/null "${@//@PORT@/$port}"
	wait_for 5 is_listening "$port"
	sock_bg /dev/null "$T/out" "$T/err" 127.0.0.1 "$port"
	exited_ok "$SPID" "$T/err"
	peer_done
	same_file "$T/data" "$T/out"
}

# listener_to_fin_at_once CMD...: a sock listener < file delivers the whole
# file to the client CMD, which sends its FIN at once (stdin /dev/null).
listener_to_fin_at_once() {
	random_file "$T/data" "$SIZE"
	sock_listen "$T/data" "$T/out" "$T/err" 127.0.0.1 0
	peer_bg /dev/null "$T/got" "${@//@PORT@/$PORT}"
	exited_ok "$LPID" "$T/err"
	peer_done
	same_file "$T/data" "$T/got"
	[ ! -s "$T/out" ]
}

# The two-way cases below keep sock's stdin open (a FIFO) until sock has
# received all of the peer's data: nc.openbsd's listen mode and ncat stop
# sending when a FIN arrives (sock(1), "Data flow and end of stream"), so
# an early FIN would race.

# both_ways_client CMD...: sock as client of the listener CMD; each side
# sends its own payload and receives the other's.
both_ways_client() {
	local port
	random_file "$T/a" "$SIZE"
	random_file "$T/b" "$SIZE"
	port=$(free_port)
	peer_bg "$T/a" "$T/peer_got" "${@//@PORT@/$port}"
	wait_for 5 is_listening "$port"
	hold_fifo "$T/in"
	sock_bg "$T/in" "$T/out" "$T/err" 127.0.0.1 "$port"
	exec 5>"$T/in"
	bg cat "$T/b" >&5
	WRITER=$BG_PID
	wait_exit "$WRITER" 10
	wait_for 10 size_is "$T/out" "$SIZE"
	exec 5>&-
	exited_ok "$SPID" "$T/err"
	peer_done
	same_file "$T/a" "$T/out"
	same_file "$T/b" "$T/peer_got"
}

# both_ways_listener CMD...: the client CMD connects to a sock listener;
# each side sends its own payload and receives the other's.
both_ways_listener() {
	random_file "$T/a" "$SIZE"
	random_file "$T/b" "$SIZE"
	hold_fifo "$T/in"
	# Read-write open does not block on a FIFO; sock gets it without fd 5.
	exec 5<>"$T/in"
	sock_listen "$T/in" "$T/out" "$T/err" 127.0.0.1 0 5>&-
	peer_bg "$T/a" "$T/peer_got" "${@//@PORT@/$PORT}"
	bg cat "$T/b" >&5
	WRITER=$BG_PID
	wait_exit "$WRITER" 10
	wait_for 10 size_is "$T/out" "$SIZE"
	exec 5>&-
	exited_ok "$LPID" "$T/err"
	peer_done
	same_file "$T/a" "$T/out"
	same_file "$T/b" "$T/peer_got"
}

# --- rule 8: a listener started < /dev/null receives a whole upload

@test "a sock listener < /dev/null receives a whole upload from a sock client" {
	upload_to_listener "$SOCK" 127.0.0.1 @PORT@
}

@test "a sock listener < /dev/null receives a whole upload from nc.openbsd -N" {
	need nc.openbsd
	upload_to_listener nc.openbsd -N 127.0.0.1 @PORT@
}

@test "a sock listener < /dev/null receives a whole upload from ncat" {
	need ncat
	upload_to_listener ncat 127.0.0.1 @PORT@
}

@test "a sock listener < /dev/null receives a whole upload from ncat --send-only" {
	need ncat
	upload_to_listener ncat --send-only 127.0.0.1 @PORT@
}

@test "a sock listener < /dev/null receives a whole upload from socat -u FILE" {
	need socat
	upload_to_listener socat -u "FILE:$T/data" TCP:127.0.0.1:@PORT@
}

@test "a sock listener < /dev/null receives a whole upload from socat - (stdin)" {
	need socat
	upload_to_listener socat - TCP:127.0.0.1:@PORT@
}

@test "a sock listener < /dev/null receives a whole upload from nc.traditional -q 0" {
	need nc.traditional
	upload_to_listener nc.traditional -q 0 127.0.0.1 @PORT@
}

@test "a sock listener < /dev/null receives a whole upload from busybox nc" {
	need busybox
	upload_to_listener busybox nc 127.0.0.1 @PORT@
}

# --- rule 8: a client started < /dev/null receives a whole download

@test "a sock client < /dev/null receives a whole download from nc.openbsd -N -l" {
	need nc.openbsd
	download_from_listener nc.openbsd -N -l 127.0.0.1 @PORT@
}

@test "a sock client < /dev/null receives a whole download from ncat -l" {
	need ncat
	download_from_listener ncat -l 127.0.0.1 @PORT@
}

@test "a sock client < /dev/null receives a whole download from socat -u FILE TCP-LISTEN" {
	need socat
	download_from_listener socat -u "FILE:$T/data" TCP-LISTEN:@PORT@,bind=127.0.0.1,reuseaddr
}

@test "a sock client < /dev/null receives a whole download from socat - TCP-LISTEN" {
	need socat
	download_from_listener socat - TCP-LISTEN:@PORT@,bind=127.0.0.1,reuseaddr
}

# --- rule 8: a listener < file delivers it to a client that sends FIN at once

@test "a sock listener < file delivers the whole file to nc.openbsd -N < /dev/null" {
	need nc.openbsd
	listener_to_fin_at_once nc.openbsd -N 127.0.0.1 @PORT@
}

@test "a sock listener < file delivers the whole file to ncat < /dev/null" {
	need ncat
	listener_to_fin_at_once ncat 127.0.0.1 @PORT@
}

@test "a sock listener < file delivers the whole file to socat - < /dev/null" {
	need socat
	# -t 30: socat waits for the reply after its own EOF (default 0.5 s).
	listener_to_fin_at_once socat -t 30 - TCP:127.0.0.1:@PORT@
}

@test "a sock listener < file delivers the whole file to busybox nc < /dev/null" {
	need busybox
	listener_to_fin_at_once busybox nc 127.0.0.1 @PORT@
}

# --- rule 8: printf 'request' | sock gets the answer of a server that
# answers after EOF

@test "printf request | sock gets the whole answer of a socat EXEC server that answers after EOF" {
	need socat
	random_file "$T/answer" "$SIZE"
	printf '#!/bin/sh\ncat >"%s"\ncat "%s"\n' "$T/req" "$T/answer" >"$T/server.sh"
	chmod +x "$T/server.sh"
	port=$(free_port)
	peer_bg /dev/null /dev/null socat -t 30 "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr" "EXEC:$T/server.sh"
	wait_for 5 is_listening "$port"
	# shellcheck disable=SC2016 # expanded by the inner shell
	run -0 timeout 10 sh -c 'printf request | "$1" 127.0.0.1 "$2" >"$3"' sh "$SOCK" "$port" "$T/out"
	peer_done
	[ "$(cat "$T/req")" = request ]
	same_file "$T/answer" "$T/out"
}

@test "printf request | sock gets the whole answer of a python3 server that answers after EOF" {
	need python3
	random_file "$T/answer" "$SIZE"
	peer_listen recv_all="$T/req" send="$T/answer" close
	port=$PPORT
	# shellcheck disable=SC2016 # expanded by the inner shell
	run -0 timeout 10 sh -c 'printf request | "$1" 127.0.0.1 "$2" >"$3"' sh "$SOCK" "$port" "$T/out"
	peer_done
	[ "$(cat "$T/req")" = request ]
	same_file "$T/answer" "$T/out"
}

# --- both directions, sock as client and as listener

@test "a sock client and an nc.openbsd -N -l listener exchange data both ways" {
	need nc.openbsd
	both_ways_client nc.openbsd -N -l 127.0.0.1 @PORT@
}

@test "a sock client and an ncat -l listener exchange data both ways" {
	need ncat
	both_ways_client ncat -l 127.0.0.1 @PORT@
}

@test "a sock client and a socat TCP-LISTEN listener exchange data both ways" {
	need socat
	both_ways_client socat -t 30 - TCP-LISTEN:@PORT@,bind=127.0.0.1,reuseaddr
}

@test "a sock listener and an nc.openbsd -N client exchange data both ways" {
	need nc.openbsd
	both_ways_listener nc.openbsd -N 127.0.0.1 @PORT@
}

@test "a sock listener and an ncat client exchange data both ways" {
	need ncat
	both_ways_listener ncat 127.0.0.1 @PORT@
}

@test "a sock listener and a socat client exchange data both ways" {
	need socat
	both_ways_listener socat -t 30 - TCP:127.0.0.1:@PORT@
}
