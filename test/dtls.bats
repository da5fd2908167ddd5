#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# DTLS (--tls -u; sock(1), "TLS" and "Datagrams"): the usage errors of
# what it cannot do, sessions with openssl s_server and s_client (both
# directions, data both ways, a datagram one record), ncat --ssl -u as
# a client (Debian's ncat 7.93 has no DTLS server: sock's client is
# tested against s_server only),
# verification, --tls-pin, client certificates, ALPN, the listener's
# cookie exchange, close_notify, the handshake's bounds and retransmission
# timers, and a handshake under loss on a veth pair of the test's own.
# shellcheck disable=SC2016,SC2030,SC2031,SC2153,SC2154
# SC2016: sh -c scripts take their arguments as "$0" "$1"... on purpose.
# SC2030/SC2031: each @test body runs in a subshell.
# SC2153/SC2154: T, SOCK, PORT, LPID, BG_PID, EXIT_STATUS, NS_* come from
# helper.bash and netns.bash (loaded by bats' load, which shellcheck
# cannot follow); stderr from bats' run --separate-stderr.

load helper
load netns
bats_require_minimum_version 1.5.0

# Certificates, made once for the file (as in tls.bats): a CA, a server
# certificate for localhost and 127.0.0.1 signed by it, a client
# certificate, and a server certificate signed by another CA.
setup_file() {
	local d=$BATS_FILE_TMPDIR
	NETNS_SKIP=$(netns_reason)
	export NETNS_SKIP
	# 10.231.0.2: the server's address on the loss tests' veth pair.
	test_pki "$d" IP:10.231.0.2
}

setup() {
	common_setup
	C=$BATS_FILE_TMPDIR
}

teardown() {
	common_teardown
	if [ -n "${NS_UP:-}" ]; then
		netns_down
	fi
}

# s_server ARGS...: openssl s_server -dtls1_2 on 127.0.0.1 (one client,
# -quiet unless ARGS say -trace), stdin from $T/sin (made empty if
# missing), stdout to $T/sout; sets SPORT.
s_server() {
	SPORT=$(free_port udp)
	[ -e "$T/sin" ] || : >"$T/sin"
	bg sh -c 'p=$0 i=$1 o=$2 e=$3; shift 3
	    exec openssl s_server -dtls1_2 -accept "127.0.0.1:$p" -naccept 1 "$@" <"$i" >"$o" 2>"$e"' \
	    "$SPORT" "$T/sin" "$T/sout" "$T/serr" "$@"
	wait_for 5 is_bound_udp "$SPORT"
}

# s_client ARGS...: openssl s_client -dtls1_2 to 127.0.0.1 port PORT, in
# the background, stdin from the feed $T/cin (open_feed first), stdout to
# $T/cout.
s_client() {
	bg sh -c 'p=$0 i=$1 o=$2 e=$3; shift 3
	    exec openssl s_client -dtls1_2 -connect "127.0.0.1:$p" "$@" <"$i" >"$o" 2>"$e"' \
	    "$PORT" "$T/cin" "$T/cout" "$T/cerr" "$@"
}

# handshake_done FILE: sock -v said the DTLS session is up in FILE.
handshake_done() {
	grep -q '^sock: TLS session: DTLSv1\.2, ' "$1"
}

# records_in FILE N: s_server -trace shows N application data records.
records_in() {
	[ "$(grep -c 'Content Type = ApplicationData (23)' "$1")" -eq "$2" ]
}

fingerprint() {
	openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/^[^=]*=//'
}

# ---------------------------------------------------------------- options

@test "--tls -u -k is a usage error: DTLS serves one conversation" {
	run -2 --separate-stderr "$SOCK" -u --tls -l -k 127.0.0.1 0 </dev/null
	[ "${stderr%%$'\n'*}" = "sock: --tls -u cannot be used with -k: DTLS serves one conversation" ]
	run -2 --separate-stderr "$SOCK" --ssl -u -l -k 127.0.0.1 0 </dev/null
	[ "${stderr%%$'\n'*}" = "sock: --ssl -u cannot be used with -k: DTLS serves one conversation" ]
}

@test "--tls -u --forward is a usage error" {
	run -2 --separate-stderr "$SOCK" -u --tls -l 127.0.0.1 0 --forward 127.0.0.1:9 </dev/null
	# Named by the rule on --forward -u where it stands, else by DTLS's.
	[[ ${stderr%%$'\n'*} == 'sock: --forward cannot be used with -u'* ||
	    ${stderr%%$'\n'*} == 'sock: --tls -u cannot be used with --forward: DTLS serves one conversation' ]]
}

