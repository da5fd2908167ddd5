# Shared helpers for sock's bats tests.
#
# Conventions: every background process is started through bg (or
# sock_listen), which records its PID so teardown can kill and reap it; fd 3
# is closed in background children or bats waits for them; readiness is
# polled, never slept for; ports come from the kernel (port 0) or from
# free_port.

# Variables set here (T, PORT, LPID, BG_PID, EXIT_STATUS) are read by the
# .bats files that load this one.
# shellcheck disable=SC2034
true

SOCK=${SOCK:-"$BATS_TEST_DIRNAME/../sock"}
PIDS=()

common_setup() {
	T=$BATS_TEST_TMPDIR
	PIDS=()
}

common_teardown() {
	local p
	for p in "${PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	PIDS=()
}

setup() { common_setup; }
teardown() { common_teardown; }

# need CMD...: skip the test when a peer program is missing. In CI every
# peer is installed by .ci/run, so a missing one is a failure there.
need() {
	local c
	for c in "$@"; do
		if ! command -v "$c" >/dev/null 2>&1; then
			if [ "${CI:-}" = true ]; then
				echo "$c is required in CI but not installed" >&2
				return 1
			fi
			skip "$c is not installed"
		fi
	done
}

# bg CMD...: run CMD in the background (fd 3 closed), remember its PID in
# BG_PID and in PIDS for teardown. Redirect by wrapping: bg sh -c '...'.
bg() {
	"$@" 3>&- &
	BG_PID=$!
	PIDS+=("$BG_PID")
}

# wait_for SECONDS COMMAND...: poll COMMAND every 20 ms until it succeeds;
# fail after SECONDS.
wait_for() {
	local limit=$(( $1 * 50 )) i=0
	shift
	until "$@"; do
		i=$((i + 1))
		if [ "$i" -ge "$limit" ]; then
			echo "timed out waiting for: $*" >&2
			return 1
		fi
		sleep 0.02
	done
}

# port_from FILE: print the port of the first "listening on ... port N" line.
port_from() {
	sed -n 's/^sock: listening on .* port \([0-9][0-9]*\) (.*)$/\1/p' "$1" | head -n 1
}

has_port_line() {
	[ -n "$(port_from "$1")" ]
}

# sock_listen IN OUT ERR ARGS...: start "sock -v -l ARGS" with stdin from
# IN, stdout to OUT and stderr to ERR; wait for its readiness line and set
# PORT and LPID. ARGS must make it listen on port 0 (or name a port).
sock_listen() {
	local in=$1 out=$2 err=$3
	shift 3
	"$SOCK" -v -l "$@" <"$in" >"$out" 2>"$err" 3>&- &
	LPID=$!
	PIDS+=("$LPID")
	wait_for 5 has_port_line "$err" || { cat "$err" >&2; return 1; }
	PORT=$(port_from "$err")
}

# wait_exit PID SECONDS: wait at most SECONDS for PID to exit and set
# EXIT_STATUS; fail (the test's "does not hang" assertion) if it is still
# running then.
wait_exit() {
	local pid=$1 limit=$(( $2 * 50 )) i=0
	while kill -0 "$pid" 2>/dev/null; do
		# A zombie counts as exited: wait below reaps it.
		if [ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" = Z ]; then
			break
		fi
		i=$((i + 1))
		if [ "$i" -ge "$limit" ]; then
			echo "process $pid still running after $2 s" >&2
			return 1
		fi
		sleep 0.02
	done
	EXIT_STATUS=0
	wait "$pid" || EXIT_STATUS=$?
}

# free_port [tcp|udp]: a port the kernel just handed out and released.
free_port() {
	python3 - "${1:-tcp}" <<'PY'
import socket, sys
kind = socket.SOCK_DGRAM if sys.argv[1] == "udp" else socket.SOCK_STREAM
s = socket.socket(socket.AF_INET, kind)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
PY
}

# is_listening PORT: something listens on TCP PORT (any address).
is_listening() {
	ss -Hltn "sport = :$1" | grep -q .
}

# is_bound_udp PORT: something has UDP PORT bound.
is_bound_udp() {
	ss -Hlun "sport = :$1" | grep -q .
}

# random_file PATH BYTES: write BYTES random bytes to PATH.
random_file() {
	head -c "$2" /dev/urandom >"$1"
}

# same_file A B: cmp, with sizes in the failure message.
same_file() {
	if ! cmp -s "$1" "$2"; then
		echo "files differ: $1 ($(wc -c <"$1") bytes) $2 ($(wc -c <"$2") bytes)" >&2
		return 1
	fi
}

# hold_fifo PATH: make a FIFO at PATH; the caller opens it for writing on a
# spare descriptor (exec 5>PATH) after a reader has been started, and closes
# it (exec 5>&-) to deliver end of stdin at a moment of the test's choosing.
hold_fifo() {
	rm -f "$1"
	mkfifo "$1"
}
