#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Stress: SPEC.md "The relay", rule 1 — no byte dropped, duplicated or
# reordered for any size of transfer and any speed of reader or writer, and
# memory stays bounded. Many sequential sock-to-sock transfers of random
# and boundary sizes, both directions, stdin/stdout as files and as pipes
# (on Linux those take the splice(2) path; SOCK_NOSPLICE=1 forces
# read/write), a stalled reader, a trickling writer, and peak RSS while
# 100 MB flow.
#
# Each @test body runs in a subshell (SC2030/SC2031); run sets status and
# output, and helper.bash sets PORT and LPID (SC2154/SC2153).
# shellcheck disable=SC2030,SC2031,SC2153,SC2154

load helper
bats_require_minimum_version 1.5.0

# Sizes every transfer test goes through: empty, one byte, and both sides
# of the boundaries that matter to the relay — PIPE_BUF and a page (4 KiB),
# the default pipe size (64 KiB), relay.c's buffer (128 KiB), the pipe size
# it asks for with F_SETPIPE_SZ (1 MiB) — and the largest, 8 MiB.
BOUNDARY_SIZES=(0 1 4095 4096 4097 65535 65536 65537 131071 131072 131073
	1048575 1048576 1048577 8388608)

# Transfers per @test: 4 tests x 50 = 200 in all (about 10 s here; the
# whole file takes about 20 s).
TRANSFERS=50
MAX_SIZE=8388608

setup_file() {
	# One random source; each transfer sends a prefix of it.
	head -c "$MAX_SIZE" /dev/urandom >"$BATS_FILE_TMPDIR/src"
	# A seed for the random sizes, printed on failure so a run can be
	# repeated with STRESS_SEED=N.
	export STRESS_SEED=${STRESS_SEED:-$((RANDOM * 32768 + RANDOM))}
}

# random_size: set RSIZE to a size from 0 to 8 MiB - 1, spread evenly over
# the powers of two so that small transfers are as common as large ones.
# (Not echoed: RANDOM in a $(...) subshell would not follow the seed.)
random_size() {
	local bits=$((1 + RANDOM % 23)) r=$((RANDOM * 32768 + RANDOM))
	RSIZE=$((r % (1 << bits)))
}

