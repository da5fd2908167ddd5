#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# UDP forwarding (-u --forward): a session per sender, replies to that
# sender only, datagram boundaries kept, idle expiry (-w), --max-conns,
# --max-conns-per-source, --allow/--deny, ICMP errors from the target, an
# IPv6 sender, DNS through a forwarded port, the reverse form, usage
# errors. Peers: test/udppeer.py (an echo that tags its answers, a DNS
# server and clients), socat and nc.openbsd as UDP clients.
# shellcheck disable=SC2016,SC2153,SC2154
# SC2016: sh -c scripts take their arguments as "$0" "$1"... on purpose.
# SC2153/SC2154: T, SOCK, PORT, LPID, BG_PID, EXIT_STATUS come from
# helper.bash (loaded by bats' load, which shellcheck cannot follow);
# stderr and stderr_lines from bats' run --separate-stderr.

load helper
bats_require_minimum_version 1.5.0

UDPPEER=$BATS_TEST_DIRNAME/udppeer.py

# echo_peer [ADDR]: start udppeer.py's echo on ADDR (127.0.0.1), logging
# each datagram's sender port and size to $T/echo.log; set ECHO_PORT.
echo_peer() {
	need python3
	: >"$T/echo.log"
	rm -f "$T/echo.port"
	bg python3 "$UDPPEER" echo "$T/echo.port" "${1:-127.0.0.1}" "$T/echo.log"
	wait_for 5 test -s "$T/echo.port"
	ECHO_PORT=$(cat "$T/echo.port")
}

# forwarder ARGS...: sock -v -u -l ARGS in the background, its stderr in
# $T/fwd.err; PORT and LPID set.
forwarder() {
	sock_listen /dev/null "$T/fwd.out" "$T/fwd.err" -u "$@"
}

# lines_matching FILE PATTERN: how many lines of FILE match PATTERN (ERE).
lines_matching() {
	grep -cE -- "$2" "$1" || true
}

# has_lines FILE PATTERN N: at least N lines of FILE match PATTERN.
has_lines() {
	[ "$(lines_matching "$1" "$2")" -ge "$3" ]
}

@test "two senders at once, socat and nc.openbsd, each get only their own answers" {
	need socat nc.openbsd
	echo_peer
	forwarder 127.0.0.1 0 --forward "127.0.0.1:$ECHO_PORT"
	open_feed "$T/a.in"
	open_feed "$T/b.in"
	bg sh -c 'exec socat -T 20 - "UDP:127.0.0.1:$0" <"$1" >"$2"' \
	    "$PORT" "$T/a.in" "$T/a.out"
	bg sh -c 'exec nc.openbsd -u 127.0.0.1 "$0" <"$1" >"$2"' \
	    "$PORT" "$T/b.in" "$T/b.out"
	local i
	for i in 1 2 3; do
		say "$T/a.in" "alpha $i"
		say "$T/b.in" "bravo $i"
		wait_for 5 has_text "$T/a.out" "reply to alpha $i"
		wait_for 5 has_text "$T/b.out" "reply to bravo $i"
	done
	run ! grep -q bravo "$T/a.out"
	run ! grep -q alpha "$T/b.out"
	# Two sessions, so two sender ports at the echo server.
	[ "$(cut -d' ' -f1 "$T/echo.log" | sort -u | wc -l)" -eq 2 ]
	[ "$(lines_matching "$T/fwd.err" '^sock: session from 127\.0\.0\.1 port [0-9]+ \(udp\) to 127\.0\.0\.1 port '"$ECHO_PORT"'$')" -eq 2 ]
}

@test "datagram boundaries are kept: 0, 1, 1472, 9000 and 65507 bytes pass whole, each way" {
	echo_peer
	forwarder 127.0.0.1 0 --forward "127.0.0.1:$ECHO_PORT"
	run -0 timeout 20 python3 "$UDPPEER" sizes "$PORT" 127.0.0.1 1 1472 9000 65507 0 2 100
	[ "$output" = ok ]
	# The echo server saw each datagram whole, one datagram each (an
	# empty one too).
	[ "$(cut -d' ' -f2 "$T/echo.log" | tr '\n' ' ')" = "1 1472 9000 65507 0 2 100 " ]
}

