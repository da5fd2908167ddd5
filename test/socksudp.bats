#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# SOCKS5 UDP ASSOCIATE both ways (sock(1), "Connecting through proxies", "Proxy server"):
# sock -u -x through a real dante-server and through a scripted proxy that
# also sends what must be dropped (test/peer.py socks5-udp-proxy); and
# --proxy-server's associations driven by a python SOCKS5 UDP client
# (peer.py socks5-udp) and by sock's own -u -x. The targets are python UDP
# peers (peer.py udp) on 127.0.0.1.
# shellcheck disable=SC2153,SC2154
# SC2153/SC2154: T, SOCK, PEER_PY, BG_PID, EXIT_STATUS come from helper.bash
# (loaded by bats' load, which shellcheck cannot follow); stderr and
# stderr_lines from bats' run --separate-stderr.

load helper
bats_require_minimum_version 1.5.0

# ---------------------------------------------------------------- helpers

# udp_target [ACTION...]: a python UDP peer on 127.0.0.1 (peer.py udp);
# sets UPORT.
udp_target() {
	need python3
	rm -f "$T/uport"
	bg python3 "$PEER_PY" udp "$T/uport" "$@"
	wait_for 5 test -s "$T/uport"
	UPORT=$(cat "$T/uport")
}

# fake_proxy ACTION...: the scripted SOCKS5 UDP proxy (peer.py
# socks5-udp-proxy); sets FPORT and FPID, its stderr in $T/fake.err.
fake_proxy() {
	need python3
	rm -f "$T/fport"
	bg python3 "$PEER_PY" socks5-udp-proxy "$T/fport" "$@" 2>"$T/fake.err"
	FPID=$BG_PID
	wait_for 5 test -s "$T/fport"
	FPORT=$(cat "$T/fport")
}

# dante_udp [USER PASSWORD]: a real dante-server on 127.0.0.1 (sets
# DPORT) that allows UDP ASSOCIATE from 127.0.0.0/8 and the replies to it.
# With USER, it requires RFC 1929 authentication, which dante checks
# against the system's accounts: it runs in a mount namespace of its own
# where copies of /etc/passwd and /etc/shadow that hold USER are mounted
# over the real ones, which stay as they are.
dante_udp() {
	local method=none
	need danted python3
	[ "$(id -u)" -eq 0 ] || skip "danted is run as root here"
	DPORT=$(free_port)
	if [ $# -eq 2 ]; then
		need unshare openssl
		unshare -m true || skip "no mount namespace here"
		method=username
		{ cat /etc/passwd; echo "$1:x:65000:65534::/nonexistent:/bin/false"; } >"$T/passwd"
		{ cat /etc/shadow; echo "$1:$(openssl passwd -6 "$2"):19000:0:99999:7:::"; } >"$T/shadow"
		chmod 600 "$T/shadow"
	fi
	cat >"$T/danted.conf" <<EOF
logoutput: $T/danted.log
internal: 127.0.0.1 port = $DPORT
external: 127.0.0.1
clientmethod: none
socksmethod: $method
user.privileged: root
user.unprivileged: nobody
client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }
socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 command: udpassociate }
socks pass { from: 0.0.0.0/0 to: 127.0.0.0/8 command: udpreply }
EOF
	if [ "$method" = none ]; then
		bg danted -f "$T/danted.conf" -N 1 -p "$T/danted.pid"
	else
		# shellcheck disable=SC2016 # expanded by the inner shell
		bg unshare -m sh -c 'mount --bind "$0/passwd" /etc/passwd &&
		    mount --bind "$0/shadow" /etc/shadow &&
		    exec danted -f "$0/danted.conf" -N 1 -p "$0/danted.pid"' "$T"
	fi
	wait_for 5 is_listening "$DPORT" || { cat "$T/danted.log" >&2; return 1; }
}

