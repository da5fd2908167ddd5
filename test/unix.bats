#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Unix-domain sockets (-U, -uU): both directions, the socket file's
# lifetime, foreign files, errors, path length.
# shellcheck disable=SC2016,SC2153,SC2154
# SC2016: sh -c scripts take their arguments as "$0" "$1"... on purpose.
# SC2153/SC2154: T, SOCK, PORT, LPID, BG_PID, EXIT_STATUS come from
# helper.bash (loaded by bats' load, which shellcheck cannot follow);
# stderr and stderr_lines from bats' run --separate-stderr.

load helper
bats_require_minimum_version 1.5.0

# socket_paths PID: the paths bound by PID's Unix sockets (from
# /proc/net/unix, matched by inode), one per line.
socket_paths() {
	local fd ino
	for fd in /proc/"$1"/fd/*; do
		ino=$(readlink "$fd" 2>/dev/null) || continue
		case $ino in
		'socket:['*']')
			ino=${ino#socket:[}
			awk -v i="${ino%]}" '$7 == i && NF >= 8 { print $8 }' /proc/net/unix
			;;
		esac
	done
}

setup() {
	common_setup
	LAUNCH=()
	S=$T/s.sock
}

@test "a Unix stream socket carries data both ways" {
	random_file "$T/down" 100000
	random_file "$T/up" 100000
	sock_listen_unix "$T/down" "$T/lout" "$T/lerr" "$S"
	grep -qxF "sock: listening on $S (unix)" "$T/lerr"
	bg sh -c 'exec "$0" -U "$1" <"$2" >"$3"' "$SOCK" "$S" "$T/up" "$T/cout"
	wait_exit "$BG_PID" 5
	[ "$EXIT_STATUS" -eq 0 ]
	wait_exit "$LPID" 5
	[ "$EXIT_STATUS" -eq 0 ]
	same_file "$T/up" "$T/lout"
	same_file "$T/down" "$T/cout"
}

@test "a Unix stream client with empty stdin receives the listener's data" {
	random_file "$T/down" 100000
	sock_listen_unix "$T/down" "$T/lout" "$T/lerr" "$S"
	bg sh -c 'exec "$0" -U "$1" </dev/null >"$2"' "$SOCK" "$S" "$T/cout"
	wait_exit "$BG_PID" 5
	[ "$EXIT_STATUS" -eq 0 ]
	same_file "$T/down" "$T/cout"
	wait_exit "$LPID" 5
	[ "$EXIT_STATUS" -eq 0 ]
	[ ! -s "$T/lout" ]
}

@test "-v prints the Unix connection lines" {
	sock_listen_unix /dev/null "$T/lout" "$T/lerr" "$S"
	printf 'x' >"$T/msg"
	run -0 --separate-stderr timeout 10 "$SOCK" -v -U "$S" <"$T/msg"
	grep -qxF "sock: connected to $S (unix)" <<<"$stderr"
	wait_exit "$LPID" 5
	grep -qxF "sock: connection from (unnamed) (unix)" "$T/lerr"
}

@test "the socket file is removed when the listener exits normally" {
	sock_listen_unix /dev/null "$T/lout" "$T/lerr" "$S"
	[ -S "$S" ]
	printf 'x' >"$T/msg"
	run -0 timeout 10 "$SOCK" -U "$S" <"$T/msg"
	wait_exit "$LPID" 5
	[ "$EXIT_STATUS" -eq 0 ]
	[ ! -e "$S" ]
}

@test "the socket file is removed when the listener gets SIGTERM" {
	sock_listen_unix /dev/null "$T/lout" "$T/lerr" "$S"
	[ -S "$S" ]
	kill -TERM "$LPID"
	wait_exit "$LPID" 5
	[ "$EXIT_STATUS" -eq 143 ]
	[ ! -e "$S" ]
}

@test "the socket file is removed when the listener gets SIGINT" {
	# A background job of a non-interactive shell starts with SIGINT
	# ignored; give sock the default disposition, as a terminal would.
	env --default-signal=INT true 2>/dev/null ||
	    skip "env --default-signal is not supported"
	LAUNCH=(env --default-signal=INT)
	sock_listen_unix /dev/null "$T/lout" "$T/lerr" "$S"
	[ -S "$S" ]
	kill -INT "$LPID"
	wait_exit "$LPID" 5
	[ "$EXIT_STATUS" -eq 130 ]
	[ ! -e "$S" ]
}

@test "a listener whose path is an existing file exits 1 and leaves the file" {
	printf 'foreign' >"$S"
	run -1 --separate-stderr timeout 10 "$SOCK" -U -l "$S" </dev/null
	[ -z "$output" ]
	[[ ${stderr_lines[0]} == "sock: "*"$S"* ]]
	[ "$(cat "$S")" = foreign ]
}

@test "a listener whose path is another listener's socket exits 1 and leaves it" {
	sock_listen_unix /dev/null "$T/lout" "$T/lerr" "$S"
	run -1 --separate-stderr timeout 10 "$SOCK" -U -l "$S" </dev/null
	[[ ${stderr_lines[0]} == "sock: "*"$S"* ]]
	[ -S "$S" ]
	printf 'still there' >"$T/msg"
	run -0 timeout 10 "$SOCK" -U "$S" <"$T/msg"
	wait_exit "$LPID" 5
	same_file "$T/msg" "$T/lout"
}

@test "a Unix datagram socket carries data both ways" {
	open_feed "$T/lin"
	sock_listen_unix "$T/lin" "$T/lout" "$T/lerr" -u "$S"
	grep -qxF "sock: listening on $S (unixgram)" "$T/lerr"
	datagram_ping_pong -uU "$S"
	[ ! -e "$S" ]
}

@test "a Unix datagram client removes its temporary socket file at exit" {
	local tmp
	sock_listen_unix /dev/null "$T/lout" "$T/lerr" -u "$S"
	open_feed "$T/cin"
	bg sh -c 'exec "$0" -uU "$1" <"$2" >/dev/null' "$SOCK" "$S" "$T/cin"
	local cpid=$BG_PID
	feed "$T/cin" 'x
'
	wait_for 5 has_text "$T/lout" x
	tmp=$(socket_paths "$cpid")
	[ -n "$tmp" ]
	[ "$(wc -l <<<"$tmp")" -eq 1 ]
	[ -S "$tmp" ]
	end_feed "$T/cin"
	wait_exit "$cpid" 4
	[ "$EXIT_STATUS" -eq 0 ]
	[ ! -e "$tmp" ]
}

@test "connecting to a missing Unix path exits 1 naming the path" {
	run -1 --separate-stderr timeout 10 "$SOCK" -U "$T/missing.sock" </dev/null
	[ -z "$output" ]
	[ "$stderr" = "sock: connect to $T/missing.sock: No such file or directory" ]
}

@test "a Unix path of 108 bytes is a usage error" {
	local dir=$T/d path
	mkdir "$dir"
	path=$dir/$(printf 'x%.0s' $(seq 1 $((108 - ${#dir} - 1))))
	[ "${#path}" -eq 108 ]
	run -2 --separate-stderr timeout 10 "$SOCK" -U -l "$path" </dev/null
	[ -z "$output" ]
	[[ ${stderr_lines[0]} == "sock: Unix socket path too long (108 bytes, at most 107): \"$dir"* ]]
	[ ! -e "$path" ]
}

@test "a Unix path of 107 bytes works" {
	local dir=$T/d path
	mkdir "$dir"
	path=$dir/$(printf 'y%.0s' $(seq 1 $((107 - ${#dir} - 1))))
	[ "${#path}" -eq 107 ]
	sock_listen_unix /dev/null "$T/lout" "$T/lerr" "$path"
	printf 'long path' >"$T/msg"
	run -0 timeout 10 "$SOCK" -U "$path" <"$T/msg"
	wait_exit "$LPID" 5
	same_file "$T/msg" "$T/lout"
}

@test "a Unix datagram client removes its temporary socket file on SIGTERM" {
	local tmp
	sock_listen_unix /dev/null "$T/lout" "$T/lerr" -u "$S"
	open_feed "$T/cin"
	bg sh -c 'exec "$0" -uU "$1" <"$2" >/dev/null' "$SOCK" "$S" "$T/cin"
	local cpid=$BG_PID
	feed "$T/cin" 'x
'
	wait_for 5 has_text "$T/lout" x
	tmp=$(socket_paths "$cpid")
	[ -S "$tmp" ]
	kill -TERM "$cpid"
	wait_exit "$cpid" 4
	[ "$EXIT_STATUS" -eq 143 ]
	[ ! -e "$tmp" ]
}

@test "--wait with -U connects once the socket file appears" {
	local path=$T/late.sock
	printf 'late hello\n' >"$T/msg"
	sock_bg "$T/msg" "$T/cout" "$T/err" -vv --wait 5 -U "$path"
	# The socket appears only once the client has tried and failed.
	wait_for 5 has_text "$T/err" "; trying again"
	# shellcheck disable=SC2016 # expanded by the inner shell
	bg sh -c 'exec "$0" -l -U "$1" </dev/null >"$2"' \
	    "$SOCK" "$path" "$T/out"
	local listener=$BG_PID
	sock_ok 10
	wait_exit "$listener" 5
	[ "$EXIT_STATUS" -eq 0 ]
	[ "$(cat "$T/out")" = "late hello" ]
}

@test "--wait with -U gives up in time when no socket appears" {
	SECONDS=0
	run -3 --separate-stderr timeout 10 "$SOCK" --wait 1 -U "$T/never.sock" \
	    </dev/null
	[ "$SECONDS" -le 3 ]
	[[ $stderr == "sock: gave up waiting for $T/never.sock after 1 s: No such file or directory" ]]
}
