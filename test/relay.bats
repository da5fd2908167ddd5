#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# The relay (sock(1), "Data flow and end of stream"): FIN and half-close,
# -N, -q, -w, -d and the one-way modes, resets, local I/O errors and
# SIGPIPE, slow readers, bounded memory, SIGTERM. Every peer here is a
# scripted python3 peer (test/peer.py, through helper.bash) so each test
# controls exactly when the other side sends, half-closes, resets or merely
# watches for a FIN.
#
# Each @test body runs in a subshell (SC2030/SC2031); run sets status,
# output and stderr, and helper.bash sets PORT and LPID (SC2154/SC2153).
# shellcheck disable=SC2030,SC2031,SC2153,SC2154

load helper
bats_require_minimum_version 1.5.0

@test "sock as client sends FIN at end of stdin and still receives the reply sent after it" {
	random_file "$T/data" 300000
	random_file "$T/reply" 200000
	peer_listen recv_all="$T/got" send="$T/reply" close
	hold_fifo "$T/in"
	sock_bg "$T/in" "$T/out" "$T/err" 127.0.0.1 "$PPORT"
	exec 5>"$T/in"
	cat "$T/data" >&5
	exec 5>&-
	sock_ok 5
	peer_ok 5
	same_file "$T/data" "$T/got"
	same_file "$T/reply" "$T/out"
}

@test "sock as listener sends FIN at end of stdin and still receives the reply sent after it" {
	random_file "$T/data" 300000
	random_file "$T/reply" 200000
	hold_fifo "$T/in"
	# Read-write open does not block on a FIFO; sock gets it without fd 5.
	exec 5<>"$T/in"
	sock_listen "$T/in" "$T/out" "$T/err" 127.0.0.1 0 5>&-
	SPID=$LPID
	peer_connect "$PORT" recv_all="$T/got" send="$T/reply" close
	cat "$T/data" >&5
	exec 5>&-
	sock_ok 5
	peer_ok 5
	same_file "$T/data" "$T/got"
	same_file "$T/reply" "$T/out"
}

@test "sock as client with empty stdin holds its FIN back while the peer is still sending" {
	random_file "$T/data" 500000
	peer_listen no_eof=0.7 send="$T/data" close
	sock_bg /dev/null "$T/out" "$T/err" 127.0.0.1 "$PPORT"
	sock_ok 5
	peer_ok 5
	same_file "$T/data" "$T/out"
}

@test "sock as listener with empty stdin holds its FIN back while the client is still sending" {
	random_file "$T/data" 500000
	sock_listen /dev/null "$T/out" "$T/err" 127.0.0.1 0
	SPID=$LPID
	peer_connect "$PORT" no_eof=0.7 send="$T/data" close
	sock_ok 5
	peer_ok 5
	same_file "$T/data" "$T/out"
}

@test "-N sends the FIN at once when stdin is empty" {
	random_file "$T/data" 100000
	peer_listen eof_within=2 send="$T/data" close
	sock_bg /dev/null "$T/out" "$T/err" -N 127.0.0.1 "$PPORT"
	sock_ok 5
	peer_ok 5
	same_file "$T/data" "$T/out"
}

@test "--no-shutdown sends no FIN when stdin ends" {
	random_file "$T/data" 100000
	peer_listen recv_n=100000 no_eof=0.7 sendstr=done close
	hold_fifo "$T/in"
	sock_bg "$T/in" "$T/out" "$T/err" --no-shutdown 127.0.0.1 "$PPORT"
	exec 5>"$T/in"
	cat "$T/data" >&5
	exec 5>&-
	sock_ok 5
	peer_ok 5
	[ "$(cat "$T/out")" = "done" ]
}

@test "after the peer's FIN sock closes its stdout and goes on sending stdin" {
	random_file "$T/reply" 100000
	random_file "$T/part2" 300000
	printf 'part1\n' >"$T/part1"
	cat "$T/part1" "$T/part2" >"$T/sent"
	peer_listen send="$T/reply" shut_wr recv_all="$T/got" close
	hold_fifo "$T/in"
	hold_fifo "$T/outfifo"
	# The reader of sock's stdout: it exits when it sees EOF.
	bg cat "$T/outfifo" >"$T/out"
	READER=$BG_PID
	sock_bg "$T/in" "$T/outfifo" "$T/err" 127.0.0.1 "$PPORT"
	exec 5>"$T/in"
	cat "$T/part1" >&5
	wait_exit "$READER" 5
	[ "$EXIT_STATUS" -eq 0 ]
	same_file "$T/reply" "$T/out"
	# stdin is still open: sock must still be there, and still sending.
	kill -0 "$SPID"
	timeout 5 cat "$T/part2" >&5
	exec 5>&-
	sock_ok 5
	peer_ok 5
	same_file "$T/sent" "$T/got"
}

