#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Socket options (sock(1), OPTIONS): -I, -O, -T, -M, -b, --nodelay,
# --keepalive. Each is read back from sock's live socket by
# test/getsockopt.py, which borrows the socket with pidfd_getfd(2); where
# that is not permitted the tests skip. Both a client's socket and a
# listener's accepted socket are checked.
#
# Each @test body runs in a subshell (SC2030/SC2031); run sets status,
# output and stderr, and helper.bash sets PORT and LPID (SC2154/SC2153).
# shellcheck disable=SC2030,SC2031,SC2153,SC2154

load helper
bats_require_minimum_version 1.5.0


setup() {
	common_setup
	[ "$(uname -s)" = Linux ] || skip "reading another process's socket options needs Linux (pidfd_getfd)"
	need python3
}

# opt_is NAME VALUE: the option NAME read by read_opts is VALUE.
opt_is() {
	local v
	v=$(sed -n "s/^$1=//p" "$T/opts")
	if [ "$v" != "$2" ]; then
		echo "$1 is \"$v\", expected \"$2\"; all options:" >&2
		cat "$T/opts" >&2
		return 1
	fi
}

# need_ipv6: skip unless ::1 can be bound.
need_ipv6() {
	python3 "$PEER_PY" can ipv6 2>/dev/null ||
		skip "IPv6 loopback is not available"
}

# next_pair: fresh stderr files LERR and CERR for the next listener and
# client, so that a wait never sees an earlier pair's lines.
PAIR=0
next_pair() {
	PAIR=$((PAIR + 1))
	LERR=$T/lerr.$PAIR
	CERR=$T/cerr.$PAIR
}

# client_with HOST ARGS...: a plain sock listener on HOST port 0, and a
# sock client with ARGS connected to it; both hold the connection open
# (empty stdin: no FIN until the peer's). Sets CPID once connected.
client_with() {
	local host=$1
	shift
	next_pair
	sock_listen /dev/null /dev/null "$LERR" "$host" 0
	"$SOCK" -v "$@" "$host" "$PORT" </dev/null >/dev/null 2>"$CERR" 3>&- &
	CPID=$!
	PIDS+=("$CPID")
	wait_for 5 has_text "$CERR" "sock: connected to " || { cat "$CERR" >&2; return 1; }
}

# listener_with ARGS...: a listener "sock -v -l ARGS" (ARGS end with the
# address, if any, and port 0) and a plain sock client connecting to
# CHOST (default 127.0.0.1); waits until the listener has accepted. The
# listener is LPID.
listener_with() {
	local chost=${CHOST:-127.0.0.1}
	next_pair
	sock_listen /dev/null /dev/null "$LERR" "$@"
	"$SOCK" "$chost" "$PORT" </dev/null >/dev/null 2>"$CERR" 3>&- &
	PIDS+=("$!")
	wait_for 5 has_text "$LERR" "sock: connection from " || { cat "$LERR" >&2; return 1; }
}

# usage_error_is ARGS... -- FIRST_LINE: sock ARGS is a usage error whose
# first stderr line is FIRST_LINE.
usage_error_is() {
	local args=()
	while [ "$1" != -- ]; do
		args+=("$1")
		shift
	done
	run -2 --separate-stderr "$SOCK" "${args[@]}"
	[ -z "$output" ]
	if [ "${stderr_lines[0]}" != "$2" ] ||
		[ "${stderr_lines[1]}" != "sock: see 'sock --help' for usage" ]; then
		echo "sock ${args[*]}: stderr was:" >&2
		echo "$stderr" >&2
		return 1
	fi
}

@test "without options the sockets read back with the system defaults (the reader tells them apart)" {
	client_with 127.0.0.1
	read_opts "$CPID"
	opt_is family inet
	opt_is type stream
	opt_is nodelay 0
	opt_is keepalive 0
	opt_is tos 0
	opt_is ttl "$(cat /proc/sys/net/ipv4/ip_default_ttl)"
	opt_is broadcast 0
	[ "$(sed -n 's/^rcvbuf=//p' "$T/opts")" != 100000 ]
}

