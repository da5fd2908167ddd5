#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# TLS (--tls; sock(1), "TLS"): options and their conflicts, certificate
# files, the listener's temporary certificate, verification, pinning,
# handshake failures, and sessions with openssl s_server/s_client and
# sock itself.
# shellcheck disable=SC2016,SC2153,SC2154
# SC2016: sh -c scripts take their arguments as "$0" "$1"... on purpose.
# SC2153/SC2154: T, SOCK, PORT, LPID, BG_PID, EXIT_STATUS, PEER come from
# helper.bash (loaded by bats' load, which shellcheck cannot follow);
# stderr from bats' run --separate-stderr.

load helper
bats_require_minimum_version 1.5.0

# Certificates, made once for the file: a CA, a server certificate for
# localhost and 127.0.0.1 signed by it, an expired one, a client
# certificate, and a certificate signed by nobody we know.
setup_file() {
	local d=$BATS_FILE_TMPDIR
	test_pki "$d"
	[ -f "$d/ca.pem" ] || return 0
	# Valid yesterday only: notAfter in the past.
	test_cert "$d" expired /CN=localhost ca -not_before 20200101000000Z \
	    -not_after 20200102000000Z ||
	    test_cert "$d" expired /CN=localhost ca -days -1
}

setup() {
	common_setup
	C=$BATS_FILE_TMPDIR
}

# s_server ARGS...: openssl s_server on 127.0.0.1 (one client, -quiet),
# stdout to $T/sout, stdin from $T/sin if it exists; sets SPORT.
s_server() {
	SPORT=$(free_port)
	[ -e "$T/sin" ] || : >"$T/sin"
	bg sh -c 'p=$0 i=$1 o=$2 e=$3; shift 3
	    exec openssl s_server -accept "127.0.0.1:$p" -naccept 1 -quiet "$@" <"$i" >"$o" 2>"$e"' \
	    "$SPORT" "$T/sin" "$T/sout" "$T/serr" "$@"
	wait_for 5 is_listening "$SPORT"
}

fingerprint() {
	openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/^[^=]*=//'
}

# ---------------------------------------------------------------- options

@test "a --tls-* option without --tls is a usage error" {
	run -2 --separate-stderr "$SOCK" --tls-insecure 127.0.0.1 9 </dev/null
	[[ $stderr == 'sock: --tls-insecure needs --tls'* ]]
	run -2 --separate-stderr "$SOCK" --tls-ca /nonexistent 127.0.0.1 9 </dev/null
	[[ $stderr == 'sock: --tls-ca needs --tls'* ]]
}

@test "--tls-verify-client needs -l and --tls-ca" {
	run -2 --separate-stderr "$SOCK" --tls --tls-verify-client -l 0 </dev/null
	[[ $stderr == 'sock: --tls-verify-client needs --tls-ca'* ]]
	run -2 --separate-stderr "$SOCK" --tls --tls-verify-client --tls-ca x 127.0.0.1 9 </dev/null
	[[ $stderr == 'sock: --tls-verify-client needs -l'* ]]
}

@test "contradictory TLS options are usage errors" {
	local pin
	pin=$(printf '%064d' 0)
	run -2 --separate-stderr "$SOCK" --tls --tls-insecure --tls-pin "$pin" 127.0.0.1 9
	[[ $stderr == 'sock: --tls-insecure and --tls-pin cannot be used together'* ]]
	run -2 --separate-stderr "$SOCK" --tls --tls-insecure --tls-ca x 127.0.0.1 9
	[[ $stderr == 'sock: --tls-ca cannot be used with --tls-insecure'* ]]
	run -2 --separate-stderr "$SOCK" --tls --tls-key k 127.0.0.1 9
	[[ $stderr == 'sock: --tls-key needs --tls-cert'* ]]
	run -2 --separate-stderr "$SOCK" -l --tls --tls-insecure 0
	[[ $stderr == 'sock: --tls-insecure cannot be used with -l'* ]]
	run -2 --separate-stderr "$SOCK" -l --tls --tls-servername x 0
	[[ $stderr == 'sock: --tls-servername cannot be used with -l'* ]]
	run -2 --separate-stderr "$SOCK" --tls -z 127.0.0.1 9
	[[ $stderr == 'sock: --tls cannot be used with -z'* ]]
	run -2 --separate-stderr "$SOCK" --tls -U "$T/s"
	[[ $stderr == 'sock: --tls with -U needs --tls-servername, --tls-pin or --tls-insecure'* ]]
}

