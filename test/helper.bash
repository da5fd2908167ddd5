# SPDX-License-Identifier: ISC
# Shared helpers for sock's bats tests.
#
# Conventions: every background process is started through bg (or
# sock_server), which records its PID so teardown can kill and reap it; fd 3
# is closed in background children or bats waits for them; readiness is
# polled, never slept for; ports come from the kernel (port 0, read back
# from the listener), free_port only where that cannot be (see there).

# Variables set here (T, PORT, LPID, BG_PID, EXIT_STATUS, FEED_PID, FEEDS,
# DUAL, DUAL_FIRST, DUAL_SECOND, DUAL_RUN, BH_PORT, CLOSED_PORT, SPID, PEER,
# PPORT) are read by the .bats files that load this one.
# shellcheck disable=SC2034
true

SOCK=${SOCK:-"$BATS_TEST_DIRNAME/../sock"}
# The python peers and checks (peer_listen, peer_connect, blackhole,
# free_port, origin_start... and the tests' own): one script with
# subcommands; its docstring lists them and their actions.
PEER_PY=$BATS_TEST_DIRNAME/peer.py
PIDS=()
# The writers of the feeds open_feed started, by FIFO.
declare -gA FEEDS=()

common_setup() {
	T=$BATS_TEST_TMPDIR
	PIDS=()
	FEEDS=()
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

# sock_server PORTVAR PIDVAR IN OUT ERR ARGS...: start "sock -v -l ARGS",
# prefixed by the words of the array LAUNCH if the test set one, with stdin
# from IN, stdout to OUT and stderr to ERR; wait for its readiness line and
# set the variables named PORTVAR (its port) and PIDVAR (its PID). ARGS
# must make it listen on port 0 (or name a port).
sock_server() {
	local portvar=$1 pidvar=$2 in=$3 out=$4 err=$5 pid
	shift 5
	"${LAUNCH[@]}" "$SOCK" -v -l "$@" <"$in" >"$out" 2>"$err" 3>&- &
	pid=$!
	PIDS+=("$pid")
	printf -v "$pidvar" %s "$pid"
	wait_for 5 has_port_line "$err" || { cat "$err" >&2; return 1; }
	printf -v "$portvar" %s "$(port_from "$err")"
}

# sock_listen IN OUT ERR ARGS...: sock_server setting PORT and LPID.
sock_listen() {
	sock_server PORT LPID "$@"
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
# There is a race (another process may take it before the test does), so
# use it only where the port must be known before anything listens on it:
# a port the test names (-l -p PORT, a -p source port), a listener that
# appears later (--wait), a UDP port that must refuse (nothing bound to it
# at all; closed_port is the TCP one), or a peer (nc, ncat, socat) started
# on a port the test gives it. A listener on port 0 says its port instead:
# sock -v's "listening on" line (sock_server), peer.py's PORTFILE
# (peer_listen), or bound_port below.
free_port() {
	python3 "$PEER_PY" free-port "${1:-tcp}"
}

# closed_port: set CLOSED_PORT to a TCP port on 127.0.0.1 that refuses
# connections for the rest of the test: a socket bound to it (so no one
# else takes it) that does not listen.
closed_port() {
	need python3
	bg python3 "$PEER_PY" closed-port >"$T/closed"
	wait_for 5 test -s "$T/closed"
	CLOSED_PORT=$(cat "$T/closed")
}

# bound_port PID [tcp|udp]: the port that process PID listens on (TCP) or
# has bound (UDP), as the kernel reports it (ss -p): for a listener started
# on port 0 that does not say which port it got.
bound_port() {
	local flags=-Htlnp
	[ "${2:-tcp}" = udp ] && flags=-Hulnp
	ss "$flags" | sed -n "s/.*:\([0-9][0-9]*\) .*[(,]pid=$1,.*/\1/p" |
	    head -n 1
}

# has_bound_port PID [tcp|udp]: bound_port has an answer yet.
has_bound_port() {
	[ -n "$(bound_port "$@")" ]
}

# is_listening PORT: something listens on TCP PORT (any address).
is_listening() {
	ss -Hltn "sport = :$1" | grep -q .
}

# bytes_taken PORT: the bytes the established TCP sockets of local port
# PORT have received in all, and (a second word) the bytes still waiting
# in their receive queues, unread by their owner.
bytes_taken() {
	ss -Htni state established "sport = :$1" | awk '
	    /^[0-9]/ { queued += $1 }
	    { for (i = 1; i <= NF; i++)
		if ($i ~ /^bytes_received:/) { sub(/.*:/, "", $i); got += $i } }
	    END { print got + 0, queued + 0 }'
}

# has_taken PORT BYTES: the sockets of local port PORT (a server's side of
# its clients' connections) have received BYTES bytes or more in all and
# their owner has read every one: the event to wait for after sending what
# a server reads but shows nobody yet, such as half a line.
has_taken() {
	local got queued
	read -r got queued < <(bytes_taken "$1")
	[ "$got" -ge "$2" ] && [ "$queued" -eq 0 ]
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
# process (its PID in FEED_PID, and in FEEDS by FIFO), so whoever reads it
# sees no end of input until end_feed FIFO kills that process. feed FIFO
# TEXT and say FIFO LINE write into it meanwhile.
open_feed() {
	hold_fifo "$1"
	# shellcheck disable=SC2016 # $0 is expanded by the inner shell
	bg sh -c 'exec sleep 60 >"$0"' "$1"
	FEED_PID=$BG_PID
	FEEDS[$1]=$BG_PID
}

# end_feed FIFO: end the feed open_feed FIFO started: its reader then sees
# end of input.
end_feed() {
	local pid=${FEEDS[$1]:?"end_feed: no feed open on $1"}
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	unset 'FEEDS[$1]'
}

# feed FIFO TEXT: write TEXT to an open FIFO (bounded, never hangs).
feed() {
	# shellcheck disable=SC2016 # $0 and $1 are expanded by the inner shell
	timeout 5 sh -c 'printf "%s" "$1" >"$0"' "$1" "$2"
}

# say FIFO LINE: feed LINE and a newline.
say() {
	feed "$1" "$2"$'\n'
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

# size_at_least FILE N: FILE is a regular file of N bytes or more.
size_at_least() {
	[ -f "$1" ] && [ "$(wc -c <"$1")" -ge "$2" ]
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

# blackhole: start a TCP listener on 127.0.0.1 that never answers a SYN
# (peer.py blackhole says how) and set BH_PORT; skip the test where that
# cannot be made.
blackhole() {
	need python3
	bg python3 "$PEER_PY" blackhole >"$T/bh"
	wait_for 5 test -s "$T/bh"
	BH_PORT=$(cat "$T/bh")
	case $BH_PORT in
	*[!0-9]*) skip "cannot make a port that drops SYNs here" ;;
	esac
}

# ---------------------------------------------------------------- sock

# silent PORT ADDR...: listen on ADDR port PORT (0: the kernel picks, on
# the first ADDR) for each ADDR so that a SYN to any of them is dropped and
# a connect hangs (peer.py blackhole); set BH_PORT, or skip where SYNs
# cannot be made to vanish (fail if the port was taken).
silent() {
	need python3
	rm -f "$T/bh"
	bg python3 "$PEER_PY" blackhole "$@" >"$T/bh"
	wait_for 5 test -s "$T/bh"
	BH_PORT=$(cat "$T/bh")
	case $BH_PORT in
	answers) skip "cannot make a port that drops SYNs here" ;;
	*[!0-9]*) echo "black hole: $BH_PORT" >&2; return 1 ;;
	esac
}

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

# peer_listen ACTION...: start the python peer (PEER_PY) listening on
# 127.0.0.1; sets PPORT and PEER (its PID). Its stderr goes to $T/peer.err.
peer_listen() {
	rm -f "$T/pport"
	bg python3 "$PEER_PY" listen "$T/pport" "$@" 2>"$T/peer.err" 5>&-
	PEER=$BG_PID
	wait_for 5 test -s "$T/pport"
	PPORT=$(cat "$T/pport")
}

# peer_connect PORT ACTION...: start the python peer (PEER_PY) as a client
# of PORT on 127.0.0.1; sets PEER (its PID). Its stderr goes to $T/peer.err.
peer_connect() {
	bg python3 "$PEER_PY" connect "$@" 2>"$T/peer.err" 5>&-
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

# datagram_ping_pong CLIENT_ARGS...: with a datagram listener running
# (LPID; stdin the feed $T/lin; stdout $T/lout),
# start "sock CLIENT_ARGS" fed from $T/cin, send ping to the listener and
# pong back, end both stdins, and check that both exit 0 having carried
# exactly that.
datagram_ping_pong() {
	local cpid
	open_feed "$T/cin"
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
	end_feed "$T/cin"
	end_feed "$T/lin"
	wait_exit "$cpid" 4
	[ "$EXIT_STATUS" -eq 0 ]
	wait_exit "$LPID" 4
	[ "$EXIT_STATUS" -eq 0 ]
	[ "$(cat "$T/lout")" = ping ]
	[ "$(cat "$T/cout")" = pong ]
}

# ---------------------------------------------------------------- sockets

GETSOCKOPT="$BATS_TEST_DIRNAME/getsockopt.py"

# read_opts PID [--listening]: run getsockopt.py on PID into $T/opts; skip
# the test when pidfd_getfd is not available or not permitted.
read_opts() {
	local rc=0
	python3 "$GETSOCKOPT" "$@" >"$T/opts" 2>"$T/opts.err" || rc=$?
	if [ "$rc" -eq 77 ]; then
		skip "cannot take sock's socket: $(cat "$T/opts.err")"
	fi
	if [ "$rc" -ne 0 ]; then
		cat "$T/opts.err" >&2
		return 1
	fi
}

# ---------------------------------------------------------------- libc

# errtext NAME: what strerror(3) says for errno NAME in the libc $SOCK was
# built with: musl's words differ from glibc's for a few (the musl build
# runs the whole suite in CI). A musl binary names its dynamic loader
# (ld-musl), or, linked statically, carries musl's own table.
errtext() {
	local musl=
	if grep -qa -e ld-musl -e 'Operation timed out' "$SOCK" 2>/dev/null; then
		musl=1
	fi
	case $1:$musl in
	ETIMEDOUT:1) echo "Operation timed out" ;;
	ETIMEDOUT:) echo "Connection timed out" ;;
	EADDRINUSE:1) echo "Address in use" ;;
	EADDRINUSE:) echo "Address already in use" ;;
	*)
		echo "errtext: no text for $1" >&2
		return 1
		;;
	esac
}