@test "-q 0 quits as soon as stdin has been sent although the peer never closes" {
	random_file "$T/data" 200000
	peer_listen recv_all="$T/got" touch="$T/got.done" sleep=30
	sock_bg "$T/data" "$T/out" "$T/err" -q 0 127.0.0.1 "$PPORT"
	sock_ok 3
	wait_for 5 test -e "$T/got.done"
	same_file "$T/data" "$T/got"
}

@test "-q 1 counts from the last byte received, so a reply still streaming in is not cut off" {
	printf 'hello\n' >"$T/data"
	# 7 lines over 1.8 s, then silence without closing.
	peer_listen stream=7,0.3 sleep=30
	sock_bg "$T/data" "$T/out" "$T/err" -q 1 127.0.0.1 "$PPORT"
	sock_ok 6
	[ "$(wc -l <"$T/out")" -eq 7 ]
	[ "$(tail -n 1 "$T/out")" = "line 7" ]
}

@test "-w 1 ends an idle connection with exit 3 and an idle timeout message" {
	peer_listen sleep=30
	hold_fifo "$T/in"
	start=$(now_ms)
	sock_bg "$T/in" "$T/out" "$T/err" -w 1 127.0.0.1 "$PPORT"
	exec 5>"$T/in"
	wait_exit "$SPID" 5
	elapsed=$(( $(now_ms) - start ))
	exec 5>&-
	[ "$EXIT_STATUS" -eq 3 ]
	[ "$(cat "$T/err")" = "sock: connection to 127.0.0.1 port $PPORT: idle timeout after 1 s" ]
	[ "$elapsed" -ge 900 ]
	[ ! -s "$T/out" ]
}

@test "-w does not fire while data keeps arriving" {
	peer_listen stream=7,0.3 close
	sock_bg /dev/null "$T/out" "$T/err" -w 1 127.0.0.1 "$PPORT"
	sock_ok 6
	[ "$(wc -l <"$T/out")" -eq 7 ]
}

@test "-w does not fire while data keeps being sent" {
	peer_listen recv_all="$T/got" sendstr=ok close
	hold_fifo "$T/in"
	sock_bg "$T/in" "$T/out" "$T/err" -w 1 127.0.0.1 "$PPORT"
	exec 5>"$T/in"
	for i in 1 2 3 4 5 6 7; do
		printf 'line %s\n' "$i" >&5
		sleep 0.3
	done
	exec 5>&-
	sock_ok 5
	peer_ok 5
	[ "$(wc -l <"$T/got")" -eq 7 ]
	[ "$(cat "$T/out")" = ok ]
}

# recv_only_case FLAG: sock FLAG never reads stdin (a FIFO the test keeps
# open, holding a line), sends no FIN, and exits 0 when the peer closes.
recv_only_case() {
	peer_listen sendstr=hello no_eof=0.7 close
	hold_fifo "$T/in"
	sock_bg "$T/in" "$T/out" "$T/err" "$1" 127.0.0.1 "$PPORT"
	exec 5>"$T/in"
	printf 'not for the peer\n' >&5
	sock_ok 5
	peer_ok 5
	[ "$(cat "$T/out")" = hello ]
	# The line is still in the FIFO: sock never read it.
	IFS= read -r -t 2 line <"$T/in"
	exec 5>&-
	[ "$line" = "not for the peer" ]
}

@test "-d never reads stdin, sends no FIN, and exits 0 when the peer closes" {
	recv_only_case -d
}

@test "--recv-only never reads stdin, sends no FIN, and exits 0 when the peer closes" {
	recv_only_case --recv-only
}

@test "--send-only discards what arrives and exits 0 once stdin is sent, though the peer stays" {
	random_file "$T/data" 200000
	random_file "$T/junk" 100000
	peer_listen send="$T/junk" recv_all="$T/got" touch="$T/got.done" sleep=30
	sock_bg "$T/data" "$T/out" "$T/err" --send-only 127.0.0.1 "$PPORT"
	sock_ok 5
	# A peer whose read fails (a reset: data lost) never gets there.
	wait_for 5 test -e "$T/got.done" || { cat "$T/peer.err" >&2; false; }
	same_file "$T/data" "$T/got"
	[ ! -s "$T/out" ]
}

@test "a reset from the peer while sock is sending exits 1 and names the connection" {
	peer_listen recv_n=65536 rst
	run --separate-stderr timeout 10 "$SOCK" 127.0.0.1 "$PPORT" </dev/zero
	[ "$status" -eq 1 ]
	[[ "$stderr" =~ ^sock:\ (write\ to|read\ from)\ 127\.0\.0\.1\ port\ $PPORT:\ (Connection\ reset\ by\ peer|Broken\ pipe)$ ]]
}

