# Shared helpers for sock's bats tests.
#
# Conventions: every background process is started through bg (or
# sock_listen), which records its PID so teardown can kill and reap it; fd 3
# is closed in background children or bats waits for them; readiness is
# polled, never slept for; ports come from the kernel (port 0) or from
# free_port.

# Variables set here (T, PORT, LPID, BG_PID, EXIT_STATUS, FEED_PID, DUAL,
# DUAL_FIRST, DUAL_SECOND, DUAL_RUN, BH_PORT, SPID, PEER, PPORT) are read by
# the .bats files that load this one.
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

# ---------------------------------------------------------------- feeds

# open_feed FIFO: make FIFO and keep it open for writing in a background
# process (FEED_PID), so whoever reads it sees no end of input until
# end_feed kills that process.
open_feed() {
	hold_fifo "$1"
	# shellcheck disable=SC2016 # $0 is expanded by the inner shell
	bg sh -c 'exec sleep 60 >"$0"' "$1"
	FEED_PID=$BG_PID
}

# end_feed PID: end the feed whose writer is PID (FEED_PID of open_feed):
# its reader then sees end of input.
end_feed() {
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# feed FIFO TEXT: write TEXT to an open FIFO (bounded, never hangs).
feed() {
	# shellcheck disable=SC2016 # $0 and $1 are expanded by the inner shell
	timeout 5 sh -c 'printf "%s" "$1" >"$0"' "$1" "$2"
}

# ---------------------------------------------------------------- checks

# has_text FILE TEXT: FILE contains TEXT.
has_text() {
	grep -qF -- "$2" "$1"
}

# has_line FILE LINE: FILE has LINE as a whole line; otherwise say so and
# show FILE on stderr.
has_line() {
	if ! grep -qFx -- "$2" "$1"; then
		echo "no line \"$2\" in $1:" >&2
		cat "$1" >&2
		return 1
	fi
}

# size_is FILE N: FILE is a regular file of exactly N bytes.
size_is() {
	[ -f "$1" ] && [ "$(wc -c <"$1")" -eq "$2" ]
}

# now_ms: the current time in milliseconds since the epoch.
now_ms() {
	echo $(( $(date +%s%N) / 1000000 ))
}

# elapsed_ms START: milliseconds since START (from date +%s%N).
elapsed_ms() {
	echo $(( ($(date +%s%N) - $1) / 1000000 ))
}

# ---------------------------------------------------------------- addresses

# has_ipv6_loopback: ::1 is configured on this machine.
has_ipv6_loopback() {
	grep -q '^00000000000000000000000000000001 ' /proc/net/if_inet6 2>/dev/null
}

# need_dual_name: set DUAL to a host name that resolves to both ::1 and
# 127.0.0.1, DUAL_FIRST and DUAL_SECOND to its addresses in getaddrinfo
# order, and DUAL_RUN to the command prefix under which it resolves so
# (run "${DUAL_RUN[@]}" CMD...). localhost is used when it already does;
# otherwise a private mount namespace (unshare -m, as root) gets its own
# /etc/hosts. Skips the test where neither works.
need_dual_name() {
	local addrs
	has_ipv6_loopback || skip "::1 is not configured"
	addrs=$(getent ahosts localhost | awk '$2 == "STREAM" { print $1 }')
	if grep -qx '::1' <<<"$addrs" && grep -qx '127.0.0.1' <<<"$addrs"; then
		DUAL=localhost
		DUAL_RUN=()
	else
		printf '127.0.0.1 localhost\n::1 sock-dual.test\n127.0.0.1 sock-dual.test\n' \
		    >"$T/hosts"
		command -v unshare >/dev/null ||
		    skip "no name resolves to ::1 and 127.0.0.1, and no unshare"
		DUAL=sock-dual.test
		# shellcheck disable=SC2016 # $0 and $@ are expanded by the inner shell
		DUAL_RUN=(unshare -m sh -c 'mount --bind "$0" /etc/hosts && exec "$@"' "$T/hosts")
		"${DUAL_RUN[@]}" true 2>/dev/null ||
		    skip "no name resolves to ::1 and 127.0.0.1, and unshare -m fails"
		addrs=$("${DUAL_RUN[@]}" getent ahosts "$DUAL" |
		    awk '$2 == "STREAM" { print $1 }')
	fi
	DUAL_FIRST=$(sed -n 1p <<<"$addrs")
	DUAL_SECOND=$(sed -n 2p <<<"$addrs")
	[ -n "$DUAL_SECOND" ]
}

# blackhole: start a TCP listener on 127.0.0.1 that never answers a SYN and
# set BH_PORT; skip the test where that cannot be made. A python3 socket
# listens with a backlog of 0 and never accepts; one connection fills its
# accept queue, and Linux then drops every further SYN (tcp_conn_request:
# accept queue full), so a connect hangs in SYN_SENT until its own timeout.
# The script checks that with a probe connect before it prints the port.
# This is purely local, unlike the usual "unroutable address" trick.
blackhole() {
	need python3
	bg python3 -c '
import socket, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(0)
port = s.getsockname()[1]
fill = socket.create_connection(("127.0.0.1", port))
probe = socket.socket()
probe.settimeout(0.3)
try:
    probe.connect(("127.0.0.1", port))
    print("answers", flush=True)
except socket.timeout:
    print(port, flush=True)
time.sleep(60)
' >"$T/bh"
	wait_for 5 test -s "$T/bh"
	BH_PORT=$(cat "$T/bh")
	case $BH_PORT in
	*[!0-9]*) skip "cannot make a port that drops SYNs here" ;;
	esac
}

