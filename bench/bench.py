#!/usr/bin/python3
"""Benchmark harness: outbox against msmtp (and msmtpq) on the same servers.

Started by bench/run.sh, which makes the certificates and the work
directory.  Every workload runs both clients in one invocation, alternating
(outbox first on even repetitions, msmtp first on odd ones), with the same
configuration file, the same messages, the same environment and a fresh
HOME per batch.  Servers (tests/server/smtpd.py with STARTTLS + AUTH PLAIN,
postfix's smtp-sink for plain SMTP) and the byte-counting relay bind
127.0.0.1 and are stopped by PID.  Wall times come from perf_counter around
the child, CPU and peak RSS from wait4()'s rusage; write syscalls from
strace; bytes on the wire from the relay; nothing is asserted, targets are
only reported as met or missed.

Untrusted data: none beyond what the harness itself generates; server logs,
strace output and relay statistics are parsed from its own work directory.
"""

import argparse
import base64
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

FROM = "bob@example.org"
RCPT = "rcpt@example.org"
USER = "bob"
PASSWORD = "secret"
HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = ("outbox", "msmtp")

# Repetitions and sizes: (full, quick).
PLAN = {
    "w1_msgs": (200, 30),
    "w1_reps": (3, 1),
    "w1_rtt_msgs": (5, 3),
    "w2_sizes": ((1_000_000, 50_000_000), (1_000_000, 10_000_000)),
    "w2_reps": (3, 1),
    "w3_msgs": (500, 50),
    "w3_reps": (2, 1),
    "w4_runs": (100, 20),
    "w5_procs": (100, 20),
    "w5_reps": (3, 1),
}


def note(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


# ------------------------------------------------------------ processes ---

class Running:
    """A background process started by the harness and stopped by PID."""

    live = []

    def __init__(self, argv, log, env=None):
        self.argv = argv
        self.out = open(log, "ab")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=self.out, stderr=self.out,
                                     env=env)
        Running.live.append(self)

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.out.close()
        if self in Running.live:
            Running.live.remove(self)

    @classmethod
    def stop_all(cls):
        for r in list(cls.live):
            r.stop()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_file(path, proc, what):
    for _ in range(400):
        if os.path.exists(path) and os.path.getsize(path) > 0:
            with open(path, encoding="ascii") as f:
                return int(f.read().strip())
        if not proc.alive():
            break
        time.sleep(0.025)
    raise RuntimeError("%s did not start (see %s)" % (what, proc.out.name))


def wait_connect(port, proc, what):
    for _ in range(400):
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            if not proc.alive():
                break
            time.sleep(0.025)
    raise RuntimeError("%s did not start (see %s)" % (what, proc.out.name))


def run(argv, env, stdin=None, errlog=None, rss=False):
    """Run one child; returns rc, wall (s), cpu (s, user+sys), rss (KiB).

    The kernel carries the peak RSS of the forking process across exec, so
    a child of this Python process would report at least Python's own RSS:
    with rss=True the child runs under /usr/bin/time (about 2 MiB), whose
    report of its own child is the figure kept.
    """
    fin = open(stdin, "rb") if stdin else subprocess.DEVNULL
    ferr = open(errlog, "ab") if errlog else subprocess.DEVNULL
    report = None
    if rss:
        report = os.path.join(os.environ.get("TMPDIR", "/tmp"),
                              "outbox-bench-rss.%d" % os.getpid())
        argv = ["/usr/bin/time", "-f", "%M", "-o", report] + argv
    try:
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, stdin=fin, stdout=subprocess.DEVNULL,
                             stderr=ferr, env=env)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
    finally:
        if stdin:
            fin.close()
        if errlog:
            ferr.close()
    peak = ru.ru_maxrss
    if report:
        with open(report, encoding="ascii") as f:
            peak = int(f.read().split()[-1])
        os.unlink(report)
    return {"rc": p.returncode, "wall": wall,
            "cpu": ru.ru_utime + ru.ru_stime, "rss": peak}


def must(res, what, errlog):
    if res["rc"] != 0:
        tail = ""
        if errlog and os.path.exists(errlog):
            with open(errlog, "rb") as f:
                tail = f.read()[-600:].decode(errors="replace")
        raise RuntimeError("%s exited %d:\n%s" % (what, res["rc"], tail))
    return res


# -------------------------------------------------------------- servers ---

def b_python():
    """The interpreter running the harness: run.sh picks one with aiosmtpd."""
    return sys.executable


