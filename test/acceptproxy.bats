# SPDX-License-Identifier: ISC
# Accepting the PROXY protocol header (sock(1), "PROXY protocol",
# --accept-proxy): behind haproxy's send-proxy and send-proxy-v2, behind
# sock's own --send-proxy (headers chain through a forwarder), in every
# listening mode; the client's address from the header stands for the
# peer's; hostile headers are closed within the bound while others are
# served, and what follows a header arrives intact.
# helper.bash and sock_server set PORT, LPID, FPORT and PPORT (SC2153);
# the programs' $SOCK_* are for their shell (SC2016); bg runs the command
# it is given, whose stdin the redirections are for (SC2217).
# shellcheck disable=SC2153,SC2016,SC2217

load helper
bats_require_minimum_version 1.5.0

# hexof TEXT: TEXT (printf %b escapes: \r, \n, \0NNN) as hex digits.
hexof() {
	printf '%b' "$1" | od -An -v -tx1 | tr -d ' \n'
}

# V2_SIG: the v2 signature, for printf %b.
V2_SIG='\r\n\r\n\x00\r\nQUIT\n'

# haproxy_sender HOW PORT: haproxy in the foreground with a frontend on
# HPORT relaying to sock on 127.0.0.1 PORT with a header (HOW: send-proxy
# or send-proxy-v2). Ready once HPORT listens (a probe connection would be
# relayed to sock).
haproxy_sender() {
	need haproxy
	HPORT=$(free_port)
	cat >"$T/hap.cfg" <<EOF
global
  nbthread 1
  maxconn 100
defaults
  mode tcp
  timeout connect 5s
  timeout client 5s
  timeout server 5s
frontend f
  bind 127.0.0.1:$HPORT
  default_backend b
backend b
  server s1 127.0.0.1:$2 $1
EOF
	bg haproxy -f "$T/hap.cfg" -db >"$T/hap.log" 2>"$T/hap.err"
	wait_for 5 is_listening "$HPORT"
}

# send_raw PORT TEXT: connect to 127.0.0.1 PORT, send TEXT (printf %b)
# and the FIN; whatever comes back is dropped.
send_raw() {
	printf '%b' "$2" | timeout 5 "$SOCK" -N -q 0 127.0.0.1 "$1" >/dev/null 2>&1 || true
}

@test "haproxy's send-proxy and send-proxy-v2 in front of sock -l --accept-proxy: the client's own address stands, its data follows" {
	need python3
	local how v cport
	for how in send-proxy send-proxy-v2; do
		v=1
		[ "$how" = send-proxy-v2 ] && v=2
		sock_listen /dev/null "$T/out" "$T/err" --accept-proxy 127.0.0.1 0
		haproxy_sender "$how" "$PORT"
		cport=$(free_port)
		printf 'through haproxy\n' |
			timeout 5 "$SOCK" -q 1 -p "$cport" 127.0.0.1 "$HPORT"
		wait_exit "$LPID" 5
		[ "$EXIT_STATUS" -eq 0 ] || { cat "$T/err" >&2; false; }
		[ "$(cat "$T/out")" = "through haproxy" ]
		has_line "$T/err" "sock: connection from 127.0.0.1 port $cport (tcp)"
		grep -Eq "^sock: PROXY v$v header from 127\.0\.0\.1 port [0-9]+: 127\.0\.0\.1 port $cport to 127\.0\.0\.1 port $HPORT$" "$T/err"
		common_teardown
	done
}

