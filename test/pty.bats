#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Terminals (sock(1), "Terminals"): --pty runs the -e/-c program on a new
# pseudo-terminal; --raw puts a terminal stdin in raw mode, with ~. to
# end. The local side is a real terminal: peer.py term runs the client on
# a pseudo-terminal of its own and types at it as a person would.
# shellcheck disable=SC2016,SC2153,SC2154
# SC2016: -c strings and the typed text are meant for the remote shell,
# not for bats. SC2153/SC2154: T, SOCK, PORT, LPID, BG_PID, EXIT_STATUS
# come from helper.bash (loaded by bats' load, which shellcheck cannot
# follow); output and stderr from bats' run.

load helper
bats_require_minimum_version 1.5.0

# The remote shell: dash or bash, interactive on its terminal, with a
# prompt the tests wait for.
SHELL_CMD='PS1="SH> " exec /bin/sh -i'

setup() {
	common_setup
	need python3
}

# term STEP... -- CMD...: peer.py term (its docstring lists the steps),
# bounded; output in $output.
term() {
	run timeout 90 python3 "$PEER_PY" term "$@"
	# Shown only if the test fails: what the terminal saw, and why.
	printf '%s\n' "$output"
}

# shell_server [ARGS...]: a --pty shell listener on 127.0.0.1 (PORT, LPID),
# stderr in $T/serr.
shell_server() {
	sock_listen /dev/null "$T/sout" "$T/serr" 127.0.0.1 0 --pty \
	    -c "$SHELL_CMD" "$@"
}

# ------------------------------------------------------------- --pty

@test "--pty: the program's terminal is a /dev/pts with a sane mode and an 80x24 window" {
	shell_server
	term 'expect:SH> ' 'send:tty\r' 'expect:/dev/pts/' 'expect:SH> ' \
	    'send:stty -a\r' 'expect:SH> ' 'send:exit\r' \
	    -- "$SOCK" --raw 127.0.0.1 "$PORT"
	[ "$status" -eq 0 ]
	[[ $output =~ /dev/pts/[0-9]+ ]]
	[[ $output == *"rows 24; columns 80"* ]]
	[[ $output == *"-ignbrk brkint"* ]]
	[[ $output == *" icrnl ixon"* ]]
	[[ $output == *"opost"*"onlcr"* ]]
	[[ $output == *"isig icanon iexten echo echoe echok"* ]]
	[[ $output == *"intr = ^C"*"susp = ^Z"* ]]
	# The program left: the client is done (exit 0), its terminal as it was.
	[[ $output == *"MODE restored"* ]]
	[[ $output == *"EXIT 0"* ]]
	wait_exit "$LPID" 10
	[ "$EXIT_STATUS" -eq 0 ]
	grep -q '^sock: program [0-9]* for 127.0.0.1 port [0-9]* exited with status 0$' "$T/serr"
}

@test "--pty: a ^C byte interrupts the remote command, and the shell goes on" {
	shell_server
	# "go-sleep" is printed by the command, not echoed: sleep is then the
	# terminal's foreground job, which ^C must reach.
	term 'expect:SH> ' \
	    "send:sh -c 'printf \"%s-%s\\\\n\" go sleep; exec sleep 100'\\r" \
	    'expect:go-sleep' 'send:\x03' 'expect:SH> ' \
	    'send:echo alive-$((40+2))\r' 'expect:alive-42' 'send:exit\r' \
	    -- "$SOCK" --raw 127.0.0.1 "$PORT"
	[ "$status" -eq 0 ]
	[[ $output == *"EXIT 0"* ]]
	wait_exit "$LPID" 10
	[ "$EXIT_STATUS" -eq 0 ]
}

@test "--pty: the program's last output arrives when it exits, and its status is sock's" {
	sock_listen /dev/null "$T/sout" "$T/serr" 127.0.0.1 0 --pty \
	    -c 'echo first; printf last; exit 3'
	run timeout 10 "$SOCK" 127.0.0.1 "$PORT" </dev/null
	[ "$status" -eq 0 ]
	[ "$output" = $'first\r\nlast' ]
	wait_exit "$LPID" 10
	[ "$EXIT_STATUS" -eq 3 ]
	grep -q 'exited with status 3$' "$T/serr"
}

