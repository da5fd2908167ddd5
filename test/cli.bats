#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Command-line parsing: usage errors (exit 2, two lines on stderr, nothing on
# stdout), --help, --version, option permutation, fractional durations.
# shellcheck disable=SC2016,SC2153,SC2154
# SC2016: sh -c scripts take their arguments as "$0" "$1"... on purpose.
# SC2153/SC2154: T, SOCK, PORT, LPID, BG_PID, EXIT_STATUS come from
# helper.bash (loaded by bats' load, which shellcheck cannot follow);
# stderr and stderr_lines from bats' run --separate-stderr.

load helper
bats_require_minimum_version 1.5.0

# usage_error FIRST ARGS...: "sock ARGS" is a usage error whose first line on
# stderr is exactly FIRST.
usage_error() {
	local first=$1
	shift
	run_usage "$@"
	if [ "${stderr_lines[0]}" != "$first" ]; then
		printf 'expected first line: %s\ngot:                 %s\n' \
		    "$first" "${stderr_lines[0]}" >&2
		return 1
	fi
}

# usage_error_prefix PREFIX ARGS...: like usage_error, but the first line only
# has to start with PREFIX (where the design gives a pattern, not a text).
usage_error_prefix() {
	local prefix=$1
	shift
	run_usage "$@"
	case ${stderr_lines[0]} in
	"$prefix"*) ;;
	*)
		printf 'expected first line to start with: %s\ngot: %s\n' \
		    "$prefix" "${stderr_lines[0]}" >&2
		return 1
		;;
	esac
}

# run_usage ARGS...: run sock ARGS, check the common shape of a usage error.
run_usage() {
	local l
	run -2 --separate-stderr timeout 10 "$SOCK" "$@" </dev/null
	if [ -n "$output" ]; then
		echo "stdout is not empty: $output" >&2
		return 1
	fi
	if [ "${#stderr_lines[@]}" -ne 2 ]; then
		printf 'expected 2 lines on stderr, got %d:\n%s\n' \
		    "${#stderr_lines[@]}" "$stderr" >&2
		return 1
	fi
	for l in "${stderr_lines[@]}"; do
		case $l in
		'sock: '*) ;;
		*)
			echo "stderr line without 'sock: ': $l" >&2
			return 1
			;;
		esac
	done
	case $stderr in
	*'sock --help'*) ;;
	*) echo "no pointer to 'sock --help': $stderr" >&2; return 1 ;;
	esac
	if [ "${stderr_lines[1]}" != "sock: see 'sock --help' for usage" ]; then
		echo "unexpected second line: ${stderr_lines[1]}" >&2
		return 1
	fi
}

# --- unknown options and missing values ---------------------------------

@test "an unknown short option is a usage error" {
	usage_error 'sock: unknown option -Z' -Z 127.0.0.1 80
}

@test "an unknown long option is a usage error" {
	usage_error 'sock: unknown option --frobnicate' --frobnicate 127.0.0.1 80
}

@test "-w without a value is a usage error" {
	usage_error 'sock: option -w needs a value' -w
}

@test "-p without a value is a usage error" {
	usage_error 'sock: option -p needs a value' -l -p
}

@test "-q without a value is a usage error" {
	usage_error 'sock: option -q needs a value' 127.0.0.1 80 -q
}

@test "-s without a value is a usage error" {
	usage_error 'sock: option -s needs a value' 127.0.0.1 80 -s
}

# --- ports ---------------------------------------------------------------

@test "port 70000 is out of range" {
	usage_error 'sock: invalid port "70000": must be 0-65535' 127.0.0.1 70000
}

@test "port 70000 is out of range for a listener too" {
	usage_error 'sock: invalid port "70000": must be 0-65535' -l 70000
}

@test "-p 70000 is out of range" {
	usage_error 'sock: invalid port "70000": must be 0-65535' -l -p 70000
}

@test "port -1 is rejected with -n" {
	usage_error_prefix 'sock: invalid port "-1"' -n -- 127.0.0.1 -1
}

@test "a service name is rejected with -n" {
	usage_error 'sock: invalid port "abc": not a number (-n forbids service names)' \
	    -n 127.0.0.1 abc
}

@test "an unknown service name is a usage error" {
	usage_error 'sock: unknown service "nosuchservice"' 127.0.0.1 nosuchservice
}

@test "port 0 is only valid with -l" {
	usage_error 'sock: invalid port "0": port 0 is only valid with -l' 127.0.0.1 0
}

