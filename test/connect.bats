#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Connect mode: errors, timeouts, address selection, source address/port,
# address families, -v/-vv lines.
# shellcheck disable=SC2016,SC2153,SC2154
# SC2016: sh -c scripts take their arguments as "$0" "$1"... on purpose.
# SC2153/SC2154: T, SOCK, PORT, LPID, BG_PID, EXIT_STATUS come from
# helper.bash (loaded by bats' load, which shellcheck cannot follow);
# stderr and stderr_lines from bats' run --separate-stderr.

load helper
bats_require_minimum_version 1.5.0

@test "a refused connection exits 1 and says so" {
	local p
	closed_port
	p=$CLOSED_PORT
	run -1 --separate-stderr timeout 10 "$SOCK" 127.0.0.1 "$p" </dev/null
	[ -z "$output" ]
	[ "$stderr" = "sock: connect to 127.0.0.1 port $p: Connection refused" ]
}

@test "an unresolvable name exits 1 with a resolve message" {
	local offline=()
	# Keep the lookup off the network where possible: in a private mount
	# namespace, name resolution uses /etc/hosts only.
	printf 'hosts: files\n' >"$T/nsswitch.conf"
	if command -v unshare >/dev/null &&
	    unshare -m sh -c 'mount --bind "$0" /etc/nsswitch.conf' "$T/nsswitch.conf" 2>/dev/null; then
		offline=(unshare -m sh -c 'mount --bind "$0" /etc/nsswitch.conf && exec "$@"' "$T/nsswitch.conf")
	fi
	run -1 --separate-stderr timeout 10 "${offline[@]}" "$SOCK" nosuch.invalid 80 </dev/null
	[ -z "$output" ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ ${stderr_lines[0]} == 'sock: resolve nosuch.invalid: '?* ]]
}

@test "a connect that gets no answer times out under -w with exit 3" {
	local start ms
	blackhole
	start=$(date +%s%N)
	run -3 --separate-stderr timeout 10 "$SOCK" -w 1 127.0.0.1 "$BH_PORT" </dev/null
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	[ -z "$output" ]
	[ "$stderr" = "sock: connect to 127.0.0.1 port $BH_PORT: $(errtext ETIMEDOUT)" ]
	[ "$ms" -ge 900 ]
	[ "$ms" -le 3000 ]
}

@test "a name with several addresses connects to the one that listens" {
	need_dual_name
	sock_listen /dev/null "$T/out" "$T/err" "$DUAL_SECOND" 0
	printf 'hello' >"$T/msg"
	run -0 --separate-stderr timeout 10 "${DUAL_RUN[@]}" "$SOCK" -vv "$DUAL" "$PORT" <"$T/msg"
	wait_exit "$LPID" 5
	[ "$EXIT_STATUS" -eq 0 ]
	same_file "$T/msg" "$T/out"
	grep -qxF "sock: trying $DUAL_FIRST port $PORT (tcp)" <<<"$stderr"
	grep -qF "sock: connect to $DUAL_FIRST port $PORT: " <<<"$stderr"
	grep -qxF "sock: connected to $DUAL_SECOND port $PORT (tcp)" <<<"$stderr"
}

@test "-s sets the source address of the connection" {
	# 127.0.0.2 is loopback too on Linux; unlike 127.0.0.1 it cannot be
	# the kernel's own choice, so the listener's line proves -s was used.
	sock_listen /dev/null "$T/out" "$T/err" 127.0.0.1 0
	printf 'x' >"$T/msg"
	run -0 timeout 10 "$SOCK" -s 127.0.0.2 127.0.0.1 "$PORT" <"$T/msg"
	wait_exit "$LPID" 5
	grep -Eq '^sock: connection from 127\.0\.0\.2 port [0-9]+ \(tcp\)$' "$T/err"
}

@test "-s 127.0.0.1 is accepted as the source address" {
	sock_listen /dev/null "$T/out" "$T/err" 127.0.0.1 0
	printf 'x' >"$T/msg"
	run -0 timeout 10 "$SOCK" -s 127.0.0.1 127.0.0.1 "$PORT" <"$T/msg"
	wait_exit "$LPID" 5
	grep -Eq '^sock: connection from 127\.0\.0\.1 port [0-9]+ \(tcp\)$' "$T/err"
	same_file "$T/msg" "$T/out"
}

@test "-p sets the source port of the connection" {
	local src
	need python3
	src=$(free_port)
	sock_listen /dev/null "$T/out" "$T/err" 127.0.0.1 0
	printf 'x' >"$T/msg"
	run -0 timeout 10 "$SOCK" -p "$src" 127.0.0.1 "$PORT" <"$T/msg"
	wait_exit "$LPID" 5
	grep -qxF "sock: connection from 127.0.0.1 port $src (tcp)" "$T/err"
}