@test "--pty: no client loses the program's last bytes (-k, 20 clients)" {
	local i
	sock_listen /dev/null "$T/sout" "$T/serr" -k 127.0.0.1 0 --pty \
	    -c 'head -c 3000 /dev/zero | tr "\0" x; printf " last"'
	for i in $(seq 20); do
		timeout 10 "$SOCK" 127.0.0.1 "$PORT" </dev/null >"$T/got" || {
			echo "client $i failed" >&2
			return 1
		}
		[ "$(wc -c <"$T/got")" -eq 3005 ]
		[ "$(tail -c 5 "$T/got")" = " last" ]
	done
}

@test "--pty: a peer still sending when the program exits gets its last output, not a reset" {
	# The program waits for the first byte of the 20 MB, so the peer is
	# sending when it exits: a program that had not yet run when the last
	# byte came would get the peer's hangup first, as it should.
	sock_listen /dev/null "$T/sout" "$T/serr" 127.0.0.1 0 --pty \
	    -c 'stty -icanon min 1; head -c 1 >/dev/null; printf last'
	head -c 20000000 /dev/zero >"$T/zeros"
	run --separate-stderr timeout 20 "$SOCK" 127.0.0.1 "$PORT" <"$T/zeros"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	# What comes back is the terminal's echo of the zeros, and "last".
	[[ $output == *last* ]]
	wait_exit "$LPID" 10
	[ "$EXIT_STATUS" -eq 0 ]
}

@test "--pty: when the peer closes, the program's session gets SIGHUP" {
	shell_server
	term 'expect:SH> ' 'send:~.' -- "$SOCK" --raw 127.0.0.1 "$PORT"
	[ "$status" -eq 0 ]
	wait_exit "$LPID" 10
	# The shell died of the hangup: 128 + SIGHUP.
	[ "$EXIT_STATUS" -eq 129 ]
	grep -q 'exited with status 129$' "$T/serr"
}

@test "--pty in connect mode: the program's terminal goes to the listener" {
	sock_listen /dev/null "$T/got" "$T/serr" 127.0.0.1 0
	run timeout 10 "$SOCK" --pty -c 'tty; printf last' 127.0.0.1 "$PORT"
	[ "$status" -eq 0 ]
	wait_exit "$LPID" 10
	[ "$EXIT_STATUS" -eq 0 ]
	local want='^/dev/pts/[0-9]+'$'\r\n''last$'
	[[ $(cat "$T/got") =~ $want ]]
}

@test "--pty -k: each client gets a terminal of its own" {
	sock_listen /dev/null "$T/sout" "$T/serr" -k 127.0.0.1 0 --pty \
	    -c 'tty; exec cat'
	open_feed "$T/in1"
	bg sh -c 'exec "$0" -N 127.0.0.1 "$1" <"$2" >"$3"' "$SOCK" "$PORT" \
	    "$T/in1" "$T/out1"
	local c1=$BG_PID
	wait_for 10 grep -q '^/dev/pts/' "$T/out1"
	open_feed "$T/in2"
	bg sh -c 'exec "$0" -N 127.0.0.1 "$1" <"$2" >"$3"' "$SOCK" "$PORT" \
	    "$T/in2" "$T/out2"
	local c2=$BG_PID
	wait_for 10 grep -q '^/dev/pts/' "$T/out2"
	# Both programs run at once, each on its own terminal.
	[ "$(head -n 1 "$T/out1")" != "$(head -n 1 "$T/out2")" ]
	# The end of a client's input is a hangup for its program only.
	end_feed "$T/in1"
	wait_exit "$c1" 10
	[ "$EXIT_STATUS" -eq 0 ]
	kill -0 "$c2"
	end_feed "$T/in2"
	wait_exit "$c2" 10
	[ "$EXIT_STATUS" -eq 0 ]
	kill -0 "$LPID"
}