# transfer DIRECTION IO SIZE SPLICE: one sock-to-sock transfer of SIZE
# bytes over 127.0.0.1, checked with cmp; both socks must exit 0.
#   DIRECTION  up: client stdin -> listener stdout
#              down: listener stdin -> client stdout
#   IO         file: stdin and stdout are files
#              pipe: stdin comes through cat, stdout goes through cat
#   SPLICE     splice, or nosplice (SOCK_NOSPLICE=1 for both socks)
transfer() {
	local dir=$1 io=$2 size=$3 mode=$4 in=$T/in out=$T/out fin=() rc=0
	local what="$dir/$io/$mode $size bytes (STRESS_SEED=$STRESS_SEED)"
	local lin=/dev/null lout=$out reader='' writer=''

	if [ "$mode" = nosplice ]; then
		export SOCK_NOSPLICE=1
	else
		unset SOCK_NOSPLICE
	fi
	# Two socks with empty stdin would each hold back their FIN until
	# the other has finished (rule 2): the sender of nothing says -N.
	[ "$size" -ne 0 ] || fin=(-N)
	head -c "$size" "$T/src" >"$in"
	rm -f "$out" "$T/lerr" "$T/cerr" "$T/ififo" "$T/ofifo"

	if [ "$dir" = down ]; then
		lin=$in
		lout=/dev/null
	fi
	if [ "$io" = pipe ] && [ "$dir" = up ]; then
		hold_fifo "$T/ofifo"
		# shellcheck disable=SC2016 # expanded by the inner shell
		bg sh -c 'exec cat "$0" >"$1"' "$T/ofifo" "$out"
		reader=$BG_PID
		lout=$T/ofifo
	elif [ "$io" = pipe ]; then
		hold_fifo "$T/ififo"
		# shellcheck disable=SC2016 # expanded by the inner shell
		bg sh -c 'exec cat "$0" >"$1"' "$in" "$T/ififo"
		writer=$BG_PID
		lin=$T/ififo
	fi
	if [ "$dir" = up ]; then
		sock_listen "$lin" "$lout" "$T/lerr" 127.0.0.1 0 || return 1
	else
		sock_listen "$lin" "$lout" "$T/lerr" "${fin[@]}" 127.0.0.1 0 ||
			return 1
	fi

	# The client, in the foreground, bounded by timeout.
	# shellcheck disable=SC2016 # expanded by the inner shells
	case $dir/$io in
	up/file)
		timeout 20 "$SOCK" "${fin[@]}" 127.0.0.1 "$PORT" \
		    <"$in" 2>"$T/cerr" || rc=$?
		;;
	up/pipe)
		timeout 20 bash -c 'set -o pipefail; cat "$1" |
		    "$0" "${@:3}" 127.0.0.1 "$2"' "$SOCK" "$in" "$PORT" \
		    "${fin[@]}" 2>"$T/cerr" || rc=$?
		;;
	down/file)
		timeout 20 "$SOCK" 127.0.0.1 "$PORT" </dev/null >"$out" \
		    2>"$T/cerr" || rc=$?
		;;
	down/pipe)
		timeout 20 bash -c 'set -o pipefail; "$0" 127.0.0.1 "$1" \
		    </dev/null | cat >"$2"' "$SOCK" "$PORT" "$out" \
		    2>"$T/cerr" || rc=$?
		;;
	esac
	if [ "$rc" -ne 0 ]; then
		echo "$what: client exited $rc" >&2
		cat "$T/cerr" >&2
		return 1
	fi
	if ! wait_exit "$LPID" 20 || [ "$EXIT_STATUS" -ne 0 ]; then
		echo "$what: listener exited ${EXIT_STATUS:-(still running)}" >&2
		cat "$T/lerr" >&2
		return 1
	fi
	if [ -n "$reader" ]; then
		wait_exit "$reader" 5 || return 1
	fi
	if [ -n "$writer" ]; then
		wait_exit "$writer" 5 || return 1
	fi
	if [ -s "$T/cerr" ]; then
		echo "$what: the client printed something:" >&2
		cat "$T/cerr" >&2
		return 1
	fi
	if ! same_file "$in" "$out"; then
		echo "$what: the data differ" >&2
		return 1
	fi
	# Every process of this transfer has been reaped: teardown must not
	# signal their PIDs, which the system may hand out again.
	PIDS=()
}

# transfers DIRECTION IO: TRANSFERS transfers — the boundary sizes through
# splice, the same sizes with SOCK_NOSPLICE=1, then random sizes, every
# third of those with SOCK_NOSPLICE=1.
transfers() {
	local i=0 n=${#BOUNDARY_SIZES[@]} size mode salt
	case $1/$2 in
	up/file) salt=1 ;;
	up/pipe) salt=2 ;;
	down/file) salt=3 ;;
	*) salt=4 ;;
	esac
	RANDOM=$((STRESS_SEED + salt))
	cp "$BATS_FILE_TMPDIR/src" "$T/src"
	while [ "$i" -lt "$TRANSFERS" ]; do
		mode=splice
		if [ "$i" -lt "$n" ]; then
			size=${BOUNDARY_SIZES[$i]}
		elif [ "$i" -lt $((2 * n)) ]; then
			size=${BOUNDARY_SIZES[$((i - n))]}
			mode=nosplice
		else
			random_size
			size=$RSIZE
			[ $((i % 3)) -ne 0 ] || mode=nosplice
		fi
		transfer "$1" "$2" "$size" "$mode" || return 1
		i=$((i + 1))
	done
}

@test "uploads of 50 sizes from 0 to 8 MiB, stdin and stdout files, arrive whole" {
	transfers up file
}

