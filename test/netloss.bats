#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Loss and resets on a real network path: SPEC.md "The relay" rules 1, 4,
# 5, 6 and 9 when packets are lost. Two network namespaces of the test's
# own, joined by a veth pair (test/netns.bash), with iptables' statistic
# match dropping a share of the packets (the kernel here has no netem) and
# REJECT --reject-with tcp-reset cutting a connection mid-stream.
#
#   - 16 MB uploads and downloads under 5 % loss (every packet, both ways)
#     and 20 % loss (every data segment, both ways; pure ACKs pass: with
#     20 % of the ACKs lost too, one 16 MB transfer takes 30 s to minutes
#     here, too long for the suite) arrive intact and every side exits 0:
#     sock to sock, and sock beside nc.openbsd and socat, in both roles;
#   - under loss of every 5th TCP segment after the handshake, both ways
#     (the nth match: these flows are a few dozen small segments, too few
#     for a random share to be sure of hitting them), -w 2 with steady
#     traffic does not time out, a session that stalls after its lines
#     does (exit 3); -q 1 waits for the last byte received; with every 5th
#     datagram lost, the UDP quiet timer stays open while datagrams come
#     and quits a second after;
#   - a reset injected mid-transfer, either way, on the splice and the
#     read/write paths, is exit 1 with a message on the side that sees it,
#     and never exit 0 on the other side (its -w ends it, exit 3).
#
# Every test asserts from the iptables counters that its rules dropped (or
# reset) packets: at least a stated number, far below the expected count.
#
# Needs root (ip netns, iptables): skips elsewhere, fails in CI (CI=true).
# Inside the private namespaces nothing else listens, so nc and socat get
# fixed ports there; sock listens on port 0 and says which.
#
# Each @test body runs in a subshell (SC2030/SC2031); run sets status and
# output, and helper.bash sets PORT and LPID (SC2154/SC2153).
# shellcheck disable=SC2030,SC2031,SC2153,SC2154

load helper
load netns
bats_require_minimum_version 1.5.0

SIZE=16777216

setup_file() {
	NETNS_SKIP=$(netns_reason)
	export NETNS_SKIP
	if [ -z "$NETNS_SKIP" ]; then
		netns_up
	fi
	head -c "$SIZE" /dev/urandom >"$BATS_FILE_TMPDIR/in16"
}

teardown_file() {
	netns_down
}

setup() {
	common_setup
	need_netns
	rules_clear
}

teardown() {
	common_teardown
	[ -z "${NS_A:-}" ] || rules_clear
}

IN16=$BATS_FILE_TMPDIR/in16

# ns_listen NS IN OUT ERR ARGS...: sock_listen inside NS ("sock -v -l
# ARGS"); sets PORT and LPID.
ns_listen() {
	local ns=$1 in=$2 out=$3 err=$4
	shift 4
	ip netns exec "$ns" "$SOCK" -v -l "$@" <"$in" >"$out" 2>"$err" 3>&- &
	LPID=$!
	PIDS+=("$LPID")
	wait_for 5 has_port_line "$err" || { cat "$err" >&2; return 1; }
	PORT=$(port_from "$err")
}

# ns_bg NS IN OUT ERR CMD...: run CMD inside NS in the background; sets
# BG_PID.
ns_bg() {
	local ns=$1 in=$2 out=$3 err=$4
	shift 4
	ip netns exec "$ns" "$@" <"$in" >"$out" 2>"$err" 3>&- &
	BG_PID=$!
	PIDS+=("$BG_PID")
}

# ns_listening NS PORT: something listens on TCP PORT in NS.
ns_listening() {
	in_ns "$1" ss -Hltn "sport = :$2" | grep -q .
}

# exits_ok PID SECS ERRFILE: PID exits 0 within SECS, else show ERRFILE.
exits_ok() {
	wait_exit "$1" "$2" || { cat "$3" >&2; return 1; }
	if [ "$EXIT_STATUS" -ne 0 ]; then
		echo "exit $EXIT_STATUS" >&2
		cat "$3" >&2
		return 1
	fi
}

