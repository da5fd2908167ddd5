#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# --forward: each connection relayed to its own connection to a target, in
# one process, by the relay's rules (sock(1), "Forwarding").
# shellcheck disable=SC2030,SC2031,SC2153,SC2154

load helper
bats_require_minimum_version 1.5.0

# fwd_start ARGS...: start "sock -v -l 127.0.0.1 0 ARGS" (stdin /dev/null,
# stderr $T/fwd.err); set FPORT and FPID.
fwd_start() {
	sock_server FPORT FPID /dev/null "$T/fwd.out" "$T/fwd.err" 127.0.0.1 0 "$@"
}

# fwd_exits STATUS [SECS]: the forwarder (FPID) exits with STATUS.
fwd_exits() {
	wait_exit "$FPID" "${2:-10}"
	if [ "$EXIT_STATUS" -ne "$1" ]; then
		echo "forwarder exited $EXIT_STATUS, expected $1" >&2
		cat "$T/fwd.err" >&2
		return 1
	fi
}

# bulk_both_ways BYTES: BYTES each way through a one-connection forwarder
# between two socks, checked by checksum; everyone exits 0.
bulk_both_ways() {
	random_file "$T/up" "$1"
	random_file "$T/down" "$1"
	sock_listen "$T/down" "$T/target.got" "$T/target.err" 127.0.0.1 0
	local target=$LPID
	fwd_start --forward "127.0.0.1:$PORT"
	sock_bg "$T/up" "$T/client.got" "$T/err" 127.0.0.1 "$FPORT"
	sock_ok 60
	wait_exit "$target" 20
	[ "$EXIT_STATUS" -eq 0 ] || { cat "$T/target.err" >&2; return 1; }
	fwd_exits 0 20
	[ "$(cksum <"$T/up")" = "$(cksum <"$T/target.got")" ]
	[ "$(cksum <"$T/down")" = "$(cksum <"$T/client.got")" ]
}

@test "64 MB each way through a forwarder arrive intact (splice)" {
	bulk_both_ways 67108864
	grep -q "^sock: tunnel 127.0.0.1 port [0-9]* to 127.0.0.1 port $PORT: 67108864 bytes up, 67108864 bytes down$" "$T/fwd.err"
}

@test "64 MB each way through a forwarder arrive intact (read/write)" {
	SOCK_NOSPLICE=1 bulk_both_ways 67108864
}

@test "with -k, concurrent clients each get their own target connection" {
	# The target echoes each client back, many at once.
	sock_listen /dev/null /dev/null "$T/target.err" -k 127.0.0.1 0 -c cat
	fwd_start -k --forward "127.0.0.1:$PORT"
	local i pids=()
	for i in 1 2 3 4 5 6 7 8; do
		random_file "$T/in$i" $((200000 + i * 1000))
		"$SOCK" 127.0.0.1 "$FPORT" <"$T/in$i" >"$T/out$i" 2>"$T/err$i" 3>&- &
		pids+=("$!")
		PIDS+=("$!")
	done
	for i in 1 2 3 4 5 6 7 8; do
		wait_exit "${pids[$((i - 1))]}" 20
		[ "$EXIT_STATUS" -eq 0 ] || { cat "$T/err$i" >&2; return 1; }
		same_file "$T/in$i" "$T/out$i"
	done
	# -k keeps serving.
	kill -0 "$FPID"
}

@test "a client that stops reading stalls only its own pair" {
	sock_listen /dev/null /dev/null "$T/echo.err" -k 127.0.0.1 0 -c cat
	fwd_start -k --forward "127.0.0.1:$PORT"
	# A client that floods the echo and never reads what comes back: its
	# pair fills both ways and stops.
	peer_connect "$FPORT" rcvbuf=4096 fill="$T/stalled" sleep=30
	wait_for 20 test -e "$T/stalled"
	# Another client is served at once all the same.
	printf 'hello\n' >"$T/hello"
	run -0 timeout 5 "$SOCK" -N 127.0.0.1 "$FPORT" <"$T/hello"
	[ "$output" = hello ]
	kill -0 "$FPID"
}

@test "a FIN from the client reaches the target as a half-close while the reply still flows" {
	printf 'request\n' >"$T/req"
	random_file "$T/down" 300000
	# The target answers only after it has seen the end of the request.
	peer_listen recv_all="$T/target.got" send="$T/down" close
	fwd_start --forward "127.0.0.1:$PPORT"
	sock_bg "$T/req" "$T/client.got" "$T/err" 127.0.0.1 "$FPORT"
	sock_ok 10
	peer_ok
	fwd_exits 0
	same_file "$T/req" "$T/target.got"
	same_file "$T/down" "$T/client.got"
}

