#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Ten thousand connections (sock(1), "Many connections"): the
# modes that serve many clients at once (-k, --broker, --forward,
# --proxy-server) hold thousands of them with no FD_SETSIZE ceiling, as
# many as the descriptor limit serves (sock raises its soft limit to the
# hard one), and give every descriptor back once they leave; --max-conns
# caps them and is checked against that limit; a server out of
# descriptors closes the extra clients at once and never spins; one slow
# reader stalls only itself, and idle pairs hold no pipe. The clients and
# the echo target are python (peer.py mass, max-conns, no-fds,
# echo-server: non-blocking sockets on epoll, each raising its own
# descriptor limit). Each test that serves clients prints the peak RSS
# (VmHWM) of the sock it ran.
#
# SOCK_MANY=N runs the big tests with N clients instead of 9,000, 10,000
# and 1,000 (as against a build that cannot hold more).
#
# Each @test body runs in a subshell (SC2030/SC2031); run sets status and
# output, and helper.bash sets T, PORT and LPID (SC2153/SC2154).
# shellcheck disable=SC2030,SC2031,SC2153,SC2154

load helper
bats_require_minimum_version 1.5.0

FORWARD_N=${SOCK_MANY:-9000}
KEEP_N=${SOCK_MANY:-10000}
BUSY_N=${SOCK_MANY:-1000}
# What sock keeps for itself besides its clients' descriptors (its
# listener, stdio, the spare descriptor, pipes of busy pairs): the
# --forward default is about (limit - 96) / 2 pairs. (The python peers
# need their sockets and a few dozen more: never more than sock.)
SOCK_RESERVE=96

# need_fds N WHAT: skip the test unless the hard descriptor limit, which
# sock and the python peers raise their soft limits to, is N or more.
need_fds() {
	local hard
	hard=$(ulimit -Hn)
	if [ "$hard" != unlimited ] && [ "$hard" -lt "$1" ]; then
		# As need does: CI's machine has what the tests need.
		if [ "${CI:-}" = true ]; then
			echo "$2 needs $1 descriptors; the hard limit (ulimit -Hn) is $hard" >&2
			return 1
		fi
		skip "$2 needs $1 descriptors; the hard limit (ulimit -Hn) is $hard"
	fi
}

# echo_server: start peer.py echo-server on 127.0.0.1; sets EPORT.
echo_server() {
	rm -f "$T/eport"
	bg python3 "$PEER_PY" echo-server "$T/eport" 2>"$T/echo.err"
	wait_for 10 test -s "$T/eport"
	EPORT=$(cat "$T/eport")
}

# peak_rss PID CONNS: print the peak RSS (VmHWM) of sock PID, which is
# still running, for CONNS connections, on fd 3 (bats shows it).
peak_rss() {
	local kb
	kb=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB$/\1/p' "/proc/$1/status")
	if [ -z "$kb" ]; then
		echo "sock ($1) has exited: no peak RSS to read" >&2
		return 1
	fi
	printf '# peak RSS of sock: %d kB for %d connections (%s kB each)\n' \
	    "$kb" "$2" "$(awk -v kb="$kb" -v n="$2" 'BEGIN { printf "%.1f", kb / n }')" >&3
}

# peer_run SECS SUBCOMMAND ARGS...: run peer.py SUBCOMMAND for at most
# SECS; its summary goes to fd 3, and with its failure to stderr.
peer_run() {
	local secs=$1
	shift
	run timeout "$secs" python3 "$PEER_PY" "$@"
	# shellcheck disable=SC2001 # one prefix per line
	sed 's/^/# /' <<<"$output" >&3
	if [ "$status" -ne 0 ]; then
		echo "peer.py $1 exited $status: $output" >&2
		return 1
	fi
}

# fd_count PID: how many descriptors process PID holds.
fd_count() {
	local fds=("/proc/$1/fd/"*)
	echo "${#fds[@]}"
}

# fds_at_most PID N: process PID holds N descriptors or fewer.
fds_at_most() {
	[ "$(fd_count "$1")" -le "$2" ]
}

# all_let_go PID N: once its clients have left, sock (PID) comes back to
# the N descriptors it held before they came, within 30 s.
all_let_go() {
	wait_for 30 fds_at_most "$1" "$2" ||
	    { echo "sock still holds $(fd_count "$1") descriptors, $2 before its clients" >&2; return 1; }
}

