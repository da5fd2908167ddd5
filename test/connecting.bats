#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Connecting: Happy Eyeballs across a name's addresses (sock(1),
# DESCRIPTION), also under --wait, and --mptcp.
# shellcheck disable=SC2016,SC2153,SC2154
# SC2016: sh -c scripts take their arguments as "$0" "$1"... on purpose.
# SC2153/SC2154: T, SOCK, PORT, LPID, BG_PID, EXIT_STATUS, DUAL* come from
# helper.bash (loaded by bats' load, which shellcheck cannot follow);
# stderr and stderr_lines from bats' run --separate-stderr.

load helper
bats_require_minimum_version 1.5.0

# with_hosts LINE...: HOSTS_RUN becomes the command prefix under which
# /etc/hosts holds just these lines (a private mount namespace); skips
# where that cannot be done.
with_hosts() {
	printf '%s\n' '127.0.0.1 localhost' "$@" >"$T/hosts"
	[ "$(id -u)" -eq 0 ] || skip "a private /etc/hosts needs root (unshare -m)"
	command -v unshare >/dev/null || skip "unshare is not installed"
	HOSTS_RUN=(unshare -m sh -c 'mount --bind "$0" /etc/hosts && exec "$@"' "$T/hosts")
	"${HOSTS_RUN[@]}" true 2>/dev/null || skip "unshare -m fails here"
}

# gai_order NAME: the STREAM addresses of NAME, one a line, in
# getaddrinfo's order, under HOSTS_RUN.
gai_order() {
	"${HOSTS_RUN[@]}" getent ahosts "$1" | awk '$2 == "STREAM" { print $1 }'
}

# tried: the addresses of the "trying" lines in $stderr, one a line.
tried() {
	sed -n 's/^sock: trying \(.*\) port [0-9]* (tcp)$/\1/p' <<<"$stderr"
}

# TIMED: sh -c "$TIMED" FILE CMD...: run CMD, write how long it took (ms)
# to FILE, exit with its status. Run inside the namespace, it leaves out
# the time unshare and mount take, which a busy machine can stretch.
TIMED='s=$(date +%s%N); "$@"; r=$?; echo $(( ($(date +%s%N) - s) / 1000000 )) >"$0"; exit $r'

# ---- Happy Eyeballs -------------------------------------------------------

@test "a name whose first address never answers connects to the next in well under a second" {
	local ms
	need_dual_name
	sock_listen /dev/null "$T/out" "$T/err" "$DUAL_SECOND" 0
	silent "$PORT" "$DUAL_FIRST"
	printf 'hello' >"$T/msg"
	run -0 --separate-stderr timeout 10 "${DUAL_RUN[@]}" sh -c "$TIMED" "$T/ms" "$SOCK" -vv "$DUAL" "$PORT" <"$T/msg"
	ms=$(cat "$T/ms")
	wait_exit "$LPID" 5
	[ "$EXIT_STATUS" -eq 0 ]
	same_file "$T/msg" "$T/out"
	[ "${stderr_lines[0]}" = "sock: trying $DUAL_FIRST port $PORT (tcp)" ]
	[ "${stderr_lines[1]}" = "sock: trying $DUAL_SECOND port $PORT (tcp)" ]
	[ "${stderr_lines[2]}" = "sock: connected to $DUAL_SECOND port $PORT (tcp)" ]
	# The second address starts 250 ms after the first, not after -w or
	# the kernel's SYN timeout.
	echo "connected in $ms ms" >&2
	[ "$ms" -ge 250 ]
	[ "$ms" -lt 1000 ]
}

