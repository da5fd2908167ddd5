#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# UDP forwarding (-u --forward) across a lossy link: a sender in one
# network namespace, the forwarder and its target in another, joined by a
# veth pair (test/netns.bash), with iptables dropping every Nth datagram
# each way. What is lost is lost; what arrives is whole, in order, once,
# and counted in the session's -v line.
# Needs root (ip netns, iptables): skips elsewhere, fails in CI (CI=true).
# shellcheck disable=SC2030,SC2031,SC2153,SC2154
# SC2030/SC2031: each @test body runs in a subshell; SC2153/SC2154: T,
# SOCK, PORT, LPID, BG_PID, EXIT_STATUS, NS_A, NS_B come from helper.bash
# and netns.bash (loaded by bats' load, which shellcheck cannot follow).

load helper
load netns
bats_require_minimum_version 1.5.0

UDPPEER=$BATS_TEST_DIRNAME/udppeer.py

setup_file() {
	NETNS_SKIP=$(netns_reason)
	export NETNS_SKIP
	if [ -z "$NETNS_SKIP" ]; then
		netns_up
	fi
}

teardown_file() {
	netns_down
}

setup() {
	common_setup
	need_netns
	need python3
	rules_clear
}

teardown() {
	common_teardown
	[ -z "${NS_A:-}" ] || rules_clear
}

@test "every 5th datagram up and every 4th down lost: the rest pass whole, in order, once, and the -v line counts what the forwarder saw" {
	local e
	# The target: udppeer.py's echo on the forwarder's loopback.
	ip netns exec "$NS_B" python3 "$UDPPEER" echo "$T/echo.port" 127.0.0.1 3>&- &
	PIDS+=("$!")
	wait_for 5 test -s "$T/echo.port"
	e=$(cat "$T/echo.port")
	ip netns exec "$NS_B" "$SOCK" -v -u -w 2 -l "$NS_B_ADDR" 0 \
	    --forward "127.0.0.1:$e" </dev/null >/dev/null 2>"$T/fwd.err" 3>&- &
	LPID=$!
	PIDS+=("$LPID")
	wait_for 5 has_port_line "$T/fwd.err"
	PORT=$(port_from "$T/fwd.err")
	# Up: the sender's datagrams arriving at the forwarder. Down: the
	# answers arriving at the sender.
	drop_every "$NS_B" 5 -p udp --dport "$PORT"
	drop_every "$NS_A" 4 -p udp
	run -0 timeout 30 ip netns exec "$NS_A" python3 "$UDPPEER" seq "$NS_B_ADDR" "$PORT" 100 1000 0.01
	# 100 sent, 20 lost on the way up, 80 answered, 20 of them lost.
	[ "$output" = "answered 60" ]
	wait_for 10 has_text "$T/fwd.err" " to 127.0.0.1 port $e: "
	grep -qE '^sock: session 10\.231\.0\.1 port [0-9]+ to 127\.0\.0\.1 port '"$e"': 80 datagrams \(80000 bytes\) up, 80 datagrams \(80720 bytes\) down$' "$T/fwd.err"
	lost_at_least 40 20
}
