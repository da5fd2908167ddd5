#!/usr/bin/env bats
# shellcheck disable=SC2016,SC2153,SC2154
# SC2016: sh -c scripts take their arguments as "$0" "$1"... on purpose.
# SC2153/SC2154: T, SOCK, PORT, LPID, BG_PID, EXIT_STATUS, DUAL* come from
# helper.bash (loaded by bats' load, which shellcheck cannot follow);
# stderr and stderr_lines from bats' run --separate-stderr.
# Connecting well (SPEC.md "Connecting"): Happy Eyeballs across a name's
# addresses, and --mptcp.

load helper
bats_require_minimum_version 1.5.0

# BH_PY PORT ADDR...: listen on ADDR port PORT (0: the kernel picks, on
# the first ADDR) for each ADDR, each with a full accept queue, so that a
# SYN to any of them is dropped and a connect hangs (see blackhole in
# helper.bash); print the port once a probe connect to each has hung, or
# "answers" or "in use".
BH_PY='
import socket, sys, time
port, held = int(sys.argv[1]), []
def done(msg):
    print(msg, flush=True)
    time.sleep(60)
    sys.exit(0)
for a in sys.argv[2:]:
    fam = socket.AF_INET6 if ":" in a else socket.AF_INET
    s = socket.socket(fam)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    try:
        s.bind((a, port))
    except OSError:
        done("in use")
    s.listen(0)
    port = s.getsockname()[1]
    fill = socket.create_connection((a, port))
    probe = socket.socket(fam)
    probe.settimeout(0.3)
    try:
        probe.connect((a, port))
        done("answers")
    except socket.timeout:
        pass
    held += [s, fill, probe]
done(port)
'

# silent PORT ADDR...: start BH_PY; set BH_PORT, or skip where SYNs cannot
# be made to vanish (fail if the port was taken).
silent() {
	need python3
	rm -f "$T/bh"
	bg python3 -c "$BH_PY" "$@" >"$T/bh"
	wait_for 5 test -s "$T/bh"
	BH_PORT=$(cat "$T/bh")
	case $BH_PORT in
	answers) skip "cannot make a port that drops SYNs here" ;;
	*[!0-9]*) echo "black hole: $BH_PORT" >&2; return 1 ;;
	esac
}

# with_hosts LINE...: HOSTS_RUN becomes the command prefix under which
# /etc/hosts holds just these lines (a private mount namespace); skips
# where that cannot be done.
with_hosts() {
	printf '%s\n' '127.0.0.1 localhost' "$@" >"$T/hosts"
	[ "$(id -u)" -eq 0 ] || skip "a private /etc/hosts needs root (unshare -m)"
	command -v unshare >/dev/null || skip "unshare is not installed"
	HOSTS_RUN=(unshare -m sh -c 'mount --bind "$0" /etc/hosts && exec "$@"' "$T/hosts")
	"${HOSTS_RUN[@]}" true 2>/dev/null || skip "unshare -m fails here"
}

# gai_order NAME: the STREAM addresses of NAME, one a line, in
# getaddrinfo's order, under HOSTS_RUN.
gai_order() {
	"${HOSTS_RUN[@]}" getent ahosts "$1" | awk '$2 == "STREAM" { print $1 }'
}

# tried: the addresses of the "trying" lines in $stderr, one a line.
tried() {
	sed -n 's/^sock: trying \(.*\) port [0-9]* (tcp)$/\1/p' <<<"$stderr"
}

# ---- Happy Eyeballs -------------------------------------------------------

@test "a name whose first address never answers connects to the next in well under a second" {
	local start ms
	need_dual_name
	sock_listen /dev/null "$T/out" "$T/err" "$DUAL_SECOND" 0
	silent "$PORT" "$DUAL_FIRST"
	printf 'hello' >"$T/msg"
	start=$(date +%s%N)
	run -0 --separate-stderr timeout 10 "${DUAL_RUN[@]}" "$SOCK" -vv "$DUAL" "$PORT" <"$T/msg"
	ms=$(elapsed_ms "$start")
	wait_exit "$LPID" 5
	[ "$EXIT_STATUS" -eq 0 ]
	same_file "$T/msg" "$T/out"
	[ "${stderr_lines[0]}" = "sock: trying $DUAL_FIRST port $PORT (tcp)" ]
	[ "${stderr_lines[1]}" = "sock: trying $DUAL_SECOND port $PORT (tcp)" ]
	[ "${stderr_lines[2]}" = "sock: connected to $DUAL_SECOND port $PORT (tcp)" ]
	# The second address starts 250 ms after the first, not after -w or
	# the kernel's SYN timeout.
	echo "connected in $ms ms" >&2
	[ "$ms" -ge 250 ]
	[ "$ms" -lt 1000 ]
}