# ---- -I / -O -----------------------------------------------------------

@test "-I and -O set SO_RCVBUF and SO_SNDBUF on a client (Linux doubles them)" {
	client_with 127.0.0.1 -I 50000 -O 60000
	read_opts "$CPID"
	opt_is rcvbuf 100000
	opt_is sndbuf 120000
}

@test "-I and -O set SO_RCVBUF and SO_SNDBUF on a listener's accepted socket" {
	listener_with -I 50000 -O 60000 127.0.0.1 0
	read_opts "$LPID"
	opt_is rcvbuf 100000
	opt_is sndbuf 120000
}

@test "-I sets SO_RCVBUF on an IPv6 client" {
	need_ipv6
	client_with ::1 -I 70000
	read_opts "$CPID"
	opt_is family inet6
	opt_is rcvbuf 140000
}

# ---- -T ----------------------------------------------------------------

@test "-T names and numbers set IP_TOS on an IPv4 client" {
	# Linux keeps the two ECN bits of a TCP socket's TOS to itself, so 46
	# (0x2e) reads back as 44; the UDP test below sees 46 whole.
	local pair name want
	for pair in lowdelay=16 throughput=8 reliability=4 af11=40 ef=184 \
		0x20=32 46=44 cs1=32; do
		name=${pair%=*} want=${pair#*=}
		client_with 127.0.0.1 -T "$name"
		read_opts "$CPID"
		opt_is family inet
		opt_is tos "$want" || { echo "for -T $name" >&2; return 1; }
	done
}

@test "-T 46 sets IP_TOS 46 whole on a UDP socket" {
	next_pair
	sock_listen /dev/null /dev/null "$LERR" -u -T 46 127.0.0.1 0
	read_opts "$LPID"
	opt_is type dgram
	opt_is tos 46
}

@test "-T sets IP_TOS on a listener's accepted IPv4 socket" {
	listener_with -T lowdelay 127.0.0.1 0
	read_opts "$LPID"
	opt_is family inet
	opt_is tos 16
}

@test "-T on a dual-stack listener: an IPv4 client's accepted socket has the TOS" {
	need_ipv6
	listener_with -T af11 0
	read_opts "$LPID"
	opt_is family inet6
	opt_is tos 40
	opt_is tclass 40
}

@test "-T sets IPV6_TCLASS on an IPv6 client and an IPv6 listener's accepted socket" {
	need_ipv6
	client_with ::1 -T ef
	read_opts "$CPID"
	opt_is family inet6
	opt_is tclass 184
	CHOST=::1 listener_with -T throughput ::1 0
	read_opts "$LPID"
	opt_is family inet6
	opt_is tclass 8
}

# ---- -M ----------------------------------------------------------------

@test "-M sets IP_TTL on an IPv4 client and a listener's accepted socket" {
	client_with 127.0.0.1 -M 1
	read_opts "$CPID"
	opt_is ttl 1
	listener_with -M 255 127.0.0.1 0
	read_opts "$LPID"
	opt_is ttl 255
}

@test "-M sets IPV6_UNICAST_HOPS on an IPv6 client" {
	need_ipv6
	client_with ::1 -M 9
	read_opts "$CPID"
	opt_is family inet6
	opt_is hops 9
}

# ---- --nodelay, --keepalive, -b ----------------------------------------

@test "--nodelay sets TCP_NODELAY on a client and a listener's accepted socket" {
	client_with 127.0.0.1 --nodelay
	read_opts "$CPID"
	opt_is nodelay 1
	listener_with --nodelay 127.0.0.1 0
	read_opts "$LPID"
	opt_is nodelay 1
}

@test "--keepalive sets SO_KEEPALIVE on a client and a listener's accepted socket" {
	client_with 127.0.0.1 --keepalive
	read_opts "$CPID"
	opt_is keepalive 1
	opt_is nodelay 0
	listener_with --keepalive 127.0.0.1 0
	read_opts "$LPID"
	opt_is keepalive 1
}

@test "-b -u sets SO_BROADCAST on a UDP listener and a UDP client" {
	next_pair
	sock_listen /dev/null /dev/null "$LERR" -u -b 127.0.0.1 0
	read_opts "$LPID"
	opt_is type dgram
	opt_is broadcast 1
	# A UDP client quits 1 s after an empty stdin: hold stdin open.
	hold_fifo "$T/in"
	exec 5<>"$T/in"
	"$SOCK" -v -u -b 127.0.0.1 "$PORT" <"$T/in" >/dev/null 2>"$CERR" 3>&- 5>&- &
	CPID=$!
	PIDS+=("$CPID")
	wait_for 5 has_text "$CERR" "sock: connected to "
	read_opts "$CPID"
	exec 5>&-
	opt_is type dgram
	opt_is broadcast 1
}

# ---- invalid values ------------------------------------------------------

@test "invalid -T values are usage errors" {
	local v
	for v in bogus 256 -1 '' 0x100 ef1; do
		usage_error_is -T "$v" 127.0.0.1 9 -- "sock: invalid -T value \"$v\": must be lowdelay, throughput, reliability, mincost, a DSCP name (af11-af43, cs0-cs7, ef, va, le) or 0-255"
	done
}

@test "invalid -M values are usage errors" {
	local v
	for v in 0 256 -1 x; do
		usage_error_is -M "$v" 127.0.0.1 9 -- "sock: invalid -M value \"$v\": must be a number from 1 to 255"
	done
}

@test "invalid -I and -O values are usage errors" {
	usage_error_is -I 0 127.0.0.1 9 -- 'sock: invalid -I value "0": must be a number from 1 to 1073741823'
	usage_error_is -I -5 127.0.0.1 9 -- 'sock: invalid -I value "-5": must be a number from 1 to 1073741823'
	usage_error_is -O abc 127.0.0.1 9 -- 'sock: invalid -O value "abc": must be a number from 1 to 1073741823'
	usage_error_is -O 1073741824 127.0.0.1 9 -- 'sock: invalid -O value "1073741824": must be a number from 1 to 1073741823'
}

@test "-b without -u, --nodelay with -u and --keepalive with -U are usage errors" {
	usage_error_is -b 127.0.0.1 9 -- 'sock: -b needs -u'
	usage_error_is --nodelay -u 127.0.0.1 9 -- 'sock: --nodelay cannot be used with -u: it works on TCP only'
	usage_error_is --keepalive -U "$T/x.sock" -- 'sock: --keepalive cannot be used with -U: it works on TCP only'
	usage_error_is -T lowdelay -U "$T/x.sock" -- 'sock: -U cannot be used with -T'
}

# ---- -D ------------------------------------------------------------------

@test "-D sets SO_DEBUG on a client, a listener's accepted socket and a UDP socket" {
	[ "$(id -u)" -eq 0 ] || skip "Linux lets only CAP_NET_ADMIN set SO_DEBUG"
	client_with 127.0.0.1
	read_opts "$CPID"
	opt_is debug 0
	client_with 127.0.0.1 -D
	read_opts "$CPID"
	opt_is debug 1
	listener_with -D 127.0.0.1 0
	read_opts "$LPID"
	opt_is debug 1
	next_pair
	sock_listen /dev/null /dev/null "$LERR" -u -D 127.0.0.1 0
	read_opts "$LPID"
	opt_is type dgram
	opt_is debug 1
}

@test "-D sets SO_DEBUG on a Unix-domain listener" {
	[ "$(id -u)" -eq 0 ] || skip "Linux lets only CAP_NET_ADMIN set SO_DEBUG"
	next_pair
	sock_listen_unix /dev/null /dev/null "$LERR" -D "$T/d.sock"
	read_opts "$LPID" --listening
	opt_is family unix
	opt_is debug 1
}

@test "-D without CAP_NET_ADMIN is exit 1, Permission denied" {
	[ "$(id -u)" -eq 0 ] || skip "dropping the capability needs root first"
	command -v setpriv >/dev/null || skip "setpriv is not installed"
	next_pair
	sock_listen /dev/null /dev/null "$LERR" 127.0.0.1 0
	run -1 --separate-stderr timeout 10 setpriv --inh-caps=-all --bounding-set=-net_admin \
	    "$SOCK" -D 127.0.0.1 "$PORT" </dev/null
	[ "$stderr" = "sock: connect to 127.0.0.1 port $PORT: Permission denied" ]
}

# ---- -m ------------------------------------------------------------------

@test "-m sets IP_MINTTL on an IPv4 client and a listener's accepted socket" {
	client_with 127.0.0.1
	read_opts "$CPID"
	opt_is minttl 0
	client_with 127.0.0.1 -m 1
	read_opts "$CPID"
	opt_is minttl 1
	listener_with -m 64 127.0.0.1 0
	read_opts "$LPID"
	opt_is minttl 64
}

@test "-m sets IPV6_MINHOPCOUNT on an IPv6 client, and IP_MINTTL too on a dual-stack listener" {
	need_ipv6
	client_with ::1 -m 9
	read_opts "$CPID"
	opt_is family inet6
	opt_is minhops 9
	listener_with -m 12 0
	read_opts "$LPID"
	opt_is family inet6
	opt_is minhops 12
	opt_is minttl 12
}

@test "-m 255 on a client drops loopback answers sent with TTL 64: the connect times out" {
	# Loopback packets leave with the default TTL (64); a SYN-ACK below
	# the minimum is dropped, so only the -w timeout ends the connect.
	[ "$(cat /proc/sys/net/ipv4/ip_default_ttl)" -lt 255 ] || skip "the default TTL is 255 here"
	next_pair
	sock_listen /dev/null /dev/null "$LERR" 127.0.0.1 0
	run -3 --separate-stderr timeout 10 "$SOCK" -w 1 -m 255 127.0.0.1 "$PORT" </dev/null
	[ "$stderr" = "sock: connect to 127.0.0.1 port $PORT: $(errtext ETIMEDOUT)" ]
	printf 'x' >"$T/msg"
	run -0 timeout 10 "$SOCK" -w 1 -m 64 127.0.0.1 "$PORT" <"$T/msg"
}

@test "-m 255 on a listener admits only a client that sends with -M 255" {
	[ "$(cat /proc/sys/net/ipv4/ip_default_ttl)" -lt 255 ] || skip "the default TTL is 255 here"
	next_pair
	sock_listen /dev/null "$T/out" "$LERR" -m 255 127.0.0.1 0
	run -3 timeout 10 "$SOCK" -w 1 127.0.0.1 "$PORT" </dev/null
	printf 'hops' >"$T/msg"
	run -0 timeout 10 "$SOCK" -w 2 -M 255 127.0.0.1 "$PORT" <"$T/msg"
	wait_exit "$LPID" 5
	same_file "$T/msg" "$T/out"
}

@test "invalid -m values, and -m with -u or -U, are usage errors" {
	local v
	for v in 0 256 -1 x ''; do
		usage_error_is -m "$v" 127.0.0.1 9 -- "sock: invalid -m value \"$v\": must be a number from 1 to 255"
	done
	usage_error_is -m 5 -u 127.0.0.1 9 -- 'sock: -m cannot be used with -u: Linux checks it on TCP only'
	usage_error_is -m 5 -U "$T/x.sock" -- 'sock: -m cannot be used with -U: Linux checks it on TCP only'
}
