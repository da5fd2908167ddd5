#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Observation (sock(1), "Observing a session"): -v events and the summary
# line, --progress, the -o hex dump, -C, -t and -i. Byte counts, dumps and
# the bytes on the wire are checked exactly, against a scripted python3
# peer.
#
# Each @test body runs in a subshell (SC2030/SC2031); run sets status,
# output and stderr, and helper.bash sets PORT and LPID (SC2154/SC2153).
# shellcheck disable=SC2030,SC2031,SC2153,SC2154

load helper
bats_require_minimum_version 1.5.0

# The scripted python3 peer (test/peer.py, started by peer_listen and
# peer_connect in helper.bash) sets TCP_NODELAY in this file, so that each
# of its sends goes out at once: the byte counts, dumps and timings here
# are checked exactly.
export PEER_NODELAY=1

# summary_is FILE SENT RECEIVED: the last line of FILE is the -v summary
# with exactly these byte counts.
summary_is() {
	local last re
	last=$(tail -n 1 "$1")
	re="^sock: sent $2 bytes, received $3 bytes in [0-9]+(\.[0-9]{1,3})? s \([0-9]+\.[0-9] MB/s\)$"
	if ! [[ $last =~ $re ]]; then
		echo "last line of $1 is not the summary for $2/$3 bytes:" >&2
		cat "$1" >&2
		return 1
	fi
}

# expect_dump FILE MARKER [OFFSET [START [LEN]]]: print what sock's -o must
# write for the LEN bytes of FILE from START (all by default) sent
# (MARKER >) or received (<) at direction offset OFFSET: hexdump -C lines
# with the marker in front.
expect_dump() {
	python3 "$PEER_PY" hexdump "$@"
}

# same_text EXPECTED ACTUAL: files equal, with a diff on failure.
same_text() {
	if ! cmp -s "$1" "$2"; then
		diff "$1" "$2" >&2 || true
		return 1
	fi
}

# The 40-byte payload: controls, printable ASCII, DEL, high bytes, 0xff.
payload40() {
	printf '\000\001\007\t\n\r\033\037 !AZaz09~\177\200\237\240\376\377%s' \
		'hello, wor|d.' >"$1"
	printf '\n\n\n\377' >>"$1"
	[ "$(wc -c <"$1")" -eq 40 ]
}

# ---- -v ----------------------------------------------------------------

@test "-v on a client: connected, both FINs and a summary with the exact byte counts both ways" {
	random_file "$T/up" 1234567
	random_file "$T/down" 7654321
	peer_listen both="$T/down,$T/got" close
	sock_bg "$T/up" "$T/out" "$T/err" -v 127.0.0.1 "$PPORT"
	sock_ok
	peer_ok
	same_file "$T/up" "$T/got"
	same_file "$T/down" "$T/out"
	[ "$(head -n 1 "$T/err")" = "sock: connected to 127.0.0.1 port $PPORT (tcp)" ]
	has_line "$T/err" "sock: FIN sent to 127.0.0.1 port $PPORT"
	has_line "$T/err" "sock: FIN received from 127.0.0.1 port $PPORT"
	summary_is "$T/err" 1234567 7654321
	[ "$(wc -l <"$T/err")" -eq 4 ]
	run -1 grep -c trying "$T/err"
}

@test "-v on a listener: listening, connection from the client's port, FINs and the exact summary" {
	random_file "$T/up" 1234567
	random_file "$T/down" 7654321
	sock_listen "$T/up" "$T/out" "$T/err" 127.0.0.1 0
	SPID=$LPID
	peer_connect "$PORT" name="$T/cport" both="$T/down,$T/got" close
	sock_ok
	peer_ok
	same_file "$T/up" "$T/got"
	same_file "$T/down" "$T/out"
	cport=$(cat "$T/cport")
	[ "$(sed -n 1p "$T/err")" = "sock: listening on 127.0.0.1 port $PORT (tcp)" ]
	[ "$(sed -n 2p "$T/err")" = "sock: connection from 127.0.0.1 port $cport (tcp)" ]
	has_line "$T/err" "sock: FIN sent to 127.0.0.1 port $cport"
	has_line "$T/err" "sock: FIN received from 127.0.0.1 port $cport"
	summary_is "$T/err" 1234567 7654321
	[ "$(wc -l <"$T/err")" -eq 5 ]
}