@test "-4 picks the IPv4 address of a name" {
	need_dual_name
	sock_listen /dev/null "$T/out" "$T/err" 0
	printf 'x' >"$T/msg"
	run -0 --separate-stderr timeout 10 "${DUAL_RUN[@]}" "$SOCK" -v -4 "$DUAL" "$PORT" <"$T/msg"
	grep -qxF "sock: connected to 127.0.0.1 port $PORT (tcp)" <<<"$stderr"
	wait_exit "$LPID" 5
	grep -Eq '^sock: connection from 127\.0\.0\.1 port [0-9]+ \(tcp\)$' "$T/err"
}

@test "-6 picks the IPv6 address of a name" {
	need_dual_name
	sock_listen /dev/null "$T/out" "$T/err" 0
	printf 'x' >"$T/msg"
	run -0 --separate-stderr timeout 10 "${DUAL_RUN[@]}" "$SOCK" -v -6 "$DUAL" "$PORT" <"$T/msg"
	grep -qxF "sock: connected to ::1 port $PORT (tcp)" <<<"$stderr"
	wait_exit "$LPID" 5
	grep -Eq '^sock: connection from ::1 port [0-9]+ \(tcp\)$' "$T/err"
}

@test "-6 with an IPv4 literal fails to resolve" {
	run -1 --separate-stderr timeout 10 "$SOCK" -6 127.0.0.1 80 </dev/null
	[ -z "$output" ]
	[[ ${stderr_lines[0]} == 'sock: resolve 127.0.0.1: '?* ]]
}

@test "-vv prints a trying line before the connect" {
	sock_listen /dev/null "$T/out" "$T/err" 127.0.0.1 0
	printf 'x' >"$T/msg"
	run -0 --separate-stderr timeout 10 "$SOCK" -vv 127.0.0.1 "$PORT" <"$T/msg"
	[ "${stderr_lines[0]}" = "sock: trying 127.0.0.1 port $PORT (tcp)" ]
	grep -qxF "sock: connected to 127.0.0.1 port $PORT (tcp)" <<<"$stderr"
}

@test "-vv warns about each address that failed" {
	local p
	closed_port
	p=$CLOSED_PORT
	run -1 --separate-stderr timeout 10 "$SOCK" -vv 127.0.0.1 "$p" </dev/null
	grep -qxF "sock: trying 127.0.0.1 port $p (tcp)" <<<"$stderr"
	grep -qxF "sock: connect to 127.0.0.1 port $p: Connection refused" <<<"$stderr"
}

@test "a single -v prints the connected line but no trying line" {
	sock_listen /dev/null "$T/out" "$T/err" 127.0.0.1 0
	printf 'x' >"$T/msg"
	run -0 --separate-stderr timeout 10 "$SOCK" -v 127.0.0.1 "$PORT" <"$T/msg"
	grep -qxF "sock: connected to 127.0.0.1 port $PORT (tcp)" <<<"$stderr"
	run ! grep -q '^sock: trying' <<<"$stderr"
}

@test "-v prints a summary line with the byte counts" {
	printf 'abc' >"$T/answer"
	sock_listen "$T/answer" "$T/out" "$T/err" 127.0.0.1 0
	printf 'hello' >"$T/msg"
	run -0 --separate-stderr timeout 10 "$SOCK" -v 127.0.0.1 "$PORT" <"$T/msg"
	[ "$output" = abc ]
	grep -Eq '^sock: sent 5 bytes, received 3 bytes in [0-9.]+ s \(.*\)$' <<<"$stderr"
}

@test "a connection without -v prints nothing on stderr" {
	printf 'abc' >"$T/answer"
	sock_listen "$T/answer" "$T/out" "$T/err" 127.0.0.1 0
	printf 'hello' >"$T/msg"
	run -0 --separate-stderr timeout 10 "$SOCK" 127.0.0.1 "$PORT" <"$T/msg"
	[ "$output" = abc ]
	[ -z "$stderr" ]
	wait_exit "$LPID" 5
	same_file "$T/msg" "$T/out"
}

@test "a connection by IPv6 literal reaches a ::1 listener" {
	has_ipv6_loopback || skip "::1 is not configured"
	sock_listen /dev/null "$T/out" "$T/err" ::1 0
	printf 'six' >"$T/msg"
	run -0 --separate-stderr timeout 10 "$SOCK" -v ::1 "$PORT" <"$T/msg"
	grep -qxF "sock: connected to ::1 port $PORT (tcp)" <<<"$stderr"
	wait_exit "$LPID" 5
	same_file "$T/msg" "$T/out"
}

@test "-w lets a connection whose peer answers in time end with exit 0" {
	printf 'abc' >"$T/answer"
	sock_listen "$T/answer" "$T/out" "$T/err" 127.0.0.1 0
	printf 'hello' >"$T/msg"
	run -0 timeout 10 "$SOCK" -w 1 127.0.0.1 "$PORT" <"$T/msg"
	[ "$output" = abc ]
}