@test "a malformed --tls-pin is a usage error that says why" {
	run -2 --separate-stderr "$SOCK" --tls --tls-pin 83:F1 127.0.0.1 9
	[[ $stderr == 'sock: invalid --tls-pin value "83:F1": too short'* ]]
	run -2 --separate-stderr "$SOCK" --tls --tls-pin "$(printf '%064d' 0)00" 127.0.0.1 9
	[[ $stderr == *': too long'* ]]
	run -2 --separate-stderr "$SOCK" --tls --tls-pin "$(printf 'g%063d' 0)" 127.0.0.1 9
	[[ $stderr == *': not a hex fingerprint'* ]]
	[[ $stderr == *"see 'sock --help' for usage" ]]
}

@test "--tls-pin takes openssl's form, with or without prefix, colons and case" {
	local p fp
	need_tls
	p=$(free_port)
	fp=83:F1:A7:55:66:9C:73:4B:ED:E0:20:F4:88:2B:02:6E:33:DF:FD:E7:83:58:91:68:71:E7:54:44:F2:A2:53:DC
	for v in "$fp" "SHA256:$fp" "sha256 Fingerprint=$fp" "$(tr -d : <<<"$fp" | tr A-F a-f)"; do
		# Parsed: what fails is the connection (nothing listens), exit 1.
		run -1 --separate-stderr "$SOCK" --tls --tls-pin "$v" 127.0.0.1 "$p" </dev/null
		[ "$stderr" = "sock: connect to 127.0.0.1 port $p: Connection refused" ]
	done
}

@test "bad --tls-alpn and --tls-min values are usage errors" {
	run -2 --separate-stderr "$SOCK" --tls --tls-alpn 'h2,,x' 127.0.0.1 9
	[[ $stderr == 'sock: invalid --tls-alpn value "h2,,x": empty protocol name'* ]]
	run -2 --separate-stderr "$SOCK" --tls --tls-alpn "$(printf '%0256d' 0)" 127.0.0.1 9
	[[ $stderr == *'protocol name longer than 255 bytes'* ]]
	run -2 --separate-stderr "$SOCK" --tls --tls-min 1.1 127.0.0.1 9
	[[ $stderr == 'sock: invalid --tls-min value "1.1": must be 1.2 or 1.3'* ]]
}