@test "--pty works over --tls" {
	if "$SOCK" --tls --tls-insecure 127.0.0.1 1 </dev/null 2>&1 |
	    grep -q 'built without TLS'; then
		skip "sock was built without TLS"
	fi
	sock_listen /dev/null "$T/sout" "$T/serr" --tls 127.0.0.1 0 --pty \
	    -c 'tty; printf last; exit 3'
	run timeout 10 "$SOCK" --tls --tls-insecure 127.0.0.1 "$PORT" </dev/null
	[ "$status" -eq 0 ]
	local want='^/dev/pts/[0-9]+'$'\r\n''last$'
	[[ $output =~ $want ]]
	wait_exit "$LPID" 10
	[ "$EXIT_STATUS" -eq 3 ]
}

@test "--pty: TERM comes from sock's environment, xterm when it is unset" {
	env -u TERM "$SOCK" -v -l 127.0.0.1 0 --pty -c 'printf "%s" "$TERM"' \
	    </dev/null >/dev/null 2>"$T/e1" 3>&- &
	PIDS+=("$!")
	wait_for 5 has_port_line "$T/e1"
	run timeout 10 "$SOCK" 127.0.0.1 "$(port_from "$T/e1")" </dev/null
	[ "$output" = xterm ]
	TERM=vt100 "$SOCK" -v -l 127.0.0.1 0 --pty -c 'printf "%s" "$TERM"' \
	    </dev/null >/dev/null 2>"$T/e2" 3>&- &
	PIDS+=("$!")
	wait_for 5 has_port_line "$T/e2"
	run timeout 10 "$SOCK" 127.0.0.1 "$(port_from "$T/e2")" </dev/null
	[ "$output" = vt100 ]
}

@test "--pty: the program keeps the SOCK_* variables" {
	sock_listen /dev/null "$T/sout" "$T/serr" 127.0.0.1 0 --pty \
	    -c 'printf "%s %s" "$SOCK_PROTO" "$SOCK_LOCAL_PORT"'
	run timeout 10 "$SOCK" 127.0.0.1 "$PORT" </dev/null
	[ "$output" = "tcp $PORT" ]
}

# ------------------------------------------------------------- --raw

@test "--raw: ~. ends the session with exit 0, the terminal raw until then and restored after" {
	shell_server
	term 'expect:SH> ' mode 'send:~.' -- "$SOCK" -v --raw 127.0.0.1 "$PORT"
	[ "$status" -eq 0 ]
	[[ $output == *"MODE raw"* ]]
	[[ $output == *"sock: --raw: escape character is '~': ~. at the start of a line ends the session, ~~ sends ~"* ]]
	[[ $output == *"sock: --raw: window 24 rows 80 columns (on the other side: stty rows 24 cols 80)"* ]]
	[[ $output == *"MODE restored"* ]]
	[[ $output == *"EXIT 0"* ]]
}

@test "--raw: ~~ sends one ~, and a ~ elsewhere goes as typed" {
	sock_listen /dev/null "$T/got" "$T/serr" 127.0.0.1 0
	term raw 'send:a~~b\r~~c\r~x\r~' 'send:~\r' 'send:~.' \
	    -- "$SOCK" --raw 127.0.0.1 "$PORT"
	[ "$status" -eq 0 ]
	[[ $output == *"EXIT 0"* ]]
	wait_exit "$LPID" 10
	[ "$EXIT_STATUS" -eq 0 ]
	[ "$(cat "$T/got")" = $'a~~b\r~c\r~x\r~\r' ]
}

@test "--raw: ^C, ^Z and ^\\ go to the peer as bytes" {
	sock_listen /dev/null "$T/got" "$T/serr" 127.0.0.1 0
	term raw 'send:\x03\x1a\x1c\x04' 'send:\r~.' \
	    -- "$SOCK" --raw 127.0.0.1 "$PORT"
	[ "$status" -eq 0 ]
	[[ $output == *"EXIT 0"* ]]
	wait_exit "$LPID" 10
	[ "$(od -An -tx1 "$T/got" | tr -d ' \n')" = 031a1c040d ]
}

@test "--raw: SIGTERM, SIGHUP and SIGINT from another process give the terminal its mode back" {
	local sig
	shell_server -k
	for sig in TERM HUP INT; do
		term 'expect:SH> ' mode "kill:$sig" \
		    -- "$SOCK" --raw 127.0.0.1 "$PORT"
		[ "$status" -eq 0 ]
		[[ $output == *"MODE raw"* ]]
		[[ $output == *"MODE restored"* ]]
		# sock died of the signal, as the shell should see.
		[[ $output == *"EXIT -"* ]]
	done
}