@test "many senders at once each get their own answer" {
	echo_peer
	forwarder 127.0.0.1 0 --forward "127.0.0.1:$ECHO_PORT"
	run -0 timeout 30 python3 "$UDPPEER" senders "$PORT" 300
	[ "$output" = "ok 300" ]
	[ "$(cut -d' ' -f1 "$T/echo.log" | sort -u | wc -l)" -eq 300 ]
}

@test "a session ends after -w of silence, with its counts in a -v line, and the next datagram opens a new one" {
	echo_peer
	forwarder 127.0.0.1 0 --forward "127.0.0.1:$ECHO_PORT" -w 1
	run -0 timeout 10 python3 "$UDPPEER" send "$PORT" 127.0.0.1 hello 3 0.5
	[ "${lines[0]}" = "reply to hello" ]
	[ "${#lines[@]}" -eq 4 ]
	wait_for 5 has_text "$T/fwd.err" "sock: session 127.0.0.1 port"
	grep -qE '^sock: session 127\.0\.0\.1 port [0-9]+ to 127\.0\.0\.1 port '"$ECHO_PORT"': 3 datagrams \(15 bytes\) up, 3 datagrams \(42 bytes\) down$' "$T/fwd.err"
	# Not before the second of silence: the end line comes after it.
	run -0 timeout 10 python3 "$UDPPEER" send "$PORT" 127.0.0.1 again 1 0.5
	[ "${lines[0]}" = "reply to again" ]
	wait_for 5 has_lines "$T/fwd.err" '^sock: session 127\.0\.0\.1 port [0-9]+ to ' 2
	[ "$(lines_matching "$T/fwd.err" '^sock: session from ')" -eq 2 ]
	# The forwarder itself goes on.
	kill -0 "$LPID"
}

@test "a session stays open while the sender keeps talking within -w" {
	echo_peer
	forwarder 127.0.0.1 0 --forward "127.0.0.1:$ECHO_PORT" -w 1
	open_feed "$T/a.in"
	bg sh -c 'exec "$0" -u -q 5 127.0.0.1 "$1" <"$2" >"$3"' \
	    "$SOCK" "$PORT" "$T/a.in" "$T/a.out"
	local i
	for i in 1 2 3 4; do
		say "$T/a.in" "tick $i"
		wait_for 5 has_text "$T/a.out" "reply to tick $i"
		sleep 0.5
	done
	# 2 s in all, each gap under -w: one session, not ended yet.
	[ "$(lines_matching "$T/fwd.err" '^sock: session from ')" -eq 1 ]
	run ! grep -qE '^sock: session 127' "$T/fwd.err"
}

@test "a silent session ends while a busy one goes on" {
	local i quiet='^sock: session 127\.0\.0\.1 port [0-9]+ to .*: 1 datagrams \(5 bytes\) up, 1 datagrams \(14 bytes\) down$'
	echo_peer
	forwarder 127.0.0.1 0 --forward "127.0.0.1:$ECHO_PORT" -w 2
	open_feed "$T/a.in"
	bg sh -c 'exec "$0" -u -q 20 127.0.0.1 "$1" <"$2" >"$3"' \
	    "$SOCK" "$PORT" "$T/a.in" "$T/a.out"
	say "$T/a.in" "busy 0"
	wait_for 5 has_text "$T/a.out" "reply to busy 0"
	run -0 timeout 10 python3 "$UDPPEER" send "$PORT" 127.0.0.1 quiet 1 0.1
	# The busy one speaks every 0.3 s (well within -w 2, even on a loaded
	# machine) until the quiet one has ended, 2 s after its datagram.
	for i in $(seq 1 40); do
		[ "$(lines_matching "$T/fwd.err" "$quiet")" -eq 0 ] || break
		sleep 0.3
		say "$T/a.in" "busy $i"
		wait_for 5 has_text "$T/a.out" "reply to busy $i"
	done
	[ "$(lines_matching "$T/fwd.err" "$quiet")" -eq 1 ]
	[ "$(lines_matching "$T/fwd.err" '^sock: session 127\.0\.0\.1 port [0-9]+ to ')" -eq 1 ]
}

# cpu_ticks PID: the user and system time PID has used, in clock ticks.
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