@test "a build without TLS says so and exits 2" {
	local src=$BATS_TEST_DIRNAME/..
	command -v cc >/dev/null || skip "no cc"
	mkdir "$T/build"
	cp "$src"/*.c "$src"/*.h "$src"/Makefile "$src"/VERSION "$T/build/"
	# Unoptimised and in parallel: what is tested is which code is built.
	make -s -j4 -C "$T/build" TLS=no CFLAGS=-O0 sock >/dev/null
	mv "$T/build/sock" "$T/sock-notls"
	run -2 --separate-stderr "$T/sock-notls" --tls 127.0.0.1 9 </dev/null
	[[ $stderr == 'sock: --tls is not available: sock was built without TLS'* ]]
	# Without --tls it is the same sock.
	run -0 "$T/sock-notls" --version
}

# tls_dlopened: sock opens libssl.so.3 for --tls (TLS_LINK=dlopen, the
# default), rather than being linked with OpenSSL (TLS_LINK=direct, as the
# static build is); only tlsload.c's dlopen branch has that message.
tls_dlopened() {
	grep -qaF -- '--tls needs %s (OpenSSL 3)' "$SOCK"
}

# maps_libssl PID: the path of the libssl PID has mapped (empty if none).
maps_libssl() {
	awk '$6 ~ /\/libssl[.]so/ { print $6; exit }' "/proc/$1/maps"
}

# system_libssl: the system's libssl.so.3, as the loader finds it.
system_libssl() {
	readlink -f "$(ldconfig -p | awk '/libssl[.]so[.]3 / { print $NF; exit }')"
}

@test "without --tls nothing of OpenSSL is loaded; with --tls libssl is (linked in: the same either way)" {
	local plain plain_pid
	need_tls
	: >"$T/in"
	sock_listen "$T/in" "$T/out" "$T/err" 127.0.0.1 0
	plain_pid=$LPID
	grep -q . "/proc/$plain_pid/maps"
	plain=$(maps_libssl "$plain_pid")
	sock_listen "$T/in" "$T/out" "$T/err2" --tls 127.0.0.1 0
	if tls_dlopened; then
		[ -z "$plain" ]
		run ! grep -e libssl -e libcrypto "/proc/$plain_pid/maps"
		grep -q '/libcrypto[.]so' "/proc/$LPID/maps"
		[ -n "$(maps_libssl "$LPID")" ]
	else
		# Nothing is loaded at run time: a static sock maps no libssl.
		[ "$(maps_libssl "$LPID")" = "$plain" ]
	fi
}

@test "--tls without a loadable libssl.so.3 is exit 2 naming the library (linked in: TLS still works)" {
	local lib
	need_tls
	need unshare
	unshare -m true
	lib=$(system_libssl)
	[ -f "$lib" ]
	printf 'through\n' >"$T/in"
	sock_listen "$T/in" "$T/out" "$T/err" --tls 127.0.0.1 0
	if ! tls_dlopened; then
		# In a private mount namespace, an empty file where libssl was.
		run -0 --separate-stderr unshare -m sh -c \
		    'mount --bind /dev/null "$0" && exec "$@"' "$lib" \
		    "$SOCK" --tls --tls-insecure 127.0.0.1 "$PORT" </dev/null
		[ "$output" = through ]
		return 0
	fi
	run -2 --separate-stderr unshare -m sh -c \
	    'mount --bind /dev/null "$0" && exec "$@"' "$lib" \
	    "$SOCK" --tls --tls-insecure 127.0.0.1 "$PORT" </dev/null
	[[ $stderr == 'sock: --tls needs libssl.so.3 (OpenSSL 3): '?* ]]
	[ "$(wc -l <<<"$stderr")" -eq 1 ]
	# Without --tls the same sock works there.
	run -0 unshare -m sh -c 'mount --bind /dev/null "$0" && exec "$@"' \
	    "$lib" "$SOCK" -z 127.0.0.1 "$PORT"
}

# ---------------------------------------------------------------- files

@test "a missing certificate file is exit 1 naming it, before any socket" {
	need_tls
	run -1 --separate-stderr "$SOCK" -v -l --tls --tls-cert "$T/nope.pem" 127.0.0.1 0 </dev/null
	[ "$stderr" = "sock: --tls-cert $T/nope.pem: No such file or directory" ]
}

@test "a malformed certificate or key is exit 1 naming the file" {
	need_tls
	printf 'not a certificate\n' >"$T/bad.pem"
	run -1 --separate-stderr "$SOCK" -v -l --tls --tls-cert "$T/bad.pem" 127.0.0.1 0 </dev/null
	[[ $stderr == "sock: --tls-cert $T/bad.pem: not a PEM certificate"* ]]
	[[ $stderr != *listening* ]]
	run -1 --separate-stderr "$SOCK" -v -l --tls --tls-cert "$C/server.pem" \
	    --tls-key "$T/bad.pem" 127.0.0.1 0 </dev/null
	[[ $stderr == "sock: --tls-key $T/bad.pem: no usable PEM private key"* ]]
	run -1 --separate-stderr "$SOCK" -v -l --tls --tls-cert "$C/server.pem" \
	    --tls-key "$C/client.key" 127.0.0.1 0 </dev/null
	[ "$stderr" = "sock: --tls-key $C/client.key does not match --tls-cert $C/server.pem" ]
	run -1 --separate-stderr "$SOCK" --tls --tls-ca "$T/bad.pem" 127.0.0.1 9 </dev/null
	[[ $stderr == "sock: --tls-ca $T/bad.pem: no PEM certificate"* ]]
}

@test "an unreadable key is exit 1 naming it" {
	need_tls
	local as=()
	# Root reads every file: as root, run sock without the two
	# capabilities that let it (setpriv is in util-linux).
	if [ "$(id -u)" -eq 0 ]; then
		need setpriv
		local caps=-dac_override,-dac_read_search
		as=(setpriv "--inh-caps=$caps" "--bounding-set=$caps")
	fi
	cp "$C/server.key" "$T/key"
	chmod 000 "$T/key"
	run -1 --separate-stderr "${as[@]}" "$SOCK" -l --tls --tls-cert "$C/server.pem" --tls-key "$T/key" 0 </dev/null
	[ "$stderr" = "sock: --tls-key $T/key: Permission denied" ]
}

# ---------------------------------------------------------------- listener

@test "a listener without --tls-cert prints its temporary certificate's fingerprint first" {
	local fp got
	need_tls
	sock_listen /dev/null "$T/out" "$T/err" --tls 127.0.0.1 0
	[ "$(sed -n 1p "$T/err" | sed 's/SHA256:[0-9A-F:]*/FP/')" = \
	    "sock: TLS certificate: FP (temporary, self-signed)" ]
	fp=$(sed -n 's/^sock: TLS certificate: SHA256:\([0-9A-F:]*\) .*/\1/p' "$T/err")
	[ "${#fp}" -eq 95 ]
	# The certificate a client gets has that fingerprint.
	timeout 10 openssl s_client -connect "127.0.0.1:$PORT" </dev/null 2>/dev/null |
	    openssl x509 -noout -fingerprint -sha256 >"$T/fp"
	got=$(sed 's/^[^=]*=//' "$T/fp")
	[ "$got" = "$fp" ]
}