# ---------------------------------------------------------------- sock

# sock_listen_unix IN OUT ERR ARGS...: sock_listen for "sock -v -l -U ARGS"
# (a stream or, with -u, a datagram socket; its readiness line names the
# path, not a port), prefixed by the words of the array LAUNCH if the test
# set one; sets LPID.
sock_listen_unix() {
	local in=$1 out=$2 err=$3
	shift 3
	"${LAUNCH[@]}" "$SOCK" -v -l -U "$@" <"$in" >"$out" 2>"$err" 3>&- &
	LPID=$!
	PIDS+=("$LPID")
	wait_for 5 grep -Eq '^sock: listening on .* \(unix(gram)?\)$' "$err" ||
	    { cat "$err" >&2; return 1; }
}

# sock_bg IN OUT ERR ARGS...: run sock ARGS in the background with the given
# stdin, stdout and stderr (opened in the child, so FIFOs do not block the
# test; fds 3 and 5 closed); SPID is its PID.
sock_bg() {
	local in=$1 out=$2 err=$3
	shift 3
	"$SOCK" "$@" <"$in" >"$out" 2>"$err" 3>&- 5>&- &
	SPID=$!
	PIDS+=("$SPID")
}

# sock_ok [SECS]: sock (SPID) exits 0 within SECS (default 10); otherwise
# show its status and its stderr, $T/err.
sock_ok() {
	wait_exit "$SPID" "${1:-10}"
	if [ "$EXIT_STATUS" -ne 0 ]; then
		echo "sock exited $EXIT_STATUS" >&2
		cat "$T/err" >&2
		return 1
	fi
}

# ---------------------------------------------------------------- python peer

