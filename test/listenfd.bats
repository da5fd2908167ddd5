# SPDX-License-Identifier: ISC
# Inherited listening sockets (sock(1), "Service managers", --listen-fd):
# a socket passed by the caller (peer.py bound) or by systemd's socket
# activation (systemd-socket-activate, which sets LISTEN_FDS, LISTEN_PID
# and LISTEN_FDNAMES as systemd does), served instead of one sock binds.
# helper.bash sets PPORT and the like (SC2153); bg runs the command it is
# given, whose stdin the redirections are for (SC2217); the -c programs'
# $ are theirs to expand (SC2016).
# shellcheck disable=SC2016,SC2153,SC2217

load helper
bats_require_minimum_version 1.5.0

# bound_sock KIND FD ARGS...: sock -v ARGS with a KIND socket as FD (peer.py
# bound), its stdin /dev/null, stdout $T/out, stderr $T/err; sets PORT
# (TCP and UDP) once the -v line is there, and LPID.
bound_sock() {
	local kind=$1 fd=$2
	shift 2
	bg python3 "$PEER_PY" bound "$kind" "$fd" "$SOCK" -v "$@" \
	    </dev/null >"$T/out" 2>"$T/err"
	LPID=$BG_PID
	wait_for 5 grep -q '^sock: listening on ' "$T/err"
	PORT=$(port_from "$T/err")
}

@test "--listen-fd serves a listening TCP socket it was passed, and -v names the descriptor" {
	need python3
	bound_sock tcp 5 -l --listen-fd 5
	grep -Eq '^sock: listening on 127\.0\.0\.1 port [0-9]+ \(tcp, descriptor 5\)$' "$T/err"
	printf 'through fd 5\n' | timeout 5 "$SOCK" -q 0 127.0.0.1 "$PORT"
	wait_exit "$LPID" 5
	[ "$EXIT_STATUS" -eq 0 ]
	[ "$(cat "$T/out")" = "through fd 5" ]
}

@test "--listen-fd with -k --forward: each client of the passed socket is forwarded" {
	need python3
	peer_listen sendstr=forwarded close
	bound_sock tcp 7 -l -k --listen-fd 7 --forward "127.0.0.1:$PPORT"
	run -0 --separate-stderr timeout 5 "$SOCK" 127.0.0.1 "$PORT" </dev/null
	[ "$output" = forwarded ]
}

@test "--listen-fd with -u serves a bound UDP socket" {
	need python3
	bound_sock udp 6 -u -l --listen-fd 6
	grep -Eq '^sock: listening on 127\.0\.0\.1 port [0-9]+ \(udp, descriptor 6\)$' "$T/err"
	printf 'datagram\n' | timeout 5 "$SOCK" -u -q 0.2 127.0.0.1 "$PORT" || true
	wait_for 5 grep -q datagram "$T/out"
}

@test "--listen-fd with -U -k serves a Unix stream socket, and leaves its file alone" {
	need python3
	bound_sock "unix:$T/s" 4 -U -l -k --listen-fd 4
	grep -Fxq "sock: listening on $T/s (unix, descriptor 4)" "$T/err"
	printf 'one\n' | timeout 5 "$SOCK" -q 0 -U "$T/s"
	printf 'two\n' | timeout 5 "$SOCK" -q 0 -U "$T/s"
	wait_for 5 grep -q two "$T/out"
	kill -TERM "$LPID"
	wait_exit "$LPID" 5
	[ -S "$T/s" ]
	[ "$(sort "$T/out" | tr '\n' ' ')" = "one two " ]
}

