#!/usr/bin/env python3
"""Scripted peers for sock's bats tests (test/helper.bash starts them).

    peer.py listen PORTFILE ACTION...   listen on 127.0.0.1 port 0, write
                                        the port to PORTFILE (atomically),
                                        accept one client, run ACTIONs
    peer.py connect PORT ACTION...      connect to 127.0.0.1 PORT, run ACTIONs
    peer.py blackhole                   print the port of a TCP listener on
                                        127.0.0.1 that never answers a SYN
                                        (or "answers" where that cannot be
                                        made), then hold it for 60 s
    peer.py free-port [tcp|udp]         print a port the kernel just handed
                                        out and released
    peer.py closed-port                 print the port of a TCP socket bound
                                        on 127.0.0.1 that does not listen
                                        (a connect to it is refused), then
                                        hold it for 60 s

Sources for a sock's stdin (fault tests), writing to stdout:

    peer.py pace N SECS [HOLD]          "line K" N times, SECS apart, then
                                        stay open HOLD seconds more
    peer.py feed FILE [CHUNK]           FILE, CHUNK bytes (65536) at a time,
                                        10 ms apart
    peer.py trickle FILE                FILE one byte at a time, 5 ms apart

With PEER_NODELAY set (non-empty) in its environment, the connection of
listen and connect gets TCP_NODELAY.

Actions, run in order (a failed check exits 1 with a "peer:" message):
  rcvbuf=N           (listen, any position) SO_RCVBUF N before listening
  no_client=SECS     (listen, first) check that nobody connects for SECS,
                     then exit 0
  name=FILE          write our own port (the client's port) to FILE
  send=FILE          send the whole file
  sendstr=TEXT       send TEXT
  sendhex=HEX        send these bytes
  sendn=N            send N bytes "x"
  drip=HEX,SECS      send these bytes one at a time, SECS apart
  flood=N            send N bytes as fast as possible; a reset ends it quietly
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
  shut_wr            shutdown(SHUT_WR): send our FIN
  rst                close with SO_LINGER 0: send a reset
  close              close normally
  sleep=SECS         sleep
  touch=FILE         create FILE (a progress mark the test waits for)
  await=FILE         wait until FILE exists (the test's go-ahead)
"""
import os, socket, struct, sys, threading, time


def fail(msg):
    sys.stderr.write("peer: %s\n" % msg)
    sys.exit(1)


def blackhole():
    """A socket with a backlog of 0 that never accepts: one connection
    fills its accept queue, and Linux then drops every further SYN
    (tcp_conn_request: accept queue full), so a connect hangs in SYN_SENT
    until its own timeout. A probe connect checks that before the port is
    printed. Purely local, unlike the usual "unroutable address" trick."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(0)
    port = s.getsockname()[1]
    fill = socket.create_connection(("127.0.0.1", port))
    probe = socket.socket()
    probe.settimeout(0.3)
    try:
        probe.connect(("127.0.0.1", port))
        print("answers", flush=True)
    except socket.timeout:
        print(port, flush=True)
    time.sleep(60)
    fill.close()


def free_port(kind):
    s = socket.socket(socket.AF_INET,
                      socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])


if len(sys.argv) < 2:
    fail("usage: peer.py listen|connect|blackhole|closed-port|free-port ...")
if sys.argv[1] == "blackhole":
    blackhole()
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
if role == "listen":
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    for act in acts:
        if act.startswith("rcvbuf="):
            srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, int(act[7:]))
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    with open(where + ".tmp", "w") as f:
        f.write("%d\n" % srv.getsockname()[1])
    os.rename(where + ".tmp", where)
    if acts and acts[0].startswith("no_client="):
        srv.settimeout(float(acts[0].partition("=")[2]))
        try:
            srv.accept()
        except socket.timeout:
            sys.exit(0)
        fail("a client connected")
    c, _ = srv.accept()
    srv.close()
else:
    c = socket.create_connection(("127.0.0.1", int(where)))
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
    if op == "rcvbuf":
        pass
    elif op == "name":
        with open(arg + ".tmp", "w") as f:
            f.write("%d\n" % c.getsockname()[1])
        os.rename(arg + ".tmp", arg)
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
    elif op == "shut_wr":
        c.shutdown(socket.SHUT_WR)
    elif op == "rst":
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
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