#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Started with descriptors 0, 1 or 2 closed: sock still works, treats a
# closed stdin as empty and a closed stdout as a sink, and never puts a
# socket on 0, 1 or 2 (where a stray printf or read would hit the network).
# shellcheck disable=SC2016,SC2153,SC2154
# SC2016: sh -c scripts take their arguments as "$0" "$1"... on purpose.
# SC2153/SC2154: T, SOCK, PORT, LPID, BG_PID, EXIT_STATUS come from
# helper.bash (loaded by bats' load, which shellcheck cannot follow);
# stderr and stderr_lines from bats' run --separate-stderr.

load helper
bats_require_minimum_version 1.5.0

# std_fds_not_sockets PID: none of PID's descriptors 0-2 is a socket; each
# is open (on /dev/null, as the design says for a closed one).
std_fds_not_sockets() {
	local n target
	for n in 0 1 2; do
		target=$(readlink "/proc/$1/fd/$n") || {
			echo "fd $n of $1 is not open" >&2
			return 1
		}
		case $target in
		socket:*)
			echo "fd $n of $1 is a socket: $target" >&2
			return 1
			;;
		esac
		if [ "$target" != /dev/null ]; then
			echo "fd $n of $1 is $target, expected /dev/null" >&2
			return 1
		fi
	done
}