@test "a name whose addresses are all silent: -w 1 bounds the whole attempt, exit 3 in about a second" {
	local ms
	need_dual_name
	silent 0 "$DUAL_FIRST" "$DUAL_SECOND"
	run -3 --separate-stderr timeout 10 "${DUAL_RUN[@]}" sh -c "$TIMED" "$T/ms" "$SOCK" -w 1 "$DUAL" "$BH_PORT" </dev/null
	ms=$(cat "$T/ms")
	[ -z "$output" ]
	# The message names the address that tried longest.
	[ "$stderr" = "sock: connect to $DUAL_FIRST port $BH_PORT: $(errtext ETIMEDOUT)" ]
	echo "gave up after $ms ms" >&2
	[ "$ms" -ge 950 ]
	[ "$ms" -lt 1900 ]
}

@test "-vv shows both addresses trying when both are silent" {
	need_dual_name
	silent 0 "$DUAL_FIRST" "$DUAL_SECOND"
	run -3 --separate-stderr timeout 10 "${DUAL_RUN[@]}" "$SOCK" -vv -w 0.5 "$DUAL" "$BH_PORT" </dev/null
	[ "$(tried)" = "$(printf '%s\n' "$DUAL_FIRST" "$DUAL_SECOND")" ]
	[ "${stderr_lines[-1]}" = "sock: connect to $DUAL_FIRST port $BH_PORT: $(errtext ETIMEDOUT)" ]
}

@test "an address that is refused is followed at once, not after 250 ms" {
	local ms
	# Four refused addresses before the one that listens: 250 ms each
	# would take a second.
	with_hosts '::1 sock-he.test' '127.0.0.2 sock-he.test' \
	    '127.0.0.3 sock-he.test' '127.0.0.4 sock-he.test' '127.0.0.5 sock-he.test'
	has_ipv6_loopback || skip "::1 is not configured"
	[ "$(gai_order sock-he.test | tail -n 1)" = 127.0.0.5 ] ||
	    skip "the resolver does not put 127.0.0.5 last"
	sock_listen /dev/null "$T/out" "$T/err" 127.0.0.5 0
	printf 'x' >"$T/msg"
	run -0 --separate-stderr timeout 10 "${HOSTS_RUN[@]}" sh -c "$TIMED" "$T/ms" "$SOCK" -vv sock-he.test "$PORT" <"$T/msg"
	ms=$(cat "$T/ms")
	[ "$(tried | wc -l)" -eq 5 ]
	grep -qxF "sock: connect to 127.0.0.4 port $PORT: Connection refused" <<<"$stderr"
	grep -qxF "sock: connected to 127.0.0.5 port $PORT (tcp)" <<<"$stderr"
	wait_exit "$LPID" 5
	same_file "$T/msg" "$T/out"
	echo "connected in $ms ms" >&2
	[ "$ms" -lt 700 ]
}

@test "the addresses are tried with their families interleaved, the first address's family first" {
	local p order want v6 v4 i
	need python3
	has_ipv6_loopback || skip "::1 is not configured"
	# getaddrinfo puts an IPv4-mapped IPv6 address after the IPv4 ones:
	# ::1, 127.0.0.3, 127.0.0.4, ::ffff:127.0.0.2. Interleaved that is
	# ::1, 127.0.0.3, ::ffff:127.0.0.2, 127.0.0.4. Nothing listens.
	with_hosts '::1 sock-he.test' '::ffff:127.0.0.2 sock-he.test' \
	    '127.0.0.3 sock-he.test' '127.0.0.4 sock-he.test'
	order=$(gai_order sock-he.test)
	mapfile -t v6 < <(grep : <<<"$order")
	mapfile -t v4 < <(grep -v : <<<"$order")
	[[ $(head -n 1 <<<"$order") == *:* ]] || skip "the resolver does not put ::1 first"
	want=()
	for i in 0 1 2; do
		[ -n "${v6[i]:-}" ] && want+=("${v6[i]#::ffff:}")
		[ -n "${v4[i]:-}" ] && want+=("${v4[i]}")
	done
	# The test means something only if interleaving changes the order.
	[ "$(printf '%s\n' "${want[@]}")" != "${order//::ffff:/}" ]
	p=$(free_port)
	run -1 --separate-stderr timeout 10 "${HOSTS_RUN[@]}" "$SOCK" -vv sock-he.test "$p" </dev/null
	[ "$(tried)" = "$(printf '%s\n' "${want[@]}")" ]
	# Each failure but the last is a warning; the last is the error.
	grep -qxF "sock: connect to ${want[0]} port $p: Connection refused" <<<"$stderr"
	[ "${stderr_lines[-1]}" = "sock: connect to ${want[3]} port $p: Connection refused" ]
}