@test "--tls -u -x is a usage error" {
	run -2 --separate-stderr "$SOCK" -u --tls -x socks5://127.0.0.1:9 127.0.0.1 9 </dev/null
	# Named by the rule on -x -u where it stands, else by DTLS's.
	[[ ${stderr%%$'\n'*} == 'sock: -x cannot be used with -u'* ||
	    ${stderr%%$'\n'*} == "sock: --tls -u cannot be used with -x: DTLS does not run through a proxy's UDP relay" ]]
}

@test "--tls -u -U is a usage error: DTLS runs over UDP only" {
	run -2 --separate-stderr "$SOCK" -u -U --tls --tls-insecure "$T/s" </dev/null
	[ "${stderr%%$'\n'*}" = "sock: --tls -u cannot be used with -U: DTLS runs over UDP only" ]
}

@test "--tls-min 1.3 with -u is a usage error: OpenSSL has no DTLS 1.3" {
	run -2 --separate-stderr "$SOCK" -u --tls --tls-min 1.3 127.0.0.1 9 </dev/null
	[ "${stderr%%$'\n'*}" = "sock: --tls-min 1.3 cannot be used with -u: OpenSSL has no DTLS 1.3" ]
}

# ---------------------------------------------------------------- sessions

@test "sock to sock: verified, data both ways, a datagram arrives whole as one (-W 1 with 3000 bytes)" {
	need_tls
	head -c 3000 /dev/zero | tr '\0' x >"$T/big"
	sock_listen "$T/big" "$T/lout" "$T/lerr" -u --tls -W 1 \
	    --tls-cert "$C/server.pem" --tls-key "$C/server.key" 127.0.0.1 0
	printf 'from the client\n' >"$T/msg"
	# -W 1: the listener ends at its first datagram: the whole line.
	run -0 --separate-stderr timeout 10 "$SOCK" -v -u -W 1 --tls --tls-ca "$C/ca.pem" localhost "$PORT" <"$T/msg"
	same_file "$T/big" <(printf '%s' "$output")
	grep -q '^sock: TLS session: DTLSv1\.2, ' <<<"$stderr"
	grep -q '^sock: TLS peer certificate: SHA256:.*, subject "CN=localhost"$' <<<"$stderr"
	wait_exit "$LPID" 10
	[ "$EXIT_STATUS" -eq 0 ]
	[ "$(cat "$T/lout")" = "from the client" ]
	grep -q '^sock: TLS session: DTLSv1\.2, ' "$T/lerr"
}

@test "sock to openssl s_server: data both ways, a record per datagram, close_notify at the end" {
	need_tls
	open_feed "$T/sin"
	s_server -cert "$C/server.pem" -key "$C/server.key" -trace
	open_feed "$T/cin"
	bg sh -c 'exec "$0" -v -u --tls --tls-ca "$5" localhost "$1" <"$2" >"$3" 2>"$4"' \
	    "$SOCK" "$SPORT" "$T/cin" "$T/cout" "$T/cerr" "$C/ca.pem"
	local cpid=$BG_PID
	wait_for 10 handshake_done "$T/cerr"
	# Two stdin reads, two datagrams: s_server gets two records.
	say "$T/cin" one
	wait_for 5 has_text "$T/sout" 'Content Type = ApplicationData (23)'
	say "$T/cin" two
	wait_for 5 records_in "$T/sout" 2
	say "$T/sin" answer
	wait_for 5 has_text "$T/cout" answer
	end_feed "$T/cin"
	wait_exit "$cpid" 5
	[ "$EXIT_STATUS" -eq 0 ]
	[ "$(cat "$T/cout")" = answer ]
	# The end: a close_notify alert, after the two records.
	wait_for 5 has_text "$T/sout" 'description=close notify(0)'
	end_feed "$T/sin"
}

@test "openssl s_client to the sock listener: a HelloVerifyRequest first (the cookie exchange), then data both ways" {
	need_tls
	open_feed "$T/lin"
	sock_listen "$T/lin" "$T/lout" "$T/lerr" -u --tls 127.0.0.1 0
	open_feed "$T/cin"
	s_client -trace -ign_eof
	wait_for 10 handshake_done "$T/lerr"
	say "$T/cin" ping
	wait_for 5 has_text "$T/lout" ping
	say "$T/lin" pong
	wait_for 5 has_text "$T/cout" pong
	end_feed "$T/lin"
	wait_exit "$LPID" 5
	[ "$EXIT_STATUS" -eq 0 ]
	[ "$(cat "$T/lout")" = ping ]
	# The client's first ClientHello is answered with a cookie, and it
	# sends its second with it.
	grep -q '^ *HelloVerifyRequest, Length=' "$T/cout"
	[ "$(grep -c '^ *ClientHello, Length=' "$T/cout")" -ge 2 ]
	wait_for 5 has_text "$T/cout" 'description=close notify(0)'
	end_feed "$T/cin"
}