# has_tunnels ERR N SIZE: sock's -v stderr ERR has N lines (or more) of
# tunnels that carried SIZE bytes each way, said as pairs end;
# tunnels_said waits 30 s for them.
has_tunnels() {
	[ "$(grep -c "^sock: tunnel 127\.0\.0\.1 port [0-9]* to 127\.0\.0\.1 port [0-9]*: $3 bytes up, $3 bytes down$" "$1")" -ge "$2" ]
}
tunnels_said() {
	wait_for 30 has_tunnels "$@" ||
	    { echo "$(grep -c '^sock: tunnel' "$1") tunnel lines in $1, not $2 of $3 bytes each way" >&2; return 1; }
}

# served_alive ERR: sock (LPID) is still running and refused nobody (its
# -v stderr ERR).
served_alive() {
	kill -0 "$LPID"
	run -1 grep -m 3 'refused' "$1"
}

@test "--forward: $FORWARD_N clients connected at once, each echoes its own 1 KiB through its own pair" {
	need python3
	need_fds $((2 * FORWARD_N + SOCK_RESERVE)) "sock with $FORWARD_N pairs"
	echo_server
	sock_listen /dev/null /dev/null "$T/err" -k 127.0.0.1 0 \
	    --forward "127.0.0.1:$EPORT"
	local before
	before=$(fd_count "$LPID")
	peer_run 120 mass "$PORT" "$FORWARD_N" echo size=1024 fds="$LPID"
	peak_rss "$LPID" "$FORWARD_N"
	# All closed: every pair ends, said, and gives its descriptors back.
	tunnels_said "$T/err" "$FORWARD_N" 1024
	all_let_go "$LPID" "$before"
	served_alive "$T/err"
}

# proxy_tunnels socks5|http: FORWARD_N tunnels at once through a
# --proxy-server (SOCKS5 CONNECT, or HTTP CONNECT: a 200 head first), each
# echoing its own 1 KiB; every tunnel said, every descriptor given back.
proxy_tunnels() {
	need python3
	need_fds $((2 * FORWARD_N + SOCK_RESERVE)) "sock with $FORWARD_N tunnels"
	echo_server
	sock_listen /dev/null /dev/null "$T/err" -k 127.0.0.1 0 --proxy-server
	local before
	before=$(fd_count "$LPID")
	peer_run 120 mass "$PORT" "$FORWARD_N" echo size=1024 proxy="$1" \
	    target="$EPORT" fds="$LPID"
	peak_rss "$LPID" "$FORWARD_N"
	tunnels_said "$T/err" "$FORWARD_N" 1024
	all_let_go "$LPID" "$before"
	served_alive "$T/err"
}

@test "--proxy-server, SOCKS5: $FORWARD_N tunnels at once, each echoes its own 1 KiB" {
	proxy_tunnels socks5
}

@test "--proxy-server, HTTP CONNECT: $FORWARD_N tunnels at once, each a 200 head and then its own 1 KiB echoed" {
	proxy_tunnels http
}

@test "-k --max-conns $KEEP_N: $KEEP_N clients held at once, each one's line on stdout" {
	need python3
	need_fds $((KEEP_N + SOCK_RESERVE)) "sock with $KEEP_N clients"
	# stdin stays open and silent: sock sends its clients nothing, not
	# even a FIN.
	open_feed "$T/in"
	sock_listen "$T/in" "$T/out" "$T/err" -k --max-conns "$KEEP_N" 127.0.0.1 0
	local before
	before=$(fd_count "$LPID")
	peer_run 120 mass "$PORT" "$KEEP_N" lines out="$T/out"
	peak_rss "$LPID" "$KEEP_N"
	[ "$(wc -l <"$T/out")" -eq "$KEEP_N" ]
	# A client gone (its FIN) stays for what stdin may say until stdin
	# ends; then sock lets them all go, and listens on.
	end_feed "$T/in"
	all_let_go "$LPID" "$before"
	served_alive "$T/err"
}

@test "--broker --max-conns $KEEP_N: $KEEP_N clients at once, one line from one reaches every other" {
	need python3
	need_fds $((KEEP_N + SOCK_RESERVE)) "sock with $KEEP_N clients"
	sock_listen /dev/null /dev/null "$T/err" --broker --max-conns "$KEEP_N" \
	    127.0.0.1 0
	local before
	before=$(fd_count "$LPID")
	peer_run 120 mass "$PORT" "$KEEP_N" broadcast err="$T/err"
	peak_rss "$LPID" "$KEEP_N"
	all_let_go "$LPID" "$before"
	served_alive "$T/err"
}

# capped_said ERR N: sock's -v stderr ERR says it refused a client for
# --max-conns N.
capped_said() {
	grep -q "^sock: refused 127\.0\.0\.1 port [0-9]*: already $2 clients (--max-conns)$" "$1" ||
	    { echo "no --max-conns refusal in $1:" >&2; tail -n 5 "$1" >&2; return 1; }
}