# lossy PERCENT: drop PERCENT % of the packets both ways, at random: at
# 5 %, every packet; above, data segments only (longer than 200 bytes; a
# pure ACK, even with SACK blocks, is shorter).
lossy() {
	if [ "$1" -le 5 ]; then
		drop "$NS_A" "$1"
		drop "$NS_B" "$1"
	else
		drop "$NS_A" "$1" -m length --length 200:65535
		drop "$NS_B" "$1" -m length --length 200:65535
	fi
	LOSS=$1
}

# lossy_small: drop every 5th TCP segment after the handshake (SYN clear:
# a lost SYN would cost a 1 s retransmission, longer than the timers
# tested), whatever its length, both ways: 20 % of the segments of flows
# that carry lines of a few bytes.
lossy_small() {
	drop_every "$NS_A" 5 -p tcp --tcp-flags SYN NONE
	drop_every "$NS_B" 5 -p tcp --tcp-flags SYN NONE
	LOSS=20
}

# lost_16m: the least number of packets a 16 MB transfer must have lost:
# it is over 11,000 segments of 1448 bytes, so 5 % of them is about 580,
# 20 % about 2300 (and their retransmissions are lost as often); the
# minimum is under half of that. At 5 % the ACKs, about 3500, lose some
# 170: at least 50 in each namespace.
lost_16m() {
	if [ "$LOSS" -le 5 ]; then
		lost_at_least 250 50
	else
		lost_at_least 1000
	fi
}

# sock_sock DIRECTION: a 16 MB transfer between two socks, client in A,
# listener in B; both exit 0 and the file is intact.
sock_sock() {
	local cin=$IN16 cout=/dev/null lin=/dev/null lout=$T/out
	if [ "$1" = down ]; then
		cin=/dev/null cout=$T/out lin=$IN16 lout=/dev/null
	fi
	counters_zero
	ns_listen "$NS_B" "$lin" "$lout" "$T/lerr" "$NS_B_ADDR" 0
	ns_bg "$NS_A" "$cin" "$cout" "$T/cerr" "$SOCK" "$NS_B_ADDR" "$PORT"
	exits_ok "$BG_PID" 60 "$T/cerr"
	exits_ok "$LPID" 10 "$T/lerr"
	lost_16m
	same_file "$IN16" "$T/out"
}

# with_nc DIRECTION: sock connects from A to nc.openbsd listening in B:
# up, sock sends the file; down, "nc -N -l < file" sends it (SPEC rule 8).
with_nc() {
	local npid
	need nc.openbsd
	counters_zero
	if [ "$1" = up ]; then
		ns_bg "$NS_B" /dev/null "$T/out" "$T/nerr" nc.openbsd -n -l "$NS_B_ADDR" 9190
	else
		ns_bg "$NS_B" "$IN16" /dev/null "$T/nerr" nc.openbsd -n -N -l "$NS_B_ADDR" 9190
	fi
	npid=$BG_PID
	wait_for 5 ns_listening "$NS_B" 9190
	if [ "$1" = up ]; then
		ns_bg "$NS_A" "$IN16" /dev/null "$T/cerr" "$SOCK" "$NS_B_ADDR" 9190
	else
		ns_bg "$NS_A" /dev/null "$T/out" "$T/cerr" "$SOCK" "$NS_B_ADDR" 9190
	fi
	exits_ok "$BG_PID" 60 "$T/cerr"
	exits_ok "$npid" 10 "$T/nerr"
	lost_16m
	same_file "$IN16" "$T/out"
}