@test "-k -c and -k -e -w behind haproxy: the program sees the client's address in SOCK_REMOTE_ADDR, SOCK_REMOTE_PORT and the one it reached in SOCK_LOCAL_PORT" {
	need python3
	local cport prog='echo "$SOCK_REMOTE_ADDR $SOCK_REMOTE_PORT $SOCK_LOCAL_PORT"'
	sock_listen /dev/null "$T/out" "$T/err" -k --accept-proxy -c "$prog" 127.0.0.1 0
	haproxy_sender send-proxy-v2 "$PORT"
	cport=$(free_port)
	run -0 timeout 5 "$SOCK" -p "$cport" 127.0.0.1 "$HPORT" </dev/null
	[ "$output" = "127.0.0.1 $cport $HPORT" ]
	common_teardown
	# With -w a sock process relays for each program (a fork of its own).
	printf '#!/bin/sh\n%s\n' "$prog" >"$T/prog"
	chmod +x "$T/prog"
	sock_listen /dev/null "$T/out" "$T/err" -k -w 5 --accept-proxy -e "$T/prog" 127.0.0.1 0
	haproxy_sender send-proxy "$PORT"
	cport=$(free_port)
	run -0 timeout 5 "$SOCK" -p "$cport" 127.0.0.1 "$HPORT" </dev/null
	[ "$output" = "127.0.0.1 $cport $HPORT" ]
}

@test "headers chain: sock --send-proxy and a header of made-up addresses, through sock --accept-proxy --forward --send-proxy-v2, reach haproxy's accept-proxy" {
	need python3
	local cport
	peer_listen recv_all="$T/got"
	haproxy_receiver
	sock_server FPORT FPID /dev/null "$T/fwd.out" "$T/fwd.err" -k \
	    --accept-proxy 127.0.0.1 0 --forward "127.0.0.1:$HPORT" --send-proxy-v2
	send_raw "$FPORT" 'PROXY TCP4 192.0.2.7 198.51.100.9 4242 443\r\nchained\n'
	peer_ok
	[ "$(cat "$T/got")" = chained ]
	# Not the forwarder's client (127.0.0.1), but the one its header named.
	wait_for 5 grep -Fq "client=192.0.2.7:4242 to=198.51.100.9:443" "$T/hap.log"
	has_line "$T/fwd.err" "sock: connection from 192.0.2.7 port 4242 (tcp)"
	# sock's own header in connect mode, to the same chain.
	common_teardown
	peer_listen recv_all="$T/got2"
	haproxy_receiver
	sock_server FPORT FPID /dev/null "$T/fwd.out" "$T/fwd.err" -k \
	    --accept-proxy 127.0.0.1 0 --forward "127.0.0.1:$HPORT" --send-proxy
	cport=$(free_port)
	printf 'sock to sock\n' | timeout 5 "$SOCK" -q 1 -p "$cport" --send-proxy 127.0.0.1 "$FPORT"
	peer_ok
	[ "$(cat "$T/got2")" = "sock to sock" ]
	wait_for 5 grep -Fq "client=127.0.0.1:$cport to=127.0.0.1:$FPORT" "$T/hap.log"
}

@test "--forward --accept-proxy to a plain target: the header is taken off, the target gets only the data" {
	need python3
	peer_listen recv_all="$T/got"
	sock_server FPORT FPID /dev/null "$T/fwd.out" "$T/fwd.err" \
	    --accept-proxy 127.0.0.1 0 --forward "127.0.0.1:$PPORT"
	send_raw "$FPORT" 'PROXY TCP6 2001:db8::7 2001:db8::1 5000 80\r\nonly this\n'
	peer_ok
	[ "$(cat "$T/got")" = "only this" ]
	wait_exit "$FPID" 5
	[ "$EXIT_STATUS" -eq 0 ]
	grep -Fq "tunnel 2001:db8::7 port 5000 to 127.0.0.1 port $PPORT" "$T/fwd.err"
}