# socket_count PID: how many sockets PID has open.
socket_count() {
	local fd n=0
	for fd in /proc/"$1"/fd/*; do
		case $(readlink "$fd" 2>/dev/null) in
		socket:*) n=$((n + 1)) ;;
		esac
	done
	echo "$n"
}

has_sockets() {
	[ "$(socket_count "$1")" -ge "$2" ]
}

@test "a client with stdin closed treats it as empty" {
	printf 'from the listener' >"$T/answer"
	sock_listen "$T/answer" "$T/lout" "$T/lerr" 127.0.0.1 0
	bg sh -c 'exec "$0" 127.0.0.1 "$1" <&- >"$2" 2>"$3"' \
	    "$SOCK" "$PORT" "$T/cout" "$T/cerr"
	wait_exit "$BG_PID" 5
	[ "$EXIT_STATUS" -eq 0 ]
	same_file "$T/answer" "$T/cout"
	wait_exit "$LPID" 5
	[ "$EXIT_STATUS" -eq 0 ]
	[ ! -s "$T/lout" ]
	[ ! -s "$T/cerr" ]
}

@test "a client with stdout closed still sends everything and exits 0" {
	printf 'from the listener' >"$T/answer"
	random_file "$T/up" 50000
	sock_listen "$T/answer" "$T/lout" "$T/lerr" 127.0.0.1 0
	bg sh -c 'exec "$0" 127.0.0.1 "$1" <"$2" >&- 2>"$3"' \
	    "$SOCK" "$PORT" "$T/up" "$T/cerr"
	wait_exit "$BG_PID" 5
	[ "$EXIT_STATUS" -eq 0 ]
	wait_exit "$LPID" 5
	[ "$EXIT_STATUS" -eq 0 ]
	same_file "$T/up" "$T/lout"
	[ ! -s "$T/cerr" ]
}

@test "a verbose client with stderr closed still transfers both ways" {
	printf 'from the listener' >"$T/answer"
	random_file "$T/up" 50000
	sock_listen "$T/answer" "$T/lout" "$T/lerr" 127.0.0.1 0
	bg sh -c 'exec "$0" -vv 127.0.0.1 "$1" <"$2" >"$3" 2>&-' \
	    "$SOCK" "$PORT" "$T/up" "$T/cout"
	wait_exit "$BG_PID" 5
	[ "$EXIT_STATUS" -eq 0 ]
	same_file "$T/answer" "$T/cout"
	wait_exit "$LPID" 5
	[ "$EXIT_STATUS" -eq 0 ]
	same_file "$T/up" "$T/lout"
}

@test "a listener with stdin closed receives a whole upload" {
	local p
	need ss
	random_file "$T/up" 50000
	bg sh -c 'exec "$0" -l 127.0.0.1 0 <&- >"$1" 2>"$2"' \
	    "$SOCK" "$T/lout" "$T/lerr"
	local lpid=$BG_PID
	wait_for 5 has_bound_port "$lpid"
	p=$(bound_port "$lpid")
	run -0 timeout 10 "$SOCK" 127.0.0.1 "$p" <"$T/up"
	wait_exit "$lpid" 5
	[ "$EXIT_STATUS" -eq 0 ]
	same_file "$T/up" "$T/lout"
}

@test "a listener with 0, 1 and 2 closed keeps its sockets off them" {
	local p
	need ss
	bg sh -c 'exec "$0" -l 127.0.0.1 0 <&- >&- 2>&-' "$SOCK"
	local lpid=$BG_PID
	wait_for 5 has_bound_port "$lpid"
	p=$(bound_port "$lpid")
	std_fds_not_sockets "$lpid"
	open_feed "$T/cin"
	bg sh -c 'exec "$0" 127.0.0.1 "$1" <"$2" >/dev/null 2>&1' "$SOCK" "$p" "$T/cin"
	local cpid=$BG_PID
	# The listening socket is closed once the client is accepted.
	wait_for 5 eval '! is_listening "$p"'
	wait_for 5 has_sockets "$lpid" 1
	std_fds_not_sockets "$lpid"
	feed "$T/cin" 'x'
	end_feed "$T/cin"
	wait_exit "$cpid" 5
	[ "$EXIT_STATUS" -eq 0 ]
	wait_exit "$lpid" 5
	[ "$EXIT_STATUS" -eq 0 ]
}

@test "a client with 0, 1 and 2 closed keeps its socket off them" {
	open_feed "$T/lin"
	sock_listen "$T/lin" "$T/lout" "$T/lerr" 127.0.0.1 0
	bg sh -c 'exec "$0" 127.0.0.1 "$1" <&- >&- 2>&-' "$SOCK" "$PORT"
	local cpid=$BG_PID
	wait_for 5 grep -q '^sock: connection from' "$T/lerr"
	wait_for 5 has_sockets "$cpid" 1
	std_fds_not_sockets "$cpid"
	feed "$T/lin" 'y'
	end_feed "$T/lin"
	wait_exit "$cpid" 5
	[ "$EXIT_STATUS" -eq 0 ]
	wait_exit "$LPID" 5
	[ "$EXIT_STATUS" -eq 0 ]
}

@test "a Unix listener with 0, 1 and 2 closed keeps its socket off them" {
	local s=$T/s.sock
	bg sh -c 'exec "$0" -U -l "$1" <&- >&- 2>&-' "$SOCK" "$s"
	local lpid=$BG_PID
	wait_for 5 test -S "$s"
	wait_for 5 has_sockets "$lpid" 1
	std_fds_not_sockets "$lpid"
	printf 'z' >"$T/msg"
	run -0 timeout 10 "$SOCK" -U "$s" <"$T/msg"
	wait_exit "$lpid" 5
	[ "$EXIT_STATUS" -eq 0 ]
}

@test "a UDP client with stdin closed exits 0 by itself" {
	local p
	need python3
	bg python3 "$PEER_PY" udp "$T/uport"
	wait_for 5 test -s "$T/uport"
	p=$(cat "$T/uport")
	bg sh -c 'exec "$0" -u 127.0.0.1 "$1" <&-' "$SOCK" "$p"
	wait_exit "$BG_PID" 4
	[ "$EXIT_STATUS" -eq 0 ]
}

@test "a refused client with stderr closed still exits 1" {
	local p
	closed_port
	p=$CLOSED_PORT
	bg sh -c 'exec "$0" 127.0.0.1 "$1" </dev/null >"$2" 2>&-' "$SOCK" "$p" "$T/cout"
	wait_exit "$BG_PID" 5
	[ "$EXIT_STATUS" -eq 1 ]
	[ ! -s "$T/cout" ]
}