# with_socat DIRECTION: socat connects from A to a sock listener in B:
# up, socat -u sends the file; down, socat -u receives it.
with_socat() {
	need socat
	counters_zero
	if [ "$1" = up ]; then
		ns_listen "$NS_B" /dev/null "$T/out" "$T/lerr" "$NS_B_ADDR" 0
		ns_bg "$NS_A" /dev/null /dev/null "$T/serr" socat -u \
		    "OPEN:$IN16,rdonly" "TCP:$NS_B_ADDR:$PORT"
	else
		ns_listen "$NS_B" "$IN16" /dev/null "$T/lerr" "$NS_B_ADDR" 0
		ns_bg "$NS_A" /dev/null "$T/out" "$T/serr" socat -u \
		    "TCP:$NS_B_ADDR:$PORT" STDOUT
	fi
	exits_ok "$BG_PID" 60 "$T/serr"
	exits_ok "$LPID" 10 "$T/lerr"
	lost_16m
	same_file "$IN16" "$T/out"
}

@test "5 % loss: a 16 MB upload from sock to sock arrives intact, both exit 0" {
	lossy 5
	sock_sock up
}

@test "5 % loss: a 16 MB download from sock to sock arrives intact, both exit 0" {
	lossy 5
	sock_sock down
}

@test "5 % loss: 16 MB from sock to nc.openbsd -l, and from nc.openbsd -N -l to sock, intact, exit 0" {
	lossy 5
	with_nc up
	rm -f "$T/out"
	with_nc down
}

@test "5 % loss: 16 MB from socat to a sock listener, and from it to socat, intact, exit 0" {
	lossy 5
	with_socat up
	rm -f "$T/out"
	with_socat down
}

@test "20 % loss: a 16 MB upload from sock to sock arrives intact, both exit 0" {
	lossy 20
	sock_sock up
}

@test "20 % loss: a 16 MB download from sock to sock arrives intact, both exit 0" {
	lossy 20
	sock_sock down
}

@test "20 % loss: 16 MB from sock to nc.openbsd -l, and from nc.openbsd -N -l to sock, intact, exit 0" {
	lossy 20
	with_nc up
	rm -f "$T/out"
	with_nc down
}

@test "20 % loss: 16 MB from socat to a sock listener, and from it to socat, intact, exit 0" {
	lossy 20
	with_socat up
	rm -f "$T/out"
	with_socat down
}

@test "20 % loss (every 5th segment): -w 2 with a line every 0.1 s for 4 s does not time out; exit 0, every line" {
	lossy_small
	hold_fifo "$T/feed"
	ns_listen "$NS_B" /dev/null "$T/out" "$T/lerr" "$NS_B_ADDR" 0
	# shellcheck disable=SC2016 # expanded by the inner shell
	bg sh -c 'exec python3 "$0" pace 40 0.1 >"$1"' "$PEER_PY" "$T/feed"
	ns_bg "$NS_A" "$T/feed" /dev/null "$T/cerr" "$SOCK" -w 2 "$NS_B_ADDR" "$PORT"
	exits_ok "$BG_PID" 20 "$T/cerr"
	exits_ok "$LPID" 10 "$T/lerr"
	[ "$(wc -l <"$T/out")" -eq 40 ]
	[ "$(tail -n 1 "$T/out")" = "line 40" ]
	# 40 lines one way and their ACKs the other: 8 + 8 lost at least
	# (fewer ACKs if some are delayed and merged).
	lost_at_least 12 4
}