@test "--allow and --deny judge the header's address, not the proxy's; a LOCAL header keeps the socket's" {
	sock_listen /dev/null "$T/out" "$T/err" -k --accept-proxy --allow 192.0.2.0/24 127.0.0.1 0
	send_raw "$PORT" 'PROXY TCP4 203.0.113.5 192.0.2.1 5555 80\r\nrefused data\n'
	wait_for 5 has_text "$T/err" "refused 203.0.113.5 port 5555: not allowed by --allow/--deny"
	send_raw "$PORT" 'PROXY TCP4 192.0.2.9 192.0.2.1 6666 80\r\nwelcome\n'
	wait_for 5 has_text "$T/out" welcome
	common_teardown
	# The proxy's own address is denied; the client it speaks for is not.
	sock_listen /dev/null "$T/out2" "$T/err2" -k --accept-proxy --deny 127.0.0.0/8 127.0.0.1 0
	send_raw "$PORT" "$V2_SIG"'\x21\x11\x00\x0c\xc0\x00\x02\x09\xc0\x00\x02\x01\x1a\x0a\x00\x50v2 welcome\n'
	wait_for 5 has_text "$T/out2" "v2 welcome"
	has_line "$T/err2" "sock: connection from 192.0.2.9 port 6666 (tcp)"
	send_raw "$PORT" "$V2_SIG"'\x20\x00\x00\x00local data\n'
	wait_for 5 grep -Eq '^sock: refused 127\.0\.0\.1 port [0-9]+: not allowed by --allow/--deny$' "$T/err2"
	grep -Fq 'LOCAL (its own addresses stand)' "$T/err2"
	[ "$(cat "$T/out2")" = "v2 welcome" ]
}

@test "--max-conns-per-source counts the header's address" {
	need python3
	local first
	sock_listen /dev/null "$T/out" "$T/err" -k --accept-proxy --max-conns-per-source 1 127.0.0.1 0
	peer_connect "$PORT" sendhex="$(hexof 'PROXY TCP4 192.0.2.7 192.0.2.1 1000 80\r\n')" touch="$T/held" await="$T/go"
	first=$PEER
	wait_for 5 has_text "$T/err" "connection from 192.0.2.7 port 1000"
	send_raw "$PORT" 'PROXY TCP4 192.0.2.7 192.0.2.1 1001 80\r\nsecond\n'
	wait_for 5 has_text "$T/err" "refused 192.0.2.7 port 1001: already 1 connections from its address (--max-conns-per-source)"
	# Another address from the same proxy is welcome.
	send_raw "$PORT" 'PROXY TCP4 192.0.2.8 192.0.2.1 1002 80\r\nthird\n'
	wait_for 5 has_text "$T/out" third
	touch "$T/go"
	PEER=$first peer_ok
	run -1 grep -q second "$T/out"
}

@test "hostile headers are closed within the bound, while another client is served; nothing of theirs reaches stdout" {
	need python3
	local start
	sock_listen /dev/null "$T/out" "$T/err" -k -w 3 --accept-proxy 127.0.0.1 0
	# A slowloris: a byte every 0.5 s, never a whole header.
	start=$(date +%s%N)
	peer_connect "$PORT" drip="$(hexof 'PROXY')",0.5 closed_within=2
	send_raw "$PORT" 'PROXY TCP4 192.0.2.50 192.0.2.1 4000 80\r\nserved meanwhile\n'
	send_raw "$PORT" 'PROXY TCP4 192.0.2.1' # truncated
	send_raw "$PORT" "PROXY UNKNOWN $(printf 'a%.0s' $(seq 92))\\r\\nlong\\n"
	send_raw "$PORT" "$V2_SIG"'\x21\x11\x00\x08\x01\x02\x03\x04\x05\x06\x07\x08short\n'
	send_raw "$PORT" 'GET / HTTP/1.0\r\n\r\n'
	send_raw "$PORT" "$V2_SIG"'\x21\x12\x00\x0c\x01\x02\x03\x04\x05\x06\x07\x08\x00\x01\x00\x02dgram\n'
	wait_for 5 has_text "$T/out" "served meanwhile"
	peer_ok 10
	# Closed by the deadline from its connection (-w 3), not 3 s after
	# its last byte.
	[ "$(elapsed_ms "$start")" -lt 5000 ]
	[ "$(cat "$T/out")" = "served meanwhile" ]
	has_text "$T/err" ": PROXY header: closed in the middle of it"
	has_text "$T/err" ": PROXY header: v1 line longer than 107 bytes"
	has_text "$T/err" ": PROXY header: v2 length too short for its addresses"
	has_text "$T/err" ": PROXY header: not a PROXY header"
	has_text "$T/err" ": PROXY header: v2 header not for a stream"
	has_text "$T/err" ": PROXY header: not complete in time"
	# The good client was served before the slowloris was let go.
	[ "$(grep -n 'connection from 192.0.2.50' "$T/err" | cut -d: -f1)" -lt \
	    "$(grep -n 'not complete in time' "$T/err" | cut -d: -f1)" ]
}