@test "--max-conns 50, --forward and -k: 50 held, the 51st closed at once with nothing relayed, the 50 still served, a slot freed is taken" {
	need python3
	echo_server
	sock_listen /dev/null /dev/null "$T/fwd.err" -k --max-conns 50 127.0.0.1 0 \
	    --forward "127.0.0.1:$EPORT"
	peer_run 60 max-conns "$PORT" 50
	capped_said "$T/fwd.err" 50
	peak_rss "$LPID" 50
	kill -0 "$LPID"

	open_feed "$T/in"
	sock_listen "$T/in" "$T/out" "$T/k.err" -k --max-conns 50 127.0.0.1 0
	peer_run 60 max-conns "$PORT" 50 "$T/out"
	capped_said "$T/k.err" 50
	peak_rss "$LPID" 50
	kill -0 "$LPID"
}

# served_count: the clients peer.py no-fds had served at once (its
# output, the N of "N served, ...").
served_count() {
	sed -n 's/^\([0-9][0-9]*\) served, .*/\1/p' <<<"$output"
}

@test "out of descriptors (ulimit -n 64), -k --forward: extra clients are closed at once, no spinning, pairs go on, serving resumes" {
	local fpid line
	need python3
	echo_server
	# Only sock runs under the low limit (set in the shell it replaces).
	# shellcheck disable=SC2016 # for that shell
	LAUNCH=(sh -c 'ulimit -n 64 && exec "$0" "$@"')
	sock_listen /dev/null /dev/null "$T/err" -k 127.0.0.1 0 \
	    --forward "127.0.0.1:$EPORT"
	fpid=$LPID
	LAUNCH=()
	[ "$(sed -n 's/^Max open files *\([0-9]*\) .*/\1/p' "/proc/$fpid/limits")" -eq 64 ]
	# As many as it says it takes are served; the rest are closed.
	line=$(grep '^sock: up to ' "$T/err")
	[[ "$line" =~ ^sock:\ up\ to\ ([0-9]+)\ connections\ at\ once\ \(descriptor\ limit\ 64\)$ ]]
	peer_run 60 no-fds "$PORT" "$fpid" served="${BASH_REMATCH[1]}"
	grep -Eq "^sock: refused 127\.0\.0\.1 port [0-9]+: (out of descriptors \(descriptor limit 64\)|already [0-9]+ clients \(--max-conns\))$" "$T/err" ||
	    { echo "no refusal line in $T/err:" >&2; tail -n 5 "$T/err" >&2; return 1; }
	grep -m 1 '^sock: refused' "$T/err" | sed 's/^/# first refusal: /' >&3
	peak_rss "$fpid" "$(served_count)"
	kill -0 "$fpid"
}

# refused_for_fds ERR: sock's -v stderr ERR says it refused a client for
# want of descriptors (naming a limit: the one it started with, or the one
# it has now).
refused_for_fds() {
	grep -Eq "^sock: refused 127\.0\.0\.1 port [0-9]+: out of descriptors \(descriptor limit [0-9]+\)$" "$1" ||
	    { echo "no out-of-descriptors refusal in $1:" >&2; tail -n 5 "$1" >&2; return 1; }
	grep -m 1 'out of descriptors' "$1" | sed 's/^/# first refusal: /' >&3
}

@test "descriptors run out under a running -k server (prlimit lowers its limit to 64): extra clients closed at once, no spinning, the held go on, serving resumes" {
	need python3 prlimit
	open_feed "$T/in"
	sock_listen "$T/in" "$T/out" "$T/err" -k 127.0.0.1 0
	prlimit --pid "$LPID" --nofile=64:64
	peer_run 60 no-fds "$PORT" "$LPID" out="$T/out"
	refused_for_fds "$T/err"
	peak_rss "$LPID" "$(served_count)"
	kill -0 "$LPID"
}

@test "descriptors run out under a running forwarder (prlimit lowers its limit to 64): extra clients closed at once, no spinning, pairs go on, serving resumes" {
	need python3 prlimit
	echo_server
	sock_listen /dev/null /dev/null "$T/err" -k 127.0.0.1 0 \
	    --forward "127.0.0.1:$EPORT"
	prlimit --pid "$LPID" --nofile=64:64
	peer_run 60 no-fds "$PORT" "$LPID"
	# A pair takes two descriptors: the last one free may go to a client
	# whose target then cannot have one, closed all the same and said in
	# the same words, whatever the libc calls EMFILE.
	grep -q 'out of descriptors' "$T/err" ||
	    { echo "no word of descriptors running out in $T/err:" >&2; tail -n 5 "$T/err" >&2; return 1; }
	grep -m 1 'out of descriptors' "$T/err" | sed 's/^/# first refusal: /' >&3
	peak_rss "$LPID" "$(served_count)"
	kill -0 "$LPID"
}

