#!/usr/bin/python3
"""oauth2server.py - an OAuth2 authorization server for outbox's tests.

Independent of outbox's code: HTTPS on 127.0.0.1 (port 0, written to
--port-file) with the test CA's certificate, and the grants outbox uses:

  POST /device    RFC 8628 3.1: device_code, user_code, verification_uri,
                  interval (--interval), expires_in (--device-expires)
  POST /token     authorization_code (RFC 6749 4.1.3 with PKCE S256, RFC
                  7636 4.6: the verifier is checked), the device grant
                  (authorization_pending until approved, slow_down when
                  polled faster than the interval or --slow-down N times,
                  expired_token, access_denied) and refresh_token (each
                  refresh rotates the refresh token: the old one is then
                  invalid_grant, RFC 6819 5.2.2.3)
  GET /authorize  the browser's sign-in: always consents and redirects to
                  the loopback redirect_uri with code and state

and, for the test itself:

  GET /approve?user_code=C     the user enters the code and consents
  GET /introspect?token=T      RFC 7662-like {"active": .., "user": ..}:
                               the SMTP test server asks this
  GET /revoke                  every refresh and access token is revoked
  GET /expire                  every access token has expired
  GET /stats                   {"refresh": N, "refresh_token": current}

--browse URL plays the browser instead of serving: GET URL (the
/authorize link outbox printed), follow the redirect to outbox's loopback
listener and print what it answered.  Tokens are random and never logged.
"""

import argparse
import base64
import hashlib
import http.server
import json
import os
import secrets
import signal
import ssl
import sys
import threading
import time
import urllib.parse
import urllib.request


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.devices = {}     # device_code -> dict
        self.codes = {}       # code -> dict
        self.access = {}      # token -> (user, expires_at)
        self.refresh = {}     # token -> user
        self.refreshes = 0
        self.slow_downs = args.slow_down

    def issue(self, user, rotate_from=None):
        at = "at-" + secrets.token_urlsafe(24)
        rt = "rt-" + secrets.token_urlsafe(24)
        self.access[at] = (user, time.time() + self.args.access_ttl)
        if rotate_from is not None:
            del self.refresh[rotate_from]
        self.refresh[rt] = user
        return {"access_token": at, "token_type": "Bearer",
                "expires_in": self.args.access_ttl, "refresh_token": rt,
                "scope": self.args.scope}


