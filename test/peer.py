#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Scripted peers, and the checks that read what sock wrote, for sock's
bats tests (test/helper.bash starts most of them; no test runs inline
python).

    peer.py listen PORTFILE ACTION...   listen on 127.0.0.1 port 0, write
                                        the port to PORTFILE (atomically),
                                        accept one client, run ACTIONs
    peer.py connect PORT ACTION...      connect to 127.0.0.1 PORT, run ACTIONs
    peer.py blackhole [PORT ADDR...]    listen on ADDR (127.0.0.1) port
                                        PORT (0: the kernel picks, the same
                                        for every ADDR) where no SYN is
                                        ever answered; print the port (or
                                        "answers" where that cannot be
                                        made, "in use" where PORT is
                                        taken), then hold it for 60 s
    peer.py free-port [tcp|udp]         print a port the kernel just handed
                                        out and released
    peer.py closed-port                 print the port of a TCP socket bound
                                        on 127.0.0.1 that does not listen
                                        (a connect to it is refused), then
                                        hold it for 60 s
    peer.py window                      bind 200 consecutive TCP ports on
                                        127.0.0.1, listen on offsets 3, 99
                                        and 187 only, print "BASE OPEN1
                                        OPEN2 OPEN3" (or "none"), hold them
                                        for 60 s
    peer.py udp PORTFILE [ACTION...]    bind UDP on 127.0.0.1 port 0, write
                                        the port to PORTFILE, then for 60 s
                                        take datagrams:
        v6                              on ::1 instead
        log=FILE                        append each one's size to FILE
        reply=TEXT                      answer each with TEXT
        answer=W,W...                   answer the first with one datagram
                                        "W\n" per W, then exit
    peer.py udp-send PORT WORD...       send "WORD\n" to 127.0.0.1 PORT,
                                        one datagram per WORD
    peer.py dtls-junk PORT              send 127.0.0.1 PORT a plain line and
                                        300 datagrams that look like DTLS
                                        ClientHellos (lengths right or
                                        wrong, the rest random), from one
                                        socket; print its port
    peer.py socks5-udp-proxy PORTFILE [ACTION...]
                                        a SOCKS5 proxy on 127.0.0.1 port 0
                                        (port to PORTFILE) for one client's
                                        UDP ASSOCIATE: it answers relay
                                        0.0.0.0 and a port, and answers
                                        each datagram itself with "echo:"
                                        and the data, the header naming the
                                        target asked for; 30 s at most
        auth=USER:PASS                  require RFC 1929 authentication
        reqlog=FILE                     write "ATYP HOST PORT" of the
                                        request (and each datagram's
                                        target) to FILE
        hostile                         before each answer send what must
                                        be dropped: a short datagram, a bad
                                        ATYP, a name past the end, FRAG 1,
                                        another source, and the answer
                                        from a socket that is not the relay
        close                           close the control connection after
                                        the first answer
    peer.py socks5-udp PORT TPORT ACTION...
                                        a SOCKS5 UDP client of the proxy on
                                        127.0.0.1 PORT, target 127.0.0.1
                                        TPORT; prints a line per answer
        auth=USER:PASS                  authenticate (RFC 1929)
        zero                            ask with DST 0.0.0.0:0
        send=WORD                       send WORD, print "REPLY HOST PORT
                                        DATA" of the answer (2 s at most)
        name=HOST,WORD                  send WORD to HOST (ATYP 3) TPORT
        silent=WORD                     send WORD, fail on any answer
                                        within 1 s
        frag=WORD                       the same with FRAG 1
        stranger=WORD                   send WORD from 127.0.0.2
        otherport=WORD                  send WORD from another port
        hostile                         short, bad ATYP, name past the end
        close                           close the control connection
        refused                         expect the request refused: print
                                        "REFUSED REP"
    peer.py origin PORTFILE HEADS       an HTTP origin on 127.0.0.1 port 0
                                        (port to PORTFILE): saves each
                                        request head to HEADS.N, answers
                                        "origin" and closes
    peer.py raw PORT HEX SECS           connect, send these bytes, print
                                        what comes back (hex) until the
                                        other side closes; fail if it does
                                        not within SECS
    peer.py many PORT BATCHES SIZE [echo]
                                        BATCHES times, SIZE clients at once:
                                        each sends "client B.I\n" and its
                                        FIN, then must read nothing (or,
                                        with echo, its own line) and EOF
    peer.py recv-fd CMD...              run CMD with stdout a Unix socket,
                                        take the descriptor it passes, send
                                        "question" and a FIN on it; print
                                        "STATUS MSG ANSWER"
    peer.py pty PROMPT ANSWER CMD...    run CMD on a terminal, type ANSWER
                                        and a newline once PROMPT shows;
                                        print what it wrote, exit as it did
    peer.py term STEP... -- CMD...      run CMD on a terminal of its own
                                        (its controlling terminal, stdin,
                                        stdout, stderr; 80x24), as a
                                        person at it would, step by step:
        expect:TEXT                     wait (10 s at most) until TEXT has
                                        been written since the last expect
        send:TEXT                       type TEXT (Python escapes: \\r,
                                        \\x03)
        raw                             wait (10 s at most) until the
                                        terminal is in raw mode (no echo,
                                        no ICANON, no ISIG)
        stopped                         wait (10 s at most) until CMD is
                                        stopped (a job-control stop)
        mode                            print "MODE raw" if the terminal
                                        has no echo, no ICANON and no ISIG
                                        now, else "MODE cooked"
        kill:SIG                        send signal SIG (TERM, HUP, INT) to
                                        CMD
                                      then wait 10 s at most for CMD to
                                      exit; print what it wrote, "MODE
                                      restored" or "MODE changed" (its
                                      terminal's stty -g before and
                                      after), and "EXIT N" (-SIG if
                                      killed); fail on a timeout
    peer.py line-wait SOCK              run "SOCK -i 0.2" to a listener of
                                        its own with a line and half of
                                        another on stdin: it must use at
                                        most 10 ticks of CPU in 1.5 s while
                                        it waits for the rest, and deliver
                                        both lines whole
    peer.py slow-read IN OUT CHUNK SECS COUNT
                                        read IN (a FIFO: opened here)
                                        CHUNK bytes at a time, SECS apart,
                                        into OUT; write the byte count to
                                        COUNT at EOF
    peer.py can mptcp|ipv6              exit 0 if this kernel makes an
                                        MPTCP socket (binds ::1)
    peer.py can connect PORT            exit 0 if 127.0.0.1 PORT accepts a
                                        connection
    peer.py byte-counts DATA WANT       check that each byte value v occurs
                                        in DATA as often as line v of WANT
                                        (256 lines) says
    peer.py tls-torn CERT KEY PORTFILE  a TLS server on 127.0.0.1 port 0
                                        (the port written to PORTFILE) that
                                        sends one whole record, then in the
                                        same write the start of another
                                        and its FIN