@test "a listener with --tls-cert prints that certificate's fingerprint" {
	need_tls
	sock_listen /dev/null "$T/out" "$T/err" --tls --tls-cert "$C/server.pem" \
	    --tls-key "$C/server.key" 127.0.0.1 0
	has_line "$T/err" "sock: TLS certificate: SHA256:$(fingerprint "$C/server.pem") ($C/server.pem)"
}

@test "a listener given garbage instead of a handshake exits 1" {
	need_tls
	sock_listen /dev/null "$T/out" "$T/err" --tls 127.0.0.1 0
	peer_connect "$PORT" sendstr='GET / HTTP/1.0\r\n\r\n' eof_within=5
	wait_exit "$LPID" 10
	[ "$EXIT_STATUS" -eq 1 ]
	grep -q '^sock: TLS handshake with 127\.0\.0\.1 port [0-9]*: ' "$T/err"
}

@test "--tls-verify-client refuses a client without a certificate" {
	need_tls
	sock_listen /dev/null "$T/out" "$T/err" --tls --tls-verify-client \
	    --tls-ca "$C/ca.pem" --tls-cert "$C/server.pem" --tls-key "$C/server.key" 127.0.0.1 0
	timeout 10 openssl s_client -connect "127.0.0.1:$PORT" </dev/null >/dev/null 2>&1 || true
	wait_exit "$LPID" 10
	[ "$EXIT_STATUS" -eq 1 ]
	grep -q 'TLS handshake with .*certificate' "$T/err"
}

# ---------------------------------------------------------------- verification

@test "a server certificate from an unknown CA is exit 1: unknown issuer" {
	need_tls
	s_server -cert "$C/server.pem" -key "$C/server.key"
	run -1 --separate-stderr timeout 10 "$SOCK" --tls 127.0.0.1 "$SPORT" </dev/null
	[ "$stderr" = "sock: TLS handshake with 127.0.0.1 port $SPORT: certificate verification failed: unable to get local issuer certificate" ]
}

@test "an expired server certificate is exit 1: expired" {
	need_tls
	s_server -cert "$C/expired.pem" -key "$C/expired.key"
	run -1 --separate-stderr timeout 10 "$SOCK" --tls --tls-ca "$C/ca.pem" 127.0.0.1 "$SPORT" </dev/null
	[ "$stderr" = "sock: TLS handshake with 127.0.0.1 port $SPORT: certificate verification failed: certificate has expired" ]
}

@test "a name the certificate does not carry is exit 1: name mismatch" {
	need_tls
	s_server -cert "$C/server.pem" -key "$C/server.key"
	run -1 --separate-stderr timeout 10 "$SOCK" --tls --tls-ca "$C/ca.pem" \
	    --tls-servername www.example.com 127.0.0.1 "$SPORT" </dev/null
	[ "$stderr" = "sock: TLS handshake with 127.0.0.1 port $SPORT: certificate verification failed: hostname mismatch (the certificate is not for www.example.com)" ]
}

@test "an IP address is checked as an address" {
	need_tls
	s_server -cert "$C/server.pem" -key "$C/server.key"
	run -1 --separate-stderr timeout 10 "$SOCK" --tls --tls-ca "$C/ca.pem" \
	    --tls-servername 127.0.0.2 127.0.0.1 "$SPORT" </dev/null
	[[ $stderr == *'certificate verification failed: IP address mismatch (the certificate is not for 127.0.0.2)' ]]
}