# proxy_start ARGS...: "sock -v -l -k ARGS --proxy-server" on 127.0.0.1
# port 0; sets XPORT and XPID, its stderr in $T/proxy.err.
proxy_start() {
	sock_server XPORT XPID /dev/null /dev/null "$T/proxy.err" -k "$@" \
	    --proxy-server 127.0.0.1 0
}

# client ARGS...: the python SOCKS5 UDP client of the proxy on XPORT, for
# the target UPORT (peer.py socks5-udp).
client() {
	timeout 20 python3 "$PEER_PY" socks5-udp "$XPORT" "$UPORT" "$@"
}

# ---------------------------------------------------------------- usage

@test "-u -x: several hops, HTTP and SOCKS4 proxies, and -z are usage errors" {
	usage_is 'sock: -u cannot be used with several -x proxies: a UDP association goes through one SOCKS5 proxy' \
	    -u -x 127.0.0.1:1 -x 127.0.0.1:2 127.0.0.1 53
	usage_is 'sock: -u cannot be used with a http proxy: only SOCKS5 relays datagrams (UDP ASSOCIATE)' \
	    -u -x http://127.0.0.1:1 127.0.0.1 53
	usage_is 'sock: -u cannot be used with a socks4 proxy: only SOCKS5 relays datagrams (UDP ASSOCIATE)' \
	    -u -x socks4://127.0.0.1:1 127.0.0.1 53
	usage_is 'sock: -u cannot be used with a socks4a proxy: only SOCKS5 relays datagrams (UDP ASSOCIATE)' \
	    -u -X 4a -x 127.0.0.1:1 127.0.0.1 53
	usage_is 'sock: -u cannot be used with -x and -z: a scan through a proxy is of TCP ports' \
	    -z -u -x 127.0.0.1:1 127.0.0.1 53
	usage_is 'sock: -x cannot be used with -l (except with --forward or --proxy-server)' \
	    -u -l -x 127.0.0.1:1 0
}

@test "-u -x to a proxy that is not there is exit 1, said as for CONNECT" {
	closed_port
	run -1 --separate-stderr timeout 10 "$SOCK" -u -x "127.0.0.1:$CLOSED_PORT" 127.0.0.1 53 </dev/null
	[ "$stderr" = "sock: connect to proxy 127.0.0.1 port $CLOSED_PORT: Connection refused" ]
}

# ---------------------------------------------------------------- dante

@test "-u -x through dante: a datagram there, its answer back" {
	dante_udp
	udp_target reply=pong log="$T/ulog"
	run -0 --separate-stderr timeout 10 "$SOCK" -v -u -x "socks5://127.0.0.1:$DPORT" 127.0.0.1 "$UPORT" < <(printf 'one\n')
	[ "$output" = pong ]
	[ "$(cat "$T/ulog")" = 4 ]
	[[ "${stderr_lines[0]}" =~ ^"sock: proxy 127.0.0.1 port $DPORT (socks5): UDP association for 127.0.0.1 port $UPORT, relay 127.0.0.1 port "[0-9]+$ ]]
	[ "${stderr_lines[1]}" = "sock: connected to 127.0.0.1 port $UPORT (udp)" ]
}

@test "-u -x through dante to a name: sent unresolved, answers taken from its address" {
	dante_udp
	udp_target reply=pong
	run -0 --separate-stderr timeout 10 "$SOCK" -u -x "127.0.0.1:$DPORT" localhost "$UPORT" < <(printf 'one\n')
	[ "$output" = pong ]
}