class Aiosmtpd:
    """tests/server/smtpd.py: STARTTLS, AUTH PLAIN, PIPELINING."""

    def __init__(self, b, name, port=0):
        self.b = b
        self.dir = os.path.join(b.work, name)
        os.makedirs(self.dir, exist_ok=True)
        self.log = os.path.join(b.work, name + ".log")
        self.portfile = os.path.join(b.work, name + ".port")
        self.want_port = port
        self.proc = None
        self.port = None

    def start(self):
        if os.path.exists(self.portfile):
            os.unlink(self.portfile)
        argv = [b_python(), self.b.args.smtpd, "--dir", self.dir,
                "--port-file", self.portfile, "--log", self.log,
                "--mode", "starttls", "--cert", self.b.args.cert,
                "--key", self.b.args.key, "--auth", USER + ":" + PASSWORD,
                "--pipelining"]
        if self.want_port:
            argv += ["--port", str(self.want_port)]
        self.proc = Running(argv, self.log + ".out")
        self.port = wait_file(self.portfile, self.proc, "smtpd.py")
        return self

    def stop(self):
        if self.proc:
            self.proc.stop()
            self.proc = None

    def stored(self):
        return sum(1 for n in os.listdir(self.dir) if n.endswith(".eml"))

    def clear(self):
        for n in os.listdir(self.dir):
            os.unlink(os.path.join(self.dir, n))

    def log_size(self):
        return os.path.getsize(self.log) if os.path.exists(self.log) else 0

    def log_since(self, offset):
        with open(self.log, "rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace").splitlines()


class Sink:
    """postfix's smtp-sink: plain SMTP, stores nothing."""

    def __init__(self, b):
        self.b = b
        self.proc = None
        self.port = None

    def start(self):
        self.port = free_port()
        argv = ["smtp-sink"]
        if os.geteuid() == 0:
            argv += ["-u", "nobody"]
        argv += ["127.0.0.1:%d" % self.port, "256"]
        self.proc = Running(argv, os.path.join(self.b.work, "sink.out"))
        wait_connect(self.port, self.proc, "smtp-sink")
        return self

    def stop(self):
        if self.proc:
            self.proc.stop()
            self.proc = None


class Relay:
    def __init__(self, b, upstream, name):
        self.stats = os.path.join(b.work, name + ".stats")
        portfile = os.path.join(b.work, name + ".port")
        self.proc = Running([b_python(), os.path.join(HERE, "relay.py"),
                             "--upstream", str(upstream), "--port-file",
                             portfile, "--stats", self.stats],
                            os.path.join(b.work, name + ".out"))
        self.port = wait_file(portfile, self.proc, "relay.py")

    def records(self):
        if not os.path.exists(self.stats):
            return []
        with open(self.stats, encoding="ascii") as f:
            return [json.loads(line) for line in f]

    def wait_records(self, n):
        for _ in range(200):
            if len(self.records()) >= n:
                break
            time.sleep(0.025)
        return self.records()

    def stop(self):
        self.proc.stop()


# ------------------------------------------------------------- messages ---

