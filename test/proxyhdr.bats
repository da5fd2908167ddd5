# SPDX-License-Identifier: ISC
# Sending the PROXY protocol header (sock(1), "Service managers",
# --send-proxy, --send-proxy-v2): byte for byte to a peer that records it,
# and to the servers that read it (haproxy's accept-proxy, nginx's
# proxy_protocol), which must log the client's own address.
# helper.bash and sock_server set PPORT and FPORT (SC2153); bg runs the
# command it is given, whose stdin the redirections are for (SC2217).
# shellcheck disable=SC2153,SC2217

load helper
bats_require_minimum_version 1.5.0

# fwd_start ARGS...: a -v forwarder on 127.0.0.1 port 0 (FPORT, FPID).
fwd_start() {
	sock_server FPORT FPID /dev/null "$T/fwd.out" "$T/fwd.err" "$@"
}

# client_port: the port of the forwarder's last client, from its -v line.
client_port() {
	sed -n 's/^sock: connection from 127\.0\.0\.1 port \([0-9]*\) (tcp)$/\1/p' \
	    "$T/fwd.err" | tail -n 1
}

@test "--forward --send-proxy: the target gets a v1 line with the client's address and the one it reached, then the data" {
	need python3
	peer_listen recv_all="$T/got"
	fwd_start -k 127.0.0.1 0 --forward "127.0.0.1:$PPORT" --send-proxy
	printf 'payload\n' | timeout 5 "$SOCK" -q 0 127.0.0.1 "$FPORT"
	peer_ok
	printf 'PROXY TCP4 127.0.0.1 127.0.0.1 %s %s\r\npayload\n' \
	    "$(client_port)" "$FPORT" >"$T/want"
	cmp "$T/want" "$T/got"
	# The header is not the client's: -v counts only what it sent.
	wait_for 5 grep -q ': 8 bytes up, 0 bytes down$' "$T/fwd.err"
}

@test "--forward --send-proxy-v2: a v2 header (PROXY command, TCP over IPv4), then the data" {
	need python3
	peer_listen recv_all="$T/got"
	fwd_start -k 127.0.0.1 0 --forward "127.0.0.1:$PPORT" --send-proxy-v2
	printf 'payload\n' | timeout 5 "$SOCK" -q 0 127.0.0.1 "$FPORT"
	peer_ok
	{
		printf '\r\n\r\n\0\r\nQUIT\n\041\021\0\014'
		printf '\177\0\0\1\177\0\0\1'
		printf '%04x%04x' "$(client_port)" "$FPORT" | xxd -r -p
		printf 'payload\n'
	} >"$T/want"
	cmp "$T/want" "$T/got"
}

@test "--send-proxy over IPv6 says TCP6, and a Unix client UNKNOWN (v1) or LOCAL (v2)" {
	need python3
	python3 "$PEER_PY" can ipv6 || skip "no IPv6 loopback"
	peer_listen recv_all="$T/got"
	sock_server FPORT FPID /dev/null "$T/fwd.out" "$T/fwd.err" -k ::1 0 \
	    --forward "127.0.0.1:$PPORT" --send-proxy
	printf 'six\n' | timeout 5 "$SOCK" -q 0 ::1 "$FPORT"
	peer_ok
	grep -aEq '^PROXY TCP6 ::1 ::1 [0-9]+ '"$FPORT"$'\r$' "$T/got"
	peer_listen recv_all="$T/got1"
	bg "$SOCK" -U -l -k "$T/s" --forward "127.0.0.1:$PPORT" --send-proxy \
	    </dev/null >/dev/null 2>&1
	wait_for 5 test -S "$T/s"
	printf 'local\n' | timeout 5 "$SOCK" -q 0 -U "$T/s"
	peer_ok
	printf 'PROXY UNKNOWN\r\nlocal\n' | cmp - "$T/got1"
	peer_listen recv_all="$T/got2"
	bg "$SOCK" -U -l -k "$T/s2" --forward "127.0.0.1:$PPORT" --send-proxy-v2 \
	    </dev/null >/dev/null 2>&1
	wait_for 5 test -S "$T/s2"
	printf 'local\n' | timeout 5 "$SOCK" -q 0 -U "$T/s2"
	peer_ok
	{ printf '\r\n\r\n\0\r\nQUIT\n\040\0\0\0'; printf 'local\n'; } | cmp - "$T/got2"
}