@test "a reset from the peer while sock is receiving exits 1 and names the connection" {
	peer_listen flood=1000000 rst
	hold_fifo "$T/in"
	sock_bg "$T/in" /dev/null "$T/err" 127.0.0.1 "$PPORT"
	exec 5>"$T/in"
	wait_exit "$SPID" 5
	exec 5>&-
	[ "$EXIT_STATUS" -eq 1 ]
	# The peer resets at once: on a slow run that happens before sock has
	# seen its connect complete, and it then names the connect.
	[[ "$(cat "$T/err")" =~ ^sock:\ (read\ from|write\ to|connect\ to)\ 127\.0\.0\.1\ port\ $PPORT:\ Connection\ reset\ by\ peer$ ]]
}

@test "a full stdout exits 4 with a write to stdout message" {
	peer_listen flood=1000000 close
	# shellcheck disable=SC2016 # expanded by the inner shell
	run --separate-stderr timeout 10 sh -c '"$1" 127.0.0.1 "$2" </dev/null >/dev/full' sh "$SOCK" "$PPORT"
	[ "$status" -eq 4 ]
	[ "$stderr" = "sock: write to stdout: No space left on device" ]
}

@test "a directory as stdin exits 4 with a read from stdin message" {
	peer_listen recv_all=/dev/null close
	run --separate-stderr timeout 10 "$SOCK" 127.0.0.1 "$PPORT" </
	[ "$status" -eq 4 ]
	[ "$stderr" = "sock: read from stdin: Is a directory" ]
}

@test "a closed pipe downstream ends sock promptly with status 141 and no message" {
	peer_listen flood=50000000 close
	start=$(now_ms)
	# shellcheck disable=SC2016 # expanded by the inner shell
	run -0 timeout 10 bash -c '"$1" 127.0.0.1 "$2" </dev/null 2>"$3" | head -c 10 >"$4"; echo "${PIPESTATUS[*]}"' \
		_ "$SOCK" "$PPORT" "$T/err" "$T/out"
	elapsed=$(( $(now_ms) - start ))
	[ "$output" = "141 0" ]
	[ ! -s "$T/err" ]
	[ "$(wc -c <"$T/out")" -eq 10 ]
	[ "$elapsed" -lt 3000 ]
}

@test "a slow reader of sock's stdout loses nothing" {
	random_file "$T/data" 3000000
	peer_listen send="$T/data" close
	hold_fifo "$T/outfifo"
	# Reads 64 KiB at a time, 0.03 s apart.
	bg python3 "$PEER_PY" slow-read "$T/outfifo" "$T/out" 65536 0.03 "$T/count"
	READER=$BG_PID
	sock_bg /dev/null "$T/outfifo" "$T/err" 127.0.0.1 "$PPORT"
	sock_ok 15
	wait_exit "$READER" 5
	[ "$EXIT_STATUS" -eq 0 ]
	same_file "$T/data" "$T/out"
}

@test "a slow reader at the peer loses nothing" {
	random_file "$T/data" 3000000
	peer_listen slow_recv="$T/got" close
	sock_bg "$T/data" "$T/out" "$T/err" 127.0.0.1 "$PPORT"
	sock_ok 15
	peer_ok 5
	same_file "$T/data" "$T/got"
}

@test "memory stays bounded while 50 MB flow to a slow reader" {
	peer_listen flood=52428800 close
	hold_fifo "$T/outfifo"
	# About 50 MB/s at most: far slower than the peer sends.
	bg python3 "$PEER_PY" slow-read "$T/outfifo" /dev/null 262144 0.005 "$T/count"
	READER=$BG_PID
	sock_bg /dev/null "$T/outfifo" "$T/err" 127.0.0.1 "$PPORT"
	# VmHWM is the peak RSS so far; its last sample before exit is the peak.
	peak=0 i=0
	for (( i = 0; i < 1500; i++ )); do
		v=$(awk '/^VmHWM:/ { print $2 }' "/proc/$SPID/status" 2>/dev/null) || true
		[ -n "$v" ] || break
		[ "$v" -le "$peak" ] || peak=$v
		sleep 0.02
	done
	sock_ok 5
	wait_exit "$READER" 5
	[ "$EXIT_STATUS" -eq 0 ]
	[ "$(cat "$T/count")" -eq 52428800 ]
	echo "peak RSS of sock: $peak kB" >&2
	[ "$peak" -gt 0 ]
	[ "$peak" -lt 16384 ]
}

@test "SIGTERM ends sock promptly in the middle of a transfer" {
	peer_listen recv_n=1048576 touch="$T/flowing" recv_all=/dev/null
	sock_bg /dev/zero "$T/out" "$T/err" 127.0.0.1 "$PPORT"
	wait_for 5 test -e "$T/flowing"
	kill -TERM "$SPID"
	wait_exit "$SPID" 2
	[ "$EXIT_STATUS" -eq 143 ]
}