@test "-v summary of an empty session says 0 bytes sent and 0 received" {
	peer_listen shut_wr recv_all="$T/got" close
	sock_bg /dev/null "$T/out" "$T/err" -v 127.0.0.1 "$PPORT"
	sock_ok
	peer_ok
	[ ! -s "$T/got" ]
	[ ! -s "$T/out" ]
	has_line "$T/err" "sock: connected to 127.0.0.1 port $PPORT (tcp)"
	has_line "$T/err" "sock: FIN received from 127.0.0.1 port $PPORT"
	summary_is "$T/err" 0 0
}

@test "-v summary counts a one-way download exactly (sent 0)" {
	random_file "$T/down" 300001
	peer_listen send="$T/down" close
	sock_bg /dev/null "$T/out" "$T/err" -v 127.0.0.1 "$PPORT"
	sock_ok
	peer_ok
	same_file "$T/down" "$T/out"
	summary_is "$T/err" 0 300001
}

@test "-vv adds a trying line before connected; -v has none" {
	peer_listen shut_wr recv_all="$T/got" close
	sock_bg /dev/null "$T/out" "$T/err" -vv 127.0.0.1 "$PPORT"
	sock_ok
	peer_ok
	[ "$(sed -n 1p "$T/err")" = "sock: trying 127.0.0.1 port $PPORT (tcp)" ]
	[ "$(sed -n 2p "$T/err")" = "sock: connected to 127.0.0.1 port $PPORT (tcp)" ]
	summary_is "$T/err" 0 0
}

# ---- --progress --------------------------------------------------------

@test "--progress on a terminal redraws one line with \\r and clears it at the end" {
	need script
	random_file "$T/data" 200000
	peer_listen sleep=1 recv_all="$T/got" close
	cmd=$(printf '%q ' "$SOCK" --progress 127.0.0.1 "$PPORT")
	cmd="exec $cmd <$(printf %q "$T/data") >/dev/null"
	# script gives sock a pseudo-terminal as stderr; what sock draws on it
	# comes out on script's stdout.
	run -0 timeout 10 script -qec "$cmd" /dev/null </dev/null
	peer_ok
	same_file "$T/data" "$T/got"
	printf '%s' "$output" >"$T/tty"
	od -c "$T/tty" | head -n 5 >&2
	# Begins with a redraw, has several, never a newline, ends cleared.
	[[ $output == $'\r'"sock: sent "* ]]
	[[ $output == *$'\r\033[K' ]]
	[[ $output != *$'\n'* ]]
	n=$(grep -o $'\rsock: sent ' "$T/tty" | wc -l)
	[ "$n" -ge 2 ]
	# A redraw in full: stdin is a regular file, so percent and ETA.
	rate='[0-9]+(\.[0-9])? (B|KiB|MiB)'
	re=$'\r'"sock: sent $rate, received 0 B, $rate/s \(average $rate/s\), 0:0[0-9], [0-9]+%, ETA [0-9]+:[0-9]{2}"$'\033\\[K'
	[[ $output =~ $re ]]
}

@test "--progress on a terminal with -v: an event line never lands on the progress line" {
	need script
	peer_listen sleep=0.7 shut_wr recv_all="$T/got" close
	cmd=$(printf '%q ' "$SOCK" -v --progress 127.0.0.1 "$PPORT")
	cmd="exec $cmd </dev/null >/dev/null"
	timeout 10 script -qec "$cmd" /dev/null </dev/null >"$T/tty"
	peer_ok
	od -c "$T/tty" >&2
	# Every -v line starts a line of its own: after a newline, or after
	# the progress line was cleared (\r ESC [K).
	python3 "$PEER_PY" tty-lines "$T/tty"
}

@test "--progress with stderr not a terminal prints nothing besides the -v lines" {
	random_file "$T/data" 200000
	peer_listen sleep=0.8 recv_all="$T/got" close
	sock_bg "$T/data" "$T/out" "$T/err" -v --progress 127.0.0.1 "$PPORT"
	sock_ok
	peer_ok
	same_file "$T/data" "$T/got"
	run -1 grep -c $'[\r\033]' "$T/err"
	# Every line is a -v line.
	run -1 grep -c -v -E '^sock: ((connected to|FIN sent to|FIN received from) 127\.0\.0\.1 port [0-9]+( \(tcp\))?|sent 200000 bytes, received 0 bytes in .*)$' "$T/err"
	summary_is "$T/err" 200000 0
}