@test "--raw: stopped by SIGTSTP, sock gives the terminal its mode back, and takes raw mode again when continued" {
	shell_server
	term 'expect:SH> ' mode kill:TSTP stopped mode kill:CONT raw \
	    'send:echo x-$((1+2))\r' 'expect:x-3' 'send:~.' \
	    -- "$SOCK" --raw 127.0.0.1 "$PORT"
	[ "$status" -eq 0 ]
	[[ $output == *"MODE raw"*"MODE cooked"* ]]
	[[ $output == *"MODE restored"* ]]
	[[ $output == *"EXIT 0"* ]]
}

@test "--raw: the terminal's mode is restored when the peer resets the connection" {
	shell_server
	term 'expect:SH> ' mode "send:kill -9 \$PPID\\r" \
	    -- "$SOCK" --raw 127.0.0.1 "$PORT"
	[ "$status" -eq 0 ]
	[[ $output == *"MODE raw"* ]]
	[[ $output == *"MODE restored"* ]]
}

@test "--raw: the terminal's mode is restored when sock crashes, and sock dies of the signal" {
	shell_server
	term 'expect:SH> ' mode 'kill:SEGV' -- "$SOCK" --raw 127.0.0.1 "$PORT"
	[ "$status" -eq 0 ]
	[[ $output == *"MODE raw"* ]]
	[[ $output == *"MODE restored"* ]]
	[[ $output == *"EXIT -11"* ]]
}

@test "--raw with a stdin that is not a terminal changes nothing, and -v says so" {
	sock_listen /dev/null "$T/got" "$T/serr" 127.0.0.1 0
	printf 'a\n~.\n~~\n' >"$T/in"
	run --separate-stderr timeout 10 "$SOCK" -v --raw 127.0.0.1 "$PORT" <"$T/in"
	[ "$status" -eq 0 ]
	[[ $stderr == *"sock: --raw: stdin is not a terminal: nothing changed"* ]]
	wait_exit "$LPID" 10
	cmp "$T/in" "$T/got"
}

# ------------------------------------------------------------- usage

@test "--pty and --raw: the combinations that cannot work are usage errors" {
	run -2 --separate-stderr "$SOCK" --pty -l 0 </dev/null
	[[ $stderr == "sock: --pty needs -e or -c"* ]]
	run -2 --separate-stderr "$SOCK" --pty -u -l 0 -e cat </dev/null
	[[ $stderr == "sock: --pty cannot be used with -u"* ]]
	run -2 --separate-stderr "$SOCK" --pty --broker -l 0 -c cat </dev/null
	[[ $stderr == "sock: --pty cannot be used with --broker"* ]]
	run -2 --separate-stderr "$SOCK" --pty --chat -l 0 -c cat </dev/null
	[[ $stderr == "sock: --pty cannot be used with --chat"* ]]
	run -2 --separate-stderr "$SOCK" --pty --forward 127.0.0.1:1 -l 0 -c cat </dev/null
	[[ $stderr == "sock: --pty cannot be used with --forward"* ]]
	run -2 --separate-stderr "$SOCK" --pty --proxy-server -l 0 -c cat </dev/null
	[[ $stderr == "sock: --pty cannot be used with --proxy-server"* ]]
	run -2 --separate-stderr "$SOCK" --raw -l -k 0 </dev/null
	[[ $stderr == "sock: --raw cannot be used with -k"* ]]
	run -2 --separate-stderr "$SOCK" --raw -z 127.0.0.1 1 </dev/null
	[[ $stderr == "sock: --raw cannot be used with -z"* ]]
	run -2 --separate-stderr "$SOCK" --raw --forward 127.0.0.1:1 -l 0 </dev/null
	[[ $stderr == "sock: --raw cannot be used with --forward"* ]]
	run -2 --separate-stderr "$SOCK" --raw --proxy-server -l 0 </dev/null
	[[ $stderr == "sock: --raw cannot be used with --proxy-server"* ]]
	run -2 --separate-stderr "$SOCK" --raw -e cat 127.0.0.1 1 </dev/null
	[[ $stderr == "sock: --raw cannot be used with -e: it is for what is typed at a terminal"* ]]
}
