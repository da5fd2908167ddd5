#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Scanning (-z): open and closed ports, the -v/-vv lines and their order,
# -r, port lists and their errors, --wait, the probe timeout, -u, -i, -s/-p.
# shellcheck disable=SC2016,SC2153,SC2154
# SC2016: sh -c scripts take their arguments on purpose.
# SC2153/SC2154: T, SOCK, PORT, LPID, BG_PID come from helper.bash (loaded
# by bats' load, which shellcheck cannot follow); stderr and stderr_lines
# from bats' run --separate-stderr.

load helper
bats_require_minimum_version 1.5.0

# service_of PORT [PROTO]: the name -v shows for PORT, or *.
service_of() {
	local s
	s=$(getent services "$1/${2:-tcp}" | awk '{ print $1; exit }')
	echo "${s:-*}"
}

# listen_window: hold a window of 200 TCP ports on 127.0.0.1 with
# listeners on exactly three of them (offsets 3, 99 and 187) and set BASE
# and OPEN1..OPEN3. A python3 process finds 200 consecutive ports it can
# bind and keeps the other 197 bound without listening, so they stay
# closed (a SYN gets a reset) and no other program can take them.
listen_window() {
	need python3
	bg python3 "$PEER_PY" window >"$T/win"
	wait_for 10 test -s "$T/win"
	read -r BASE OPEN1 OPEN2 OPEN3 <"$T/win"
	[ "$BASE" != none ]
}

# udp_listener [reply]: a python3 UDP socket on 127.0.0.1 that never
# answers (or answers every datagram with "pong"); sets UDP_PORT.
udp_listener() {
	need python3
	local acts=()
	[ $# -eq 0 ] || acts=(reply=pong)
	bg python3 "$PEER_PY" udp "$T/udp" "${acts[@]}"
	wait_for 5 test -s "$T/udp"
	UDP_PORT=$(cat "$T/udp")
}

# ports_of_lines: the port numbers of -v/-vv scan lines on stdin, in order.
ports_of_lines() {
	sed -n -e 's/^sock: Connection to [^ ]* \([0-9]*\) port .*/\1/p' \
	    -e 's/^sock: connect to [^ ]* port \([0-9]*\) .*/\1/p'
}

# run_bad_list LIST [OPTIONS...]: LIST must be a usage error that names it.
run_bad_list() {
	local list=$1
	shift
	run -2 --separate-stderr timeout 10 "$SOCK" "$@" -z -- 127.0.0.1 "$list" </dev/null
	[ -z "$output" ]
	[[ ${stderr_lines[0]} == "sock: invalid port list \"$list\": "?* ]]
	[ "${stderr_lines[1]}" = "sock: see 'sock --help' for usage" ]
}

# --- open and closed ----------------------------------------------------

@test "an open port exits 0 and prints nothing without -v" {
	sock_listen /dev/null "$T/out" "$T/err" -k 127.0.0.1 0
	run -0 --separate-stderr timeout 10 "$SOCK" -z 127.0.0.1 "$PORT" </dev/null
	[ -z "$output" ]
	[ -z "$stderr" ]
}

@test "a closed port exits 1 and prints nothing without -v" {
	local p
	closed_port
	p=$CLOSED_PORT
	run -1 --separate-stderr timeout 10 "$SOCK" -z 127.0.0.1 "$p" </dev/null
	[ -z "$output" ]
	[ -z "$stderr" ]
}

@test "-v reports an open port in nc.openbsd's words, on stderr" {
	sock_listen /dev/null "$T/out" "$T/err" -k 127.0.0.1 0
	run -0 --separate-stderr timeout 10 "$SOCK" -v -z 127.0.0.1 "$PORT" </dev/null
	[ -z "$output" ]
	[ "$stderr" = "sock: Connection to 127.0.0.1 $PORT port [tcp/$(service_of "$PORT")] succeeded!" ]
}

@test "-vv reports a closed port as refused" {
	local p
	closed_port
	p=$CLOSED_PORT
	run -1 --separate-stderr timeout 10 "$SOCK" -vv -z 127.0.0.1 "$p" </dev/null
	[ -z "$output" ]
	[ "$stderr" = "sock: connect to 127.0.0.1 port $p (tcp) failed: Connection refused" ]
}

@test "-v names the service of an open port, and -n does not" {
	local name port
	need python3
	getent services | awk '{ split($2, a, "/");
	    if (a[2] == "tcp" && a[1] > 1024 && a[1] < 32768) print $1, a[1] }' \
	    >"$T/services"
	[ -s "$T/services" ] || skip "no unprivileged TCP service in the services database"
	# Listen on the first listed service port that is free.
	peer_listen port="$(awk '{ print $2 }' "$T/services" | paste -sd,)" hold=60
	port=$PPORT
	[ "$port" != none ] || skip "every service port is taken"
	name=$(awk -v p="$port" '$2 == p { print $1; exit }' "$T/services")
	[ "$(service_of "$port")" = "$name" ]
	run -0 --separate-stderr timeout 10 "$SOCK" -v -z 127.0.0.1 "$port" </dev/null
	[ "$stderr" = "sock: Connection to 127.0.0.1 $port port [tcp/$name] succeeded!" ]
	run -0 --separate-stderr timeout 10 "$SOCK" -v -n -z 127.0.0.1 "$port" </dev/null
	[ "$stderr" = "sock: Connection to 127.0.0.1 $port port [tcp/*] succeeded!" ]
	# The service name works in the port list too.
	run -0 --separate-stderr timeout 10 "$SOCK" -v -z 127.0.0.1 "$name" </dev/null
	[ "$stderr" = "sock: Connection to 127.0.0.1 $port port [tcp/$name] succeeded!" ]
}