@test "thousands of idle sessions: a busy one goes on beside them, at no more CPU a datagram with epoll" {
	local c0 c1 c2 c3 idle=8000 epoll=1
	# poll(2) (make PORTABLE=1) lists every descriptor in every wait: there
	# the busy session is served, at a cost that grows with the idle ones
	# (sock(1), "Forwarding datagrams"), so fewer of them.
	"$SOCK" --version | grep -q '^waiting: epoll(7)' || { idle=1000; epoll=; }
	echo_peer
	forwarder 127.0.0.1 0 --forward "127.0.0.1:$ECHO_PORT"
	c0=$(cpu_ticks "$LPID")
	run -0 timeout 60 python3 "$UDPPEER" pingpong "$PORT" 2000
	c1=$(cpu_ticks "$LPID")
	run -0 timeout 120 python3 "$UDPPEER" idle "$PORT" "$idle"
	[ "$output" = "ok $idle" ]
	c2=$(cpu_ticks "$LPID")
	run -0 timeout 60 python3 "$UDPPEER" pingpong "$PORT" 2000
	[ "$output" = "ok 2000" ]
	c3=$(cpu_ticks "$LPID")
	echo "2000 round trips took the forwarder $((c1 - c0)) ticks alone, $((c3 - c2)) beside $idle idle sessions" >&2
	[ -n "$epoll" ] || return 0
	# A loop that looked at every session each round took about 100
	# microseconds more a round trip with 8000 of them: 2 to 4 times as
	# much.
	[ $((c3 - c2)) -le $((2 * (c1 - c0) + 5)) ]
}

@test "--max-conns 2 drops a third sender, said once however many datagrams it sends" {
	echo_peer
	forwarder 127.0.0.1 0 --forward "127.0.0.1:$ECHO_PORT" --max-conns 2
	grep -qxF "sock: up to 2 connections at once (descriptor limit $(grep -o 'limit [0-9]*' "$T/fwd.err" | head -n 1 | cut -d' ' -f2))" "$T/fwd.err"
	open_feed "$T/a.in"
	open_feed "$T/b.in"
	bg sh -c 'exec "$0" -u -q 10 127.0.0.1 "$1" <"$2" >"$3"' \
	    "$SOCK" "$PORT" "$T/a.in" "$T/a.out"
	bg sh -c 'exec "$0" -u -q 10 127.0.0.1 "$1" <"$2" >"$3"' \
	    "$SOCK" "$PORT" "$T/b.in" "$T/b.out"
	say "$T/a.in" one
	say "$T/b.in" two
	wait_for 5 has_text "$T/a.out" "reply to one"
	wait_for 5 has_text "$T/b.out" "reply to two"
	run -0 timeout 10 python3 "$UDPPEER" send "$PORT" 127.0.0.1 three 20 0.5
	[ "$output" = "done" ]
	[ "$(lines_matching "$T/fwd.err" '^sock: refused 127\.0\.0\.1 port [0-9]+: already 2 sessions \(--max-conns\)$')" -eq 1 ]
	run ! grep -q three "$T/echo.log" 2>/dev/null
	[ "$(wc -l <"$T/echo.log")" -eq 2 ]
	# The two sessions go on.
	say "$T/a.in" four
	wait_for 5 has_text "$T/a.out" "reply to four"
}

@test "--max-conns-per-source 1 counts the sessions of each address" {
	echo_peer
	forwarder 127.0.0.1 0 --forward "127.0.0.1:$ECHO_PORT" --max-conns-per-source 1
	open_feed "$T/a.in"
	bg sh -c 'exec "$0" -u -q 10 127.0.0.1 "$1" <"$2" >"$3"' \
	    "$SOCK" "$PORT" "$T/a.in" "$T/a.out"
	say "$T/a.in" one
	wait_for 5 has_text "$T/a.out" "reply to one"
	run -0 timeout 10 python3 "$UDPPEER" send "$PORT" 127.0.0.1 two 3 0.5
	[ "$output" = "done" ]
	grep -qE '^sock: refused 127\.0\.0\.1 port [0-9]+: already 1 sessions from its address \(--max-conns-per-source\)$' "$T/fwd.err"
	# Another address is a source of its own.
	run -0 timeout 10 python3 "$UDPPEER" send "$PORT" 127.0.0.2 other 1 0.5
	[ "${lines[0]}" = "reply to other" ]
}

