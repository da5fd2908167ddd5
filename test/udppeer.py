#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""UDP peers for test/udpfwd.bats and bench/bench.sh (UDP forwarding).

    udppeer.py echo PORTFILE [ADDR] [LOG]
                                a UDP server on ADDR (127.0.0.1) port 0,
                                port to PORTFILE: answers each datagram
                                with "reply to " and the datagram (one of
                                1 byte or more than 60000 is answered as
                                it came, whole); with LOG, appends "PORT
                                SIZE" (the sender's port, the size) a
                                line per datagram; for 120 s
    udppeer.py sizes PORT ADDR SIZE...
                                from ADDR (127.0.0.1, or ::1), send one
                                datagram of each SIZE to PORT on the same
                                address family's loopback and check that
                                each comes back whole, in order (echo's
                                answer); print "ok"
    udppeer.py senders PORT N   N sockets on 127.0.0.1 each send one
                                datagram naming itself (25 at a time)
                                and must get back exactly their own
                                answer; print "ok N"
    udppeer.py send PORT ADDR TEXT COUNT WAIT [FROM]
                                from one socket bound to ADDR (port FROM,
                                or any) send TEXT to PORT on loopback
                                COUNT times; print each
                                answer that comes within WAIT seconds of
                                the last, one a line, then "done"
    udppeer.py seq HOST PORT COUNT SIZE GAP
                                send COUNT datagrams of SIZE bytes, each
                                naming its number, to HOST PORT, GAP
                                seconds apart; take echo's answers
                                meanwhile and for 1 s after; fail if one
                                is not whole or comes out of order or
                                twice; print "answered N"
    udppeer.py idle PORT N      N senders on 127.0.0.1, 25 at a time, each
                                send one datagram, wait for its answer
                                and close: N sessions left idle; print
                                "ok N"
    udppeer.py spray PORT N     N senders on 127.0.0.1, 100 at a time,
                                each send one datagram and close;
                                print "sent N"
    udppeer.py pingpong PORT N  one sender, N round trips one after the
                                other; print "ok N"
    udppeer.py dns PORTFILE     a DNS server on 127.0.0.1 port 0 that
                                answers every A query with 192.0.2.53
    udppeer.py dns-query PORT NAME
                                ask 127.0.0.1 PORT for NAME's A record
                                and print the address answered
    udppeer.py blast PORT SECS SIZE
                                send SIZE-byte datagrams to 127.0.0.1
                                PORT as fast as echo answers them (a
                                window of 32 in flight) for SECS seconds;
                                print "DATAGRAMS LOST" answered and
                                unanswered
