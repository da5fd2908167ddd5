#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Proxies (-x, -X, -P) and -F: usage errors, real dante-server (SOCKS4,
# SOCKS5), tinyproxy (HTTP CONNECT) and sshd, scripted proxies that record
# what they were asked (test/proxy_peer.py), and hostile ones (test/peer.py)
# for every malformed reply.
# shellcheck disable=SC2016,SC2153,SC2154
# SC2016: sh -c scripts take their arguments as "$0" "$1"... on purpose.
# SC2153/SC2154: T, SOCK, PORT, LPID, BG_PID, EXIT_STATUS, PEER, PPORT come
# from helper.bash (loaded by bats' load, which shellcheck cannot follow);
# stderr and stderr_lines from bats' run --separate-stderr.

load helper
bats_require_minimum_version 1.5.0


# ---------------------------------------------------------------- helpers

# target [TEXT]: a sock listener on 127.0.0.1 that sends TEXT (default
# "answer") and writes what it receives to $T/tout; sets PORT and LPID.
target() {
	printf '%s' "${1-answer}" >"$T/reply"
	sock_listen "$T/reply" "$T/tout" "$T/terr" 127.0.0.1 0
}

# target_ok TEXT: the target received exactly TEXT and exited 0.
target_ok() {
	wait_exit "$LPID" 5
	[ "$EXIT_STATUS" -eq 0 ]
	[ "$(cat "$T/tout")" = "$1" ]
}

# hostile ACTION...: a python peer (helper.bash) that plays a broken proxy;
# sets PPORT.
hostile() {
	need python3
	peer_listen "$@"
}

# dante_start [PORT]: a real dante-server SOCKS4/SOCKS5 proxy on 127.0.0.1
# (on PORT, or a free one; sets DPORT) that refuses, by its rules,
# connections to 127.0.0.1 port 9.
dante_start() {
	need danted
	[ "$(id -u)" -eq 0 ] || skip "danted is run as root here"
	DPORT=${1:-$(free_port)}
	cat >"$T/danted.conf" <<EOF
logoutput: $T/danted.log
internal: 127.0.0.1 port = $DPORT
external: 127.0.0.1
clientmethod: none
socksmethod: none
user.privileged: root
user.unprivileged: nobody
client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }
socks block { from: 0.0.0.0/0 to: 127.0.0.1/32 port = 9 }
socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 protocol: tcp }
EOF
	bg danted -f "$T/danted.conf" -N 1 -p "$T/danted.pid"
	wait_for 5 is_listening "$DPORT" || { cat "$T/danted.log" >&2; return 1; }
}

