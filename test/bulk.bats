#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Bulk transfers: large payloads between two socks, through files and pipes,
# both directions at once, and a real HTTP exchange.
#
# Each @test body runs in a subshell (SC2030/SC2031); run sets status and
# output, and helper.bash sets PORT and LPID (SC2154/SC2153).
# shellcheck disable=SC2030,SC2031,SC2153,SC2154

load helper
bats_require_minimum_version 1.5.0

# listener_ok: the sock listener (LPID) exits 0 within 10 s.
listener_ok() {
	wait_exit "$LPID" 10
	if [ "$EXIT_STATUS" -ne 0 ]; then
		cat "$T/lerr" >&2
		return 1
	fi
}

@test "a 20 MB upload from a sock client to a sock listener arrives whole and both exit 0" {
	random_file "$T/big" 20971520
	sock_listen /dev/null "$T/out" "$T/lerr" 127.0.0.1 0
	run -0 timeout 30 "$SOCK" 127.0.0.1 "$PORT" <"$T/big"
	[ -z "$output" ]
	listener_ok
	[ "$(sha256sum <"$T/big")" = "$(sha256sum <"$T/out")" ]
}

@test "a 20 MB download from a sock listener to a sock client arrives whole and both exit 0" {
	random_file "$T/big" 20971520
	sock_listen "$T/big" /dev/null "$T/lerr" 127.0.0.1 0
	# shellcheck disable=SC2016 # expanded by the inner shell
	run -0 timeout 30 sh -c '"$1" 127.0.0.1 "$2" </dev/null >"$3"' sh "$SOCK" "$PORT" "$T/out"
	listener_ok
	[ "$(sha256sum <"$T/big")" = "$(sha256sum <"$T/out")" ]
}

@test "an upload through pipes on both ends (cat file | sock, sock | cat) arrives whole" {
	random_file "$T/data" 4000000
	hold_fifo "$T/outfifo"
	bg cat "$T/outfifo" >"$T/out"
	READER=$BG_PID
	sock_listen /dev/null "$T/outfifo" "$T/lerr" 127.0.0.1 0
	# shellcheck disable=SC2016 # expanded by the inner shell
	run -0 timeout 20 sh -c 'cat "$1" | "$2" 127.0.0.1 "$3"' sh "$T/data" "$SOCK" "$PORT"
	listener_ok
	wait_exit "$READER" 5
	[ "$EXIT_STATUS" -eq 0 ]
	same_file "$T/data" "$T/out"
}

@test "a download through pipes on both ends (cat file | sock -l, sock | cat) arrives whole" {
	random_file "$T/data" 4000000
	hold_fifo "$T/infifo"
	# The child opens the FIFO: a redirection here would block the test.
	# shellcheck disable=SC2016 # expanded by the inner shell
	bg sh -c 'exec cat "$1" >"$2"' sh "$T/data" "$T/infifo"
	WRITER=$BG_PID
	sock_listen "$T/infifo" /dev/null "$T/lerr" 127.0.0.1 0
	# shellcheck disable=SC2016 # expanded by the inner shell
	run -0 timeout 20 sh -c '"$1" 127.0.0.1 "$2" </dev/null | cat >"$3"' sh "$SOCK" "$PORT" "$T/out"
	listener_ok
	wait_exit "$WRITER" 5
	same_file "$T/data" "$T/out"
}

@test "two socks exchange 8 MB each way at the same time without deadlock" {
	random_file "$T/a" 8000000
	random_file "$T/b" 8000000
	sock_listen "$T/a" "$T/outb" "$T/lerr" 127.0.0.1 0
	# shellcheck disable=SC2016 # expanded by the inner shell
	run -0 timeout 20 sh -c '"$1" 127.0.0.1 "$2" <"$3" >"$4"' sh "$SOCK" "$PORT" "$T/b" "$T/outa"
	listener_ok
	same_file "$T/a" "$T/outa"
	same_file "$T/b" "$T/outb"
}

@test "an HTTP/1.0 request piped into sock gets the whole response from python's http.server" {
	need python3
	mkdir "$T/www"
	random_file "$T/www/file.bin" 1000000
	bg python3 -m http.server --bind 127.0.0.1 --directory "$T/www" 0 >"$T/http.log" 2>&1
	wait_for 10 has_bound_port "$BG_PID"
	port=$(bound_port "$BG_PID")
	# shellcheck disable=SC2016 # expanded by the inner shell
	run -0 timeout 10 sh -c 'printf "GET /file.bin HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" | "$1" 127.0.0.1 "$2" >"$3"' \
		sh "$SOCK" "$port" "$T/resp"
	head -n 1 "$T/resp" | grep -q '^HTTP/1\.0 200 '
	# The headers end with an empty line, and exactly the file follows.
	hlen=$(( $(wc -c <"$T/resp") - 1000000 ))
	[ "$hlen" -gt 4 ]
	[ "$(head -c "$hlen" "$T/resp" | tail -c 4 | od -An -tx1 | tr -d ' ')" = 0d0a0d0a ]
	tail -c 1000000 "$T/resp" >"$T/body"
	same_file "$T/www/file.bin" "$T/body"
}

# socket_stdio [VAR=VALUE]: a client sends 5 MB through a sock whose stdin
# and stdout are a socket (the program of a -e listener, as under inetd)
# to an upstream listener, which sends 5 MB back the same way. The
# environment assignment, if any, is given to the sock in the middle.
socket_stdio() {
	random_file "$T/up" 5000000
	random_file "$T/down" 5000000
	sock_listen "$T/down" "$T/upout" "$T/uerr" 127.0.0.1 0
	local upport=$PORT uppid=$LPID
	# shellcheck disable=SC2016 # expanded by the inner shell
	bg env "$@" sh -c 'exec "$0" -v -l 127.0.0.1 0 -e "$0 127.0.0.1 $1" \
	    </dev/null 2>"$2"' "$SOCK" "$upport" "$T/perr"
	local proxy=$BG_PID
	wait_for 5 has_port_line "$T/perr"
	# shellcheck disable=SC2016 # expanded by the inner shell
	run -0 timeout 30 sh -c '"$1" 127.0.0.1 "$2" <"$3" >"$4"' sh \
	    "$SOCK" "$(port_from "$T/perr")" "$T/up" "$T/downout"
	wait_exit "$proxy" 10
	[ "$EXIT_STATUS" -eq 0 ] || { cat "$T/perr" >&2; false; }
	wait_exit "$uppid" 10
	[ "$EXIT_STATUS" -eq 0 ] || { cat "$T/uerr" >&2; false; }
	same_file "$T/up" "$T/upout"
	same_file "$T/down" "$T/downout"
}

@test "a sock whose stdin and stdout are a socket relays both ways (splice)" {
	socket_stdio SOCK_SPLICE_TEST=1
}

@test "a sock whose stdin and stdout are a socket relays both ways (read/write)" {
	socket_stdio SOCK_NOSPLICE=1
}
