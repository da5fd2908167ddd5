#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""A crowd of stalled clients, for sock's bats tests (test/preamble.bats, test/lockout.bats).

    crowd.py PORT N HEX SECS

Opens N TCP connections to 127.0.0.1 PORT, sends the bytes HEX (may be
empty) on each and then nothing more, prints "ready" once all are
connected, and holds them for at most SECS seconds. Then prints how many
the server closed (EOF or reset) in that time, and the seconds from
"ready" until the last of those closes, and exits 0. Exits 1 with a
"crowd:" message if it cannot connect.
"""
import select, socket, sys, time


def main():
    port, n, hexbytes, secs = (int(sys.argv[1]), int(sys.argv[2]),
                               bytes.fromhex(sys.argv[3]),
                               float(sys.argv[4]))
    socks = []
    try:
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            if hexbytes:
                s.sendall(hexbytes)
            s.setblocking(False)
            socks.append(s)
    except OSError as e:
        sys.stderr.write("crowd: connect %d of %d: %s\n" %
                         (len(socks) + 1, n, e))
        sys.exit(1)
    print("ready", flush=True)
    start = time.monotonic()
    open_ = set(socks)
    last = 0.0
    while open_:
        left = secs - (time.monotonic() - start)
        if left <= 0:
            break
        ready, _, _ = select.select(list(open_), [], [], left)
        for s in ready:
            try:
                data = s.recv(65536)
            except ConnectionResetError:
                data = b""
            except BlockingIOError:
                continue
            if not data:
                open_.discard(s)
                last = time.monotonic() - start
    print("closed %d in %.2f" % (n - len(open_), last), flush=True)
    for s in socks:
        s.close()


main()