@test "a pin mismatch is exit 1 and shows both fingerprints" {
	local want
	need_tls
	want=$(fingerprint "$C/ca.pem")
	s_server -cert "$C/server.pem" -key "$C/server.key"
	run -1 --separate-stderr timeout 10 "$SOCK" --tls --tls-pin "$want" 127.0.0.1 "$SPORT" </dev/null
	[ "$stderr" = "sock: TLS handshake with 127.0.0.1 port $SPORT: pin mismatch: peer certificate SHA256:$(fingerprint "$C/server.pem"), --tls-pin SHA256:$want" ]
}

@test "a server that says nothing is a handshake timeout under -w: exit 3" {
	local start ms
	need_tls
	peer_listen sleep=5
	start=$(date +%s%N)
	run -3 --separate-stderr timeout 10 "$SOCK" -w 0.5 --tls --tls-insecure 127.0.0.1 "$PPORT" </dev/null
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	[ "$stderr" = "sock: TLS handshake with 127.0.0.1 port $PPORT: $(errtext ETIMEDOUT)" ]
	[ "$ms" -le 3000 ]
}

@test "a server that answers with garbage is exit 1, at once" {
	need_tls
	peer_listen sendstr='HTTP/1.0 400 Bad Request\r\n\r\n' sleep=3
	run -1 --separate-stderr timeout 5 "$SOCK" --tls --tls-insecure 127.0.0.1 "$PPORT" </dev/null
	[[ $stderr == "sock: TLS handshake with 127.0.0.1 port $PPORT: "?* ]]
}

@test "a server that closes during the handshake is exit 1" {
	need_tls
	peer_listen shut_wr sleep=3
	run -1 --separate-stderr timeout 5 "$SOCK" --tls --tls-insecure 127.0.0.1 "$PPORT" </dev/null
	[ "$stderr" = "sock: TLS handshake with 127.0.0.1 port $PPORT: the peer closed the connection during the TLS handshake" ]
}

# ---------------------------------------------------------------- sessions
# These move data, so they need the relay to carry TLS.

@test "the pinned flow: sock -l --tls and sock --tls --tls-pin carry a file both ways" {
	local fp
	need_tls
	random_file "$T/up" 300000
	random_file "$T/down" 200000
	sock_listen "$T/down" "$T/out" "$T/err" --tls 127.0.0.1 0
	fp=$(sed -n 's/^sock: TLS certificate: \(SHA256:[0-9A-F:]*\) .*/\1/p' "$T/err")
	timeout 20 "$SOCK" -v --tls --tls-pin "$fp" 127.0.0.1 "$PORT" <"$T/up" >"$T/got" 2>"$T/cerr"
	stderr=$(cat "$T/cerr")
	wait_exit "$LPID" 10
	[ "$EXIT_STATUS" -eq 0 ]
	same_file "$T/up" "$T/out"
	same_file "$T/down" "$T/got"
	grep -Eq '^sock: TLS session: TLSv1\.[23], cipher [A-Z0-9_-]+, ALPN none$' <<<"$stderr"
	grep -qxF "sock: TLS peer certificate: $fp, subject \"CN=sock temporary certificate\"" <<<"$stderr"
}

@test "megabytes both ways at once over TLS arrive whole (records read ahead, writes partial)" {
	need_tls
	random_file "$T/up" 6000000
	random_file "$T/down" 5000000
	sock_listen "$T/down" "$T/out" "$T/err" --tls 127.0.0.1 0
	timeout 60 "$SOCK" --tls --tls-insecure 127.0.0.1 "$PORT" <"$T/up" >"$T/got"
	wait_exit "$LPID" 10
	[ "$EXIT_STATUS" -eq 0 ]
	same_file "$T/up" "$T/out"
	same_file "$T/down" "$T/got"
}