@test "20 % loss (every 5th segment): -w 2 on a session that stalls after 20 lines ends it 2 to 5 s after the last, exit 3 and a message" {
	local start last
	lossy_small
	hold_fifo "$T/feed"
	ns_listen "$NS_B" /dev/null "$T/out" "$T/lerr" "$NS_B_ADDR" 0
	start=$(date +%s%N)
	# 20 lines over 0.95 s, then the feed stays open and silent.
	# shellcheck disable=SC2016 # expanded by the inner shell
	bg sh -c 'exec python3 "$0" pace 20 0.05 30 >"$1"' "$PEER_PY" "$T/feed"
	ns_bg "$NS_A" "$T/feed" /dev/null "$T/cerr" "$SOCK" -w 2 "$NS_B_ADDR" "$PORT"
	wait_for 10 has_text "$T/out" "line 20"
	last=$(date +%s%N)
	wait_exit "$BG_PID" 10
	[ "$EXIT_STATUS" -eq 3 ] || { cat "$T/cerr" >&2; return 1; }
	echo "exit after $(elapsed_ms "$start") ms, $(elapsed_ms "$last") ms after the last line arrived" >&2
	# The last line left the feed 0.95 s after start at the earliest, and
	# the client sent it once it had read it: 2 s idle after that.
	[ "$(elapsed_ms "$start")" -ge 2900 ]
	[ "$(elapsed_ms "$last")" -lt 5000 ]
	grep -q "^sock: connection to $NS_B_ADDR port $PORT: idle timeout after 2 s$" "$T/cerr"
	# 20 lines one way and their ACKs the other.
	lost_at_least 6 2
}

@test "20 % loss (every 5th segment): -q 1 keeps receiving while lines come 0.2 s apart, then quits, exit 0, every line" {
	local start
	lossy_small
	hold_fifo "$T/feed"
	# The listener's stdin stays open after the last line: no FIN comes,
	# only -q ends the client.
	start=$(date +%s%N)
	# shellcheck disable=SC2016 # expanded by the inner shell
	bg sh -c 'exec python3 "$0" pace 15 0.2 30 >"$1"' "$PEER_PY" "$T/feed"
	ns_listen "$NS_B" "$T/feed" /dev/null "$T/lerr" "$NS_B_ADDR" 0
	# The client's stdin ends once the first line has come: the -q timer
	# starts at that end, and the test is about the lines after it.
	open_feed "$T/cin"
	ns_bg "$NS_A" "$T/cin" "$T/out" "$T/cerr" "$SOCK" -q 1 "$NS_B_ADDR" "$PORT"
	wait_for 10 has_text "$T/out" "line 1"
	end_feed "$T/cin"
	exits_ok "$BG_PID" 15 "$T/cerr"
	echo "client ended after $(elapsed_ms "$start") ms with $(wc -l <"$T/out") lines" >&2
	# 15 lines over 2.8 s from start at the earliest, then one quiet
	# second.
	[ "$(elapsed_ms "$start")" -ge 3800 ]
	[ "$(wc -l <"$T/out")" -eq 15 ]
	[ "$(tail -n 1 "$T/out")" = "line 15" ]
	# 15 lines one way and their ACKs the other.
	lost_at_least 5 2
}

@test "20 % loss of datagrams (every 5th): the UDP quiet timer stays open while they come and quits 1 s after, exit 0" {
	local start ms a
	# Only what arrives in A is lost: the client's first datagram must get
	# through, or the listener never has a peer.
	drop_every "$NS_A" 5 -p udp
	hold_fifo "$T/feed"
	# shellcheck disable=SC2016 # expanded by the inner shell
	bg sh -c 'exec python3 "$0" pace 30 0.1 30 >"$1"' "$PEER_PY" "$T/feed"
	ns_listen "$NS_B" "$T/feed" /dev/null "$T/lerr" -u "$NS_B_ADDR" 0
	printf 'hello\n' >"$T/hello"
	start=$(date +%s%N)
	ns_bg "$NS_A" "$T/hello" "$T/out" "$T/cerr" "$SOCK" -u "$NS_B_ADDR" "$PORT"
	exits_ok "$BG_PID" 15 "$T/cerr"
	ms=$(elapsed_ms "$start")
	a=$(dropped "$NS_A")
	echo "client ended after $ms ms with $(wc -l <"$T/out") of 30 lines; $a dropped" >&2
	# 30 datagrams over 2.9 s (the first few may come at once), then 1 s.
	[ "$ms" -ge 3000 ]
	[ "$ms" -lt 7000 ]
	# The rule dropped the 5th, 10th, ... datagram: 6 of 30, or 5 when the
	# first lines, written before the client came, went out as one; each
	# dropped datagram held a line at least, and each line that came is
	# whole.
	[ "$a" -ge 5 ]
	[ "$(wc -l <"$T/out")" -le $((30 - a)) ]
	[ "$(wc -l <"$T/out")" -ge 20 ]
	run -1 grep -Evx 'line [0-9]+' "$T/out"
}