# PEER_PY: a scripted TCP peer on 127.0.0.1 (started by peer_listen and
# peer_connect below).
#   peer.py listen PORTFILE ACTION...   listen on port 0, write the port to
#                                       PORTFILE (atomically), accept one client
#   peer.py connect PORT ACTION...      connect to PORT
# With PEER_NODELAY set (non-empty) in its environment, the connection gets
# TCP_NODELAY.
# Actions, run in order (a failed check exits 1 with a "peer:" message):
#   rcvbuf=N           (listen, any position) SO_RCVBUF N before listening
#   no_client=SECS     (listen, first) check that nobody connects for SECS,
#                      then exit 0
#   name=FILE          write our own port (the client's port) to FILE
#   send=FILE          send the whole file
#   sendstr=TEXT       send TEXT
#   sendhex=HEX        send these bytes
#   drip=HEX,SECS      send these bytes one at a time, SECS apart
#   flood=N            send N bytes as fast as possible; a reset ends it quietly
#   stream=N,SECS      send "line K" N times, SECS apart
#   both=SEND,RECV     send file SEND and, at the same time, read until EOF
#                      into RECV; shut_wr once SEND is sent
#   recv_all=FILE      read until EOF into FILE (flushed after every read)
#   slow_recv=FILE     read until EOF into FILE, 64 KiB at a time, 0.03 s apart
#   recv_n=N[,FILE]    read exactly N bytes (EOF before that: failure), into
#                      FILE if given
#   paced_recv=N,SECS  read N bytes spread evenly over SECS, then until EOF
#   lines=N,FILE       read N lines; FILE gets the monotonic arrival time of
#                      each, one a line, and FILE.data the bytes
#   no_eof=SECS        check that nothing at all (no byte, no FIN) arrives for SECS
#   eof_within=SECS    check that EOF arrives within SECS (data before it is dropped)
#   shut_wr            shutdown(SHUT_WR): send our FIN
#   rst                close with SO_LINGER 0: send a reset
#   close              close normally
#   sleep=SECS         sleep
#   touch=FILE         create FILE (a progress mark the test waits for)
PEER_PY=$(cat <<'PY'
import os, socket, struct, sys, threading, time

def fail(msg):
    sys.stderr.write("peer: %s\n" % msg)
    sys.exit(1)

role, where, acts = sys.argv[1], sys.argv[2], sys.argv[3:]
if role == "listen":
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    for act in acts:
        if act.startswith("rcvbuf="):
            srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, int(act[7:]))
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    with open(where + ".tmp", "w") as f:
        f.write("%d\n" % srv.getsockname()[1])
    os.rename(where + ".tmp", where)
    if acts and acts[0].startswith("no_client="):
        srv.settimeout(float(acts[0].partition("=")[2]))
        try:
            srv.accept()
        except socket.timeout:
            sys.exit(0)
        fail("a client connected")
    c, _ = srv.accept()
    srv.close()
else:
    c = socket.create_connection(("127.0.0.1", int(where)))
if os.environ.get("PEER_NODELAY"):
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

def recv_into(path, slow=False):
    with open(path, "wb") as f:
        while True:
            if slow:
                d = c.recv(65536, socket.MSG_WAITALL)
                time.sleep(0.03)
            else:
                d = c.recv(65536)
            if not d:
                break
            f.write(d)
            f.flush()

for act in acts:
    op, _, arg = act.partition("=")
    if op == "rcvbuf":
        pass
    elif op == "name":
        with open(arg + ".tmp", "w") as f:
            f.write("%d\n" % c.getsockname()[1])
        os.rename(arg + ".tmp", arg)
    elif op == "send":
        with open(arg, "rb") as f:
            c.sendall(f.read())
    elif op == "sendstr":
        c.sendall(arg.encode())
    elif op == "sendhex":
        c.sendall(bytes.fromhex(arg))
    elif op == "drip":
        hx, secs = arg.split(",")
        for b in bytes.fromhex(hx):
            c.sendall(bytes([b]))
            time.sleep(float(secs))
    elif op == "flood":
        left, block = int(arg), os.urandom(1 << 20)
        try:
            while left > 0:
                n = c.send(block[:left])
                left -= n
        except OSError:
            pass
    elif op == "stream":
        n, secs = arg.split(",")
        for k in range(int(n)):
            if k:
                time.sleep(float(secs))
            c.sendall(b"line %d\n" % (k + 1))
    elif op == "both":
        src, dst = arg.split(",")
        def sender():
            with open(src, "rb") as f:
                c.sendall(f.read())
            c.shutdown(socket.SHUT_WR)
        t = threading.Thread(target=sender)
        t.start()
        recv_into(dst)
        t.join()
    elif op == "recv_all":
        recv_into(arg)
    elif op == "slow_recv":
        recv_into(arg, slow=True)
    elif op == "recv_n":
        n, _, path = arg.partition(",")
        left, got = int(n), []
        while left > 0:
            d = c.recv(min(left, 65536))
            if not d:
                fail("EOF with %d bytes still expected" % left)
            if path:
                got.append(d)
            left -= len(d)
        if path:
            with open(path, "wb") as f:
                f.write(b"".join(got))
    elif op == "paced_recv":
        n, secs = arg.split(",")
        total, rate, got = int(n), int(n) / float(secs), 0
        start = time.monotonic()
        while True:
            ahead = got / rate - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)
            d = c.recv(16384)
            if not d:
                break
            got += len(d)
        if got != total:
            fail("paced_recv: got %d bytes, expected %d" % (got, total))
    elif op == "lines":
        n, path = arg.split(",")
        data, stamps = b"", []
        while len(stamps) < int(n):
            d = c.recv(1)
            if not d:
                fail("EOF after %d lines" % len(stamps))
            data += d
            if d == b"\n":
                stamps.append(time.monotonic())
        with open(path, "w") as f:
            f.write("".join("%.6f\n" % t for t in stamps))
        with open(path + ".data", "wb") as f:
            f.write(data)
    elif op == "no_eof":
        c.settimeout(float(arg))
        try:
            d = c.recv(65536)
        except socket.timeout:
            d = None
        c.settimeout(None)
        if d is not None:
            fail("expected silence for %s s, got %s" % (arg, repr(d[:20]) if d else "EOF"))
    elif op == "eof_within":
        c.settimeout(float(arg))
        try:
            while c.recv(65536):
                pass
        except socket.timeout:
            fail("no EOF within %s s" % arg)
        c.settimeout(None)
    elif op == "shut_wr":
        c.shutdown(socket.SHUT_WR)
    elif op == "rst":
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
    elif op == "close":
        c.close()
    elif op == "sleep":
        time.sleep(float(arg))
    elif op == "touch":
        open(arg, "w").close()
    else:
        fail("unknown action " + act)
