#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Print the socket options of a socket held by another process.

    getsockopt.py PID [--listening]

Takes a duplicate of one of PID's sockets with pidfd_open(2) and
pidfd_getfd(2) (Linux 5.6+, needs ptrace rights over PID: root, or the
same user with a permissive ptrace scope) and prints one NAME=VALUE line
per option:

    family type protocol rcvbuf sndbuf tos tclass ttl hops minttl minhops
    nodelay keepalive broadcast debug

family is inet, inet6 or unix; type is stream or dgram; protocol is the
number (6 TCP, 17 UDP, 262 MPTCP, 0 for unix). An option the
socket does not have prints NAME=-. The socket read is the first in
/proc/PID/fd that is not listening (SO_ACCEPTCONN 0), or with --listening
the first that is.

Exit status: 0 printed, 1 no such socket or PID, 77 pidfd_getfd is not
available or not permitted here (the caller skips).
"""
import ctypes
import errno
import os
import socket
import sys

SYS_PIDFD_OPEN = 434    # the same on every architecture since Linux 5.3
SYS_PIDFD_GETFD = 438   # and since 5.6

SO_DOMAIN = getattr(socket, "SO_DOMAIN", 39)
SO_ACCEPTCONN = getattr(socket, "SO_ACCEPTCONN", 30)
IPV6_TCLASS = getattr(socket, "IPV6_TCLASS", 67)
IPV6_UNICAST_HOPS = getattr(socket, "IPV6_UNICAST_HOPS", 16)
SO_PROTOCOL = getattr(socket, "SO_PROTOCOL", 38)
IP_MINTTL = getattr(socket, "IP_MINTTL", 21)
IPV6_MINHOPCOUNT = 73   # Linux; Python has no name for it

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


def unavailable(msg):
    sys.stderr.write("getsockopt.py: %s\n" % msg)
    sys.exit(77)


def fail(msg):
    sys.stderr.write("getsockopt.py: %s\n" % msg)
    sys.exit(1)


def pidfd_open(pid):
    if hasattr(os, "pidfd_open"):
        return os.pidfd_open(pid)
    fd = libc.syscall(SYS_PIDFD_OPEN, ctypes.c_int(pid), ctypes.c_uint(0))
    if fd < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return fd


def pidfd_getfd(pidfd, target):
    fd = libc.syscall(SYS_PIDFD_GETFD, ctypes.c_int(pidfd),
                      ctypes.c_int(target), ctypes.c_uint(0))
    if fd < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return fd


def opt(s, level, name):
    try:
        return str(s.getsockopt(level, name))
    except OSError:
        return "-"


def main():
    if len(sys.argv) < 2:
        fail("usage: getsockopt.py PID [--listening]")
    pid = int(sys.argv[1])
    want_listening = "--listening" in sys.argv[2:]
    try:
        pidfd = pidfd_open(pid)
    except OSError as e:
        if e.errno == errno.ESRCH:
            fail("no process %d" % pid)
        unavailable("pidfd_open: %s" % e.strerror)

    fds = []
    try:
        names = os.listdir("/proc/%d/fd" % pid)
    except OSError as e:
        fail("/proc/%d/fd: %s" % (pid, e.strerror))
    for name in sorted(names, key=int):
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, name)).startswith("socket:"):
                fds.append(int(name))
        except OSError:
            pass     # closed meanwhile

    for target in fds:
        try:
            fd = pidfd_getfd(pidfd, target)
        except OSError as e:
            if e.errno in (errno.EPERM, errno.ENOSYS, errno.EACCES):
                unavailable("pidfd_getfd: %s" % e.strerror)
            continue  # EBADF: closed meanwhile
        s = socket.socket(fileno=fd)
        try:
            listening = s.getsockopt(socket.SOL_SOCKET, SO_ACCEPTCONN) != 0
            if listening != want_listening:
                continue
            family = s.getsockopt(socket.SOL_SOCKET, SO_DOMAIN)
            stype = s.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE)
            print("family=%s" % {socket.AF_INET: "inet",
                                 socket.AF_INET6: "inet6",
                                 socket.AF_UNIX: "unix"}.get(family, family))
            print("type=%s" % {socket.SOCK_STREAM: "stream",
                               socket.SOCK_DGRAM: "dgram"}.get(stype, stype))
            print("protocol=%s" % opt(s, socket.SOL_SOCKET, SO_PROTOCOL))
            print("rcvbuf=%s" % opt(s, socket.SOL_SOCKET, socket.SO_RCVBUF))
            print("sndbuf=%s" % opt(s, socket.SOL_SOCKET, socket.SO_SNDBUF))
            inet = family in (socket.AF_INET, socket.AF_INET6)
            v6 = family == socket.AF_INET6
            print("tos=%s" % (opt(s, socket.IPPROTO_IP, socket.IP_TOS)
                              if inet else "-"))
            print("tclass=%s" % (opt(s, socket.IPPROTO_IPV6, IPV6_TCLASS)
                                 if v6 else "-"))
            print("ttl=%s" % (opt(s, socket.IPPROTO_IP, socket.IP_TTL)
                              if inet else "-"))
            print("hops=%s" % (opt(s, socket.IPPROTO_IPV6, IPV6_UNICAST_HOPS)
                               if v6 else "-"))
            print("minttl=%s" % (opt(s, socket.IPPROTO_IP, IP_MINTTL)
                                 if inet else "-"))
            print("minhops=%s" % (opt(s, socket.IPPROTO_IPV6,
                                      IPV6_MINHOPCOUNT) if v6 else "-"))
            tcp = inet and stype == socket.SOCK_STREAM
            print("nodelay=%s" % (opt(s, socket.IPPROTO_TCP,
                                      socket.TCP_NODELAY) if tcp else "-"))
            print("keepalive=%s" % opt(s, socket.SOL_SOCKET,
                                       socket.SO_KEEPALIVE))
            print("broadcast=%s" % opt(s, socket.SOL_SOCKET,
                                       socket.SO_BROADCAST))
            print("debug=%s" % opt(s, socket.SOL_SOCKET, socket.SO_DEBUG))
            return 0
        finally:
            s.close()
    fail("process %d has no %s socket" %
         (pid, "listening" if want_listening else "connected"))


if __name__ == "__main__":
    sys.exit(main())