@test "the bytes right after a header, in the same segment, arrive intact (v1 and v2)" {
	need python3
	random_file "$T/data" 200000
	{ printf 'PROXY TCP4 192.0.2.1 192.0.2.2 1 2\r\n'; cat "$T/data"; } >"$T/send1"
	{ printf '%b' "$V2_SIG"'\x21\x11\x00\x0f\xc0\x00\x02\x01\xc0\x00\x02\x02\x00\x01\x00\x02\x04\x00\x00'; cat "$T/data"; } >"$T/send2"
	for f in send1 send2; do
		sock_listen /dev/null "$T/out" "$T/err" --accept-proxy 127.0.0.1 0
		peer_connect "$PORT" send="$T/$f" shut_wr recv_all=/dev/null
		peer_ok
		wait_exit "$LPID" 5
		[ "$EXIT_STATUS" -eq 0 ]
		cmp "$T/data" "$T/out"
		has_line "$T/err" "sock: connection from 192.0.2.1 port 1 (tcp)"
		common_teardown
	done
}

@test "-l --accept-proxy: a bad header ends it with status 1, one that does not come in time with 3" {
	need python3
	local start
	sock_listen /dev/null "$T/out" "$T/err" --accept-proxy 127.0.0.1 0
	send_raw "$PORT" 'SSH-2.0-OpenSSH\r\n'
	wait_exit "$LPID" 5
	[ "$EXIT_STATUS" -eq 1 ]
	grep -Eq '^sock: PROXY header from 127\.0\.0\.1 port [0-9]+: not a PROXY header$' "$T/err"
	[ ! -s "$T/out" ]
	sock_listen /dev/null "$T/out" "$T/err2" -w 1 --accept-proxy 127.0.0.1 0
	start=$(date +%s%N)
	peer_connect "$PORT" sendstr=PROXY closed_within=5
	wait_exit "$LPID" 5
	[ "$EXIT_STATUS" -eq 3 ]
	[ "$(elapsed_ms "$start")" -lt 4000 ]
	grep -Eq '^sock: PROXY header from 127\.0\.0\.1 port [0-9]+: [A-Za-z]+ timed out$' "$T/err2"
	peer_ok
	# --forward without -k likewise.
	sock_listen /dev/null "$T/out" "$T/err3" --accept-proxy --forward 127.0.0.1:9 127.0.0.1 0
	send_raw "$PORT" '\x00PROXY\r\n'
	wait_exit "$LPID" 5
	[ "$EXIT_STATUS" -eq 1 ]
	grep -Eq '^sock: PROXY header from 127\.0\.0\.1 port [0-9]+: not a PROXY header$' "$T/err3"
	sock_listen /dev/null "$T/out" "$T/err4" -w 1 --accept-proxy --forward 127.0.0.1:9 127.0.0.1 0
	peer_connect "$PORT" sendstr=PROXY closed_within=5
	wait_exit "$LPID" 5
	[ "$EXIT_STATUS" -eq 3 ]
	peer_ok
}

@test "--broker and --chat: the header's address names the client" {
	sock_listen /dev/null "$T/out" "$T/err" --chat --accept-proxy 127.0.0.1 0
	send_raw "$PORT" 'PROXY TCP4 192.0.2.33 192.0.2.1 3333 80\r\nhello room\n'
	wait_for 5 has_line "$T/out" "<announce> 192.0.2.33 port 3333 is connected as <user1>."
	wait_for 5 has_line "$T/out" "<user1> hello room"
	common_teardown
	sock_listen /dev/null "$T/out" "$T/err" --broker --accept-proxy 127.0.0.1 0
	send_raw "$PORT" 'PROXY TCP6 2001:db8::33 2001:db8::1 3333 80\r\nbroker\n'
	wait_for 5 has_text "$T/out" broker
	has_line "$T/err" "sock: connection from 2001:db8::33 port 3333 (tcp)"
}

