#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# bench/bench.sh - measure sock against nc.openbsd, ncat and socat on 127.0.0.1.
#
#   bench/bench.sh [--quick] [--rounds N] [--forward-only | --tls-only |
#                  --peers-only [--peers LIST] | --udp-only]
#                  (from the repository root)
#
# Metrics, each for every installed tool, the same tool on both ends:
#   1. bulk TCP throughput in four shapes (file->null, pipe->pipe, download,
#      ->file), every run's byte count verified;
#   2. CPU seconds (user+sys of both relay processes) per GiB moved;
#   3. round-trip latency of 1-byte messages through the tool to an echo server;
#   4. start-up time (`TOOL -h`, refused connect) and peak RSS of the receiver;
#   5. sequential connections per second against a keep-listening listener;
#   6. TLS (sock --tls, ncat --ssl, socat OPENSSL): bulk throughput and CPU
#      per GiB both ways, handshakes per second against each tool's own
#      keep-listening listener (and that listener's CPU per handshake), the
#      time of one client's connect + handshake + 1 byte + close;
#   7. forwarding: throughput, the forwarder's CPU per GiB and sequential
#      connections per second through sock -> FORWARDER -> sock, the
#      forwarder being sock --forward, socat TCP-LISTEN:P,fork TCP:... or
#      ncat -k -c 'ncat ...'.
#   8. the tax of TLS on everything else: start-up of sock beside
#      a TLS=no build of the same sources (made here) and /bin/true, client
#      RSS and connections per second beside that build and nc.openbsd.
#   9. the real peers of forwarding and proxy serving:
#      sock --forward beside haproxy (no splice, splice-auto, splice-request
#      and -response), nginx's stream module, rinetd, socat and ncat -c;
#      sock --proxy-server beside dante and microsocks (SOCKS5) and ncat's
#      HTTP proxy (HTTP CONNECT): throughput and the peer's CPU per GiB both
#      ways, connections per second with 32 in flight, 1,000 and 9,900
#      connections held at once (how many echo 1 KiB, the peer's peak RSS
#      and RSS per connection), and a table of the goals against haproxy,
#      nginx, dante and microsocks.
#  10. UDP forwarding: datagrams per second through
#      sock -u --forward, socat UDP-RECVFROM,fork and nginx's stream module
#      (listen udp), and the forwarder's CPU per datagram.
# The tools are interleaved (A B C D A B C D ...) over several rounds; the
# tables show medians and ratios to nc.openbsd.  The raw per-run numbers are
# written to ${TMPDIR:-/tmp}/sock-bench-*.tsv.
#
# Environment: SOCK (default ./sock), SOCK_BASE (another sock binary, say
# an earlier commit's, run beside SOCK in the bulk shapes as "sock-base",
# for a before-and-after in one run), BENCH_DIR (where the data files go;
# default /dev/shm when it has room, else ${TMPDIR:-/tmp}), TMPDIR.

set -uo pipefail
export LC_ALL=C

usage() {
	cat <<'EOF'
usage: bench/bench.sh [--quick] [--rounds N] [--forward-only] [--tls-only]
                      [--peers-only] [--peers LIST] [--udp-only]

Compare sock with nc.openbsd, ncat and socat over 127.0.0.1: bulk throughput
(file->null, pipe->pipe, download, ->file), CPU per GiB, 1-byte round-trip
latency, start-up time, peak RSS and connections per second.

  --quick       1 round, 256 MiB transfers, fewer iterations (a few minutes)
  --rounds N    number of interleaved rounds (default 3)
  --forward-only  only forwarding: throughput, CPU per GiB, conn/s (sock, socat, ncat)
  --tls-only    only TLS and the tax of TLS: start-up beside a TLS=no build and
                /bin/true, client RSS, conn/s, TLS bulk both ways, handshakes
  --peers-only  only section 9: sock --forward and --proxy-server beside
                haproxy, nginx, rinetd, socat, ncat, dante and microsocks
                (throughput, CPU per GiB, conn/s, 1,000 and 9,900 held)
  --peers LIST  section 9 with only these peers (comma-separated): sock,
                haproxy, haproxy-splice-auto, haproxy-splice, nginx, rinetd,
                socat, ncat, sock-socks5, dante, microsocks, sock-http, ncat-http
  --udp-only    only section 10: UDP forwarding, datagrams per second and CPU
                per datagram, sock -u --forward beside socat and nginx
  -h, --help    this text

Environment: SOCK (the binary, default ./sock), SOCK_BASE (another sock
binary run beside it in the bulk shapes as sock-base: before and after in
one run), BENCH_DIR (directory for the data files, default /dev/shm if it
has room, else ${TMPDIR:-/tmp}), TMPDIR (where the raw results file is
written).
EOF
}

die() {
	printf 'bench: %s\n' "$*" >&2
	exit 1
}

note() {
	printf 'bench: %s\n' "$*" >&2
}