@test "--deny drops a sender's datagrams, said once; --allow lets only its senders in" {
	echo_peer
	forwarder 127.0.0.1 0 --forward "127.0.0.1:$ECHO_PORT" --deny 127.0.0.2
	run -0 timeout 10 python3 "$UDPPEER" send "$PORT" 127.0.0.2 denied 5 0.5
	[ "$output" = "done" ]
	[ "$(lines_matching "$T/fwd.err" '^sock: refused 127\.0\.0\.2 port [0-9]+: not allowed by --allow/--deny$')" -eq 1 ]
	run -0 timeout 10 python3 "$UDPPEER" send "$PORT" 127.0.0.1 welcome 1 0.5
	[ "${lines[0]}" = "reply to welcome" ]
	run ! grep -q denied "$T/echo.log"
	[ "$(wc -l <"$T/echo.log")" -eq 1 ]
	kill "$LPID"
	wait_exit "$LPID" 5
	forwarder 127.0.0.1 0 --forward "127.0.0.1:$ECHO_PORT" --allow 127.0.0.2/32
	run -0 timeout 10 python3 "$UDPPEER" send "$PORT" 127.0.0.1 outsider 2 0.5
	[ "$output" = "done" ]
	run -0 timeout 10 python3 "$UDPPEER" send "$PORT" 127.0.0.2 insider 1 0.5
	[ "${lines[0]}" = "reply to insider" ]
}

@test "a listener on a wildcard address answers from the address the sender reached (socat connects its socket)" {
	need socat
	echo_peer
	# 0.0.0.0 (IP_PKTINFO), then :: with IPv4 senders (IPV6_PKTINFO).
	forwarder -4 0 --forward "127.0.0.1:$ECHO_PORT"
	run -0 sh -c 'echo one | timeout 5 socat -T 2 - "UDP:127.0.0.2:$0"' "$PORT"
	[ "$output" = "reply to one" ]
	kill "$LPID"
	wait_exit "$LPID" 5
	has_ipv6_loopback || skip "::1 is not configured"
	forwarder 0 --forward "127.0.0.1:$ECHO_PORT"
	grep -qF "sock: listening on :: port $PORT (udp)" "$T/fwd.err"
	run -0 sh -c 'echo two | timeout 5 socat -T 2 - "UDP:127.0.0.3:$0"' "$PORT"
	[ "$output" = "reply to two" ]
	run -0 sh -c 'echo three | timeout 5 socat -T 2 - "UDP:[::1]:$0"' "$PORT"
	[ "$output" = "reply to three" ]
}

@test "a flood of refused senders: each of the first 1024 said once, the rest counted in a line a second at most" {
	echo_peer
	forwarder 127.0.0.1 0 --forward "127.0.0.1:$ECHO_PORT" --deny 127.0.0.0/8
	run -0 timeout 60 python3 "$UDPPEER" spray "$PORT" 1500
	[ "$output" = "sent 1500" ]
	run -0 timeout 10 python3 "$UDPPEER" spray "$PORT" 1
	wait_for 5 has_lines "$T/fwd.err" '^sock: dropped [0-9]+ datagrams from other refused senders$' 1
	[ "$(lines_matching "$T/fwd.err" '^sock: refused 127\.0\.0\.1 port [0-9]+: not allowed by --allow/--deny$')" -eq 1024 ]
	# Nothing reached the target, and the forwarder still runs.
	[ ! -s "$T/echo.log" ]
	[ "$(wc -l <"$T/fwd.err")" -lt 1040 ]
	kill -0 "$LPID"
}

@test "an IPv6 sender on ::1 is forwarded to an IPv4 target and answered" {
	has_ipv6_loopback || skip "::1 is not configured"
	echo_peer
	forwarder ::1 0 --forward "127.0.0.1:$ECHO_PORT"
	run -0 timeout 10 python3 "$UDPPEER" sizes "$PORT" ::1 5 1472 65000
	[ "$output" = ok ]
	grep -qE '^sock: session from ::1 port [0-9]+ \(udp\) to 127\.0\.0\.1 port ' "$T/fwd.err"
}