Many connections at once (test/many.bats; each raises its soft descriptor
limit to the hard one, and fails when that is below what it needs; at
most 512 connects unfinished at once; a failure prints the summary line
and a "peer:" message and exits 1):

    peer.py echo-server PORTFILE [SECS] echo every client of 127.0.0.1 port
                                        0 (the port to PORTFILE) back, at
                                        most 64 KiB of each held (a client
                                        that does not read is not read);
                                        close after its FIN; for SECS (300)
    peer.py mass PORT N MODE [KEY=VALUE...]
                                        N clients of 127.0.0.1 PORT, all
                                        connected before any sends, then:
        echo                            each sends its own SIZE bytes and
                                        must read exactly those back
            size=SIZE                   (1024)
            proxy=socks5|http           each first asks the proxy at PORT
            target=PORT                 for 127.0.0.1 PORT (SOCKS5 CONNECT,
                                        or HTTP CONNECT and a 200 head)
            slow=BYTES                  one more client first sends (up to
                                        BYTES) without reading until sock
                                        takes no more for 0.5 s; the N echo
                                        meanwhile; then it sends SIZE more
                                        and its FIN, and must read all back
            fds=PID                     once all have echoed (idle), print
                                        the descriptors sock (PID) holds,
                                        by kind, and its RSS
            maxpipes=M                  and fail if more than M pipe ends
        lines out=FILE                  each sends "client I\n"; FILE (a -k
                                        server's stdout) must come to hold
                                        exactly those N lines
        broadcast err=FILE              once FILE (a -v broker's stderr)
                                        has N "connection from" lines,
                                        client 0 sends a line; each other
                                        must receive exactly it
                                        Then every client must still be
                                        open, with nothing more to read;
                                        all close. secs=S bounds it all (90).
                                        Prints "mass: C of N connected, K
                                        ..." and the times
    peer.py max-conns PORT N [OUT]      against a server with --max-conns N
                                        and nothing else connected: N
                                        clients served (each one's line
                                        echoed, or with OUT, a -k server's
                                        stdout, written there) and held;
                                        client N+1 closed within 2 s with
                                        nothing relayed; the N served
                                        again; one leaves, and a new client
                                        is served (a few closed at once
                                        before it are allowed, for 5 s)
    peer.py no-fds PORT PID [KEY=VALUE...]
                                        against a server (PID) that runs
                                        out of descriptors, a forwarder to
                                        an echo server, or with out=FILE a
                                        -k server (its stdout): clients one
                                        at a time until 5 are closed (each
                                        must be served or closed within
                                        2 s; fails if most=N (200) are all
                                        served; with served=N, exactly N
                                        must be); then a second of clients
                                        every 10 ms, while sock may use at
                                        most cpu=S (0.25) s of CPU; the
                                        served are still served; 3 leave
                                        (with out, by a reset) and a new
                                        client is served

Checks of what sock wrote (a mismatch exits 1 with the reason):

    peer.py hexdump FILE MARKER [OFFSET [START [LEN]]]
                                        print what -o must write for the
                                        LEN bytes of FILE from START sent
                                        (MARKER >) or received (<) at
                                        direction offset OFFSET
    peer.py parse-dump DUMP SENT RECV   check every line of a -o dump
                                        (format, 1-16 bytes, ASCII column,
                                        offsets per direction); write each
                                        direction's bytes to SENT and RECV
    peer.py tty-lines FILE              every -v line in FILE (a terminal's
                                        output) starts a line of its own,
                                        not the --progress line
    peer.py strip-notices FILE          print FILE without its --chat
                                        "<announce> ...\n" notices,
                                        wherever they are

Sources for a sock's stdin (fault tests), writing to stdout:

    peer.py pace N SECS [HOLD]          "line K" N times, SECS apart, then
                                        stay open HOLD seconds more
    peer.py feed FILE [CHUNK]           FILE, CHUNK bytes (65536) at a time,
                                        10 ms apart
    peer.py trickle FILE                FILE one byte at a time, 5 ms apart
    peer.py bound KIND FD CMD...        make a socket on 127.0.0.1 port 0
                                        (or the path of unix:PATH) and run
                                        CMD with it as descriptor FD: KIND
                                        tcp (listening), udp (bound),
                                        unix:PATH (listening), connected
                                        (a TCP connection to a listener of
                                        its own), tcp-bound (not listening)

With PEER_NODELAY set (non-empty) in its environment, the connection of
listen and connect gets TCP_NODELAY.

Actions, run in order (a failed check exits 1 with a "peer:" message);
rcvbuf, port and mptcp are setup, applied before anything else wherever
they stand:
  rcvbuf=N           SO_RCVBUF N before listening or connecting
  port=N[,N...]      (listen) listen on the first of these ports that is
                     free (SO_REUSEADDR), not on port 0; PORTFILE says
                     "none" where none is
  mptcp              (listen) an MPTCP listener
  no_client=SECS     (listen, first but for setup) check that nobody
                     connects for SECS, then exit 0
  hold=SECS          (listen, first but for setup) accept nobody, keep
                     listening for SECS, then exit 0
  tls=CERT,KEY       (listen) the connection becomes a TLS server session
  name=FILE          write our own port (the client's port) to FILE
  peer=FILE          write the other side's "ADDR PORT" to FILE
  protocol=FILE      write the connection's SO_PROTOCOL (6 TCP, 262
                     MPTCP) to FILE
  send=FILE          send the whole file
  sendstr=TEXT       send TEXT
  sendhex=HEX        send these bytes
  sendn=N            send N bytes "x"
  drip=HEX,SECS      send these bytes one at a time, SECS apart
  flood=N            send N bytes as fast as possible; a reset ends it quietly
  fill=FILE          send until the other side stops taking bytes for 2 s,
                     then create FILE
  stream=N,SECS      send "line K" N times, SECS apart
  both=SEND,RECV     send file SEND and, at the same time, read until EOF
                     into RECV; shut_wr once SEND is sent
  recv_all=FILE      read until EOF into FILE (flushed after every read)
  slow_recv=FILE     read until EOF into FILE, 64 KiB at a time, 0.03 s apart
  recv_n=N[,FILE]    read exactly N bytes (EOF before that: failure), into
                     FILE if given
  paced_recv=N,SECS  read N bytes spread evenly over SECS, then until EOF
  lines=N,FILE       read N lines; FILE gets the monotonic arrival time of
                     each, one a line, and FILE.data the bytes
  no_eof=SECS        check that nothing at all (no byte, no FIN) arrives for SECS
  eof_within=SECS    check that EOF arrives within SECS (data before it is dropped)
  closed_within=SECS the same, but a reset counts as the close too
  shut_wr            shutdown(SHUT_WR): send our FIN
  rst                close with SO_LINGER 0: send a reset
  cut                shutdown(SHUT_RDWR) and close: under tls=, a FIN with
                     no close_notify before it
  close              close normally
  sleep=SECS         sleep
  touch=FILE         create FILE (a progress mark the test waits for)
  await=FILE         wait until FILE exists (the test's go-ahead)
"""
import errno, os, random, re, select, selectors, socket, struct, subprocess, \
    sys, threading, time


def fail(msg):
    sys.stderr.write("peer: %s\n" % msg)
    sys.exit(1)


def blackhole(port=0, addrs=("127.0.0.1",)):
    """Sockets with a backlog of 0 that never accept: one connection
    fills each accept queue, and Linux then drops every further SYN
    (tcp_conn_request: accept queue full), so a connect hangs in SYN_SENT
    until its own timeout. A probe connect to each checks that before the
    port is printed. Purely local, unlike the usual "unroutable address"
    trick."""
    def done(msg):
        print(msg, flush=True)
        time.sleep(60)
        sys.exit(0)

    def listen_all(port):
        held = []
        for a in addrs:
            fam = socket.AF_INET6 if ":" in a else socket.AF_INET
            s = socket.socket(fam)
            if fam == socket.AF_INET6:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                s.bind((a, port))
            except OSError:
                for h in held:
                    h.close()
                return None, []
            s.listen(0)
            port = s.getsockname()[1]
            held.append(s)
        return port, held

    # A port the kernel gave the first address may be taken on another:
    # then try another one (a bounded number of times).
    for attempt in range(20 if port == 0 else 1):
        got, held = listen_all(port)
        if got is not None:
            break
    else:
        done("in use")
    for a, s in zip(addrs, list(held)):
        fill = socket.create_connection((a, got))
        probe = socket.socket(s.family)
        probe.settimeout(0.3)
        try:
            probe.connect((a, got))
            done("answers")
        except socket.timeout:
            pass
        held += [fill, probe]
    done(got)


def free_port(kind):
    s = socket.socket(socket.AF_INET,
                      socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])


def write_atomic(path, text):
    """Write a file the test polls for (test -s) all at once."""
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)


def read_to_eof(s, size=65536):
    """All that s sends until its EOF."""
    got = b""
    while True:
        d = s.recv(size)
        if not d:
            return got
        got += d


def window():
    for attempt in range(100):
        base = random.randrange(10000, 30000)
        socks = []
        try:
            for p in range(base, base + 200):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", p))
            break
        except OSError:
            for s in socks:
                s.close()
    else:
        print("none", flush=True)
        sys.exit(1)
    # The other 197 stay bound without listening: a SYN to them is reset,
    # and no other program can take them meanwhile.
    for i in (3, 99, 187):
        socks[i].listen(16)
    print(base, base + 3, base + 99, base + 187, flush=True)
    time.sleep(60)


def udp(portfile, *acts):
    opts = dict(a.partition("=")[::2] for a in acts)
    if "v6" in opts:
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.bind(("::1", 0))
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
    write_atomic(portfile, "%d\n" % s.getsockname()[1])
    end = time.monotonic() + 60
    while True:
        s.settimeout(max(end - time.monotonic(), 0.001))
        try:
            data, addr = s.recvfrom(65536)
        except socket.timeout:
            return
        if "log" in opts:
            with open(opts["log"], "a") as log:
                log.write("%d\n" % len(data))
        if "reply" in opts:
            s.sendto(opts["reply"].encode(), addr)
        if "answer" in opts:
            for w in opts["answer"].split(","):
                s.sendto(w.encode() + b"\n", addr)
            return


def udp_send(port, *words):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for w in words:
        s.sendto(w.encode() + b"\n", ("127.0.0.1", int(port)))


def origin(portfile, heads):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    write_atomic(portfile, "%d\n" % s.getsockname()[1])
    n = 0
    while True:
        c, _ = s.accept()
        n += 1
        head = b""
        while b"\r\n\r\n" not in head:
            d = c.recv(4096)
            if not d:
                break
            head += d
        with open("%s.%d" % (heads, n), "wb") as f:
            f.write(head)
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n"
                  b"Connection: close\r\n\r\norigin")
        c.close()


def raw(port, hexbytes, secs):
    s = socket.create_connection(("127.0.0.1", int(port)))
    s.sendall(bytes.fromhex(hexbytes))
    s.settimeout(float(secs))
    got = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            got += d
    except socket.timeout:
        fail("no close within %s s" % secs)
    except ConnectionResetError:
        pass
    print(got.hex())


def many(port, batches, size, mode=""):
    for b in range(int(batches)):
        socks = [socket.create_connection(("127.0.0.1", int(port)))
                 for _ in range(int(size))]
        lines = [b"client %d.%d\n" % (b, i) for i in range(int(size))]
        for s, line in zip(socks, lines):
            s.sendall(line)
        for s in socks:
            s.shutdown(socket.SHUT_WR)
        for s, line in zip(socks, lines):
            s.settimeout(10)
            got = read_to_eof(s, 4096)
            want = line if mode == "echo" else b""
            if got != want:
                fail("%r got %r, expected %r" % (line, got, want))
            s.close()


def recv_fd(*cmd):
    a, b = socket.socketpair()
    p = subprocess.Popen(cmd, stdout=b, stdin=subprocess.DEVNULL)
    b.close()
    msg, fds, _, _ = socket.recv_fds(a, 1, 1)
    status = p.wait()
    s = socket.socket(fileno=fds[0])
    s.setblocking(True)
    s.sendall(b"question")
    s.shutdown(socket.SHUT_WR)
    got = read_to_eof(s, 4096)
    print(status, msg, got.decode())


def pty_run(prompt, answer, *cmd):
    import pty
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(cmd[0], cmd)
    out = b""
    while prompt.encode() not in out:
        out += os.read(fd, 1024)
    os.write(fd, answer.encode() + b"\n")
    while True:
        try:
            d = os.read(fd, 1024)
        except OSError:
            break
        if not d:
            break
        out += d
    _, status = os.waitpid(pid, 0)
    sys.stdout.write(out.decode("latin-1"))
    sys.exit(os.waitstatus_to_exitcode(status))


class TermJob:
    """CMD as a shell's foreground job on the terminal whose side is
    slave: a session leader holds the terminal and starts CMD in a
    process group of its own, so that the group is not orphaned and a
    SIGTSTP stops it. The leader reports CMD's pid and wait status on a
    pipe. Popen's poll, send_signal, kill, pid and returncode."""

    def __init__(self, cmd, master, slave):
        import fcntl
        import signal
        import termios
        r, w = os.pipe()
        leader = os.fork()
        if leader == 0:
            try:
                os.close(r)
                os.close(master)
                os.setsid()
                for fd in (0, 1, 2):
                    os.dup2(slave, fd)
                fcntl.ioctl(0, termios.TIOCSCTTY, 0)
                job = os.fork()
                if job == 0:
                    os.setpgid(0, 0)
                    signal.signal(signal.SIGTTOU, signal.SIG_IGN)
                    os.tcsetpgrp(0, os.getpid())
                    signal.signal(signal.SIGTTOU, signal.SIG_DFL)
                    os.closerange(3, 1024)
                    os.execv(cmd[0], cmd)
                os.setpgid(job, job)
                os.write(w, b"%d\n" % job)
                _, status = os.waitpid(job, 0)
                os.write(w, b"%d\n" % status)
            finally:
                os._exit(0)
        os.close(w)
        self.leader = leader
        self.pipe = os.fdopen(r, "rb")
        self.pid = int(self.pipe.readline())
        self.returncode = None

    def poll(self):
        import select
        if self.returncode is None and select.select([self.pipe], [], [],
                                                     0)[0]:
            line = self.pipe.readline()
            os.waitpid(self.leader, 0)
            self.returncode = os.waitstatus_to_exitcode(int(line or b"0"))
        return self.returncode

    def send_signal(self, sig):
        os.kill(self.pid, sig)

    def kill(self):
        import signal
        self.send_signal(signal.SIGKILL)


def term(*args):
    import fcntl
    import select
    import signal
    import termios
    steps, cmd = args[:args.index("--")], args[args.index("--") + 1:]
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    before = termios.tcgetattr(slave)

    p = TermJob(cmd, master, slave)
    out = b""
    seen = 0

    def is_raw():
        lflag = termios.tcgetattr(slave)[3]
        return not lflag & (termios.ECHO | termios.ICANON | termios.ISIG)

    def pump(secs):
        nonlocal out
        r, _, _ = select.select([master], [], [], secs)
        if r:
            try:
                d = os.read(master, 4096)
            except OSError:
                d = b""
            out += d
            return bool(d)
        return False
    for step in steps:
        what, _, arg = step.partition(":")
        if what == "expect":
            deadline = time.time() + 20
            while arg.encode() not in out[seen:]:
                if time.time() > deadline or p.poll() is not None:
                    pump(0.2)
                    if arg.encode() in out[seen:]:
                        break
                    sys.stdout.write(out.decode("latin-1"))
                    fail("no %r on the terminal" % arg)
                pump(0.2)
            seen = out.index(arg.encode(), seen) + len(arg)
        elif what == "send":
            os.write(master, arg.encode().decode("unicode_escape").encode(
                "latin-1"))
        elif what == "raw":
            deadline = time.time() + 20
            while not is_raw():
                if time.time() > deadline or p.poll() is not None:
                    sys.stdout.write(out.decode("latin-1"))
                    fail("the terminal never went raw")
                pump(0.02)
        elif what == "stopped":
            deadline = time.time() + 20
            while open("/proc/%d/stat" % p.pid).read().rsplit(
                    ")", 1)[1].split()[0] != "T":
                if time.time() > deadline:
                    fail("%s never stopped" % cmd[0])
                pump(0.02)
        elif what == "mode":
            print("MODE", "raw" if is_raw() else "cooked", flush=True)
        elif what == "kill":
            p.send_signal(getattr(signal, "SIG" + arg))
        else:
            fail("unknown step %r" % step)
    deadline = time.time() + 20
    while p.poll() is None:
        if time.time() > deadline:
            p.kill()
            sys.stdout.write(out.decode("latin-1"))
            fail("%s still running after 20 s" % cmd[0])
        pump(0.05)
    while pump(0.05):
        pass
    after = termios.tcgetattr(slave)
    sys.stdout.write(out.decode("latin-1"))
    print("\nMODE", "restored" if after == before else "changed")
    print("EXIT", p.returncode)


def dtls_junk(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    a = ("127.0.0.1", int(port))
    s.sendto(b"not a record\n", a)
    for i in range(300):
        n = int.from_bytes(os.urandom(2), "big") % 1400
        # A DTLS handshake record header (length right or wrong), a
        # ClientHello header, then random bytes.
        hdr = bytes([22, 0xfe, 0xfd if i % 2 else 0xff, 0, 0]) + \
            os.urandom(6) + struct.pack(">H", n + 12 if i % 3 else n + 99)
        s.sendto(hdr + bytes([1]) + os.urandom(11) + os.urandom(n), a)
    print(s.getsockname()[1])


def line_wait(sock):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    p = subprocess.Popen([sock, "-i", "0.2", "127.0.0.1",
                          str(srv.getsockname()[1])], stdin=subprocess.PIPE,
                         stdout=subprocess.DEVNULL)
    c, _ = srv.accept()
    os.write(p.stdin.fileno(), b"line one\npartial")
    time.sleep(0.5)

    def ticks():
        f = open("/proc/%d/stat" % p.pid).read().rsplit(")", 1)[1].split()
        return int(f[11]) + int(f[12])
    t0 = ticks()
    time.sleep(1.5)
    used = ticks() - t0
    os.write(p.stdin.fileno(), b" end\n")
    p.stdin.close()
    c.settimeout(5)
    got = read_to_eof(c, 100)
    c.close()
    p.wait(timeout=5)
    print(used, got)
    if used > 10 or got != b"line one\npartial end\n":
        fail("%d ticks of CPU while waiting, got %r" % (used, got))


def slow_read(src, dst, chunk, secs, count):
    total = 0
    fd = os.open(src, os.O_RDONLY)
    with open(dst, "wb") as out:
        while True:
            d = os.read(fd, int(chunk))
            if not d:
                break
            total += len(d)
            out.write(d)
            out.flush()
            time.sleep(float(secs))
    with open(count, "w") as f:
        f.write("%d\n" % total)


def can(what, *args):
    try:
        if what == "mptcp":
            socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262).close()
        elif what == "ipv6":
            socket.socket(socket.AF_INET6).bind(("::1", 0))
        elif what == "connect":
            socket.create_connection(("127.0.0.1", int(args[0])), 1).close()
        else:
            fail("can: unknown feature " + what)
    except OSError:
        sys.exit(1)


def hexdump(path, marker, off="0", start="0", length=None):
    off, start = int(off), int(start)
    data = open(path, "rb").read()
    data = data[start:start + int(length)] if length else data[start:]
    out = []
    for i in range(0, len(data), 16):
        chunk = data[i:i + 16]
        cells = ["%02x" % b for b in chunk] + ["  "] * (16 - len(chunk))
        text = "".join(chr(b) if 0x20 <= b < 0x7f else "." for b in chunk)
        out.append("%s %08x  %s  %s  |%s|\n" % (marker, off + i,
                   " ".join(cells[:8]), " ".join(cells[8:]), text))
    sys.stdout.write("".join(out))


def parse_dump(dump, sent, recv):
    line_re = re.compile(r"^([<>]) ([0-9a-f]{8,})  ((?:[0-9a-f]{2} |   ){8}) "
                         r"((?:[0-9a-f]{2} |   ){8}) \|(.{1,16})\|\n$")
    data = {">": bytearray(), "<": bytearray()}
    for no, line in enumerate(open(dump, encoding="latin-1"), 1):
        m = line_re.match(line)
        if not m:
            fail("line %d: bad format: %r" % (no, line))
        mark, off = m.group(1), int(m.group(2), 16)
        cells = (m.group(3) + m.group(4)).split(" ")[:16]
        hexes = [x for x in cells if x.strip()]
        if cells[:len(hexes)] != hexes:
            fail("line %d: gap among the bytes" % no)
        b = bytes.fromhex("".join(hexes))
        text = "".join(chr(x) if 0x20 <= x < 0x7f else "." for x in b)
        if text != m.group(5):
            fail("line %d: ASCII column %r, expected %r" % (no, m.group(5), text))
        if off != len(data[mark]):
            fail("line %d: offset %x, expected %x" % (no, off, len(data[mark])))
        data[mark] += b
    open(sent, "wb").write(data[">"])
    open(recv, "wb").write(data["<"])


def tty_lines(path):
    text = open(path, "rb").read()
    events = [m.start() for m in
              re.finditer(rb"sock: (connected|FIN|sent [0-9]+ bytes)", text)]
    if len(events) < 3:
        fail("expected connected, FIN and summary lines")
    for at in events:
        if at > 0 and text[at - 1:at] != b"\n" and \
                text[max(0, at - 4):at] != b"\r\x1b[K":
            fail("a -v line is drawn onto the progress line: %r"
                 % text[max(0, at - 40):at + 30])


def strip_notices(path):
    sys.stdout.buffer.write(re.sub(rb"<announce> [^\n]*\n", b"",
                                   open(path, "rb").read()))


def byte_counts(data_path, want_path):
    data = open(data_path, "rb").read()
    want = [int(l) for l in open(want_path)]
    for v in range(256):
        if data.count(bytes([v])) != want[v]:
            fail("byte %d: %d times, not %d"
                 % (v, data.count(bytes([v])), want[v]))


def tls_torn(cert, key, portfile):
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    with open(portfile + ".tmp", "w") as f:
        f.write("%d\n" % s.getsockname()[1])
    os.rename(portfile + ".tmp", portfile)
    c, _ = s.accept()
    rb, wb = ssl.MemoryBIO(), ssl.MemoryBIO()
    t = ctx.wrap_bio(rb, wb, server_side=True)
    while True:
        try:
            t.do_handshake()
            break
        except ssl.SSLWantReadError:
            c.sendall(wb.read())
            d = c.recv(65536)
            if not d:
                fail("the client left during the handshake")
            rb.write(d)
    c.sendall(wb.read())
    t.write(b"whole record\n")
    c.sendall(wb.read() + b"\x17\x03\x03\x00\x40" + bytes(10))
    c.close()


def bound(kind, fd, *cmd):
    if kind == "udp":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
    elif kind.startswith("unix:"):
        s = socket.socket(socket.AF_UNIX)
        s.bind(kind[5:])
        s.listen(16)
    else:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        if kind == "tcp":
            s.listen(16)
        elif kind == "connected":
            lst = socket.socket()
            lst.bind(("127.0.0.1", 0))
            lst.listen(1)
            s.connect(lst.getsockname())
        elif kind != "tcp-bound":
            fail("unknown kind " + kind)
    if s.fileno() != int(fd):
        os.dup2(s.fileno(), int(fd))
    # dup2 onto itself is no dup2: the close-on-exec flag stays.
    os.set_inheritable(int(fd), True)
    os.execvp(cmd[0], cmd)


# ------------------------------------------------ many connections at once
# (test/many.bats): an echo server and a client that hold thousands of
# sockets in one process each, non-blocking, on selectors (epoll).

INFLIGHT = 512          # connects (and proxy handshakes) unfinished at once


def raise_nofile(need, who):
    """Raise the soft descriptor limit to the hard one; fail when even
    that is below need (the test skips before, having computed it)."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < need:
        fail("%s needs %d descriptors; the hard limit is %d" % (who, need, hard))
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def echo_server(portfile, secs="300"):
    """Echo every connection's bytes back, at most 64 KiB of each held
    unsent: one whose peer does not read is not read either (the backlog
    stays in TCP's buffers); after a client's FIN, once all is echoed,
    close. Lives at most SECS seconds."""
    raise_nofile(1024, "echo-server")
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4096)
    srv.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(srv, selectors.EVENT_READ, None)
    write_atomic(portfile, "%d\n" % srv.getsockname()[1])
    pending = {}
    end = time.monotonic() + float(secs)

    def drop(c):
        sel.unregister(c)
        pending.pop(c, None)
        c.close()

    while time.monotonic() < end:
        for key, mask in sel.select(1):
            c = key.fileobj
            if c is srv:
                for _ in range(256):
                    try:
                        n, _ = srv.accept()
                    except (BlockingIOError, InterruptedError):
                        break
                    except OSError as e:    # EMFILE: say so, go on
                        sys.stderr.write("echo-server: accept: %s\n" % e)
                        break
                    n.setblocking(False)
                    sel.register(n, selectors.EVENT_READ, None)
                continue
            try:
                if mask & selectors.EVENT_READ:
                    d = c.recv(65536)
                    if not d:
                        drop(c)
                        continue
                    pending[c] = d
                if c in pending:
                    sent = c.send(pending[c])
                    if sent == len(pending[c]):
                        del pending[c]
                        sel.modify(c, selectors.EVENT_READ, None)
                    else:
                        pending[c] = pending[c][sent:]
                        sel.modify(c, selectors.EVENT_WRITE, None)
            except BlockingIOError:
                sel.modify(c, selectors.EVENT_WRITE, None)
            except OSError:             # a reset: that client is gone
                drop(c)


class Tally:
    """What the mass client has seen, for its one-line summary."""

    def __init__(self, n, what):
        self.n, self.what = n, what
        self.connected = self.ok = 0
        self.problems = []

    def line(self):
        return "%d of %d connected, %d %s" % (self.connected, self.n,
                                              self.ok, self.what)

    def fail(self, msg):
        print("mass: " + self.line(), flush=True)
        fail(msg)


def handshake_for(proxy, target):
    """The request a proxy client sends at once, and a function that
    takes what has come back so far and says whether the reply is
    complete (failing on a bad one)."""
    if not proxy:
        return None, None
    if proxy == "socks5":
        # No authentication; CONNECT 127.0.0.1 port target. Both in one
        # write: the replies are 2 and 10 bytes.
        req = b"\x05\x01\x00\x05\x01\x00\x01" + socket.inet_aton("127.0.0.1") \
            + struct.pack(">H", target)

        def done(buf):
            if len(buf) < 12:
                return False
            if buf[:2] != b"\x05\x00" or buf[2:5] != b"\x05\x00\x00" \
                    or buf[5] != 1 or len(buf) != 12:
                return "SOCKS5 replies %s" % buf.hex()
            return True
        return req, done
    if proxy == "http":
        req = b"CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" \
            % (target, target)

        def done(buf):
            if b"\r\n\r\n" not in buf:
                return "HTTP reply head too long: %r" % buf[:80] \
                    if len(buf) > 4096 else False
            if not re.match(rb"HTTP/1\.[01] 200 ", buf) \
                    or not buf.endswith(b"\r\n\r\n"):
                return "HTTP reply %r" % buf[:80]
            return True
        return req, done
    fail("unknown proxy type " + proxy)


def open_all(port, count, tally, deadline, proxy=None, target=0):
    """count clients of 127.0.0.1 port, at most INFLIGHT of them not yet
    through (connecting, or waiting for the proxy's reply) at once."""
    req, done = handshake_for(proxy, target)
    socks = [None] * count
    replies = {}
    sel = selectors.DefaultSelector()
    started = through = 0
    while through < count:
        while started < count and started - through < INFLIGHT:
            s = socket.socket()
            s.setblocking(False)
            err = s.connect_ex(("127.0.0.1", port))
            if err not in (0, errno.EINPROGRESS):
                tally.fail("client %d: connect: %s" % (started, os.strerror(err)))
            socks[started] = s
            sel.register(s, selectors.EVENT_WRITE, started)
            started += 1
        if time.monotonic() > deadline:
            tally.fail("%d connects or handshakes unfinished at the deadline"
                       % (started - through))
        for key, mask in sel.select(0.2):
            i, s = key.data, key.fileobj
            if i not in replies:
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    tally.fail("client %d: connect: %s" % (i, os.strerror(err)))
                tally.connected += 1
                if req is None:
                    sel.unregister(s)
                    through += 1
                    continue
                try:
                    if s.send(req) != len(req):
                        tally.fail("client %d: the proxy request did not fit"
                                   % i)
                except OSError as e:
                    tally.fail("client %d: sending the proxy request: %s"
                               % (i, e))
                replies[i] = b""
                sel.modify(s, selectors.EVENT_READ, i)
                continue
            try:
                d = s.recv(4096)
            except BlockingIOError:
                continue
            except OSError as e:
                tally.fail("client %d: proxy handshake: %s" % (i, e))
            if not d:
                tally.fail("client %d: closed in the proxy handshake (after %r)"
                           % (i, replies[i]))
            replies[i] += d
            verdict = done(replies[i])
            if verdict is True:
                del replies[i]
                sel.unregister(s)
                through += 1
            elif verdict:
                tally.fail("client %d: %s" % (i, verdict))
    sel.close()
    return socks


def echo_all(socks, payloads, tally, deadline, send=True):
    """socks[i] sends payloads[i] (unless not send) and must read exactly
    that back (all at once, non-blocking). Counts tally.ok; problems go to
    tally.problems."""
    sel = selectors.DefaultSelector()
    off = [len(p) if not send else 0 for p in payloads]
    got = [bytearray() for _ in socks]
    for i, s in enumerate(socks):
        sel.register(s, selectors.EVENT_READ | (selectors.EVENT_WRITE if send
                                                else 0), i)
    left = len(socks)
    while left:
        if time.monotonic() > deadline:
            short = [i for i in range(len(socks))
                     if sel.get_map().get(socks[i]) is not None]
            tally.fail("%d clients unfinished at the deadline (client %d: "
                       "sent %d, got %d of %d bytes)"
                       % (len(short), short[0], off[short[0]],
                          len(got[short[0]]), len(payloads[short[0]])))
        for key, mask in sel.select(0.2):
            i, s = key.data, key.fileobj
            want = payloads[i]
            if mask & selectors.EVENT_WRITE:
                try:
                    off[i] += s.send(want[off[i]:off[i] + 65536])
                except BlockingIOError:
                    pass
                except OSError as e:
                    tally.problems.append("client %d: send: %s" % (i, e))
                    sel.unregister(s)
                    left -= 1
                    continue
                if off[i] == len(want):
                    sel.modify(s, selectors.EVENT_READ, i)
            if mask & selectors.EVENT_READ:
                why = "EOF"
                try:
                    d = s.recv(65536)
                except BlockingIOError:
                    continue
                except OSError as e:
                    d, why = b"", str(e)
                if not d:
                    tally.problems.append("client %d: %s after %d of %d bytes"
                                          % (i, why, len(got[i]), len(want)))
                    sel.unregister(s)
                    left -= 1
                    continue
                got[i] += d
                if len(got[i]) >= len(want):
                    sel.unregister(s)
                    left -= 1
                    if got[i] == want:
                        tally.ok += 1
                    else:
                        at = next((k for k in range(len(want))
                                   if k >= len(got[i]) or got[i][k] != want[k]),
                                  len(want))
                        tally.problems.append(
                            "client %d: got %d bytes for %d, first difference "
                            "at byte %d" % (i, len(got[i]), len(want), at))
    sel.close()


def still_open(socks, tally):
    """Every socket is still open and has nothing more to read."""
    for i, s in enumerate(socks):
        try:
            d = s.recv(64, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:
            continue
        except OSError as e:
            tally.problems.append("client %d: %s" % (i, e))
            continue
        tally.problems.append("client %d: %s" % (
            i, "closed early" if not d else "unexpected bytes %r" % d[:20]))


def piece(block, off, n):
    """n bytes from offset off of block repeated without end."""
    i = off % len(block)
    out = block[i:i + n]
    while len(out) < n:
        out += block[:n - len(out)]
    return out


def stall(s, block, most, tally, deadline):
    """Send block repeated on s, never reading, until s takes nothing
    more for 0.5 s; returns how much it took. Failing that, the chain
    buffers all of most bytes: the stall was never reached."""
    off = 0
    while off < most:
        if time.monotonic() > deadline:
            tally.fail("the slow client sent %d bytes, never stalled" % off)
        _, w, _ = select.select([], [s], [], 0.5)
        if not w:
            return off
        try:
            off += s.send(piece(block, off, min(1048576, most - off)))
        except BlockingIOError:
            pass
    tally.fail("the slow client's %d bytes all went in without a stall" % off)


def drain(s, block, size, off, tally, deadline):
    """Send the rest of size bytes of block repeated (from off), then a
    FIN, on s while reading all that comes back until EOF: that must be
    the same size bytes."""
    got = 0
    s.setblocking(False)
    while True:
        if time.monotonic() > deadline:
            tally.fail("the slow client: sent %d, got %d of %d bytes at the "
                       "deadline" % (off, got, size))
        r, w, _ = select.select([s], [s] if off < size else [], [], 0.2)
        if w:
            try:
                off += s.send(piece(block, off, min(1048576, size - off)))
            except BlockingIOError:
                pass
            if off == size:
                s.shutdown(socket.SHUT_WR)
        if r:
            try:
                d = s.recv(1048576)
            except BlockingIOError:
                continue
            except OSError as e:
                tally.fail("the slow client: %s after %d bytes" % (e, got))
            if not d:
                break
            if d != piece(block, got, len(d)):
                tally.fail("the slow client: the bytes from %d on differ"
                           % got)
            got += len(d)
    if got != size:
        tally.fail("the slow client got %d bytes back for %d" % (got, size))


def status_kb(pid, field):
    """A figure in kB from /proc/PID/status (VmRSS, VmHWM...)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def fd_kinds(pid):
    """How many descriptors of each kind (socket, pipe, file...) process
    pid holds."""
    kinds = {}
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            what = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except FileNotFoundError:
            continue
        kind = what.split(":")[0] if ":[" in what else "other"
        kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


class LineCount:
    """Lines of a growing file holding some text, read incrementally."""

    def __init__(self, path, text):
        self.path, self.text, self.off, self.part, self.n = \
            path, text.encode(), 0, b"", 0

    def count(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.off)
                d = f.read()
        except FileNotFoundError:
            return self.n
        self.off += len(d)
        lines = (self.part + d).split(b"\n")
        self.part = lines.pop()
        self.n += sum(1 for l in lines if self.text in l)
        return self.n


def mass(port, n, mode, *opts):
    """peer.py mass PORT N MODE [KEY=VALUE...]: see the docstring."""
    port, n = int(port), int(n)
    o = dict(a.partition("=")[::2] for a in opts)
    start = time.monotonic()
    deadline = start + float(o.get("secs", 90))
    slow = int(o.get("slow", 0))
    raise_nofile(n + (1 if slow else 0) + 64, "mass")
    if mode == "echo":
        size = int(o.get("size", 1024))
        tally = Tally(n + (1 if slow else 0),
                      "echoed their %d bytes intact" % size)
        socks = open_all(port, n + (1 if slow else 0), tally, deadline,
                         o.get("proxy"), int(o.get("target", 0)))
        up = time.monotonic()
        if slow:
            # An odd length: a slip by a whole block would show.
            block = os.urandom(1048573)
            slow_sock = socks.pop()
            taken = stall(slow_sock, block, slow, tally, deadline)
        # Distinct: each starts with its own number.
        payloads = [(b"%08d" % i) + os.urandom(size - 8) for i in range(n)]
        busy = time.monotonic()
        echo_all(socks, payloads, tally, deadline)
        echoed = time.monotonic()
        still_open(socks, tally)
        if "fds" in o:
            kinds = fd_kinds(int(o["fds"]))
            print("mass: with the %d idle, sock holds %s; its RSS is %d kB"
                  % (n, ", ".join("%d %s" % (v, k) for k, v in
                                  sorted(kinds.items())),
                     status_kb(int(o["fds"]), "VmRSS")), flush=True)
            if kinds.get("pipe", 0) > int(o.get("maxpipes", 1 << 30)):
                tally.fail("sock holds %d pipe ends with the %d idle (at "
                           "most %s)" % (kinds["pipe"], n, o["maxpipes"]))
        print("mass: %s (connected in %.1f s, echoed in %.1f s)"
              % (tally.line(), up - start, echoed - busy), flush=True)
        if slow:
            drain(slow_sock, block, taken + size, taken, tally, deadline)
            print("mass: the slow client stalled after sending %d bytes, "
                  "then sent %d more and got all %d back intact"
                  % (taken, size, taken + size), flush=True)
            slow_sock.close()
    elif mode == "lines":
        out = LineCount(o["out"], "")
        tally = Tally(n, "lines on sock's stdout")
        socks = open_all(port, n, tally, deadline)
        up = time.monotonic()
        lines = [b"client %05d\n" % i for i in range(n)]
        for i, s in enumerate(socks):
            try:
                if s.send(lines[i]) != len(lines[i]):
                    tally.fail("client %d: its line did not fit" % i)
            except OSError as e:
                tally.fail("client %d: sending its line: %s" % (i, e))
        while out.count() < n:
            if time.monotonic() > deadline:
                tally.ok = out.n
                tally.fail("%d of %d lines on sock's stdout at the deadline"
                           % (out.n, n))
            time.sleep(0.02)
        tally.ok = out.n
        with open(o["out"], "rb") as f:
            seen = sorted(f.read().splitlines(keepends=True))
        if seen != lines:
            extra = sorted(set(seen) - set(lines))[:3]
            missing = sorted(set(lines) - set(seen))[:3]
            tally.fail("sock's stdout has %d lines, not the %d sent "
                       "(missing %r, extra %r)" % (len(seen), n, missing, extra))
        still_open(socks, tally)
        print("mass: %s (connected in %.1f s, all lines out in %.1f s)"
              % (tally.line(), up - start, time.monotonic() - up), flush=True)
    elif mode == "broadcast":
        err = LineCount(o["err"], "sock: connection from")
        tally = Tally(n, "of the %d others got the line" % (n - 1))
        socks = open_all(port, n, tally, deadline)
        up = time.monotonic()
        # The broker must have taken them all before the line is sent.
        while err.count() < n:
            if time.monotonic() > deadline:
                tally.fail("sock said \"connection from\" %d times, not %d"
                           % (err.n, n))
            time.sleep(0.02)
        taken = time.monotonic()
        line = b"one line from client 0 to the %d others\n" % (n - 1)
        try:
            if socks[0].send(line) != len(line):
                tally.fail("client 0: its line did not fit")
        except OSError as e:
            tally.fail("client 0: sending its line: %s" % e)
        echo_all(socks[1:], [line] * (n - 1), tally, deadline, send=False)
        still_open(socks, tally)
        print("mass: %s (connected in %.1f s, all taken by sock %.1f s "
              "later, broadcast in %.1f s)"
              % (tally.line(), up - start, taken - up,
                 time.monotonic() - taken), flush=True)
    else:
        fail("mass: unknown mode " + mode)
    for s in socks:
        s.close()
    if tally.problems:
        print("mass: %d problems, first: %s" % (len(tally.problems),
                                                tally.problems[0]), flush=True)
        sys.exit(1)


def attempt(port, msg, out=None, secs=2.0, who="a client"):
    """One client: connect, send msg, and see what sock does with it
    within secs: relay it (echoed back, or with out, a line of that file)
    -> ("served", socket), or close the client at once, nothing relayed
    -> ("closed", None). Anything else fails: sock would hang."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=secs)
    except ConnectionResetError:
        return "closed", None       # reset as soon as it was accepted
    except OSError as e:
        fail("%s: connect: %s" % (who, e))
    end = time.monotonic() + secs
    got = b""
    try:
        s.sendall(msg)
        s.setblocking(False)
        while True:
            left = end - time.monotonic()
            if left <= 0:
                fail("%s was neither served nor closed within %.0f s"
                     % (who, secs))
            r, _, _ = select.select([s], [], [], min(left, 0.02 if out else left))
            if r:
                d = s.recv(65536)
                if not d:
                    break
                got += d
                if got == msg and out is None:
                    s.setblocking(True)
                    return "served", s
                if len(got) >= len(msg):
                    fail("%s got %r" % (who, got[:80]))
            if out is not None and msg in open(out, "rb").read():
                s.setblocking(True)
                return "served", s
    except (ConnectionResetError, BrokenPipeError):
        pass
    if got:
        fail("%s, closed, got %r first" % (who, got[:80]))
    if out is not None and msg in open(out, "rb").read():
        fail("%s: %r was relayed to stdout, and then it was closed"
             % (who, msg))
    s.close()
    return "closed", None


def echoes(s, msg, secs=5):
    s.settimeout(secs)
    s.sendall(msg)
    got = b""
    while len(got) < len(msg):
        d = s.recv(len(msg) - len(got))
        if not d:
            return False
        got += d
    return got == msg


def leave(s, echoing, reset=False):
    """Close a served client the way a polite one does: the FIN, and with
    an echo behind sock, the echo's FIN back first; or with reset, at
    once with a reset (sock must then let its descriptor go, where a
    -k server keeps a half-closed client's for what stdin says)."""
    if reset:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     struct.pack("ii", 1, 0))
        s.close()
        return
    s.shutdown(socket.SHUT_WR)
    if echoing:
        s.settimeout(5)
        if read_to_eof(s) != b"":
            fail("a leaving client got bytes")
    s.close()


def admit_again(port, out, tag, secs=5.0):
    """Clients until one is served (each closed at once is retried, for
    sock may take a moment to see a client leave): that one, and how many
    were closed first."""
    end, closed = time.monotonic() + secs, 0
    while time.monotonic() < end:
        what, s = attempt(port, b"%s %d\n" % (tag, closed), out,
                          who="a client after others left (%d closed at "
                          "once before it)" % closed)
        if what == "served":
            return s, closed
        closed += 1
    fail("no client served within %.0f s of others leaving (%d closed at "
         "once)" % (secs, closed))


def capped(port, n, out=None):
    """peer.py max-conns PORT N [OUT]: see the docstring."""
    port, n = int(port), int(n)
    held = []
    for i in range(n):
        what, s = attempt(port, b"held %d\n" % i, out, 5,
                          "client %d of %d" % (i + 1, n))
        if what != "served":
            fail("client %d of %d was closed at once" % (i + 1, n))
        held.append(s)
    t = time.monotonic()
    what, _ = attempt(port, b"one too many\n", out,
                      who="client %d, beyond --max-conns" % (n + 1))
    if what != "closed":
        fail("client %d was served beyond --max-conns %d" % (n + 1, n))
    took = time.monotonic() - t
    for i, s in enumerate(held):
        if out is None:
            if not echoes(s, b"again %d\n" % i):
                fail("client %d no longer echoes" % i)
        else:
            s.sendall(b"again %d\n" % i)
    if out is not None:
        lines = LineCount(out, "again ")
        end = time.monotonic() + 5
        while lines.count() < n:
            if time.monotonic() > end:
                fail("%d of %d second lines relayed" % (lines.n, n))
            time.sleep(0.02)
        if b"one too many" in open(out, "rb").read():
            fail("the refused client's line was relayed")
    leave(held.pop(0), out is None)
    s, refused = admit_again(port, out, b"new")
    held.append(s)
    print("%d served and held; client %d closed at once (%.3f s), nothing "
          "relayed; the %d still %s; one left, and a new client was served "
          "(%d closed at once before it)" % (n, n + 1, took, n,
                                            "echo" if out is None else "relay",
                                            refused), flush=True)
    for s in held:
        s.close()


def ticks(pid):
    """utime + stime of process pid, in clock ticks."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def relayed(socks, tag, out):
    """Each of socks is still served: sends "TAG I\n", and that comes
    back (or, with out, shows in that file)."""
    if out is None:
        for i, s in enumerate(socks):
            if not echoes(s, b"%s %d\n" % (tag, i)):
                fail("served client %d no longer echoes" % i)
        return
    for i, s in enumerate(socks):
        s.sendall(b"%s %d\n" % (tag, i))
    lines, end = LineCount(out, tag.decode() + " "), time.monotonic() + 5
    while lines.count() < len(socks):
        if time.monotonic() > end:
            fail("%d of the %d served clients' lines relayed"
                 % (lines.n, len(socks)))
        time.sleep(0.02)


def starved(port, pid, *opts):
    """peer.py no-fds PORT PID [KEY=VALUE...]: see the docstring."""
    port, pid = int(port), int(pid)
    o = dict(a.partition("=")[::2] for a in opts)
    most, cpu, out = int(o.get("most", 200)), float(o.get("cpu", 0.25)), \
        o.get("out")
    served, closed = [], 0
    for i in range(most):
        what, s = attempt(port, b"client %d\n" % i, out, who="client %d (%d "
                          "served, %d closed before it)"
                          % (i + 1, len(served), closed))
        if what == "served":
            served.append(s)
        else:
            closed += 1
            if closed == 5:
                break
    else:
        fail("all %d clients served: the descriptors never ran out" % most)
    if not served:
        fail("not one client served")
    first = len(served)
    if "served" in o and first != int(o["served"]):
        fail("%d clients served before the first was closed, not %s"
             % (first, o["served"]))
    # About a second of clients closed at once (one every 10 ms: the
    # clients' pace, not a wait): sock's CPU meanwhile.
    hz = os.sysconf("SC_CLK_TCK")
    t0, start, tries = ticks(pid), time.monotonic(), 0
    while time.monotonic() - start < 1.0:
        what, s = attempt(port, b"more %d\n" % tries, out,
                          who="a client with %d held, %d closed at once "
                          "before it" % (len(served), closed + tries))
        if what == "served":
            served.append(s)
        tries += 1
        time.sleep(0.01)
    used = (ticks(pid) - t0) / hz
    spent = time.monotonic() - start
    late = len(served) - first
    relayed(served, b"still", out)
    gone = min(3, len(served))
    for s in served[:gone]:
        leave(s, out is None, reset=out is not None)
    del served[:gone]
    s, refused = admit_again(port, out, b"after")
    served.append(s)
    print("%d served, then %d closed at once; %d more clients in %.2f s "
          "(%d of them served) cost sock %.2f s of CPU; the %d served still "
          "%s; %d left and a new client was served (%d closed at once "
          "before it)" % (first, closed, tries, spent, late, used,
                          first + late, "echo" if out is None else "relay",
                          gone, refused), flush=True)
    if used > cpu:
        fail("sock used %.2f s of CPU in %.2f s of refusing clients (the "
             "bound is %.2f s): does its loop spin?" % (used, spent, cpu))
    for s in served:
        s.close()


def s5_addr(data, at):
    """The SOCKS5 address at data[at:]: (host, port, end) or None."""
    if len(data) < at + 1:
        return None
    atyp = data[at]
    if atyp == 1 and len(data) >= at + 7:
        return socket.inet_ntop(socket.AF_INET, data[at + 1:at + 5]), \
            struct.unpack("!H", data[at + 5:at + 7])[0], at + 7
    if atyp == 4 and len(data) >= at + 19:
        return socket.inet_ntop(socket.AF_INET6, data[at + 1:at + 17]), \
            struct.unpack("!H", data[at + 17:at + 19])[0], at + 19
    if atyp == 3 and len(data) >= at + 2 and len(data) >= at + 4 + data[at + 1]:
        n = data[at + 1]
        return data[at + 2:at + 2 + n].decode("latin-1"), \
            struct.unpack("!H", data[at + 2 + n:at + 4 + n])[0], at + 4 + n
    return None


def s5_make(host, port, frag=0):
    """A SOCKS5 UDP header for host (an address or a name) and port."""
    for fam, atyp in ((socket.AF_INET, 1), (socket.AF_INET6, 4)):
        try:
            return bytes([0, 0, frag, atyp]) + socket.inet_pton(fam, host) + \
                struct.pack("!H", port)
        except OSError:
            pass
    return bytes([0, 0, frag, 3, len(host)]) + host.encode() + \
        struct.pack("!H", port)


def recv_exact(c, n):
    data = b""
    while len(data) < n:
        d = c.recv(n - len(data))
        if not d:
            fail("EOF in the SOCKS5 handshake")
        data += d
    return data


def socks5_udp_proxy(portfile, *acts):
    opts = dict(a.partition("=")[::2] for a in acts)
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    write_atomic(portfile, "%d\n" % ls.getsockname()[1])
    ls.settimeout(30)
    c, _ = ls.accept()
    c.settimeout(30)
    ver, n = recv_exact(c, 2)
    methods = recv_exact(c, n)
    if "auth" in opts:
        if 2 not in methods:
            c.sendall(b"\x05\xff")
            return
        c.sendall(b"\x05\x02")
        recv_exact(c, 1)
        user = recv_exact(c, recv_exact(c, 1)[0])
        pw = recv_exact(c, recv_exact(c, 1)[0])
        ok = opts["auth"].encode() == user + b":" + pw
        c.sendall(b"\x01" + (b"\x00" if ok else b"\x01"))
        if not ok:
            return
    else:
        c.sendall(b"\x05\x00")
    head = recv_exact(c, 4)
    if head[3] == 1:
        rest = recv_exact(c, 6)
    elif head[3] == 4:
        rest = recv_exact(c, 18)
    else:
        n = recv_exact(c, 1)
        rest = n + recv_exact(c, n[0] + 2)
    host, port, _ = s5_addr(bytes([head[3]]) + rest, 0)
    log = open(opts["reqlog"], "a") if "reqlog" in opts else None
    if log:
        log.write("request %d %s %d %d\n" % (head[3], host, port, head[1]))
        log.flush()
    if head[1] != 3:
        c.sendall(b"\x05\x07\x00\x01\0\0\0\0\0\0")
        return
    relay = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    relay.bind(("127.0.0.1", 0))
    other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    other.bind(("127.0.0.1", 0))
    c.sendall(b"\x05\x00\x00\x01\0\0\0\0" +
              struct.pack("!H", relay.getsockname()[1]))
    end = time.monotonic() + 30
    while time.monotonic() < end:
        r, _, _ = select.select([relay, c], [], [], 1)
        if c in r and not c.recv(512):
            return
        if relay not in r:
            continue
        data, addr = relay.recvfrom(65536)
        a = s5_addr(data, 3)
        if a is None:
            continue
        thost, tport, at = a
        if log:
            log.write("datagram %s %d %s\n" % (thost, tport,
                                               data[at:].decode("latin-1")))
            log.flush()
        answer = s5_make(thost, tport) + b"echo:" + data[at:]
        if "hostile" in opts:
            relay.sendto(b"\x00\x00", addr)
            relay.sendto(b"\x00\x00\x00\x09abcdefgh", addr)
            relay.sendto(b"\x00\x00\x00\x03\xffabc", addr)
            relay.sendto(b"\x00\x00\x00\x01\x7f", addr)
            relay.sendto(s5_make(thost, tport, frag=1) + b"fragment", addr)
            relay.sendto(s5_make("127.0.0.2", tport) + b"other source", addr)
            relay.sendto(s5_make(thost, tport + 1 & 0xffff) + b"other port",
                         addr)
            other.sendto(answer + b" (not the relay)", addr)
        relay.sendto(answer, addr)
        if "close" in opts:
            c.close()
            time.sleep(3)
            return


def socks5_udp(port, tport, *acts):
    c = socket.create_connection(("127.0.0.1", int(port)), timeout=10)
    tport = int(tport)
    auth = [a[5:] for a in acts if a.startswith("auth=")]
    if auth:
        c.sendall(b"\x05\x01\x02")
        if recv_exact(c, 2) != b"\x05\x02":
            fail("the proxy did not choose username/password")
        user, _, pw = auth[0].partition(":")
        c.sendall(bytes([1, len(user)]) + user.encode() + bytes([len(pw)]) +
                  pw.encode())
        if recv_exact(c, 2) != b"\x01\x00":
            print("AUTH FAILED", flush=True)
            return
    else:
        c.sendall(b"\x05\x01\x00")
        if recv_exact(c, 2) != b"\x05\x00":
            fail("the proxy wants authentication")
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    dst = ("0.0.0.0", 0) if "zero" in acts else u.getsockname()
    c.sendall(b"\x05\x03\x00" + s5_make(dst[0], dst[1])[3:])
    head = recv_exact(c, 4)
    if head[1] != 0:
        print("REFUSED %d" % head[1], flush=True)
        return
    if "refused" in acts:
        fail("UDP ASSOCIATE was granted")
    rest = recv_exact(c, 6 if head[3] == 1 else 18)
    rhost, rport, _ = s5_addr(bytes([head[3]]) + rest, 0)
    if rhost in ("0.0.0.0", "::"):
        rhost = "127.0.0.1"
    relay = (rhost, rport)
    u.settimeout(2)

    def answer(secs):
        u.settimeout(secs)
        while True:
            try:
                data, addr = u.recvfrom(65536)
            except socket.timeout:
                return None
            if addr[:2] != relay:
                fail("a datagram from %s, not the relay" % (addr,))
            return data

    for act in acts:
        op, _, arg = act.partition("=")
        if op == "send":
            u.sendto(s5_make("127.0.0.1", tport) + arg.encode(), relay)
            data = answer(2)
            if data is None:
                fail("no answer to %s" % arg)
            a = s5_addr(data, 3)
            if a is None or data[2] != 0:
                fail("a bad header in the answer: %r" % data[:20])
            print("REPLY %s %d %s" % (a[0], a[1],
                                      data[a[2]:].decode("latin-1")),
                  flush=True)
        elif op == "name":
            host, _, word = arg.partition(",")
            u.sendto(s5_make(host, tport) + word.encode(), relay)
            data = answer(2)
            if data is None:
                fail("no answer to %s" % word)
            a = s5_addr(data, 3)
            print("REPLY %s %d %s" % (a[0], a[1],
                                      data[a[2]:].decode("latin-1")),
                  flush=True)
        elif op in ("silent", "frag"):
            u.sendto(s5_make("127.0.0.1", tport, 1 if op == "frag" else 0) +
                     arg.encode(), relay)
            if answer(1) is not None:
                fail("an answer to %s" % arg)
        elif op in ("stranger", "otherport"):
            x = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            x.bind(("127.0.0.2" if op == "stranger" else "127.0.0.1", 0))
            x.sendto(s5_make("127.0.0.1", tport) + arg.encode(), relay)
            x.settimeout(1)
            try:
                x.recvfrom(65536)
                fail("the stranger got an answer")
            except socket.timeout:
                pass
        elif op == "hostile":
            for d in (b"", b"\x00", b"\x00\x00\x00\x09abcdefgh",
                      b"\x00\x00\x00\x03\xffabc", b"\x00\x00\x00\x01\x7f",
                      b"\x00\x00\x00\x04" + b"\x00" * 10,
                      b"\x01\x00\x00\x01\x7f\x00\x00\x01\x00\x07x"):
                u.sendto(d, relay)
        elif op == "close":
            c.close()
        elif op == "sleep":
            time.sleep(float(arg))
    c.close()


# The subcommands besides listen and connect, by name.
TOOLS = {
    "bound": bound,
    "window": window, "udp": udp, "udp-send": udp_send,
    "dtls-junk": dtls_junk, "origin": origin,
    "raw": raw, "many": many, "recv-fd": recv_fd, "pty": pty_run,
    "line-wait": line_wait, "slow-read": slow_read, "can": can,
    "hexdump": hexdump, "parse-dump": parse_dump, "tty-lines": tty_lines,
    "strip-notices": strip_notices, "tls-torn": tls_torn,
    "byte-counts": byte_counts, "term": term, "echo-server": echo_server,
    "mass": mass, "max-conns": capped, "no-fds": starved,
    "socks5-udp-proxy": socks5_udp_proxy, "socks5-udp": socks5_udp,
}

if len(sys.argv) < 2:
    fail("usage: peer.py listen|connect|blackhole|closed-port|free-port|"
         + "|".join(TOOLS) + " ...")
if sys.argv[1] == "blackhole":
    blackhole(int(sys.argv[2]) if len(sys.argv) > 2 else 0,
              sys.argv[3:] or ("127.0.0.1",))
    sys.exit(0)
if sys.argv[1] in TOOLS:
    TOOLS[sys.argv[1]](*sys.argv[2:])
    sys.exit(0)
if sys.argv[1] == "closed-port":
    # Bound, so no one else gets the port; not listening, so a SYN to it
    # is answered with a reset.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1], flush=True)
    time.sleep(60)
    sys.exit(0)
if sys.argv[1] == "free-port":
    free_port(sys.argv[2] if len(sys.argv) > 2 else "tcp")
    sys.exit(0)

# ------------------------------------------------ fault-test stdin sources
# (test/netloss.bats, test/faults.bats, test/stress.bats)


def paced_lines(n, secs, hold):
    for k in range(n):
        if k:
            time.sleep(secs)
        sys.stdout.write("line %d\n" % (k + 1))
        sys.stdout.flush()
    time.sleep(hold)


def paced_copy(path, chunk, pause):
    out = sys.stdout.buffer
    with open(path, "rb") as f:
        while True:
            d = f.read(chunk)
            if not d:
                break
            out.write(d)
            out.flush()
            time.sleep(pause)


if sys.argv[1] == "pace":
    paced_lines(int(sys.argv[2]), float(sys.argv[3]),
                float(sys.argv[4]) if len(sys.argv) > 4 else 0)
    sys.exit(0)
if sys.argv[1] == "feed":
    paced_copy(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 65536, 0.01)
    sys.exit(0)
if sys.argv[1] == "trickle":
    paced_copy(sys.argv[2], 1, 0.005)
    sys.exit(0)
# ------------------------------------------------ end of fault-test sources

if sys.argv[1] not in ("listen", "connect") or len(sys.argv) < 3:
    fail("unknown subcommand " + " ".join(sys.argv[1:]))

role, where, acts = sys.argv[1], sys.argv[2], sys.argv[3:]
setup = dict(a.partition("=")[::2] for a in acts
             if a.partition("=")[0] in ("rcvbuf", "port", "mptcp"))
# The first action that is not a setup one (no_client and hold must be it).
first = next((a for a in acts if a.partition("=")[0] not in setup), "")


def stream_socket():
    """A TCP (or, with mptcp, MPTCP) socket with the setup actions'
    options applied."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM,
                      262 if "mptcp" in setup else 0)
    if "rcvbuf" in setup:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, int(setup["rcvbuf"]))
    return s


if role == "listen":
    for port in [int(p) for p in setup.get("port", "0").split(",")]:
        srv = stream_socket()
        if port:
            srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            srv.bind(("127.0.0.1", port))
            break
        except OSError:
            srv.close()
    else:
        write_atomic(where, "none\n")
        sys.exit(0)
    # hold= takes no client: room for several probes in the queue.
    srv.listen(16 if first.startswith("hold=") else 1)
    write_atomic(where, "%d\n" % srv.getsockname()[1])
    if first.startswith("no_client="):
        srv.settimeout(float(first.partition("=")[2]))
        try:
            srv.accept()
        except socket.timeout:
            sys.exit(0)
        fail("a client connected")
    if first.startswith("hold="):
        time.sleep(float(first.partition("=")[2]))
        sys.exit(0)
    c, _ = srv.accept()
    srv.close()
else:
    c = stream_socket()
    c.connect(("127.0.0.1", int(where)))
if os.environ.get("PEER_NODELAY"):
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

def recv_into(path, slow=False):
    with open(path, "wb") as f:
        while True:
            if slow:
                d = c.recv(65536, socket.MSG_WAITALL)
                time.sleep(0.03)
            else:
                d = c.recv(65536)
            if not d:
                break
            f.write(d)
            f.flush()

for act in acts:
    op, _, arg = act.partition("=")
    if op in setup or op in ("no_client", "hold"):
        pass
    elif op == "tls":
        import ssl
        cert, key = arg.split(",")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        c = ctx.wrap_socket(c, server_side=True)
    elif op == "peer":
        write_atomic(arg, "%s %d\n" % c.getpeername())
    elif op == "protocol":
        write_atomic(arg, "%d\n" % c.getsockopt(socket.SOL_SOCKET,
                                                 socket.SO_PROTOCOL))
    elif op == "name":
        write_atomic(arg, "%d\n" % c.getsockname()[1])
    elif op == "send":
        with open(arg, "rb") as f:
            c.sendall(f.read())
    elif op == "sendstr":
        c.sendall(arg.encode())
    elif op == "sendhex":
        c.sendall(bytes.fromhex(arg))
    elif op == "sendn":
        c.sendall(b"x" * int(arg))
    elif op == "drip":
        hx, secs = arg.split(",")
        for b in bytes.fromhex(hx):
            c.sendall(bytes([b]))
            time.sleep(float(secs))
    elif op == "flood":
        left, block = int(arg), os.urandom(1 << 20)
        try:
            while left > 0:
                n = c.send(block[:left])
                left -= n
        except OSError:
            pass
    elif op == "fill":
        c.settimeout(2)
        try:
            while True:
                c.send(b"x" * 65536)
        except socket.timeout:
            open(arg, "w").close()
        c.settimeout(None)
    elif op == "stream":
        n, secs = arg.split(",")
        for k in range(int(n)):
            if k:
                time.sleep(float(secs))
            c.sendall(b"line %d\n" % (k + 1))
    elif op == "both":
        src, dst = arg.split(",")
        def sender():
            with open(src, "rb") as f:
                c.sendall(f.read())
            c.shutdown(socket.SHUT_WR)
        t = threading.Thread(target=sender)
        t.start()
        recv_into(dst)
        t.join()
    elif op == "recv_all":
        recv_into(arg)
    elif op == "slow_recv":
        recv_into(arg, slow=True)
    elif op == "recv_n":
        n, _, path = arg.partition(",")
        left, got = int(n), []
        while left > 0:
            d = c.recv(min(left, 65536))
            if not d:
                fail("EOF with %d bytes still expected" % left)
            if path:
                got.append(d)
            left -= len(d)
        if path:
            with open(path, "wb") as f:
                f.write(b"".join(got))
    elif op == "paced_recv":
        n, secs = arg.split(",")
        total, rate, got = int(n), int(n) / float(secs), 0
        start = time.monotonic()
        while True:
            ahead = got / rate - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)
            d = c.recv(16384)
            if not d:
                break
            got += len(d)
        if got != total:
            fail("paced_recv: got %d bytes, expected %d" % (got, total))
    elif op == "lines":
        n, path = arg.split(",")
        data, stamps = b"", []
        while len(stamps) < int(n):
            d = c.recv(1)
            if not d:
                fail("EOF after %d lines" % len(stamps))
            data += d
            if d == b"\n":
                stamps.append(time.monotonic())
        with open(path, "w") as f:
            f.write("".join("%.6f\n" % t for t in stamps))
        with open(path + ".data", "wb") as f:
            f.write(data)
    elif op == "no_eof":
        c.settimeout(float(arg))
        try:
            d = c.recv(65536)
        except socket.timeout:
            d = None
        c.settimeout(None)
        if d is not None:
            fail("expected silence for %s s, got %s" % (arg, repr(d[:20]) if d else "EOF"))
    elif op == "eof_within":
        c.settimeout(float(arg))
        try:
            while c.recv(65536):
                pass
        except socket.timeout:
            fail("no EOF within %s s" % arg)
        c.settimeout(None)
    elif op == "closed_within":
        # As eof_within, but a reset counts as closed too.
        c.settimeout(float(arg))
        try:
            while c.recv(65536):
                pass
        except socket.timeout:
            fail("not closed within %s s" % arg)
        except ConnectionResetError:
            pass
        c.settimeout(None)
    elif op == "shut_wr":
        c.shutdown(socket.SHUT_WR)
    elif op == "rst":
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
    elif op == "cut":
        c.shutdown(socket.SHUT_RDWR)
        c.close()
    elif op == "close":
        c.close()
    elif op == "sleep":
        time.sleep(float(arg))
    elif op == "touch":
        open(arg, "w").close()
    elif op == "await":
        while not os.path.exists(arg):
            time.sleep(0.01)
    else:
        fail("unknown action " + act)