QUICK=0
FORWARD_ONLY=0
TLS_ONLY=0
PEERS_ONLY=0
UDP_ONLY=0
PEERS=
ROUNDS=
while (($# > 0)); do
	case $1 in
	--quick) QUICK=1 ;;
	--forward-only) FORWARD_ONLY=1 ;;
	--tls-only) TLS_ONLY=1 ;;
	--peers-only) PEERS_ONLY=1 ;;
	--udp-only) UDP_ONLY=1 ;;
	--peers)
		(($# >= 2)) || die "--peers needs a list"
		PEERS=$2
		shift
		;;
	--peers=*) PEERS=${1#--peers=} ;;
	--rounds)
		(($# >= 2)) || die "--rounds needs a value"
		ROUNDS=$2
		shift
		;;
	--rounds=*) ROUNDS=${1#--rounds=} ;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		usage >&2
		exit 2
		;;
	esac
	shift
done

if ((QUICK)); then
	: "${ROUNDS:=1}"
	U10_SECS=2
	BYTES=$((256 * 1024 * 1024))
	LAT_N=300
	CPS_N=100
	HS_N=300
	ONCE_N=50
	START_RUNS=100
else
	: "${ROUNDS:=3}"
	U10_SECS=5
	BYTES=$((2 * 1024 * 1024 * 1024))
	LAT_N=2000
	CPS_N=500
	HS_N=1000
	ONCE_N=100
	START_RUNS=200
fi
[[ $ROUNDS =~ ^[1-9][0-9]?$ ]] || die "--rounds must be a number from 1 to 99"

# ---------------------------------------------------------------- set-up ---

SOCK=${SOCK:-./sock}
if [[ ! -x $SOCK && $SOCK == ./sock && -f Makefile ]]; then
	note "$SOCK is missing; building it with make"
	make >&2 || die "make failed"
fi
[[ -x $SOCK ]] || die "$SOCK is not an executable (build it with make, or set SOCK)"
SOCK=$(realpath "$SOCK") || die "cannot resolve $SOCK"

[[ -n ${EPOCHREALTIME:-} ]] || die "bash 5 or later is needed"
command -v python3 >/dev/null || die "python3 is needed"
# The real interpreter (not a pyenv shim), started without site: fast start-up.
PY=$(python3 -c 'import sys; print(sys.executable)') || die "python3 does not run"
PY=("$PY" -I -S)
command -v ss >/dev/null || die "ss (iproute2) is needed"
for c in head wc stat realpath timeout mkfifo; do
	command -v "$c" >/dev/null || die "$c is needed"
done

TOOLS=()
for t in sock nc.openbsd ncat socat; do
	if [[ $t == sock ]] || command -v "$t" >/dev/null; then
		TOOLS+=("$t")
	else
		note "$t is not installed: skipped"
	fi
done

if [[ -z ${BENCH_DIR:-} ]]; then
	BENCH_DIR=${TMPDIR:-/tmp}
	# tmpfs keeps the disk out of the measurement; it must hold two files.
	if [[ -d /dev/shm && -w /dev/shm ]]; then
		avail=$(df -Pk /dev/shm | awk 'NR == 2 { print $4 }')
		if [[ $avail =~ ^[0-9]+$ ]] && ((avail * 1024 > 2 * BYTES + 512 * 1024 * 1024)); then
			BENCH_DIR=/dev/shm
		fi
	fi
fi
WORK=$(mktemp -d "$BENCH_DIR/sock-bench.XXXXXX") || die "cannot create a directory in $BENCH_DIR"
RAW=${TMPDIR:-/tmp}/sock-bench-$(date +%Y%m%d-%H%M%S)-$$.tsv
: >"$RAW" || die "cannot write $RAW"

# 6. TLS for the tools that speak it: sock (once its relay carries TLS),
# ncat --ssl and socat OPENSSL. sock's listener makes its temporary P-256
# certificate; ncat and socat get one of the same kind made here (ncat's
# own would be RSA-2048, slower to sign). Nothing is verified (as ncat
# does by default), so the numbers compare the relays, not the checks.
TLS_TOOLS=()
if ! grep -qa 'the relay does not carry TLS yet' "$SOCK" &&
    ! "$SOCK" --tls 127.0.0.1 1 </dev/null 2>&1 | grep -q 'built without TLS'; then
	TLS_TOOLS+=(sock)
else
	note "sock does not relay TLS (yet, or built without it): no TLS run for sock"
fi
for t in ncat socat; do
	[[ " ${TOOLS[*]} " == *" $t "* ]] && TLS_TOOLS+=("$t")
done
if [[ " ${TLS_TOOLS[*]} " == *" socat "* || " ${TLS_TOOLS[*]} " == *" ncat "* ]] &&
    ! openssl req -x509 -newkey ec \
    -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/tls.key" \
    -out "$WORK/tls.pem" -days 1 -subj /CN=localhost >/dev/null 2>&1; then
	note "no openssl to make a certificate: no TLS run for socat and ncat"
	TLS_TOOLS=("${TLS_TOOLS[@]/socat/}")
	TLS_TOOLS=("${TLS_TOOLS[@]/ncat/}")
fi

# 8. The same sources built with TLS=no (in $WORK): the floor that an
# invocation without --tls must reach.
SOCK_NOTLS=
SRC=$(cd "$(dirname "$0")/.." && pwd)
if ((PEERS_ONLY || UDP_ONLY)); then
	: # sections 9 and 10 alone have no use for it
elif mkdir "$WORK/notls" && cp "$SRC"/*.c "$SRC"/*.h "$SRC"/Makefile "$SRC"/VERSION "$WORK/notls/" &&
    make -s -C "$WORK/notls" TLS=no sock >"$WORK/notls.log" 2>&1; then
	SOCK_NOTLS=$WORK/notls/sock
else
	note "cannot build sock with TLS=no (see below): no TLS=no figures"
	cat "$WORK/notls.log" >&2
fi
NOTLS=()
[[ -n $SOCK_NOTLS ]] && NOTLS=(sock-notls)
BASE=()
if [[ -n ${SOCK_BASE:-} ]]; then
	[[ -x $SOCK_BASE ]] || die "SOCK_BASE: $SOCK_BASE is not an executable"
	BASE=(sock-base)
fi
TAX_TOOLS=(sock "${NOTLS[@]}")
[[ " ${TOOLS[*]} " == *" nc.openbsd "* ]] && TAX_TOOLS+=(nc.openbsd)

JOBS=()
cleanup() {
	local p='' f i
	local -a pids=()
	trap - INT TERM
	for f in "$WORK"/*.pid; do
		[[ -f $f ]] || continue
		read -r p <"$f" && [[ $p =~ ^[0-9]+$ ]] && pids+=("$p")
	done
	pids+=("${JOBS[@]}")
	for p in "${pids[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	# At most 3 s for them to go, then SIGKILL; reap our jobs.
	for ((i = 0; i < 30; i++)); do
		for p in "${pids[@]}"; do
			kill -0 "$p" 2>/dev/null && break
		done
		kill -0 "$p" 2>/dev/null || break
		nap 0.1
	done
	for p in "${pids[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	for p in "${JOBS[@]}"; do
		wait "$p" 2>/dev/null
	done
	[[ -n ${NAP_FD:-} ]] && exec {NAP_FD}>&-
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# nap SECONDS: sleep without forking (read from a FIFO nobody writes to).
mkfifo "$WORK/nap" || die "mkfifo failed"
exec {NAP_FD}<>"$WORK/nap"
nap() {
	read -r -t "$1" -u "$NAP_FD" _
}

# ------------------------------------------------------------ python parts ---
# Written to $WORK as files, run with "${PY[@]}".

# run.py PREFIX CMD...: run CMD, write PREFIX.pid (its pid) and, when it has
# exited, PREFIX.ru: "start end utime stime peak_rss_kib exit_code rss_source"
# (monotonic clock, seconds).  Exits with CMD's code.  The peak RSS is VmHWM
# read at the child's exit (a ptrace exit stop, nothing else is traced): the
# child's ru_maxrss would include this python's own RSS, which the kernel
# carries across the fork and exec.  Without ptrace, ru_maxrss is used.
cat >"$WORK/run.py" <<'EOF' || die "cannot write $WORK/run.py"
import ctypes, os, signal, sys, time
prefix, argv = sys.argv[1], sys.argv[2:]
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.restype = ctypes.c_long
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
TRACEME, CONT, SETOPTIONS = 0, 7, 0x4200
O_TRACEEXEC, O_TRACEEXIT, O_EXITKILL, EVENT_EXEC, EVENT_EXIT = 0x10, 0x40, 0x100000, 4, 6
t0 = time.monotonic()
pid = os.fork()
if pid == 0:
    try:
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        libc.ptrace(TRACEME, 0, None, None)     # stops at the exec
        os.execvp(argv[0], argv)
    except OSError as e:
        os.write(2, f"bench: {argv[0]}: {e.strerror}\n".encode())
    os._exit(127)
def forward(sig, _frame):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(s, forward)
with open(prefix + ".pid", "w") as f:
    f.write(f"{pid}\n")
hwm, traced = None, False
def hiwater():
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None
while True:
    _, status, ru = os.wait4(pid, 0)
    if not os.WIFSTOPPED(status):
        break
    sig, event = os.WSTOPSIG(status), (status >> 16) & 0xff
    if not traced and sig == signal.SIGTRAP:     # the exec
        traced = True
        libc.ptrace(SETOPTIONS, pid, None, O_TRACEEXEC | O_TRACEEXIT | O_EXITKILL)
        sig = 0
    elif event == EVENT_EXIT:
        hwm, sig = hiwater(), 0
    elif event == EVENT_EXEC:                     # a wrapper script's exec
        sig = 0
    libc.ptrace(CONT, pid, None, sig)            # pass other signals on
t1 = time.monotonic()
code = os.waitstatus_to_exitcode(status)
code = 128 - code if code < 0 else code
rss, src = (hwm, "VmHWM") if hwm is not None else (ru.ru_maxrss, "ru_maxrss")
with open(prefix + ".tmp", "w") as f:
    f.write(f"{t0:.6f} {t1:.6f} {ru.ru_utime:.6f} {ru.ru_stime:.6f} {rss} {code} {src}\n")
os.rename(prefix + ".tmp", prefix + ".ru")
os.unlink(prefix + ".pid")
sys.exit(code)
EOF

cat >"$WORK/freeport.py" <<'EOF' || die "cannot write $WORK/freeport.py"
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
EOF

# lat.py N WARMUP LIMIT CMD...: an echo server on 127.0.0.1, CMD (PORT in it
# replaced) as its client with stdin/stdout pipes; N timed round trips of one
# byte.  Prints "median_us p99_us".
cat >"$WORK/lat.py" <<'EOF' || die "cannot write $WORK/lat.py"
import os, signal, socket, subprocess, sys, time
n, warm, limit = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(4)
port = srv.getsockname()[1]
echo = os.fork()
if echo == 0:
    signal.alarm(int(limit) + 5)
    c, _ = srv.accept()
    srv.close()
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while True:
        d = c.recv(65536)
        if not d:
            break
        c.sendall(d)
    os._exit(0)
srv.close()
class Late(Exception):
    pass
def late(*_):
    raise Late()
signal.signal(signal.SIGALRM, late)
argv = [a.replace("PORT", str(port)) for a in sys.argv[4:]]
p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
w, r = p.stdin.fileno(), p.stdout.fileno()
lat, err = [], None
signal.setitimer(signal.ITIMER_REAL, limit)
try:
    for i in range(warm + n):
        t = time.perf_counter_ns()
        os.write(w, b"x")
        if os.read(r, 1) != b"x":
            err = f"no echo after {i} round trips (exit status {p.poll()})"
            break
        if i >= warm:
            lat.append(time.perf_counter_ns() - t)
except Late:
    err = f"timed out after {limit} s"
signal.setitimer(signal.ITIMER_REAL, 0)
p.stdin.close()
try:
    p.wait(timeout=0.5)
except subprocess.TimeoutExpired:
    p.terminate()
    try:
        p.wait(timeout=2)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
os.kill(echo, signal.SIGKILL)
os.waitpid(echo, 0)
if err:
    sys.exit(f"bench: latency {argv[0]}: {err}")
lat.sort()
print(f"{lat[len(lat) // 2] / 1000:.1f} {lat[min(len(lat) - 1, len(lat) * 99 // 100)] / 1000:.1f}")
EOF

# cps.py PORT N WARMUP LIMIT: N clients in sequence, each connects, sends 6
# bytes, half-closes and waits for the listener to close (so the listener
# has really served it).  Prints connections per second.
cat >"$WORK/cps.py" <<'EOF' || die "cannot write $WORK/cps.py"
import signal, socket, sys, time
port, n, warm, limit = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
class Late(Exception):
    pass
def late(*_):
    raise Late()
signal.signal(signal.SIGALRM, late)
signal.setitimer(signal.ITIMER_REAL, limit)
def one():
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(b"hello\n")
        s.shutdown(socket.SHUT_WR)
        while s.recv(4096):
            pass
    finally:
        s.close()
i = 0
try:
    for i in range(warm):
        one()
    t = time.monotonic()
    for i in range(n):
        one()
    el = time.monotonic() - t
except Late:
    sys.exit(f"bench: connections: timed out after {limit} s ({i} done)")
except OSError as e:
    sys.exit(f"bench: connections: client {i}: {e}")
print(f"{n / el:.1f}")
EOF

# hs.py PORT N WARMUP LIMIT PID: N TLS clients in sequence (python's ssl,
# nothing verified), each connects, finishes its handshake, sends 1 byte and
# closes. Prints handshakes per second, the CPU milliseconds the listener
# PID (with its reaped children) spent per handshake, and those the client
# (this python) spent. One client at a time waits for the listener and the
# listener for it: the rate is 1 / (client's + listener's time), and since
# the python client costs more CPU than any listener here, a listener
# twice as cheap as another shows in its CPU per handshake much more than
# in the rate (several clients at once would not help on a machine of two
# cores, which they would fill). Clock ticks count the CPU: 10 ms, over N.
cat >"$WORK/hs.py" <<'EOF' || die "cannot write $WORK/hs.py"
import os, signal, socket, ssl, sys, time
port, n, warm, limit, pid = (int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]),
                             float(sys.argv[4]), sys.argv[5])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
class Late(Exception):
    pass
def late(*_):
    raise Late()
def cpu():
    with open(f"/proc/{pid}/stat") as f:
        v = f.read().rsplit(")", 1)[1].split()
    return sum(int(x) for x in v[11:15]) / os.sysconf("SC_CLK_TCK")
def one():
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    t = ctx.wrap_socket(s, server_hostname="localhost")
    t.sendall(b"x")
    t.close()
signal.signal(signal.SIGALRM, late)
signal.setitimer(signal.ITIMER_REAL, limit)
i = 0
try:
    for i in range(warm):
        one()
    c0, t0, o0 = cpu(), time.monotonic(), os.times()
    for i in range(n):
        one()
    el, c1, o1 = time.monotonic() - t0, cpu(), os.times()
except Late:
    sys.exit(f"bench: handshakes: timed out after {limit} s ({i} done)")
except (OSError, ssl.SSLError) as e:
    sys.exit(f"bench: handshakes: client {i}: {e}")
own = (o1.user - o0.user) + (o1.system - o0.system)
print(f"{n / el:.1f} {(c1 - c0) * 1000 / n:.3f} {own * 1000 / n:.3f}")
EOF

# once.py N IN CMD...: the median wall time (ms) of N runs of CMD (after 5
# warm-up runs) with its stdin from the file IN; fails unless each exits 0.
cat >"$WORK/once.py" <<'EOF' || die "cannot write $WORK/once.py"
import subprocess, sys, time
n, path, argv = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
ts = []
for i in range(5 + n):
    with open(path, "rb") as f:
        t = time.perf_counter()
        c = subprocess.run(argv, stdin=f, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10).returncode
        t = time.perf_counter() - t
    if c != 0:
        sys.exit(f"bench: {argv[0]} exited with {c}")
    if i >= 5:
        ts.append(t)
ts.sort()
print(f"{ts[len(ts) // 2] * 1000:.3f}")
EOF

# taxstart.py N NAME=CMD ...: N rounds, each running every CMD (one string,
# split on spaces) once, the order rotated each round so that the
# machine's drift falls on all alike; prints "NAME median_ms" per CMD.
cat >"$WORK/taxstart.py" <<'EOF' || die "cannot write $WORK/taxstart.py"
import os, statistics, sys, time
n, cmds = int(sys.argv[1]), [a.split("=", 1) for a in sys.argv[2:]]
ts = {name: [] for name, _ in cmds}
# posix_spawn (a vfork) costs less, and less variably, than a fork of python.
null = [(os.POSIX_SPAWN_OPEN, k, os.devnull, os.O_RDWR, 0) for k in (0, 1, 2)]
for i in range(10 + n):
    for name, cmd in cmds[i % len(cmds):] + cmds[:i % len(cmds)]:
        argv = cmd.split()
        t = time.perf_counter()
        pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=null)
        os.waitpid(pid, 0)
        if i >= 10:
            ts[name].append(time.perf_counter() - t)
for name, _ in cmds:
    print(name, f"{statistics.median(ts[name]) * 1000:.3f}")
EOF

# start.py N CMD...: fallback when hyperfine is missing; median wall time (ms)
# of N runs (after 10 warm-up runs) and the exit codes seen.
cat >"$WORK/start.py" <<'EOF' || die "cannot write $WORK/start.py"
import subprocess, sys, time
n, argv = int(sys.argv[1]), sys.argv[2:]
ts, codes = [], set()
for i in range(10 + n):
    t = time.perf_counter()
    c = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10).returncode
    if i >= 10:
        ts.append(time.perf_counter() - t)
        codes.add(c)
ts.sort()
print(f"{ts[len(ts) // 2] * 1000:.3f} {','.join(map(str, sorted(codes)))}")
EOF

cat >"$WORK/hyperfine.py" <<'EOF' || die "cannot write $WORK/hyperfine.py"
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print(f"{r['median'] * 1000:.3f} {','.join(map(str, sorted(set(r['exit_codes']))))}")
EOF

# report.py RAW: the tables.
cat >"$WORK/report.py" <<'EOF' || die "cannot write $WORK/report.py"
import math, statistics, sys
raw, rounds, size = sys.argv[1], sys.argv[2], sys.argv[3]
tools = sys.argv[4].split()
ref = "nc.openbsd"
vals = {}
for line in open(raw):
    if line.startswith("#") or not line.strip():
        continue
    metric, shape, tool, _rnd, v = line.split("\t")
    vals.setdefault((metric, shape, tool), []).append(float(v))
def med(metric, shape, tool):
    v = vals.get((metric, shape, tool))
    return statistics.median(v) if v else None
best = {}     # (metric, shape) -> best tool
ratios = {}   # metric -> [sock / ref per shape]
def table(title, metric, shapes, unit, fmt, higher):
    print()
    print(title)
    print(f"  (median of {rounds} run(s); x = ratio to {ref}; {'higher' if higher else 'lower'} is better)")
    head = "  " + f"{'tool':<12}" + "".join(f"{s[1]:>22}" for s in shapes)
    print(head)
    for tool in tools:
        row = "  " + f"{tool:<12}"
        for shape, _label in shapes:
            m, r = med(metric, shape, tool), med(metric, shape, ref)
            if m is None:
                row += f"{'-':>22}"
                continue
            x = f"{m / r:6.2f}x" if r else "      -"
            row += f"{fmt.format(m):>12} {unit:<2}{x}"
        print(row)
    for shape, _label in shapes:
        ms = [(med(metric, shape, t), t) for t in tools if med(metric, shape, t) is not None]
        if ms:
            best[(metric, shape)] = (max if higher else min)(ms)[1]
        m, r = med(metric, shape, "sock"), med(metric, shape, ref)
        if m and r:
            ratios.setdefault(metric, []).append(m / r)
tput = [("a", "file->null"), ("b", "pipe->pipe"), ("c", "download"), ("d", "->file")]
table(f"1. Bulk throughput over 127.0.0.1, {size} per run, GB/s (10^9 bytes/s)", "tput", tput, "", "{:.2f}", True)
ceil = vals.get(("pipe_ceiling", "b", "-"))
if ceil:
    print(f"  note: head -c N /dev/zero | wc -c alone (no network) runs at {statistics.median(ceil):.2f} GB/s: the ceiling of pipe->pipe")
table("2. CPU seconds (user+sys, sender + receiver) per GiB moved", "cpu", tput, "s", "{:.3f}", False)
table("3. Round-trip latency of 1-byte messages through the tool (us)", "rtt", [("med", "median"), ("p99", "p99")], "us", "{:.1f}", False)
table("4a. Start-up time (ms)", "start", [("help", "TOOL -h"), ("refused", "refused connect")], "ms", "{:.2f}", False)
table("4b. Peak RSS of the receiving process during bulk transfers (MiB)", "rss", tput, "M", "{:.1f}", False)
if any(k[0] == "tput" and k[1] == "t" for k in vals):
    table(f"1b. Bulk throughput over TLS, file->null, {size} per run, GB/s (no ratio: {ref} has no TLS)", "tput", [("t", "file->null TLS")], "", "{:.2f}", True)
table("5. Connections per second (sequential clients, keep-listening listener)", "cps", [("seq", "conn/s")], "", "{:.0f}", True)
def geo(xs):
    return math.exp(sum(map(math.log, xs)) / len(xs)) if xs else None
names = [("tput", "throughput"), ("cpu", "CPU/GiB"), ("rtt", "latency"), ("start", "start-up"), ("rss", "RSS"), ("cps", "conn/s")]
parts = [f"{label} {geo(ratios[m]):.2f}x" for m, label in names if m in ratios]
won = sum(1 for v in best.values() if v == "sock")
print()
if parts:
    print(f"SUMMARY sock/{ref} (geometric mean over columns): " + ", ".join(parts)
          + f"; sock is the best of {len(tools)} tools in {won} of {len(best)} columns")
else:
    print(f"SUMMARY sock best of {len(tools)} tools in {won} of {len(best)} columns ({ref} missing: no ratios)")
EOF

# ---------------------------------------------------------------- helpers ---

free_port() {
	"${PY[@]}" "$WORK/freeport.py"
}

# raw METRIC SHAPE TOOL ROUND VALUE
raw() {
	printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RAW"
}

# wait_listen PORT [FILE]: until something listens on 127.0.0.1:PORT (at
# most 5 s); fails at once if FILE (the listener's result file) appears.
wait_listen() {
	local end=$((SECONDS + 5))
	while ((SECONDS <= end)); do
		[[ -n $(ss -Hltn "sport = :$1") ]] && return 0
		[[ -n ${2:-} && -e $2 ]] && return 1
		nap 0.01
	done
	return 1
}

# finish LIMIT FILE...: wait (at most LIMIT s) until every FILE exists and
# every job in JOBS has ended; reap the jobs.  Kills them and fails on timeout.
finish() {
	local limit=$1 end=$((SECONDS + $1)) f p
	shift
	for f in "$@"; do
		while [[ ! -e $f ]]; do
			((SECONDS > end)) && fail_run "still running after ${limit} s"
			nap 0.02
		done
	done
	for p in "${JOBS[@]}"; do
		while kill -0 "$p" 2>/dev/null; do
			((SECONDS > end)) && fail_run "still running after ${limit} s"
			nap 0.02
		done
		wait "$p" 2>/dev/null
	done
	JOBS=()
}

RUN_DESC=
fail_run() {
	local f
	local -a x
	for f in "$WORK"/*.err; do
		[[ -s $f ]] && sed "s|^|  ${f##*/}: |" "$f" >&2
	done
	for f in "$WORK"/*.ru; do
		[[ -s $f ]] && read -r -a x <"$f" && note "${f##*/}: exit status ${x[5]:-?}"
	done
	note "partial raw numbers: $RAW"
	die "FAILED: $RUN_DESC: $*"
}