@test "-u -x through dante with a username and password (RFC 1929)" {
	dante_udp sockudp s3cret
	udp_target reply=pong
	SOCK_PROXY_PASSWORD=s3cret run -0 --separate-stderr timeout 10 "$SOCK" -u -x "socks5://sockudp@127.0.0.1:$DPORT" 127.0.0.1 "$UPORT" < <(printf 'one\n')
	[ "$output" = pong ]
	SOCK_PROXY_PASSWORD=wrong run -1 --separate-stderr timeout 10 "$SOCK" -u -P sockudp -x "127.0.0.1:$DPORT" 127.0.0.1 "$UPORT" </dev/null
	[ "$stderr" = "sock: proxy 127.0.0.1 port $DPORT: username/password rejected (user sockudp)" ]
	# No password, no association.
	run -1 --separate-stderr timeout 10 "$SOCK" -u -x "127.0.0.1:$DPORT" 127.0.0.1 "$UPORT" </dev/null
	[ "$stderr" = "sock: proxy 127.0.0.1 port $DPORT: accepts none of the authentication methods offered (none; it may need -P)" ]
}

# ---------------------------------------------------------------- a scripted proxy

@test "-u -x asks with its UDP socket's address and unwraps the answer" {
	fake_proxy reqlog="$T/req"
	run -0 --separate-stderr timeout 10 "$SOCK" -u -x "127.0.0.1:$FPORT" 127.0.0.1 4000 < <(printf 'one\n')
	[ "$output" = "echo:one" ]
	# UDP ASSOCIATE (3) with an IPv4 address, 127.0.0.1 and a real port.
	grep -Eq '^request 1 127\.0\.0\.1 [1-9][0-9]* 3$' "$T/req"
	grep -qx 'datagram 127.0.0.1 4000 one' "$T/req"
}

@test "-u -x sends a name as a name (ATYP 3)" {
	fake_proxy reqlog="$T/req"
	run -0 --separate-stderr timeout 10 "$SOCK" -u -x "127.0.0.1:$FPORT" no-such-host.invalid 4000 < <(printf 'one\n')
	[ "$output" = "echo:one" ]
	grep -qx 'datagram no-such-host.invalid 4000 one' "$T/req"
}

@test "-u -x drops short, malformed, fragmented, strangers' and others' datagrams" {
	fake_proxy hostile
	run -0 --separate-stderr timeout 10 "$SOCK" -vv -u -x "127.0.0.1:$FPORT" 127.0.0.1 4000 < <(printf 'one\n')
	# Only the answer: none of the eight that came before it.
	[ "$output" = "echo:one" ]
	[ "$(grep -c '^sock: dropped a datagram' <<<"$stderr")" -eq 8 ]
	grep -q '^sock: dropped a datagram from the relay: a fragment (FRAG not 0)$' <<<"$stderr"
	grep -q '^sock: dropped a datagram from the relay: SOCKS5 header with an unknown address type$' <<<"$stderr"
	grep -q '^sock: dropped a datagram from the relay: shorter than its SOCKS5 header$' <<<"$stderr"
	grep -q '^sock: dropped a datagram from 127.0.0.2 port 4000 through the relay: not the target$' <<<"$stderr"
	grep -q '^sock: dropped a datagram from 127.0.0.1 port 4001 through the relay: not the target$' <<<"$stderr"
	grep -Eq "^sock: dropped a datagram from 127.0.0.1 port [0-9]+: not the proxy's relay$" <<<"$stderr"
}

@test "-u -x authenticates with -P and SOCK_PROXY_PASSWORD" {
	fake_proxy auth=alice:s3cret
	SOCK_PROXY_PASSWORD=s3cret run -0 --separate-stderr timeout 10 "$SOCK" -u -P alice -x "127.0.0.1:$FPORT" 127.0.0.1 4000 < <(printf 'one\n')
	[ "$output" = "echo:one" ]
	fake_proxy auth=alice:s3cret
	SOCK_PROXY_PASSWORD=wrong run -1 --separate-stderr timeout 10 "$SOCK" -u -x "alice@127.0.0.1:$FPORT" 127.0.0.1 4000 </dev/null
	[ "$stderr" = "sock: proxy 127.0.0.1 port $FPORT: username/password rejected (user alice)" ]
}