@test "--proxy-server --accept-proxy --send-proxy: the header comes off before the request, and the target's header names the real client" {
	need python3
	peer_listen recv_all="$T/got"
	sock_server FPORT FPID /dev/null "$T/fwd.out" "$T/fwd.err" -k \
	    --proxy-server --accept-proxy --send-proxy 127.0.0.1 0
	printf 'PROXY TCP4 192.0.2.7 198.51.100.9 4242 3128\r\nGET http://127.0.0.1:%s/ HTTP/1.0\r\n\r\n' "$PPORT" |
		timeout 5 "$SOCK" -q 2 127.0.0.1 "$FPORT" >/dev/null
	peer_ok
	head -n 1 "$T/got" | cmp - <(printf 'PROXY TCP4 192.0.2.7 198.51.100.9 4242 3128\r\n')
	grep -aq '^GET / HTTP/1.0' "$T/got"
}

@test "a Unix stream listener takes the header too: the program sees the address it names" {
	bg "$SOCK" -U -l -k --accept-proxy -c 'echo "$SOCK_REMOTE_ADDR $SOCK_REMOTE_PORT"' "$T/s" \
	    </dev/null >/dev/null 2>"$T/err"
	wait_for 5 test -S "$T/s"
	run -0 --separate-stderr timeout 5 "$SOCK" -U "$T/s" < <(printf 'PROXY TCP6 2001:db8::5 2001:db8::1 7000 80\r\n')
	[ "$output" = "2001:db8::5 7000" ]
	run -0 --separate-stderr timeout 5 "$SOCK" -U "$T/s" < <(printf 'PROXY UNKNOWN\r\n')
	[ "$output" = " " ]
}

@test "-l -c and --tls: the header comes first, before the handshake, and the program or the relay sees the client's address" {
	local cport
	sock_listen /dev/null "$T/out" "$T/err" --accept-proxy -c 'echo "$SOCK_REMOTE_ADDR $SOCK_REMOTE_PORT"' 127.0.0.1 0
	run -0 --separate-stderr timeout 5 "$SOCK" 127.0.0.1 "$PORT" < <(printf 'PROXY TCP4 192.0.2.4 192.0.2.1 4444 80\r\n')
	[ "$output" = "192.0.2.4 4444" ]
	wait_exit "$LPID" 5
	[ "$EXIT_STATUS" -eq 0 ]
	"$SOCK" --version | grep -q '^TLS: built' || skip "sock was built without TLS"
	sock_listen /dev/null "$T/out" "$T/err" --tls --accept-proxy 127.0.0.1 0
	cport=$(free_port)
	printf 'over tls\n' | timeout 5 "$SOCK" -q 1 --tls --tls-insecure --send-proxy -p "$cport" 127.0.0.1 "$PORT"
	wait_exit "$LPID" 5
	[ "$EXIT_STATUS" -eq 0 ] || { cat "$T/err" >&2; false; }
	[ "$(cat "$T/out")" = "over tls" ]
	has_line "$T/err" "sock: connection from 127.0.0.1 port $cport (tcp)"
}

@test "--accept-proxy: usage errors without a stream listener" {
	run -2 --separate-stderr "$SOCK" --accept-proxy 127.0.0.1 9
	[ "${stderr_lines[0]}" = "sock: --accept-proxy needs -l: a PROXY header starts a stream a listener accepts" ]
	run -2 --separate-stderr "$SOCK" -l -u --accept-proxy 9190
	[ "${stderr_lines[0]}" = "sock: --accept-proxy cannot be used with -u: a PROXY header starts a stream a listener accepts" ]
	run -2 --separate-stderr "$SOCK" -z --accept-proxy 127.0.0.1 9
	[ "${stderr_lines[0]}" = "sock: --accept-proxy needs -l: a PROXY header starts a stream a listener accepts" ]
}

