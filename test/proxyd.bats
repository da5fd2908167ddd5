#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# --proxy-server: SOCKS4, SOCKS4a, SOCKS5 and HTTP on one port, each tunnel
# relayed as --forward relays (sock(1), "Proxy server"), driven by curl and
# by hand-made hostile requests.
# shellcheck disable=SC2030,SC2031,SC2153,SC2154

load helper
bats_require_minimum_version 1.5.0

# proxy_start ARGS...: start "sock -v -l -k ARGS --proxy-server" on port 0;
# sets XPORT and XPID; stderr in $T/proxy.err.
proxy_start() {
	sock_server XPORT XPID /dev/null /dev/null "$T/proxy.err" -k "$@" --proxy-server
}

# raw HEX [SECS]: send these bytes to the proxy and print what comes back
# (as hex) until it closes; fails if it does not close within SECS (5).
raw() {
	python3 "$PEER_PY" raw "$XPORT" "$1" "${2:-5}"
}

hex() {
	printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'
}

@test "curl through SOCKS5 with the name resolved by the proxy (socks5h)" {
	need curl
	origin_start
	proxy_start 0
	run -0 curl -sS --max-time 5 -x "socks5h://127.0.0.1:$XPORT" "http://localhost:$OPORT/x"
	[ "$output" = origin ]
	wait_for 5 grep -q "^sock: tunnel 127.0.0.1 port [0-9]* to localhost port $OPORT: [1-9][0-9]* bytes up, [1-9][0-9]* bytes down$" "$T/proxy.err"
}

@test "curl through SOCKS5, SOCKS4 and SOCKS4a" {
	need curl
	origin_start
	proxy_start 0
	run -0 curl -sS --max-time 5 -x "socks5://127.0.0.1:$XPORT" "http://127.0.0.1:$OPORT/"
	[ "$output" = origin ]
	run -0 curl -sS --max-time 5 --socks4 "127.0.0.1:$XPORT" "http://127.0.0.1:$OPORT/"
	[ "$output" = origin ]
	run -0 curl -sS --max-time 5 --socks4a "127.0.0.1:$XPORT" "http://localhost:$OPORT/"
	[ "$output" = origin ]
}

@test "curl through the HTTP proxy: absolute form sent on in origin form, Proxy-* removed, Connection: close" {
	need curl
	origin_start
	proxy_start 0
	run -0 curl -sS --max-time 5 -H 'Proxy-Foo: bar' -H 'Keep-Alive: 5' \
	    -x "http://127.0.0.1:$XPORT" "http://localhost:$OPORT/a/b?c=d"
	[ "$output" = origin ]
	head -n 1 "$T/head.1" | grep -q "^GET /a/b?c=d HTTP/1.1"$'\r'"$"
	run ! grep -qi '^proxy-' "$T/head.1"
	run ! grep -qi '^keep-alive' "$T/head.1"
	[ "$(grep -ci '^connection:' "$T/head.1")" -eq 1 ]
	grep -q "^Connection: close"$'\r'"$" "$T/head.1"
	grep -q "^Host: localhost:$OPORT"$'\r'"$" "$T/head.1"
}

@test "curl through the HTTP proxy with CONNECT (-p)" {
	need curl
	origin_start
	proxy_start 0
	run -0 curl -sS --max-time 5 -p -x "http://127.0.0.1:$XPORT" "http://localhost:$OPORT/tunnelled"
	[ "$output" = origin ]
	# Through a tunnel the request is the client's own, untouched.
	head -n 1 "$T/head.1" | grep -q "^GET /tunnelled HTTP/1.1"
}

@test "a POST body sent with the head reaches the origin" {
	need curl
	origin_start
	proxy_start 0
	run -0 curl -sS --max-time 5 -x "http://127.0.0.1:$XPORT" --data-binary 'k=v' "http://127.0.0.1:$OPORT/form"
	[ "$output" = origin ]
	head -n 1 "$T/head.1" | grep -q "^POST /form HTTP/1.1"
	grep -q 'k=v$' "$T/head.1"
}

@test "--proxy-auth: the right user and password are accepted, SOCKS5 and HTTP" {
	need curl
	origin_start
	SOCK_PROXY_PASSWORD=s3cret proxy_start 0 --proxy-auth me
	run -0 curl -sS --max-time 5 -x "socks5h://me:s3cret@127.0.0.1:$XPORT" "http://localhost:$OPORT/"
	[ "$output" = origin ]
	run -0 curl -sS --max-time 5 -x "http://me:s3cret@127.0.0.1:$XPORT" "http://localhost:$OPORT/"
	[ "$output" = origin ]
	run -0 curl -sS --max-time 5 -p -x "http://me:s3cret@127.0.0.1:$XPORT" "http://localhost:$OPORT/"
	[ "$output" = origin ]
}

