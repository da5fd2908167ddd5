#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""A scripted proxy for test/proxy.bats (python3 standard library only).

    proxy_peer.py TYPE PORTFILE LOG [OPTION...]

TYPE is socks4 (SOCKS4 and SOCKS4a), socks5 or http (CONNECT). The proxy
listens on 127.0.0.1 port 0, writes its port to PORTFILE (atomically) and
serves every client in a thread of its own until it is killed: it reads
the request strictly, appends one line saying what it was asked to LOG,
connects to the target (a name is resolved here) and relays both ways,
passing a FIN on as a half-close.

Options:
  auth=USER:PASS   require this user (SOCKS5: RFC 1929; HTTP: Basic, a 407
                   otherwise); SOCKS5 then offers only username/password
  bind=domain      SOCKS5: the reply binds a domain name (ATYP 3)
  interim          HTTP: send a "100 Continue" before the 200
  after=TEXT       send TEXT right after the success reply (\\r \\n escapes)
  clients=FILE     append each client's address to FILE, one a line
  listen=ADDR      listen on ADDR (such as ::1) instead of 127.0.0.1
  refuse=CODE      SOCKS5: reply CODE (1-8) instead of connecting; SOCKS4:
                   reply 91; HTTP: reply "CODE Refused"
  stall=N          the first N clients are accepted and never answered
                   (held open, logged as "stalled")

LOG lines:
  socks5 methods=00,02 [user=U pass=P] atyp=N host=H port=P
  socks4 user=U host=H port=P            (host is the name for SOCKS4a)
  http REQUEST-LINE | HEADER | HEADER ...