@test "a datagram larger than the record the peer allows (s_client -maxfraglen 512) is exit 1 with the reason, not split" {
	need_tls
	head -c 1000 /dev/zero | tr '\0' y >"$T/big"
	sock_listen "$T/big" "$T/lout" "$T/lerr" -u --tls 127.0.0.1 0
	open_feed "$T/cin"
	s_client -quiet -maxfraglen 512
	wait_exit "$LPID" 10
	[ "$EXIT_STATUS" -eq 1 ]
	grep -qx 'sock: write to 127\.0\.0\.1 port [0-9]*: a datagram of 1000 bytes does not fit in a DTLS record (at most 512 bytes, the peer.s maximum fragment length)' "$T/lerr"
	[ ! -s "$T/cout" ]
	end_feed "$T/cin"
}

@test "ncat --ssl -u to the sock listener: data both ways" {
	need_tls
	need ncat
	open_feed "$T/lin"
	sock_listen "$T/lin" "$T/lout" "$T/lerr" -u --tls 127.0.0.1 0
	open_feed "$T/cin"
	bg sh -c 'exec ncat --ssl -u 127.0.0.1 "$0" <"$1" >"$2" 2>"$3"' \
	    "$PORT" "$T/cin" "$T/cout" "$T/cerr"
	local npid=$BG_PID
	say "$T/cin" 'from ncat'
	wait_for 10 has_text "$T/lout" 'from ncat'
	say "$T/lin" 'from sock'
	wait_for 5 has_text "$T/cout" 'from sock'
	end_feed "$T/lin"
	wait_exit "$LPID" 5
	[ "$EXIT_STATUS" -eq 0 ]
	grep -q '^sock: TLS session: DTLSv1\.2, ' "$T/lerr"
	end_feed "$T/cin"
	kill "$npid" 2>/dev/null || true
}

# ---------------------------------------------------------------- verification

@test "a server certificate from another CA is exit 1: verification failed" {
	need_tls
	s_server -quiet -cert "$C/stranger.pem" -key "$C/stranger.key"
	run -1 --separate-stderr timeout 10 "$SOCK" -u --tls --tls-ca "$C/ca.pem" localhost "$SPORT" </dev/null
	[ "$stderr" = "sock: TLS handshake with 127.0.0.1 port $SPORT: certificate verification failed: unable to get local issuer certificate" ]
	[ -z "$output" ]
}

@test "--tls-servername over DTLS: sent as SNI and verified, the host being an address" {
	need_tls
	# s_server's stdin stays open: without -quiet it quits at its end.
	open_feed "$T/sin"
	s_server -cert "$C/server.pem" -key "$C/server.key" -trace
	printf 'sni\n' >"$T/msg"
	run -0 --separate-stderr timeout 10 "$SOCK" -u --tls --tls-ca "$C/ca.pem" --tls-servername localhost -q 0.2 127.0.0.1 "$SPORT" <"$T/msg"
	wait_for 5 has_text "$T/sout" sni
	grep -A1 'extension_type=server_name(0)' "$T/sout" | grep -q '\.localhost$'
	end_feed "$T/sin"
	# A name the certificate is not for fails.
	rm -f "$T/sin"
	s_server -cert "$C/server.pem" -key "$C/server.key" -quiet
	run -1 --separate-stderr timeout 10 "$SOCK" -u --tls --tls-ca "$C/ca.pem" --tls-servername example.org 127.0.0.1 "$SPORT" <"$T/msg"
	[[ $stderr == *'certificate verification failed: hostname mismatch (the certificate is not for example.org)' ]]
}