@test "--max-conns beyond what the descriptor limit serves is a usage error naming the limit" {
	local hard n
	hard=$(ulimit -Hn)
	[ "$hard" != unlimited ] || skip "no hard descriptor limit"
	# 100,000, or where the hard limit is higher, the limit itself: the
	# clients' descriptors and sock's own cannot all fit.
	n=$((hard > 100000 ? hard : 100000))
	run -2 --separate-stderr "$SOCK" -l -k 127.0.0.1 0 --max-conns "$n"
	[[ "${stderr_lines[0]}" == "sock: --max-conns"*"descriptor limit"*"$hard"* ]]
	run -2 --separate-stderr "$SOCK" -l -k 127.0.0.1 0 --max-conns "$n" \
	    --forward 127.0.0.1:9
	[[ "${stderr_lines[0]}" == "sock: --max-conns"*"descriptor limit"*"$hard"* ]]
	run -2 --separate-stderr "$SOCK" -l --broker 127.0.0.1 0 --max-conns "$n"
	[[ "${stderr_lines[0]}" == "sock: --max-conns"*"descriptor limit"*"$hard"* ]]
}

@test "sock raises its soft descriptor limit to the hard one: 1000 clients of -k under ulimit -Sn 256" {
	local hard soft
	need python3
	hard=$(ulimit -Hn)
	[ "$hard" != unlimited ] || skip "no hard descriptor limit"
	need_fds $((1000 + SOCK_RESERVE)) "sock with 1000 clients"
	open_feed "$T/in"
	# shellcheck disable=SC2016 # for that shell
	LAUNCH=(sh -c 'ulimit -Sn 256 && exec "$0" "$@"')
	sock_listen "$T/in" "$T/out" "$T/err" -k --max-conns 1000 127.0.0.1 0
	LAUNCH=()
	soft=$(sed -n 's/^Max open files *\([0-9]*\) .*/\1/p' "/proc/$LPID/limits")
	[ "$soft" -eq "$hard" ] || { echo "soft limit $soft, hard $hard" >&2; return 1; }
	has_line "$T/err" "sock: up to 1000 connections at once (descriptor limit $hard)"
	peer_run 60 mass "$PORT" 1000 lines out="$T/out"
	peak_rss "$LPID" 1000
	served_alive "$T/err"
}

@test "-v: a server of many clients says how many it takes at once and its descriptor limit" {
	local hard line n
	hard=$(ulimit -Hn)
	[ "$hard" != unlimited ] || skip "no hard descriptor limit"
	sock_listen /dev/null /dev/null "$T/k.err" -k 127.0.0.1 0
	has_line "$T/k.err" "sock: up to 100 connections at once (descriptor limit $hard)"
	sock_listen /dev/null /dev/null "$T/b.err" --broker --max-conns 7 127.0.0.1 0
	has_line "$T/b.err" "sock: up to 7 connections at once (descriptor limit $hard)"
	# --forward: about (limit - 96) / 2 pairs by default.
	sock_listen /dev/null /dev/null "$T/f.err" -k 127.0.0.1 0 --forward 127.0.0.1:9
	line=$(grep '^sock: up to ' "$T/f.err")
	[[ "$line" =~ ^sock:\ up\ to\ ([0-9]+)\ connections\ at\ once\ \(descriptor\ limit\ $hard\)$ ]]
	n=${BASH_REMATCH[1]}
	[ "$((2 * n))" -le "$hard" ] && [ "$n" -ge $(((hard - SOCK_RESERVE) / 2 - 32)) ]
}

@test "--forward: one client that stops reading stalls only itself; $BUSY_N others each echo 64 KiB meanwhile, and idle, hold no pipe" {
	need python3
	need_fds $((2 * (BUSY_N + 1) + SOCK_RESERVE)) "sock with $((BUSY_N + 1)) pairs"
	echo_server
	sock_listen /dev/null /dev/null "$T/err" -k 127.0.0.1 0 \
	    --forward "127.0.0.1:$EPORT"
	# The slow one stalls after what the sockets on its way buffer (tens
	# of MB on loopback), well before 1 GiB. 64 KiB each way is enough
	# for splice(2) (through a pipe) where sock uses it; once the busy
	# pairs are idle, the pipes left are the stalled pair's (two) and
	# what sock keeps spare, a few: 40 ends is far less than a pipe per
	# pair.
	peer_run 120 mass "$PORT" "$BUSY_N" echo size=65536 slow=1073741824 \
	    fds="$LPID" maxpipes=40
	peak_rss "$LPID" $((BUSY_N + 1))
	served_alive "$T/err"
}