@test "uploads of 50 sizes from 0 to 8 MiB, stdin and stdout pipes, arrive whole" {
	transfers up pipe
}

@test "downloads of 50 sizes from 0 to 8 MiB, stdin and stdout files, arrive whole" {
	transfers down file
}

@test "downloads of 50 sizes from 0 to 8 MiB, stdin and stdout pipes, arrive whole" {
	transfers down pipe
}

# cpu_ticks PID: user + system CPU time of PID so far, in clock ticks.
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# stalled_reader DIRECTION SPLICE: 4 MB through a sock whose stdout reader
# (cat behind a FIFO) takes 100000 bytes, stalls for 2 s, then reads the
# rest. The writing sock must wait without spinning (under 0.3 s of CPU
# over the first second of the stall), then deliver every byte and exit 0.
stalled_reader() {
	local dir=$1 writer start
	[ "$2" = nosplice ] && export SOCK_NOSPLICE=1
	random_file "$T/in" 4000000
	hold_fifo "$T/ofifo"
	# shellcheck disable=SC2016 # expanded by the inner shell
	bg sh -c '{ head -c 100000; sleep 2; exec cat; } <"$0" >"$1"' \
	    "$T/ofifo" "$T/out"
	READER=$BG_PID
	start=$SECONDS
	if [ "$dir" = up ]; then
		sock_listen /dev/null "$T/ofifo" "$T/lerr" 127.0.0.1 0
		# shellcheck disable=SC2016 # expanded by the inner shell
		bg sh -c 'exec "$0" 127.0.0.1 "$1" <"$2" 2>"$3"' "$SOCK" \
		    "$PORT" "$T/in" "$T/cerr"
		CPID=$BG_PID
		writer=$LPID
	else
		sock_listen "$T/in" /dev/null "$T/lerr" 127.0.0.1 0
		# shellcheck disable=SC2016 # expanded by the inner shell
		bg sh -c 'exec "$0" 127.0.0.1 "$1" </dev/null >"$2" 2>"$3"' \
		    "$SOCK" "$PORT" "$T/ofifo" "$T/cerr"
		CPID=$BG_PID
		writer=$CPID
	fi
	wait_for 5 size_at_least "$T/out" 100000
	# The stall has begun: the writing sock fills the pipe (a few
	# milliseconds of CPU, counted in) and must then wait. Its CPU time
	# over the next second (the sleep is the measuring window, not a wait
	# for anything) must stay under 0.3 s.
	t0=$(cpu_ticks "$writer")
	sleep 1
	t1=$(cpu_ticks "$writer")
	# The window was inside the stall: the reader has not resumed.
	size_is "$T/out" 100000
	if [ $((t1 - t0)) -gt $(($(getconf CLK_TCK) * 3 / 10)) ]; then
		echo "sock $writer used $((t1 - t0)) ticks of CPU in 1 s of stall" >&2
		return 1
	fi
	wait_exit "$CPID" 20
	[ "$EXIT_STATUS" -eq 0 ] || { cat "$T/cerr" >&2; return 1; }
	wait_exit "$LPID" 20
	[ "$EXIT_STATUS" -eq 0 ] || { cat "$T/lerr" >&2; return 1; }
	wait_exit "$READER" 5
	[ $((SECONDS - start)) -ge 2 ]
	same_file "$T/in" "$T/out"
}

@test "a download to a stdout reader that stalls for 2 s then resumes arrives whole (splice)" {
	stalled_reader down splice
}

@test "a download to a stdout reader that stalls for 2 s then resumes arrives whole (read/write)" {
	stalled_reader down nosplice
}

@test "an upload to a stdout reader that stalls for 2 s then resumes arrives whole (splice)" {
	stalled_reader up splice
}

@test "an upload to a stdout reader that stalls for 2 s then resumes arrives whole (read/write)" {
	stalled_reader up nosplice
}