def make_message(path, size, seed):
    """A message of exactly SIZE bytes: headers, then base64 body lines."""
    head = ("From: Bob <%s>\nTo: <%s>\nSubject: outbox benchmark %d\n"
            "Date: Thu, 01 Jan 2026 00:00:00 +0000\n"
            "Message-ID: <bench-%d-%d@example.org>\nMIME-Version: 1.0\n"
            "Content-Type: application/octet-stream\n"
            "Content-Transfer-Encoding: base64\n\n"
            % (FROM, RCPT, seed, size, seed)).encode()
    need = size - len(head)
    rng = random.Random(seed)
    body = base64.encodebytes(rng.randbytes(need * 3 // 4 + 64))[:need]
    body = body[:-1] + b"\n"
    with open(path, "wb") as f:
        f.write(head + body)
    return path


# ------------------------------------------------------------ the bench ---

class Bench:
    def __init__(self, args):
        self.args = args
        self.quick = args.quick
        self.work = args.work
        self.rows = []
        self.notes = []
        self.errlog = os.path.join(self.work, "client.err")
        self.homes = 0

    def p(self, key):
        return PLAN[key][1 if self.quick else 0]

    def bin(self, tool):
        return self.args.outbox if tool == "outbox" else self.args.msmtp

    def order(self, rep):
        return TOOLS if rep % 2 == 0 else TOOLS[::-1]

    def env(self):
        """A fresh HOME (and outbox queue) for one batch."""
        self.homes += 1
        home = os.path.join(self.work, "home%d" % self.homes)
        os.makedirs(home, mode=0o700)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("OUTBOX_", "XDG_", "DBUS_", "MSMTP"))}
        env.update(HOME=home, LC_ALL="C",
                   XDG_CONFIG_HOME=os.path.join(home, ".config"),
                   XDG_STATE_HOME=os.path.join(home, ".local/state"),
                   XDG_CACHE_HOME=os.path.join(home, ".cache"))
        return env

    def conf(self, name, port, tls):
        path = os.path.join(self.work, name)
        lines = ["defaults"]
        if tls:
            lines += ["tls on", "tls_starttls on",
                      "tls_trust_file " + self.args.ca, "auth plain",
                      "user " + USER, "password " + PASSWORD]
        else:
            lines += ["tls off", "auth off"]
        lines += ["from " + FROM, "account default",
                  "host 127.0.0.1", "port %d" % port]
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def send_argv(self, tool, conf, *extra):
        return [self.bin(tool), "-C", conf, *extra, "-f", FROM, RCPT]

    def row(self, wl, metric, unit, o, m=None, target=None, note=""):
        self.rows.append({"wl": wl, "metric": metric, "unit": unit,
                          "o": o, "m": m or [], "target": target,
                          "note": note})

    # --------------------------------------------------------- workload 1
    def batch(self, tool, conf, msg, n, env):
        cpu = 0.0
        t0 = time.perf_counter()
        for _ in range(n):
            r = must(run(self.send_argv(tool, conf), env, msg, self.errlog),
                     tool, self.errlog)
            cpu += r["cpu"]
        return time.perf_counter() - t0, cpu

    def w1(self):
        n = self.p("w1_msgs")
        reps = self.p("w1_reps")
        msg = make_message(os.path.join(self.work, "m10k"), 10_000, 1)
        tls = Aiosmtpd(self, "w1tls").start()
        sink = Sink(self).start()
        try:
            paths = (("STARTTLS+AUTH, aiosmtpd", tls, True),
                     ("plain, smtp-sink", sink, False))
            for label, srv, is_tls in paths:
                conf = self.conf("w1.conf", srv.port, is_tls)
                res = {t: {"wall": [], "cpu": []} for t in TOOLS}
                for rep in range(reps):
                    for tool in self.order(rep):
                        note("W1 %s: %s, %d messages (rep %d/%d)"
                             % (label, tool, n, rep + 1, reps))
                        wall, cpu = self.batch(tool, conf, msg, n,
                                                  self.env())
                        if is_tls:
                            got = srv.stored()
                            srv.clear()
                            if got != n:
                                raise RuntimeError("%s: server stored %d "
                                                   "of %d" % (tool, got, n))
                        res[tool]["wall"].append(wall)
                        res[tool]["cpu"].append(cpu)
                self.row("1", "%d x 10 KB, one process each, %s: wall"
                         % (n, label), "s", res["outbox"]["wall"],
                         res["msmtp"]["wall"], ("ratio", 0.2))
                self.row("1", "  client CPU (user+sys, all processes)", "s",
                         res["outbox"]["cpu"], res["msmtp"]["cpu"])
                rt = {}
                for tool in TOOLS:
                    rt[tool] = self.round_trips(tool, srv.port, is_tls, msg)
                    if is_tls:
                        srv.clear()
                self.row("1", "  round trips per message (server turns)",
                         "n", rt["outbox"], rt["msmtp"])
        finally:
            tls.stop()
            sink.stop()

    def round_trips(self, tool, upstream, is_tls, msg):
        k = self.p("w1_rtt_msgs")
        relay = Relay(self, upstream, "rtt-%s-%d" % (tool, upstream))
        try:
            conf = self.conf("rtt.conf", relay.port, is_tls)
            env = self.env()
            for _ in range(k):
                must(run(self.send_argv(tool, conf), env, msg, self.errlog),
                     tool, self.errlog)
            recs = relay.wait_records(k)
        finally:
            relay.stop()
        return [r["server_turns"] for r in recs]

    # --------------------------------------------------------- workload 2
    def w2(self):
        sizes = self.p("w2_sizes")
        reps = self.p("w2_reps")
        msgs = {s: make_message(os.path.join(self.work, "m%d" % s), s, 2)
                for s in sizes}
        tls = Aiosmtpd(self, "w2tls").start()
        sink = Sink(self).start()
        rss = {}
        try:
            for label, srv, is_tls in (("STARTTLS", tls, True),
                                       ("plain, smtp-sink", sink, False)):
                conf = self.conf("w2.conf", srv.port, is_tls)
                for size in sizes:
                    res = {t: {"wall": [], "cpu": [], "rss": []}
                           for t in TOOLS}
                    for rep in range(reps):
                        for tool in self.order(rep):
                            note("W2 %s: %s, %s (rep %d/%d)"
                                 % (label, tool, mb(size), rep + 1, reps))
                            r = must(run(self.send_argv(tool, conf),
                                         self.env(), msgs[size],
                                         self.errlog, rss=True), tool,
                                     self.errlog)
                            if is_tls:
                                srv.clear()
                            for k in ("wall", "cpu", "rss"):
                                res[tool][k].append(r[k])
                    big = size == sizes[-1]
                    self.row("2", "1 x %s, %s: wall" % (mb(size), label),
                             "s", res["outbox"]["wall"], res["msmtp"]["wall"])
                    self.row("2", "  client CPU (user+sys)", "s",
                             res["outbox"]["cpu"], res["msmtp"]["cpu"],
                             ("ratio", 0.25) if big else None)
                    self.row("2", "  peak RSS", "KiB", res["outbox"]["rss"],
                             res["msmtp"]["rss"], ("ratio", 1.0))
                    for tool in TOOLS:
                        rss.setdefault((label, tool), []).append(
                            statistics.median(res[tool]["rss"]))
            for (label, tool), v in rss.items():
                if tool == "outbox":
                    grow = (v[-1] - v[0]) / v[0] * 100
                    mg = rss[(label, "msmtp")]
                    self.row("2", "  RSS growth %s -> %s, %s"
                             % (mb(sizes[0]), mb(sizes[-1]), label), "%",
                             [grow], [(mg[-1] - mg[0]) / mg[0] * 100],
                             ("max", 10.0))
            self.wire(tls, msgs[sizes[-1]], sizes[-1])
        finally:
            tls.stop()
            sink.stop()

    def wire(self, tls, msg, size):
        """Untimed: write syscalls (strace) and bytes (relay), over TLS."""
        direct = self.conf("w2.conf", tls.port, True)
        res = {}
        for tool in TOOLS:
            note("W2 wire: %s under strace, %s" % (tool, mb(size)))
            res[tool] = self.strace_writes(tool, direct, msg)
            tls.clear()
            note("W2 wire: %s through the byte-counting relay" % tool)
            relay = Relay(self, tls.port, "wire-%s" % tool)
            off = tls.log_size()
            try:
                conf = self.conf("wire.conf", relay.port, True)
                must(run(self.send_argv(tool, conf), self.env(), msg,
                         self.errlog), tool, self.errlog)
                rec = relay.wait_records(1)[-1]
            finally:
                relay.stop()
            data = [int(m.group(1)) for m in
                    (re.search(r"\* data (\d+) bytes", line)
                     for line in tls.log_since(off)) if m]
            tls.clear()
            res[tool]["payload"] = data[-1]
            res[tool]["wire"] = rec["c2s_bytes"]
        o, m = res["outbox"], res["msmtp"]
        pay = o["payload"]
        self.row("2", "bytes client->server over TLS vs SMTP payload (%s)"
                 % mb(pay), "%", [pct(o["wire"], pay)],
                 [pct(m["wire"], m["payload"])], ("max", 1.0),
                 "relay count vs the server's DATA count")
        self.row("2", "  socket bytes seen by strace vs payload", "%",
                 [pct(o["sock_bytes"], pay)],
                 [pct(m["sock_bytes"], m["payload"])])
        for key, label in (("writes", "write syscalls, all fds"),
                           ("sock_writes", "  of them to the socket"),
                           ("file_writes", "  of them to other fds (the queue file)")):
            self.row("2", label, "n", [o[key]], [m[key]])
        per = 16384
        self.row("2", "writes per 16 KiB of payload, socket only", "n",
                 [o["sock_writes"] * per / pay],
                 [m["sock_writes"] * per / m["payload"]], ("max", 1.0))
        self.row("2", "writes per 16 KiB of payload, all fds (queue too)",
                 "n", [o["writes"] * per / pay],
                 [m["writes"] * per / m["payload"]], ("max", 1.0))

    def strace_writes(self, tool, conf, msg):
        out = os.path.join(self.work, "strace-%s" % tool)
        argv = ["strace", "-f", "-qq", "-y", "-e", "signal=none", "-e",
                "trace=write,writev,pwrite64,pwritev,sendto,sendmsg,sendmmsg",
                "-o", out] + self.send_argv(tool, conf)
        must(run(argv, self.env(), msg, self.errlog), "strace " + tool,
             self.errlog)
        call = re.compile(r"^(\d+)\s+\w+\(\d+<")
        ret = re.compile(r"= (-?\d+)(?: \w+ \(.*\))?$")
        pending = {}
        c = {"writes": 0, "sock_writes": 0, "file_writes": 0,
             "sock_bytes": 0}
        with open(out, errors="replace") as f:
            for line in f:
                m = call.match(line)
                if m:
                    pid = m.group(1)
                    sock = line[m.end():].startswith(("TCP:", "socket:",
                                                      "UNIX"))
                    c["writes"] += 1
                    c["sock_writes" if sock else "file_writes"] += 1
                    if line.rstrip().endswith("<unfinished ...>"):
                        pending[pid] = sock
                        continue
                else:
                    pid = line.split(None, 1)[0] if line.strip() else ""
                    if "resumed>" not in line or pid not in pending:
                        continue
                    sock = pending.pop(pid)
                r = ret.search(line.rstrip())
                if sock and r and int(r.group(1)) > 0:
                    c["sock_bytes"] += int(r.group(1))
        os.unlink(out)
        return c

    # --------------------------------------------------------- workload 3
    def w3(self):
        n = self.p("w3_msgs")
        reps = self.p("w3_reps")
        msg = make_message(os.path.join(self.work, "m10k-q"), 10_000, 3)
        srv = Aiosmtpd(self, "w3tls", port=free_port())
        conf = self.conf("w3.conf", srv.want_port, True)
        tmpl = os.path.join(self.work, "msmtpq-template")
        os.mkdir(tmpl, 0o700)
        qenv = self.env()
        qenv.update(MSMTP=self.args.msmtp, MSMTPQ_Q=tmpl,
                    MSMTPQ_LOG=os.path.join(self.work, "msmtpq.log"),
                    EMAIL_CONN_TEST="x", EMAIL_QUEUE_QUIET="t")
        note("W3: filling msmtpq's queue with %d messages, server down" % n)
        fill = {"outbox": [], "msmtp": []}
        t0 = time.perf_counter()
        for _ in range(n):
            must(run(["bash", self.args.msmtpq, "-C", conf, "-f", FROM,
                      RCPT], qenv, msg, self.errlog), "msmtpq", self.errlog)
        fill["msmtp"].append((time.perf_counter() - t0) / n)
        if count_ext(tmpl, ".mail") != n:
            raise RuntimeError("msmtpq queued %d of %d"
                               % (count_ext(tmpl, ".mail"), n))
        srv.start()
        res = {t: [] for t in TOOLS}
        logins = {t: [] for t in TOOLS}
        tlsh = {t: [] for t in TOOLS}
        try:
            for rep in range(reps):
                for tool in self.order(rep):
                    env = self.env()
                    if tool == "outbox":
                        note("W3: outbox -odq x %d, then outbox -q (rep %d/%d)"
                             % (n, rep + 1, reps))
                        t0 = time.perf_counter()
                        for _ in range(n):
                            must(run(self.send_argv(tool, conf, "-odq"), env,
                                     msg, self.errlog), "outbox -odq",
                                 self.errlog)
                        fill["outbox"].append((time.perf_counter() - t0) / n)
                        argv = [self.args.outbox, "-C", conf, "-q"]
                        qdir = os.path.join(env["XDG_STATE_HOME"],
                                            "outbox/queue/msg")
                        left = lambda: len(os.listdir(qdir))
                    else:
                        note("W3: msmtpq --q-mgmt -r over %d messages "
                             "(rep %d/%d)" % (n, rep + 1, reps))
                        qdir = os.path.join(env["HOME"], "msmtp.queue")
                        shutil.copytree(tmpl, qdir)
                        env.update(MSMTP=self.args.msmtp, MSMTPQ_Q=qdir,
                                   MSMTPQ_LOG=os.path.join(env["HOME"], "q.log"),
                                   EMAIL_CONN_TEST="x", EMAIL_QUEUE_QUIET="t")
                        argv = ["bash", self.args.msmtpq, "--q-mgmt", "-r"]
                        left = lambda: count_ext(qdir, ".mail")
                    if tool == "outbox" and left() != n:
                        raise RuntimeError("outbox queued %d of %d"
                                           % (left(), n))
                    off = srv.log_size()
                    r = must(run(argv, env, None, self.errlog), tool,
                             self.errlog)
                    got = srv.stored()
                    srv.clear()
                    if got != n or left() != 0:
                        raise RuntimeError("%s flush: server stored %d of %d,"
                                           " %d left queued"
                                           % (tool, got, n, left()))
                    lines = srv.log_since(off)
                    res[tool].append(r["wall"])
                    tlsh[tool].append(sum(" C: STARTTLS" in x for x in lines))
                    logins[tool].append(sum(" C: AUTH" in x for x in lines))
        finally:
            srv.stop()
        self.row("3", "flush %d queued 10 KB messages (outbox -q vs "
                 "msmtpq -r): wall" % n, "s", res["outbox"], res["msmtp"],
                 ("ratio", 0.05))
        self.row("3", "  TLS handshakes (STARTTLS) per flush", "n",
                 tlsh["outbox"], tlsh["msmtp"], ("max", 1))
        self.row("3", "  logins (AUTH) per flush", "n", logins["outbox"],
                 logins["msmtp"], ("max", 1))
        self.row("3", "  queueing one message (outbox -odq; msmtpq "
                 "while offline)", "s", fill["outbox"], fill["msmtp"], None,
                 "msmtpq also tries msmtp, refused")

    # --------------------------------------------------------- workload 4
    def w4(self):
        runs = self.p("w4_runs")
        conf = self.conf("w4.conf", free_port(), True)
        probes = self.probes()
        cases = (("--version", lambda t: [self.bin(t), "--version"]),
                 ("--pretend (-C conf -P)",
                  lambda t: [self.bin(t), "-C", conf, "-P"]))
        env = self.env()
        for label, argv in cases:
            res = {t: {"wall": [], "rss": []} for t in TOOLS}
            note("W4: %s, %d runs each" % (label, runs))
            for i in range(runs):
                for tool in self.order(i):
                    r = must(run(argv(tool), env, None, self.errlog), tool,
                             self.errlog)
                    res[tool]["wall"].append(r["wall"])
                    if i < 5:
                        r = must(run(argv(tool), env, None, self.errlog,
                                     rss=True), tool, self.errlog)
                        res[tool]["rss"].append(r["rss"])
            self.row("4", "start-up %s: wall" % label, "s",
                     res["outbox"]["wall"], res["msmtp"]["wall"],
                     ("ratio", 1.0))
            self.row("4", "  peak RSS", "KiB", res["outbox"]["rss"],
                     res["msmtp"]["rss"])
        for tool in TOOLS:
            libs = shared_libs(self.bin(tool))
            self.notes.append("%s maps %d shared libraries at start-up%s"
                              % (tool, len(libs),
                                 " (libsecret/glib among them)"
                                 if any("libsecret" in x for x in libs)
                                 else " (no libsecret/glib)"))
        if probes:
            wall = {k: [] for k in probes}
            for i in range(runs):
                for k, path in probes.items():
                    wall[k].append(must(run([path], env), k, None)["wall"])
            rss = {k: [must(run([path], env, rss=True), k, None)["rss"]
                       for _ in range(5)] for k, path in probes.items()}
            cost = statistics.median(wall["gnutls+idn2+libsecret"]) - \
                statistics.median(wall["gnutls+idn2"])
            self.row("4", "empty main() linked with gnutls+idn2 (+ libsecret,"
                     " glib)", "s", wall["gnutls+idn2"],
                     wall["gnutls+idn2+libsecret"], None,
                     "msmtp column: with libsecret/glib")
            self.row("4", "  peak RSS", "KiB", rss["gnutls+idn2"],
                     rss["gnutls+idn2+libsecret"])
            self.notes.append(
                "loading libsecret/gio/gobject/glib costs %.2f ms and %.1f "
                "MiB of RSS per start (medians of two empty programs)"
                % (cost * 1000, (statistics.median(
                    rss["gnutls+idn2+libsecret"]) - statistics.median(
                        rss["gnutls+idn2"])) / 1024))

    def probes(self):
        """Two empty programs: what linking libsecret/glib costs at exec."""
        cc = shutil.which("gcc") or shutil.which("cc")
        if not cc or not shutil.which("pkg-config"):
            return {}
        src = os.path.join(self.work, "empty.c")
        with open(src, "w", encoding="ascii") as f:
            f.write("int main(void)\n{\n\treturn 0;\n}\n")
        out = {}
        for key, pkgs in (("gnutls+idn2", "gnutls libidn2"),
                          ("gnutls+idn2+libsecret",
                           "gnutls libidn2 libsecret-1")):
            libs = subprocess.run(["pkg-config", "--libs"] + pkgs.split(),
                                  capture_output=True, text=True)
            if libs.returncode != 0:
                return {}
            path = os.path.join(self.work, "empty-" + key.replace("+", "-"))
            cp = subprocess.run([cc, "-O2", "-o", path, src,
                                 "-Wl,--no-as-needed"] + libs.stdout.split(),
                                capture_output=True)
            if cp.returncode != 0:
                return {}
            out[key] = path
        return out

    # --------------------------------------------------------- workload 5
    def w5(self):
        n = self.p("w5_procs")
        reps = self.p("w5_reps")
        msg = make_message(os.path.join(self.work, "m10k-c"), 10_000, 5)
        conf = self.conf("w5.conf", free_port(), True)
        res = {t: [] for t in TOOLS}
        for rep in range(reps):
            for tool in self.order(rep):
                note("W5: %d concurrent %s submissions, server down "
                     "(rep %d/%d)" % (n, "outbox" if tool == "outbox"
                                      else "msmtpq", rep + 1, reps))
                env = self.env()
                if tool == "outbox":
                    argv = self.send_argv(tool, conf)
                    qdir = os.path.join(env["XDG_STATE_HOME"],
                                        "outbox/queue/msg")
                    count = lambda: len(os.listdir(qdir))
                else:
                    qdir = os.path.join(env["HOME"], "msmtp.queue")
                    os.mkdir(qdir, 0o700)
                    env.update(MSMTP=self.args.msmtp, MSMTPQ_Q=qdir,
                               MSMTPQ_LOG=os.path.join(env["HOME"], "q.log"),
                               EMAIL_CONN_TEST="x", EMAIL_QUEUE_QUIET="t")
                    argv = ["bash", self.args.msmtpq, "-C", conf, "-f",
                            FROM, RCPT]
                    count = lambda: count_ext(qdir, ".mail")
                wall, bad = concurrent(argv, env, msg, n, self.errlog)
                if bad or count() != n:
                    raise RuntimeError("W5 %s: %d failed, %d of %d queued"
                                       % (tool, bad, count(), n))
                res[tool].append(wall)
        self.row("5", "%d concurrent submissions, server down, until all "
                 "are queued (outbox vs msmtpq)" % n, "s", res["outbox"],
                 res["msmtp"])

    # ------------------------------------------------------------ profile
    def profile(self):
        if not shutil.which("perf"):
            self.notes.append("perf not installed: no profile")
            return
        size = self.p("w2_sizes")[-1]
        msg = os.path.join(self.work, "m%d" % size)
        if not os.path.exists(msg):
            make_message(msg, size, 2)
        srv = Aiosmtpd(self, "proftls").start()
        try:
            conf = self.conf("prof.conf", srv.port, True)
            for tool in TOOLS:
                note("profile: perf record, %s, %s over STARTTLS"
                     % (tool, mb(size)))
                data = os.path.join(self.work, "perf-%s.data" % tool)
                must(run(["perf", "record", "-q", "-F", "1999", "-o", data,
                          "--"] + self.send_argv(tool, conf), self.env(),
                         msg, self.errlog), "perf record " + tool,
                     self.errlog)
                srv.clear()
                self.notes.append(
                    "perf (%s sending %s over STARTTLS), self time by "
                    "library: %s; by function: %s"
                    % (tool, mb(size), perf_top(data, "dso", 5),
                       perf_top(data, "dso,symbol", 6)))
        finally:
            srv.stop()