size_at_least() {
	[ -f "$1" ] && [ "$(wc -c <"$1")" -ge "$2" ]
}

# mid_reset DIRECTION SPLICE: once 1 MiB of a paced 16 MB transfer has
# arrived, every TCP segment reaching the receiver's namespace is answered
# with a reset: the sender sees it (exit 1, "Connection reset by peer" or
# "Broken pipe"); the receiver never hears of it, and its -w 3 ends it
# (exit 3). Nobody exits 0, and the receiver's output is a prefix.
mid_reset() {
	local spid rpid serr rerr sns rns
	if [ "$2" = nosplice ]; then
		export SOCK_NOSPLICE=1
	fi
	hold_fifo "$T/feed"
	# shellcheck disable=SC2016 # expanded by the inner shell
	bg sh -c 'exec python3 "$0" feed "$1" >"$2"' "$PEER_PY" "$IN16" "$T/feed"
	if [ "$1" = up ]; then
		ns_listen "$NS_B" /dev/null "$T/out" "$T/rerr" -w 3 "$NS_B_ADDR" 0
		rpid=$LPID rns=$NS_B
		ns_bg "$NS_A" "$T/feed" /dev/null "$T/serr" "$SOCK" "$NS_B_ADDR" "$PORT"
		spid=$BG_PID
	else
		ns_listen "$NS_B" "$T/feed" /dev/null "$T/serr" "$NS_B_ADDR" 0
		spid=$LPID
		ns_bg "$NS_A" /dev/null "$T/out" "$T/rerr" "$SOCK" -w 3 "$NS_B_ADDR" "$PORT"
		rpid=$BG_PID rns=$NS_A
	fi
	wait_for 10 size_at_least "$T/out" 1048576
	cut_tcp "$rns"
	wait_exit "$spid" 10
	serr=$(cat "$T/serr")
	echo "sender: exit $EXIT_STATUS: $serr" >&2
	[ "$EXIT_STATUS" -eq 1 ]
	# The rule answered the sender's segments with resets.
	lost_at_least 1
	[[ $serr =~ sock:\ (write\ to|read\ from)\ 10\.231\.0\.[12]\ port\ [0-9]+:\ (Connection\ reset\ by\ peer|Broken\ pipe) ]]
	wait_exit "$rpid" 10
	rerr=$(cat "$T/rerr")
	echo "receiver: exit $EXIT_STATUS: $rerr; $(wc -c <"$T/out") bytes" >&2
	[ "$EXIT_STATUS" -eq 3 ]
	[[ $rerr == *"idle timeout after 3 s"* ]]
	cmp "$T/out" <(head -c "$(wc -c <"$T/out")" "$IN16")
	[ "$(wc -c <"$T/out")" -lt "$SIZE" ]
}

@test "a reset injected mid-upload: the sender exits 1 with a message, the receiver never exits 0 (splice)" {
	mid_reset up splice
}

@test "a reset injected mid-upload: the sender exits 1 with a message, the receiver never exits 0 (read/write)" {
	mid_reset up nosplice
}

@test "a reset injected mid-download: the sender exits 1 with a message, the receiver never exits 0 (splice)" {
	mid_reset down splice
}

@test "a reset injected mid-download: the sender exits 1 with a message, the receiver never exits 0 (read/write)" {
	mid_reset down nosplice
}