# Commands for TOOL in each role; PORT is substituted.  Every tool moves the
# same bytes one way and both ends exit on their own:
#   sock        plain (it half-closes at the end of stdin, the other end
#               exits at the peer's FIN)
#   nc.openbsd  -N on the sending end
#   ncat        --send-only / --recv-only (without them an ncat client that
#               meets the end of stdin closes the connection: data is lost)
#   socat       -u (one way), STDIN / STDOUT
CMD=()
cmd_for() { # ROLE TOOL PORT
	local port=$3 s
	local ncert=(--ssl-cert "$WORK/tls.pem" --ssl-key "$WORK/tls.key")
	local scert="cert=$WORK/tls.pem,key=$WORK/tls.key,verify=0"
	# Every tool's listener has the same certificate and key (P-256),
	# when openssl made them; else sock's listener makes its own.
	local kcert=()
	[[ -s $WORK/tls.pem ]] && kcert=(--tls-cert "$WORK/tls.pem" --tls-key "$WORK/tls.key")
	case $2:$1 in
	sock-notls:*)
		s=$SOCK
		SOCK=$SOCK_NOTLS
		cmd_for "$1" sock "$port"
		SOCK=$s
		;;
	sock-base:*)
		s=$SOCK
		SOCK=$SOCK_BASE
		cmd_for "$1" sock "$port"
		SOCK=$s
		;;
	sock:recv-listen | sock:send-listen) CMD=("$SOCK" -l 127.0.0.1 "$port") ;;
	sock:send-connect | sock:recv-connect | sock:client) CMD=("$SOCK" 127.0.0.1 "$port") ;;
	sock:keep) CMD=("$SOCK" -k -l 127.0.0.1 "$port") ;;
	nc.openbsd:recv-listen) CMD=(nc.openbsd -l 127.0.0.1 "$port") ;;
	nc.openbsd:send-listen) CMD=(nc.openbsd -N -l 127.0.0.1 "$port") ;;
	nc.openbsd:send-connect) CMD=(nc.openbsd -N 127.0.0.1 "$port") ;;
	nc.openbsd:recv-connect | nc.openbsd:client) CMD=(nc.openbsd 127.0.0.1 "$port") ;;
	nc.openbsd:keep) CMD=(nc.openbsd -k -l 127.0.0.1 "$port") ;;
	ncat:recv-listen) CMD=(ncat --recv-only -l 127.0.0.1 "$port") ;;
	ncat:send-listen) CMD=(ncat --send-only -l 127.0.0.1 "$port") ;;
	ncat:send-connect) CMD=(ncat --send-only 127.0.0.1 "$port") ;;
	ncat:recv-connect) CMD=(ncat --recv-only 127.0.0.1 "$port") ;;
	ncat:client) CMD=(ncat 127.0.0.1 "$port") ;;
	ncat:keep) CMD=(ncat -k -l 127.0.0.1 "$port") ;;
	socat:recv-listen) CMD=(socat -u "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr" STDOUT) ;;
	socat:send-listen) CMD=(socat -u STDIN "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr") ;;
	socat:send-connect) CMD=(socat -u STDIN "TCP:127.0.0.1:$port") ;;
	socat:recv-connect) CMD=(socat -u "TCP:127.0.0.1:$port" STDOUT) ;;
	socat:client) CMD=(socat STDIO "TCP:127.0.0.1:$port") ;;
	socat:keep) CMD=(socat -u "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork" STDOUT) ;;
	sock:tls-recv-listen | sock:tls-send-listen) CMD=("$SOCK" -l --tls "${kcert[@]}" 127.0.0.1 "$port") ;;
	sock:tls-send-connect | sock:tls-recv-connect) CMD=("$SOCK" --tls --tls-insecure 127.0.0.1 "$port") ;;
	sock:tls-keep) CMD=("$SOCK" -k -l --tls "${kcert[@]}" 127.0.0.1 "$port") ;;
	ncat:tls-recv-listen) CMD=(ncat --ssl "${ncert[@]}" --recv-only -l 127.0.0.1 "$port") ;;
	ncat:tls-send-listen) CMD=(ncat --ssl "${ncert[@]}" --send-only -l 127.0.0.1 "$port") ;;
	ncat:tls-send-connect) CMD=(ncat --ssl --send-only 127.0.0.1 "$port") ;;
	ncat:tls-recv-connect) CMD=(ncat --ssl --recv-only 127.0.0.1 "$port") ;;
	ncat:tls-keep) CMD=(ncat --ssl "${ncert[@]}" -k -l 127.0.0.1 "$port") ;;
	socat:tls-recv-listen) CMD=(socat -u "OPENSSL-LISTEN:$port,bind=127.0.0.1,reuseaddr,$scert" STDOUT) ;;
	socat:tls-send-listen) CMD=(socat -u STDIN "OPENSSL-LISTEN:$port,bind=127.0.0.1,reuseaddr,$scert") ;;
	socat:tls-send-connect) CMD=(socat -u STDIN "OPENSSL:127.0.0.1:$port,verify=0") ;;
	socat:tls-recv-connect) CMD=(socat -u "OPENSSL:127.0.0.1:$port,verify=0" STDOUT) ;;
	socat:tls-keep) CMD=(socat -u "OPENSSL-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork,$scert" STDOUT) ;;
	*) die "internal: no command for $2 $1" ;;
	esac
}

lo_rx() {
	local v=0
	[[ -r /sys/class/net/lo/statistics/rx_bytes ]] && read -r v </sys/class/net/lo/statistics/rx_bytes
	printf '%s\n' "$v"
}

# fd_pos FD: the file offset of descriptor FD of this shell (or subshell).
fd_pos() {
	local k v
	while read -r k v; do
		[[ $k == pos: ]] && {
			printf '%s\n' "$v"
			return
		}
	done <"/proc/$BASHPID/fdinfo/$1"
	printf '%s\n' -1
}

# ------------------------------------------------------------------- bulk ---

DATA=$WORK/data
LIMIT=$((30 + BYTES / 20000000)) # seconds per transfer: generous, but bounded