@test "300 bytes trickled into a client's stdin one at a time arrive whole and in order" {
	random_file "$T/in" 300
	sock_listen /dev/null "$T/out" "$T/lerr" 127.0.0.1 0
	# shellcheck disable=SC2016 # expanded by the inner shell
	run -0 --separate-stderr timeout 20 bash -c 'set -o pipefail
	    python3 "$3" trickle "$2" | "$0" 127.0.0.1 "$1"' "$SOCK" "$PORT" \
	    "$T/in" "$PEER_PY"
	[ -z "$stderr" ]
	wait_exit "$LPID" 10
	[ "$EXIT_STATUS" -eq 0 ]
	same_file "$T/in" "$T/out"
}

@test "300 bytes trickled into a listener's stdin one at a time reach the client whole and in order" {
	random_file "$T/in" 300
	hold_fifo "$T/ififo"
	# The child opens the FIFO: a redirection here would block the test.
	# shellcheck disable=SC2016 # expanded by the inner shell
	bg sh -c 'exec python3 "$0" trickle "$1" >"$2"' "$PEER_PY" "$T/in" \
	    "$T/ififo"
	sock_listen "$T/ififo" /dev/null "$T/lerr" 127.0.0.1 0
	# shellcheck disable=SC2016 # expanded by the inner shell
	run -0 --separate-stderr timeout 20 sh -c \
	    'exec "$0" 127.0.0.1 "$1" </dev/null >"$2"' "$SOCK" "$PORT" "$T/out"
	[ -z "$stderr" ]
	wait_exit "$LPID" 10
	[ "$EXIT_STATUS" -eq 0 ]
	same_file "$T/in" "$T/out"
}

# vmhwm PID: the peak resident set size of PID so far, in kB.
vmhwm() {
	awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"
}

# peak_rss SPLICE: 100 MiB from a client (stdin a pipe the test feeds) to a
# listener (stdout /dev/null). Once all of it has been written into the
# client's stdin, both socks' peak RSS (VmHWM) must be under 20 MB; then
# stdin ends, both exit 0, and the listener reports every byte received.
# The bound holds for the sanitizer build too (about 10 MB there, 4 MB
# otherwise, on 2026-12-04), so make sanitize runs it as it is.
peak_rss() {
	local total=104857600 c l
	[ "$1" = nosplice ] && export SOCK_NOSPLICE=1
	hold_fifo "$T/ififo"
	sock_listen /dev/null /dev/null "$T/lerr" 127.0.0.1 0
	# shellcheck disable=SC2016 # expanded by the inner shell
	bg sh -c 'exec "$0" -v 127.0.0.1 "$1" <"$2" 2>"$3"' "$SOCK" "$PORT" \
	    "$T/ififo" "$T/cerr"
	CPID=$BG_PID
	# Read-write, so the open cannot block even if the client is gone.
	exec 5<>"$T/ififo"
	timeout 30 head -c "$total" /dev/zero >&5
	c=$(vmhwm "$CPID")
	l=$(vmhwm "$LPID")
	exec 5>&-
	echo "peak RSS: client $c kB, listener $l kB" >&2
	wait_exit "$CPID" 10
	[ "$EXIT_STATUS" -eq 0 ] || { cat "$T/cerr" >&2; return 1; }
	wait_exit "$LPID" 10
	[ "$EXIT_STATUS" -eq 0 ] || { cat "$T/lerr" >&2; return 1; }
	grep -q "received $total bytes" "$T/lerr" || { cat "$T/lerr" >&2; return 1; }
	grep -q "sent $total bytes" "$T/cerr" || { cat "$T/cerr" >&2; return 1; }
	[ "$c" -lt 20000 ]
	[ "$l" -lt 20000 ]
}

@test "while 100 MiB flow through the splice path, neither sock's peak RSS reaches 20 MB" {
	peak_rss splice
}

@test "while 100 MiB flow through the read/write path, neither sock's peak RSS reaches 20 MB" {
	peak_rss nosplice
}