# --------------------------------------------------------------- helpers ---

def perf_top(data, sort, n):
    """The N largest entries of a perf report sorted by SORT, one line."""
    rep = subprocess.run(["perf", "report", "-i", data, "--stdio",
                          "--no-children", "-g", "none", "--sort", sort],
                         capture_output=True, text=True)
    top = []
    for line in rep.stdout.splitlines():
        f = line.split()
        if not f or not re.match(r"^\d+\.\d+%$", f[0]):
            continue
        if sort == "dso":
            top.append("%s %s" % (f[1], f[0]))
        else:
            top.append("%s %s (%s)" % (f[3], f[0], f[1]))
        if len(top) == n:
            break
    return ", ".join(top)


def count_ext(d, ext):
    return sum(1 for n in os.listdir(d) if n.endswith(ext))


def concurrent(argv, env, msg, n, errlog):
    """Start N copies at once; wall time until the last one has exited."""
    ferr = open(errlog, "ab")
    procs = []
    t0 = time.perf_counter()
    for _ in range(n):
        with open(msg, "rb") as fin:
            procs.append(subprocess.Popen(argv, stdin=fin, env=env,
                                          stdout=subprocess.DEVNULL,
                                          stderr=ferr))
    bad = sum(p.wait() != 0 for p in procs)
    wall = time.perf_counter() - t0
    ferr.close()
    return wall, bad