@test "--wait connects through Happy Eyeballs too: a silent first address does not hold it up" {
	local ms
	need_dual_name
	sock_listen /dev/null "$T/out" "$T/err" "$DUAL_SECOND" 0
	silent "$PORT" "$DUAL_FIRST"
	printf 'hello' >"$T/msg"
	run -0 --separate-stderr timeout 10 "${DUAL_RUN[@]}" sh -c "$TIMED" "$T/ms" "$SOCK" -v --wait 5 "$DUAL" "$PORT" <"$T/msg"
	ms=$(cat "$T/ms")
	echo "connected in $ms ms" >&2
	[ "$ms" -lt 1000 ]
	grep -qxF "sock: connected to $DUAL_SECOND port $PORT (tcp)" <<<"$stderr"
	wait_exit "$LPID" 5
	same_file "$T/msg" "$T/out"
}

# ---- --mptcp --------------------------------------------------------------


# need_mptcp: skip unless this kernel makes MPTCP sockets (and the socket
# of another process can be read back: Linux, python3).
need_mptcp() {
	[ "$(uname -s)" = Linux ] || skip "MPTCP is Linux only"
	need python3
	python3 "$PEER_PY" can mptcp 2>/dev/null ||
	    skip "this kernel has no MPTCP (or net.mptcp.enabled is 0)"
}

# protocol_of PID [--listening]: print the protocol number of PID's
# connected (or listening) socket, read with getsockopt.py (SO_PROTOCOL);
# skip where another process's socket cannot be taken.
protocol_of() {
	read_opts "$@" || return 1
	sed -n 's/^protocol=//p' "$T/opts"
}

@test "--mptcp: a client's and a listener's sockets are MPTCP (the protocol read back)" {
	need_mptcp
	sock_listen /dev/null /dev/null "$T/lerr" --mptcp 127.0.0.1 0
	[ "$(protocol_of "$LPID" --listening)" = 262 ]
	# Empty stdin on both sides: each holds its FIN, the connection stays.
	sock_bg /dev/null /dev/null "$T/cerr" -v --mptcp 127.0.0.1 "$PORT"
	wait_for 5 has_text "$T/cerr" "sock: connected to 127.0.0.1 port $PORT (tcp)"
	wait_for 5 has_text "$T/lerr" "sock: connection from "
	[ "$(protocol_of "$SPID")" = 262 ]
	[ "$(protocol_of "$LPID")" = 262 ]
}

@test "without --mptcp the same sockets are plain TCP" {
	need_mptcp
	sock_listen /dev/null /dev/null "$T/lerr" 127.0.0.1 0
	[ "$(protocol_of "$LPID" --listening)" = 6 ]
	sock_bg /dev/null /dev/null "$T/cerr" -v 127.0.0.1 "$PORT"
	wait_for 5 has_text "$T/cerr" "sock: connected to 127.0.0.1 port $PORT (tcp)"
	[ "$(protocol_of "$SPID")" = 6 ]
}

@test "--mptcp carries a megabyte each way without loss" {
	need_mptcp
	random_file "$T/down" 1048576
	random_file "$T/up" 1048576
	sock_listen "$T/down" "$T/got_up" "$T/lerr" --mptcp 127.0.0.1 0
	run -0 timeout 20 sh -c '"$0" --mptcp 127.0.0.1 "$1" <"$2" >"$3"' \
	    "$SOCK" "$PORT" "$T/up" "$T/got_down"
	wait_exit "$LPID" 10
	[ "$EXIT_STATUS" -eq 0 ]
	same_file "$T/down" "$T/got_down"
	same_file "$T/up" "$T/got_up"
}