# --- durations -----------------------------------------------------------

@test "-w abc is not a duration" {
	usage_error 'sock: invalid -w value "abc": must be a number of seconds greater than 0' \
	    -w abc 127.0.0.1 80
}

@test "-w 0 is rejected" {
	usage_error 'sock: invalid -w value "0": must be a number of seconds greater than 0' \
	    -w 0 127.0.0.1 80
}

@test "-w -1 is rejected" {
	usage_error 'sock: invalid -w value "-1": must be a number of seconds greater than 0' \
	    -w -1 127.0.0.1 80
}

@test "-w with an exponent is rejected" {
	usage_error 'sock: invalid -w value "1e3": must be a number of seconds greater than 0' \
	    -w 1e3 127.0.0.1 80
}

@test "-w inf is rejected" {
	usage_error 'sock: invalid -w value "inf": must be a number of seconds greater than 0' \
	    -w inf 127.0.0.1 80
}

@test "-w nan is rejected" {
	usage_error 'sock: invalid -w value "nan": must be a number of seconds greater than 0' \
	    -w nan 127.0.0.1 80
}

@test "-w in hex is rejected" {
	usage_error_prefix 'sock: invalid -w value "0x10"' -w 0x10 127.0.0.1 80
}

@test "-w above a million seconds is rejected" {
	usage_error_prefix 'sock: invalid -w value "1000001"' -w 1000001 127.0.0.1 80
}

@test "an empty -w value is rejected" {
	usage_error_prefix 'sock: invalid -w value ""' -w '' 127.0.0.1 80
}

@test "-q -1 is rejected" {
	usage_error 'sock: invalid -q value "-1": must be a number of seconds, 0 or more' \
	    -q -1 127.0.0.1 80
}

@test "-q x is rejected" {
	usage_error 'sock: invalid -q value "x": must be a number of seconds, 0 or more' \
	    -q x 127.0.0.1 80
}

# --- operands ------------------------------------------------------------

@test "no operands at all is a usage error" {
	usage_error 'sock: missing host and port'
}

@test "a host without a port is a usage error" {
	usage_error 'sock: missing port' 127.0.0.1
}

@test "-l without a port is a usage error" {
	usage_error 'sock: missing port to listen on' -l
}

@test "-U without a path is a usage error" {
	usage_error 'sock: missing socket path' -U
}

@test "-U -l without a path is a usage error" {
	usage_error 'sock: missing socket path' -U -l
}

@test "a third operand in connect mode is a usage error" {
	usage_error 'sock: too many operands: "extra"' 127.0.0.1 80 extra
}

@test "a third operand in listen mode is a usage error" {
	usage_error 'sock: too many operands: "extra"' -l 127.0.0.1 80 extra
}

@test "a second operand with -U is a usage error" {
	usage_error 'sock: too many operands: "extra"' -U "$BATS_TEST_TMPDIR/s" extra
}

@test "-p and a port operand together are a usage error with -l" {
	usage_error 'sock: -p and a port operand cannot both be given' \
	    -l -p 9190 127.0.0.1 9191
}

@test "-s and a host operand together are a usage error with -l" {
	usage_error 'sock: -s and a host operand cannot both be given with -l' \
	    -l -s 127.0.0.1 127.0.0.1 9190
}

# --- conflicting options -------------------------------------------------

@test "-k without -l is a usage error" {
	usage_error 'sock: -k needs -l' -k 127.0.0.1 80
}

@test "-4 with -6 is a usage error" {
	usage_error 'sock: -4 and -6 cannot be used together' -4 -6 127.0.0.1 80
}

@test "-d with --send-only is a usage error" {
	usage_error 'sock: -d and --send-only cannot be used together' \
	    -d --send-only 127.0.0.1 80
}

@test "--recv-only with --send-only is a usage error" {
	run_usage --recv-only --send-only 127.0.0.1 80
	[[ ${stderr_lines[0]} == 'sock: '*' and --send-only cannot be used together' ]]
}

@test "-N with --no-shutdown is a usage error" {
	usage_error 'sock: -N and --no-shutdown cannot be used together' \
	    -N --no-shutdown 127.0.0.1 80
}

@test "-N with -d is a usage error" {
	usage_error 'sock: -N and -d cannot be used together' -N -d 127.0.0.1 80
}

@test "-N with -u is a usage error" {
	usage_error 'sock: -N cannot be used with -u' -N -u 127.0.0.1 80
}