def b64url_sha256(s):
    d = hashlib.sha256(s.encode()).digest()
    return base64.urlsafe_b64encode(d).rstrip(b"=").decode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        st = self.server.state
        if st.args.log:
            with open(st.args.log, "a") as f:
                # The path only: queries may hold codes and tokens.
                f.write("%s %s\n" % (self.command, self.path.split("?")[0]))

    def reply(self, code, doc, headers=()):
        body = json.dumps(doc).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def error(self, err, desc="", code=400):
        self.reply(code, {"error": err, "error_description": desc})

    def form(self):
        n = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(n).decode()
        return {k: v[0] for k, v in urllib.parse.parse_qs(raw).items()}

    def query(self):
        q = urllib.parse.urlsplit(self.path).query
        return {k: v[0] for k, v in urllib.parse.parse_qs(q).items()}

    def client_ok(self, f):
        a = self.server.state.args
        if f.get("client_id") != a.client_id:
            self.error("invalid_client", "unknown client", 401)
            return False
        if a.client_secret and f.get("client_secret") != a.client_secret:
            self.error("invalid_client", "bad client secret", 401)
            return False
        return True

    # ---- POST ----
    def do_POST(self):
        path = urllib.parse.urlsplit(self.path).path
        f = self.form()
        if not self.client_ok(f):
            return
        st = self.server.state
        with st.lock:
            if path == "/device":
                return self.device(st, f)
            if path == "/token":
                return self.token(st, f)
        self.error("not_found", code=404)

    def device(self, st, f):
        dc = secrets.token_urlsafe(24)
        uc = "%04d-%04d" % (secrets.randbelow(10000), secrets.randbelow(10000))
        st.devices[dc] = {"user_code": uc, "approved": None, "last": 0,
                          "interval": st.args.interval,
                          "expires": time.time() + st.args.device_expires}
        host, port = self.server.server_address[:2]
        self.reply(200, {"device_code": dc, "user_code": uc,
                         "verification_uri": "https://%s:%d/device-login"
                         % (host, port),
                         "expires_in": st.args.device_expires,
                         "interval": st.args.interval})

    def token(self, st, f):
        g = f.get("grant_type")
        if g == "refresh_token":
            rt = f.get("refresh_token", "")
            if rt not in st.refresh:
                return self.error("invalid_grant",
                                  "the refresh token is revoked or unknown")
            st.refreshes += 1
            if st.args.refresh_delay:
                time.sleep(st.args.refresh_delay)
            return self.reply(200, st.issue(st.refresh[rt], rotate_from=rt))
        if g == "authorization_code":
            c = st.codes.pop(f.get("code", ""), None)
            if c is None:
                return self.error("invalid_grant", "unknown code")
            if f.get("redirect_uri") != c["redirect_uri"]:
                return self.error("invalid_grant", "redirect_uri differs")
            if b64url_sha256(f.get("code_verifier", "")) != c["challenge"]:
                return self.error("invalid_grant", "PKCE verifier mismatch")
            return self.reply(200, st.issue(c["user"]))
        if g == "urn:ietf:params:oauth:grant-type:device_code":
            return self.device_token(st, f)
        self.error("unsupported_grant_type")

    def device_token(self, st, f):
        d = st.devices.get(f.get("device_code", ""))
        if d is None:
            return self.error("invalid_grant", "unknown device code")
        now = time.time()
        if now > d["expires"]:
            return self.error("expired_token")
        too_fast = now - d["last"] < d["interval"] - 0.2
        d["last"] = now
        if st.slow_downs > 0 or too_fast:
            st.slow_downs = max(0, st.slow_downs - 1)
            d["interval"] += 5
            return self.error("slow_down")
        if d["approved"] is None:
            return self.error("authorization_pending")
        del st.devices[f["device_code"]]
        return self.reply(200, st.issue(d["approved"]))

    # ---- GET ----
    def do_GET(self):
        path = urllib.parse.urlsplit(self.path).path
        q = self.query()
        st = self.server.state
        with st.lock:
            h = {"/authorize": self.authorize, "/approve": self.approve,
                 "/introspect": self.introspect, "/revoke": self.revoke,
                 "/expire": self.expire, "/stats": self.stats}.get(path)
            if h is None:
                return self.error("not_found", code=404)
            return h(st, q)

    def authorize(self, st, q):
        ru = q.get("redirect_uri", "")
        if (q.get("client_id") != st.args.client_id
                or q.get("response_type") != "code"
                or q.get("code_challenge_method") != "S256"
                or not q.get("code_challenge")
                or not ru.startswith("http://127.0.0.1:")
                or q.get("scope") != st.args.scope):
            return self.error("invalid_request", "bad authorize request")
        code = secrets.token_urlsafe(16)
        st.codes[code] = {"redirect_uri": ru, "user": st.args.user,
                          "challenge": q["code_challenge"]}
        loc = ru + "?" + urllib.parse.urlencode(
            {"code": code, "state": q.get("state", "")})
        self.send_response(302)
        self.send_header("Location", loc)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def approve(self, st, q):
        for d in st.devices.values():
            if d["user_code"] == q.get("user_code"):
                d["approved"] = q.get("user", st.args.user)
                return self.reply(200, {"approved": True})
        self.error("invalid_request", "no such user code", 404)

    def introspect(self, st, q):
        a = st.access.get(q.get("token", ""))
        ok = a is not None and a[1] > time.time()
        self.reply(200, {"active": ok, "user": a[0] if ok else None})

    def revoke(self, st, q):
        st.refresh.clear()
        st.access.clear()
        self.reply(200, {"revoked": True})

    def expire(self, st, q):
        for k, (u, _) in list(st.access.items()):
            st.access[k] = (u, 0)
        self.reply(200, {"expired": True})

    def stats(self, st, q):
        self.reply(200, {"refresh": st.refreshes,
                         "refresh_tokens": len(st.refresh)})


def browse(url, cafile):
    """The browser: GET the authorize URL (HTTPS, test CA), follow its
    redirect to the loopback listener (plain HTTP), print the answer."""
    ctx = ssl.create_default_context(cafile=cafile)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a):
            return None
    opener = urllib.request.build_opener(
        NoRedirect, urllib.request.HTTPSHandler(context=ctx))
    try:
        opener.open(url)
        print("no redirect")
        return 1
    except urllib.error.HTTPError as e:
        if e.code != 302:
            print("authorize answered %d" % e.code)
            return 1
        loc = e.headers["Location"]
    try:
        with urllib.request.urlopen(loc, timeout=10) as r:
            print(r.read().decode().strip())
    except urllib.error.HTTPError as e:
        print("listener answered %d" % e.code)
        return 1
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dir")
    p.add_argument("--port-file")
    p.add_argument("--pid-file")
    p.add_argument("--log")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--client-id", default="outbox-test-client")
    p.add_argument("--client-secret", default="")
    p.add_argument("--user", default="jane@example.org")
    p.add_argument("--scope", default="smtp offline_access")
    p.add_argument("--access-ttl", type=int, default=3600)
    p.add_argument("--interval", type=int, default=1)
    p.add_argument("--device-expires", type=int, default=60)
    p.add_argument("--slow-down", type=int, default=0,
                   help="answer the first N device polls with slow_down")
    p.add_argument("--refresh-delay", type=float, default=0,
                   help="seconds each refresh takes (concurrency tests)")
    p.add_argument("--browse", metavar="URL")
    p.add_argument("--ca")
    args = p.parse_args()
    if args.browse:
        return browse(args.browse, args.ca)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.state = State(args)
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