@test "--proxy-auth: a wrong or missing password is refused (RFC 1929 failure, HTTP 407), SOCKS4 too" {
	need curl
	origin_start
	SOCK_PROXY_PASSWORD=s3cret proxy_start 0 --proxy-auth me
	run ! curl -sS --max-time 5 -x "socks5h://me:wrong@127.0.0.1:$XPORT" "http://localhost:$OPORT/"
	run ! curl -sS --max-time 5 -x "socks5h://127.0.0.1:$XPORT" "http://localhost:$OPORT/"
	run ! curl -sS --max-time 5 --socks4a "127.0.0.1:$XPORT" "http://localhost:$OPORT/"
	run -0 curl -s --max-time 5 -o /dev/null -w '%{http_code}' -x "http://me:wrong@127.0.0.1:$XPORT" "http://localhost:$OPORT/"
	[ "$output" = 407 ]
	run -0 curl -s --max-time 5 -D "$T/h" -o /dev/null -w '%{http_code}' -x "http://127.0.0.1:$XPORT" "http://localhost:$OPORT/"
	[ "$output" = 407 ]
	grep -qi '^Proxy-Authenticate: Basic' "$T/h"
	# The RFC 1929 exchange by hand: method 2 chosen, then status 1.
	run -0 raw "050102""01026d65""0577726f6e67"
	[ "$output" = 05020101 ]
	# None of it reached the origin.
	[ ! -e "$T/head.1" ]
}

@test "hostile SOCKS requests get the protocol's failure reply and a close" {
	proxy_start 0
	local dead
	dead=$(free_port)
	# SOCKS5 BIND: command not supported (7).
	run -0 raw "050100""05020001""7f000001""0050"
	[ "$output" = 0500050700010000000000 ] || [ "$output" = "0500""05070001""00000000""0000" ]
	# SOCKS5 with address type 9: not supported (8).
	run -0 raw "050100""05010009"
	[ "$output" = "0500""05080001""00000000""0000" ]
	# SOCKS5 to a closed port: refused (5).
	run -0 raw "050100""05010001""7f000001""$(printf %04x "$dead")"
	[ "$output" = "0500""05050001""00000000""0000" ]
	# SOCKS5 with no acceptable method: 0xff.
	run -0 raw "050102"
	[ "$output" = 05ff ]
	# SOCKS4 to a closed port, and SOCKS4 BIND: rejected (91).
	run -0 raw "0401$(printf %04x "$dead")7f00000100"
	[ "$output" = 005b000000000000 ]
	run -0 raw "04020050""7f000001""00"
	[ "$output" = 005b000000000000 ]
	# A user id without its end, past 16 KiB: rejected.
	run -0 raw "04010050""7f000001""$(head -c 17000 /dev/zero | tr '\0' 'a' | od -An -v -tx1 | tr -d ' \n')"
	[ "${output:0:4}" = 005b ]
	# Not a protocol at all: closed without a word.
	run -0 raw "00"
	[ "$output" = "" ]
	# And it still serves.
	kill -0 "$XPID"
	grep -q "^sock: proxy client 127.0.0.1 port [0-9]*: SOCKS5: not CONNECT or UDP ASSOCIATE$" "$T/proxy.err"
}

@test "hostile HTTP requests get 400, 405, 502 and a close" {
	proxy_start 0
	local dead
	dead=$(free_port)
	run -0 raw "$(hex $'GET / HTTP/1.1\r\nHost: x\r\n\r\n')"
	[[ "$(printf %s "$output" | xxd -r -p)" == "HTTP/1.1 400 "* ]]
	run -0 raw "$(hex $'GET ftp://example/ HTTP/1.1\r\n\r\n')"
	[[ "$(printf %s "$output" | xxd -r -p)" == "HTTP/1.1 405 "* ]]
	run -0 raw "$(hex $'CONNECT nohostport HTTP/1.1\r\n\r\n')"
	[[ "$(printf %s "$output" | xxd -r -p)" == "HTTP/1.1 400 "* ]]
	run -0 raw "$(hex $'GET http://127.0.0.1:'"$dead"$'/ HTTP/1.1\r\n\r\n')"
	[[ "$(printf %s "$output" | xxd -r -p)" == "HTTP/1.1 502 "* ]]
	run -0 raw "$(hex $'CONNECT 127.0.0.1:'"$dead"$' HTTP/1.1\r\n\r\n')"
	[[ "$(printf %s "$output" | xxd -r -p)" == "HTTP/1.1 502 "* ]]
	run -0 raw "$(hex $'GET http://a/ HTTP/9.9\r\n\r\n')"
	[[ "$(printf %s "$output" | xxd -r -p)" == "HTTP/1.1 400 "* ]]
	run -0 raw "$(hex $'GET http://a/ HTTP/1.1\r\n folded\r\n\r\n')"
	[[ "$(printf %s "$output" | xxd -r -p)" == "HTTP/1.1 400 "* ]]
	# A head past 16 KiB.
	run -0 raw "$(hex "GET http://a/ HTTP/1.1"$'\r\n'"X: $(head -c 17000 /dev/zero | tr '\0' 'a')")"
	[[ "$(printf %s "$output" | xxd -r -p)" == "HTTP/1.1 400 "* ]]
	kill -0 "$XPID"
}