@test "a FIN from the target reaches the client as a half-close while the client still sends" {
	random_file "$T/up" 300000
	printf 'banner\n' >"$T/banner"
	# The target speaks first and ends its side; the client then sends.
	peer_listen send="$T/banner" shut_wr recv_all="$T/target.got"
	fwd_start --forward "127.0.0.1:$PPORT"
	peer_connect "$FPORT" recv_all="$T/client.got" send="$T/up" shut_wr
	peer_ok
	wait_exit "$FPID" 10
	[ "$EXIT_STATUS" -eq 0 ]
	same_file "$T/banner" "$T/client.got"
	wait_for 5 size_is "$T/target.got" 300000
	same_file "$T/up" "$T/target.got"
}

@test "a reset from the target reaches the client as a reset" {
	peer_listen recv_n=6 rst
	fwd_start --forward "127.0.0.1:$PPORT"
	open_feed "$T/cin"
	sock_bg "$T/cin" "$T/client.got" "$T/err" 127.0.0.1 "$FPORT"
	feed "$T/cin" "hello
"
	wait_exit "$SPID" 10
	[ "$EXIT_STATUS" -eq 1 ]
	grep -q "Connection reset by peer" "$T/err"
	fwd_exits 1
}

@test "a reset from the client reaches the target as a reset" {
	open_feed "$T/tin"
	sock_listen "$T/tin" "$T/target.got" "$T/target.err" 127.0.0.1 0
	local target=$LPID
	fwd_start --forward "127.0.0.1:$PORT"
	peer_connect "$FPORT" sendstr=hello sleep=0.3 rst
	peer_ok
	wait_exit "$target" 10
	[ "$EXIT_STATUS" -eq 1 ]
	grep -q "Connection reset by peer" "$T/target.err"
	fwd_exits 1
}

@test "an unreachable target closes the client with a reset and a -v line, and -k keeps serving" {
	local dead
	dead=$(free_port)
	fwd_start -k --forward "127.0.0.1:$dead"
	open_feed "$T/cin"
	sock_bg "$T/cin" "$T/out" "$T/err" 127.0.0.1 "$FPORT"
	wait_exit "$SPID" 10
	[ "$EXIT_STATUS" -eq 1 ]
	grep -q "Connection reset by peer" "$T/err"
	wait_for 5 grep -q "^sock: forward 127.0.0.1 port [0-9]* to 127.0.0.1 port $dead: Connection refused$" "$T/fwd.err"
	# And the next client is served (refused the same way) too.
	run -1 timeout 5 "$SOCK" 127.0.0.1 "$FPORT" </dev/null
	kill -0 "$FPID"
}

@test "without -k an unreachable target is exit 1 with a message" {
	fwd_start --forward "127.0.0.1:$(free_port)"
	run -1 timeout 5 "$SOCK" 127.0.0.1 "$FPORT" </dev/null
	fwd_exits 1
	grep -q "Connection refused" "$T/fwd.err"
}

@test "-w bounds the connect to a target that never answers: exit 3" {
	blackhole
	fwd_start -w 0.5 --forward "127.0.0.1:$BH_PORT"
	run -1 timeout 5 "$SOCK" 127.0.0.1 "$FPORT" </dev/null
	fwd_exits 3
	grep -qF "$(errtext ETIMEDOUT)" "$T/fwd.err"
}

@test "--wait retries the target until it is there" {
	local port
	port=$(free_port)
	fwd_start -v --wait 10 --forward "127.0.0.1:$port"
	printf 'late\n' >"$T/req"
	sock_bg "$T/req" "$T/client.got" "$T/err" 127.0.0.1 "$FPORT"
	# The forwarder is retrying; only then does the target come up.
	wait_for 5 grep -q "Connection refused; trying again" "$T/fwd.err"
	sock_listen /dev/null "$T/target.got" "$T/target.err" 127.0.0.1 "$port"
	sock_ok 15
	wait_exit "$LPID" 10
	fwd_exits 0
	same_file "$T/req" "$T/target.got"
}

@test "a Unix socket target" {
	random_file "$T/up" 1000000
	random_file "$T/down" 700000
	sock_listen_unix "$T/down" "$T/target.got" "$T/target.err" "$T/u.sock"
	local target=$LPID
	fwd_start --forward "unix:$T/u.sock"
	sock_bg "$T/up" "$T/client.got" "$T/err" 127.0.0.1 "$FPORT"
	sock_ok 10
	wait_exit "$target" 10
	[ "$EXIT_STATUS" -eq 0 ]
	fwd_exits 0
	same_file "$T/up" "$T/target.got"
	same_file "$T/down" "$T/client.got"
}