@test "--tls-pin: the listener's temporary certificate by its fingerprint; another pin is exit 1" {
	need_tls
	local fp
	open_feed "$T/lin"
	sock_listen "$T/lin" "$T/lout" "$T/lerr" -u --tls 127.0.0.1 0
	fp=$(sed -n 's/^sock: TLS certificate: \(SHA256:[0-9A-F:]*\) (temporary, self-signed)$/\1/p' "$T/lerr")
	[ -n "$fp" ]
	printf 'pinned\n' >"$T/msg"
	run -0 --separate-stderr timeout 10 "$SOCK" -u --tls --tls-pin "$fp" -q 0.2 127.0.0.1 "$PORT" <"$T/msg"
	wait_for 5 has_text "$T/lout" pinned
	end_feed "$T/lin"
	wait_exit "$LPID" 5
	[ "$EXIT_STATUS" -eq 0 ]

	# Pinned to another certificate: the listener's is not it.
	sock_listen /dev/null "$T/lout2" "$T/lerr2" -u --tls -w 3 127.0.0.1 0
	fp=$(sed -n 's/^sock: TLS certificate: \(SHA256:[0-9A-F:]*\) (temporary, self-signed)$/\1/p' "$T/lerr2")
	run -1 --separate-stderr timeout 10 "$SOCK" -u --tls --tls-pin "$(fingerprint "$C/server.pem")" 127.0.0.1 "$PORT" <"$T/msg"
	[ "$stderr" = "sock: TLS handshake with 127.0.0.1 port $PORT: pin mismatch: peer certificate $fp, --tls-pin SHA256:$(fingerprint "$C/server.pem")" ]
	[ ! -s "$T/lout2" ]
}

@test "--tls-verify-client: s_client with a certificate from --tls-ca gets in, without one it does not" {
	need_tls
	open_feed "$T/lin"
	sock_listen "$T/lin" "$T/lout" "$T/lerr" -u --tls --tls-verify-client --tls-ca "$C/ca.pem" 127.0.0.1 0
	open_feed "$T/cin"
	s_client -quiet -cert "$C/client.pem" -key "$C/client.key"
	say "$T/cin" 'with a certificate'
	wait_for 10 has_text "$T/lout" 'with a certificate'
	grep -q '^sock: TLS peer certificate: SHA256:.*, subject "CN=sock-client"$' "$T/lerr"
	end_feed "$T/lin"
	wait_exit "$LPID" 5
	[ "$EXIT_STATUS" -eq 0 ]
	end_feed "$T/cin"

	sock_listen /dev/null "$T/lout2" "$T/lerr2" -u --tls --tls-verify-client --tls-ca "$C/ca.pem" 127.0.0.1 0
	open_feed "$T/cin"
	s_client -quiet
	say "$T/cin" 'without one'
	wait_exit "$LPID" 10
	[ "$EXIT_STATUS" -eq 1 ]
	grep -q "^sock: TLS handshake with 127\.0\.0\.1 port [0-9]*: peer did not return a certificate$" "$T/lerr2"
	[ ! -s "$T/lout2" ]
	end_feed "$T/cin"
}

@test "--tls-alpn over DTLS: the listener picks from its list and -v shows it" {
	need_tls
	open_feed "$T/lin"
	sock_listen "$T/lin" "$T/lout" "$T/lerr" -u --tls --tls-alpn foo,bar 127.0.0.1 0
	open_feed "$T/cin"
	s_client -quiet -alpn baz,bar
	wait_for 10 handshake_done "$T/lerr"
	grep -q '^sock: TLS session: DTLSv1\.2, cipher .*, ALPN bar$' "$T/lerr"
	end_feed "$T/lin"
	wait_exit "$LPID" 5
	[ "$EXIT_STATUS" -eq 0 ]
	end_feed "$T/cin"
}

# ---------------------------------------------------------------- bounds

@test "a listener's handshake is bounded by -w: a plain datagram starts it, nothing completes it, exit 3" {
	need_tls
	need python3
	sock_listen /dev/null "$T/lout" "$T/lerr" -u --tls -w 1 127.0.0.1 0
	python3 "$PEER_PY" udp-send "$PORT" 'not a ClientHello'
	wait_exit "$LPID" 5
	[ "$EXIT_STATUS" -eq 3 ]
	grep -Eq '^sock: TLS handshake with 127\.0\.0\.1 port [0-9]+: [A-Za-z]+ timed out$' "$T/lerr"
	[ ! -s "$T/lout" ]
}

@test "a client's handshake sends its ClientHello again on OpenSSL's timer and gives up at -w, exit 3" {
	need_tls
	need python3
	local start ms
	# A UDP peer that logs each datagram's size and never answers.
	bg python3 "$PEER_PY" udp "$T/pport" log="$T/log"
	wait_for 5 test -s "$T/pport"
	start=$(date +%s%N)
	run -3 --separate-stderr timeout 10 "$SOCK" -u --tls --tls-insecure -w 3.5 127.0.0.1 "$(cat "$T/pport")" </dev/null
	ms=$(elapsed_ms "$start")
	[ "$ms" -ge 3400 ] && [ "$ms" -lt 6000 ]
	# strerror(ETIMEDOUT): "Connection timed out" (glibc), "Operation timed out" (musl).
	[[ $stderr == *': Connection timed out' || $stderr == *': Operation timed out' ]]
	# At 0 s, 1 s and 3 s (the timer doubles): three ClientHellos.
	[ "$(wc -l <"$T/log")" -eq 3 ]
}