@test "--no-shutdown with -u is a usage error" {
	usage_error 'sock: --no-shutdown cannot be used with -u' \
	    --no-shutdown -u 127.0.0.1 80
}

@test "-U with -4 is a usage error" {
	usage_error 'sock: -U cannot be used with -4' -U -4 "$BATS_TEST_TMPDIR/s"
}

@test "-U with -6 is a usage error" {
	usage_error 'sock: -U cannot be used with -6' -U -6 "$BATS_TEST_TMPDIR/s"
}

@test "-U with -p is a usage error" {
	usage_error 'sock: -U cannot be used with -p' -U -p 9190 "$BATS_TEST_TMPDIR/s"
}

@test "-U with -s is a usage error" {
	usage_error 'sock: -U cannot be used with -s' -U -s 127.0.0.1 "$BATS_TEST_TMPDIR/s"
}

# --- addresses and paths -------------------------------------------------

@test "-n with a host name is a usage error" {
	usage_error 'sock: -n requires a numeric address: "localhost"' -n localhost 80
}

@test "-n with a malformed -s address is a usage error" {
	usage_error 'sock: invalid address "999.1.1.1" for -s' \
	    -n -s 999.1.1.1 127.0.0.1 80
}

@test "a Unix socket path longer than 108 bytes is a usage error" {
	local path
	path=/tmp/$(printf 'x%.0s' $(seq 1 120))
	usage_error_prefix "sock: Unix socket path too long (125 bytes, at most 107): \"/tmp/xxx" \
	    -U -l "$path"
	[ ! -e "$path" ]
}

# --- what is accepted ----------------------------------------------------

@test "-h prints the usage to stdout and exits 0" {
	run -0 --separate-stderr timeout 10 "$SOCK" -h </dev/null
	[ -n "$output" ]
	[[ $output == *sock* ]]
	[ -z "$stderr" ]
}

@test "--help prints the same usage as -h" {
	run -0 --separate-stderr timeout 10 "$SOCK" -h </dev/null
	local short=$output
	run -0 --separate-stderr timeout 10 "$SOCK" --help </dev/null
	[ -n "$output" ]
	[ "$output" = "$short" ]
	[ -z "$stderr" ]
}

@test "--version prints the version from VERSION, then how sock was built" {
	local version
	version=$(cat "$BATS_TEST_DIRNAME/../VERSION")
	run -0 --separate-stderr timeout 10 "$SOCK" --version </dev/null
	[ "${lines[0]}" = "sock $version" ]
	[[ "${lines[1]}" =~ ^TLS:\ (built\ with\ OpenSSL\ [0-9]|none\ \(built\ with\ TLS=no\)$) ]]
	[[ "${lines[2]}" =~ ^zero-copy:\  ]]
	[[ "${lines[3]}" =~ ^waiting:\  ]]
	[ "${#lines[@]}" -eq 4 ]
	[ -z "$stderr" ]
}

@test "--version says TLS as the build has it" {
	run -0 --separate-stderr timeout 10 "$SOCK" --version </dev/null
	local tls=${lines[1]}
	run --separate-stderr timeout 10 "$SOCK" --tls 127.0.0.1 1 </dev/null
	if [[ "$tls" == "TLS: none"* ]]; then
		[ "$status" -eq 2 ]
	else
		[ "$status" -ne 2 ]
	fi
}

@test "a long option without its value names the long option" {
	usage_error 'sock: option --wait needs a value' 127.0.0.1 80 --wait
}

@test "-z with an option that moves data is a usage error" {
	usage_error_prefix 'sock: -z cannot be used with -d' -z -d 127.0.0.1 80
}

@test "--max-conns without -k is a usage error" {
	usage_error_prefix 'sock: --max-conns needs -k' -l --max-conns 2 0
}

@test "-e with -k -u is a usage error" {
	usage_error_prefix 'sock: -e cannot be used with -k -u' -k -u -l -e cat 0
}

@test "-e with more words than it can pass on is a usage error" {
	run_usage -l -e "prog $(printf 'w%.0s ' $(seq 63))" 0
	[ "${stderr_lines[0]}" = 'sock: -e takes at most 63 words; use -c for more' ]
}

@test "options may follow the operands" {
	bg sh -c 'exec "$0" -l 0 -v </dev/null >/dev/null 2>"$1"' "$SOCK" "$T/err"
	wait_for 5 has_port_line "$T/err"
	grep -Eq '^sock: listening on .* port [1-9][0-9]* \(tcp\)$' "$T/err"
}