@test "a name whose addresses are all silent: -w 1 bounds the whole attempt, exit 3 in about a second" {
	local start ms
	need_dual_name
	silent 0 "$DUAL_FIRST" "$DUAL_SECOND"
	start=$(date +%s%N)
	run -3 --separate-stderr timeout 10 "${DUAL_RUN[@]}" "$SOCK" -w 1 "$DUAL" "$BH_PORT" </dev/null
	ms=$(elapsed_ms "$start")
	[ -z "$output" ]
	# The message names the address that tried longest.
	[ "$stderr" = "sock: connect to $DUAL_FIRST port $BH_PORT: Connection timed out" ]
	echo "gave up after $ms ms" >&2
	[ "$ms" -ge 950 ]
	[ "$ms" -lt 1900 ]
}

@test "-vv shows both addresses trying when both are silent" {
	need_dual_name
	silent 0 "$DUAL_FIRST" "$DUAL_SECOND"
	run -3 --separate-stderr timeout 10 "${DUAL_RUN[@]}" "$SOCK" -vv -w 0.5 "$DUAL" "$BH_PORT" </dev/null
	[ "$(tried)" = "$(printf '%s\n' "$DUAL_FIRST" "$DUAL_SECOND")" ]
	[ "${stderr_lines[-1]}" = "sock: connect to $DUAL_FIRST port $BH_PORT: Connection timed out" ]
}

@test "an address that is refused is followed at once, not after 250 ms" {
	local start ms
	# Four refused addresses before the one that listens: 250 ms each
	# would take a second.
	with_hosts '::1 sock-he.test' '127.0.0.2 sock-he.test' \
	    '127.0.0.3 sock-he.test' '127.0.0.4 sock-he.test' '127.0.0.5 sock-he.test'
	has_ipv6_loopback || skip "::1 is not configured"
	[ "$(gai_order sock-he.test | tail -n 1)" = 127.0.0.5 ] ||
	    skip "the resolver does not put 127.0.0.5 last"
	sock_listen /dev/null "$T/out" "$T/err" 127.0.0.5 0
	printf 'x' >"$T/msg"
	start=$(date +%s%N)
	run -0 --separate-stderr timeout 10 "${HOSTS_RUN[@]}" "$SOCK" -vv sock-he.test "$PORT" <"$T/msg"
	ms=$(elapsed_ms "$start")
	[ "$(tried | wc -l)" -eq 5 ]
	grep -qxF "sock: connect to 127.0.0.4 port $PORT: Connection refused" <<<"$stderr"
	grep -qxF "sock: connected to 127.0.0.5 port $PORT (tcp)" <<<"$stderr"
	wait_exit "$LPID" 5
	same_file "$T/msg" "$T/out"
	echo "connected in $ms ms" >&2
	[ "$ms" -lt 700 ]
}

@test "the addresses are tried with their families interleaved, the first address's family first" {
	local p order want v6 v4 i
	need python3
	has_ipv6_loopback || skip "::1 is not configured"
	# getaddrinfo puts an IPv4-mapped IPv6 address after the IPv4 ones:
	# ::1, 127.0.0.3, 127.0.0.4, ::ffff:127.0.0.2. Interleaved that is
	# ::1, 127.0.0.3, ::ffff:127.0.0.2, 127.0.0.4. Nothing listens.
	with_hosts '::1 sock-he.test' '::ffff:127.0.0.2 sock-he.test' \
	    '127.0.0.3 sock-he.test' '127.0.0.4 sock-he.test'
	order=$(gai_order sock-he.test)
	mapfile -t v6 < <(grep : <<<"$order")
	mapfile -t v4 < <(grep -v : <<<"$order")
	[[ $(head -n 1 <<<"$order") == *:* ]] || skip "the resolver does not put ::1 first"
	want=()
	for i in 0 1 2; do
		[ -n "${v6[i]:-}" ] && want+=("${v6[i]#::ffff:}")
		[ -n "${v4[i]:-}" ] && want+=("${v4[i]}")
	done
	# The test means something only if interleaving changes the order.
	[ "$(printf '%s\n' "${want[@]}")" != "${order//::ffff:/}" ]
	p=$(free_port)
	run -1 --separate-stderr timeout 10 "${HOSTS_RUN[@]}" "$SOCK" -vv sock-he.test "$p" </dev/null
	[ "$(tried)" = "$(printf '%s\n' "${want[@]}")" ]
	# Each failure but the last is a warning; the last is the error.
	grep -qxF "sock: connect to ${want[0]} port $p: Connection refused" <<<"$stderr"
	[ "${stderr_lines[-1]}" = "sock: connect to ${want[3]} port $p: Connection refused" ]
}

@test "--wait connects through Happy Eyeballs too: a silent first address does not hold it up" {
	local start ms
	need_dual_name
	sock_listen /dev/null "$T/out" "$T/err" "$DUAL_SECOND" 0
	silent "$PORT" "$DUAL_FIRST"
	printf 'hello' >"$T/msg"
	start=$(date +%s%N)
	run -0 --separate-stderr timeout 10 "${DUAL_RUN[@]}" "$SOCK" -v --wait 5 "$DUAL" "$PORT" <"$T/msg"
	ms=$(elapsed_ms "$start")
	echo "connected in $ms ms" >&2
	[ "$ms" -lt 1000 ]
	grep -qxF "sock: connected to $DUAL_SECOND port $PORT (tcp)" <<<"$stderr"
	wait_exit "$LPID" 5
	same_file "$T/msg" "$T/out"
}
