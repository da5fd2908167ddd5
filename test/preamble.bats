#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# What comes before a client's data (a TLS handshake, a proxy request) has
# a deadline in every listening mode (sock(1), -w): -w, or 10 s without
# it. A crowd of stalled clients filling --max-conns loses its slots then,
# and a good client is served.
# shellcheck disable=SC2016,SC2153,SC2154
# SC2016: -c strings are for the program's shell, not for bats.
# SC2153/SC2154: T, SOCK, PORT, LPID, EXIT_STATUS come from helper.bash.

load helper
bats_require_minimum_version 1.5.0

# The first bytes of a TLS ClientHello (a record header that promises
# 512 bytes, and the start of the handshake message), then nothing.
STALLED_HELLO=160301020001

# crowd N HEX SECS: N clients of PORT that send HEX and stall, held for
# at most SECS; waits until all are connected. Its report (how many the
# server closed, and when the last was) goes to CROWD_OUT ($T/crowd).
crowd() {
	local out=${CROWD_OUT:-$T/crowd}
	bg python3 "$BATS_TEST_DIRNAME/crowd.py" "$PORT" "$1" "$2" "$3" \
	    >"$out"
	CROWD_PID=$BG_PID
	wait_for 10 grep -q '^ready$' "$out"
}

# crowd_closed N WITHIN: the crowd (CROWD_PID, CROWD_OUT) saw all N closed, the last within
# WITHIN seconds of its start.
crowd_closed() {
	local n secs
	wait_exit "$CROWD_PID" 30
	[ "$EXIT_STATUS" -eq 0 ]
	read -r _ n _ secs < <(grep '^closed' "${CROWD_OUT:-$T/crowd}")
	[ "$n" -eq "$1" ] || { echo "closed $n of $1" >&2; return 1; }
	awk -v s="$secs" -v w="$2" 'BEGIN { exit !(s <= w) }' ||
	    { echo "the last closed after $secs s" >&2; return 1; }
}

# served_within SECS CMD...: CMD (each try bounded to 3 s) prints "hello"
# within SECS seconds, trying every 0.1 s while it is refused.
served_within() {
	local secs=$1 start out
	shift
	start=$(date +%s%N)
	while [ "$(elapsed_ms "$start")" -lt $((secs * 1000)) ]; do
		out=$(printf 'hello\n' | timeout 3 "$@" 2>/dev/null) || true
		[ "$out" = hello ] && return 0
		sleep 0.1
	done
	echo "not served within $secs s" >&2
	return 1
}

@test "-k --tls -w 1: 100 stalled handshakes lose their slots at 1 s and a good client is served" {
	need_tls
	need python3
	sock_listen /dev/null "$T/out" "$T/err" -k --tls -w 1 127.0.0.1 0 -c cat
	crowd 100 "$STALLED_HELLO" 10
	served_within 6 "$SOCK" --tls --tls-insecure 127.0.0.1 "$PORT"
	crowd_closed 100 4
	# strerror(ETIMEDOUT): "Connection timed out" (glibc), "Operation timed out" (musl).
	grep -Eq "^sock: TLS handshake with 127.0.0.1 port [0-9]+: [A-Za-z]+ timed out$" "$T/err"
	kill -0 "$LPID"
}

# The three without -w run at once: each waits the whole 10 s.
@test "without -w, stalled handshakes end at 10 s: -k --tls and -k -e --tls free the slots and serve a good client, a single -l --tls exits 3" {
	local kport kpid eport epid lport lpid kcrowd ecrowd lcrowd
	need_tls
	need python3
	sock_server kport kpid /dev/null "$T/k.out" "$T/k.err" -k --tls 127.0.0.1 0
	sock_server eport epid /dev/null "$T/e.out" "$T/e.err" -k --tls 127.0.0.1 0 -e /bin/cat
	sock_server lport lpid /dev/null "$T/l.out" "$T/l.err" --tls 127.0.0.1 0
	PORT=$kport CROWD_OUT=$T/k.crowd crowd 100 "$STALLED_HELLO" 20
	kcrowd=$CROWD_PID
	PORT=$eport CROWD_OUT=$T/e.crowd crowd 100 "$STALLED_HELLO" 20
	ecrowd=$CROWD_PID
	PORT=$lport CROWD_OUT=$T/l.crowd crowd 1 "$STALLED_HELLO" 20
	lcrowd=$CROWD_PID
	# -k: refused at once while the crowd holds every slot.
	run -1 timeout 3 "$SOCK" --tls --tls-insecure 127.0.0.1 "$kport" </dev/null
	# -k -e: served once the slots are free.
	served_within 15 "$SOCK" --tls --tls-insecure 127.0.0.1 "$eport"
	# -l: the one stalled handshake ends the listener.
	wait_exit "$lpid" 15
	[ "$EXIT_STATUS" -eq 3 ]
	grep -q "^sock: TLS handshake with 127.0.0.1 port [0-9]*: " "$T/l.err"
	CROWD_PID=$kcrowd CROWD_OUT=$T/k.crowd crowd_closed 100 13
	CROWD_PID=$ecrowd CROWD_OUT=$T/e.crowd crowd_closed 100 13
	CROWD_PID=$lcrowd CROWD_OUT=$T/l.crowd crowd_closed 1 13
	printf 'hello\n' >"$T/m"
	run -0 timeout 5 "$SOCK" --tls --tls-insecure 127.0.0.1 "$kport" <"$T/m"
	wait_for 5 has_line "$T/k.out" hello
}

@test "--broker --tls -w 1: stalled handshakes lose their slots" {
	need_tls
	need python3
	sock_listen /dev/null "$T/out" "$T/err" --broker --tls -w 1 127.0.0.1 0
	crowd 100 "$STALLED_HELLO" 10
	crowd_closed 100 4
	kill -0 "$LPID"
}

@test "--forward --tls -w 1: stalled handshakes lose their slots and a good client is served" {
	need_tls
	need python3
	sock_listen /dev/null /dev/null "$T/target.err" -k 127.0.0.1 0 -c cat
	local tport=$PORT
	sock_listen /dev/null "$T/out" "$T/err" -k --tls -w 1 127.0.0.1 0 \
	    --forward "127.0.0.1:$tport"
	crowd 100 "$STALLED_HELLO" 10
	served_within 6 "$SOCK" --tls --tls-insecure 127.0.0.1 "$PORT"
	crowd_closed 100 4
}

# proxy_crowd HEX: 100 clients of a --proxy-server with -w 1 send HEX and
# stall; they lose their slots at 1 s, and a good client is served.
proxy_crowd() {
	need python3
	sock_listen /dev/null /dev/null "$T/target.err" -k 127.0.0.1 0 -c cat
	local tport=$PORT
	sock_listen /dev/null "$T/out" "$T/err" -k -w 1 127.0.0.1 0 --proxy-server
	crowd 100 "$1" 10
	served_within 6 "$SOCK" -x "127.0.0.1:$PORT" 127.0.0.1 "$tport"
	crowd_closed 100 4
}

@test "--proxy-server -w 1: 100 silent clients lose their slots at 1 s and a good client is served" {
	proxy_crowd ""
}

@test "--proxy-server -w 1: 100 clients stalled inside a SOCKS5 request lose their slots" {
	# The greeting, then half a CONNECT request.
	proxy_crowd 0501000501
}