# bulk SHAPE TOOL ROUND
#   a  file -> sender -> socket -> receiver (listener) -> /dev/null
#   b  head -c N /dev/zero | sender -> socket -> receiver (listener) | wc -c
#   c  download: listener sends the file, the client receives to /dev/null
#   d  file -> sender -> socket -> receiver (listener) -> file
#   t  as a, over TLS (up: the client sends)
#   T  as c, over TLS (down: the listener sends)
bulk() {
	local shape=$1 tool=$2 rnd=$3 port in got rx0 rx1 f pre=
	[[ $shape == t || $shape == T ]] && pre=tls-
	local -a s r
	RUN_DESC="bulk shape $shape, $tool, round $rnd"
	rm -f "$WORK"/*.ru "$WORK"/*.err "$WORK/count" "$WORK/out"
	port=$(free_port) || die "no free port"
	rx0=$(lo_rx)
	case $shape in
	a | d | t)
		cmd_for "${pre}recv-listen" "$tool" "$port"
		if [[ $shape != d ]]; then
			"${PY[@]}" "$WORK/run.py" "$WORK/recv" "${CMD[@]}" </dev/null >/dev/null 2>"$WORK/recv.err" &
		else
			"${PY[@]}" "$WORK/run.py" "$WORK/recv" "${CMD[@]}" </dev/null >"$WORK/out" 2>"$WORK/recv.err" &
		fi
		JOBS+=("$!")
		wait_listen "$port" "$WORK/recv.ru" || fail_run "the listener is not listening"
		exec {in}<"$DATA"
		cmd_for "${pre}send-connect" "$tool" "$port"
		"${PY[@]}" "$WORK/run.py" "$WORK/send" "${CMD[@]}" <&"$in" >/dev/null 2>"$WORK/send.err" &
		JOBS+=("$!")
		finish "$LIMIT" "$WORK/recv.ru" "$WORK/send.ru"
		got=$(fd_pos "$in")
		exec {in}<&-
		;;
	b)
		cmd_for recv-listen "$tool" "$port"
		"${PY[@]}" "$WORK/run.py" "$WORK/recv" "${CMD[@]}" </dev/null 2>"$WORK/recv.err" | wc -c >"$WORK/count" &
		JOBS+=("$!")
		wait_listen "$port" "$WORK/recv.ru" || fail_run "the listener is not listening"
		cmd_for send-connect "$tool" "$port"
		head -c "$BYTES" /dev/zero | "${PY[@]}" "$WORK/run.py" "$WORK/send" "${CMD[@]}" >/dev/null 2>"$WORK/send.err" &
		JOBS+=("$!")
		finish "$LIMIT" "$WORK/recv.ru" "$WORK/send.ru"
		got=-1
		[[ -s $WORK/count ]] && read -r got <"$WORK/count"
		;;
	c | T)
		exec {in}<"$DATA"
		cmd_for "${pre}send-listen" "$tool" "$port"
		"${PY[@]}" "$WORK/run.py" "$WORK/send" "${CMD[@]}" <&"$in" >/dev/null 2>"$WORK/send.err" &
		JOBS+=("$!")
		wait_listen "$port" "$WORK/send.ru" || fail_run "the listener is not listening"
		cmd_for "${pre}recv-connect" "$tool" "$port"
		"${PY[@]}" "$WORK/run.py" "$WORK/recv" "${CMD[@]}" </dev/null >/dev/null 2>"$WORK/recv.err" &
		JOBS+=("$!")
		finish "$LIMIT" "$WORK/recv.ru" "$WORK/send.ru"
		got=$(fd_pos "$in")
		exec {in}<&-
		;;
	esac
	rx1=$(lo_rx)
	if [[ $shape == d ]]; then
		got=$(stat -c %s "$WORK/out") || got=-1
		rm -f "$WORK/out"
	fi
	read -r -a s <"$WORK/send.ru" || fail_run "no result from the sender"
	read -r -a r <"$WORK/recv.ru" || fail_run "no result from the receiver"
	((s[5] == 0)) || fail_run "the sender exited with status ${s[5]}"
	((r[5] == 0)) || fail_run "the receiver exited with status ${r[5]}"
	case $shape in
	a | c | t | T) f="the sender consumed" ;;
	b) f="wc -c counted" ;;
	d) f="the output file has" ;;
	esac
	[[ $got == "$BYTES" ]] || fail_run "$f $got bytes, expected $BYTES"
	# With /dev/null as the output, also check that the bytes crossed lo.
	if [[ $shape == a || $shape == c || $shape == t || $shape == T ]] && ((rx1 > 0 && rx1 - rx0 < BYTES)); then
		fail_run "only $((rx1 - rx0)) bytes crossed the loopback interface, expected $BYTES"
	fi
	# start: the connecting side (started second); end: the later exit.
	local -a v
	read -r -a v < <(
		"${PY[@]}" -c '
import sys
b, s, r, shape = int(sys.argv[1]), sys.argv[2].split(), sys.argv[3].split(), sys.argv[4]
t0 = float(r[0] if shape in ("c", "T") else s[0])
wall = max(float(s[1]), float(r[1])) - t0
cpu = sum(map(float, s[2:4] + r[2:4]))
print(f"{b / wall / 1e9:.4f} {cpu / (b / 2**30):.4f} {int(r[4]) / 1024:.1f} {wall:.4f}")
' "$BYTES" "${s[*]}" "${r[*]}" "$shape"
	)
	((${#v[@]} == 4)) || fail_run "cannot compute the result"
	raw tput "$shape" "$tool" "$rnd" "${v[0]}"
	raw cpu "$shape" "$tool" "$rnd" "${v[1]}"
	raw rss "$shape" "$tool" "$rnd" "${v[2]}"
	printf '# bulk %s %s round %s: wall %s s, send "%s", recv "%s"\n' \
		"$shape" "$tool" "$rnd" "${v[3]}" "${s[*]}" "${r[*]}" >>"$RAW"
}

pipe_ceiling() {
	local t0 t1 n
	t0=$EPOCHREALTIME
	n=$(head -c "$BYTES" /dev/zero | wc -c)
	t1=$EPOCHREALTIME
	[[ $n == "$BYTES" ]] || die "head | wc -c counted $n bytes"
	raw pipe_ceiling b - "$1" "$("${PY[@]}" -c "print(f'{$BYTES / ($t1 - $t0) / 1e9:.4f}')")"
}

# ------------------------------------------------------------- forwarding ---

# forward_run TOOL ROUND: the data file from a sock client through TOOL as a
# forwarder (many connections at once, as a server runs it) to a sock
# listener writing to /dev/null. Both sock ends are the same for every
# tool; the bytes are checked on the loopback interface (two hops).
forward_run() {
	local tool=$1 rnd=$2 p q in rx0 rx1 fpid
	local -a s r v f
	RUN_DESC="forward, $tool, round $rnd"
	rm -f "$WORK"/*.ru "$WORK"/*.err
	q=$(free_port) || die "no free port"
	p=$(free_port) || die "no free port"
	cmd_for recv-listen sock "$q"
	"${PY[@]}" "$WORK/run.py" "$WORK/recv" "${CMD[@]}" </dev/null >/dev/null 2>"$WORK/recv.err" &
	JOBS+=("$!")
	wait_listen "$q" "$WORK/recv.ru" || fail_run "the target is not listening"
	# The forwarder under run.py too: its CPU time (and its children's).
	forwarder_cmd "$tool" "$p" "$q"
	"${PY[@]}" "$WORK/run.py" "$WORK/fwd" "${CMD[@]}" </dev/null 2>"$WORK/fwd.err" &
	fpid=$!
	echo "$fpid" >"$WORK/fwd.pid"
	wait_listen "$p" || fail_run "the forwarder is not listening"
	rx0=$(lo_rx)
	exec {in}<"$DATA"
	cmd_for send-connect sock "$p"
	"${PY[@]}" "$WORK/run.py" "$WORK/send" "${CMD[@]}" <&"$in" >/dev/null 2>"$WORK/send.err" &
	JOBS+=("$!")
	finish "$LIMIT" "$WORK/recv.ru" "$WORK/send.ru"
	exec {in}<&-
	rx1=$(lo_rx)
	kill -TERM "$fpid" 2>/dev/null
	wait "$fpid" 2>/dev/null
	rm -f "$WORK/fwd.pid"
	read -r -a s <"$WORK/send.ru" || fail_run "no result from the sender"
	read -r -a r <"$WORK/recv.ru" || fail_run "no result from the receiver"
	read -r -a f <"$WORK/fwd.ru" || fail_run "no result from the forwarder"
	((s[5] == 0)) || fail_run "the sender exited with status ${s[5]}"
	((r[5] == 0)) || fail_run "the receiver exited with status ${r[5]}"
	if ((rx1 > 0 && rx1 - rx0 < 2 * BYTES)); then
		fail_run "only $((rx1 - rx0)) bytes crossed the loopback interface, expected $((2 * BYTES))"
	fi
	read -r -a v < <(
		"${PY[@]}" -c '
import sys
b, s, r, f = int(sys.argv[1]), sys.argv[2].split(), sys.argv[3].split(), sys.argv[4].split()
wall = max(float(s[1]), float(r[1])) - float(s[0])
cpu = (float(f[2]) + float(f[3])) / (b / 2**30)
print(f"{b / wall / 1e9:.4f} {wall:.4f} {cpu:.4f}")
' "$BYTES" "${s[*]}" "${r[*]}" "${f[*]}"
	)
	((${#v[@]} == 3)) || fail_run "cannot compute the result"
	raw fwd_tput f "$tool" "$rnd" "${v[0]}"
	raw fwd_cpu f "$tool" "$rnd" "${v[2]}"
	printf '# forward %s round %s: wall %s s\n' "$tool" "$rnd" "${v[1]}" >>"$RAW"
}

# forwarder_cmd TOOL P Q: CMD becomes TOOL forwarding port P to port Q on
# 127.0.0.1, serving many connections.
forwarder_cmd() {
	case $1 in
	sock) CMD=("$SOCK" -l -k 127.0.0.1 "$2" --forward "127.0.0.1:$3") ;;
	socat) CMD=(socat "TCP-LISTEN:$2,bind=127.0.0.1,fork,reuseaddr" "TCP:127.0.0.1:$3") ;;
	ncat) CMD=(ncat -l 127.0.0.1 "$2" -k -c "ncat --send-only 127.0.0.1 $3") ;;
	esac
}

# forward_conns TOOL ROUND: sequential connections per second through TOOL
# as a forwarder to sock's keep-listening listener (cps.py's clients).
forward_conns() {
	local tool=$1 rnd=$2 p q tpid fpid out
	RUN_DESC="forwarded connections per second, $tool, round $rnd"
	q=$(free_port) || die "no free port"
	p=$(free_port) || die "no free port"
	cmd_for keep sock "$q"
	"${CMD[@]}" </dev/null >/dev/null 2>"$WORK/keep.err" &
	tpid=$!
	JOBS+=("$tpid")
	wait_listen "$q" || fail_run "the target is not listening"
	forwarder_cmd "$tool" "$p" "$q"
	"${CMD[@]}" </dev/null >/dev/null 2>"$WORK/fwd.err" &
	fpid=$!
	JOBS+=("$fpid")
	wait_listen "$p" || fail_run "the forwarder is not listening"
	out=$("${PY[@]}" "$WORK/cps.py" "$p" "$CPS_N" 20 60 2>"$WORK/cps.err") ||
		fail_run "$(cat "$WORK/cps.err")"
	kill -TERM "$fpid" "$tpid" 2>/dev/null
	finish 10
	raw fwd_cps f "$tool" "$rnd" "$out"
}

# forward_report: medians of the forwarding runs, and sock's ratio to each.
forward_report() {
	"${PY[@]}" -c '
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("\t")
    if len(f) == 5 and f[0] in ("fwd_tput", "fwd_cpu", "fwd_cps"):
        runs.setdefault(f[0], {}).setdefault(f[2], []).append(float(f[4]))
titles = [("fwd_tput", "throughput, GB/s", "{:7.3f}"),
          ("fwd_cpu", "forwarder CPU per GiB, s (lower is better)", "{:7.3f}"),
          ("fwd_cps", "connections per second through it", "{:7.0f}")]
for key, title, fmt in titles:
    if key not in runs:
        continue
    med = {t: statistics.median(v) for t, v in runs[key].items()}
    n = max(len(v) for v in runs[key].values())
    print("\nforwarding, sock -> FORWARDER -> sock, %s (median of %d):" % (title, n))
    for t, m in med.items():
        ratio = ""
        if t != "sock" and "sock" in med and m > 0:
            ratio = "  (sock is %.2fx)" % (med["sock"] / m)
        print("  %-8s %s%s" % (t, fmt.format(m), ratio))
' "$RAW"
}

# ---------------------------------------------------------------- latency ---

latency() {
	local tool=$1 rnd=$2 out
	local -a v
	RUN_DESC="latency, $tool, round $rnd"
	cmd_for client "$tool" PORT
	out=$("${PY[@]}" "$WORK/lat.py" "$LAT_N" 50 60 "${CMD[@]}" 2>"$WORK/lat.err") ||
		fail_run "$(cat "$WORK/lat.err")"
	read -r -a v <<<"$out"
	((${#v[@]} == 2)) || fail_run "unexpected output: $out"
	raw rtt med "$tool" "$rnd" "${v[0]}"
	raw rtt p99 "$tool" "$rnd" "${v[1]}"
}

# ------------------------------------------------------------ connections ---

# start_keep KIND TOOL: TOOL's keep-listening listener of KIND (keep,
# tls-keep) on a free port, listening; its port in KEEP_PORT, its pid in
# KEEP_PID.
start_keep() {
	KEEP_PORT=$(free_port) || die "no free port"
	cmd_for "$1" "$2" "$KEEP_PORT"
	"${CMD[@]}" </dev/null >/dev/null 2>"$WORK/keep.err" &
	KEEP_PID=$!
	JOBS+=("$KEEP_PID")
	wait_listen "$KEEP_PORT" || fail_run "the listener is not listening after 5 s"
}

conns() {
	local tool=$1 rnd=$2 port pid out
	RUN_DESC="connections per second, $tool, round $rnd"
	start_keep keep "$tool"
	port=$KEEP_PORT pid=$KEEP_PID
	out=$("${PY[@]}" "$WORK/cps.py" "$port" "$CPS_N" 20 60 2>"$WORK/cps.err") ||
		fail_run "$(cat "$WORK/cps.err")"
	kill -0 "$pid" 2>/dev/null || fail_run "the keep-listening listener exited"
	kill -TERM "$pid" 2>/dev/null
	finish 10
	raw cps seq "$tool" "$rnd" "$out"
}

# --------------------------------------------------------------- start-up ---

REFUSED_PORT=1
if [[ -n $(ss -Hltn "sport = :1") ]]; then
	REFUSED_PORT=$(free_port) || die "no free port"
	note "something listens on port 1; the refused connect uses port $REFUSED_PORT"
fi

startup() {
	local tool=$1 rnd=$2 kind out code
	local -a v
	for kind in help refused; do
		RUN_DESC="start-up ($kind), $tool, round $rnd"
		case $kind:$tool in
		*:true) CMD=(/bin/true) ;;
		help:sock) CMD=("$SOCK" -h) ;;
		help:sock-notls) CMD=("$SOCK_NOTLS" -h) ;;
		help:*) CMD=("$tool" -h) ;;
		*) cmd_for client "$tool" "$REFUSED_PORT" ;;
		esac
		if ((HAVE_HYPERFINE)); then
			local q=() a
			for a in "${CMD[@]}"; do
				q+=("$(printf '%q' "$a")")
			done
			timeout 300 hyperfine -N -i --style none --warmup 20 --runs "$START_RUNS" \
				--export-json "$WORK/hf.json" "${q[*]}" >/dev/null 2>"$WORK/hf.err" ||
				fail_run "hyperfine failed: $(cat "$WORK/hf.err")"
			out=$("${PY[@]}" "$WORK/hyperfine.py" "$WORK/hf.json") || fail_run "bad hyperfine output"
		else
			out=$(timeout 300 "${PY[@]}" "$WORK/start.py" "$START_RUNS" "${CMD[@]}") ||
				fail_run "the timing loop failed"
		fi
		read -r -a v <<<"$out"
		code=${v[1]:-?}
		if [[ $kind == refused && $tool != true && ,$code, == *,0,* ]]; then
			fail_run "a connect to 127.0.0.1 port $REFUSED_PORT succeeded (exit codes $code)"
		fi
		[[ $kind == help && $code != 0 && $rnd == 1 ]] &&
			printf '# note: %s exits with %s\n' "${CMD[*]}" "$code" >>"$RAW"
		raw start "$kind" "$tool" "$rnd" "${v[0]}"
	done
}

# -------------------------------------------------------------------- TLS ---

# handshakes TOOL ROUND: hs.py's clients against TOOL's keep-listening TLS
# listener.
handshakes() {
	local tool=$1 rnd=$2 port pid out
	local -a v
	RUN_DESC="TLS handshakes, $tool, round $rnd"
	start_keep tls-keep "$tool"
	port=$KEEP_PORT pid=$KEEP_PID
	out=$("${PY[@]}" "$WORK/hs.py" "$port" "$HS_N" 20 120 "$pid" 2>"$WORK/hs.err") ||
		fail_run "$(cat "$WORK/hs.err")"
	kill -0 "$pid" 2>/dev/null || fail_run "the keep-listening listener exited"
	kill -TERM "$pid" 2>/dev/null
	finish 10
	read -r -a v <<<"$out"
	((${#v[@]} == 3)) || fail_run "unexpected output: $out"
	raw hs rate "$tool" "$rnd" "${v[0]}"
	raw hs cpu "$tool" "$rnd" "${v[1]}"
	raw hs client "$tool" "$rnd" "${v[2]}"
}

# tls_bulk SHAPE TOOL ROUND: bulk SHAPE (t or T) over TLS, run once more if
# the first run fails (its processes killed first); a second failure ends
# the bench. ncat 7.93's listener, receiving from an ncat --send-only
# client, now and then fails its last read ("NCAT DEBUG: SSL_read error
# ... reason(5)") and exits 1, most likely on a reset: that client closes
# its socket with the listener's session tickets unread. The second try is
# every tool's alike, and the raw file says which runs needed it.
tls_bulk() {
	if ! (
		trap 'for p in "${JOBS[@]}"; do kill -KILL "$p" 2>/dev/null; done' EXIT
		bulk "$@"
	); then
		note "that run failed; once more: bulk shape $1, $2, round $3"
		printf '# retried: bulk %s %s round %s\n' "$1" "$2" "$3" >>"$RAW"
		bulk "$@"
	fi
}

# tls_once TOOL ROUND: one TOOL client at a time sends 1 byte over TLS to
# TOOL's keep-listening listener: connect, handshake, the byte, close.
tls_once() {
	local tool=$1 rnd=$2 port pid out
	RUN_DESC="one TLS client, $tool, round $rnd"
	start_keep tls-keep "$tool"
	port=$KEEP_PORT pid=$KEEP_PID
	printf x >"$WORK/onebyte"
	cmd_for tls-send-connect "$tool" "$port"
	out=$("${PY[@]}" "$WORK/once.py" "$ONCE_N" "$WORK/onebyte" "${CMD[@]}" 2>"$WORK/once.err") ||
		fail_run "$(cat "$WORK/once.err")"
	kill -TERM "$pid" 2>/dev/null
	finish 10
	raw once tls "$tool" "$rnd" "$out"
}

# client_rss TOOL ROUND: the peak RSS of TOOL as a plain TCP client that
# receives 16 MiB from TOOL's listener.
client_rss() {
	local tool=$1 rnd=$2 port
	local -a r
	RUN_DESC="client RSS, $tool, round $rnd"
	[[ -f $WORK/small ]] || head -c $((16 * 1024 * 1024)) /dev/zero >"$WORK/small"
	rm -f "$WORK"/*.ru
	port=$(free_port) || die "no free port"
	cmd_for send-listen "$tool" "$port"
	"${PY[@]}" "$WORK/run.py" "$WORK/send" "${CMD[@]}" <"$WORK/small" >/dev/null 2>"$WORK/send.err" &
	JOBS+=("$!")
	wait_listen "$port" "$WORK/send.ru" || fail_run "the listener is not listening"
	cmd_for recv-connect "$tool" "$port"
	"${PY[@]}" "$WORK/run.py" "$WORK/recv" "${CMD[@]}" </dev/null >/dev/null 2>"$WORK/recv.err" &
	JOBS+=("$!")
	finish 30 "$WORK/recv.ru" "$WORK/send.ru"
	read -r -a r <"$WORK/recv.ru" || fail_run "no result from the client"
	((r[5] == 0)) || fail_run "the client exited with status ${r[5]}"
	raw crss plain "$tool" "$rnd" "$("${PY[@]}" -c "print(f'{${r[4]} / 1024:.2f}')")"
}

# tax_startup ROUND: -h and a refused connect of sock, its TLS=no build,
# /bin/true and nc.openbsd, interleaved run by run (taxstart.py).
tax_startup() {
	local rnd=$1 kind name val out
	local -a c
	for kind in help refused; do
		RUN_DESC="start-up beside TLS=no ($kind), round $rnd"
		c=()
		for name in "${TAX_TOOLS[@]}"; do
			if [[ $kind == help ]]; then
				case $name in
				sock) c+=("sock=$SOCK -h") ;;
				sock-notls) c+=("sock-notls=$SOCK_NOTLS -h") ;;
				*) c+=("$name=$(command -v "$name") -h") ;;
				esac
			else
				cmd_for client "$name" "$REFUSED_PORT"
				CMD[0]=$(command -v "${CMD[0]}")
				c+=("$name=${CMD[*]}")
			fi
		done
		c+=("true=/bin/true")
		out=$(timeout 600 "${PY[@]}" "$WORK/taxstart.py" "$START_RUNS" "${c[@]}") ||
			fail_run "the timing loop failed"
		while read -r name val; do
			raw tax_start "$kind" "$name" "$rnd" "$val"
		done <<<"$out"
	done
}

# tax_tls_round ROUND: the TLS figures that the rest of a run
# does not take: TLS down, handshakes, one TLS client, client RSS.
tax_tls_round() {
	local rnd=$1 t
	if ((${#TLS_TOOLS[@]} > 0)); then
		note "round $rnd/$ROUNDS: TLS down, handshakes (${TLS_TOOLS[*]})"
		for t in "${TLS_TOOLS[@]}"; do
			[[ -n $t ]] && tls_bulk T "$t" "$rnd"
		done
		for t in "${TLS_TOOLS[@]}"; do
			[[ -n $t ]] && handshakes "$t" "$rnd"
		done
		for t in "${TLS_TOOLS[@]}"; do
			[[ -n $t ]] && tls_once "$t" "$rnd"
		done
	fi
	note "round $rnd/$ROUNDS: client RSS, start-up (${TAX_TOOLS[*]})"
	for t in "${TAX_TOOLS[@]}"; do
		client_rss "$t" "$rnd"
	done
	tax_startup "$rnd"
}

# tls_report: TLS beside the faster peer, and sock beside its TLS=no build.
tls_report() {
	"${PY[@]}" "$WORK/tlsreport.py" "$RAW"
}

cat >"$WORK/tlsreport.py" <<'EOF' || die "cannot write $WORK/tlsreport.py"
import statistics, sys
v = {}
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("\t")
    if len(f) == 5 and not f[0].startswith("#"):
        v.setdefault((f[0], f[1], f[2]), []).append(float(f[4]))
def med(m, s, t):
    x = v.get((m, s, t))
    return statistics.median(x) if x else None
def ratio(a, b):
    return f"{a / b:.2f}x" if a is not None and b else "-"
def num(x, fmt):
    return fmt.format(x) if x is not None else "-"
n = max((len(x) for x in v.values()), default=0)
peers = [t for t in ("ncat", "socat") if med("tput", "t", t) is not None or med("hs", "rate", t) is not None]
if med("tput", "t", "sock") is not None or med("hs", "rate", "sock") is not None:
    print(f"\n6. TLS, medians of {n} run(s); every listener has the same P-256 certificate and key")
for shape, name in (("t", "bulk up (the client sends), file->null"), ("T", "bulk down (the listener sends), ->null")):
    if med("tput", shape, "sock") is None:
        continue
    print(f"  {name}: GB/s, CPU s per GiB (both ends)")
    for t in ["sock"] + peers:
        print(f"    {t:<8} {num(med('tput', shape, t), '{:7.3f}')} GB/s {num(med('cpu', shape, t), '{:7.3f}')} s/GiB")
    ps = [t for t in peers if med("tput", shape, t) is not None]
    if ps:
        b = max(ps, key=lambda t: med("tput", shape, t))
        print(f"    sock / {b} (the faster peer): throughput {ratio(med('tput', shape, 'sock'), med('tput', shape, b))}, "
              f"CPU per GiB {ratio(med('cpu', shape, 'sock'), med('cpu', shape, b))}  (goal: >= 2x at <= 0.5x)")
if med("hs", "rate", "sock") is not None:
    print("  handshakes: per second (sequential python clients, the tool's own -k listener), that listener's")
    print("  CPU ms per handshake, the python client's, and one client's connect + handshake + 1 byte + close in ms")
    for t in ["sock"] + peers:
        print(f"    {t:<8} {num(med('hs', 'rate', t), '{:7.0f}')}/s {num(med('hs', 'cpu', t), '{:7.3f}')} ms {num(med('hs', 'client', t), '{:7.3f}')} ms {num(med('once', 'tls', t), '{:7.2f}')} ms")
    if "ncat" in peers:
        print(f"    sock / ncat: handshakes/s {ratio(med('hs', 'rate', 'sock'), med('hs', 'rate', 'ncat'))}, "
              f"listener CPU per handshake {ratio(med('hs', 'cpu', 'sock'), med('hs', 'cpu', 'ncat'))}, "
              f"one client {ratio(med('once', 'tls', 'sock'), med('once', 'tls', 'ncat'))}  (goal: >= 2x handshakes/s)")
        c = med("hs", "client", "ncat")
        if c:
            print(f"    (with this client, a listener that cost nothing would answer {1000 / c:.0f}/s: "
                  f"{1000 / c / med('hs', 'rate', 'ncat'):.2f}x ncat's rate)")
tools = [t for t in ("sock", "sock-notls", "true", "nc.openbsd") if any(k[2] == t for k in v)]
print(f"\n8. The tax of TLS: sock beside the same sources built TLS=no, medians of {n} run(s)")
print("  (start-up: python's posix_spawn and wait, the commands taking turns run by run)")
print("  " + f"{'':<22}" + "".join(f"{t:>12}" for t in tools) + "   sock/TLS=no  sock/true  sock/nc")
rows = [("tax_start", "help", "TOOL -h, ms", "{:.2f}"), ("tax_start", "refused", "refused connect, ms", "{:.2f}"),
        ("crss", "plain", "client peak RSS, MiB", "{:.2f}"), ("cps", "seq", "connections/s", "{:.0f}")]
for m, s, label, fmt in rows:
    line = "  " + f"{label:<22}" + "".join(f"{num(med(m, s, t), fmt):>12}" for t in tools)
    a = med(m, s, "sock")
    line += f"   {ratio(a, med(m, s, 'sock-notls')):>11}  {ratio(a, med(m, s, 'true')):>9}  {ratio(a, med(m, s, 'nc.openbsd')):>7}"
    print(line)
print("  goals: start-up <= 1.1x TLS=no and /bin/true; RSS <= 1.1x TLS=no; conn/s >= 1.3x nc.openbsd")
EOF

# ------------------------------------------------ forwarding and proxy peers ---

# 9. The real peers of --forward (haproxy in three splice settings, nginx's
# stream module, rinetd, socat, ncat -c) and of --proxy-server (dante,
# microsocks for SOCKS5; ncat --proxy-type http beside sock's HTTP CONNECT on
# the same port), each measured in one run: bulk throughput both ways and the
# peer's CPU per GiB, connections per second with 32 in flight, and
# connections held at once (1,000 and 9,900) with the peer's peak RSS.

# echo.py PORTFILE LIMIT: an echo server on 127.0.0.1 (epoll, non-blocking,
# as many connections as RLIMIT_NOFILE lets it hold); writes its port to
# PORTFILE; exits after LIMIT seconds at most.
cat >"$WORK/echo.py" <<'EOF' || die "cannot write $WORK/echo.py"
import os, resource, select, signal, socket, sys
_, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
portfile, limit = sys.argv[1], int(sys.argv[2])
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
signal.alarm(limit)
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(4096)
srv.setblocking(False)
with open(portfile + ".tmp", "w") as f:
    f.write(f"{srv.getsockname()[1]}\n")
os.rename(portfile + ".tmp", portfile)
ep = select.epoll()
ep.register(srv.fileno(), select.EPOLLIN)
conns, pend = {}, {}
IN, OUT = select.EPOLLIN, select.EPOLLOUT
def drop(fd):
    ep.unregister(fd)
    conns.pop(fd).close()
    pend.pop(fd, None)
while True:
    for fd, ev in ep.poll():
        if fd == srv.fileno():
            while True:
                try:
                    c, _ = srv.accept()
                except OSError:     # EAGAIN, or EMFILE: try again later
                    break
                c.setblocking(False)
                conns[c.fileno()] = c
                ep.register(c.fileno(), IN)
            continue
        c = conns.get(fd)
        if c is None:
            continue
        try:
            if fd in pend:
                n = c.send(pend[fd])
                pend[fd] = pend[fd][n:]
                if not pend[fd]:
                    del pend[fd]
                    ep.modify(fd, IN)
                continue
            d = c.recv(65536)
            if not d:
                drop(fd)
                continue
            n = c.send(d)
            if n < len(d):
                pend[fd] = d[n:]
                ep.modify(fd, OUT)
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            drop(fd)
EOF

# many.py MODE PROTO PORT TPORT N INFLIGHT LIMIT PID: clients of the peer
# listening on PORT (PROTO plain: a forwarder to the echo server on TPORT;
# socks5 or http: a proxy asked for 127.0.0.1:TPORT), from one process with
# its RLIMIT_NOFILE raised to the hard limit; PID is the peer's.
#   cps   N connections, INFLIGHT at once (after 32 not timed), each:
#         connect, the proxy's handshake, 5 bytes, their echo, close.
#         Prints "conn_per_s ok failed seconds cpu_us_per_conn" (the
#         peer's CPU, live processes and reaped ones, in 10 ms ticks).
#   hold  N connections opened (INFLIGHT handshakes at once) and held, then
#         1 KiB echoed on each, all at once; then PID and its descendants
#         are read from /proc while they are still held.  Prints "ok opened
#         procs hwm_kib rss_kib pss_kib base_rss_kib base_pss_kib open_s
#         echo_s" (base: before the first connection; hwm: the sum of
#         VmHWM over the processes).
#   sample  prints "cpu_s procs hwm_kib rss_kib pss_kib" of PID's tree.
#   pids    prints PID and its descendants.
# Each phase is bounded by LIMIT seconds; what is not done by then counts
# as failed.  The reasons of the failures go to stderr.
cat >"$WORK/many.py" <<'EOF' || die "cannot write $WORK/many.py"
import errno, os, resource, selectors, socket, struct, sys, time
mode, proto = sys.argv[1], sys.argv[2]
port, tport, n, infl = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
limit, root = float(sys.argv[7]), int(sys.argv[8])
_, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
CLK = os.sysconf("SC_CLK_TCK")

def tree(r):
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    kids.setdefault(int(f.read().rsplit(")", 1)[1].split()[1]), []).append(int(d))
            except (OSError, IndexError):
                pass
    out, todo = [], [r]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += kids.get(p, [])
    return out

def sample(r):
    cpu, np, hwm, rss, pss = 0, 0, 0, 0, 0
    for p in tree(r):
        try:
            with open(f"/proc/{p}/stat") as f:
                cpu += sum(int(x) for x in f.read().rsplit(")", 1)[1].split()[11:15])
            np += 1
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        hwm += int(line.split()[1])
                    elif line.startswith("VmRSS:"):
                        rss += int(line.split()[1])
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except (OSError, IndexError, ValueError):
            pass
    return cpu / CLK, np, hwm, rss, pss

if mode == "sample":
    print("%.2f %d %d %d %d" % sample(root))
    sys.exit(0)
if mode == "pids":
    print(" ".join(map(str, tree(root))))
    sys.exit(0)

GREET = b"\x05\x01\x00"
REQ = b"\x05\x01\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack(">H", tport)
HTTP = f"CONNECT 127.0.0.1:{tport} HTTP/1.1\r\nHost: 127.0.0.1:{tport}\r\n\r\n".encode()
PING = b"ping\n" if mode == "cps" else bytes(range(256)) * 4
sel = selectors.DefaultSelector()
R, W = selectors.EVENT_READ, selectors.EVENT_WRITE
errors, live, held = {}, set(), []
done = failed = 0
class C:
    __slots__ = ("s", "st", "buf", "out")

def fail(c, why):
    global failed
    failed += 1
    errors[why] = errors.get(why, 0) + 1
    try:
        sel.unregister(c.s)
    except (KeyError, ValueError):
        pass
    c.s.close()
    live.discard(c)

def send(c, data, nxt):
    c.out, c.st = data, nxt
    flush(c)

def flush(c):
    k = c.s.send(c.out)
    c.out = c.out[k:]
    sel.modify(c.s, W if c.out else R, c)

def ready(c):
    global done
    if mode == "cps":
        c.buf = b""
        send(c, PING, "echo")
    else:
        c.st = "held"
        sel.unregister(c.s)
        live.discard(c)
        held.append(c)
        done += 1

def start():
    s = socket.socket()
    s.setblocking(False)
    c = C()
    c.s, c.st, c.buf, c.out = s, "conn", b"", b""
    live.add(c)
    sel.register(s, W, c)
    e = s.connect_ex(("127.0.0.1", port))
    if e not in (0, errno.EINPROGRESS):
        fail(c, "connect: " + os.strerror(e))

def step(c):
    global done
    if c.st == "conn":
        e = c.s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if e:
            return fail(c, "connect: " + os.strerror(e))
        if proto == "socks5":
            return send(c, GREET, "greet")
        if proto == "http":
            return send(c, HTTP, "http")
        sel.modify(c.s, R, c)
        return ready(c)
    if c.out:
        return flush(c)
    d = c.s.recv(65536)
    if not d:
        return fail(c, f"closed by the peer ({c.st})")
    c.buf += d
    if c.st == "greet" and len(c.buf) >= 2:
        if c.buf[:2] != b"\x05\x00":
            return fail(c, "socks5: method refused")
        c.buf = b""
        send(c, REQ, "req")
    elif c.st == "req" and len(c.buf) >= 5:
        need = {1: 10, 4: 22, 3: 7 + c.buf[4]}.get(c.buf[3], 10)
        if len(c.buf) >= need:
            if c.buf[1] != 0:
                return fail(c, f"socks5: reply {c.buf[1]}")
            c.buf = c.buf[need:]
            ready(c)
    elif c.st == "http" and b"\r\n\r\n" in c.buf:
        head, c.buf = c.buf.split(b"\r\n\r\n", 1)
        line = head.split(b"\r\n", 1)[0]
        if b" 200" not in line:
            return fail(c, "http: " + line.decode("latin-1"))
        ready(c)
    elif c.st == "echo" and len(c.buf) >= len(PING):
        if c.buf != PING:
            return fail(c, "wrong echo")
        sel.unregister(c.s)
        live.discard(c)
        done += 1
        if mode == "hold":
            held.append(c)      # closed after the sample
        else:
            c.s.close()

def run(total, window, deadline):
    started = 0
    while True:
        while started < total and len(live) < window:
            start()
            started += 1
        if not live and started >= total:
            return True
        if time.monotonic() > deadline:
            for c in list(live):
                fail(c, f"no answer in time ({c.st})")
            return False
        for key, _ in sel.select(0.2):
            c = key.data
            try:
                step(c)
            except (BlockingIOError, InterruptedError):
                pass
            except OSError as e:
                fail(c, f"{c.st}: {e.strerror}")

if mode == "cps":
    run(32, infl, time.monotonic() + limit)
    done = failed = 0
    errors.clear()
    c0 = sample(root)[0]
    t = time.monotonic()
    run(n, infl, t + limit)
    el = time.monotonic() - t
    c1 = sample(root)[0]
    print(f"{done / el:.1f} {done} {failed} {el:.3f} {(c1 - c0) * 1e6 / max(done, 1):.1f}")
else:
    base = sample(root)
    t = time.monotonic()
    run(n, infl, t + limit)
    opened, t_open = done, time.monotonic() - t
    conns, held, done = held, [], 0
    for c in conns:
        c.buf = b""
        live.add(c)
        sel.register(c.s, W, c)
        c.out, c.st = PING, "echo"
    t = time.monotonic()
    run(0, 0, t + max(30.0, limit / 2))
    t_echo = time.monotonic() - t
    s = sample(root)
    print(f"{done} {opened} {s[1]} {s[2]} {s[3]} {s[4]} {base[3]} {base[4]} {t_open:.2f} {t_echo:.2f}")
    for c in held:
        c.s.close()
if errors:
    print("; ".join(f"{v}x {k}" for k, v in sorted(errors.items(), key=lambda x: -x[1])[:4]), file=sys.stderr)
EOF

# The peers, by the name used in the tables. sock serves both lists: SOCKS5
# and HTTP CONNECT on the same --proxy-server port.
P9_FORWARD=(sock haproxy haproxy-splice-auto haproxy-splice nginx rinetd socat ncat)
P9_PROXY=(sock-socks5 dante microsocks sock-http ncat-http)
NGX_STREAM=/usr/lib/nginx/modules/ngx_stream_module.so

# p9_have NAME: whether the peer NAME is installed.
p9_have() {
	case $1 in
	sock | sock-*) return 0 ;;
	haproxy*) command -v haproxy >/dev/null ;;
	nginx) command -v nginx >/dev/null && [[ -f $NGX_STREAM ]] ;;
	dante) command -v danted >/dev/null ;;
	ncat-http) command -v ncat >/dev/null ;;
	*) command -v "$1" >/dev/null ;;
	esac
}

# p9_proto NAME: how a client talks to it: plain (a forwarder), socks5, http.
p9_proto() {
	case $1 in
	sock-socks5 | dante | microsocks) echo socks5 ;;
	sock-http | ncat-http) echo http ;;
	*) echo plain ;;
	esac
}

# p9_forks NAME: a process per connection (not run with 9,900 at once).
p9_forks() {
	[[ $1 == socat || $1 == ncat || $1 == ncat-http ]]
}

# p9_cmd NAME P T DIR: CMD becomes the peer NAME listening on 127.0.0.1:P
# (forwarders: to 127.0.0.1:T); its configuration file, if any, is written
# to $WORK. DIR (up, down, echo) only chooses ncat -c's inner client, as in
# section 7: --send-only up, --recv-only down, plain for the echo.
p9_cmd() {
	local name=$1 p=$2 t=$3 dir=$4 inner
	case $name in
	sock) CMD=("$SOCK" -k -l --max-conns "$P9_MAXC" 127.0.0.1 "$p" --forward "127.0.0.1:$t") ;;
	sock-socks5 | sock-http) CMD=("$SOCK" --proxy-server -k -l --max-conns "$P9_MAXC" 127.0.0.1 "$p") ;;
	haproxy*)
		# One process, one thread. haproxy wants 2 * maxconn + pipes fds
		# and cannot raise the hard limit: no strict-limits lets it run
		# with the 20,000 every peer has (it warns).
		{
			printf 'global\n\tnbthread 1\n\tmaxconn 20000\n\tno strict-limits\n'
			printf 'defaults\n\tmode tcp\n\ttimeout connect 10s\n\ttimeout client 600s\n\ttimeout server 600s\n'
			case $name in
			haproxy-splice-auto) printf '\toption splice-auto\n' ;;
			haproxy-splice) printf '\toption splice-request\n\toption splice-response\n' ;;
			esac
			printf 'frontend f\n\tbind 127.0.0.1:%s\n\tmaxconn 20000\n\tdefault_backend b\n' "$p"
			printf 'backend b\n\tserver s 127.0.0.1:%s\n' "$t"
		} >"$WORK/haproxy.cfg"
		CMD=(haproxy -db -f "$WORK/haproxy.cfg")
		;;
	nginx)
		cat >"$WORK/nginx.conf" <<-EOF
			load_module $NGX_STREAM;
			user root;
			worker_processes 1;
			daemon off;
			master_process off;
			worker_rlimit_nofile 20000;
			pid $WORK/nginx.pidf;
			error_log $WORK/nginx.err;
			events { worker_connections 20000; }
			stream { server { listen 127.0.0.1:$p; proxy_pass 127.0.0.1:$t; } }
		EOF
		CMD=(nginx -e "$WORK/nginx.err" -p "$WORK/" -c "$WORK/nginx.conf")
		;;
	rinetd)
		printf '127.0.0.1 %s 127.0.0.1 %s\n' "$p" "$t" >"$WORK/rinetd.conf"
		CMD=(rinetd -f -c "$WORK/rinetd.conf")
		;;
	socat)
		# backlog=4096 as sock's: socat's default of 5 drops SYNs with
		# 32 clients at once.
		CMD=(socat "TCP-LISTEN:$p,bind=127.0.0.1,fork,reuseaddr,backlog=4096" "TCP:127.0.0.1:$t")
		;;
	ncat)
		case $dir in
		up) inner="ncat --send-only 127.0.0.1 $t" ;;
		down) inner="ncat --recv-only 127.0.0.1 $t" ;;
		*) inner="ncat 127.0.0.1 $t" ;;
		esac
		CMD=(ncat -l 127.0.0.1 "$p" -k -m 20000 -c "$inner")
		;;
	dante)
		cat >"$WORK/danted.conf" <<-EOF
			logoutput: $WORK/danted.log
			internal: 127.0.0.1 port = $p
			external: 127.0.0.1
			clientmethod: none
			socksmethod: none
			user.privileged: root
			user.unprivileged: root
			client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }
			socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }
		EOF
		CMD=(danted -f "$WORK/danted.conf" -p "$WORK/danted.pidf" -N 1)
		;;
	microsocks) CMD=(microsocks -i 127.0.0.1 -p "$p") ;;
	ncat-http)
		# ncat 7.93's proxy listens on every address whatever -l is
		# given: --allow keeps it to this machine's clients.
		CMD=(ncat -k -l 127.0.0.1 "$p" --proxy-type http -m 20000 --allow 127.0.0.1)
		;;
	*) die "internal: no peer $name" ;;
	esac
}

# p9_client NAME P T OPTION...: CLI becomes a sock client with OPTIONs that
# reaches 127.0.0.1:T through the peer NAME on port P.
p9_client() {
	local name=$1 p=$2 t=$3
	shift 3
	case $(p9_proto "$name") in
	plain) CLI=("$SOCK" "$@" 127.0.0.1 "$p") ;;
	socks5) CLI=("$SOCK" "$@" -x "socks5://127.0.0.1:$p" 127.0.0.1 "$t") ;;
	http) CLI=("$SOCK" "$@" -x "http://127.0.0.1:$p" 127.0.0.1 "$t") ;;
	esac
}

# p9_start NAME P T DIR: the peer, with the open-file limit every peer gets
# (P9_NOFILE), listening; its pid in PEER and $WORK/peer.pid.
PEER=
p9_start() {
	p9_cmd "$@"
	(ulimit -n "$P9_NOFILE" && exec "${CMD[@]}") </dev/null >"$WORK/peer.out" 2>&1 &
	PEER=$!
	echo "$PEER" >"$WORK/peer.pid"
	local end=$((SECONDS + 5))
	until [[ -n $(ss -Hltn "sport = :$2") ]]; do
		if ((SECONDS > end)) || ! kill -0 "$PEER" 2>/dev/null; then
			note "$1 is not listening: $(tail -n 3 "$WORK/peer.out" | tr '\n' ' ')"
			p9_stop
			return 1
		fi
		nap 0.01
	done
	return 0
}

# p9_stop: SIGTERM to the peer and its descendants, SIGKILL to what is
# left after 5 s.
p9_stop() {
	local -a pids
	local i p
	[[ -n $PEER ]] || return 0
	read -r -a pids < <("${PY[@]}" "$WORK/many.py" pids plain 0 0 0 0 0 "$PEER")
	kill -TERM "${pids[@]}" 2>/dev/null
	for ((i = 0; i < 50; i++)); do
		kill -0 "$PEER" 2>/dev/null || break
		nap 0.1
	done
	for p in "${pids[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	wait "$PEER" 2>/dev/null
	rm -f "$WORK/peer.pid"
	PEER=
}

# p9_sample: P9S becomes "cpu_s procs hwm_kib rss_kib pss_kib" of the peer.
p9_sample() {
	read -r -a P9S < <("${PY[@]}" "$WORK/many.py" sample plain 0 0 0 0 0 "$PEER")
	((${#P9S[@]} == 5)) || P9S=(0 0 0 0 0)
}

# p9_echo: a fresh echo server; its port in ECHO_PORT.
p9_echo() {
	rm -f "$WORK/echo.port"
	"${PY[@]}" "$WORK/echo.py" "$WORK/echo.port" 900 </dev/null >/dev/null 2>"$WORK/echo.err" &
	JOBS+=("$!")
	local end=$((SECONDS + 5))
	until [[ -s $WORK/echo.port ]]; do
		((SECONDS > end)) && fail_run "the echo server did not start"
		nap 0.01
	done
	read -r ECHO_PORT <"$WORK/echo.port"
}

# p9_wait LIMIT FILE...: finish's twin for the peers: on timeout it stops
# the jobs and fails (returns 1) instead of ending the bench.
p9_wait() {
	local end=$((SECONDS + $1)) f p ok=0
	shift
	for f in "$@"; do
		while [[ ! -e $f ]] && ((SECONDS <= end)); do
			nap 0.02
		done
		[[ -e $f ]] || ok=1
	done
	for p in "${JOBS[@]}"; do
		while kill -0 "$p" 2>/dev/null && ((ok == 0)); do
			((SECONDS > end)) && ok=1
			nap 0.02
		done
	done
	if ((ok)); then
		kill -TERM "${JOBS[@]}" 2>/dev/null
		nap 0.5
		kill -KILL "${JOBS[@]}" 2>/dev/null
	fi
	for p in "${JOBS[@]}"; do
		wait "$p" 2>/dev/null
	done
	JOBS=()
	return "$ok"
}

# p9_failed SHAPE NAME ROUND WHY: a run that failed is recorded (the
# tables say "failed"), not fatal; SHAPE: up, down, c (conn/s), hN (held).
p9_failed() {
	note "peers: $2, $1, round $3: FAILED: $4"
	raw p9_fail "$1" "$2" "$3" 1
	printf '# peers: %s %s round %s FAILED: %s\n' "$2" "$1" "$3" "$4" >>"$RAW"
}

# p9_bulk NAME DIR ROUND: the data file through the peer, up (a sock client
# sends it to sock's listener behind the peer) or down (the listener sends
# it to the client). The receiving end is sock -d -v: it sends no FIN (a
# peer that closes both ways at the first FIN, as nginx without
# proxy_half_close and rinetd do, would cut the transfer) and reports the
# bytes it received, which must be all. The peer's CPU: utime+stime of it
# and its descendants, live or reaped, before and after.
p9_bulk() {
	local name=$1 dir=$2 rnd=$3 p t got i n0
	local -a s r v c0
	RUN_DESC="peers: $dir through $name, round $rnd"
	rm -f "$WORK"/*.ru "$WORK"/*.err
	t=$(free_port) || die "no free port"
	p=$(free_port) || die "no free port"
	if [[ $dir == up ]]; then
		"${PY[@]}" "$WORK/run.py" "$WORK/recv" "$SOCK" -v -d -l 127.0.0.1 "$t" </dev/null >/dev/null 2>"$WORK/recv.err" &
	else
		"${PY[@]}" "$WORK/run.py" "$WORK/send" "$SOCK" -l 127.0.0.1 "$t" <"$DATA" >/dev/null 2>"$WORK/send.err" &
	fi
	JOBS+=("$!")
	wait_listen "$t" || fail_run "sock's listener is not listening"
	if ! p9_start "$name" "$p" "$t" "$dir"; then
		p9_wait 5
		p9_failed "$dir" "$name" "$rnd" "it did not start"
		return
	fi
	p9_sample
	c0=("${P9S[@]}")
	if [[ $dir == up ]]; then
		p9_client "$name" "$p" "$t"
		"${PY[@]}" "$WORK/run.py" "$WORK/send" "${CLI[@]}" <"$DATA" >/dev/null 2>"$WORK/send.err" &
	else
		p9_client "$name" "$p" "$t" -v -d
		"${PY[@]}" "$WORK/run.py" "$WORK/recv" "${CLI[@]}" </dev/null >/dev/null 2>"$WORK/recv.err" &
	fi
	JOBS+=("$!")
	if ! p9_wait "$LIMIT" "$WORK/recv.ru" "$WORK/send.ru"; then
		p9_stop
		p9_failed "$dir" "$name" "$rnd" "not done after $LIMIT s"
		return
	fi
	# Until the peer's per-connection processes are gone (at most 3 s).
	n0=${c0[1]}
	for ((i = 0; i < 30; i++)); do
		p9_sample
		((P9S[1] <= n0)) && break
		nap 0.1
	done
	p9_stop
	got=$(sed -n 's/^sock: sent [0-9]* bytes, received \([0-9]*\) bytes .*/\1/p' "$WORK/recv.err" | tail -n 1)
	read -r -a s <"$WORK/send.ru"
	read -r -a r <"$WORK/recv.ru"
	if [[ ${s[5]:-} != 0 || ${r[5]:-} != 0 || $got != "$BYTES" ]]; then
		p9_failed "$dir" "$name" "$rnd" "received ${got:-?} of $BYTES bytes, exit status: sender ${s[5]:-?}, receiver ${r[5]:-?}; $(tail -n 2 "$WORK/send.err" "$WORK/recv.err" "$WORK/peer.out" 2>/dev/null | grep -v '^==> \|^$' | tr '\n' ' ' | cut -c1-300)"
		return
	fi
	read -r -a v < <(
		"${PY[@]}" -c '
import sys
b, s, r, c0, c1, dn = int(sys.argv[1]), sys.argv[2].split(), sys.argv[3].split(), float(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
t0 = float(r[0] if dn == "down" else s[0])
wall = max(float(s[1]), float(r[1])) - t0
print(f"{b / wall / 1e9:.4f} {(c1 - c0) / (b / 2**30):.4f} {wall:.4f}")
' "$BYTES" "${s[*]}" "${r[*]}" "${c0[0]}" "${P9S[0]}" "$dir"
	)
	((${#v[@]} == 3)) || fail_run "cannot compute the result"
	raw p9_tput "$dir" "$name" "$rnd" "${v[0]}"
	raw p9_cpu "$dir" "$name" "$rnd" "${v[1]}"
	printf '# peers: %s %s round %s: wall %s s\n' "$name" "$dir" "$rnd" "${v[2]}" >>"$RAW"
}

# p9_conns NAME ROUND: P9_CPS_N short connections, 32 at once, through the
# peer to the echo server.
p9_conns() {
	local name=$1 rnd=$2 p out
	local -a v
	RUN_DESC="peers: connections per second through $name, round $rnd"
	p9_echo
	p=$(free_port) || die "no free port"
	if ! p9_start "$name" "$p" "$ECHO_PORT" echo; then
		p9_wait 5
		p9_failed c "$name" "$rnd" "it did not start"
		return
	fi
	out=$(timeout 150 "${PY[@]}" "$WORK/many.py" cps "$(p9_proto "$name")" "$p" "$ECHO_PORT" \
		"$P9_CPS_N" 32 60 "$PEER" 2>"$WORK/many.err")
	p9_stop
	p9_wait 5
	read -r -a v <<<"$out"
	if ((${#v[@]} != 5)); then
		p9_failed c "$name" "$rnd" "no result: $(head -c 300 "$WORK/many.err")"
		return
	fi
	if ((v[2] > 0)); then
		p9_failed c "$name" "$rnd" "${v[2]} of $P9_CPS_N connections failed: $(head -c 300 "$WORK/many.err")"
		return
	fi
	raw p9_cps c "$name" "$rnd" "${v[0]}"
	raw p9_cpsc c "$name" "$rnd" "${v[4]}"
}

# p9_hold NAME N ROUND: N connections through the peer held at once, then
# 1 KiB echoed on each: how many were echoed, the peer's peak RSS (the sum
# of VmHWM over its processes), its processes, and its RSS per connection
# ((peak - RSS before the first connection) / connections echoed; also
# with PSS, which counts the pages that forked processes share once).
p9_hold() {
	local name=$1 n=$2 rnd=$3 p out
	local -a v
	RUN_DESC="peers: $n connections held through $name, round $rnd"
	if ((n > 1000)) && p9_forks "$name"; then
		printf '# peers: %s: %s connections not run (a process per connection)\n' "$name" "$n" >>"$RAW"
		raw p9_skip "h$n" "$name" "$rnd" 1
		return
	fi
	p9_echo
	p=$(free_port) || die "no free port"
	if ! p9_start "$name" "$p" "$ECHO_PORT" echo; then
		p9_wait 5
		p9_failed "h$n" "$name" "$rnd" "it did not start"
		return
	fi
	out=$(timeout $((3 * P9_HOLD_LIMIT)) "${PY[@]}" "$WORK/many.py" hold "$(p9_proto "$name")" "$p" "$ECHO_PORT" \
		"$n" 128 "$P9_HOLD_LIMIT" "$PEER" 2>"$WORK/many.err")
	p9_stop
	p9_wait 5
	read -r -a v <<<"$out"
	if ((${#v[@]} != 10)); then
		p9_failed "h$n" "$name" "$rnd" "no result: $(head -c 300 "$WORK/many.err")"
		return
	fi
	raw p9_held "h$n" "$name" "$rnd" "${v[0]}"
	raw p9_hwm "h$n" "$name" "$rnd" "${v[3]}"
	raw p9_procs "h$n" "$name" "$rnd" "${v[2]}"
	if ((v[0] > 0)); then
		raw p9_perconn "h$n" "$name" "$rnd" "$(((v[3] - v[6]) * 1000 / v[0]))e-3"
		raw p9_pssconn "h$n" "$name" "$rnd" "$(((v[5] - v[7]) * 1000 / v[0]))e-3"
	fi
	printf '# peers: %s %s held round %s: echoed %s, opened %s, %s process(es), VmHWM %s KiB, VmRSS %s KiB, PSS %s KiB, before: VmRSS %s KiB, PSS %s KiB; opening %s s, echo %s s%s\n' \
		"$name" "$n" "$rnd" "${v[@]}" "$([[ -s $WORK/many.err ]] && printf '; failures: %s' "$(head -c 300 "$WORK/many.err")")" >>"$RAW"
	if ((v[0] < n)); then
		note "peers: $name held $n: ${v[0]} echoed: $(head -c 300 "$WORK/many.err")"
	fi
}

# p9_round ROUND: every metric, the peers interleaved in each.
p9_round() {
	local rnd=$1 t dir n
	for dir in up down; do
		note "round $rnd/$ROUNDS: peers, bulk $dir (${P9_TOOLS[*]})"
		for t in "${P9_TOOLS[@]}"; do
			p9_bulk "$t" "$dir" "$rnd"
		done
	done
	note "round $rnd/$ROUNDS: peers, connections per second, 32 at once"
	for t in "${P9_TOOLS[@]}"; do
		p9_conns "$t" "$rnd"
	done
	for n in 1000 9900; do
		note "round $rnd/$ROUNDS: peers, $n connections held"
		for t in "${P9_TOOLS[@]}"; do
			p9_hold "$t" "$n" "$rnd"
		done
	done
}

# p9report.py RAW ROUNDS SIZE FORWARDERS PROXIES NOTE: the tables of
# section 9 and its goals (against haproxy, nginx, dante, microsocks).
cat >"$WORK/p9report.py" <<'EOF' || die "cannot write $WORK/p9report.py"
import statistics, sys
raw, rounds, size, fwd, prx, note = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split(), sys.argv[5].split(), sys.argv[6]
v = {}
for line in open(raw):
    f = line.rstrip("\n").split("\t")
    if len(f) == 5 and f[0].startswith("p9_"):
        v.setdefault((f[0], f[1], f[2]), []).append(float(f[4]))
def med(m, s, t):
    x = v.get((m, s, t))
    return statistics.median(x) if x else None
def cell(m, s, t, fmt, w):
    x = med(m, s, t)
    if x is not None:
        return f"{fmt.format(x):>{w}}"
    if (("p9_fail", s, t)) in v:
        return f"{'failed':>{w}}"
    if (("p9_skip", s, t)) in v:
        return f"{'not run':>{w}}"
    return f"{'-':>{w}}"
def held(n, t, w):
    x = med("p9_held", f"h{n}", t)
    if x is None:
        return cell("p9_held", f"h{n}", t, "", w)
    return f"{f'{x:.0f}/{n}':>{w}}"
print(f"\n9. Forwarders and proxies, medians of {rounds} round(s); bulk: {size} of zeros, sock at both")
print("   ends (-d -v on the receiving one: all bytes counted); CPU: the peer's processes, live or reaped;")
print("   conn/s: python clients, 32 at once, each connect + handshake + 5 bytes echoed + close;")
print("   the clients and the echo server (python) share the CPUs with the peer: CPU us each is the")
print("   peer's own CPU per connection (10 ms ticks over the 1,000), which that sharing does not bound;")
print("   held: N opened at once through the peer to an echo server, then 1 KiB echoed on each;")
print("   RSS: sum of VmHWM over the peer's processes; per conn: (that - RSS before) / held;")
print("   PSS per conn: the same with PSS (pages shared by forked processes counted once).")
if any(t.startswith("haproxy") for t in fwd):
    print("   haproxy: nbthread 1, maxconn 20000 (no strict-limits: it wants 2 fds a connection and more,")
    print("   it gets the 20,000 every peer has), no option splice; haproxy-splice-auto: option splice-auto")
    print("   (which does not splice on loopback); haproxy-splice: option splice-request + splice-response.")
if any(t in ("socat", "ncat", "ncat-http") for t in fwd + prx):
    print("   socat: TCP-LISTEN:P,fork,reuseaddr,backlog=4096 (its default backlog of 5 drops SYNs);")
    print("   ncat: -k -m 20000 -c 'ncat [--send-only|--recv-only] 127.0.0.1 T' (listen backlog 10);")
    print("   ncat-http: -k -m 20000 --proxy-type http --allow 127.0.0.1.")
if note:
    print("   " + note)
for title, tools in (("9a. --forward: sock -> FORWARDER -> target", fwd),
                     ("9b. --proxy-server: sock -x PROXY -> target (SOCKS5, or HTTP CONNECT for *-http)", prx)):
    if not tools:
        continue
    print(f"\n{title}")
    print(f"  {'':<20}{'upload':>21}{'download':>21}{'connections, 32 at once':>25}")
    print(f"  {'peer':<20}{'GB/s':>9}{'CPU s/GiB':>12}{'GB/s':>9}{'CPU s/GiB':>12}{'per s':>10}{'CPU us each':>15}")
    for t in tools:
        print(f"  {t:<20}" + cell("p9_tput", "up", t, "{:.2f}", 9) + cell("p9_cpu", "up", t, "{:.3f}", 12)
              + cell("p9_tput", "down", t, "{:.2f}", 9) + cell("p9_cpu", "down", t, "{:.3f}", 12)
              + cell("p9_cps", "c", t, "{:.0f}", 10) + cell("p9_cpsc", "c", t, "{:.0f}", 15))
    print(f"  {'':<20}{'held 1,000 at once':>42}{'held 9,900 at once':>44}")
    print(f"  {'peer':<20}" + f"{'echoed':>11}{'RSS MiB':>9}{'procs':>6}{'KiB/conn':>9}{'PSS/conn':>9}" * 2)
    for t in tools:
        row = f"  {t:<20}"
        for n in (1000, 9900):
            h = f"h{n}"
            hw = med("p9_hwm", h, t)
            if hw is None:
                why = "failed" if ("p9_fail", h, t) in v else "not run (a process per conn.)" if ("p9_skip", h, t) in v else "-"
                row += f"{why:>44}"
                continue
            row += (held(n, t, 11) + f"{hw / 1024:9.1f}"
                    + cell("p9_procs", h, t, "{:.0f}", 6) + cell("p9_perconn", h, t, "{:.1f}", 9)
                    + cell("p9_pssconn", h, t, "{:.1f}", 9))
        print(row.rstrip())

def best(m, s, tools, higher):
    xs = [(med(m, s, t), t) for t in tools if med(m, s, t) is not None]
    if not xs:
        return None
    return (max if higher else min)(xs)[1]
def goals(me, peers, label):
    print(f"\n9c. Goals: {label}")
    for peer_set in peers:
        lines = []
        def line(what, m, s, goal, higher, unit, fmt):
            p = best(m, s, peer_set, higher)
            a = med(m, s, me)
            if p is None:
                lines.append(f"    {what:<34} -: no figure for {'/'.join(peer_set)}")
                return
            b = med(m, s, p)
            if a is None:
                lines.append(f"    {what:<34} NOT met: no figure for {me} ({p} {fmt.format(b)} {unit})")
                return
            x = a / b if b else float("inf")
            ok = x >= goal if higher else x <= goal
            lines.append(f"    {what:<34} {'met' if ok else 'NOT met':<8} {me} {fmt.format(a)} {unit}, "
                         f"{p} {fmt.format(b)} {unit}: {x:.2f}x")
        name = peer_set[0] if len(peer_set) == 1 else f"{peer_set[0].split('-')[0]} (its best setting in each line)"
        print(f"  {me} vs {name}:")
        line("upload throughput >= 1.5x", "p9_tput", "up", 1.5, True, "GB/s", "{:.2f}")
        line("download throughput >= 1.5x", "p9_tput", "down", 1.5, True, "GB/s", "{:.2f}")
        line("CPU per GiB up <= 0.5x", "p9_cpu", "up", 0.5, False, "s", "{:.3f}")
        line("CPU per GiB down <= 0.5x", "p9_cpu", "down", 0.5, False, "s", "{:.3f}")
        line("connections per second >= 1.2x", "p9_cps", "c", 1.2, True, "/s", "{:.0f}")
        h = med("p9_held", "h9900", me)
        others = ", ".join(f"{t} {med('p9_held', 'h9900', t):.0f}" for t in peer_set if med("p9_held", "h9900", t) is not None)
        lines.append(f"    {'9,900 of 9,900 held':<34} {'met' if h is not None and h >= 9900 else 'NOT met':<8} "
                     f"{me} {'-' if h is None else f'{h:.0f}'}" + (f" ({others})" if others else ""))
        if h is not None and h < 9900:
            lines.append(f"    {'RSS per connection (9,900) <=':<34} NOT met  {me} held {h:.0f} of 9,900: "
                         "its RSS per connection is not comparable")
        else:
            line("RSS per connection (9,900) <=", "p9_perconn", "h9900", 1.0, False, "KiB", "{:.1f}")
        print("\n".join(lines))
hap = [t for t in fwd if t.startswith("haproxy")]
fw = [s for s in ([hap] if hap else []) + ([["nginx"]] if "nginx" in fwd else [])]
if "sock" in fwd and fw:
    goals("sock", fw, "sock --forward against haproxy and nginx")
px = [[t] for t in ("dante", "microsocks") if t in prx]
if "sock-socks5" in prx and px:
    goals("sock-socks5", px, "sock --proxy-server (SOCKS5) against dante and microsocks")
EOF

# p9_report: the tables of section 9.
p9_report() {
	local -a f=() p=()
	local t
	for t in "${P9_TOOLS[@]}"; do
		if [[ " ${P9_FORWARD[*]} " == *" $t "* ]]; then
			f+=("$t")
		else
			p+=("$t")
		fi
	done
	"${PY[@]}" "$WORK/p9report.py" "$RAW" "$ROUNDS" "$SIZE" "${f[*]}" "${p[*]}" "$P9_NOTE" ||
		die "the report of section 9 failed"
}

# ------------------------------------------------------ 10. UDP forwarding ---
# Datagrams per second through a UDP forwarder, and its
# CPU per datagram, for sock -u --forward beside socat UDP-RECVFROM,fork
# (a process per datagram: socat's way to serve every sender) and nginx's
# stream module (listen udp, proxy_responses 1: a session per request).
# bench/udpblast.c, built here, is the echo behind the forwarder and the
# load: U10_NSRC senders each keep 32 datagrams of U10_SIZE bytes in flight
# for U10_SECS seconds; what a sender does not hear back within 100 ms is
# lost. A round trip is two datagrams through the forwarder.

U10_TOOLS=()
U10_BLAST=
# u10_setup: build udpblast and pick the forwarders that are installed.
u10_setup() {
	local t
	if ! cc -O2 -o "$WORK/udpblast" "$SRC/bench/udpblast.c" 2>"$WORK/udpblast.log"; then
		note "cannot build bench/udpblast.c: no UDP forwarding figures"
		cat "$WORK/udpblast.log" >&2
		return
	fi
	U10_BLAST=$WORK/udpblast
	for t in sock socat nginx; do
		if p9_have "$t"; then
			U10_TOOLS+=("$t")
		else
			note "$t is not installed: skipped (section 10)"
		fi
	done
}

# u10_cmd TOOL P E: CMD becomes TOOL forwarding UDP 127.0.0.1:P to E.
u10_cmd() {
	case $1 in
	sock) CMD=("$SOCK" -u -l 127.0.0.1 "$2" --forward "127.0.0.1:$3") ;;
	socat) CMD=(socat -T 1 "UDP-RECVFROM:$2,bind=127.0.0.1,fork" "UDP:127.0.0.1:$3") ;;
	nginx)
		cat >"$WORK/nginx-udp.conf" <<-EOF
			load_module $NGX_STREAM;
			user root;
			worker_processes 1;
			daemon off;
			master_process off;
			worker_rlimit_nofile 20000;
			pid $WORK/nginx-udp.pidf;
			error_log $WORK/nginx-udp.err;
			events { worker_connections 20000; }
			stream { server { listen 127.0.0.1:$2 udp; proxy_pass 127.0.0.1:$3; proxy_responses 1; proxy_timeout 10s; } }
		EOF
		CMD=(nginx -e "$WORK/nginx-udp.err" -p "$WORK/" -c "$WORK/nginx-udp.conf")
		;;
	esac
}

# u10_bound PORT: something has bound UDP 127.0.0.1:PORT (at most 5 s).
u10_bound() {
	local end=$((SECONDS + 5))
	while ((SECONDS <= end)); do
		[[ -n $(ss -Hlun "sport = :$1") ]] && return 0
		nap 0.01
	done
	return 1
}

# u10_run TOOL ROUND: one run of the load through TOOL.
u10_run() {
	local tool=$1 rnd=$2 p e epid fpid out
	local -a f v
	RUN_DESC="UDP forwarding, $tool, round $rnd"
	rm -f "$WORK"/*.ru "$WORK"/*.err "$WORK/uecho.port"
	"$U10_BLAST" echo "$WORK/uecho.port" 2>"$WORK/uecho.err" &
	epid=$!
	echo "$epid" >"$WORK/uecho.pid"
	local end=$((SECONDS + 5))
	while [[ ! -s $WORK/uecho.port ]]; do
		((SECONDS > end)) && fail_run "the echo did not start"
		nap 0.01
	done
	e=$(<"$WORK/uecho.port")
	p=$(free_port) || die "no free port"
	u10_cmd "$tool" "$p" "$e"
	"${PY[@]}" "$WORK/run.py" "$WORK/ufwd" "${CMD[@]}" </dev/null >/dev/null 2>"$WORK/ufwd.err" &
	fpid=$!
	echo "$fpid" >"$WORK/ufwd.pid"
	u10_bound "$p" || fail_run "the forwarder has not bound its port"
	out=$("$U10_BLAST" load "$p" "$U10_SECS" "$U10_SIZE" "$U10_NSRC" 32) ||
		fail_run "the load failed"
	kill -TERM "$fpid" 2>/dev/null
	wait "$fpid" 2>/dev/null
	kill -TERM "$epid" 2>/dev/null
	wait "$epid" 2>/dev/null
	rm -f "$WORK/ufwd.pid" "$WORK/uecho.pid"
	read -r -a f <"$WORK/ufwd.ru" || fail_run "no result from the forwarder"
	read -r -a v < <(
		"${PY[@]}" -c '
import sys
answered, lost, secs = sys.argv[1].split()
f = sys.argv[2].split()
n = 2 * int(answered)
cpu = (float(f[2]) + float(f[3])) / n * 1e6 if n else 0
print(f"{n / float(secs):.0f} {cpu:.3f} {lost}")
' "$out" "${f[*]}"
	)
	((${#v[@]} == 3)) || fail_run "cannot compute the result"
	raw udp_rate u "$tool" "$rnd" "${v[0]}"
	raw udp_cpu u "$tool" "$rnd" "${v[1]}"
	printf '# udp %s round %s: %s (answered lost secs), %s datagrams lost\n' \
	    "$tool" "$rnd" "$out" "${v[2]}" >>"$RAW"
}

# u10_round ROUND: every forwarder once.
u10_round() {
	local t
	[[ -n $U10_BLAST ]] || return 0
	note "round $1/$ROUNDS: UDP forwarding (${U10_TOOLS[*]})"
	for t in "${U10_TOOLS[@]}"; do
		u10_run "$t" "$1"
	done
}

# u10_report: medians of section 10, and sock's ratio to each.
u10_report() {
	[[ -n $U10_BLAST ]] || return 0
	"${PY[@]}" -c '
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("\t")
    if len(f) == 5 and f[0] in ("udp_rate", "udp_cpu"):
        runs.setdefault(f[0], {}).setdefault(f[2], []).append(float(f[4]))
print("\nUDP forwarding, %s senders, %s-byte datagrams, 32 in flight each:" % (sys.argv[2], sys.argv[3]))
for key, title, fmt, better in (
        ("udp_rate", "datagrams per second through it (both ways)", "{:9.0f}", "higher"),
        ("udp_cpu", "forwarder CPU per datagram, microseconds", "{:9.2f}", "lower")):
    if key not in runs:
        continue
    med = {t: statistics.median(v) for t, v in runs[key].items()}
    n = max(len(v) for v in runs[key].values())
    print("  %s (median of %d; %s is better):" % (title, n, better))
    for t, m in med.items():
        ratio = ""
        if t != "sock" and "sock" in med and m > 0:
            ratio = "  (sock is %.2fx)" % (med["sock"] / m)
        print("    %-6s %s%s" % (t, fmt.format(m), ratio))
' "$RAW" "$U10_NSRC" "$U10_SIZE"
}

# ------------------------------------------------------------------- main ---

HAVE_HYPERFINE=0
command -v hyperfine >/dev/null && HAVE_HYPERFINE=1

human() {
	if ((BYTES % (1024 * 1024 * 1024) == 0)); then
		printf '%d GiB' $((BYTES / 1024 / 1024 / 1024))
	else
		printf '%d MiB' $((BYTES / 1024 / 1024))
	fi
}
SIZE=$(human)

version_of() {
	case $1 in
	sock) "$SOCK" --version 2>&1 | head -n 1 ;;
	nc.openbsd) nc.openbsd -h 2>&1 | head -n 1 ;;
	ncat) ncat --version 2>&1 | head -n 1 ;;
	socat) socat -V 2>&1 | sed -n 's/^socat version \([^ ]*\).*/socat \1/p' ;;
	esac
}

{
	printf '# sock benchmark %s, %s, kernel %s, %s CPUs\n' "$(date -Is)" "$(uname -n)" "$(uname -r)" "$(nproc)"
	printf '# rounds %s, bulk %s bytes, latency n=%s, connections n=%s, start-up runs %s\n' \
		"$ROUNDS" "$BYTES" "$LAT_N" "$CPS_N" "$START_RUNS"
	for t in "${TOOLS[@]}"; do
		printf '# %s: %s\n' "$t" "$(version_of "$t")"
	done
	printf '# metric\tshape\ttool\tround\tvalue\n'
} >>"$RAW"

printf 'sock benchmark: %s, %s CPUs, load %s; %s round(s), tools interleaved\n' \
	"$(uname -sr)" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$ROUNDS"
for t in "${TOOLS[@]}"; do
	printf '  %-11s %s\n' "$t" "$(version_of "$t")"
done
printf 'ends: sock plain; nc.openbsd -N on the sending end; ncat --send-only/--recv-only; socat -u (bulk)\n'
printf 'data: %s of zeros from /dev/zero in %s; start-up timed with %s\n' \
	"$SIZE" "$WORK" "$( ((HAVE_HYPERFINE)) && echo hyperfine || echo a python loop)"

if ((!UDP_ONLY)); then	# section 10 moves no file
	note "writing the $SIZE data file"
	head -c "$BYTES" /dev/zero >"$DATA" || die "cannot write $DATA"
	[[ $(stat -c %s "$DATA") == "$BYTES" ]] || die "$DATA is short"
fi

FWD_TOOLS=(sock)
for t in socat ncat; do
	command -v "$t" >/dev/null && FWD_TOOLS+=("$t")
done

# Section 9: the peers installed (and asked for with --peers), the open
# files each gets, and the most connections sock accepts (--max-conns).
p9_version() {
	case $1 in
	sock*) "$SOCK" --version 2>&1 | head -n 1 ;;
	haproxy*) haproxy -v 2>&1 | sed -n '1s/^HAProxy version \([^ ]*\).*/haproxy \1/p' ;;
	nginx) nginx -v 2>&1 | sed 's/^nginx version: //' ;;
	rinetd) rinetd -v 2>&1 | head -n 1 ;;
	socat) version_of socat ;;
	ncat*) ncat --version 2>&1 | sed -n '1s/^Ncat: Version \([^ ]*\).*/ncat \1/p' ;;
	dante) danted -v 2>&1 | sed -n '1s/^Dante v\([0-9.]*[0-9]\).*/dante \1/p' ;;
	microsocks) dpkg-query -W -f 'microsocks ${Version}' microsocks 2>/dev/null || echo microsocks ;;
	esac
}
P9_TOOLS=()
if [[ -n $PEERS ]]; then
	for t in ${PEERS//,/ }; do
		[[ " ${P9_FORWARD[*]} ${P9_PROXY[*]} " == *" $t "* ]] || die "--peers: no peer $t"
	done
fi
for t in "${P9_FORWARD[@]}" "${P9_PROXY[@]}"; do
	[[ -n $PEERS && ,$PEERS, != *,$t,* ]] && continue
	if p9_have "$t"; then
		P9_TOOLS+=("$t")
	else
		note "$t is not installed: skipped (section 9)"
	fi
done
P9_NOFILE=$(ulimit -Hn)
if [[ $P9_NOFILE == unlimited ]] || ((P9_NOFILE >= 20000)); then
	P9_NOFILE=20000
else
	note "the hard limit of open files is $P9_NOFILE: 9,900 connections need 20,000 (section 9)"
fi
# sock refuses a --max-conns beyond its own limit or beyond what the
# descriptor limit serves, and says how many it would take: a listener
# that still runs after 1 s took 20,000.
P9_MAXC=$(
	ulimit -n "$P9_NOFILE"
	timeout 1 "$SOCK" -k -l --max-conns 20000 127.0.0.1 0 --forward 127.0.0.1:9 2>&1 >/dev/null </dev/null |
		sed -n 's/.*\(at most\|must be a number from 1 to\) \([0-9][0-9]*\).*/\2/p' | head -n 1
)
[[ $P9_MAXC =~ ^[0-9]+$ ]] || P9_MAXC=20000
P9_CPS_N=1000
P9_HOLD_LIMIT=120
P9_NOTE="every peer: ulimit -n $P9_NOFILE; sock --max-conns $P9_MAXC"
((P9_MAXC < 20000)) && P9_NOTE+=" (the most this sock takes with that limit)"
if P9_REV=$(git -C "$SRC" describe --always --dirty 2>/dev/null); then
	P9_NOTE+="; sock's sources: git $P9_REV"
fi
{
	printf '# section 9: %s\n' "$P9_NOTE"
	for t in "${P9_TOOLS[@]}"; do
		printf '# %s: %s\n' "$t" "$(p9_version "$t")"
	done
} >>"$RAW"
if ((${#P9_TOOLS[@]} > 0)); then
	printf 'section 9 peers:'
	for t in "${P9_TOOLS[@]}"; do
		printf ' %s (%s);' "$t" "$(p9_version "$t")"
	done
	printf '\n'
fi

U10_SIZE=${BENCH_UDP_SIZE:-100}
U10_NSRC=${BENCH_UDP_SENDERS:-4}
U10_SECS=${BENCH_UDP_SECS:-$U10_SECS}
u10_setup
T_START=$SECONDS
if ((UDP_ONLY)); then
	for ((rnd = 1; rnd <= ROUNDS; rnd++)); do
		u10_round "$rnd"
	done
	rm -f "$DATA"
	u10_report
	printf '\nraw per-run numbers: %s (%d s)\n' "$RAW" $((SECONDS - T_START))
	exit 0
fi
if ((PEERS_ONLY)); then
	if ((${#P9_TOOLS[@]} > 0)); then
		for ((rnd = 1; rnd <= ROUNDS; rnd++)); do
			p9_round "$rnd"
		done
	fi
	rm -f "$DATA"
	p9_report
	printf '\nraw per-run numbers: %s (%d s)\n' "$RAW" $((SECONDS - T_START))
	exit 0
fi
if ((TLS_ONLY)); then
	for ((rnd = 1; rnd <= ROUNDS; rnd++)); do
		if ((${#TLS_TOOLS[@]} > 0)); then
			note "round $rnd/$ROUNDS: bulk over TLS (${TLS_TOOLS[*]})"
			for t in "${TLS_TOOLS[@]}"; do
				[[ -n $t ]] && tls_bulk t "$t" "$rnd"
			done
		fi
		tax_tls_round "$rnd"
		note "round $rnd/$ROUNDS: connections (${TAX_TOOLS[*]})"
		for t in "${TAX_TOOLS[@]}"; do
			conns "$t" "$rnd"
		done
	done
	rm -f "$DATA"
	tls_report
	printf '\nraw per-run numbers: %s (%d s)\n' "$RAW" $((SECONDS - T_START))
	exit 0
fi
if ((FORWARD_ONLY)); then
	for ((rnd = 1; rnd <= ROUNDS; rnd++)); do
		note "round $rnd/$ROUNDS: forwarding (${FWD_TOOLS[*]})"
		for t in "${FWD_TOOLS[@]}"; do
			forward_run "$t" "$rnd"
		done
		for t in "${FWD_TOOLS[@]}"; do
			forward_conns "$t" "$rnd"
		done
	done
	rm -f "$DATA"
	forward_report
	printf '\nraw per-run numbers: %s (%d s)\n' "$RAW" $((SECONDS - T_START))
	exit 0
fi
for ((rnd = 1; rnd <= ROUNDS; rnd++)); do
	note "round $rnd/$ROUNDS: forwarding (${FWD_TOOLS[*]})"
	for t in "${FWD_TOOLS[@]}"; do
		forward_run "$t" "$rnd"
	done
	for t in "${FWD_TOOLS[@]}"; do
		forward_conns "$t" "$rnd"
	done
	for shape in a b c d; do
		note "round $rnd/$ROUNDS: bulk $shape (${TOOLS[*]} ${BASE[*]})"
		for t in "${TOOLS[@]}" "${BASE[@]}"; do
			bulk "$shape" "$t" "$rnd"
		done
	done
	if ((${#TLS_TOOLS[@]} > 0)); then
		note "round $rnd/$ROUNDS: bulk over TLS (${TLS_TOOLS[*]})"
		for t in "${TLS_TOOLS[@]}"; do
			[[ -n $t ]] && tls_bulk t "$t" "$rnd"
		done
	fi
	pipe_ceiling "$rnd"
	note "round $rnd/$ROUNDS: latency, connections, start-up"
	for t in "${TOOLS[@]}"; do
		latency "$t" "$rnd"
	done
	# With the TLS=no build beside sock (and /bin/true for start-up).
	for t in "${TOOLS[@]}" "${NOTLS[@]}"; do
		conns "$t" "$rnd"
	done
	for t in "${TOOLS[@]}"; do
		startup "$t" "$rnd"
	done
	tax_tls_round "$rnd"
	((${#P9_TOOLS[@]} > 0)) && p9_round "$rnd"
	u10_round "$rnd"
done
rm -f "$DATA"

"${PY[@]}" "$WORK/report.py" "$RAW" "$ROUNDS" "$SIZE" "${TOOLS[*]} ${BASE[*]}" || die "report failed"
forward_report
tls_report
((${#P9_TOOLS[@]} > 0)) && p9_report
u10_report
printf '\nraw per-run numbers: %s (%d s)\n' "$RAW" $((SECONDS - T_START))