@test "-u -x: the control connection's end is exit 1 at once, stdin still open" {
	fake_proxy close
	open_feed "$T/in"
	# shellcheck disable=SC2016 # expanded by the inner shell
	bg sh -c 'exec "$0" -u -x "127.0.0.1:$1" 127.0.0.1 4000 <"$2" >"$3" 2>"$4"' \
	    "$SOCK" "$FPORT" "$T/in" "$T/out" "$T/err"
	local pid=$BG_PID
	say "$T/in" one
	wait_exit "$pid" 5
	[ "$EXIT_STATUS" -eq 1 ]
	[ "$(cat "$T/out")" = "echo:one" ]
	[ "$(cat "$T/err")" = "sock: read from 127.0.0.1 port 4000: proxy 127.0.0.1 port $FPORT closed the UDP association" ]
}

# ---------------------------------------------------------------- --proxy-server

@test "--proxy-server relays a python client's datagrams and wraps the answers" {
	need python3
	udp_target reply=pong
	proxy_start -vv
	run -0 client send=a name=localhost,b send=c
	[ "${lines[0]}" = "REPLY 127.0.0.1 $UPORT pong" ]
	[ "${lines[1]}" = "REPLY 127.0.0.1 $UPORT pong" ]
	[ "${lines[2]}" = "REPLY 127.0.0.1 $UPORT pong" ]
	wait_for 5 grep -Eq "^sock: UDP association of 127.0.0.1 port [0-9]+ ended \(the control connection closed\): 3 datagrams \(3 bytes\) up, 3 datagrams \(12 bytes\) down, 0 dropped$" "$T/proxy.err"
	grep -Eq '^sock: proxy client 127.0.0.1 port [0-9]+: UDP association, relay 127.0.0.1 port [0-9]+$' "$T/proxy.err"
}

@test "--proxy-server: an announced DST 0.0.0.0:0 locks to the first port" {
	need python3
	udp_target reply=pong
	proxy_start
	run -0 client zero send=a send=b
	[ "${#lines[@]}" -eq 2 ]
}

@test "--proxy-server drops fragments, strangers and hostile headers, and serves on" {
	need python3
	udp_target reply=pong log="$T/ulog"
	proxy_start -vv
	run -0 client send=a frag=fragment stranger=stranger otherport=otherport hostile send=b
	[ "${lines[0]}" = "REPLY 127.0.0.1 $UPORT pong" ]
	[ "${lines[1]}" = "REPLY 127.0.0.1 $UPORT pong" ]
	# The target saw the two one-byte datagrams and nothing else.
	[ "$(cat "$T/ulog")" = $'1\n1' ]
	grep -Eq '^sock: UDP association of 127.0.0.1 port [0-9]+: dropped a datagram from the client: a fragment \(FRAG not 0\)$' "$T/proxy.err"
	grep -Eq '^sock: UDP association of 127.0.0.1 port [0-9]+: dropped a datagram from 127.0.0.2 port [0-9]+: not the client$' "$T/proxy.err"
	[ "$(grep -Ec '^sock: UDP association of 127.0.0.1 port [0-9]+: dropped a datagram from 127.0.0.1 port [0-9]+: not the client$' "$T/proxy.err")" -eq 1 ]
	grep -Eq '^sock: UDP association of 127.0.0.1 port [0-9]+: dropped a datagram from the client: SOCKS5 header with an unknown address type$' "$T/proxy.err"
	grep -Eq '^sock: UDP association of 127.0.0.1 port [0-9]+: dropped a datagram from the client: shorter than its SOCKS5 header$' "$T/proxy.err"
	grep -Eq '^sock: UDP association of 127.0.0.1 port [0-9]+: dropped a datagram from the client: SOCKS5 header with RSV not zero$' "$T/proxy.err"
	wait_for 5 grep -Eq "ended \(the control connection closed\): 2 datagrams \(2 bytes\) up, 2 datagrams \(8 bytes\) down, 10 dropped$" "$T/proxy.err"
	kill -0 "$XPID"
}

