#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# --limit-rate (each direction's average rate, on the copy, splice and
# sendfile ways alike, without busy-waiting) and -W (quit after receiving
# a number of datagrams); sock(1), OPTIONS.
# shellcheck disable=SC2016,SC2030,SC2031,SC2153,SC2154
# SC2016: the sh -c script takes its arguments as "$0" "$1"... on purpose.

load helper
bats_require_minimum_version 1.5.0

# cpu_of PID: the user+system CPU milliseconds PID has used so far.
cpu_of() {
	local stat ticks
	stat=$(cat "/proc/$1/stat") || return 1
	# Fields 14 and 15 (utime, stime) after the ")" that ends the name.
	stat=${stat##*) }
	# shellcheck disable=SC2086 # the fields are words on purpose
	set -- $stat
	ticks=$(( ${12} + ${13} ))
	echo $(( ticks * 1000 / $(getconf CLK_TCK) ))
}

# within_rate MS BYTES RATE: MS milliseconds for BYTES at RATE bytes a
# second is no faster than the rate allows (3 % for the clock), and at
# most half as slow again: the test's time includes starting the
# processes and connecting, on a machine that may be busy (on a quiet one
# these transfers take the rate's time to within 2 %).
within_rate() {
	local want=$(( $2 * 1000 / $3 ))
	if [ "$1" -lt $(( want * 97 / 100 )) ] || [ "$1" -gt $(( want * 150 / 100 )) ]; then
		echo "moved $2 bytes in $1 ms; at $3 B/s that takes $want ms" >&2
		return 1
	fi
}

# upload_at RATE FILE [ENV...]: send FILE (a regular file, or a pipe when
# FILE is "-pipe") through "sock --limit-rate RATE" to a sock listener;
# check that it all arrives and set MS to the time it took.
upload_at() {
	local rate=$1 src=$2 start
	shift 2
	sock_listen /dev/null "$T/got" "$T/lerr" 127.0.0.1 0
	start=$(date +%s%N)
	if [ "$src" = -pipe ]; then
		run -0 env "$@" sh -c 'cat "$0" | "$1" --limit-rate "$2" 127.0.0.1 "$3"' \
		    "$T/data" "$SOCK" "$rate" "$PORT"
	else
		run -0 env "$@" "$SOCK" --limit-rate "$rate" 127.0.0.1 "$PORT" <"$T/data"
	fi
	MS=$(elapsed_ms "$start")
	wait_exit "$LPID" 10
	[ "$EXIT_STATUS" -eq 0 ]
	same_file "$T/data" "$T/got"
}

@test "--limit-rate holds an upload from a regular file (sendfile) to the rate" {
	random_file "$T/data" 2097152
	upload_at 1M "$T/data"
	within_rate "$MS" 2097152 1048576
}

@test "--limit-rate holds an upload from a pipe (copy) to the rate" {
	random_file "$T/data" 2097152
	upload_at 1M -pipe
	within_rate "$MS" 2097152 1048576
}

@test "--limit-rate holds an upload to the rate with zero-copy off" {
	random_file "$T/data" 1572864
	upload_at 768K "$T/data" SOCK_NOSPLICE=1
	within_rate "$MS" 1572864 786432
}

@test "--limit-rate holds a download into a file (splice) to the rate, fractions allowed" {
	random_file "$T/data" 1572864
	sock_listen "$T/data" /dev/null "$T/lerr" 127.0.0.1 0
	local start
	start=$(date +%s%N)
	timeout 20 "$SOCK" --limit-rate 0.75M 127.0.0.1 "$PORT" </dev/null >"$T/got"
	within_rate "$(elapsed_ms "$start")" 1572864 786432
	same_file "$T/data" "$T/got"
}

@test "--limit-rate does not busy-wait while it holds a transfer back" {
	random_file "$T/data" 1048576
	sock_listen /dev/null "$T/got" "$T/lerr" 127.0.0.1 0
	sock_bg "$T/data" /dev/null "$T/err" --limit-rate 512K 127.0.0.1 "$PORT"
	# Half-way through the two seconds, it has used little CPU.
	wait_for 5 test -s "$T/got"
	local cpu
	wait_for 5 size_at_least "$T/got" 500000
	cpu=$(cpu_of "$SPID")
	sock_ok 10
	[ "$cpu" -lt 300 ] || { echo "sock used $cpu ms of CPU in 1 s" >&2; return 1; }
	same_file "$T/data" "$T/got"
}

@test "--limit-rate refuses values that are not a rate" {
	local v
	for v in 0 0.5 -1 "" abc 1X 1e3 0x10 1.2.3 K 99999999999999999999; do
		run -2 --separate-stderr "$SOCK" --limit-rate "$v" 127.0.0.1 9
		[[ $stderr == "sock: invalid --limit-rate value \"$v\": must be a number of bytes a second"* ]] ||
		    { echo "value [$v]: $stderr" >&2; return 1; }
	done
}

# udp_send PORT WORD...: send each WORD as one datagram to 127.0.0.1 PORT.
udp_send() {
	python3 "$PEER_PY" udp-send "$@"
}

@test "-W 2 quits after the second datagram, with both written out" {
	need python3
	sock_listen /dev/null "$T/out" "$T/err" -u -q 30 -W 2 127.0.0.1 0
	udp_send "$PORT" one two three
	wait_exit "$LPID" 5
	[ "$EXIT_STATUS" -eq 0 ]
	printf 'one\ntwo\n' >"$T/want"
	same_file "$T/want" "$T/out"
}

@test "-W counts the datagrams a UDP client receives" {
	need python3
	# A UDP server that answers the first datagram with four.
	bg python3 "$PEER_PY" udp "$T/pport" answer=a,b,c,d
	wait_for 5 test -s "$T/pport"
	open_feed "$T/in"
	sock_bg "$T/in" "$T/out" "$T/err" -u -W 3 127.0.0.1 "$(cat "$T/pport")"
	feed "$T/in" "hi"
	wait_exit "$SPID" 5
	[ "$EXIT_STATUS" -eq 0 ]
	printf 'a\nb\nc\n' >"$T/want"
	same_file "$T/want" "$T/out"
}

@test "-W is a usage error with TCP, and its count must be a positive number" {
	run -2 --separate-stderr "$SOCK" -W 2 127.0.0.1 9
	[ "${stderr_lines[0]}" = "sock: -W needs -u" ]
	run -2 --separate-stderr "$SOCK" -u -W 0 127.0.0.1 9
	[[ ${stderr_lines[0]} == "sock: invalid -W value \"0\""* ]]
	run -2 --separate-stderr "$SOCK" -u -W x 127.0.0.1 9
	[[ ${stderr_lines[0]} == "sock: invalid -W value \"x\""* ]]
}