@test "an unresolvable host exits 1 with a resolve message" {
	run -1 --separate-stderr timeout 10 "$SOCK" -6 -z 127.0.0.1 80 </dev/null
	[ -z "$output" ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ ${stderr_lines[0]} == 'sock: resolve 127.0.0.1: '?* ]]
}

# --- ranges, order, -r ----------------------------------------------------

@test "a 200-port range reports exactly its three listeners, in port order" {
	listen_window
	run -0 --separate-stderr timeout 20 "$SOCK" -v -z 127.0.0.1 "$BASE-$((BASE + 199))" </dev/null
	[ -z "$output" ]
	[ "${#stderr_lines[@]}" -eq 3 ]
	[ "${stderr_lines[0]}" = "sock: Connection to 127.0.0.1 $OPEN1 port [tcp/$(service_of "$OPEN1")] succeeded!" ]
	[ "${stderr_lines[1]}" = "sock: Connection to 127.0.0.1 $OPEN2 port [tcp/$(service_of "$OPEN2")] succeeded!" ]
	[ "${stderr_lines[2]}" = "sock: Connection to 127.0.0.1 $OPEN3 port [tcp/$(service_of "$OPEN3")] succeeded!" ]
}

@test "-vv adds one refused line for each of the 197 closed ports, in port order" {
	listen_window
	run -0 --separate-stderr timeout 20 "$SOCK" -vv -z 127.0.0.1 "$BASE-$((BASE + 199))" </dev/null
	[ -z "$output" ]
	[ "${#stderr_lines[@]}" -eq 200 ]
	[ "$(grep -c ' (tcp) failed: Connection refused$' <<<"$stderr")" -eq 197 ]
	[ "$(grep -c ' succeeded!$' <<<"$stderr")" -eq 3 ]
	ports_of_lines <<<"$stderr" >"$T/got"
	seq "$BASE" $((BASE + 199)) >"$T/want"
	same_file "$T/want" "$T/got"
	[ "${stderr_lines[3]}" = "sock: Connection to 127.0.0.1 $OPEN1 port [tcp/$(service_of "$OPEN1")] succeeded!" ]
	[ "${stderr_lines[0]}" = "sock: connect to 127.0.0.1 port $BASE (tcp) failed: Connection refused" ]
}

@test "-r finds the same ports and still reports them in port order" {
	listen_window
	run -0 --separate-stderr timeout 20 "$SOCK" -v -r -z 127.0.0.1 "$BASE-$((BASE + 199))" </dev/null
	[ -z "$output" ]
	ports_of_lines <<<"$stderr" >"$T/got"
	printf '%s\n' "$OPEN1" "$OPEN2" "$OPEN3" >"$T/want"
	same_file "$T/want" "$T/got"
}