@test "an IPv6 target ([::1]:port) is reached from an IPv4 sender" {
	has_ipv6_loopback || skip "::1 is not configured"
	echo_peer ::1
	forwarder 127.0.0.1 0 --forward "[::1]:$ECHO_PORT"
	run -0 timeout 10 python3 "$UDPPEER" sizes "$PORT" 127.0.0.1 5 1472
	[ "$output" = ok ]
}

@test "a DNS query goes through a forwarded port and its answer comes back" {
	local port answer
	need python3
	bg python3 "$UDPPEER" dns "$T/dns.port"
	wait_for 5 test -s "$T/dns.port"
	forwarder 127.0.0.1 0 --forward "127.0.0.1:$(cat "$T/dns.port")"
	port=$PORT
	if command -v dig >/dev/null; then
		answer=$(timeout 10 dig +short +tries=1 +time=3 -p "$port" @127.0.0.1 www.example.test A)
	else
		answer=$(timeout 10 python3 "$UDPPEER" dns-query "$port" www.example.test)
	fi
	[ "$answer" = 192.0.2.53 ]
}

@test "ICMP port unreachable from the target keeps the session and is counted" {
	local dead
	dead=$(free_port udp)
	forwarder 127.0.0.1 0 --forward "127.0.0.1:$dead" -w 1
	run -0 timeout 10 python3 "$UDPPEER" send "$PORT" 127.0.0.1 nobody 3 0.3
	[ "$output" = "done" ]
	wait_for 5 has_text "$T/fwd.err" " to 127.0.0.1 port $dead: 3 datagrams"
	grep -qE "^sock: session 127\\.0\\.0\\.1 port [0-9]+: 127\\.0\\.0\\.1 port $dead: Connection refused \\(the session goes on\\)\$" "$T/fwd.err"
	# Each datagram was sent: the error of one is taken before the next.
	grep -qE "^sock: session 127\\.0\\.0\\.1 port [0-9]+ to 127\\.0\\.0\\.1 port $dead: 3 datagrams \\(18 bytes\\) up, 0 datagrams \\(0 bytes\\) down, [1-3] refused\$" "$T/fwd.err"
	kill -0 "$LPID"
}

@test "SIGTERM ends the forwarder at once" {
	echo_peer
	forwarder 127.0.0.1 0 --forward "127.0.0.1:$ECHO_PORT"
	run -0 timeout 10 python3 "$UDPPEER" send "$PORT" 127.0.0.1 hi 1 0.3
	kill -TERM "$LPID"
	wait_exit "$LPID" 5
	[ "$EXIT_STATUS" -eq 143 ]
}

@test "in connect mode -u --forward relays the one conversation and exits 0 after -w of silence" {
	local start ms far src
	echo_peer
	far=$(free_port udp)
	src=$(free_port udp)
	start=$(date +%s%N)
	bg sh -c 'exec "$0" -v -u -w 1 -p "$1" 127.0.0.1 "$2" --forward "127.0.0.1:$3" 2>"$4"' \
	    "$SOCK" "$src" "$far" "$ECHO_PORT" "$T/rev.err"
	local rpid=$BG_PID
	wait_for 5 has_text "$T/rev.err" "sock: session from 127.0.0.1 port $far (udp) to 127.0.0.1 port $ECHO_PORT"
	# The far end (port $far) talks to the tunnel's socket (port $src):
	# its datagrams reach the target, the target's answers come back.
	run -0 timeout 10 python3 "$UDPPEER" send "$src" 127.0.0.1 "far end" 2 0.5 "$far"
	[ "${lines[0]}" = "reply to far end" ]
	[ "${lines[1]}" = "reply to far end" ]
	[ "${lines[2]}" = "done" ]
	wait_exit "$rpid" 5
	[ "$EXIT_STATUS" -eq 0 ]
	ms=$(elapsed_ms "$start")
	# 1 s after the last datagram, which came after the start.
	[ "$ms" -ge 1000 ]
	grep -qE "^sock: session 127\\.0\\.0\\.1 port $far to 127\\.0\\.0\\.1 port $ECHO_PORT: 2 datagrams \\(14 bytes\\) up, 2 datagrams \\(32 bytes\\) down\$" "$T/rev.err"
}