# slow_stdout_reads BYTES SECS LISTEN... -- READER...: a --tls listener
# (sock -v LISTEN...) writes to a FIFO that READER (reading $T/pipe into
# $T/out) drains slowly; a client sends BYTES and, within SECS, all of
# them are out while its connection stays open.
slow_stdout_reads() {
	local bytes=$1 secs=$2 listen=()
	shift 2
	while [ "$1" != -- ]; do
		listen+=("$1")
		shift
	done
	shift
	random_file "$T/big" "$bytes"
	open_feed "$T/cin"
	mkfifo "$T/pipe"
	bg "$@"
	bg sh -c 'p=$0 err=$1 out=$2; shift 3; exec "$p" -v "$@" </dev/null 2>"$err" >"$out"' \
	    "$SOCK" "$T/err" "$T/pipe" -- "${listen[@]}"
	wait_for 5 has_port_line "$T/err"
	PORT=$(port_from "$T/err")
	bg sh -c 'exec "$0" --tls --tls-insecure 127.0.0.1 "$1" <"$2" >/dev/null' \
	    "$SOCK" "$PORT" "$T/cin"
	timeout 10 sh -c 'cat "$0" >"$1"' "$T/big" "$T/cin"
	# All of it, before the client's stdin ends.
	wait_for "$secs" size_is "$T/out" "$bytes"
	same_file "$T/big" "$T/out"
	end_feed "$T/cin"
}

@test "records read ahead reach a slow stdout while the connection stays open" {
	need_tls
	# A reader of odd sizes: the relay's room for records keeps changing.
	slow_stdout_reads 1000000 10 -l --tls 127.0.0.1 0 -- \
	    sh -c 'exec dd bs=777 <"$0" >"$1" 2>/dev/null' "$T/pipe" "$T/out"
}

@test "-k --tls: records read ahead reach a slow stdout while the client's connection stays open" {
	need_tls
	need python3
	# A reader slower than the network (4 KiB a millisecond): the
	# server's queue for stdout fills, and it stops reading the client.
	slow_stdout_reads 3000000 20 -k -l --tls 127.0.0.1 0 -- \
	    python3 "$PEER_PY" slow-read "$T/pipe" "$T/out" 4096 0.001 "$T/count"
}

@test "-vv tells whether kernel TLS was taken; without it OpenSSL carries the data" {
	local want
	need_tls
	printf 'down\n' >"$T/down"
	# -v twice: sock_listen gives one.
	sock_listen "$T/down" "$T/out" "$T/err" -v --tls 127.0.0.1 0
	run -0 --separate-stderr timeout 20 "$SOCK" -vv --tls --tls-insecure 127.0.0.1 "$PORT" <<<up
	[ "$output" = down ]
	wait_exit "$LPID" 10
	[ "$EXIT_STATUS" -eq 0 ]
	[ "$(cat "$T/out")" = up ]
	if grep -qw tls /proc/sys/net/ipv4/tcp_available_ulp 2>/dev/null; then
		want='^sock: kernel TLS: (send (on|off), receive (on|off)|off \(not for this session.s version or cipher; OpenSSL encrypts\))$'
	else
		want='^sock: kernel TLS: off \(the kernel has no tls module; OpenSSL encrypts\)$'
	fi
	[ "$(grep -c '^sock: kernel TLS' <<<"$stderr")" -eq 1 ]
	grep -Eq "$want" <<<"$stderr"
	[ "$(grep -c '^sock: kernel TLS' "$T/err")" -eq 1 ]
	grep -Eq "$want" "$T/err"
}

@test "a verified client sends to openssl s_server and gets its answer" {
	need_tls
	# s_server's stdin stays open until the request is in: at the end of
	# its stdin it may close before reading what the client sent.
	open_feed "$T/sin"
	s_server -cert "$C/server.pem" -key "$C/server.key"
	feed "$T/sin" $'answer\n'
	printf 'request\n' >"$T/msg"
	run -0 --separate-stderr timeout 10 "$SOCK" -q 1 --tls --tls-ca "$C/ca.pem" localhost "$SPORT" <"$T/msg"
	[ "$output" = answer ]
	wait_for 5 has_text "$T/sout" request
	end_feed "$T/sin"
}

@test "ALPN: the listener picks from its list and -v shows it" {
	need_tls
	sock_listen /dev/null "$T/out" "$T/err" --tls --tls-alpn h2,http/1.1 127.0.0.1 0
	# -N: both stdins are empty, so one side must send its end first.
	run -0 --separate-stderr timeout 10 "$SOCK" -N -v --tls --tls-insecure \
	    --tls-alpn foo,http/1.1 127.0.0.1 "$PORT" </dev/null
	grep -Eq '^sock: TLS session: .*, ALPN http/1\.1$' <<<"$stderr"
	wait_exit "$LPID" 10
}