@test "-k --tls and --forward -k --tls: the header comes off before each client's handshake" {
	need python3
	"$SOCK" --version | grep -q '^TLS: built' || skip "sock was built without TLS"
	local cport
	sock_listen /dev/null "$T/out" "$T/err" -k --tls --accept-proxy 127.0.0.1 0
	cport=$(free_port)
	printf 'k over tls\n' | timeout 5 "$SOCK" -q 0 --tls --tls-insecure --send-proxy-v2 -p "$cport" 127.0.0.1 "$PORT"
	wait_for 5 has_text "$T/out" "k over tls"
	has_line "$T/err" "sock: connection from 127.0.0.1 port $cport (tcp)"
	common_teardown
	peer_listen recv_all="$T/got"
	sock_server FPORT FPID /dev/null "$T/fwd.out" "$T/fwd.err" -k --tls \
	    --accept-proxy 127.0.0.1 0 --forward "127.0.0.1:$PPORT"
	cport=$(free_port)
	printf 'forwarded over tls\n' | timeout 5 "$SOCK" -q 0 --tls --tls-insecure --send-proxy -p "$cport" 127.0.0.1 "$FPORT"
	peer_ok
	[ "$(cat "$T/got")" = "forwarded over tls" ]
	has_line "$T/fwd.err" "sock: connection from 127.0.0.1 port $cport (tcp)"
}

@test "a bad header never reaches the target or the program" {
	need python3
	peer_listen no_client=3
	sock_server FPORT FPID /dev/null "$T/fwd.out" "$T/fwd.err" -k \
	    --accept-proxy 127.0.0.1 0 --forward "127.0.0.1:$PPORT"
	send_raw "$FPORT" 'GET / HTTP/1.0\r\n\r\n'
	send_raw "$FPORT" 'PROXY TCP4 192.0.2.1 192.0.2.2 01 2\r\nleading zero\n'
	wait_for 5 has_text "$T/fwd.err" "PROXY header: v1 port not a number from 0 to 65535"
	has_text "$T/fwd.err" "PROXY header: not a PROXY header"
	peer_ok
	common_teardown
	sock_listen /dev/null "$T/out" "$T/err" -k --accept-proxy -c "touch $T/ran" 127.0.0.1 0
	send_raw "$PORT" 'PROXY TCP4 192.0.2.1  192.0.2.2 1 2\r\n'
	wait_for 5 has_text "$T/err" "PROXY header: v1 line with too many fields"
	send_raw "$PORT" 'PROXY TCP4 192.0.2.1 192.0.2.2 1 2\r\n'
	wait_for 5 test -e "$T/ran"
	[ "$(grep -c 'program .* exited' "$T/err")" -eq 1 ]
}

@test "--max-conns counts the clients whose header is still coming" {
	need python3
	sock_listen /dev/null "$T/out" "$T/err" -k --max-conns 1 --accept-proxy 127.0.0.1 0
	peer_connect "$PORT" sendstr=PROX touch="$T/held" await="$T/go"
	wait_for 5 test -e "$T/held"
	wait_for 5 grep -q 'sock: up to 1 connections' "$T/err"
	send_raw "$PORT" 'PROXY TCP4 192.0.2.1 192.0.2.2 1 2\r\nturned away\n'
	wait_for 5 grep -Eq '^sock: refused 127\.0\.0\.1 port [0-9]+: already 1 clients \(--max-conns\)$' "$T/err"
	touch "$T/go"
	peer_ok
	send_raw "$PORT" 'PROXY TCP4 192.0.2.1 192.0.2.2 1 2\r\nwelcome\n'
	wait_for 5 has_text "$T/out" welcome
	run -1 grep -q 'turned away' "$T/out"
}