@test "--listen-fd refuses a descriptor that is not a socket of the kind asked for" {
	need python3
	run -2 --separate-stderr "$SOCK" -l --listen-fd 9
	[ "${stderr_lines[0]}" = "sock: --listen-fd 9: not an open descriptor" ]
	run -2 --separate-stderr "$SOCK" -l --listen-fd 0 </dev/null
	[ "${stderr_lines[0]}" = "sock: --listen-fd 0: not a socket" ]
	run -2 --separate-stderr python3 "$PEER_PY" bound connected 5 "$SOCK" -l --listen-fd 5
	[ "${stderr_lines[0]}" = "sock: --listen-fd 5: not a listening TCP socket" ]
	run -2 --separate-stderr python3 "$PEER_PY" bound tcp-bound 5 "$SOCK" -l --listen-fd 5
	[ "${stderr_lines[0]}" = "sock: --listen-fd 5: not a listening TCP socket" ]
	run -2 --separate-stderr python3 "$PEER_PY" bound udp 5 "$SOCK" -l --listen-fd 5
	[ "${stderr_lines[0]}" = "sock: --listen-fd 5: not a listening TCP socket" ]
	run -2 --separate-stderr python3 "$PEER_PY" bound tcp 5 "$SOCK" -u -l --listen-fd 5
	[ "${stderr_lines[0]}" = "sock: --listen-fd 5: not a bound UDP socket" ]
	run -2 --separate-stderr python3 "$PEER_PY" bound tcp 5 "$SOCK" -U -l --listen-fd 5
	[ "${stderr_lines[0]}" = "sock: --listen-fd 5: not a listening Unix stream socket" ]
}

@test "--listen-fd takes no port or path, nor -p or -s, and needs -l" {
	run -2 --separate-stderr "$SOCK" -l --listen-fd 3 9190
	[ "${stderr_lines[0]}" = "sock: --listen-fd and a port operand cannot both be given" ]
	run -2 --separate-stderr "$SOCK" -U -l --listen-fd 3 "$T/s"
	[ "${stderr_lines[0]}" = "sock: --listen-fd and a path operand cannot both be given" ]
	run -2 --separate-stderr "$SOCK" -l --listen-fd 3 -p 9190
	[[ ${stderr_lines[0]} == "sock: --listen-fd cannot be used with -p"* ]]
	run -2 --separate-stderr "$SOCK" --listen-fd 3 127.0.0.1 9190
	[ "${stderr_lines[0]}" = "sock: --listen-fd needs -l" ]
	run -2 --separate-stderr "$SOCK" -l --listen-fd web
	[ "${stderr_lines[0]}" = 'sock: invalid --listen-fd value "web": no socket of that name was passed (LISTEN_FDNAMES)' ]
}

# activate ARGS...: systemd-socket-activate ARGS in the background, its
# output to $T/out and $T/err (its own lines, then sock's); sets LPID.
activate() {
	need systemd-socket-activate
	bg systemd-socket-activate "$@" </dev/null >"$T/out" 2>"$T/err"
	LPID=$BG_PID
	wait_for 5 grep -q '^Listening on ' "$T/err"
}

@test "systemd socket activation: -l -k without a port serves descriptor 3, and programs do not see LISTEN_*" {
	need python3
	APORT=$(free_port)
	activate -l "127.0.0.1:$APORT" "$SOCK" -v -l -k -c 'echo "fds=${LISTEN_FDS-unset} pid=${LISTEN_PID-unset}"'
	run -0 --separate-stderr timeout 5 "$SOCK" 127.0.0.1 "$APORT" </dev/null
	[ "$output" = "fds=unset pid=unset" ]
	grep -Fxq "sock: listening on 127.0.0.1 port $APORT (tcp, descriptor 3)" "$T/err"
	run -0 --separate-stderr timeout 5 "$SOCK" 127.0.0.1 "$APORT" </dev/null
	[ "$output" = "fds=unset pid=unset" ]
}

@test "systemd socket activation: --listen-fd NAME serves the socket of that FileDescriptorName" {
	need python3
	APORT=$(free_port)
	activate -l "127.0.0.1:$APORT" --fdname=web "$SOCK" -v -l -k --listen-fd web
	printf 'named\n' | timeout 5 "$SOCK" -q 0 127.0.0.1 "$APORT"
	wait_for 5 grep -q named "$T/out"
	grep -Fxq "sock: listening on 127.0.0.1 port $APORT (tcp, descriptor 3)" "$T/err"
}

@test "systemd socket activation of a Unix socket: -U -l -k without a path" {
	activate -l "$T/act.sock" "$SOCK" -v -U -l -k
	printf 'over unix\n' | timeout 5 "$SOCK" -q 0 -U "$T/act.sock"
	wait_for 5 grep -q 'over unix' "$T/out"
	grep -Fxq "sock: listening on $T/act.sock (unix, descriptor 3)" "$T/err"
}