"""
import base64
import os
import socket
import struct
import sys
import threading

kind, portfile, logfile = sys.argv[1], sys.argv[2], sys.argv[3]
opts = {}
for arg in sys.argv[4:]:
    k, _, v = arg.partition("=")
    opts[k] = v
log_lock = threading.Lock()


def log(line):
    with log_lock:
        with open(logfile, "a") as f:
            f.write(line + "\n")


def recv_exact(c, n):
    data = b""
    while len(data) < n:
        d = c.recv(n - len(data))
        if not d:
            raise EOFError("client closed after %d of %d bytes" % (len(data), n))
        data += d
    return data


def recv_until_nul(c, limit=1024):
    data = b""
    while True:
        d = recv_exact(c, 1)
        if d == b"\0":
            return data
        data += d
        if len(data) > limit:
            raise ValueError("string too long")


def pump(src, dst):
    try:
        while True:
            d = src.recv(65536)
            if not d:
                break
            dst.sendall(d)
    except OSError:
        pass
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def relay(c, t):
    a = threading.Thread(target=pump, args=(c, t))
    a.start()
    pump(t, c)
    a.join()
    t.close()


def after():
    text = opts.get("after")
    return text.encode().decode("unicode_escape").encode("latin-1") if text else b""


def serve_socks5(c):
    ver, n = recv_exact(c, 2)
    if ver != 5:
        raise ValueError("version %d" % ver)
    methods = recv_exact(c, n)
    words = ["socks5", "methods=" + ",".join("%02x" % m for m in methods)]
    if "auth" in opts:
        if 2 not in methods:
            c.sendall(b"\x05\xff")
            log(" ".join(words))
            return None
        c.sendall(b"\x05\x02")
        ver, ulen = recv_exact(c, 2)
        user = recv_exact(c, ulen)
        (plen,) = recv_exact(c, 1)
        pw = recv_exact(c, plen)
        words += ["user=" + user.decode("latin-1"), "pass=" + pw.decode("latin-1")]
        if ver != 1 or "%s:%s" % (user.decode("latin-1"), pw.decode("latin-1")) != opts["auth"]:
            c.sendall(b"\x01\x01")
            log(" ".join(words))
            return None
        c.sendall(b"\x01\x00")
    else:
        if 0 not in methods:
            c.sendall(b"\x05\xff")
            return None
        c.sendall(b"\x05\x00")
    ver, cmd, rsv, atyp = recv_exact(c, 4)
    if ver != 5 or cmd != 1 or rsv != 0:
        raise ValueError("bad request")
    if atyp == 1:
        host = socket.inet_ntop(socket.AF_INET, recv_exact(c, 4))
    elif atyp == 4:
        host = socket.inet_ntop(socket.AF_INET6, recv_exact(c, 16))
    elif atyp == 3:
        (n,) = recv_exact(c, 1)
        host = recv_exact(c, n).decode("latin-1")
    else:
        raise ValueError("atyp %d" % atyp)
    (port,) = struct.unpack("!H", recv_exact(c, 2))
    words += ["atyp=%d" % atyp, "host=" + host, "port=%d" % port]
    log(" ".join(words))
    if "refuse" in opts:
        c.sendall(bytes([5, int(opts["refuse"]), 0, 1, 0, 0, 0, 0, 0, 0]))
        return None
    try:
        t = socket.create_connection((host, port), timeout=5)
        t.settimeout(None)
    except OSError:
        c.sendall(b"\x05\x05\x00\x01\x00\x00\x00\x00\x00\x00")
        return None
    if opts.get("bind") == "domain":
        name = b"bound.proxy.test"
        rep = b"\x05\x00\x00\x03" + bytes([len(name)]) + name + b"\x10\x00"
    else:
        a, p = t.getsockname()[:2]
        if ":" in a:
            rep = b"\x05\x00\x00\x04" + socket.inet_pton(socket.AF_INET6, a)
        else:
            rep = b"\x05\x00\x00\x01" + socket.inet_aton(a)
        rep += struct.pack("!H", p)
    c.sendall(rep + after())
    return t


def serve_socks4(c):
    ver, cmd = recv_exact(c, 2)
    if ver != 4 or cmd != 1:
        raise ValueError("bad request")
    (port,) = struct.unpack("!H", recv_exact(c, 2))
    ip = recv_exact(c, 4)
    user = recv_until_nul(c).decode("latin-1")
    if ip[:3] == b"\0\0\0" and ip[3] != 0:
        host = recv_until_nul(c).decode("latin-1")
        words = ["socks4a"]
    else:
        host = socket.inet_ntoa(ip)
        words = ["socks4"]
    log(" ".join(words + ["user=" + user, "host=" + host, "port=%d" % port]))
    if "refuse" in opts:
        c.sendall(b"\x00\x5b" + b"\0" * 6)
        return None
    try:
        t = socket.create_connection((host, port), timeout=5)
        t.settimeout(None)
    except OSError:
        c.sendall(b"\x00\x5b" + b"\0" * 6)
        return None
    c.sendall(b"\x00\x5a" + b"\0" * 6 + after())
    return t


def serve_http(c):
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        head += recv_exact(c, 1)
        if len(head) > 65536:
            raise ValueError("request too long")
    lines = head.decode("latin-1").split("\r\n")[:-2]
    log("http " + " | ".join(lines))
    method, target, _ = lines[0].split(" ")
    if method != "CONNECT":
        c.sendall(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n")
        return None
    if "auth" in opts:
        want = "Basic " + base64.b64encode(opts["auth"].encode()).decode()
        got = [h.split(":", 1)[1].strip() for h in lines[1:]
               if h.lower().startswith("proxy-authorization:")]
        if got != [want]:
            c.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                      b"Proxy-Authenticate: Basic realm=\"test\"\r\n"
                      b"Content-Length: 0\r\n\r\n")
            return None
    if "refuse" in opts:
        c.sendall(b"HTTP/1.1 %s Refused\r\n\r\n" % opts["refuse"].encode())
        return None
    host, _, port = target.rpartition(":")
    host = host.strip("[]")
    try:
        t = socket.create_connection((host, int(port)), timeout=5)
        t.settimeout(None)
    except OSError:
        c.sendall(b"HTTP/1.1 502 Bad Gateway\r\n\r\n")
        return None
    if "interim" in opts:
        c.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
    c.sendall(b"HTTP/1.1 200 Connection established\r\nX-Test: yes\r\n\r\n" + after())
    return t


def serve(c):
    try:
        t = {"socks5": serve_socks5, "socks4": serve_socks4,
             "http": serve_http}[kind](c)
        if t is not None:
            relay(c, t)
    except (OSError, ValueError, EOFError) as e:
        log("error " + str(e))
    finally:
        c.close()


def main():
    addr = opts.get("listen", "127.0.0.1")
    srv = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET,
                        socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((addr, 0))
    srv.listen(16)
    open(logfile, "a").close()
    with open(portfile + ".tmp", "w") as f:
        f.write("%d\n" % srv.getsockname()[1])
    os.rename(portfile + ".tmp", portfile)
    stalled = []
    while True:
        c, peer = srv.accept()
        if "clients" in opts:
            with open(opts["clients"], "a") as f:
                f.write(peer[0] + "\n")
        if len(stalled) < int(opts.get("stall", "0")):
            stalled.append(c)
            log("stalled")
            continue
        threading.Thread(target=serve, args=(c,), daemon=True).start()


if __name__ == "__main__":
    main()