# ---------------------------------------------------------------- proxies

PROXY_PEER=$BATS_TEST_DIRNAME/proxy_peer.py

# proxy_peer NAME TYPE OPTION...: start a scripted proxy (proxy_peer.py) of
# TYPE; sets PX to its port; it logs each request to $T/NAME.log.
proxy_peer() {
	local name=$1
	shift
	need python3
	rm -f "$T/$name.port"
	bg python3 "$PROXY_PEER" "$1" "$T/$name.port" "$T/$name.log" "${@:2}" \
	    2>"$T/$name.err"
	wait_for 5 test -s "$T/$name.port"
	PX=$(cat "$T/$name.port")
}

# origin_start: an HTTP origin on 127.0.0.1 that saves each request head
# to $T/head.N and answers "origin"; sets OPORT.
origin_start() {
	need python3
	rm -f "$T/oport"
	bg python3 "$PEER_PY" origin "$T/oport" "$T/head" 2>"$T/origin.err"
	wait_for 5 test -s "$T/oport"
	OPORT=$(cat "$T/oport")
}


# haproxy_receiver: haproxy in the foreground taking the PROXY header
# (accept-proxy) on HPORT in front of the backend on 127.0.0.1 PPORT,
# logging each connection's client address (from the header) to
# $T/hap.log.
haproxy_receiver() {
	need haproxy
	HPORT=$(free_port tcp)
	cat >"$T/hap.cfg" <<EOF
global
  nbthread 1
  maxconn 100
  log stdout format raw local0
defaults
  mode tcp
  log global
  log-format "client=%ci:%cp to=%fi:%fp"
  timeout connect 5s
  timeout client 5s
  timeout server 5s
frontend f
  bind 127.0.0.1:$HPORT accept-proxy
  default_backend b
backend b
  server s1 127.0.0.1:$PPORT
EOF
	bg haproxy -f "$T/hap.cfg" -db >"$T/hap.log" 2>"$T/hap.err"
	wait_for 5 is_listening "$HPORT"
}