"""
import os
import select
import socket
import struct
import sys
import time


def fail(msg):
    sys.stderr.write("udppeer.py: %s\n" % msg)
    sys.exit(1)


def write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def echo(portfile, addr="127.0.0.1", log=None):
    s = socket.socket(family_of(addr), socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind((addr, 0))
    write_atomic(portfile, "%d\n" % s.getsockname()[1])
    end = time.monotonic() + 120
    while time.monotonic() < end:
        s.settimeout(max(end - time.monotonic(), 0.001))
        try:
            data, peer = s.recvfrom(65536)
        except socket.timeout:
            return
        if log is not None:
            with open(log, "a") as f:
                f.write("%d %d\n" % (peer[1], len(data)))
        if len(data) <= 1 or len(data) > 60000:
            s.sendto(data, peer)
        else:
            s.sendto(b"reply to " + data, peer)


def pattern(size, seed):
    return bytes((seed + i * 7) & 0xff for i in range(size))


def answer_of(sent):
    if len(sent) <= 1 or len(sent) > 60000:
        return sent
    return b"reply to " + sent


def sizes(port, addr, *sizes_):
    s = socket.socket(family_of(addr), socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind((addr, 0))
    s.settimeout(5)
    for k, size in enumerate(int(x) for x in sizes_):
        data = pattern(size, k)
        s.sendto(data, (addr, int(port)))
        try:
            got = s.recv(70000)
        except socket.timeout:
            fail("no answer to the %d-byte datagram" % size)
        if got != answer_of(data):
            fail("the %d-byte datagram came back as %d bytes, not %d" %
                 (size, len(got), len(answer_of(data))))
    print("ok")


def senders(port, n):
    n = int(n)
    socks = []
    for i in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    # In waves of 25, so that no socket buffer on the way overflows: the
    # sessions of every wave stay open meanwhile.
    for w in range(0, n, 25):
        for i in range(w, min(w + 25, n)):
            socks[i].sendto(b"sender %d" % i, ("127.0.0.1", int(port)))
        for i in range(w, min(w + 25, n)):
            socks[i].settimeout(5)
            try:
                got = socks[i].recv(65536)
            except socket.timeout:
                fail("sender %d got no answer" % i)
            if got != b"reply to sender %d" % i:
                fail("sender %d got %r" % (i, got))
    for s in socks:
        s.setblocking(False)
        try:
            got = s.recv(65536)
            fail("a second answer: %r" % got)
        except BlockingIOError:
            pass
    print("ok %d" % n)


def send(port, addr, text, count, wait, from_port="0"):
    s = socket.socket(family_of(addr), socket.SOCK_DGRAM)
    s.bind((addr, int(from_port)))
    to = "::1" if ":" in addr else "127.0.0.1"
    for _ in range(int(count)):
        s.sendto(text.encode(), (to, int(port)))
    s.settimeout(float(wait))
    try:
        while True:
            print(s.recv(65536).decode(errors="replace"), flush=True)
    except socket.timeout:
        pass
    print("done", flush=True)


def seq(host, port, count, size, gap):
    s = socket.socket(family_of(host), socket.SOCK_DGRAM)
    s.setblocking(False)
    last = -1
    answered = 0

    def take(until):
        nonlocal last, answered
        while True:
            left = until - time.monotonic()
            if left <= 0:
                return
            r, _, _ = select.select([s], [], [], left)
            if not r:
                return
            try:
                got = s.recv(65536)
            except (BlockingIOError, ConnectionRefusedError):
                continue
            n = int(got[len(b"reply to seq "):].split(b" ")[0])
            if got != answer_of(payload(n)):
                fail("the answer to %d is not whole: %d bytes" % (n, len(got)))
            if n <= last:
                fail("the answer to %d came after that to %d" % (n, last))
            last = n
            answered += 1

    def payload(n):
        head = b"seq %d " % n
        return head + b"." * (int(size) - len(head))

    for n in range(int(count)):
        s.sendto(payload(n), (host, int(port)))
        take(time.monotonic() + float(gap))
    take(time.monotonic() + 1)
    print("answered %d" % answered)


def idle(port, n):
    n = int(n)
    for w in range(0, n, 25):
        batch = []
        for i in range(w, min(w + 25, n)):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            s.sendto(b"idle %d" % i, ("127.0.0.1", int(port)))
            batch.append(s)
        for s in batch:
            s.settimeout(5)
            try:
                s.recv(65536)
            except socket.timeout:
                fail("an idle sender got no answer")
            s.close()
    print("ok %d" % n)


def spray(port, n):
    n = int(n)
    for w in range(0, n, 100):
        batch = []
        for i in range(w, min(w + 100, n)):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            s.sendto(b"spray %d" % i, ("127.0.0.1", int(port)))
            batch.append(s)
        for s in batch:
            s.close()
    print("sent %d" % n)


def pingpong(port, n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    for i in range(int(n)):
        s.sendto(b"ping %d" % i, ("127.0.0.1", int(port)))
        try:
            got = s.recv(65536)
        except socket.timeout:
            fail("no answer to ping %d" % i)
        if got != b"reply to ping %d" % i:
            fail("ping %d got %r" % (i, got))
    print("ok %s" % n)


def dns(portfile):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    write_atomic(portfile, "%d\n" % s.getsockname()[1])
    end = time.monotonic() + 120
    while time.monotonic() < end:
        s.settimeout(max(end - time.monotonic(), 0.001))
        try:
            q, peer = s.recvfrom(65536)
        except socket.timeout:
            return
        if len(q) < 12:
            continue
        qid, _flags, qd = struct.unpack("!HHH", q[:6])
        # The question: labels up to the zero byte, then type and class.
        off = 12
        while off < len(q) and q[off] != 0:
            off += 1 + q[off]
        question = q[12:off + 5]
        head = struct.pack("!HHHHHH", qid, 0x8180, 1, 1, 0, 0)
        answer = struct.pack("!HHHIH", 0xc00c, 1, 1, 60, 4) + \
            socket.inet_aton("192.0.2.53")
        s.sendto(head + question + answer, peer)


def dns_query(port, name):
    q = struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack("!HH", 1, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    s.sendto(q, ("127.0.0.1", int(port)))
    try:
        r = s.recv(65536)
    except socket.timeout:
        fail("no DNS answer")
    if r[:2] != q[:2] or struct.unpack("!H", r[6:8])[0] < 1:
        fail("not an answer to the query: %r" % r)
    print(socket.inet_ntoa(r[-4:]))


def blast(port, secs, size):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.connect(("127.0.0.1", int(port)))
    s.setblocking(False)
    data = b"x" * int(size)
    end = time.monotonic() + float(secs)
    sent = got = 0
    inflight = 0
    last = time.monotonic()
    while time.monotonic() < end:
        while inflight < 32:
            try:
                s.send(data)
            except (BlockingIOError, ConnectionRefusedError):
                break
            sent += 1
            inflight += 1
        r, _, _ = select.select([s], [], [], 0.05)
        if r:
            while True:
                try:
                    s.recv(65536)
                except (BlockingIOError, ConnectionRefusedError):
                    break
                got += 1
                inflight -= 1
            last = time.monotonic()
        elif time.monotonic() - last > 0.05:
            inflight = 0    # a window's worth lost: go on
            last = time.monotonic()
    print("%d %d" % (got, sent - got))


TOOLS = {"echo": echo, "sizes": sizes, "senders": senders, "send": send,
         "seq": seq, "idle": idle, "pingpong": pingpong,
         "spray": spray,
         "dns": dns, "dns-query": dns_query, "blast": blast}

if len(sys.argv) < 2 or sys.argv[1] not in TOOLS:
    fail("usage: udppeer.py " + "|".join(TOOLS) + " ...")
TOOLS[sys.argv[1]](*sys.argv[2:])
