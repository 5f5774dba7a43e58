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
RCPT_PF = "rcpt@example.net"  # the private Postfix takes mail for example.net
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
    "w6_sizes": ((1_000, 100_000), (1_000, 10_000)),
    "w6_reps": (3, 1),
    "w6_disk_flush": (1_000, 200),
    "w6_writers": ((8, 50), (8,)),
    "w6_commits": (40, 10),
    "w7_sends": (100, 10),
    "w7_flush_msgs": (100, 20),
    "w7_flush_reps": (3, 1),
    "w7_resume_blocks": (6, 2),
    "w7_resume_per": (100, 10),
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


class Postfix:
    """The project's private Postfix (tests/server/postfix-setup.sh):
    STARTTLS, Cyrus SASL (sasldb, user bob), virtual delivery into one
    maildir.  Needs root; stopped by the script, which kills only its own
    master's PID."""

    SETUP = os.path.join(HERE, "..", "tests", "server", "postfix-setup.sh")

    def __init__(self, b):
        self.b = b
        self.dir = os.path.join(b.work, "postfix")
        self.port = None

    @staticmethod
    def missing():
        if os.geteuid() != 0:
            return "the private Postfix needs root"
        path = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"
        for tool in ("postfix", "saslpasswd2", "script"):
            if not shutil.which(tool, path=path):
                return "%s is not installed (postfix, sasl2-bin)" % tool
        return None

    def start(self):
        # the virtual transport writes the maildir as nobody
        os.chmod(self.b.work, 0o711)
        log = os.path.join(self.b.work, "postfix-setup.out")
        for _ in range(3):
            self.port = free_port()
            with open(log, "ab") as out:
                r = subprocess.run(["sh", self.SETUP, "start", self.dir,
                                    str(self.port), self.b.args.cert,
                                    self.b.args.key, USER],
                                   input=(PASSWORD + "\n").encode(),
                                   stdout=out, stderr=out)
            if r.returncode == 0:
                return self
            self.stop()
            shutil.rmtree(self.dir, ignore_errors=True)
        raise RuntimeError("the private Postfix did not start (see %s)" % log)

    def stop(self):
        subprocess.run(["sh", self.SETUP, "stop", self.dir],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def cpu(self):
        """CPU seconds of the instance's processes so far: its master's
        children alive now, plus what its master has reaped (smtpd exits
        after 100 sessions)."""
        tick = os.sysconf("SC_CLK_TCK")
        with open(os.path.join(self.dir, "queue/pid/master.pid")) as f:
            master = int(f.read().split()[0])

        def fields(pid):
            with open("/proc/%d/stat" % pid) as f:
                return f.read().rsplit(")", 1)[1].split()

        mf = fields(master)
        total = int(mf[13]) + int(mf[14])  # cutime, cstime
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                f = fields(int(pid))
            except OSError:
                continue
            if int(f[1]) == master:
                total += int(f[11]) + int(f[12])  # utime, stime
        return total / tick

    def stored(self):
        box = os.path.join(self.dir, "mail", "example.net")
        return sum(len(os.listdir(os.path.join(box, sub)))
                   for sub in ("new", "cur")
                   if os.path.isdir(os.path.join(box, sub)))

    def wait_stored(self, n, timeout=120):
        """Postfix delivers after it has said 250: wait for N messages."""
        for _ in range(int(timeout / 0.1)):
            if self.stored() >= n:
                return
            time.sleep(0.1)
        raise RuntimeError("Postfix stored %d of %d" % (self.stored(), n))


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

    def conf(self, name, port, tls, priorities=None):
        path = os.path.join(self.work, name)
        lines = ["defaults"]
        if tls:
            lines += ["tls on", "tls_starttls on",
                      "tls_trust_file " + self.args.ca, "auth plain",
                      "user " + USER, "password " + PASSWORD]
        else:
            lines += ["tls off", "auth off"]
        if priorities:
            lines.append("tls_priorities " + priorities)
        lines += ["from " + FROM, "account default",
                  "host 127.0.0.1", "port %d" % port]
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def send_argv(self, tool, conf, *extra, rcpt=RCPT):
        return [self.bin(tool), "-C", conf, *extra, "-f", FROM, rcpt]

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

    # --------------------------------------------------------- workload 6
    def scale_queue(self, where, n, msg, conf):
        """A queue of N copies of one committed 2 KB message under new ids.

        The message file does not hold its own id, so a copy under another
        id is a valid queue entry; ids follow outbox's format (10 hex digits
        of seconds, 5 of microseconds, 8 random), oldest first.
        """
        env = self.env()
        must(run(self.send_argv("outbox", conf, "-odq"), env, msg,
                 self.errlog), "outbox -odq", self.errlog)
        src = os.path.join(env["XDG_STATE_HOME"], "outbox/queue")
        qdir = os.path.join(where, "scale%d" % n)
        shutil.copytree(src, qdir)
        mdir = os.path.join(qdir, "msg")
        (first,) = os.listdir(mdir)
        with open(os.path.join(mdir, first), "rb") as f:
            data = f.read()
        os.unlink(os.path.join(mdir, first))
        base = int(time.time()) - 3600
        for i in range(n):
            name = "%010x%05x%08x" % (base + i // 100_000, i % 100_000, i)
            fd = os.open(os.path.join(mdir, name),
                         os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.write(fd, data)
            os.close(fd)
        return qdir

    def scale_conf(self, name, qdir, port):
        path = os.path.join(self.work, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("defaults\ntls off\nauth off\nfrom %s\naccount default\n"
                    "host 127.0.0.1\nport %d\nqueue_dir %s\n"
                    % (FROM, port, qdir))
        return path

    def scale_flush(self, tmpl, n, port, where):
        """outbox -q of a copy of the queue at tmpl; rate and peak RSS."""
        qdir = os.path.join(where, "flush%d" % n)
        shutil.rmtree(qdir, ignore_errors=True)
        shutil.copytree(tmpl, qdir)
        conf = self.scale_conf("w6-flush%d.conf" % n, qdir, port)
        r = must(run([self.args.outbox, "-C", conf, "-q"], self.env(), None,
                     self.errlog, rss=True), "outbox -q", self.errlog)
        left = len(os.listdir(os.path.join(qdir, "msg")))
        bad = len(os.listdir(os.path.join(qdir, "failed")))
        shutil.rmtree(qdir)
        if left or bad:
            raise RuntimeError("W6 -q of %d: %d left, %d failed" % (n, left, bad))
        return r

    def scale_writers(self, conf, msg, writers, per):
        """WRITERS processes at once, each committing PER messages with
        outbox -odq one after another; commits per second overall."""
        argv = self.send_argv("outbox", conf, "-odq")
        script = ('for i in $(seq %d); do "$@" < "$MSG" || exit 1; done'
                  % per)
        env = self.env()
        env["MSG"] = msg
        ferr = open(self.errlog, "ab")
        t0 = time.perf_counter()
        procs = [subprocess.Popen(["sh", "-c", script, "sh"] + argv, env=env,
                                  stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=ferr)
                 for _ in range(writers)]
        bad = sum(p.wait() != 0 for p in procs)
        wall = time.perf_counter() - t0
        ferr.close()
        if bad:
            raise RuntimeError("W6: %d of %d writers failed" % (bad, writers))
        return writers * per / wall

    def w6(self):
        sizes = self.p("w6_sizes")
        reps = self.p("w6_reps")
        msg = make_message(os.path.join(self.work, "m2k"), 2_048, 6)
        shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
        sink = Sink(self).start()
        conf = self.conf("w6.conf", sink.port, False)
        rows = {}
        try:
            for n in sizes:
                note("W6: a queue of %d messages (on the work dir's disk)" % n)
                tmpl = self.scale_queue(self.work, n, msg, conf)
                lconf = self.scale_conf("w6-list%d.conf" % n, tmpl, sink.port)
                res = {"text": [], "json": []}
                for rep in range(reps):
                    for kind in (("text", "json") if rep % 2 == 0
                                 else ("json", "text")):
                        argv = [self.args.outbox, "-C", lconf, "-bp"]
                        if kind == "json":
                            argv.append("--json")
                        res[kind].append(must(run(argv, self.env(), None,
                                                  self.errlog, rss=True),
                                              "mailq", self.errlog))
                rows[n] = res
                fl = []
                tmpdir = shm
                if tmpdir is not None:
                    where = os.path.join(tmpdir, "outbox-bench-%d" % os.getpid())
                    os.makedirs(where, mode=0o700, exist_ok=True)
                    qt = os.path.join(where, "tmpl")
                    shutil.copytree(tmpl, qt)
                    try:
                        for rep in range(reps):
                            note("W6: outbox -q of %d messages to smtp-sink, "
                                 "queue in /dev/shm (rep %d/%d)"
                                 % (n, rep + 1, reps))
                            fl.append(self.scale_flush(qt, n, sink.port, where))
                    finally:
                        shutil.rmtree(where, ignore_errors=True)
                rows[n]["flush"] = fl
                for writers in self.p("w6_writers"):
                    note("W6: %d concurrent outbox -odq writers beside %d "
                         "queued" % (writers, n))
                    wq = os.path.join(self.work, "writers%d-%d" % (n, writers))
                    shutil.copytree(tmpl, wq)
                    wconf = self.scale_conf("w6-w.conf", wq, sink.port)
                    rows[n].setdefault("writers", {})[writers] = [
                        self.scale_writers(wconf, msg, writers,
                                           self.p("w6_commits"))]
                    got = len(os.listdir(os.path.join(wq, "msg"))) - n
                    shutil.rmtree(wq)
                    want = writers * self.p("w6_commits")
                    if got != want:
                        raise RuntimeError("W6: %d of %d commits queued"
                                           % (got, want))
                shutil.rmtree(tmpl)
            dn = self.p("w6_disk_flush")
            note("W6: outbox -q of %d messages to smtp-sink, queue on the "
                 "work dir's disk" % dn)
            tmpl = self.scale_queue(self.work, dn, msg, conf)
            disk = [self.scale_flush(tmpl, dn, sink.port, self.work)
                    for _ in range(reps)]
            shutil.rmtree(tmpl)
        finally:
            sink.stop()
        small, big = sizes[0], sizes[-1]
        for n in sizes:
            for kind, what in (("text", "mailq"), ("json", "mailq --json")):
                self.row("6", "%s, %d queued 2 KB messages: wall" % (what, n),
                         "s", [r["wall"] for r in rows[n][kind]], None,
                         ("max", 1.0) if n == big else None)
                self.row("6", "  peak RSS", "KiB",
                         [r["rss"] for r in rows[n][kind]])
            if rows[n]["flush"]:
                self.row("6", "outbox -q of %d to smtp-sink, queue in "
                         "/dev/shm: messages per second" % n, "n",
                         [n / r["wall"] for r in rows[n]["flush"]], None,
                         ("min", 2000) if n == big else None)
                self.row("6", "  peak RSS", "KiB",
                         [r["rss"] for r in rows[n]["flush"]])
            for writers, rate in sorted(rows[n].get("writers", {}).items()):
                self.row("6", "%d concurrent outbox -odq writers beside %d "
                         "queued: commits per second" % (writers, n), "n",
                         rate)
        for kind, what in (("text", "mailq"), ("json", "mailq --json")):
            a = statistics.median(r["rss"] for r in rows[small][kind])
            b = statistics.median(r["rss"] for r in rows[big][kind])
            self.row("6", "  %s peak RSS growth %d -> %d messages"
                     % (what, small, big), "%", [pct(b, a)], None,
                     ("max", 10))
        if rows[big]["flush"]:
            a = statistics.median(r["rss"] for r in rows[small]["flush"])
            b = statistics.median(r["rss"] for r in rows[big]["flush"])
            self.row("6", "  outbox -q peak RSS growth %d -> %d messages"
                     % (small, big), "%", [pct(b, a)], None, ("max", 10))
        self.row("6", "outbox -q of %d to smtp-sink, queue on the work dir's "
                 "disk: messages per second" % dn, "n",
                 [dn / r["wall"] for r in disk], None, None,
                 "one fsync of msg/ per removal")

    # --------------------------------------------------------- workload 7
    def w7(self):
        why = Postfix.missing()
        if why:
            self.notes.append("workload 7 skipped: " + why)
            return
        msg = make_message(os.path.join(self.work, "m10k-pf"), 10_000, 7)
        pf = Postfix(self).start()
        try:
            self.w7_sends(pf, msg)
            self.w7_flush(pf, msg)
            self.w7_resume(pf)
        finally:
            pf.stop()

    def w7_variants(self, pf):
        """(label, tool, conf): TLS 1.3 as negotiated, and TLS 1.2."""
        c13 = self.conf("w7-13.conf", pf.port, True)
        c12 = self.conf("w7-12.conf", pf.port, True, "NORMAL:-VERS-TLS1.3")
        return (("outbox13", "outbox", c13), ("outbox12", "outbox", c12),
                ("msmtp13", "msmtp", c13))

    def w7_sends(self, pf, msg):
        """Small sends, one process each, the three variants alternating
        message by message (each variant first in turn)."""
        n = self.p("w7_sends")
        variants = self.w7_variants(pf)
        envs = {v[0]: self.env() for v in variants}
        res = {v[0]: {"wall": [], "cpu": []} for v in variants}
        before = pf.stored()
        note("W7: %d small sends per variant to Postfix, alternating" % n)
        for i in range(n):
            k = i % len(variants)
            for label, tool, conf in variants[k:] + variants[:k]:
                r = must(run(self.send_argv(tool, conf, rcpt=RCPT_PF),
                             envs[label], msg, self.errlog), tool,
                         self.errlog)
                res[label]["wall"].append(r["wall"])
                res[label]["cpu"].append(r["cpu"])
        pf.wait_stored(before + n * len(variants))
        self.row("7", "1 x 10 KB, one process, STARTTLS+AUTH, Postfix, "
                 "TLS 1.3: wall", "s", res["outbox13"]["wall"],
                 res["msmtp13"]["wall"], ("ratio", 0.1))
        self.row("7", "  client CPU (user+sys)", "s", res["outbox13"]["cpu"],
                 res["msmtp13"]["cpu"])
        self.row("7", "  outbox TLS 1.3 against TLS 1.2: wall", "s",
                 res["outbox13"]["wall"], res["outbox12"]["wall"],
                 ("ratio", 1.2), "msmtp column: outbox with TLS 1.2")
        self.row("7", "  outbox TLS 1.3 against TLS 1.2: client CPU", "s",
                 res["outbox13"]["cpu"], res["outbox12"]["cpu"], None,
                 "msmtp column: outbox with TLS 1.2")

    def w7_resume(self, pf):
        """TLS session resumption across processes, priced with
        bench/tls_resume.c: blocks of sessions with a full handshake (each
        saving its session data) and blocks resuming from it, for TLS 1.3
        and 1.2; handshake wall and client CPU per session, and the
        server's CPU per session over each block."""
        cc = shutil.which("gcc") or shutil.which("cc")
        if not cc or not shutil.which("pkg-config"):
            self.notes.append("no compiler: TLS resumption not measured")
            return
        flags = subprocess.run(["pkg-config", "--cflags", "--libs", "gnutls"],
                               capture_output=True, text=True)
        probe = os.path.join(self.work, "tls_resume")
        cp = subprocess.run([cc, "-O2", "-o", probe,
                             os.path.join(HERE, "tls_resume.c")]
                            + flags.stdout.split(), capture_output=True)
        if flags.returncode != 0 or cp.returncode != 0:
            self.notes.append("tls_resume.c did not build: no resumption "
                              "figures")
            return
        blocks, per = self.p("w7_resume_blocks"), self.p("w7_resume_per")
        sess = os.path.join(self.work, "tls-session")
        for version, prio in (("TLS 1.3", "NORMAL"),
                              ("TLS 1.2", "NORMAL:-VERS-TLS1.3")):
            res = {k: {"hs": [], "cpu": [], "total": [], "server": []}
                   for k in ("full", "resumed")}
            note("W7: TLS session resumption, %s, %d x %d sessions each way"
                 % (version, blocks, per))
            for blk in range(blocks):
                for kind in (("full", "resumed") if blk % 2 == 0
                             else ("resumed", "full")):
                    if kind == "resumed":
                        self.probe_once(probe, pf, prio, "-", sess)
                    cpu0 = pf.cpu()
                    for _ in range(per):
                        out = self.probe_once(
                            probe, pf, prio,
                            sess if kind == "resumed" else "-",
                            "-" if kind == "resumed" else sess)
                        if out["resumed"] != (kind == "resumed"):
                            raise RuntimeError("W7: a %s session came out "
                                               "%sresumed" % (kind, "" if
                                               out["resumed"] else "not "))
                        res[kind]["hs"].append(out["handshake_ms"] / 1e3)
                        res[kind]["cpu"].append(out["handshake_cpu_ms"] / 1e3)
                        res[kind]["total"].append(out["total_ms"] / 1e3)
                    res[kind]["server"].append((pf.cpu() - cpu0) / per)
            f, r = res["full"], res["resumed"]
            lab = "msmtp column: a full handshake"
            self.row("7", "TLS session resumed across processes, %s, "
                     "Postfix: handshake wall" % version, "s", r["hs"],
                     f["hs"], None, lab)
            self.row("7", "  handshake client CPU", "s", r["cpu"], f["cpu"],
                     None, lab)
            self.row("7", "  server CPU per session (connect to QUIT)", "s",
                     r["server"], f["server"], None, lab)
            self.row("7", "  session wall (connect to QUIT's reply)", "s",
                     r["total"], f["total"], None, lab)

    def probe_once(self, probe, pf, prio, load, save):
        r = subprocess.run([probe, "127.0.0.1", str(pf.port), self.args.ca,
                            prio, load, save], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("tls_resume: " + r.stderr.strip())
        out = dict(kv.split("=", 1) for kv in r.stdout.split())
        return {"resumed": out["resumed"] == "1",
                "handshake_ms": float(out["handshake_ms"]),
                "handshake_cpu_ms": float(out["handshake_cpu_ms"]),
                "total_ms": float(out["total_ms"])}

    def w7_flush(self, pf, msg):
        """outbox -q (TLS 1.3, TLS 1.2) and msmtpq -r of N queued
        messages.  msmtpq's queue is filled through a configuration whose
        port is closed, then the same file is pointed at Postfix."""
        n = self.p("w7_flush_msgs")
        reps = self.p("w7_flush_reps")
        variants = self.w7_variants(pf)
        down = self.conf("w7-q.conf", free_port(), True)
        tmpl = os.path.join(self.work, "msmtpq-pf")
        os.mkdir(tmpl, 0o700)
        qenv = self.env()
        qenv.update(MSMTP=self.args.msmtp, MSMTPQ_Q=tmpl,
                    MSMTPQ_LOG=os.path.join(self.work, "msmtpq-pf.log"),
                    EMAIL_CONN_TEST="x", EMAIL_QUEUE_QUIET="t")
        note("W7: filling msmtpq's queue with %d messages" % n)
        for _ in range(n):
            must(run(["bash", self.args.msmtpq, "-C", down, "-f", FROM,
                      RCPT_PF], qenv, msg, self.errlog), "msmtpq",
                 self.errlog)
        self.conf("w7-q.conf", pf.port, True)
        res = {v[0]: [] for v in variants}
        for rep in range(reps):
            k = rep % len(variants)
            for label, tool, conf in variants[k:] + variants[:k]:
                note("W7: %s flush of %d queued messages to Postfix "
                     "(rep %d/%d)" % (label, n, rep + 1, reps))
                env = self.env()
                before = pf.stored()
                if tool == "outbox":
                    for _ in range(n):
                        must(run(self.send_argv(tool, conf, "-odq",
                                                rcpt=RCPT_PF), env, msg,
                                 self.errlog), "outbox -odq", self.errlog)
                    argv = [self.args.outbox, "-C", conf, "-q"]
                else:
                    qdir = os.path.join(env["HOME"], "msmtp.queue")
                    shutil.copytree(tmpl, qdir)
                    env.update(MSMTP=self.args.msmtp, MSMTPQ_Q=qdir,
                               MSMTPQ_LOG=os.path.join(env["HOME"], "q.log"),
                               EMAIL_CONN_TEST="x", EMAIL_QUEUE_QUIET="t")
                    argv = ["bash", self.args.msmtpq, "--q-mgmt", "-r"]
                r = must(run(argv, env, None, self.errlog), label,
                         self.errlog)
                pf.wait_stored(before + n)
                res[label].append(r["wall"])
        self.row("7", "flush %d queued 10 KB messages to Postfix, TLS 1.3 "
                 "(outbox -q vs msmtpq -r): wall" % n, "s", res["outbox13"],
                 res["msmtp13"], ("ratio", 0.05))
        self.row("7", "  outbox -q, TLS 1.3 against TLS 1.2", "s",
                 res["outbox13"], res["outbox12"], None,
                 "msmtp column: outbox with TLS 1.2")

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
    elif kind == "min":
        if o >= limit:
            return "met (>= %s)" % fmt(limit, r["unit"])
        return "MISSED by %.0f %% (>= %s)" % ((1 - o / limit) * 100,
                                               fmt(limit, r["unit"]))
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
    p.add_argument("--only", default="1,2,3,4,5,6,7,p",
                   help="comma-separated workloads (1-7, p = profile)")
    p.add_argument("--markdown", help="also write the table here")
    args = p.parse_args(argv)
    b = Bench(args)
    steps = {"1": b.w1, "2": b.w2, "3": b.w3, "4": b.w4, "5": b.w5,
             "6": b.w6, "7": b.w7, "p": b.profile}
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