# usage_is FIRST ARGS...: "sock ARGS" is a usage error (exit 2, nothing on
# stdout, the pointer to --help) whose first line is exactly FIRST.
# shellcheck disable=SC2154 # stderr_lines is set by bats' run
usage_is() {
	local first=$1
	shift
	run -2 --separate-stderr timeout 10 "$SOCK" "$@" </dev/null
	[ -z "$output" ]
	if [ "${stderr_lines[0]}" != "$first" ]; then
		printf 'expected: %s\ngot:      %s\n' "$first" "${stderr_lines[0]}" >&2
		return 1
	fi
	[ "${stderr_lines[1]}" = "sock: see 'sock --help' for usage" ]
}

# need_tls: skip where sock was built without TLS or openssl is missing.
# test_pki DIR [SAN...]: a throwaway PKI in DIR for the TLS tests: a CA
# (ca.pem, ca.key), another one (other), and certificates with their
# keys: server (CN=localhost) and client (CN=sock-client) signed by the
# CA, stranger (CN=localhost) by the other; each names localhost and
# 127.0.0.1 and each extra SAN (IP:10.231.0.2). DIR/ext keeps that
# extension for more. Nothing without openssl or with a sock built
# without TLS (need_tls then skips the tests that need it).
test_pki() {
	local d=$1 san=DNS:localhost,IP:127.0.0.1 s
	shift
	command -v openssl >/dev/null || return 0
	"${SOCK:-$BATS_TEST_DIRNAME/../sock}" --tls --tls-insecure 127.0.0.1 1 \
	    </dev/null 2>&1 | grep -q 'built without TLS' && return 0
	for s in "$@"; do
		san=$san,$s
	done
	printf 'subjectAltName=%s\n' "$san" >"$d/ext"
	for s in ca:sock-test-ca other:other-ca; do
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		    -nodes -keyout "$d/${s%%:*}.key" -out "$d/${s%%:*}.pem" \
		    -days 30 -subj "/CN=${s#*:}" 2>/dev/null
	done
	test_cert "$d" server /CN=localhost ca
	test_cert "$d" client /CN=sock-client ca
	test_cert "$d" stranger /CN=localhost other
}

# test_cert DIR NAME SUBJECT SIGNER [X509 OPTIONS...]: DIR/NAME.pem and
# its key, signed by DIR/SIGNER for 30 days (unless the options say
# otherwise), with DIR/ext's names.
test_cert() {
	local d=$1 name=$2 subj=$3 signer=$4
	shift 4
	if [ $# -eq 0 ]; then
		set -- -days 30
	fi
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$d/$name.key" -out "$d/$name.csr" -subj "$subj" 2>/dev/null
	openssl x509 -req -in "$d/$name.csr" -CA "$d/$signer.pem" \
	    -CAkey "$d/$signer.key" -CAcreateserial -out "$d/$name.pem" \
	    -extfile "$d/ext" "$@" 2>/dev/null
}

need_tls() {
	need openssl
	if "$SOCK" --tls --tls-insecure 127.0.0.1 1 </dev/null 2>&1 |
	    grep -q 'built without TLS'; then
		skip "sock was built without TLS"
	fi
}