@test "--progress=always to a file writes a line a second with percent and ETA for a file on stdin" {
	random_file "$T/data" 12582912
	# A receiver with a small window that takes about 2.5 s for 12 MiB.
	peer_listen rcvbuf=65536 paced_recv=12582912,2.5 close
	sock_bg "$T/data" "$T/out" "$T/err" --progress=always 127.0.0.1 "$PPORT"
	sock_ok 15
	peer_ok
	cat "$T/err" >&2
	run -1 grep -c $'[\r\033]' "$T/err"
	rate='[0-9]+(\.[0-9])? (B|KiB|MiB|GiB)'
	re="^sock: sent $rate, received 0 B, $rate/s \(average $rate/s\), 0:0[0-9], [0-9]+%, ETA [0-9]+:[0-9]{2}$"
	while IFS= read -r line; do
		[[ $line =~ $re ]] || { echo "bad line: $line" >&2; false; }
	done <"$T/err"
	# At least two periodic lines, then the final one.
	[ "$(wc -l <"$T/err")" -ge 3 ]
	grep -q -E '^sock: sent .*, 0:01, [0-9]+%, ETA ' "$T/err"
	grep -q -E '^sock: sent .*, 0:02, [0-9]+%, ETA ' "$T/err"
	[[ $(tail -n 1 "$T/err") =~ ^sock:\ sent\ 12\.0\ MiB,\ received\ 0\ B,\ .*,\ 100%,\ ETA\ 0:00$ ]]
	# The first periodic line is not at 100% yet.
	[[ $(head -n 1 "$T/err") != *100%* ]]
}

@test "--progress=always with a pipe on stdin has no percent or ETA and counts both directions" {
	random_file "$T/data" 1048576
	random_file "$T/down" 2097152
	peer_listen both="$T/down,$T/got" close
	# shellcheck disable=SC2016 # expanded by the inner shell
	run -0 --separate-stderr timeout 10 sh -c 'cat "$1" | "$2" --progress=always 127.0.0.1 "$3" >"$4"' \
		sh "$T/data" "$SOCK" "$PPORT" "$T/out"
	peer_ok
	same_file "$T/data" "$T/got"
	same_file "$T/down" "$T/out"
	rate='[0-9]+(\.[0-9])? (B|KiB|MiB|GiB)'
	[[ $stderr =~ ^sock:\ sent\ 1\.0\ MiB,\ received\ 2\.0\ MiB,\ $rate/s\ \(average\ $rate/s\),\ 0:0[0-9]$ ]]
}

@test "--progress=bogus is a usage error" {
	run -2 --separate-stderr "$SOCK" --progress=bogus 127.0.0.1 9
	[ -z "$output" ]
	[ "${stderr_lines[0]}" = 'sock: invalid --progress value "bogus": must be auto or always' ]
	[ "${stderr_lines[1]}" = "sock: see 'sock --help' for usage" ]
}

# ---- -o / --hex-dump ---------------------------------------------------

@test "-o dumps a short send as one line in hexdump -C form with a > marker" {
	printf 'hello\n' >"$T/data"
	peer_listen recv_all="$T/got" close
	sock_bg "$T/data" "$T/out" "$T/err" -o "$T/dump" 127.0.0.1 "$PPORT"
	sock_ok
	peer_ok
	printf '%s\n' '> 00000000  68 65 6c 6c 6f 0a                                 |hello.|' >"$T/want"
	same_text "$T/want" "$T/dump"
}

@test "-o: 40 sent bytes of every class are dumped byte for byte" {
	payload40 "$T/data"
	peer_listen recv_all="$T/got" close
	sock_bg "$T/data" "$T/out" "$T/err" -o "$T/dump" 127.0.0.1 "$PPORT"
	sock_ok
	peer_ok
	same_file "$T/data" "$T/got"
	expect_dump "$T/data" '>' >"$T/want"
	[ "$(wc -l <"$T/want")" -eq 3 ]
	same_text "$T/want" "$T/dump"
	# Cross-check the expected text against hexdump -C where it exists.
	if command -v hexdump >/dev/null; then
		hexdump -C -v "$T/data" | sed '$d; s/^/> /' >"$T/want2"
		same_text "$T/want2" "$T/dump"
	fi
}

@test "--hex-dump: 40 received bytes are dumped with < markers by a listener" {
	payload40 "$T/data"
	sock_listen /dev/null "$T/out" "$T/err" --hex-dump "$T/dump" 127.0.0.1 0
	SPID=$LPID
	peer_connect "$PORT" send="$T/data" shut_wr recv_all="$T/got" close
	sock_ok
	peer_ok
	same_file "$T/data" "$T/out"
	expect_dump "$T/data" '<' >"$T/want"
	same_text "$T/want" "$T/dump"
}

