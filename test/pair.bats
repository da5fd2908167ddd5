#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# The relay between two sockets: two endpoints in the same loop that
# relays stdin and stdout (sock(1), "How bytes move"). test/relay-pair is a
# test-only program built by `make test` that accepts one client, connects
# to a target and relays the two by the relay's rules.
# shellcheck disable=SC2030,SC2031,SC2153,SC2154

load helper
bats_require_minimum_version 1.5.0

PAIR="$BATS_TEST_DIRNAME/relay-pair"

pair_port() {
	sed -n 's/^port \([0-9][0-9]*\)$/\1/p' "$T/pair.out" | head -n 1
}

has_pair_port() {
	[ -n "$(pair_port)" ]
}

# start_pair TARGET_PORT: start relay-pair and set PAIR_PORT and PAIR_PID.
start_pair() {
	"$PAIR" "$1" >"$T/pair.out" 2>"$T/pair.err" 3>&- &
	PAIR_PID=$!
	PIDS+=("$PAIR_PID")
	wait_for 5 has_pair_port || { cat "$T/pair.err" >&2; return 1; }
	PAIR_PORT=$(pair_port)
}

# both_ways: 8 MB up and 6 MB down through the pair, each side a sock
# that sends its file, passes its FIN on, and exits 0 with all it got.
both_ways() {
	random_file "$T/up" 8000000
	random_file "$T/down" 6000000
	sock_listen "$T/down" "$T/target.got" "$T/target.err" 127.0.0.1 0
	local target=$LPID
	start_pair "$PORT"
	sock_bg "$T/up" "$T/client.got" "$T/err" 127.0.0.1 "$PAIR_PORT"
	sock_ok 20
	wait_exit "$target" 10
	[ "$EXIT_STATUS" -eq 0 ] || { cat "$T/target.err" >&2; return 1; }
	wait_exit "$PAIR_PID" 10
	[ "$EXIT_STATUS" -eq 0 ] || { cat "$T/pair.err" >&2; return 1; }
	same_file "$T/up" "$T/target.got"
	same_file "$T/down" "$T/client.got"
}

@test "two sockets relayed in one loop move 8 MB up and 6 MB down intact (splice)" {
	[ -x "$PAIR" ] || skip "test/relay-pair is not built (make test builds it)"
	both_ways
}

@test "two sockets relayed in one loop move 8 MB up and 6 MB down intact (read/write)" {
	[ -x "$PAIR" ] || skip "test/relay-pair is not built (make test builds it)"
	SOCK_NOSPLICE=1 both_ways
}

@test "a half-close on one socket reaches the other as a FIN while the reply still flows" {
	[ -x "$PAIR" ] || skip "test/relay-pair is not built (make test builds it)"
	printf 'request\n' >"$T/req"
	random_file "$T/down" 300000
	# The target answers only after it has seen the end of the request.
	peer_listen recv_all="$T/target.got" send="$T/down" close
	start_pair "$PPORT"
	sock_bg "$T/req" "$T/client.got" "$T/err" 127.0.0.1 "$PAIR_PORT"
	sock_ok 10
	wait_exit "$PAIR_PID" 10
	[ "$EXIT_STATUS" -eq 0 ]
	same_file "$T/req" "$T/target.got"
	same_file "$T/down" "$T/client.got"
}