@test "a list of ports, ranges and repeats is scanned once each, in order" {
	listen_window
	run -0 --separate-stderr timeout 10 "$SOCK" -vv -z 127.0.0.1 \
	    "$OPEN2,$BASE-$((BASE + 4)),$OPEN2,$((BASE + 2))-$((BASE + 3)),$BASE" </dev/null
	ports_of_lines <<<"$stderr" >"$T/got"
	printf '%s\n' "$BASE" $((BASE + 1)) $((BASE + 2)) "$OPEN1" $((BASE + 4)) \
	    "$OPEN2" >"$T/want"
	same_file "$T/want" "$T/got"
	[ "$(grep -c ' succeeded!$' <<<"$stderr")" -eq 2 ]
}

@test "a service name in a list means its port (http is 80)" {
	need python3
	[ "$(getent services http/tcp | awk '{ print $2 }')" = 80/tcp ] ||
	    skip "http is not 80/tcp in the services database"
	is_listening 80 && skip "something listens on port 80"
	run -1 --separate-stderr timeout 10 "$SOCK" -vv -z 127.0.0.1 http </dev/null
	[ "$stderr" = "sock: connect to 127.0.0.1 port 80 (tcp) failed: Connection refused" ]
}

# --- bad lists ------------------------------------------------------------

@test "a backwards range is a usage error" {
	run_bad_list 30-20
	[ "${stderr_lines[0]}" = 'sock: invalid port list "30-20": range 30-20 runs backwards' ]
}

@test "ports out of range are usage errors" {
	run_bad_list 0-70000
	run_bad_list 0
	run_bad_list 65536
	[ "${stderr_lines[0]}" = 'sock: invalid port list "65536": port 65536 is out of range (ports are 1-65535)' ]
	run_bad_list 1-99999999999999999999999999999999999999999999999999
}

@test "empty lists and empty entries are usage errors" {
	run_bad_list 1,,2
	run_bad_list 1,
	run_bad_list ,1
	run_bad_list ''
}

@test "signs, spaces and half-named ranges are usage errors" {
	run_bad_list -5
	run_bad_list +5
	run_bad_list '1, 2'
	run_bad_list 20-http
	run_bad_list 1-+5
}

@test "a name is a usage error with -n, or when it is no service" {
	run_bad_list abc -n
	[ "${stderr_lines[0]}" = 'sock: invalid port list "abc": not a number (-n forbids service names)' ]
	run_bad_list http -n
	run_bad_list nosuchservice-xyz
}

@test "a huge hostile list is refused quickly" {
	local big
	big=$(printf '1-65535,%.0s' $(seq 5000))
	run_bad_list "${big}x"
	big=$(printf '9%.0s' $(seq 20000))
	run_bad_list "$big"
}

# --- timeouts and --wait ----------------------------------------------------

@test "a port that never answers is reported timed out within -w" {
	local start ms
	blackhole
	start=$(date +%s%N)
	run -1 --separate-stderr timeout 10 "$SOCK" -vv -w 1 -z 127.0.0.1 \
	    "$((BH_PORT - 1))-$((BH_PORT + 1))" </dev/null
	ms=$(elapsed_ms "$start")
	[ -z "$output" ]
	grep -qxF "sock: connect to 127.0.0.1 port $BH_PORT (tcp) failed: $(errtext ETIMEDOUT)" <<<"$stderr"
	[ "${#stderr_lines[@]}" -eq 3 ]
	[ "$ms" -ge 900 ]
	[ "$ms" -lt 3000 ]
}

@test "without -w a silent port costs the default 2 s probe timeout, not minutes" {
	local start ms
	blackhole
	start=$(date +%s%N)
	run -1 --separate-stderr timeout 20 "$SOCK" -z 127.0.0.1 "$BH_PORT" </dev/null
	ms=$(elapsed_ms "$start")
	[ -z "$stderr" ]
	[ "$ms" -ge 1900 ]
	[ "$ms" -lt 4000 ]
}