# ---------------------------------------------------------------- loss

# drop_nth NS N: drop the Nth UDP datagram (from 1) that arrives in NS.
drop_nth() {
	in_ns "$1" iptables -w -A INPUT -p udp -m statistic --mode nth \
	    --every 1000000 --packet "$(($2 - 1))" -j DROP
}

@test "the handshake completes through loss: the first ClientHello and the server's first flight dropped on a veth pair" {
	need_tls
	need_netns
	netns_up
	NS_UP=1
	# The listener in B never sees the first ClientHello: the client's
	# timer sends it again. The client in A gets the HelloVerifyRequest
	# (its first datagram) but not the server's flight (its second):
	# both timers run out, and the flights are sent again.
	drop_nth "$NS_B" 1
	drop_nth "$NS_A" 2
	open_feed "$T/lin"
	ip netns exec "$NS_B" "$SOCK" -v -u -l --tls -w 30 \
	    --tls-cert "$C/server.pem" --tls-key "$C/server.key" \
	    "$NS_B_ADDR" 0 <"$T/lin" >"$T/lout" 2>"$T/lerr" 3>&- &
	LPID=$!
	PIDS+=("$LPID")
	wait_for 5 has_port_line "$T/lerr"
	PORT=$(port_from "$T/lerr")
	open_feed "$T/cin"
	ip netns exec "$NS_A" "$SOCK" -v -u --tls --tls-ca "$C/ca.pem" -w 30 \
	    "$NS_B_ADDR" "$PORT" <"$T/cin" >"$T/cout" 2>"$T/cerr" 3>&- &
	local cpid=$!
	PIDS+=("$cpid")
	wait_for 20 handshake_done "$T/cerr"
	wait_for 20 handshake_done "$T/lerr"
	lost_at_least 2 1
	# Data once the loss has stopped: the session is whole.
	rules_clear
	say "$T/cin" ping
	wait_for 5 has_text "$T/lout" ping
	say "$T/lin" pong
	wait_for 5 has_text "$T/cout" pong
	end_feed "$T/cin"
	end_feed "$T/lin"
	wait_exit "$cpid" 5
	[ "$EXIT_STATUS" -eq 0 ]
	wait_exit "$LPID" 5
	[ "$EXIT_STATUS" -eq 0 ]
}

@test "--allow holds at the cookie exchange: a refused address that sends a good ClientHello never gets in" {
	need_tls
	sock_listen /dev/null "$T/lout" "$T/lerr" -u --tls -w 2 --allow 127.0.0.2 127.0.0.1 0
	# An admitted sender's datagram starts the handshake's clock...
	printf 'plain\n' >"$T/plain"
	run -0 timeout 10 "$SOCK" -u -q 0 -s 127.0.0.2 127.0.0.1 "$PORT" <"$T/plain"
	# ... but a client from 127.0.0.1 (refused) is only ever asked for
	# its cookie again.
	run -3 --separate-stderr timeout 10 "$SOCK" -u --tls --tls-insecure -w 1 127.0.0.1 "$PORT" </dev/null
	wait_exit "$LPID" 5
	[ "$EXIT_STATUS" -eq 3 ]
	grep -Eq '^sock: TLS handshake with 127\.0\.0\.2 port [0-9]+: [A-Za-z]+ timed out$' "$T/lerr"
	run ! grep -q '^sock: TLS session' "$T/lerr"
}

@test "junk before the ClientHello (random records, a plain line) is dropped: a real client then gets in, and -v names it" {
	need_tls
	need python3
	sock_listen /dev/null "$T/lout" "$T/lerr" -u --tls -w 5 127.0.0.1 0
	python3 "$PEER_PY" dtls-junk "$PORT" >"$T/junkport"
	printf 'after the junk\n' >"$T/msg"
	run -0 --separate-stderr timeout 10 "$SOCK" -v -u --tls --tls-insecure 127.0.0.1 "$PORT" <"$T/msg"
	wait_exit "$LPID" 10
	[ "$EXIT_STATUS" -eq 0 ]
	[ "$(cat "$T/lout")" = "after the junk" ]
	# The junk's sender started the clock; the client is another port.
	grep -qx "sock: connection from 127\.0\.0\.1 port $(cat "$T/junkport") (udp)" "$T/lerr"
	grep -q '^sock: DTLS client: 127\.0\.0\.1 port [0-9]* (proven by the cookie exchange)$' "$T/lerr"
	run ! grep -q "^sock: DTLS client: 127\.0\.0\.1 port $(cat "$T/junkport") " "$T/lerr"
}