@test "--mptcp on a dual-stack -k listener: the listening socket is MPTCP and a plain TCP client is served" {
	need_mptcp
	has_ipv6_loopback || skip "::1 is not configured"
	sock_listen /dev/null "$T/out" "$T/lerr" -k --mptcp 0
	[ "$(protocol_of "$LPID" --listening)" = 262 ]
	printf 'plain' >"$T/msg"
	run -0 timeout 10 "$SOCK" -N 127.0.0.1 "$PORT" <"$T/msg"
	wait_for 5 has_text "$T/out" plain
}

@test "--mptcp -z probes with MPTCP (the listener sees an MPTCP client)" {
	need_mptcp
	# An MPTCP listener: the protocol of the socket it accepts is 262 when
	# the client spoke MPTCP, 6 when it fell back to plain TCP.
	peer_listen mptcp protocol="$T/proto" close
	run -0 timeout 10 "$SOCK" -z --mptcp 127.0.0.1 "$PPORT"
	wait_for 5 test -s "$T/proto"
	[ "$(cat "$T/proto")" = 262 ]
}

@test "--mptcp with a connect: the server sees an MPTCP client" {
	need_mptcp
	peer_listen mptcp protocol="$T/proto" close
	run -0 timeout 10 "$SOCK" -N --mptcp 127.0.0.1 "$PPORT" </dev/null
	wait_for 5 test -s "$T/proto"
	[ "$(cat "$T/proto")" = 262 ]
}

@test "--mptcp where the kernel has MPTCP switched off is exit 1 with a message, in every mode" {
	local args
	[ "$(uname -s)" = Linux ] || skip "MPTCP is Linux only"
	[ "$(id -u)" -eq 0 ] || skip "switching MPTCP off in a network namespace needs root"
	command -v unshare >/dev/null || skip "unshare is not installed"
	# net.mptcp.enabled is per network namespace: off in a private one.
	unshare -n sh -c 'sysctl -qw net.mptcp.enabled=0' 2>/dev/null ||
	    skip "cannot switch MPTCP off in a network namespace here"
	for args in "127.0.0.1 9" "-l 0" "-l -k 0" "-z 127.0.0.1 9"; do
		# shellcheck disable=SC2086 # args are words on purpose
		run -1 --separate-stderr timeout 10 unshare -n sh -c \
		    'sysctl -qw net.mptcp.enabled=0 && exec "$@"' sh "$SOCK" --mptcp $args </dev/null
		[ -z "$output" ]
		[ "$stderr" = "sock: MPTCP is not available: Protocol not available (sysctl net.mptcp.enabled is 0)" ]
	done
}

@test "--mptcp with -u or -U is a usage error" {
	run -2 --separate-stderr "$SOCK" --mptcp -u 127.0.0.1 9
	[ "${stderr_lines[0]}" = "sock: --mptcp cannot be used with -u: it works on TCP only" ]
	[ "${stderr_lines[1]}" = "sock: see 'sock --help' for usage" ]
	run -2 --separate-stderr "$SOCK" --mptcp -U "$T/s"
	[ "${stderr_lines[0]}" = "sock: --mptcp cannot be used with -U: it works on TCP only" ]
}

@test "an --mptcp client reaches a plain TCP server (the kernel falls back)" {
	need_mptcp
	printf 'answer' >"$T/answer"
	sock_listen "$T/answer" "$T/out" "$T/lerr" 127.0.0.1 0
	printf 'hello' >"$T/msg"
	run -0 timeout 10 "$SOCK" --mptcp 127.0.0.1 "$PORT" <"$T/msg"
	[ "$output" = answer ]
	wait_exit "$LPID" 5
	same_file "$T/msg" "$T/out"
}