# tinyproxy_start [USER PASS]: a real tinyproxy on 127.0.0.1 (sets TPORT),
# with Basic authentication if USER and PASS are given.
tinyproxy_start() {
	need tinyproxy
	TPORT=$(free_port)
	{
		printf 'Port %s\nListen 127.0.0.1\nTimeout 30\nAllow 127.0.0.1\n' "$TPORT"
		printf 'MaxClients 8\nLogLevel Info\n'
		[ $# -eq 2 ] && printf 'BasicAuth %s %s\n' "$1" "$2"
	} >"$T/tinyproxy.conf"
	bg sh -c 'exec tinyproxy -d -c "$0" >"$1" 2>&1' "$T/tinyproxy.conf" \
	    "$T/tinyproxy.log"
	wait_for 5 is_listening "$TPORT" || { cat "$T/tinyproxy.log" >&2; return 1; }
}

# sshd_start: a throwaway sshd on 127.0.0.1 (sets SSHPORT) that lets the
# key $T/ck in as the current user; SSH is the client command to use.
sshd_start() {
	need /usr/sbin/sshd ssh ssh-keygen
	[ "$(id -u)" -eq 0 ] || skip "the throwaway sshd is run as root here"
	[ -d /run/sshd ] || mkdir -p /run/sshd 2>/dev/null ||
	    skip "sshd needs /run/sshd"
	ssh-keygen -q -t ed25519 -N '' -f "$T/hk"
	ssh-keygen -q -t ed25519 -N '' -f "$T/ck"
	cat >"$T/sshd.conf" <<EOF
ListenAddress 127.0.0.1
HostKey $T/hk
PidFile none
AuthorizedKeysFile $T/ck.pub
StrictModes no
UsePAM no
PermitRootLogin yes
PasswordAuthentication no
KbdInteractiveAuthentication no
EOF
	SSHPORT=$(free_port)
	bg /usr/sbin/sshd -D -e -f "$T/sshd.conf" -p "$SSHPORT" 2>"$T/sshd.log"
	wait_for 5 is_listening "$SSHPORT" || { cat "$T/sshd.log" >&2; return 1; }
	SSH=(ssh -F /dev/null -i "$T/ck" -o UserKnownHostsFile="$T/known_hosts"
	    -o StrictHostKeyChecking=no -o BatchMode=yes -o ConnectTimeout=10
	    -p "$SSHPORT")
}

# ---------------------------------------------------------------- usage

@test "-x with an unknown proxy type is a usage error" {
	usage_is 'sock: invalid -x value "ftp://p": unknown proxy type "ftp": must be socks4, socks4a, socks5 or http' \
	    -x ftp://p 127.0.0.1 80
}

@test "-x with an empty proxy address is a usage error" {
	usage_is 'sock: invalid -x value "": empty proxy address' -x '' 127.0.0.1 80
	usage_is 'sock: invalid -x value "socks5://": empty proxy address' -x socks5:// 127.0.0.1 80
	usage_is 'sock: invalid -x value ":1080": empty proxy address' -x :1080 127.0.0.1 80
}

@test "-x with a bad proxy port is a usage error" {
	local p
	for p in 0 65536 http ''; do
		usage_is "sock: invalid -x value \"proxy:$p\": invalid proxy port \"$p\": must be 1-65535" \
		    -x "proxy:$p" 127.0.0.1 80
	done
}

@test "-x with an unclosed bracket or an unbracketed IPv6 address is a usage error" {
	usage_is "sock: invalid -x value \"[::1:1080\": unclosed '[' in the address" -x '[::1:1080' 127.0.0.1 80
	usage_is 'sock: invalid -x value "::1": an IPv6 address must be in brackets: [addr]:port' -x ::1 127.0.0.1 80
	usage_is 'sock: invalid -x value "[proxy]:1080": "proxy" in brackets is not an IPv6 address' -x '[proxy]:1080' 127.0.0.1 80
	usage_is "sock: invalid -x value \"[::1]x\": unexpected \"x\" after ']'" -x '[::1]x' 127.0.0.1 80
}

@test "-x with a user too long, an empty user or a password is a usage error" {
	local long
	long=$(printf 'u%.0s' $(seq 256))
	usage_is 'sock: invalid -x value: user name too long (256 bytes, at most 255)' -x "$long@proxy" 127.0.0.1 80
	usage_is 'sock: invalid -x value: empty user name' -x @proxy 127.0.0.1 80
	# The password is refused, and not repeated in the message.
	usage_is 'sock: invalid -x value: a password does not go on the command line: give the user only, and the password in SOCK_PROXY_PASSWORD' \
	    -x 'alice:hunter2@proxy' 127.0.0.1 80
	[[ $stderr != *hunter2* ]]
}

@test "-X with a bad type, and -X or -P without -x, are usage errors" {
	usage_is 'sock: invalid -X value "6": must be 4, 4a, 5 or connect' -X 6 -x proxy 127.0.0.1 80
	usage_is 'sock: -X needs -x' -X 5 127.0.0.1 80
	usage_is 'sock: -P needs -x' -P alice 127.0.0.1 80
	usage_is "sock: invalid -P value: must be 1-255 bytes, without ':' or control characters" \
	    -P alice:pw -x proxy 127.0.0.1 80
}

@test "-x with -l or -U is a usage error" {
	usage_is 'sock: -x cannot be used with -l (except with --forward or --proxy-server)' -x proxy -l 0
	usage_is 'sock: -x cannot be used with -U' -x proxy -U "$T/s"
}

@test "more than 8 proxies are a usage error" {
	local args=() i
	for i in $(seq 9); do
		args+=(-x "127.0.0.$i")
	done
	usage_is 'sock: too many proxies: at most 8 -x' "${args[@]}" 127.0.0.1 80
}

@test "-n needs numeric proxy addresses" {
	usage_is 'sock: -n requires a numeric proxy address: "proxy.example"' -n -x proxy.example 127.0.0.1 80
}

@test "-F with -l, -z or a relay option is a usage error" {
	usage_is 'sock: -F cannot be used with -l' -F -l 0
	usage_is 'sock: -F cannot be used with -z' -F -z 127.0.0.1 80
	usage_is 'sock: -F cannot be used with -u' -F -u 127.0.0.1 80
	usage_is 'sock: -F cannot be used with -q: the socket goes to another program' \
	    -F -q 1 127.0.0.1 80
}

@test "-F with a stdout that is not a Unix socket exits 4 before connecting" {
	hostile no_client=1
	run -4 --separate-stderr timeout 10 "$SOCK" -F 127.0.0.1 "$PPORT" </dev/null
	[ "$stderr" = "sock: -F: standard output is not a Unix-domain socket" ]
	peer_ok
}

@test "-P without SOCK_PROXY_PASSWORD or a terminal is a usage error" {
	need setsid
	run -2 --separate-stderr env -u SOCK_PROXY_PASSWORD setsid -w \
	    timeout 10 "$SOCK" -P bob -x 127.0.0.1:9 127.0.0.1 80 </dev/null
	[ "${stderr_lines[0]}" = "sock: no proxy password for user bob: set SOCK_PROXY_PASSWORD (there is no terminal to ask on)" ]
}

@test "a proxy password over 255 bytes is refused before anything is sent" {
	local long
	long=$(printf 'p%.0s' $(seq 256))
	hostile no_client=1
	SOCK_PROXY_PASSWORD=$long run -2 --separate-stderr timeout 10 "$SOCK" \
	    -P bob -x "127.0.0.1:$PPORT" 127.0.0.1 80 </dev/null
	[ "${stderr_lines[0]}" = "sock: proxy password too long (256 bytes, at most 255)" ]
	peer_ok
}

@test "an empty password is refused for SOCKS5" {
	hostile no_client=1
	SOCK_PROXY_PASSWORD='' run -2 --separate-stderr timeout 10 "$SOCK" \
	    -P bob -x "127.0.0.1:$PPORT" 127.0.0.1 80 </dev/null
	[ "${stderr_lines[0]}" = "sock: empty proxy password: SOCKS5 needs 1-255 bytes" ]
	peer_ok
}

# ---------------------------------------------------------------- dante

@test "SOCKS5 through dante carries data both ways" {
	dante_start
	target answer
	run -0 --separate-stderr timeout 10 "$SOCK" -v -x "127.0.0.1:$DPORT" 127.0.0.1 "$PORT" < <(printf question)
	[ "$output" = answer ]
	target_ok question
	[ "${stderr_lines[0]}" = "sock: proxy 127.0.0.1 port $DPORT (socks5): connected to 127.0.0.1 port $PORT" ]
	[ "${stderr_lines[1]}" = "sock: connected to 127.0.0.1 port $PORT (tcp)" ]
}

@test "SOCKS4 through dante resolves the name itself" {
	dante_start
	target answer
	run -0 --separate-stderr timeout 10 "$SOCK" -v -X 4 -x "127.0.0.1:$DPORT" localhost "$PORT" < <(printf question)
	[ "$output" = answer ]
	target_ok question
	[ "${stderr_lines[0]}" = "sock: proxy 127.0.0.1 port $DPORT (socks4): connected to localhost port $PORT" ]
}

@test "a megabyte goes through dante intact in both directions" {
	dante_start
	random_file "$T/down" 1048576
	random_file "$T/up" 1048576
	sock_listen "$T/down" "$T/tout" "$T/terr" 127.0.0.1 0
	run -0 timeout 20 sh -c 'exec "$0" -x "$1" 127.0.0.1 "$2" <"$3" >"$4"' \
	    "$SOCK" "127.0.0.1:$DPORT" "$PORT" "$T/up" "$T/got"
	wait_exit "$LPID" 10
	[ "$EXIT_STATUS" -eq 0 ]
	same_file "$T/down" "$T/got"
	same_file "$T/up" "$T/tout"
}

@test "dante's ruleset refusal is exit 1 in RFC 1928's words" {
	dante_start
	run -1 --separate-stderr timeout 10 "$SOCK" -x "127.0.0.1:$DPORT" 127.0.0.1 9 </dev/null
	[ -z "$output" ]
	[ "$stderr" = "sock: proxy 127.0.0.1 port $DPORT: connection not allowed by ruleset" ]
}

@test "a target that refuses dante is exit 1: connection refused" {
	local p
	dante_start
	p=$(free_port)
	run -1 --separate-stderr timeout 10 "$SOCK" -x "127.0.0.1:$DPORT" 127.0.0.1 "$p" </dev/null
	[ "$stderr" = "sock: proxy 127.0.0.1 port $DPORT: connection refused" ]
	run -1 --separate-stderr timeout 10 "$SOCK" -X 4 -x "127.0.0.1:$DPORT" 127.0.0.1 "$p" </dev/null
	[ "$stderr" = "sock: proxy 127.0.0.1 port $DPORT: request rejected or failed" ]
}

@test "-z through dante probes each port with a handshake of its own" {
	local p
	dante_start
	target ''
	p=$(free_port)
	run -0 --separate-stderr timeout 20 "$SOCK" -zvv -x "127.0.0.1:$DPORT" 127.0.0.1 "$p,$PORT"
	grep -qxF "sock: Connection to 127.0.0.1 $PORT port [tcp/*] succeeded!" <<<"$stderr"
	grep -qxF "sock: connect to 127.0.0.1 port $p (tcp) failed: Connection refused" <<<"$stderr"
	run -1 --separate-stderr timeout 20 "$SOCK" -z -x "127.0.0.1:$DPORT" 127.0.0.1 "$p"
	[ -z "$stderr" ]
}

@test "-z through a proxy that cannot be reached reports it and exits 1" {
	local p
	need python3
	p=$(free_port)
	run -1 --separate-stderr timeout 10 "$SOCK" -z -x "127.0.0.1:$p" 127.0.0.1 80,81
	[ "$stderr" = "sock: connect to proxy 127.0.0.1 port $p: Connection refused" ]
}

@test "--wait through dante waits for the target to come up" {
	local p
	dante_start
	p=$(free_port)
	printf late >"$T/reply"
	sock_bg /dev/null "$T/out" "$T/err" --wait 15 -vv -x "127.0.0.1:$DPORT" 127.0.0.1 "$p"
	wait_for 10 has_text "$T/err" "connection refused; trying again"
	sock_listen "$T/reply" "$T/tout" "$T/terr" 127.0.0.1 "$p"
	sock_ok 15
	[ "$(cat "$T/out")" = late ]
}

@test "-z --wait through a proxy waits for the proxy itself to come up" {
	need python3 danted
	DPORT=$(free_port)
	target ''
	sock_bg /dev/null "$T/out" "$T/err" -zv --wait 15 -vv -x "127.0.0.1:$DPORT" 127.0.0.1 "$PORT"
	wait_for 10 has_text "$T/err" "connect to proxy 127.0.0.1 port $DPORT: Connection refused; trying again"
	dante_start "$DPORT"
	sock_ok 15
	has_line "$T/err" "sock: Connection to 127.0.0.1 $PORT port [tcp/*] succeeded!"
}

@test "-z --wait through a proxy that never comes up gives up with exit 3" {
	local p
	need python3
	p=$(free_port)
	run -3 --separate-stderr timeout 10 "$SOCK" -z --wait 1 -x "127.0.0.1:$p" 127.0.0.1 80,81
	[ "$stderr" = "sock: gave up waiting for 127.0.0.1 port 80,81 after 1 s: connect to proxy 127.0.0.1 port $p: Connection refused" ]
}

@test "--wait through a proxy that keeps refusing gives up with exit 3" {
	dante_start
	run -3 --separate-stderr timeout 10 "$SOCK" --wait 1 -x "127.0.0.1:$DPORT" 127.0.0.1 9 </dev/null
	[ "$stderr" = "sock: gave up waiting for 127.0.0.1 port 9 after 1 s: proxy 127.0.0.1 port $DPORT: connection not allowed by ruleset" ]
}

# ---------------------------------------------------------------- tinyproxy

# question_answer ARGS...: through "sock ARGS 127.0.0.1 PPORT", a python
# peer gets "question" and answers "answer" and closes; sock, whose stdin
# ends only after the answer (tinyproxy passes on no half-close: a FIN from
# either side ends the tunnel), prints the answer and exits 0.
question_answer() {
	peer_listen recv_n=8,"$T/got" sendstr=answer close
	open_feed "$T/cin"
	sock_bg "$T/cin" "$T/out" "$T/err" "$@" 127.0.0.1 "$PPORT"
	feed "$T/cin" question
	peer_ok
	wait_for 5 has_text "$T/out" answer
	end_feed "$T/cin"
	sock_ok
	[ "$(cat "$T/got")" = question ]
	[ "$(cat "$T/out")" = answer ]
}

@test "HTTP CONNECT through tinyproxy carries data both ways" {
	tinyproxy_start
	question_answer -v -X connect -x "127.0.0.1:$TPORT"
	has_line "$T/err" "sock: proxy 127.0.0.1 port $TPORT (http): connected to 127.0.0.1 port $PPORT"
}

@test "tinyproxy with Basic authentication takes the password from SOCK_PROXY_PASSWORD" {
	tinyproxy_start alice s3cret
	export SOCK_PROXY_PASSWORD=s3cret
	question_answer -vv -x "http://alice@127.0.0.1:$TPORT"
	if has_text "$T/err" s3cret; then
		echo "the password is in the -vv output" >&2
		return 1
	fi
}

@test "tinyproxy's refusal of a wrong password is exit 1 with the status line" {
	tinyproxy_start alice s3cret
	SOCK_PROXY_PASSWORD=wrong run -1 --separate-stderr timeout 10 "$SOCK" \
	    -X connect -P alice -x "127.0.0.1:$TPORT" 127.0.0.1 9 </dev/null
	[ -z "$output" ]
	# tinyproxy 1.11 answers 401 where RFC 9110 says 407.
	[[ $stderr =~ ^"sock: proxy 127.0.0.1 port $TPORT: HTTP/1."[01]" 40"[17]" " ]]
}

@test "a target that refuses tinyproxy is exit 1 with its status line" {
	local p
	tinyproxy_start
	p=$(free_port)
	run -1 --separate-stderr timeout 10 "$SOCK" -X connect -x "127.0.0.1:$TPORT" 127.0.0.1 "$p" </dev/null
	[[ $stderr =~ ^"sock: proxy 127.0.0.1 port $TPORT: HTTP/1."[01]" 5"[0-9][0-9]" " ]]
}

# ---------------------------------------------------------------- ssh

@test "ssh -o ProxyCommand runs through sock and dante" {
	dante_start
	sshd_start
	run -0 timeout 20 "${SSH[@]}" \
	    -o ProxyCommand="$SOCK -x 127.0.0.1:$DPORT %h %p" \
	    "$(id -un)@127.0.0.1" echo through-the-proxy </dev/null
	[ "${lines[-1]}" = through-the-proxy ]
}

@test "ssh -o ProxyUseFdpass=yes gets the socket from sock -F through dante" {
	dante_start
	sshd_start
	run -0 timeout 20 "${SSH[@]}" \
	    -o ProxyCommand="$SOCK -F -x 127.0.0.1:$DPORT %h %p" \
	    -o ProxyUseFdpass=yes \
	    "$(id -un)@127.0.0.1" echo fd-passed </dev/null
	[ "${lines[-1]}" = fd-passed ]
}

@test "-F passes the connected socket over a Unix-socket stdout and exits 0" {
	need python3
	target answer
	run -0 timeout 10 python3 "$PEER_PY" recv-fd "$SOCK" -F 127.0.0.1 "$PORT"
	[ "$output" = "0 b'\\x00' answer" ]
	target_ok question
}

# ---------------------------------------------------------------- scripted

@test "a chain of two SOCKS5 proxies asks each hop for the next" {
	local p1 p2
	proxy_peer one socks5
	p1=$PX
	proxy_peer two socks5
	p2=$PX
	target answer
	run -0 --separate-stderr timeout 10 "$SOCK" -v -x "127.0.0.1:$p1" -x "127.0.0.1:$p2" localhost "$PORT" < <(printf question)
	[ "$output" = answer ]
	target_ok question
	[ "$(cat "$T/one.log")" = "socks5 methods=00 atyp=1 host=127.0.0.1 port=$p2" ]
	[ "$(cat "$T/two.log")" = "socks5 methods=00 atyp=3 host=localhost port=$PORT" ]
	[ "${stderr_lines[0]}" = "sock: proxy 127.0.0.1 port $p1 (socks5): connected to 127.0.0.1 port $p2" ]
	[ "${stderr_lines[1]}" = "sock: proxy 127.0.0.1 port $p2 (socks5): connected to localhost port $PORT" ]
	[ "${stderr_lines[2]}" = "sock: connected to localhost port $PORT (tcp)" ]
}

@test "a chain of mixed types: each hop with its own type:// and user" {
	local ph p4 p5
	proxy_peer h http auth=carol:pw
	ph=$PX
	proxy_peer s4 socks4
	p4=$PX
	proxy_peer s5 socks5
	p5=$PX
	target answer
	SOCK_PROXY_PASSWORD=pw run -0 --separate-stderr timeout 10 "$SOCK" \
	    -x "http://carol@127.0.0.1:$ph" -x "socks4a://dave@127.0.0.1:$p4" \
	    -x "127.0.0.1:$p5" localhost "$PORT" < <(printf question)
	[ "$output" = answer ]
	target_ok question
	[ "$(cat "$T/h.log")" = "http CONNECT 127.0.0.1:$p4 HTTP/1.1 | Host: 127.0.0.1:$p4 | Proxy-Authorization: Basic $(printf carol:pw | base64)" ]
	[ "$(cat "$T/s4.log")" = "socks4 user=dave host=127.0.0.1 port=$p5" ]
	[ "$(cat "$T/s5.log")" = "socks5 methods=00 atyp=3 host=localhost port=$PORT" ]
}

@test "an IPv6 literal goes to SOCKS5 as an address (ATYP 4)" {
	has_ipv6_loopback || skip "::1 is not configured"
	proxy_peer p socks5
	printf answer >"$T/reply"
	sock_listen "$T/reply" "$T/tout" "$T/terr" ::1 0
	run -0 --separate-stderr timeout 10 "$SOCK" -x "127.0.0.1:$PX" ::1 "$PORT" < <(printf question)
	[ "$output" = answer ]
	target_ok question
	[ "$(cat "$T/p.log")" = "socks5 methods=00 atyp=4 host=::1 port=$PORT" ]
}

@test "a proxy at a bracketed IPv6 address is reached" {
	has_ipv6_loopback || skip "::1 is not configured"
	proxy_peer p socks5 listen=::1
	target answer
	run -0 --separate-stderr timeout 10 "$SOCK" -v -x "[::1]:$PX" 127.0.0.1 "$PORT" < <(printf question)
	[ "$output" = answer ]
	target_ok question
	[ "${stderr_lines[0]}" = "sock: proxy ::1 port $PX (socks5): connected to 127.0.0.1 port $PORT" ]
}

@test "SOCKS4a sends the name, SOCKS4 the address it looked up" {
	local first
	proxy_peer p socks4
	target one
	first=$PORT
	run -0 timeout 10 "$SOCK" -X 4a -x "127.0.0.1:$PX" localhost "$PORT" </dev/null
	[ "$output" = one ]
	target_ok ''
	target two
	run -0 timeout 10 "$SOCK" -X 4 -x "127.0.0.1:$PX" localhost "$PORT" </dev/null
	[ "$output" = two ]
	[ "$(sed -n 1p "$T/p.log")" = "socks4a user= host=localhost port=$first" ]
	[ "$(sed -n 2p "$T/p.log")" = "socks4 user= host=127.0.0.1 port=$PORT" ]
}

@test "a SOCKS4 user ID needs no password" {
	need setsid
	proxy_peer p socks4
	target answer
	run -0 env -u SOCK_PROXY_PASSWORD setsid -w timeout 10 "$SOCK" -X 4 -P henry -x "127.0.0.1:$PX" 127.0.0.1 "$PORT" </dev/null
	[ "$output" = answer ]
	[ "$(cat "$T/p.log")" = "socks4 user=henry host=127.0.0.1 port=$PORT" ]
}

@test "HTTP CONNECT is given the host name as it is" {
	proxy_peer p http
	target answer
	run -0 timeout 10 "$SOCK" -X connect -x "127.0.0.1:$PX" localhost "$PORT" </dev/null
	[ "$output" = answer ]
	[ "$(cat "$T/p.log")" = "http CONNECT localhost:$PORT HTTP/1.1 | Host: localhost:$PORT" ]
}

@test "-s sets the source address of the connection to the first proxy" {
	proxy_peer p socks5 clients="$T/clients"
	target answer
	run -0 timeout 10 "$SOCK" -s 127.0.0.2 -x "127.0.0.1:$PX" 127.0.0.1 "$PORT" </dev/null
	[ "$output" = answer ]
	[ "$(cat "$T/clients")" = 127.0.0.2 ]
}

@test "a proxy without a port is looked for on 1080, or 3128 for HTTP" {
	need python3
	is_listening 1080 && skip "something listens on port 1080"
	is_listening 3128 && skip "something listens on port 3128"
	run -1 --separate-stderr timeout 10 "$SOCK" -x 127.0.0.1 127.0.0.1 80 </dev/null
	[ "$stderr" = "sock: connect to proxy 127.0.0.1 port 1080: Connection refused" ]
	run -1 --separate-stderr timeout 10 "$SOCK" -x socks4a://127.0.0.1 127.0.0.1 80 </dev/null
	[ "$stderr" = "sock: connect to proxy 127.0.0.1 port 1080: Connection refused" ]
	run -1 --separate-stderr timeout 10 "$SOCK" -X connect -x 127.0.0.1 127.0.0.1 80 </dev/null
	[ "$stderr" = "sock: connect to proxy 127.0.0.1 port 3128: Connection refused" ]
	run -1 --separate-stderr timeout 10 "$SOCK" -x 'http://[::1]' 127.0.0.1 80 </dev/null
	[[ $stderr == "sock: connect to proxy ::1 port 3128: "* ]]
}

@test "SOCKS4 cannot reach an IPv6 address: exit 1 before asking" {
	proxy_peer p socks4
	run -1 --separate-stderr timeout 10 "$SOCK" -X 4 -x "127.0.0.1:$PX" ::1 80 </dev/null
	[ "$stderr" = "sock: proxy 127.0.0.1 port $PX: SOCKS4 cannot reach the IPv6 address ::1 (use -X 5)" ]
	[ ! -s "$T/p.log" ]
}

@test "SOCKS5 username/password (RFC 1929) sends the user and password" {
	proxy_peer p socks5 auth=erin:letmein
	target answer
	SOCK_PROXY_PASSWORD=letmein run -0 --separate-stderr timeout 10 "$SOCK" -vv \
	    -P erin -x "127.0.0.1:$PX" 127.0.0.1 "$PORT" < <(printf question)
	[ "$output" = answer ]
	target_ok question
	[ "$(cat "$T/p.log")" = "socks5 methods=00,02 user=erin pass=letmein atyp=1 host=127.0.0.1 port=$PORT" ]
	grep -qxF "sock: proxy 127.0.0.1 port $PX (socks5): authenticated as erin" <<<"$stderr"
	[[ $stderr != *letmein* ]]
}

@test "SOCKS5 credentials of 255 bytes each arrive whole" {
	local u pw
	u=$(printf 'u%.0s' $(seq 255))
	pw=$(printf 'p%.0s' $(seq 254))x
	proxy_peer p socks5 "auth=$u:$pw"
	target answer
	SOCK_PROXY_PASSWORD=$pw run -0 timeout 10 "$SOCK" -P "$u" -x "127.0.0.1:$PX" 127.0.0.1 "$PORT" </dev/null
	[ "$output" = answer ]
	[ "$(cat "$T/p.log")" = "socks5 methods=00,02 user=$u pass=$pw atyp=1 host=127.0.0.1 port=$PORT" ]
}

@test "a wrong SOCKS5 password is exit 1: username/password rejected" {
	proxy_peer p socks5 auth=erin:letmein
	SOCK_PROXY_PASSWORD=nope run -1 --separate-stderr timeout 10 "$SOCK" \
	    -P erin -x "127.0.0.1:$PX" 127.0.0.1 9 </dev/null
	[ "$stderr" = "sock: proxy 127.0.0.1 port $PX: username/password rejected (user erin)" ]
}

@test "the password is asked on the terminal, with echo off" {
	need python3
	proxy_peer p socks5 auth=frank:typed-secret
	target answer
	run -0 timeout 10 env -u SOCK_PROXY_PASSWORD python3 "$PEER_PY" pty \
	    "Proxy password for frank: " typed-secret \
	    "$SOCK" -d -P frank -x "127.0.0.1:$PX" 127.0.0.1 "$PORT"
	[[ $output == *"Proxy password for frank: "* ]]
	[[ $output == *answer* ]]
	[[ $output != *typed-secret* ]]
	grep -qF "user=frank pass=typed-secret " "$T/p.log"
}

@test "HTTP Basic authentication against a scripted proxy, and its 407" {
	proxy_peer p http auth=gina:opensesame
	target answer
	SOCK_PROXY_PASSWORD=opensesame run -0 timeout 10 "$SOCK" -X connect -P gina -x "127.0.0.1:$PX" 127.0.0.1 "$PORT" </dev/null
	[ "$output" = answer ]
	grep -qxF "http CONNECT 127.0.0.1:$PORT HTTP/1.1 | Host: 127.0.0.1:$PORT | Proxy-Authorization: Basic $(printf gina:opensesame | base64)" "$T/p.log"
	SOCK_PROXY_PASSWORD=wrong run -1 --separate-stderr timeout 10 "$SOCK" -X connect -P gina -x "127.0.0.1:$PX" 127.0.0.1 "$PORT" </dev/null
	[ "$stderr" = "sock: proxy 127.0.0.1 port $PX: HTTP/1.1 407 Proxy Authentication Required" ]
}

@test "a SOCKS5 reply that binds a domain name is accepted" {
	proxy_peer p socks5 bind=domain
	target answer
	run -0 --separate-stderr timeout 10 "$SOCK" -vv -x "127.0.0.1:$PX" 127.0.0.1 "$PORT" </dev/null
	[ "$output" = answer ]
	grep -qxF "sock: proxy 127.0.0.1 port $PX (socks5): bound address bound.proxy.test port 4096" <<<"$stderr"
}

@test "an HTTP 100 before the 200 is skipped" {
	proxy_peer p http interim
	target answer
	run -0 --separate-stderr timeout 10 "$SOCK" -vv -X connect -x "127.0.0.1:$PX" 127.0.0.1 "$PORT" </dev/null
	[ "$output" = answer ]
	grep -qxF "sock: proxy 127.0.0.1 port $PX (http): HTTP/1.1 100 Continue" <<<"$stderr"
	grep -qxF "sock: proxy 127.0.0.1 port $PX (http): HTTP/1.1 200 Connection established" <<<"$stderr"
}

@test "bytes a SOCKS5, SOCKS4 or HTTP proxy sends after its reply reach stdout" {
	local type
	for type in socks5 socks4 http; do
		proxy_peer "p$type" "$type" 'after=early\n'
		target answer
		run -0 timeout 10 "$SOCK" -X "$([ "$type" = http ] && echo connect || echo "${type#socks}")" \
		    -x "127.0.0.1:$PX" 127.0.0.1 "$PORT" </dev/null
		[ "$output" = "early
answer" ]
		target_ok ''
	done
}

# ---------------------------------------------------------------- hostile

# socks5_hostile REPLY_ACTIONS... : a SOCKS5 proxy that takes the method
# request (3 bytes) and then does REPLY_ACTIONS.
socks5_hostile() {
	hostile recv_n=3 "$@"
}

# http_hostile ACTIONS...: an HTTP proxy that takes the 3 lines of the
# CONNECT request (into $T/req) and then does ACTIONS.
http_hostile() {
	hostile "lines=3,$T/req" "$@"
}

# connect_req: the 10 bytes of a SOCKS5 CONNECT to an IPv4 address.
CONNECT_REQ=recv_n=10

# fails_with STATUS MESSAGE [ARGS...]: sock through the hostile peer (PPORT)
# to 127.0.0.1 port 9 exits STATUS with exactly MESSAGE.
fails_with() {
	local status=$1 msg=$2
	shift 2
	run "-$status" --separate-stderr timeout 10 "$SOCK" "$@" -x "127.0.0.1:$PPORT" 127.0.0.1 9 </dev/null
	[ -z "$output" ]
	if [ "$stderr" != "$msg" ]; then
		printf 'expected: %s\ngot:      %s\n' "$msg" "$stderr" >&2
		return 1
	fi
}

@test "SOCKS5: garbage instead of a reply is exit 1" {
	socks5_hostile sendstr='HTTP/1.0 400 Bad Request' close
	fails_with 1 "sock: proxy 127.0.0.1 port $PPORT: not a SOCKS5 reply (version 72)"
}

@test "SOCKS5: a proxy that closes mid-handshake is exit 1" {
	socks5_hostile sendhex=05 close
	fails_with 1 "sock: proxy 127.0.0.1 port $PPORT: closed the connection during the SOCKS5 handshake"
	socks5_hostile sendhex=0500 "$CONNECT_REQ" sendhex=05000001007f close
	fails_with 1 "sock: proxy 127.0.0.1 port $PPORT: closed the connection during the SOCKS5 handshake"
}

@test "SOCKS5: a method that was not offered is exit 1" {
	socks5_hostile sendhex=0502 sleep=5
	fails_with 1 "sock: proxy 127.0.0.1 port $PPORT: chose authentication method 2, which was not offered"
}

@test "SOCKS5: no acceptable method (0xFF) is exit 1" {
	socks5_hostile sendhex=05ff close
	fails_with 1 "sock: proxy 127.0.0.1 port $PPORT: accepts none of the authentication methods offered (none; it may need -P)"
}

@test "SOCKS5: a reply of the wrong version is exit 1" {
	socks5_hostile sendhex=0500 "$CONNECT_REQ" sendhex=04000001000000000000 sleep=5
	fails_with 1 "sock: proxy 127.0.0.1 port $PPORT: not a SOCKS5 reply (version 4)"
}

@test "SOCKS5: an unknown address type is exit 1" {
	socks5_hostile sendhex=0500 "$CONNECT_REQ" sendhex=05000009000000000000 sleep=5
	fails_with 1 "sock: proxy 127.0.0.1 port $PPORT: unknown address type 9 in the SOCKS5 reply"
}

@test "SOCKS5: every failure code is told in RFC 1928's words" {
	local code words=(
	    'general SOCKS server failure' 'connection not allowed by ruleset'
	    'network unreachable' 'host unreachable' 'connection refused'
	    'TTL expired' 'command not supported' 'address type not supported')
	for code in 1 2 3 4 5 6 7 8; do
		socks5_hostile sendhex=0500 "$CONNECT_REQ" "sendhex=050${code}0001000000000000" close
		fails_with 1 "sock: proxy 127.0.0.1 port $PPORT: ${words[code - 1]}"
	done
	socks5_hostile sendhex=0500 "$CONNECT_REQ" sendhex=05090001000000000000 close
	fails_with 1 "sock: proxy 127.0.0.1 port $PPORT: unknown SOCKS5 reply code 9"
}

@test "SOCKS5: a stalled handshake is exit 3 within -w" {
	local start
	socks5_hostile sendhex=0500 sleep=10
	start=$(date +%s%N)
	fails_with 3 "sock: proxy 127.0.0.1 port $PPORT: timed out during the SOCKS5 handshake" -w 1
	[ "$(elapsed_ms "$start")" -lt 3000 ]
}

@test "SOCKS5: a reply and data in one segment: the data reaches stdout" {
	socks5_hostile sendhex=0500 "$CONNECT_REQ" sendhex=050000017f00000100506461746120616674657220746865207265706c79 close
	run -0 timeout 10 "$SOCK" -x "127.0.0.1:$PPORT" 127.0.0.1 9 </dev/null
	[ "$output" = "data after the reply" ]
}

@test "SOCKS4: a wrong version or a rejection is exit 1" {
	hostile recv_n=9 sendhex=045a000000000000 sleep=5
	fails_with 1 "sock: proxy 127.0.0.1 port $PPORT: not a SOCKS4 reply (version 4)" -X 4
	hostile recv_n=9 sendhex=005b000000000000 close
	fails_with 1 "sock: proxy 127.0.0.1 port $PPORT: request rejected or failed" -X 4
	hostile recv_n=9 sendhex=005a0000 close
	fails_with 1 "sock: proxy 127.0.0.1 port $PPORT: closed the connection during the SOCKS4 handshake" -X 4
}

@test "HTTP: garbage instead of a status line is exit 1" {
	http_hostile sendstr=$'garbage\r\n\r\n' sleep=5
	fails_with 1 "sock: proxy 127.0.0.1 port $PPORT: not an HTTP reply: \"garbage\"" -X connect
}

@test "HTTP: a proxy that closes mid-head is exit 1" {
	http_hostile sendstr=$'HTTP/1.1 200 OK\r\nX-Half: ' close
	fails_with 1 "sock: proxy 127.0.0.1 port $PPORT: closed the connection during the HTTP CONNECT" -X connect
}

@test "HTTP: a 407 and a 502 are exit 1 with the status line" {
	http_hostile sendstr=$'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="x"\r\n\r\n' sleep=5
	fails_with 1 "sock: proxy 127.0.0.1 port $PPORT: HTTP/1.1 407 Proxy Authentication Required" -X connect
	http_hostile sendstr=$'HTTP/1.0 502 Bad Gateway\r\n\r\n' close
	fails_with 1 "sock: proxy 127.0.0.1 port $PPORT: HTTP/1.0 502 Bad Gateway" -X connect
}

@test "HTTP: headers over 16 KiB are exit 1" {
	local big
	big=$(printf 'X-Filler: %01000d\r\n' $(seq 17))
	http_hostile sendstr=$'HTTP/1.1 200 OK\r\n'"$big" sleep=5
	fails_with 1 "sock: proxy 127.0.0.1 port $PPORT: reply head longer than 16384 bytes" -X connect
	big=$(printf '%020000d' 0)
	http_hostile sendstr="HTTP/1.1 200 $big" sleep=5
	fails_with 1 "sock: proxy 127.0.0.1 port $PPORT: reply head longer than 16384 bytes" -X connect
}

@test "HTTP: a malformed header line is exit 1" {
	http_hostile sendstr=$'HTTP/1.1 200 OK\r\nno colon here\r\n\r\n' sleep=5
	fails_with 1 "sock: proxy 127.0.0.1 port $PPORT: malformed header line in the HTTP reply: \"no colon here\"" -X connect
}

@test "HTTP: a stalled answer is exit 3 within -w" {
	local start
	http_hostile sendstr='HTTP/1.1 2' sleep=10
	start=$(date +%s%N)
	fails_with 3 "sock: proxy 127.0.0.1 port $PPORT: timed out during the HTTP CONNECT" -X connect -w 1
	[ "$(elapsed_ms "$start")" -lt 3000 ]
}

@test "-w bounds the whole handshake, not each read" {
	local start
	# A byte every 0.4 s: no single read waits 1 s, the whole takes 4 s.
	socks5_hostile sendhex=0500 "$CONNECT_REQ" drip=05000001000000000000,0.4
	start=$(date +%s%N)
	fails_with 3 "sock: proxy 127.0.0.1 port $PPORT: timed out during the SOCKS5 handshake" -w 1
	[ "$(elapsed_ms "$start")" -lt 2500 ]
}

@test "HTTP: data after the 200 reaches stdout, in the same segment or later" {
	http_hostile sendstr=$'HTTP/1.1 200 OK\r\nVia: test\r\n\r\nhello after' close
	run -0 timeout 10 "$SOCK" -X connect -x "127.0.0.1:$PPORT" 127.0.0.1 9 </dev/null
	[ "$output" = "hello after" ]
	http_hostile drip="$(printf 'HTTP/1.0 204 Fine\n\nxy' | od -An -tx1 | tr -d ' \n'),0.01" close
	run -0 timeout 10 "$SOCK" -X connect -x "127.0.0.1:$PPORT" 127.0.0.1 9 </dev/null
	[ "$output" = xy ]
}

@test "HTTP: an interim 1xx then a 200 with data in one segment" {
	http_hostile sendstr=$'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\nrest' close
	run -0 timeout 10 "$SOCK" -X connect -x "127.0.0.1:$PPORT" 127.0.0.1 9 </dev/null
	[ "$output" = rest ]
}

@test "a proxy that cannot be reached is exit 1, and a stall before any reply exit 3" {
	local p start
	need python3
	p=$(free_port)
	run -1 --separate-stderr timeout 10 "$SOCK" -x "127.0.0.1:$p" 127.0.0.1 80 </dev/null
	[ "$stderr" = "sock: connect to proxy 127.0.0.1 port $p: Connection refused" ]
	hostile sleep=10
	start=$(date +%s%N)
	fails_with 3 "sock: proxy 127.0.0.1 port $PPORT: timed out during the SOCKS5 handshake" -w 1
	[ "$(elapsed_ms "$start")" -lt 3000 ]
}

@test "--tls runs end to end through a SOCKS5 proxy, the target's certificate pinned" {
	need openssl
	if "$SOCK" --tls --tls-insecure 127.0.0.1 1 </dev/null 2>&1 | grep -q 'built without TLS'; then
		skip "sock was built without TLS"
	fi
	printf 'over tls\n' >"$T/reply"
	sock_listen "$T/reply" "$T/tout" "$T/terr" --tls 127.0.0.1 0
	local fp
	fp=$(sed -n 's/^sock: TLS certificate: \(SHA256:[0-9A-F:]*\) .*/\1/p' "$T/terr")
	proxy_peer p socks5
	printf 'hello\n' >"$T/msg"
	run -0 --separate-stderr timeout 10 "$SOCK" --tls --tls-pin "$fp" -x "127.0.0.1:$PX" 127.0.0.1 "$PORT" <"$T/msg"
	[ "$output" = "over tls" ]
	wait_exit "$LPID" 5
	[ "$EXIT_STATUS" -eq 0 ]
	[ "$(cat "$T/tout")" = hello ]
	# The proxy saw a CONNECT to the target, and only ciphertext after it.
	grep -q "$PORT" "$T/p.log"
}