@test "an IPv6 target in brackets" {
	has_ipv6_loopback || skip "no ::1 here"
	printf 'six\n' >"$T/req"
	sock_listen /dev/null "$T/target.got" "$T/target.err" ::1 0
	fwd_start --forward "[::1]:$PORT"
	sock_bg "$T/req" "$T/client.got" "$T/err" 127.0.0.1 "$FPORT"
	sock_ok 10
	fwd_exits 0
	same_file "$T/req" "$T/target.got"
}

@test "the reverse tunnel: sock connects out and forwards that connection to the target" {
	random_file "$T/up" 2000000
	random_file "$T/down" 1500000
	# The far end (where the tunnel is used) and the local service.
	sock_listen "$T/up" "$T/far.got" "$T/far.err" 127.0.0.1 0
	local far=$LPID farport=$PORT
	sock_listen "$T/down" "$T/svc.got" "$T/svc.err" 127.0.0.1 0
	local svc=$LPID
	run -0 timeout 20 "$SOCK" -v 127.0.0.1 "$farport" --forward "127.0.0.1:$PORT"
	wait_exit "$far" 10
	[ "$EXIT_STATUS" -eq 0 ]
	wait_exit "$svc" 10
	[ "$EXIT_STATUS" -eq 0 ]
	same_file "$T/up" "$T/svc.got"
	same_file "$T/down" "$T/far.got"
}

@test "--forward conflicts are usage errors that name the options" {
	run -2 "$SOCK" -l 0 --forward 127.0.0.1:1 -e cat
	[[ "$output" == *"--forward cannot be used with -e"* ]]
	run -2 "$SOCK" -l 0 --forward 127.0.0.1:1 -c cat
	[[ "$output" == *"--forward cannot be used with -c"* ]]
	run -2 "$SOCK" -l 0 --forward 127.0.0.1:1 --broker
	[[ "$output" == *"--forward cannot be used with --broker"* ]]
	run -2 "$SOCK" -l 0 --forward 127.0.0.1:1 --chat
	[[ "$output" == *"--forward cannot be used with --chat"* ]]
	run -2 "$SOCK" -z 127.0.0.1 1 --forward 127.0.0.1:1
	[[ "$output" == *"--forward cannot be used with -z"* ]]
	run -2 "$SOCK" -u -l 0 --forward unix:/tmp/x
	[[ "$output" == *"a unix: --forward target cannot be used with -u: it forwards to a UDP port"* ]]
	run -2 "$SOCK" -l 0 --forward 127.0.0.1:1 --proxy-server
	[[ "$output" == *"--forward and --proxy-server cannot be used together"* ]]
	run -2 "$SOCK" -l 0 --forward 127.0.0.1:1 -q 1
	[[ "$output" == *"--forward cannot be used with -q: it relays two sockets, not stdin and stdout"* ]]
}

@test "a malformed --forward target is a usage error" {
	local bad
	for bad in "" host ":80" "host:" "::1:80" "[::1]80" "[::1]:" "unix:" \
	    "127.0.0.1:0" "127.0.0.1:99999" "127.0.0.1:nosuchservice"; do
		run -2 "$SOCK" -l 0 --forward "$bad"
		[[ "$output" == *"--forward"* || "$output" == *"port"* || "$output" == *"service"* ]]
	done
	run -2 "$SOCK" -n -l 0 --forward localhost:80
	[[ "$output" == *"-n requires a numeric address"* ]]
}

@test "a Unix listener forwards to a TCP target" {
	printf 'from unix\n' >"$T/req"
	sock_listen /dev/null "$T/target.got" "$T/target.err" 127.0.0.1 0
	"$SOCK" -v -l -U "$T/l.sock" --forward "127.0.0.1:$PORT" </dev/null \
	    2>"$T/fwd.err" 3>&- &
	FPID=$!
	PIDS+=("$FPID")
	wait_for 5 grep -q "^sock: listening on $T/l.sock (unix)$" "$T/fwd.err"
	run -0 timeout 5 "$SOCK" -U "$T/l.sock" <"$T/req"
	fwd_exits 0
	same_file "$T/req" "$T/target.got"
}