@test "a peer that cuts the connection without close_notify is exit 1: the tail may be missing" {
	need_tls
	need python3
	# A TLS server that sends a line, then a FIN with no close_notify
	# before it.
	peer_listen tls="$C/server.pem,$C/server.key" sendstr=$'part of it\n' cut
	run -1 --separate-stderr timeout 10 "$SOCK" --tls --tls-ca "$C/ca.pem" localhost "$PPORT" </dev/null
	[ "$output" = "part of it" ]
	[[ $stderr == *'connection closed without close_notify; the tail may be missing'* ]]
}

@test "a record cut short by the peer's close after whole ones: the whole ones out, then exit 1" {
	need_tls
	need python3
	# The server sends one write: a whole record, the start of another,
	# then its FIN; the client reads them ahead in one go.
	bg python3 "$PEER_PY" tls-torn "$C/server.pem" "$C/server.key" "$T/pport"
	wait_for 5 test -s "$T/pport"
	run -1 --separate-stderr timeout 10 "$SOCK" --tls --tls-ca "$C/ca.pem" localhost "$(cat "$T/pport")" </dev/null
	[ "$output" = "whole record" ]
	[[ $stderr == *'connection closed without close_notify; the tail may be missing'* ]]
}

@test "end of stdin sends close_notify, and s_client sees the whole file" {
	need_tls
	random_file "$T/file" 100000
	sock_listen "$T/file" "$T/out" "$T/err" --tls 127.0.0.1 0
	timeout 10 openssl s_client -quiet -connect "127.0.0.1:$PORT" </dev/null >"$T/got" 2>/dev/null || true
	same_file "$T/file" "$T/got"
	wait_exit "$LPID" 10
	[ "$EXIT_STATUS" -eq 0 ]
}

@test "-k --tls serves two clients, a session each" {
	need_tls
	sock_listen /dev/null "$T/out" "$T/err" -k --tls 127.0.0.1 0
	printf 'one\n' | timeout 10 "$SOCK" --tls --tls-insecure 127.0.0.1 "$PORT"
	printf 'two\n' | timeout 10 "$SOCK" --tls --tls-insecure 127.0.0.1 "$PORT"
	wait_for 5 has_line "$T/out" two
	has_line "$T/out" one
}

@test "-e over TLS: the program speaks plaintext, with SOCK_* describing the connection" {
	need_tls
	sock_listen /dev/null "$T/out" "$T/err" --tls -c 'echo "$SOCK_REMOTE_ADDR"; cat' 127.0.0.1 0
	local fp
	fp=$(sed -n 's/^sock: TLS certificate: \(SHA256:[0-9A-F:]*\) .*/\1/p' "$T/err")
	printf 'ping\n' >"$T/msg"
	run -0 --separate-stderr timeout 10 "$SOCK" --tls --tls-pin "$fp" 127.0.0.1 "$PORT" <"$T/msg"
	[ "$output" = $'127.0.0.1\nping' ]
	wait_exit "$LPID" 10
	[ "$EXIT_STATUS" -eq 0 ]
}

@test "-k --tls: a client that stalls its handshake does not stall the next one" {
	need_tls
	need python3
	sock_listen /dev/null "$T/out" "$T/err" -k --tls 127.0.0.1 0
	# A TCP client that connects and sends nothing, held open meanwhile.
	peer_connect "$PORT" sleep=30
	wait_for 5 has_text "$T/err" "connection from"
	printf 'second\n' | timeout 10 "$SOCK" --tls --tls-insecure 127.0.0.1 "$PORT"
	wait_for 5 has_line "$T/out" second
}

@test "-k -e over TLS: a sock process per client, the program's plaintext relayed" {
	need_tls
	sock_listen /dev/null "$T/out" "$T/err" -k --tls -e cat 127.0.0.1 0
	local fp word
	fp=$(sed -n 's/^sock: TLS certificate: \(SHA256:[0-9A-F:]*\) .*/\1/p' "$T/err")
	# (Not "i": bats' run uses that name.)
	for word in one two; do
		printf '%s\n' "$word" >"$T/msg"
		run -0 --separate-stderr timeout 10 "$SOCK" --tls --tls-pin "$fp" 127.0.0.1 "$PORT" <"$T/msg"
		[ "$output" = "$word" ]
	done
	# The server is still there for a third.
	kill -0 "$LPID"
}