@test "--proxy-server --deny: a refused client gets no association" {
	need python3
	udp_target reply=pong log="$T/ulog"
	proxy_start --deny 127.0.0.1
	# Closed before its handshake (by a FIN or a reset): exit 1.
	run -1 client send=a
	[ ! -e "$T/ulog" ]
	grep -Eq '^sock: refused 127.0.0.1 port [0-9]+: not allowed by --allow/--deny$' "$T/proxy.err"
}

@test "--proxy-server ends an association when its control connection closes" {
	need python3
	udp_target reply=pong log="$T/ulog"
	proxy_start
	run -0 client send=a close sleep=0.5 silent=late
	wait_for 5 grep -Eq "^sock: UDP association of 127.0.0.1 port [0-9]+ ended \(the control connection closed\): 1 datagrams \(1 bytes\) up, 1 datagrams \(4 bytes\) down, 0 dropped$" "$T/proxy.err"
	[ "$(cat "$T/ulog")" = 1 ]
}

@test "--proxy-server -w 1 ends an idle association" {
	need python3
	udp_target reply=pong
	proxy_start -w 1
	run -0 client send=a sleep=1.8 silent=late
	grep -Eq "^sock: UDP association of 127.0.0.1 port [0-9]+ ended \(idle for the -w time\): 1 datagrams \(1 bytes\) up, 1 datagrams \(4 bytes\) down, 0 dropped$" "$T/proxy.err"
}

@test "--proxy-server: an association counts twice against --max-conns; -x refuses it" {
	need python3
	udp_target reply=pong
	proxy_start --max-conns 1
	run -0 client refused
	[ "$output" = "REFUSED 1" ]
	wait_for 5 grep -Eq '^sock: proxy client 127.0.0.1 port [0-9]+: UDP ASSOCIATE refused: --max-conns reached$' "$T/proxy.err"
	kill "$XPID"
	proxy_start -x 127.0.0.1:1
	run -0 client refused
	[ "$output" = "REFUSED 7" ]
}

@test "--proxy-server --proxy-auth: sock -u -x and the python client authenticate" {
	need python3
	udp_target reply=pong
	SOCK_PROXY_PASSWORD=pw proxy_start --proxy-auth bob
	SOCK_PROXY_PASSWORD=pw run -0 --separate-stderr timeout 10 "$SOCK" -u -x "bob@127.0.0.1:$XPORT" 127.0.0.1 "$UPORT" < <(printf 'one\n')
	[ "$output" = pong ]
	run -0 client auth=bob:pw send=x
	[ "$output" = "REPLY 127.0.0.1 $UPORT pong" ]
	run -0 client auth=bob:nope send=x
	[ "$output" = "AUTH FAILED" ]
}

@test "sock -u -x through sock --proxy-server over IPv6" {
	need python3
	has_ipv6_loopback || skip "no ::1 here"
	sock_server XPORT XPID /dev/null /dev/null "$T/proxy.err" --proxy-server ::1 0
	udp_target v6 reply=pong
	run -0 --separate-stderr timeout 10 "$SOCK" -u -x "[::1]:$XPORT" ::1 "$UPORT" < <(printf 'hi\n')
	[ "$output" = pong ]
	wait_for 5 grep -Eq '^sock: UDP association of ::1 port [0-9]+ ended \(the control connection closed\): 1 datagrams \(3 bytes\) up, 1 datagrams \(4 bytes\) down, 0 dropped$' "$T/proxy.err"
}

@test "sock -u -x through sock --proxy-server: both ends sock, the answers in order" {
	need python3
	udp_target answer=first,second,third
	proxy_start
	run -0 --separate-stderr timeout 10 "$SOCK" -u -x "127.0.0.1:$XPORT" 127.0.0.1 "$UPORT" < <(printf 'go\n')
	[ "$output" = $'first\nsecond\nthird' ]
}
