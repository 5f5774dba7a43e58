#!/usr/bin/python3
"""A hostile SMTP server for outbox's end-to-end tests (stdlib only).

Where tests/server/smtpd.py is a well-behaved server with scripted faults,
this one breaks the protocol on purpose, on raw sockets, so that nothing in
a library smooths the bytes it sends: replies trickled one byte a second,
endless multi-line replies, a 1 MB reply line, control bytes in replies,
malformed reply codes, replies that are wrong for their command, TLS where
plain SMTP is expected, a listener that never greets, and one that closes
after each line.  The behaviour is chosen with --scenario from SCENARIOS.

It listens on 127.0.0.1 (port 0 by default), writes its port and pid to
files like smtpd.py, logs the exchange ("N C: line", "N S: line",
"N * event", N numbering the connection; bytes outside printable ASCII are
escaped in the log) and stores each message that got as far as the final
dot as DIR/msg-N.eml (as received, dot-unstuffed) and DIR/msg-N.env (JSON
envelope, written last).

Untrusted input: the client's lines, bounded by LINE_MAX and the body by
BODY_MAX; a longer line ends that connection.
"""

import argparse
import json
import os
import socket
import ssl
import sys
import threading
import time

LINE_MAX = 4096
BODY_MAX = 10 * 1024 * 1024
GREETING = b"220 hostile.test ESMTP\r\n"
EHLO = b"250-hostile.test\r\n250-8BITMIME\r\n250 SIZE 10000000\r\n"
# Control bytes, DEL, a C1 control (U+009B, CSI) and invalid UTF-8.
NASTY = b"\x1b]0;pwned\x07\x1b[31mred\x1b[0m\x01\x7f\xc2\x9b\xff\xfe"


def endless(prefix, step=0.0):
    """prefix + a counter + CRLF, for ever (a continuation-line flood)."""
    n = 0
    while True:
        n += 1
        yield prefix + b"%d\r\n" % n
        if step:
            time.sleep(step)


def trickle(data):
    """data one byte at a time, one byte a second."""
    for i in range(len(data)):
        yield data[i:i + 1]
        time.sleep(1)


def trickled_endless(prefix):
    """An endless multi-line reply, one byte a second."""
    for line in endless(prefix):
        yield from trickle(line)


# Each scenario: how to greet (bytes or a generator of byte strings, or
# None: never), the reply to each verb that differs from a normal server,
# and flags: "tls" wraps the connection in implicit TLS, "close" closes the
# connection after every line sent, "delay" waits that many seconds before
# each reply to a command.  "EOD" is the reply to the final dot.
SCENARIOS = {
    "ok": {},
    "trickle-greeting": {"greeting": lambda: trickled_endless(b"220-slow ")},
    "trickle-rcpt": {"RCPT": lambda: trickled_endless(b"250-slow ")},
    # Every reply on time, but each half a second late: only the session's
    # deadline stops a long recipient list.
    "slow-steady": {"delay": 0.5},
    "endless-ehlo": {"EHLO": lambda: endless(b"250-more ")},
    "long-line": {"greeting": lambda: iter([b"220 " + b"x" * (1 << 20) + b"\r\n"])},
    "ctl-greeting": {
        "greeting": b"220 hostile.test " + NASTY + b"\r\n",
        "EHLO": b"250-hostile.test " + NASTY + b"\r\n250-X-" + NASTY
        + b"\r\n250 8BITMIME\r\n",
    },
    "ctl-rcpt": {"RCPT": b"450 4.2.0 " + NASTY + b" try later\r\n"},
    "ctl-eod": {"EOD": b"554 5.6.0 " + NASTY + b" refused\r\n"},
    "nul-greeting": {"greeting": b"220 hostile\x00.test\r\n"},
    "code-2x0": {"greeting": b"2x0 hostile.test\r\n"},
    "code-999": {"EHLO": b"999 hostile.test\r\n"},
    "code-short": {"MAIL": b"25\r\n"},
    "code-nospace": {"RCPT": b"250ok\r\n"},
    "code-mismatch": {"EHLO": b"250-hostile.test\r\n251 8BITMIME\r\n"},
    "mail-354": {"MAIL": b"354 go ahead\r\n"},
    "rcpt-354": {"RCPT": b"354 go ahead\r\n"},
    "data-250": {"DATA": b"250 fine\r\n"},
    "eod-354": {"EOD": b"354 more please\r\n"},
    "implicit-tls": {"tls": True},
    "silent": {"greeting": None},
    "close-each-line": {"close": True},
}

DEFAULT_REPLIES = {
    "EHLO": EHLO,
    "HELO": b"250 hostile.test\r\n",
    "MAIL": b"250 2.1.0 ok\r\n",
    "RCPT": b"250 2.1.5 ok\r\n",
    "DATA": b"354 end with <CRLF>.<CRLF>\r\n",
    "EOD": b"250 2.0.0 queued\r\n",
    "RSET": b"250 2.0.0 ok\r\n",
    "NOOP": b"250 2.0.0 ok\r\n",
    "QUIT": b"221 2.0.0 bye\r\n",
}