@test "a target that is the listener itself is refused at the start, exit 1" {
	local port
	port=$(free_port udp)
	run -1 --separate-stderr timeout 5 "$SOCK" -u -l 127.0.0.1 "$port" --forward "127.0.0.1:$port"
	[ "${stderr_lines[0]}" = "sock: forward to 127.0.0.1 port $port: that is where sock listens" ]
	# A wildcard listener and a loopback target.
	run -1 --separate-stderr timeout 5 "$SOCK" -4 -u -l "$port" --forward "127.0.0.5:$port"
	[ "${stderr_lines[0]}" = "sock: forward to 127.0.0.5 port $port: that is where sock listens" ]
}

@test "combinations -u --forward cannot serve are usage errors that say why" {
	run -2 --separate-stderr "$SOCK" -u -l 0 --forward unix:/tmp/x
	[ "${stderr_lines[0]}" = "sock: a unix: --forward target cannot be used with -u: it forwards to a UDP port" ]
	run -2 --separate-stderr "$SOCK" -u -U -l "$T/s" --forward 127.0.0.1:53
	[ "${stderr_lines[0]}" = "sock: --forward cannot be used with -u -U: it forwards UDP" ]
	run -2 --separate-stderr "$SOCK" -u -l 0 --forward 127.0.0.1:53 --wait 1
	[ "${stderr_lines[0]}" = "sock: --wait cannot be used with -u --forward: a UDP target has no connection to wait for" ]
	run -2 --separate-stderr "$SOCK" -u -l 0 --forward 127.0.0.1:53 -W 3
	[ "${stderr_lines[0]}" = "sock: -W cannot be used with --forward: it relays two sockets, not stdin and stdout" ]
	run -2 --separate-stderr "$SOCK" -u -l 0 --forward 127.0.0.1:53 --tls
	[[ "${stderr_lines[0]}" == "sock: --tls -u cannot be used with --forward: DTLS serves one conversation" ]]
	run -2 --separate-stderr "$SOCK" -u -l 0 --forward 127.0.0.1:53 --send-proxy
	[ "${stderr_lines[0]}" = "sock: --send-proxy cannot be used with -u" ]
	run -2 --separate-stderr "$SOCK" -u -l 0 --forward 127.0.0.1:53 -e cat
	[ "${stderr_lines[0]}" = "sock: --forward cannot be used with -e" ]
	run -2 --separate-stderr "$SOCK" -u -l 0 --forward 127.0.0.1:53 --proxy-server
	[ "${stderr_lines[0]}" = "sock: --forward and --proxy-server cannot be used together" ]
	run -2 --separate-stderr "$SOCK" -u -l 0 --forward 127.0.0.1:53 -q 1
	[ "${stderr_lines[0]}" = "sock: --forward cannot be used with -q: it relays two sockets, not stdin and stdout" ]
	run -2 --separate-stderr "$SOCK" -u -l -k 0 --max-conns 3
	[ "${stderr_lines[0]}" = "sock: --max-conns cannot be used with -u (except with --forward)" ]
	run -2 --separate-stderr "$SOCK" -u 127.0.0.1 9 --forward 127.0.0.1:53 --max-conns 3
	[ "${stderr_lines[0]}" = "sock: --max-conns cannot be used with --forward in connect mode: it forwards one connection" ]
	run -2 --separate-stderr "$SOCK" -l 0 --forward 127.0.0.1:53 --max-conns 3
	[ "${stderr_lines[0]}" = "sock: --max-conns with --forward needs -k on a stream socket" ]
	run -2 --separate-stderr "$SOCK" -u -l 0 --forward 127.0.0.1:0
	[[ "${stderr_lines[0]}" == *"port 0"* ]]
	run -2 --separate-stderr "$SOCK" -u -l 0 --forward 127.0.0.1:53 --max-conns 0
	[[ "${stderr_lines[0]}" == "sock: invalid --max-conns"* ]]
}

@test "-u -l --forward takes --max-conns up to the descriptor limit, one descriptor a session" {
	run -2 --separate-stderr bash -c 'ulimit -n 200; exec "$0" -u -l 0 --forward 127.0.0.1:53 --max-conns 100000' "$SOCK"
	[[ "${stderr_lines[0]}" == "sock: --max-conns 100000: the descriptor limit of "*" sessions at once" ]]
}
