#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Many clients at once against a sock server, from one process
(non-blocking sockets, selectors). Used by test/load.bats.

    load.py keep N SIZE ERRFILE FIFO PID
        N clients of "sock -l -k": each sends SIZE bytes, all of one byte
        value (client i sends i % 256), then its FIN, and reads until EOF.
        Once the server's stderr (ERRFILE, under -v) counts N "connection
        from" lines, a client N+1 must be closed at once, and then SIZE
        random bytes are written to FIFO (the server's stdin) and closed:
        every client must receive exactly those bytes. The port comes
        from the server's "listening on" line; FIFO is opened first (the
        server's shell waits for that to open its stdin). Prints the server's
        VmHWM (PID) once every client has had its data, and writes
        FIFO.expect (the byte counts stdout must hold, one value a line).
    load.py broker PORT N SIZE ERRFILE PID
        N clients of "sock -l --broker": once all are connected, each
        sends one SIZE-byte message naming it; each must receive exactly
        the N-1 messages of the others. Then all close.

Exit 0 when every check passed; a failure prints "load: ..." and exits 1.
"""

import hashlib
import os
import selectors
import socket
import sys
import time

DEADLINE = 120.0


def fail(msg):
    sys.stderr.write("load: %s\n" % msg)
    sys.exit(1)


def count_lines(path, text):
    with open(path, errors="replace") as f:
        return sum(1 for line in f if text in line)


def wait_connections(errfile, n, deadline):
    while count_lines(errfile, "sock: connection from") < n:
        if time.monotonic() > deadline:
            fail("only %d of %d clients accepted" %
                 (count_lines(errfile, "sock: connection from"), n))
        time.sleep(0.02)


def vmhwm(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except FileNotFoundError:
        pass            # it has exited: the caller keeps what it had
    return -1


def connect_all(port, n, deadline):
    socks = []
    for i in range(n):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        socks.append(s)
    # Wait until each connect has finished (writable).
    sel = selectors.DefaultSelector()
    for i, s in enumerate(socks):
        sel.register(s, selectors.EVENT_WRITE, i)
    left = n
    while left:
        if time.monotonic() > deadline:
            fail("%d connects still pending" % left)
        for key, _ in sel.select(1):
            err = key.fileobj.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                fail("client %d: connect: %s" % (key.data, os.strerror(err)))
            sel.unregister(key.fileobj)
            left -= 1
    sel.close()
    return socks


def beyond_limit(port, errfile):
    """One more client: sock must close it at once (EOF or reset within
    2 s) and say so."""
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    start = time.monotonic()
    try:
        d = s.recv(1)
    except socket.timeout:
        fail("the client beyond --max-conns was not closed within 2 s")
    except ConnectionResetError:
        d = b""
    if d:
        fail("the client beyond --max-conns got data")
    s.close()
    took = time.monotonic() - start
    end = time.monotonic() + 2
    while count_lines(errfile, "(--max-conns)") < 1:
        if time.monotonic() > end:
            fail("no 'refused ... (--max-conns)' line on stderr")
        time.sleep(0.02)
    print("client %s: closed after %.3f s" % ("beyond the limit", took))


def pump(socks, outgoing, deadline, shut_after=True, after_all_sent=None,
         each_round=None):
    """Send outgoing[i] on socks[i] (then SHUT_WR if shut_after), and read
    every socket until EOF, calling each_round before every select() while
    a socket is open. Returns the bytes each received."""
    sel = selectors.DefaultSelector()
    got = [bytearray() for _ in socks]
    off = [0] * len(socks)
    for i, s in enumerate(socks):
        ev = selectors.EVENT_READ | (selectors.EVENT_WRITE if outgoing[i] else 0)
        sel.register(s, ev, i)
        if not outgoing[i] and shut_after:
            s.shutdown(socket.SHUT_WR)
    open_ = len(socks)
    unsent = sum(1 for o in outgoing if o)
    if not unsent and after_all_sent:
        after_all_sent()
        after_all_sent = None
    while open_:
        if each_round is not None:
            each_round()
        if time.monotonic() > deadline:
            short = [i for i in range(len(socks)) if socks[i].fileno() != -1]
            fail("%d clients unfinished after %d s (first: %d, got %d bytes)"
                 % (len(short), DEADLINE, short[0], len(got[short[0]])))
        for key, mask in sel.select(1):
            i, s = key.data, key.fileobj
            if mask & selectors.EVENT_WRITE:
                try:
                    n = s.send(outgoing[i][off[i]:off[i] + 65536])
                except BlockingIOError:
                    n = 0
                except OSError as e:
                    fail("client %d: send: %s" % (i, e))
                off[i] += n
                if off[i] == len(outgoing[i]):
                    if shut_after:
                        s.shutdown(socket.SHUT_WR)
                    sel.modify(s, selectors.EVENT_READ, i)
                    unsent -= 1
                    if not unsent and after_all_sent:
                        after_all_sent()
                        after_all_sent = None
            if mask & selectors.EVENT_READ:
                try:
                    d = s.recv(65536)
                except BlockingIOError:
                    continue
                except OSError as e:
                    fail("client %d: recv: %s" % (i, e))
                if d:
                    got[i].extend(d)
                else:
                    sel.unregister(s)
                    open_ -= 1
                    s.close()
    sel.close()
    return got


def listening_port(errfile, deadline):
    while time.monotonic() < deadline:
        try:
            with open(errfile, errors="replace") as f:
                for line in f:
                    if line.startswith("sock: listening on ") and \
                            line.endswith("(tcp)\n"):
                        return int(line.split(" port ")[1].split()[0])
        except FileNotFoundError:
            pass        # the shell opens stderr after stdin, the FIFO
        time.sleep(0.02)
    fail("no listening line in " + errfile)


def keep(n, size, errfile, fifo, pid):
    deadline = time.monotonic() + DEADLINE
    hwm = [-1]
    # The server's stdin: sock (its shell) is blocked opening it until we
    # open it; written once every client is there, so each gets all of it.
    fd = os.open(fifo, os.O_WRONLY)
    port = listening_port(errfile, deadline)
    socks = connect_all(port, n, deadline)
    wait_connections(errfile, n, deadline)
    beyond_limit(port, errfile)
    down = os.urandom(size)
    want = hashlib.sha256(down).hexdigest()
    outgoing = [bytes([i % 256]) * size for i in range(n)]
    with open(fifo + ".expect", "w") as f:
        for v in range(256):
            f.write("%d\n" % (size * sum(1 for i in range(n) if i % 256 == v)))
    os.write(fd, down)
    os.close(fd)
    # Sample VmHWM on every round of the transfer: the server exits once
    # stdin is over and the last client has gone, which can be before this
    # process has read a single EOF of the 1000 when it is slow to get the
    # CPU; the first round is always before that, since the server cannot
    # finish before it has had our bytes.
    got = pump(socks, outgoing, deadline, each_round=lambda: hwm.append(vmhwm(pid)))
    bad = [i for i in range(n) if hashlib.sha256(got[i]).hexdigest() != want]
    if bad:
        fail("%d clients got other bytes than stdin's %d (client %d: %d bytes)"
             % (len(bad), size, bad[0], len(got[bad[0]])))
    print("%d clients each sent %d bytes and received %d intact" % (n, size, size))
    print("VmHWM %d kB" % max(hwm))


def broker(port, n, size, errfile, pid):
    deadline = time.monotonic() + DEADLINE
    socks = connect_all(port, n, deadline)
    wait_connections(errfile, n, deadline)
    beyond_limit(port, errfile)
    msgs = [(b"client %04d " % i).ljust(size - 1, b"x") + b"\n" for i in range(n)]
    # Each sends its message; nobody closes until all have theirs, so the
    # receive loop stops by count, not by EOF.
    sel = selectors.DefaultSelector()
    got = [bytearray() for _ in socks]
    want_len = (n - 1) * size
    for i, s in enumerate(socks):
        s.setblocking(True)
        s.sendall(msgs[i])
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, i)
    done = 0
    while done < n:
        if time.monotonic() > deadline:
            short = [i for i in range(n) if len(got[i]) < want_len]
            fail("%d clients short after %d s (client %d: %d of %d bytes)"
                 % (len(short), DEADLINE, short[0], len(got[short[0]]), want_len))
        for key, _ in sel.select(1):
            i, s = key.data, key.fileobj
            try:
                d = s.recv(65536)
            except BlockingIOError:
                continue
            if not d:
                fail("client %d: EOF after %d bytes" % (i, len(got[i])))
            got[i].extend(d)
            if len(got[i]) >= want_len:
                sel.unregister(s)
                done += 1
    sel.close()
    hwm = vmhwm(pid)
    for i in range(n):
        lines = sorted(bytes(got[i]).splitlines(keepends=True))
        expect = sorted(m for j, m in enumerate(msgs) if j != i)
        if lines != expect:
            fail("client %d did not get exactly the other %d messages" % (i, n - 1))
    for s in socks:
        s.close()
    print("%d clients each sent %d bytes and received the other %d messages "
          "(%d bytes) intact" % (n, size, n - 1, want_len))
    print("VmHWM %d kB" % hwm)


def main():
    mode = sys.argv[1]
    if mode == "keep":
        n, size = int(sys.argv[2]), int(sys.argv[3])
        keep(n, size, sys.argv[4], sys.argv[5], int(sys.argv[6]))
    elif mode == "broker":
        port, n, size = (int(a) for a in sys.argv[2:5])
        broker(port, n, size, sys.argv[5], int(sys.argv[6]))
    else:
        fail("unknown mode " + mode)


if __name__ == "__main__":
    main()