@test "--wait 5 succeeds once a listener appears a second later" {
	local p start ms
	need python3
	p=$(free_port)
	start=$(date +%s%N)
	bg sh -c 'sleep 1; exec python3 "$0" listen "$1" port="$2" hold=30' \
	    "$PEER_PY" "$T/pport" "$p"
	run -0 --separate-stderr timeout 10 "$SOCK" -v --wait 5 -z 127.0.0.1 "$p" </dev/null
	ms=$(elapsed_ms "$start")
	[ -z "$output" ]
	# Only the round that found the port is reported.
	[ "$stderr" = "sock: Connection to 127.0.0.1 $p port [tcp/$(service_of "$p")] succeeded!" ]
	[ "$ms" -ge 900 ]
	[ "$ms" -lt 4000 ]
}

@test "--wait 1 gives up after a second with exit 3 and the last error" {
	local p start ms
	closed_port
	p=$CLOSED_PORT
	start=$(date +%s%N)
	run -3 --separate-stderr timeout 10 "$SOCK" --wait 1 -z 127.0.0.1 "$p" </dev/null
	ms=$(elapsed_ms "$start")
	[ -z "$output" ]
	[ "$stderr" = "sock: waited 1 s for 127.0.0.1 port $p (tcp) to open: Connection refused" ]
	[ "$ms" -ge 900 ]
	[ "$ms" -lt 2500 ]
}

@test "--wait stops at its deadline even when probes would take longer" {
	local start ms
	blackhole
	start=$(date +%s%N)
	run -3 --separate-stderr timeout 10 "$SOCK" --wait 0.5 -w 5 -z 127.0.0.1 "$BH_PORT" </dev/null
	ms=$(elapsed_ms "$start")
	[ "$stderr" = "sock: waited 0.5 s for 127.0.0.1 port $BH_PORT (tcp) to open: $(errtext ETIMEDOUT)" ]
	[ "$ms" -lt 2000 ]
}

# --- UDP ----------------------------------------------------------------------

@test "-u -z: a silent UDP listener is open (or filtered), a closed port refused" {
	local closed
	udp_listener
	closed=$(free_port udp)
	run -0 --separate-stderr timeout 10 "$SOCK" -v -u -w 1 -z 127.0.0.1 "$UDP_PORT" </dev/null
	[ -z "$output" ]
	[ "$stderr" = "sock: Connection to 127.0.0.1 $UDP_PORT port [udp/$(service_of "$UDP_PORT" udp)] succeeded!" ]
	run -1 --separate-stderr timeout 10 "$SOCK" -vv -u -w 1 -z 127.0.0.1 "$closed" </dev/null
	[ -z "$output" ]
	[ "$stderr" = "sock: connect to 127.0.0.1 port $closed (udp) failed: Connection refused" ]
}

@test "-u -z: a UDP port that answers is open without waiting for -w" {
	local start ms
	udp_listener reply
	start=$(date +%s%N)
	run -0 --separate-stderr timeout 20 "$SOCK" -v -u -w 5 -z 127.0.0.1 "$UDP_PORT" </dev/null
	ms=$(elapsed_ms "$start")
	[ "${#stderr_lines[@]}" -eq 1 ]
	[ "$ms" -lt 2500 ]
}

# --- pacing and source --------------------------------------------------------

@test "-i 0.2 probes one port at a time with pauses between them" {
	local start ms
	listen_window
	start=$(date +%s%N)
	run -0 --separate-stderr timeout 10 "$SOCK" -v -i 0.2 -z 127.0.0.1 \
	    "$((OPEN1 - 1))-$((OPEN1 + 1))" </dev/null
	ms=$(elapsed_ms "$start")
	[ "${#stderr_lines[@]}" -eq 1 ]
	[ "$ms" -ge 400 ]
	[ "$ms" -lt 3000 ]
}

@test "-s and -p bind the probes to a source address and port" {
	local p sport
	need python3
	# 127.0.0.2 is loopback too on Linux, but never the kernel's choice.
	peer_listen peer="$T/from" sleep=30
	p=$PPORT
	sport=$(free_port)
	run -0 --separate-stderr timeout 10 "$SOCK" -v -s 127.0.0.2 -p "$sport" -z 127.0.0.1 "$p" </dev/null
	wait_for 5 test -s "$T/from"
	[ "$(cat "$T/from")" = "127.0.0.2 $sport" ]
}