@test "a request that never completes is closed in time while others are served" {
	need curl
	origin_start
	proxy_start -w 1 0
	local start
	start=$(date +%s%N)
	# Half a request, then silence: 408 after -w.
	peer_connect "$XPORT" sendstr=$'GET http://a/ HTTP/1.1\r\n' recv_all="$T/slow.got"
	local slow=$PEER
	run -0 curl -sS --max-time 5 -x "socks5h://127.0.0.1:$XPORT" "http://localhost:$OPORT/"
	[ "$output" = origin ]
	wait_exit "$slow" 5
	[ "$EXIT_STATUS" -eq 0 ]
	grep -q "^HTTP/1.1 408 " "$T/slow.got"
	[ "$(elapsed_ms "$start")" -lt 4000 ]
}

@test "without a host operand the proxy listens on loopback only, and says so" {
	proxy_start 0
	grep -q "^sock: proxy server on loopback only: name an address to serve others$" "$T/proxy.err"
	run -0 ss -Hltn "sport = :$XPORT"
	[ -n "$output" ]
	local addrs
	addrs=$(printf '%s\n' "$output" | awk '{print $4}' | sed 's/:[0-9]*$//' | sort | tr '\n' ' ')
	[ "$addrs" = "127.0.0.1 " ] || [ "$addrs" = "127.0.0.1 [::1] " ]
}

@test "with a host operand the proxy listens there" {
	proxy_start 127.0.0.1 0
	run ! grep -q "loopback only" "$T/proxy.err"
	run -0 ss -Hltn "sport = :$XPORT"
	[ "$(printf '%s\n' "$output" | awk '{print $4}')" = "127.0.0.1:$XPORT" ]
}

@test "--proxy-server and --proxy-auth usage errors" {
	run -2 "$SOCK" 127.0.0.1 1 --proxy-server
	[[ "$output" == *"--proxy-server needs -l"* ]]
	run -2 "$SOCK" -l 0 --proxy-auth me
	[[ "$output" == *"--proxy-auth needs --proxy-server"* ]]
	run -2 env -u SOCK_PROXY_PASSWORD "$SOCK" -l 0 --proxy-server --proxy-auth me
	[[ "$output" == *"SOCK_PROXY_PASSWORD"* ]]
	run -2 "$SOCK" -l 0 --proxy-server -e cat
	[[ "$output" == *"--proxy-server cannot be used with -e"* ]]
	run -2 "$SOCK" -u -l 0 --proxy-server
	[[ "$output" == *"--proxy-server cannot be used with -u"* ]]
}

@test "-x: the proxy server reaches its targets through an upstream SOCKS5 proxy" {
	need curl
	origin_start
	proxy_peer up socks5
	proxy_start -x "127.0.0.1:$PX" 127.0.0.1 0
	run -0 curl -sS --max-time 5 -x "socks5h://127.0.0.1:$XPORT" "http://localhost:$OPORT/up"
	[ "$output" = origin ]
	grep -qx "socks5 methods=00 atyp=3 host=localhost port=$OPORT" "$T/up.log"
}

@test "sock's own -x drives the proxy server: SOCKS4, SOCKS4a, SOCKS5 and CONNECT, with and without a password" {
	local eport epid type host
	sock_server eport epid /dev/null /dev/null "$T/echo.err" -k 127.0.0.1 0 -c cat
	proxy_start 0
	for type in 4 4a 5 connect; do
		host=localhost
		[ "$type" = 4 ] && host=127.0.0.1
		printf 'via %s\n' "$type" >"$T/msg"
		run -0 --separate-stderr timeout 5 "$SOCK" -X "$type" -x "127.0.0.1:$XPORT" "$host" "$eport" <"$T/msg"
		[ "$output" = "via $type" ]
	done
	grep -q "^sock: tunnel 127.0.0.1 port [0-9]* to localhost port $eport: 7 bytes up, 7 bytes down$" "$T/proxy.err"
	kill "$XPID"
	SOCK_PROXY_PASSWORD=pw proxy_start --proxy-auth me 0
	for type in 5 connect; do
		printf 'auth %s\n' "$type" >"$T/msg"
		run -0 --separate-stderr env SOCK_PROXY_PASSWORD=pw timeout 5 "$SOCK" -X "$type" -P me -x "127.0.0.1:$XPORT" localhost "$eport" <"$T/msg"
		[ "$output" = "auth $type" ]
		run -1 --separate-stderr env SOCK_PROXY_PASSWORD=wrong timeout 5 "$SOCK" -X "$type" -P me -x "127.0.0.1:$XPORT" localhost "$eport" <"$T/msg"
		[[ "$stderr" == *"proxy 127.0.0.1 port $XPORT"* ]]
	done
}