def shared_libs(path):
    env = dict(os.environ, LD_TRACE_LOADED_OBJECTS="1")
    out = subprocess.run([path], env=env, capture_output=True, text=True)
    return [line.split()[0] for line in out.stdout.splitlines()
            if line.strip() and "vdso" not in line]


def pct(part, whole):
    return (part - whole) / whole * 100


def mb(n):
    return "%g MB" % (n / 1e6)


def fmt(v, unit):
    if unit == "s":
        return "%.3g s" % v if v >= 1 else "%.3g ms" % (v * 1000)
    if unit == "KiB":
        return "%.1f MiB" % (v / 1024)
    if unit == "%":
        return "%+.2f %%" % v
    if v == int(v):
        return "%d" % v
    return "%.3g" % v


def summary(vals, unit):
    if not vals:
        return "-"
    med = statistics.median(vals)
    if len(vals) == 1 or min(vals) == max(vals):
        return fmt(med, unit)
    return "%s [%s-%s]" % (fmt(med, unit), fmt(min(vals), unit),
                           fmt(max(vals), unit))


def verdict(r):
    t = r["target"]
    if t is None or not r["o"]:
        return ""
    o = statistics.median(r["o"])
    kind, limit = t
    if kind == "ratio":
        m = statistics.median(r["m"])
        val = o / m if m else float("inf")
        want = "<= %.2f" % limit
    else:
        val = o
        want = "<= %s" % fmt(limit, r["unit"])
    if val <= limit:
        return "met (%s)" % want
    miss = (val / limit - 1) * 100 if limit else float("inf")
    return "MISSED by %.0f %% (%s)" % (miss, want)