@test "-o: lines never mix directions, a partial line ends each turn, offsets are per direction" {
	printf 'first request, 20 b' >"$T/a"    # 19 bytes
	printf 'the answer: 21 bytes' >"$T/b"   # 20 bytes
	printf 'second request\n' >"$T/c"       # 15 bytes
	cat "$T/a" "$T/c" >"$T/sent"
	peer_listen recv_n="19,$T/got1" send="$T/b" recv_all="$T/got2" close
	hold_fifo "$T/in"
	sock_bg "$T/in" "$T/out" "$T/err" -o "$T/dump" 127.0.0.1 "$PPORT"
	exec 5>"$T/in"
	cat "$T/a" >&5
	wait_for 5 size_is "$T/out" 20
	cat "$T/c" >&5
	exec 5>&-
	sock_ok
	peer_ok
	same_file "$T/b" "$T/out"
	{
		expect_dump "$T/a" '>'
		expect_dump "$T/b" '<'
		expect_dump "$T/c" '>' 19
	} >"$T/want"
	cat "$T/dump" >&2
	same_text "$T/want" "$T/dump"
	# Spelled out: the > lines end at 0x13 (a partial line of 3 bytes).
	[ "$(sed -n 2p "$T/dump" | cut -c1-12)" = '> 00000010  ' ]
	[ "$(sed -n 5p "$T/dump" | cut -c1-12)" = '> 00000013  ' ]
}

@test "-o: a 1 MB upload is dumped whole (the zero-copy path is off)" {
	random_file "$T/data" 1048576
	peer_listen recv_all="$T/got" close
	sock_bg "$T/data" "$T/out" "$T/err" -o "$T/dump" 127.0.0.1 "$PPORT"
	sock_ok
	peer_ok
	same_file "$T/data" "$T/got"
	[ "$(wc -l <"$T/dump")" -eq 65536 ]
	[ "$(tail -n 1 "$T/dump" | cut -c1-12)" = '> 000ffff0  ' ]
	expect_dump "$T/data" '>' >"$T/want"
	same_text "$T/want" "$T/dump"
}

@test "-o: 1 MB each way at once: every line well formed and both streams rebuilt exactly" {
	random_file "$T/up" 1048576
	random_file "$T/down" 1048576
	peer_listen both="$T/down,$T/got" close
	sock_bg "$T/up" "$T/out" "$T/err" -o "$T/dump" 127.0.0.1 "$PPORT"
	sock_ok
	peer_ok
	same_file "$T/up" "$T/got"
	same_file "$T/down" "$T/out"
	# Every line well formed (format, 1-16 bytes, ASCII column, offsets
	# continuing per direction); each direction's bytes rebuilt.
	python3 "$PEER_PY" parse-dump "$T/dump" "$T/dsent" "$T/drecv"
	same_file "$T/up" "$T/dsent"
	same_file "$T/down" "$T/drecv"
}

@test "-o to an unwritable path exits 4 with a message, before connecting" {
	peer_listen no_client=1.5
	run -4 --separate-stderr timeout 5 "$SOCK" -o /nonexistent/dir/x 127.0.0.1 "$PPORT" </dev/null
	[ "$stderr" = "sock: -o /nonexistent/dir/x: No such file or directory" ]
	[ -z "$output" ]
	peer_ok
}

@test "-o to a full disk exits 4 with a write to hex dump message" {
	local n
	for n in 100 100000; do
		random_file "$T/data" "$n"
		peer_listen recv_all="$T/got" close
		run --separate-stderr timeout 10 "$SOCK" -o /dev/full 127.0.0.1 "$PPORT" <"$T/data"
		peer_ok
		same_file "$T/data" "$T/got"
		if [ "$status" -ne 4 ] ||
			[ "$stderr" != "sock: write to hex dump: No space left on device" ]; then
			echo "$n bytes: exit $status, stderr \"$stderr\"" >&2
			return 1
		fi
	done
}

# ---- -C ----------------------------------------------------------------