@test "--max-conns and --deny apply to the clients of a forwarder" {
	sock_listen /dev/null /dev/null "$T/echo.err" -k 127.0.0.1 0 -c cat
	fwd_start -k --max-conns 1 --forward "127.0.0.1:$PORT"
	# The first client holds the only place.
	open_feed "$T/c1"
	sock_bg "$T/c1" "$T/c1.got" "$T/c1.err" 127.0.0.1 "$FPORT"
	feed "$T/c1" "one
"
	wait_for 5 size_is "$T/c1.got" 4
	run -0 timeout 5 "$SOCK" -N 127.0.0.1 "$FPORT" </dev/null
	[ -z "$output" ]
	wait_for 5 grep -q "refused 127.0.0.1 port [0-9]*: already 1 clients (--max-conns)" "$T/fwd.err"
	kill "$FPID"
	fwd_start -k --deny 127.0.0.1 --forward "127.0.0.1:$PORT"
	run -0 timeout 5 "$SOCK" -N 127.0.0.1 "$FPORT" </dev/null
	wait_for 5 grep -q "refused 127.0.0.1 port [0-9]*: not allowed by --allow/--deny" "$T/fwd.err"
}

# ---------------------------------------------------------------- the way to the target

@test "a target name with two addresses, the first silent: Happy Eyeballs reaches the second in well under a second" {
	local start ms
	need_dual_name
	sock_listen /dev/null "$T/target.got" "$T/target.err" "$DUAL_SECOND" 0
	silent "$PORT" "$DUAL_FIRST"
	LAUNCH=("${DUAL_RUN[@]}")
	sock_server FPORT FPID /dev/null /dev/null "$T/fwd.err" \
	    -v 127.0.0.1 0 --forward "$DUAL:$PORT"
	printf 'eyeballs\n' >"$T/req"
	start=$(now_ms)
	sock_bg "$T/req" "$T/client.got" "$T/err" 127.0.0.1 "$FPORT"
	wait_for 5 size_is "$T/target.got" 9
	ms=$(( $(now_ms) - start ))
	sock_ok 10
	fwd_exits 0
	same_file "$T/req" "$T/target.got"
	grep -q "^sock: trying $DUAL_FIRST port $PORT for 127.0.0.1 port [0-9]*$" "$T/fwd.err"
	grep -q "^sock: trying $DUAL_SECOND port $PORT for 127.0.0.1 port [0-9]*$" "$T/fwd.err"
	echo "reached the target in $ms ms" >&2
	[ "$ms" -ge 250 ]
	[ "$ms" -lt 1000 ]
}

@test "-x: the target is reached through a SOCKS5 proxy, which resolves its name" {
	proxy_peer px socks5
	printf 'through the proxy\n' >"$T/req"
	sock_listen /dev/null "$T/target.got" "$T/target.err" 127.0.0.1 0
	fwd_start --forward "localhost:$PORT" -x "127.0.0.1:$PX"
	sock_bg "$T/req" "$T/client.got" "$T/err" 127.0.0.1 "$FPORT"
	sock_ok 10
	fwd_exits 0
	same_file "$T/req" "$T/target.got"
	# The name went to the proxy as a name (ATYP 3), not resolved here.
	grep -qx "socks5 methods=00 atyp=3 host=localhost port=$PORT" "$T/px.log"
}

@test "-x: a proxy that never answers one client stalls only that pair" {
	proxy_peer px socks5 stall=1
	sock_listen /dev/null "$T/target.got" "$T/target.err" 127.0.0.1 0
	fwd_start -k --forward "127.0.0.1:$PORT" -x "127.0.0.1:$PX"
	# The first client's tunnel hangs in the proxy ...
	sock_bg /dev/null /dev/null "$T/stuck.err" 127.0.0.1 "$FPORT"
	local stuck=$SPID
	wait_for 5 grep -qx stalled "$T/px.log"
	# ... while the second is relayed.
	printf 'second\n' >"$T/req"
	sock_bg "$T/req" "$T/client.got" "$T/err" 127.0.0.1 "$FPORT"
	sock_ok 10
	same_file "$T/req" "$T/target.got"
	kill -0 "$stuck"
}

@test "-x: a proxy that refuses closes the client with a message naming the proxy" {
	proxy_peer px socks5 refuse=2
	fwd_start --forward "127.0.0.1:9" -x "127.0.0.1:$PX"
	run timeout 5 "$SOCK" 127.0.0.1 "$FPORT" </dev/null
	fwd_exits 1
	grep -q "^sock: forward 127.0.0.1 port [0-9]* to 127.0.0.1 port 9: proxy 127.0.0.1 port $PX: connection not allowed by ruleset$" "$T/fwd.err"
}

@test "-x with a forwarder: usage errors" {
	run -2 "$SOCK" -l 0 -x 127.0.0.1:1080 </dev/null
	[[ "$output" == *"-x cannot be used with -l (except with --forward or --proxy-server)"* ]]
	run -2 "$SOCK" -l 0 --forward "unix:$T/u.sock" -x 127.0.0.1:1080 </dev/null
	[[ "$output" == *"-x cannot be used with a unix: --forward target"* ]]
}