def ratio(r):
    if not r["o"] or not r["m"] or r["unit"] == "%":
        return ""
    m = statistics.median(r["m"])
    return "%.3g" % (statistics.median(r["o"]) / m) if m else ""


def table(rows, markdown):
    head = ["W", "metric", "outbox median [min-max]",
            "msmtp median [min-max]", "outbox/msmtp", "target"]
    body = [[r["wl"], r["metric"] + (" (%s)" % r["note"] if r["note"]
                                     else ""),
             summary(r["o"], r["unit"]), summary(r["m"], r["unit"]),
             ratio(r), verdict(r)] for r in rows]
    if markdown:
        lines = ["| " + " | ".join(head) + " |",
                 "|" + "|".join("---" for _ in head) + "|"]
        lines += ["| " + " | ".join(c.replace("|", "/") for c in b) + " |"
                  for b in body]
        return "\n".join(lines)
    width = [max(len(x) for x in col) for col in zip(head, *body)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(b, width)).rstrip()
                     for b in [head] + body)


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break

    def deb(pkg):
        r = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", pkg],
                           capture_output=True, text=True)
        return r.stdout.strip() or "?"

    mem = "?"
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = "%.0f GiB" % (int(line.split()[1]) / 1024 / 1024)
    return ("nproc %d, %s, %s RAM, kernel %s; msmtp %s, libgnutls30 %s, "
            "python3-aiosmtpd %s, postfix %s"
            % (os.cpu_count(), model, mem, os.uname().release, deb("msmtp"),
               deb("libgnutls30"), deb("python3-aiosmtpd"), deb("postfix")))


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for opt in ("outbox", "msmtp", "msmtpq", "smtpd", "ca", "cert", "key",
                "work"):
        p.add_argument("--" + opt, required=True)
    p.add_argument("--revision", default="unknown",
                   help="the tree's commit, for the report")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--only", default="1,2,3,4,5,p",
                   help="comma-separated workloads (1-5, p = profile)")
    p.add_argument("--markdown", help="also write the table here")
    args = p.parse_args(argv)
    b = Bench(args)
    steps = {"1": b.w1, "2": b.w2, "3": b.w3, "4": b.w4, "5": b.w5,
             "p": b.profile}
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    t0 = time.perf_counter()
    load0 = os.getloadavg()[0]
    failed = []
    try:
        for key in args.only.split(","):
            try:
                steps[key]()
            except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                failed.append("workload %s failed: %s" % (key, e))
                note(failed[-1])
                Running.stop_all()
    finally:
        Running.stop_all()
    took = time.perf_counter() - t0
    info = ("%s run of outbox at commit %s (plus uncommitted changes, if "
            "any), %.0f s, load average %.2f at the start, %.2f at the end, "
            "work dir on %s; %s"
            % ("quick" if args.quick else "full", args.revision, took, load0,
               os.getloadavg()[0], fs_type(args.work), machine()))
    out = [info, "", table(b.rows, False), ""]
    out += ["* " + n for n in b.notes + failed]
    print("\n".join(out))
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write(info + "\n\n" + table(b.rows, True) + "\n\n")
            f.write("\n".join("* " + n for n in b.notes + failed) + "\n")
    return 1 if failed else 0


def fs_type(path):
    best, kind = "", "?"
    with open("/proc/mounts") as f:
        for line in f:
            dev, mnt, typ = line.split()[:3]
            if path.startswith(mnt) and len(mnt) >= len(best):
                best, kind = mnt, typ
    return "%s (%s)" % (best, kind)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