@test "--proxy-server --send-proxy: the header goes ahead of a SOCKS5 client's data and of an HTTP request's head" {
	need python3
	peer_listen recv_all="$T/got"
	fwd_start -k 127.0.0.1 0 --proxy-server --send-proxy
	printf 'socks data\n' | timeout 5 "$SOCK" -q 0 -x "socks5://127.0.0.1:$FPORT" 127.0.0.1 "$PPORT"
	peer_ok
	printf 'PROXY TCP4 127.0.0.1 127.0.0.1 %s %s\r\nsocks data\n' \
	    "$(client_port)" "$FPORT" | cmp - "$T/got"
	peer_listen recv_all="$T/got2"
	printf 'GET http://127.0.0.1:%s/ HTTP/1.0\r\n\r\n' "$PPORT" |
		timeout 5 "$SOCK" -q 0 127.0.0.1 "$FPORT" >/dev/null
	peer_ok
	head -c 6 "$T/got2" | grep -q '^PROXY '
	grep -aq '^GET / HTTP/1.0' "$T/got2"
}

@test "connect mode --send-proxy: the header describes sock's own connection, then stdin follows" {
	need python3
	peer_listen peer="$T/peer" recv_all="$T/got"
	printf 'mine\n' | timeout 5 "$SOCK" -q 0 --send-proxy 127.0.0.1 "$PPORT"
	peer_ok
	# The peer saw sock come from the port the header names.
	read -r _ sport <"$T/peer"
	printf 'PROXY TCP4 127.0.0.1 127.0.0.1 %s %s\r\nmine\n' "$sport" "$PPORT" |
		cmp - "$T/got"
}

@test "--send-proxy and --send-proxy-v2: usage errors where no header can go" {
	run -2 --separate-stderr "$SOCK" --send-proxy --send-proxy-v2 127.0.0.1 9
	[ "${stderr_lines[0]}" = "sock: --send-proxy cannot be used with --send-proxy-v2" ]
	run -2 --separate-stderr "$SOCK" -u --send-proxy 127.0.0.1 9
	[ "${stderr_lines[0]}" = "sock: --send-proxy cannot be used with -u" ]
	run -2 --separate-stderr "$SOCK" -z --send-proxy-v2 127.0.0.1 9
	[ "${stderr_lines[0]}" = "sock: --send-proxy-v2 cannot be used with -z" ]
	run -2 --separate-stderr "$SOCK" -l --send-proxy 9190
	[ "${stderr_lines[0]}" = "sock: --send-proxy cannot be used with -l (except with --forward or --proxy-server)" ]
}

@test "haproxy's accept-proxy in front of a backend takes sock's v1 and v2 headers: its log has the client's address" {
	need python3
	local v cport
	for v in --send-proxy --send-proxy-v2; do
		peer_listen recv_all="$T/got"
		haproxy_receiver
		fwd_start -k 127.0.0.1 0 --forward "127.0.0.1:$HPORT" "$v"
		printf 'via haproxy\n' | timeout 5 "$SOCK" -q 0 127.0.0.1 "$FPORT"
		peer_ok
		[ "$(cat "$T/got")" = "via haproxy" ]
		cport=$(client_port)
		wait_for 5 grep -Fq "client=127.0.0.1:$cport to=127.0.0.1:$FPORT" "$T/hap.log"
		common_teardown
	done
}

@test "nginx's proxy_protocol listener logs the address from sock's header" {
	need nginx
	local nport
	nport=$(free_port)
	mkdir -p "$T/ng"
	cat >"$T/ng/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $T/ng/pid;
error_log $T/ng/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $T/ng;
  proxy_temp_path $T/ng;
  fastcgi_temp_path $T/ng;
  uwsgi_temp_path $T/ng;
  scgi_temp_path $T/ng;
  log_format pp 'pp=\$proxy_protocol_addr:\$proxy_protocol_port';
  server {
    listen 127.0.0.1:$nport proxy_protocol;
    access_log $T/ng/access.log pp;
    location / { return 200 "ok\n"; }
  }
}
EOF
	bg nginx -c "$T/ng/nginx.conf" -p "$T/ng"
	wait_for 5 python3 "$PEER_PY" can connect "$nport"
	printf 'GET / HTTP/1.0\r\n\r\n' >"$T/req"
	run -0 --separate-stderr timeout 5 "$SOCK" -q 2 --send-proxy-v2 127.0.0.1 "$nport" <"$T/req"
	[[ "$output" == *"ok"* ]]
	wait_for 5 grep -Eq "^pp=127\.0\.0\.1:[0-9]+$" "$T/ng/access.log" || { cat "$T/ng/error.log" "$T/ng/access.log" >&2; false; }
}