@test "a fractional -w value is accepted" {
	sock_listen /dev/null "$T/out" "$T/err" -w 0.5 127.0.0.1 0
	[ "$PORT" -gt 0 ]
}

@test "a -w value with only a fraction is accepted" {
	sock_listen /dev/null "$T/out" "$T/err" -w .25 127.0.0.1 0
	[ "$PORT" -gt 0 ]
}

@test "-q 0 and a fractional -q value are accepted" {
	sock_listen /dev/null "$T/out" "$T/err" -q 0 127.0.0.1 0
	sock_listen /dev/null "$T/out2" "$T/err2" -q 0.5 127.0.0.1 0
}

@test "a fractional -w is an idle timeout of that many seconds" {
	local start ms
	hold_fifo "$T/lin"
	bg sh -c 'exec sleep 60 >"$0"' "$T/lin"
	sock_listen "$T/lin" "$T/out" "$T/err" 127.0.0.1 0
	hold_fifo "$T/cin"
	bg sh -c 'exec sleep 60 >"$0"' "$T/cin"
	start=$(date +%s%N)
	bg sh -c 'exec "$0" -w 0.5 127.0.0.1 "$1" <"$2" >/dev/null 2>"$3"' \
	    "$SOCK" "$PORT" "$T/cin" "$T/cerr"
	wait_exit "$BG_PID" 4
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	[ "$EXIT_STATUS" -eq 3 ]
	[ "$ms" -ge 400 ]
	[ "$(head -n 1 "$T/cerr")" = "sock: connection to 127.0.0.1 port $PORT: idle timeout after 0.5 s" ]
}

# ------------------------------------------------- addresses with a scope

@test "a link-local address keeps its %scope in a connect message" {
	# lo has no fe80:: address, so the connect fails at once (or, on a
	# system that routes it, times out): the message names it either way.
	run --separate-stderr timeout 20 "$SOCK" -w 5 fe80::1%lo 9 </dev/null
	[ "$status" -eq 1 ] || [ "$status" -eq 3 ]
	[[ "${stderr_lines[0]}" == "sock: connect to fe80::1%lo port 9: "* ]]
}

@test "a link-local address keeps its %scope in a bind message" {
	run -1 --separate-stderr timeout 10 "$SOCK" -l fe80::1%lo 0 </dev/null
	[[ "${stderr_lines[0]}" == "sock: bind to fe80::1%lo port 0: "* ]]
}

@test "-n takes a numeric IPv6 address with a %scope" {
	run --separate-stderr timeout 20 "$SOCK" -n -w 5 fe80::1%lo 9 </dev/null
	[ "$status" -eq 1 ] || [ "$status" -eq 3 ]
	[[ "${stderr_lines[0]}" == "sock: connect to fe80::1%lo port 9: "* ]]
	usage_error 'sock: -n requires a numeric address: "fe80::1%"' \
	    -n fe80::1% 9
}

@test "-v lines keep the %scope of a link-local address on both sides" {
	need ip unshare
	[ "$(id -u)" -eq 0 ] || skip "needs root for a network namespace"
	# In a network namespace of the test's own, whose lo gets fe80::1: a
	# listener on fe80::1%lo (its port polled from its -v line, bounded)
	# and a client sending "ping" to it.
	cat >"$T/scope.sh" <<'SCRIPT'
sock=$1 dir=$2
ip link set lo up
ip -6 addr add fe80::1/64 dev lo nodad
"$sock" -v -l fe80::1%lo 0 </dev/null >"$dir/out" 2>"$dir/lerr" &
i=0 port=
while [ -z "$port" ] && [ "$i" -lt 250 ]; do
	port=$(sed -n 's/^sock: listening on .* port \([0-9]*\) (tcp)$/\1/p' \
	    "$dir/lerr")
	[ -n "$port" ] || sleep 0.02
	i=$((i + 1))
done
echo ping | "$sock" -v fe80::1%lo "$port" 2>"$dir/cerr"
wait
SCRIPT
	run -0 timeout 20 unshare -n sh "$T/scope.sh" "$SOCK" "$T"
	[ "$(cat "$T/out")" = ping ]
	grep -q '^sock: listening on fe80::1%lo port [0-9]* (tcp)$' "$T/lerr"
	grep -q '^sock: connection from fe80::1%lo port [0-9]* (tcp)$' "$T/lerr"
	grep -q '^sock: connected to fe80::1%lo port [0-9]* (tcp)$' "$T/cerr"
}