def shown(data):
    return data.decode("ascii", "backslashreplace").encode(
        "unicode_escape").decode("ascii")[:300]


class Closed(Exception):
    pass


class Server:
    def __init__(self, args):
        self.args = args
        self.scenario = SCENARIOS[args.scenario]
        self.lock = threading.Lock()
        self.conns = 0
        self.msgs = 0
        self.logf = open(args.log, "a", encoding="ascii")
        self.tls = None
        if self.scenario.get("tls"):
            self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls.load_cert_chain(args.cert, args.key)

    def log(self, n, text):
        with self.lock:
            self.logf.write("%d %s\n" % (n, text))
            self.logf.flush()

    def store(self, n, env, body):
        with self.lock:
            self.msgs += 1
            base = os.path.join(self.args.dir, "msg-%d" % self.msgs)
        with open(base + ".eml", "wb") as f:
            f.write(body)
        with open(base + ".env.tmp", "w", encoding="utf-8") as f:
            json.dump(env, f)
        os.rename(base + ".env.tmp", base + ".env")
        self.log(n, "* stored msg-%d" % self.msgs)


class Session:
    def __init__(self, server, sock, n):
        self.server = server
        self.sock = sock
        self.n = n
        self.buf = b""
        self.sc = server.scenario

    def send(self, what):
        """Sends bytes, or each piece of a generator (or a callable
        returning one) as it comes."""
        if callable(what):
            what = what()
        pieces = [what] if isinstance(what, bytes) else what
        line = b""
        for piece in pieces:
            try:
                self.sock.sendall(piece)
            except OSError as e:
                raise Closed(str(e)) from e
            line += piece
            if line.endswith(b"\n") or len(line) > 200:
                self.server.log(self.n, "S: " + shown(line.rstrip(b"\r\n")))
                line = b""
                if self.sc.get("close"):
                    raise Closed("closed after a line, on purpose")
        if line:
            self.server.log(self.n, "S: " + shown(line))

    def readline(self):
        while b"\n" not in self.buf:
            if len(self.buf) > LINE_MAX:
                raise Closed("line too long")
            try:
                data = self.sock.recv(65536)
            except OSError as e:
                raise Closed(str(e)) from e
            if not data:
                raise Closed("client closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r")

    def reply(self, verb):
        return self.sc.get(verb, DEFAULT_REPLIES.get(verb, b"502 5.5.1 no\r\n"))

    def read_body(self):
        body = b""
        while True:
            line = self.readline()
            if line == b".":
                return body
            if line.startswith(b"."):
                line = line[1:]
            body += line + b"\r\n"
            if len(body) > BODY_MAX:
                raise Closed("body too long")

    def run(self):
        greeting = self.sc.get("greeting", GREETING)
        if greeting is None:
            self.server.log(self.n, "* silent")
            while self.sock.recv(65536):
                pass
            raise Closed("client closed")
        self.send(greeting)
        env = {"mail_from": None, "rcpt_tos": []}
        while True:
            line = self.readline()
            self.server.log(self.n, "C: " + shown(line))
            verb = line.split(b" ", 1)[0].split(b":", 1)[0].upper().decode(
                "ascii", "replace")
            if verb == "MAIL":
                env = {"mail_from": line[10:].decode("utf-8", "replace"),
                       "rcpt_tos": []}
            elif verb == "RCPT":
                env["rcpt_tos"].append(line[8:].decode("utf-8", "replace"))
            reply = self.reply(verb)
            time.sleep(self.sc.get("delay", 0))
            self.send(reply)
            if verb == "QUIT":
                return
            if verb == "DATA" and isinstance(reply, bytes) and \
                    reply.startswith(b"354"):
                body = self.read_body()
                self.server.log(self.n, "C: <message of %d bytes>" % len(body))
                self.server.store(self.n, env, body)
                self.send(self.reply("EOD"))


def serve_one(server, sock, n):
    server.log(n, "* connected")
    try:
        if server.tls is not None:
            sock.settimeout(30)
            sock = server.tls.wrap_socket(sock, server_side=True)
            sock.settimeout(None)
            server.log(n, "* TLS established")
        Session(server, sock, n).run()
        server.log(n, "* done")
    except (Closed, OSError, ssl.SSLError) as e:
        server.log(n, "* closed: %s" % e)
    finally:
        try:
            sock.close()
        except OSError:
            pass


def write_atomic(path, data):
    with open(path + ".tmp", "wb") as f:
        f.write(data)
    os.rename(path + ".tmp", path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scenario", required=True, choices=sorted(SCENARIOS))
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--pid-file")
    ap.add_argument("--log", required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    server = Server(args)
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", args.port))
    lsock.listen(16)
    if args.pid_file:
        write_atomic(args.pid_file, b"%d\n" % os.getpid())
    write_atomic(args.port_file, b"%d\n" % lsock.getsockname()[1])
    while True:
        sock, _ = lsock.accept()
        server.conns += 1
        threading.Thread(target=serve_one, args=(server, sock, server.conns),
                         daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