@test "-C sends each LF as CRLF, never doubles a CR before LF, also across two reads" {
	peer_listen recv_all="$T/got" sendhex=6261636b0a close
	hold_fifo "$T/in"
	sock_bg "$T/in" "$T/out" "$T/err" -C 127.0.0.1 "$PPORT"
	exec 5>"$T/in"
	# The first write ends with a CR, the second starts with its LF.
	printf 'one\ntwo\r\nx\ry\nthree\r' >&5
	wait_for 5 size_is "$T/got" 21
	printf '\nfour\n\n' >&5
	exec 5>&-
	sock_ok
	peer_ok
	printf 'one\r\ntwo\r\nx\ry\r\nthree\r\nfour\r\n\r\n' >"$T/want"
	if ! cmp -s "$T/want" "$T/got"; then
		od -c "$T/got" >&2
		false
	fi
	# What arrives is not changed.
	[ "$(od -An -tx1 "$T/out" | tr -d ' \n')" = 6261636b0a ]
}

# ---- -t ----------------------------------------------------------------

# Negotiation: IAC DO 1, IAC WILL 3, "abc", IAC IAC, "def",
# IAC SB 24 1 IAC SE, "ghi\n".
TELNET_IN=fffd01fffb03616263ffff646566fffa1801fff06768690a

@test "-t strips negotiation, keeps an escaped 255 and refuses with WONT/DONT" {
	peer_listen sendhex="$TELNET_IN" shut_wr recv_all="$T/got" close
	sock_bg /dev/null "$T/out" "$T/err" -t 127.0.0.1 "$PPORT"
	sock_ok
	peer_ok
	[ "$(od -An -tx1 "$T/out" | tr -d ' \n')" = 616263ff6465666768690a ]
	[ "$(od -An -tu1 "$T/got" | tr -s ' \n' ' ')" = " 255 252 1 255 254 3 " ]
}

@test "-t keeps its state when commands arrive one byte at a time" {
	peer_listen drip="$TELNET_IN,0.01" shut_wr recv_all="$T/got" close
	sock_bg /dev/null "$T/out" "$T/err" -t 127.0.0.1 "$PPORT"
	sock_ok
	peer_ok
	[ "$(od -An -tx1 "$T/out" | tr -d ' \n')" = 616263ff6465666768690a ]
	[ "$(od -An -tu1 "$T/got" | tr -s ' \n' ' ')" = " 255 252 1 255 254 3 " ]
}

@test "without -t telnet bytes pass through untouched" {
	peer_listen sendhex="$TELNET_IN" shut_wr recv_all="$T/got" close
	sock_bg /dev/null "$T/out" "$T/err" 127.0.0.1 "$PPORT"
	sock_ok
	peer_ok
	[ "$(od -An -tx1 "$T/out" | tr -d ' \n')" = "$TELNET_IN" ]
	[ ! -s "$T/got" ]
}

# ---- -i ----------------------------------------------------------------

@test "-i 0.3 pauses between lines: three lines take at least 0.6 s and arrive intact" {
	printf 'one\ntwo\nthree\n' >"$T/data"
	peer_listen lines="3,$T/stamps" recv_all="$T/rest" close
	start=$(now_ms)
	sock_bg "$T/data" "$T/out" "$T/err" -i 0.3 127.0.0.1 "$PPORT"
	sock_ok
	elapsed=$(( $(now_ms) - start ))
	peer_ok
	[ "$(cat "$T/stamps.data")" = "$(printf 'one\ntwo\nthree')" ]
	[ ! -s "$T/rest" ]
	[ "$elapsed" -ge 600 ]
	# The lines arrive spread out, not at once (bounds allow for the peer
	# reading a line late).
	# shellcheck disable=SC2016 # awk's own variables
	run -0 awk '{ t[NR] = $1 } END { exit !(t[3] - t[1] >= 0.45 && t[3] - t[2] >= 0.2 && t[2] - t[1] >= 0.15) }' "$T/stamps"
}

@test "-i waiting for the rest of a line does not spin" {
	need python3
	run -0 timeout 20 python3 "$PEER_PY" line-wait "$SOCK"
}

@test "-i 0 and -i x are usage errors" {
	run -2 --separate-stderr "$SOCK" -i 0 127.0.0.1 9
	[ "${stderr_lines[0]}" = 'sock: invalid -i value "0": must be a number of seconds greater than 0' ]
	[ "${stderr_lines[1]}" = "sock: see 'sock --help' for usage" ]
	run -2 --separate-stderr "$SOCK" -i x 127.0.0.1 9
	[ "${stderr_lines[0]}" = 'sock: invalid -i value "x": must be a number of seconds greater than 0' ]
}
