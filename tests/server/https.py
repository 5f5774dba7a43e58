#!/usr/bin/python3
"""https.py - a static HTTPS file server for outbox's --configure tests.

Plays a provider's autoconfig host or the ISPDB: serves the files under
--root (the query string is ignored, as autoconfig URLs carry
?emailaddress=) over TLS with --cert/--key, on --host (any 127.x address)
and --port (0: a free one, written to --port-file).  Each request goes to
--log as "METHOD PATH?QUERY STATUS", so a test can tell which sources
outbox asked and in what order.  Independent of outbox's code.
"""

import argparse
import http.server
import os
import signal
import ssl
import sys
import urllib.parse


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        rel = os.path.normpath(urllib.parse.unquote(url.path)).lstrip("/")
        path = os.path.join(self.server.root, rel)
        status = 404
        body = b"not found\n"
        if not rel.startswith("..") and os.path.isfile(path):
            with open(path, "rb") as f:
                body = f.read()
            status = 200
        with open(self.server.log, "a") as f:
            f.write("GET %s %d\n" % (self.path, status))
        self.send_response(status)
        self.send_header("Content-Type", "text/xml" if status == 200 else "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dir", required=True, help="unused: state of server_start")
    p.add_argument("--root", required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file", required=True)
    p.add_argument("--pid-file")
    p.add_argument("--log", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    args = p.parse_args()
    srv = http.server.ThreadingHTTPServer((args.host, args.port), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.root = args.root
    srv.log = args.log
    open(args.log, "a").close()
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    if args.pid_file:
        with open(args.pid_file, "w") as f:
            f.write("%d\n" % os.getpid())
    with open(args.port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(args.port_file + ".tmp", args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