# ---------------------------------------------------------------- forwarding

# tls_fwd_start ARGS...: start "sock -v -l ARGS 127.0.0.1 0" with the
# server certificate (stderr $T/fwd.err); sets FPORT and FPID.
tls_fwd_start() {
	sock_server FPORT FPID /dev/null /dev/null "$T/fwd.err" --tls \
	    --tls-cert "$C/server.pem" --tls-key "$C/server.key" "$@" 127.0.0.1 0
}

@test "TLS termination: --tls --forward in front of a plaintext service, for curl and s_client, a stalled handshake stalling nobody" {
	need_tls
	need curl
	need python3
	origin_start
	tls_fwd_start -k --forward "127.0.0.1:$OPORT"
	# A TCP client that connects and never starts its handshake.
	peer_connect "$FPORT" sleep=30
	wait_for 5 has_text "$T/fwd.err" "connection from"
	run -0 curl -sS --max-time 5 --cacert "$C/ca.pem" "https://localhost:$FPORT/"
	[ "$output" = origin ]
	printf 'GET /s_client HTTP/1.0\r\n\r\n' >"$T/req"
	run -0 timeout 10 openssl s_client -quiet -verify_return_error \
	    -CAfile "$C/ca.pem" -connect "127.0.0.1:$FPORT" <"$T/req"
	[[ "$output" == *origin ]]
	grep -q '^GET /s_client HTTP/1.0' "$T"/head.*
	# The origin saw plaintext; the forwarder says what the clients agreed.
	grep -q '^sock: 127.0.0.1 port [0-9]*: TLS session: TLSv1\.[23], cipher ' "$T/fwd.err"
	kill -0 "$FPID"
}

@test "TLS termination: a client that never finishes its handshake is exit 3 under -w" {
	need_tls
	need python3
	sock_listen /dev/null "$T/target.got" "$T/target.err" 127.0.0.1 0
	tls_fwd_start -w 1 --forward "127.0.0.1:$PORT"
	peer_connect "$FPORT" sleep=30
	wait_exit "$FPID" 5
	[ "$EXIT_STATUS" -eq 3 ]
	grep -q "^sock: TLS handshake with 127.0.0.1 port [0-9]*: $(errtext ETIMEDOUT)$" "$T/fwd.err"
	# The target was never bothered.
	kill -0 "$LPID"
}

@test "the reverse tunnel over TLS: sock --tls connects out, verifies, and forwards to a local service" {
	need_tls
	open_feed "$T/sin"
	s_server -cert "$C/server.pem" -key "$C/server.key"
	printf 'from the service\n' >"$T/svc.in"
	sock_listen "$T/svc.in" "$T/svc.got" "$T/svc.err" 127.0.0.1 0
	sock_bg /dev/null "$T/tun.out" "$T/err" -v --tls --tls-ca "$C/ca.pem" \
	    localhost "$SPORT" --forward "127.0.0.1:$PORT"
	feed "$T/sin" $'from the far end\n'
	wait_for 5 has_line "$T/svc.got" "from the far end"
	wait_for 5 has_text "$T/sout" "from the service"
	end_feed "$T/sin"
	wait_exit "$SPID" 10
	[ "$EXIT_STATUS" -eq 0 ] || { cat "$T/err" >&2; return 1; }
	grep -q '^sock: 127\.0\.0\.1 port [0-9]*: TLS session: ' "$T/err"
	grep -q '^sock: 127\.0\.0\.1 port [0-9]*: TLS peer certificate: SHA256:.*, subject "CN=localhost"$' "$T/err"
}

@test "a TLS proxy server: curl -x https:// with --proxy-cacert" {
	need_tls
	need curl
	need python3
	curl --version | grep -q 'HTTPS-proxy' || skip "curl has no HTTPS-proxy support"
	origin_start
	tls_fwd_start -k --proxy-server
	run -0 curl -sS --max-time 5 -x "https://localhost:$FPORT" \
	    --proxy-cacert "$C/ca.pem" "http://127.0.0.1:$OPORT/tls-proxy"
	[ "$output" = origin ]
	grep -q '^GET /tls-proxy HTTP/1.1' "$T"/head.*
}