PY
)

# peer_listen ACTION...: start the python peer (PEER_PY) listening on
# 127.0.0.1; sets PPORT and PEER (its PID). Its stderr goes to $T/peer.err.
peer_listen() {
	rm -f "$T/pport"
	bg python3 -c "$PEER_PY" listen "$T/pport" "$@" 2>"$T/peer.err" 5>&-
	PEER=$BG_PID
	wait_for 5 test -s "$T/pport"
	PPORT=$(cat "$T/pport")
}

# peer_connect PORT ACTION...: start the python peer (PEER_PY) as a client
# of PORT on 127.0.0.1; sets PEER (its PID). Its stderr goes to $T/peer.err.
peer_connect() {
	bg python3 -c "$PEER_PY" connect "$@" 2>"$T/peer.err" 5>&-
	PEER=$BG_PID
}

# peer_ok [SECS]: the peer (PEER) exits 0 within SECS (default 10), so its
# checks passed; otherwise show $T/peer.err.
peer_ok() {
	wait_exit "$PEER" "${1:-10}"
	if [ "$EXIT_STATUS" -ne 0 ]; then
		cat "$T/peer.err" >&2
		return 1
	fi
}

# datagram_ping_pong LFEED CLIENT_ARGS...: with a datagram listener running
# (LPID; stdin the feed $T/lin, whose writer is LFEED; stdout $T/lout),
# start "sock CLIENT_ARGS" fed from $T/cin, send ping to the listener and
# pong back, end both stdins, and check that both exit 0 having carried
# exactly that.
datagram_ping_pong() {
	local lfeed=$1 cfeed cpid
	shift
	open_feed "$T/cin"
	cfeed=$FEED_PID
	# shellcheck disable=SC2016 # expanded by the inner shell
	bg sh -c 'i=$1 o=$2 e=$3; shift 3; exec "$0" "$@" <"$i" >"$o" 2>"$e"' \
	    "$SOCK" "$T/cin" "$T/cout" "$T/cerr" "$@"
	cpid=$BG_PID
	feed "$T/cin" 'ping
'
	wait_for 5 has_text "$T/lout" ping
	feed "$T/lin" 'pong
'
	wait_for 5 has_text "$T/cout" pong
	end_feed "$cfeed"
	end_feed "$lfeed"
	wait_exit "$cpid" 4
	[ "$EXIT_STATUS" -eq 0 ]
	wait_exit "$LPID" 4
	[ "$EXIT_STATUS" -eq 0 ]
	[ "$(cat "$T/lout")" = ping ]
	[ "$(cat "$T/cout")" = pong ]
}
