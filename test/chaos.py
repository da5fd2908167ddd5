#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""A chaos peer for sock, and a randomized soak built on it (test/chaos.bats).

The peer is a scripted stream peer (TCP on 127.0.0.1, or a Unix socket)
that sends its data in random-sized pieces, from 1 byte up, with random
pauses, reads what sock sends in random-sized pieces with random pauses,
and ends in one of three ways: a FIN once it has sent everything, a FIN
(half-close) after a random prefix of its data, or a reset (SO_LINGER 0)
after a random byte count. Everything is derived from one seed, so a
scenario can be replayed exactly.

A scenario is one of four variants (drawn from the seed):
    plain    sock alone against the peer, as described above;
    w        the same with -w 2 (no -k), and a fourth ending: the peer
             stalls, neither sending nor reading, without closing; sock
             must end it with exit 3 and an "idle timeout" message, having
             written everything the peer sent;
    forward  the peer and a sock with stdin and stdout files on either side
             of a "sock -l --forward" (sock connects to the forwarder, which
             forwards to the listening peer; or the peer connects to the
             forwarder, which forwards to a listening sock);
    tls      sock --tls (--tls-pin) connects to "sock -l --tls --forward"
             (one certificate per soak), which forwards to the peer.

    chaos.py peer ROLE SEED DIR [--unix PATH | --port N]
        one peer: ROLE is "listen" (write the port, or bind PATH, and accept
        one client) or "connect" (connect to PORT or PATH); the scenario's
        data and behaviour come from SEED. Writes DIR/peer.sent,
        DIR/peer.received and DIR/peer.verdict ("ok ..." or "fail ...").
    chaos.py describe SEED [--count N]
        print the scenario that SEED makes; with --count, those of SEED ..
        SEED+N-1, one a line after its seed.
    chaos.py run SEED DIR --sock PATH [--variant V]
        one scenario: sock and the peer, checked; exit 0 when the invariant
        holds. DIR keeps sock's stdin, stdout and stderr and the peer's files
        (and the forwarder's stderr, fwd.stderr). --variant forces one.
    chaos.py soak --seed S --count N --jobs J --sock PATH --dir DIR
        N scenarios, seeds S*100000+0 .. S*100000+N-1, J at a time; none
        is started after --max-seconds. Prints one line per failure with
        its seed and replay command, and the run time of each variant;
        exit 1 when any failed, or when any was not run (the budget is a
        limit, not a way to pass with fewer: --count must fit in it).

The invariant, checked for every scenario: sock exits 0 and every byte
arrived, in order, both ways -- or sock exits 1 (3 for a -w timeout) and
printed a "sock: " message (other than its -v progress lines) on stderr. A scenario
in which the peer ends cleanly (all of its FINs, no reset) must exit 0;
one in which it resets must not (the peer never sent its FIN, so the
stream from it did not end cleanly). Whatever the exit, what sock wrote is
a prefix of what the peer sent, and what the peer received a prefix of
sock's stdin. In a forward or tls scenario the forwarder is held to the
same: exit 0 when the peer ended cleanly, else non-zero with a message.
"""

import argparse
import concurrent.futures
import os
import random
import re
import select
import shutil
import socket
import struct
import subprocess
import sys
import time

# Every socket operation and every scenario is bounded in time.
OP_TIMEOUT = 20.0
SCENARIO_TIMEOUT = 30.0
MAX_SIZE = 1 << 20          # largest stream in either direction
MAX_PIECES = 1500           # bounds the python work per direction
PAUSE_BUDGET = 0.4          # seconds of pauses per direction at most
IDLE = 2                    # -w of the "w" variant, seconds
STALL_MAX = IDLE + 6.0      # a stall waits this long at most for sock to end
VARIANTS = ["plain", "w", "forward", "tls"]
VARIANT_WEIGHTS = [8, 3, 3, 3]

VERBOSE_LINE = re.compile(
    r"^sock: (listening on |connection from |connected to |FIN sent to |"
    r"FIN received from |sent \d+ bytes, received \d+ bytes )")


def log_uniform(rng, hi):
    """An integer 0..hi-1, spread evenly over the powers of two."""
    bits = rng.randint(0, hi.bit_length() - 1)
    return min(hi - 1, rng.randrange(1 << bits) if bits else rng.randrange(2))


def scenario(seed, variant=None, tls=True):
    """The scenario of SEED, a dict; deterministic in SEED (and VARIANT,
    which is drawn from SEED when not given, among those without TLS when
    TLS is false)."""
    rng = random.Random(seed)
    s = {"seed": seed}
    s["mode"] = rng.choice(["connect", "listen"])      # sock's role
    s["family"] = rng.choice(["tcp", "unix"])
    s["splice"] = rng.choice([True, False])            # False: SOCK_NOSPLICE=1
    s["keep"] = s["mode"] == "listen" and rng.random() < 0.3
    s["stdin_io"] = rng.choice(["file", "pipe"])
    s["stdout_io"] = rng.choice(["file", "pipe"])
    sizes = [0, 1, 4095, 4096, 4097, 65535, 65536, 65537, 131072, 131073]
    for k in ("in_size", "peer_size"):
        s[k] = rng.choice(sizes) if rng.random() < 0.2 else log_uniform(rng, MAX_SIZE)
    if s["keep"] and s["in_size"] == 0:
        # -k with an empty stdin serves forever (SPEC, Servers).
        s["in_size"] = 1
    s["end"] = rng.choices(["fin", "halfclose", "reset"], [4, 3, 3])[0]
    s["cut"] = s["peer_size"]
    if s["end"] == "halfclose":
        s["cut"] = rng.randint(0, s["peer_size"])
    elif s["end"] == "reset":
        # Reset after this many bytes sent by the peer (or, at random,
        # received by it), possibly 0.
        s["reset_on"] = rng.choice(["sent", "received"])
        limit = s["peer_size"] if s["reset_on"] == "sent" else s["in_size"]
        s["cut"] = rng.randint(0, limit)
    # Pieces: a small maximum makes many tiny writes (down to 1 byte).
    s["send_piece"] = rng.choice([1, 7, 100, 1500, 16384, 65536, 262144])
    s["recv_piece"] = rng.choice([1, 7, 100, 1500, 16384, 65536, 262144])
    s["pause_p"] = rng.choice([0.0, 0.01, 0.05, 0.2])
    s["pause_max"] = rng.choice([0.001, 0.005, 0.02])
    s["data_seed"] = rng.getrandbits(32)
    # The variant comes from a generator of its own, so that the plain
    # scenario of a seed is what it was before variants existed.
    vr = random.Random(seed * 5 + 3)
    weights = VARIANT_WEIGHTS if tls else \
        [w if v != "tls" else 0 for v, w in zip(VARIANTS, VARIANT_WEIGHTS)]
    s["variant"] = variant or vr.choices(VARIANTS, weights)[0]
    if s["variant"] != "plain":
        s["keep"] = False
    if s["variant"] in ("forward", "tls"):
        s["family"] = "tcp"
    if s["variant"] == "tls":
        s["mode"] = "connect"
    if s["variant"] == "w" and vr.random() < 0.25:
        # Stall once the peer has sent this many bytes.
        s["end"] = "stall"
        s.pop("reset_on", None)
        s["cut"] = vr.randint(0, s["peer_size"])
    return s


def payload(s, which):
    rng = random.Random(s["data_seed"] * 2 + (which == "peer"))
    n = s["peer_size"] if which == "peer" else s["in_size"]
    return rng.randbytes(n) if hasattr(rng, "randbytes") else \
        bytes(rng.getrandbits(8) for _ in range(n))


class Pacer:
    """Random piece sizes and pauses for one direction."""

    def __init__(self, s, rng, total, maxpiece):
        self.rng, self.s = rng, s
        self.minpiece = max(1, total // MAX_PIECES)
        self.maxpiece = max(self.minpiece, maxpiece)
        self.pause_left = PAUSE_BUDGET

    def piece(self):
        lo, hi = self.minpiece, self.maxpiece
        return max(lo, min(hi, 1 + log_uniform(self.rng, hi)))

    def pause(self):
        """Seconds to pause after this piece (mostly 0)."""
        if self.pause_left > 0 and self.rng.random() < self.s["pause_p"]:
            d = min(self.pause_left, self.rng.uniform(0, self.s["pause_max"]))
            self.pause_left -= d
            return d
        return 0.0


def reset(c):
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()


def stall(c, ended):
    """Neither send nor read on C until ended() (sock has exited) or
    STALL_MAX seconds, then close. Returns the verdict."""
    deadline = time.monotonic() + STALL_MAX
    while not ended():
        if time.monotonic() > deadline:
            c.close()
            return "fail: sock still running %g s into the stall" % STALL_MAX
        time.sleep(0.02)
    c.close()
    return "ok"


def run_peer(s, c, ended=lambda: False):
    """Play scenario S on the connected socket C, both directions at once
    in one loop (non-blocking). Returns (sent, received, verdict): the
    bytes the peer sent and received, and "ok" or "fail ..." for what the
    peer itself could check. ended() says whether sock has exited (for a
    stall, which waits for that)."""
    data = payload(s, "peer")
    c.setblocking(False)
    ps = Pacer(s, random.Random(s["seed"] * 3 + 1), s["cut"], s["send_piece"])
    pr = Pacer(s, random.Random(s["seed"] * 3 + 2), s["in_size"], s["recv_piece"])
    resetting = s["end"] == "reset"
    on = s.get("reset_on")
    cut = s["cut"]
    off = 0
    got = bytearray()
    eof = shut = False
    send_at = recv_at = 0.0
    deadline = time.monotonic() + OP_TIMEOUT
    verdict = "ok"
    while True:
        now = time.monotonic()
        if now > deadline:
            verdict = "fail: the peer's session lasted over %d s" % OP_TIMEOUT
            c.close()
            break
        if s["end"] == "stall" and off >= cut:
            verdict = stall(c, ended)
            break
        if resetting and ((on == "sent" and off >= cut) or
                          (on == "received" and len(got) >= cut) or eof):
            # (sock ending its stream before the reset point: reset now.)
            reset(c)
            break
        if s["end"] in ("fin", "halfclose") and off >= cut and not shut:
            try:
                c.shutdown(socket.SHUT_WR)
            except OSError as e:
                verdict = "fail shutdown: %s" % e
                c.close()
                break
            shut = True
        if shut and eof:
            c.close()
            break
        rd = [c] if not eof and now >= recv_at else []
        wr = [c] if off < cut and now >= send_at else []
        wake = [t - now for t, want in ((recv_at, not eof), (send_at, off < cut))
                if want and t > now]
        timeout = min(wake + [0.05])
        r, w, _ = select.select(rd, wr, [], timeout)
        try:
            if w:
                n = c.send(data[off:off + min(ps.piece(), cut - off)])
                off += n
                send_at = time.monotonic() + ps.pause()
            if r:
                want = pr.piece()
                if resetting and on == "received":
                    want = max(1, min(want, cut - len(got)))
                d = c.recv(want)
                if d:
                    got.extend(d)
                else:
                    eof = True
                recv_at = time.monotonic() + pr.pause()
        except (BlockingIOError, InterruptedError):
            pass
        except OSError as e:
            verdict = "fail: %s" % e
            c.close()
            break
    return bytes(data[:off]), bytes(got), verdict


def peer_socket(s, role, where):
    """Connect to, or accept one client at, WHERE: ("tcp", port or
    portfile) or ("unix", path)."""
    kind, addr = where
    fam = socket.AF_UNIX if kind == "unix" else socket.AF_INET
    if role == "connect":
        deadline = time.monotonic() + OP_TIMEOUT
        while True:
            c = socket.socket(fam, socket.SOCK_STREAM)
            try:
                c.connect(addr if kind == "unix" else ("127.0.0.1", addr))
                return c
            except OSError:
                c.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.005)
    raise ValueError(role)


def listener(kind, path=None):
    if kind == "unix":
        if os.path.exists(path):
            os.unlink(path)
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(path)
    else:
        srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    srv.settimeout(OP_TIMEOUT)
    return srv


def error_lines(err):
    return [l for l in err.splitlines()
            if l.startswith("sock: ") and not VERBOSE_LINE.match(l)]


def wait_port(errpath, proc, deadline):
    pat = re.compile(r"^sock: listening on .* port (\d+) \(tcp\)$", re.M)
    while time.monotonic() < deadline and proc.poll() is None:
        with open(errpath) as f:
            m = pat.search(f.read())
        if m:
            return int(m.group(1))
        time.sleep(0.005)
    return None


def tls_material(d):
    """A certificate and key for the tls variant's forwarder, made once in
    D (P-256, self-signed), and the pin sock --tls-pin takes for it."""
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    if not os.path.exists(cert):
        os.makedirs(d, exist_ok=True)
        tmp = cert + ".%d" % os.getpid()
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                        "-subj", "/CN=chaos", "-keyout", key, "-out", tmp],
                       check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        os.rename(tmp, cert)
    out = subprocess.run(["openssl", "x509", "-in", cert, "-noout",
                          "-fingerprint", "-sha256"], check=True,
                         capture_output=True, text=True).stdout
    return cert, key, out.strip().split("=", 1)[1]


def start_forwarder(s, sock, env, d, target, tls, deadline):
    """sock -v -l [--tls ...] --forward TARGET 127.0.0.1 0, its stderr in
    D/fwd.stderr. Returns (process, port)."""
    errp = os.path.join(d, "fwd.stderr")
    args = [sock, "-v", "-l"]
    if s["variant"] == "tls":
        cert, key, _ = tls
        args += ["--tls", "--tls-cert", cert, "--tls-key", key]
    args += ["--forward", target, "127.0.0.1", "0"]
    with open(errp, "wb") as errf:
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=errf, env=env)
    port = wait_port(errp, proc, deadline)
    if port is None:
        proc.kill()
        proc.wait()
        raise OSError("no listening line from the forwarder")
    return proc, port


def run_scenario(s, d, sock, tls):
    """Run scenario S with its files in D (TLS: the tls variant's
    certificate, key and pin, from tls_material). Returns (why, status):
    why is None when the invariant holds, else a one-line reason; status
    is sock's exit status."""
    os.makedirs(d, exist_ok=True)
    inp, outp, errp = (os.path.join(d, n) for n in ("stdin", "stdout", "stderr"))
    with open(inp, "wb") as f:
        f.write(payload(s, "sock"))
    env = dict(os.environ)
    env.pop("SOCK_NOSPLICE", None)
    if not s["splice"]:
        env["SOCK_NOSPLICE"] = "1"
    upath = os.path.join(d, "u.sock")
    args = [sock]
    if s["variant"] == "w":
        args += ["-w", str(IDLE)]
    srv = fwd = None
    deadline = time.monotonic() + SCENARIO_TIMEOUT
    chain = s["variant"] in ("forward", "tls")
    if s["mode"] == "connect":
        srv = listener(s["family"], upath)
        if chain:
            fwd, fport = start_forwarder(
                s, sock, env, d, "127.0.0.1:%d" % srv.getsockname()[1],
                tls, deadline)
            if s["variant"] == "tls":
                args += ["--tls", "--tls-pin", tls[2]]
            args += ["127.0.0.1", str(fport)]
        elif s["family"] == "unix":
            args += ["-U", upath]
        else:
            args += ["127.0.0.1", str(srv.getsockname()[1])]
    else:
        args += ["-v", "-l"]
        if s["keep"]:
            args += ["-k"]
        if s["family"] == "unix":
            args += ["-U", upath]
        else:
            args += ["127.0.0.1", "0"]
    # stdin and stdout: files, or pipes through cat (other splice paths).
    stdin_f = open(inp, "rb")
    stdout_f = open(outp, "wb")
    errf = open(errp, "wb")
    procs = []
    cat_in = cat_out = None
    if s["stdin_io"] == "pipe":
        cat_in = subprocess.Popen(["cat"], stdin=stdin_f, stdout=subprocess.PIPE)
        sin = cat_in.stdout
    else:
        sin = stdin_f
    if s["stdout_io"] == "pipe":
        r, w = os.pipe()
        cat_out = subprocess.Popen(["cat"], stdin=r, stdout=stdout_f)
        os.close(r)
        sout = w
    else:
        sout = stdout_f
    proc = subprocess.Popen(args, stdin=sin, stdout=sout, stderr=errf, env=env)
    procs = [p for p in (cat_in, cat_out, proc, fwd) if p]
    if cat_in:
        cat_in.stdout.close()
    if cat_out:
        os.close(sout)
    stdin_f.close()
    stdout_f.close()
    errf.close()
    result = {}
    problem = None
    try:
        if s["mode"] == "connect":
            srv.settimeout(SCENARIO_TIMEOUT / 2)
            c, _ = srv.accept()
            srv.close()
        else:
            if s["family"] == "tcp":
                port = wait_port(errp, proc, deadline)
                if port is None:
                    raise OSError("no listening line from sock")
                if chain:
                    fwd, port = start_forwarder(s, sock, env, d,
                                                "127.0.0.1:%d" % port,
                                                tls, deadline)
                    procs.append(fwd)
                c = peer_socket(s, "connect", ("tcp", port))
            else:
                c = peer_socket(s, "connect", ("unix", upath))
        result["sent"], result["received"], result["verdict"] = \
            run_peer(s, c, lambda: proc.poll() is not None)
    except OSError as e:
        problem = "peer: %s" % e
    kept = False
    if s["keep"] and s["end"] == "reset" and not problem:
        # A -k listener whose client left before stdin was all read keeps
        # serving, waiting for the next client to give the rest to: that
        # is by design. It must have reported the client, though.
        try:
            status = proc.wait(3)
        except subprocess.TimeoutExpired:
            kept = True
            proc.terminate()
    try:
        status = proc.wait(max(0.1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        status = None
    fstatus = None
    if fwd:
        try:
            fstatus = fwd.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            fstatus = None
    if cat_out and status is not None:
        # The cat behind stdout ends once it has written all sock wrote.
        try:
            cat_out.wait(5)
        except subprocess.TimeoutExpired:
            pass
    for p in procs:
        if p.poll() is None:
            p.kill()
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            pass
    if srv and s["mode"] == "connect":
        srv.close()
    with open(errp, errors="replace") as f:
        err = f.read()
    if result:
        with open(os.path.join(d, "peer.sent"), "wb") as f:
            f.write(result["sent"])
        with open(os.path.join(d, "peer.received"), "wb") as f:
            f.write(result["received"])
        with open(os.path.join(d, "peer.verdict"), "w") as f:
            f.write(result["verdict"] + "\n")
    with open(inp, "rb") as f:
        want_up = f.read()
    with open(outp, "rb") as f:
        got_down = f.read()
    why = judge(s, status, err, problem, kept, result, want_up, got_down)
    if not why and fwd:
        with open(os.path.join(d, "fwd.stderr"), errors="replace") as f:
            why = judge_forwarder(s, fstatus, f.read(), problem)
    return why, status


def judge(s, status, err, problem, kept, result, want_up, got_down):
    """The invariant for sock (see the docstring): None, or why not."""
    errs = error_lines(err)
    if status is None:
        return "sock still running after %d s" % SCENARIO_TIMEOUT
    if result and got_down != result["sent"][:len(got_down)]:
        return "stdout is not a prefix of what the peer sent"
    if result and result["received"] != want_up[:len(result["received"])]:
        return "the peer received what is not a prefix of stdin"
    if kept:
        if not errs:
            return "-k kept serving after its client reset, without a message"
        return None
    if status < 0 or status >= 128:
        return "sock died with status %s: %s" % (status, err.strip()[-300:])
    # The documented failures: 1 (network), 3 (a timeout, with -w only).
    if status not in (0, 1) and not (status == 3 and s["variant"] == "w"):
        return "exit %d, not 0, 1 or (-w) 3: %r" % (status, err[-300:])
    if problem:
        if status != 0 and errs:
            return None
        return "%s; sock exited %d" % (problem, status)
    if s["end"] == "stall":
        if not result["verdict"].startswith("ok"):
            return "peer: " + result["verdict"]
        if status != 3 or not any("idle timeout" in l for l in errs):
            return "exit %d after a stall, not 3 with an idle timeout: %r" % (
                status, err[-300:])
        if got_down != result["sent"]:
            return ("idle timeout with %d bytes of the %d the peer sent on "
                    "stdout" % (len(got_down), len(result["sent"])))
        return None
    if status == 0:
        if result["received"] != want_up:
            return ("exit 0 but the peer received %d bytes of %d (first "
                    "difference at %d)" % (len(result["received"]), len(want_up),
                                           first_diff(result["received"], want_up)))
        if got_down != result["sent"]:
            return ("exit 0 but stdout has %d bytes of the %d the peer sent "
                    "(first difference at %d)" % (len(got_down), len(result["sent"]),
                                                  first_diff(got_down, result["sent"])))
        if s["end"] == "reset" and s["family"] == "tcp":
            # (A Unix socket has no reset: closing it is an end of stream.)
            return "exit 0 although the peer reset instead of sending its FIN"
        if not result["verdict"].startswith("ok"):
            return "exit 0 but peer: " + result["verdict"]
        return None
    if not errs:
        return "exit %d without a message (stderr: %r)" % (status, err[-300:])
    if s["end"] != "reset":
        return "exit %d in a clean scenario: %s" % (status, errs[0])
    return None


def judge_forwarder(s, status, err, problem):
    """The forwarder: exit 0 when the peer ended cleanly, else non-zero
    with a message (a stall cannot happen here: no -w)."""
    errs = error_lines(err)
    if status is None:
        return "the forwarder still running after %d s" % SCENARIO_TIMEOUT
    if status < 0 or status >= 128:
        return "the forwarder died with status %s: %s" % (status, err.strip()[-300:])
    if status not in (0, 1):
        return "the forwarder exited %d, not 0 or 1: %r" % (status, err[-300:])
    if status != 0 and not errs:
        return "the forwarder exited %d without a message" % status
    if s["end"] != "reset" and not problem and status != 0:
        return "the forwarder exited %d in a clean scenario: %s" % (status, errs[0])
    if s["end"] == "reset" and not problem and status == 0:
        return "the forwarder exited 0 although the peer reset"
    return None


def first_diff(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


def describe(s):
    return " ".join("%s=%s" % (k, s[k]) for k in
                    ("variant", "mode", "family", "splice", "keep", "stdin_io",
                     "stdout_io", "in_size", "peer_size", "end", "cut",
                     "send_piece", "recv_piece", "pause_p") if k in s) + \
        (" reset_on=%s" % s["reset_on"] if "reset_on" in s else "")


def cmd_peer(a):
    s = scenario(a.seed, a.variant, not a.no_tls)
    os.makedirs(a.dir, exist_ok=True)
    if a.role == "listen":
        if a.unix:
            srv = listener("unix", a.unix)
        else:
            srv = listener("tcp")
            tmp = os.path.join(a.dir, "port.tmp")
            with open(tmp, "w") as f:
                f.write("%d\n" % srv.getsockname()[1])
            os.rename(tmp, os.path.join(a.dir, "port"))
        c, _ = srv.accept()
        srv.close()
    else:
        c = peer_socket(s, "connect", ("unix", a.unix) if a.unix else ("tcp", a.port))
    sent, got, verdict = run_peer(s, c)
    for name, data in (("peer.sent", sent), ("peer.received", got)):
        with open(os.path.join(a.dir, name), "wb") as f:
            f.write(data)
    with open(os.path.join(a.dir, "peer.verdict"), "w") as f:
        f.write(verdict + "\n")
    return 0 if verdict.startswith("ok") else 1


def cmd_run(a):
    s = scenario(a.seed, a.variant, not a.no_tls)
    tls = tls_material(a.dir) if s["variant"] == "tls" else None
    why, _ = run_scenario(s, a.dir, a.sock, tls)
    print("seed %d: %s: %s" % (a.seed, describe(s), why or "ok"))
    return 1 if why else 0


def cmd_soak(a):
    seeds = [a.seed * 100000 + i for i in range(a.count)]
    failures = []
    start = time.monotonic()
    took = {v: [0, 0.0] for v in VARIANTS}      # scenarios, seconds
    outcomes = {}                               # "VARIANT exit N": count
    tls = None if a.no_tls else tls_material(os.path.join(a.dir, "tls"))

    def one(seed):
        d = os.path.join(a.dir, str(seed))
        s = scenario(seed, None, not a.no_tls)
        t0 = time.monotonic()
        why, status = run_scenario(s, d, a.sock, tls)
        took[s["variant"]][0] += 1
        took[s["variant"]][1] += time.monotonic() - t0
        key = "%s exit %s" % (s["variant"], status)
        outcomes[key] = outcomes.get(key, 0) + 1
        if not why:
            shutil.rmtree(d, ignore_errors=True)
        return seed, why

    def bounded(seed):
        # No new scenario once the time limit is spent: the soak then
        # fails (its count does not fit the limit), it does not pass with
        # fewer.
        if time.monotonic() - start > a.max_seconds:
            return seed, "skipped"
        return one(seed)

    skipped = 0
    with concurrent.futures.ThreadPoolExecutor(a.jobs) as ex:
        for seed, why in ex.map(bounded, seeds):
            if why == "skipped":
                skipped += 1
            elif why:
                failures.append(seed)
                print("FAIL seed %d (replay: SOCK_CHAOS_ONE=%d test/run "
                      "test/chaos.bats): %s\n    %s"
                      % (seed, seed, describe(scenario(seed, None, not a.no_tls)),
                         why), flush=True)
    print("variants: " + ", ".join("%s %d (%.0f s)" % (v, n, t)
                                    for v, (n, t) in took.items()))
    print("outcomes: " + ", ".join("%s: %d" % (k, n)
                                    for k, n in sorted(outcomes.items())))
    print("base seed %d: %d scenarios run, %d failed, %d not run within "
          "the %g s limit, %.1f s" % (a.seed, len(seeds) - skipped,
                                      len(failures), skipped, a.max_seconds,
                                      time.monotonic() - start))
    return 1 if failures or skipped else 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("peer")
    p.add_argument("role", choices=["listen", "connect"])
    p.add_argument("seed", type=int)
    p.add_argument("dir")
    p.add_argument("--unix")
    p.add_argument("--port", type=int)
    p = sub.add_parser("describe")
    p.add_argument("seed", type=int)
    p.add_argument("--count", type=int)
    p = sub.add_parser("run")
    p.add_argument("seed", type=int)
    p.add_argument("dir")
    p.add_argument("--sock", required=True)
    p = sub.add_parser("soak")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--count", type=int, default=500)
    p.add_argument("--jobs", type=int, default=8)
    p.add_argument("--sock", required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--max-seconds", type=float, default=120,
                   help="fail when the scenarios do not all start within it")
    for p in sub.choices.values():
        p.add_argument("--no-tls", action="store_true",
                       help="sock has no TLS: no tls scenarios")
        if p.prog.split()[-1] != "soak":
            p.add_argument("--variant", choices=VARIANTS)
    a = ap.parse_args()
    if a.cmd == "describe" and a.count is None:
        print(describe(scenario(a.seed, a.variant, not a.no_tls)))
        return 0
    if a.cmd == "describe":
        for seed in range(a.seed, a.seed + a.count):
            print(seed, describe(scenario(seed, a.variant, not a.no_tls)))
        return 0
    return {"peer": cmd_peer, "run": cmd_run, "soak": cmd_soak}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
