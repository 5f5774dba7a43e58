#!/usr/bin/python3
"""Scriptable SMTP submission server for outbox's end-to-end tests.

Built on aiosmtpd (Debian's python3-aiosmtpd 1.4.3), an implementation that
shares no code with outbox.  It listens on 127.0.0.1 (port 0 by default),
speaks plain SMTP, STARTTLS or implicit TLS, checks AUTH against the --auth
pairs and --oauth-token tokens the way a real server does (PLAIN, LOGIN,
CRAM-MD5, SCRAM-SHA-1/-256 with and without TLS channel binding, XOAUTH2,
OAUTHBEARER, EXTERNAL; the non-aiosmtpd ones live in saslserver.py next to
this file), stores every accepted message as DIR/msg-N.eml (the bytes as
received, dot-unstuffed) plus DIR/msg-N.env (JSON envelope, written last),
logs the protocol exchange, and injects scripted faults at every stage.

Everything it reads from the network comes from the client under test and is
treated as untrusted: lines are bounded by the reader limit (AUTH lines up to
AUTH_LINE_LIMIT for long OAuth tokens, other commands 512 octets), SASL
messages by saslserver.py's parsers, and the body by --size when given.

Run it with /usr/bin/python3 (the interpreter that has aiosmtpd).
"""

import argparse
import asyncio
import base64
import binascii
import collections
import json
import logging
import os
import re
import signal
import ssl
import sys
import urllib.parse
import urllib.request
import warnings

from aiosmtpd.smtp import MISSING, SMTP, AuthResult, auth_mechanism

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import saslserver  # noqa: E402
from saslserver import AuthFailure  # noqa: E402

STAGES = ("greeting", "ehlo", "helo", "starttls", "auth", "mail", "rcpt",
          "data", "eod")
HANG_SECONDS = 24 * 3600
# Advertised in this order (those that --auth-mech enables).
MECHANISMS = ("PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256",
              "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256-PLUS", "XOAUTH2",
              "OAUTHBEARER", "EXTERNAL")
DEFAULT_MECHANISMS = ("PLAIN", "LOGIN")
# RFC 4954 section 4 allows 12288 octets; a 4 KB token in base64 fits.
AUTH_LINE_LIMIT = 16384
READER_LIMIT = 2 * AUTH_LINE_LIMIT
HANDLED = AuthResult(success=False, handled=True)
FAULT_HELP = """faults (--fault, repeatable): STAGE[=ADDRESS][#COUNT]:ACTION
  STAGE   greeting ehlo helo starttls auth mail rcpt data eod
          (rcpt=ADDRESS hits that recipient only; eod = after the final dot)
  COUNT   fire only the first COUNT times (over all connections)
  ACTION  "NNN text"  reply this instead (421 also closes the connection)
          drop        abort the connection without a reply
          hang        never answer, keep the connection open
          sleep SECS  wait, then carry on normally
          drop-mid    (data only) abort after the first body line
  At eod, drop, hang, sleep and 2xx replies store the message first."""


class Fault:
    """One scripted fault: STAGE[=ADDRESS][#COUNT]:ACTION."""

    SPEC = re.compile(r"^(?P<stage>[a-z]+)(?:=(?P<addr>[^#:]+))?"
                      r"(?:#(?P<count>[0-9]+))?:(?P<action>.+)$")

    def __init__(self, spec):
        m = self.SPEC.match(spec)
        if not m or m.group("stage") not in STAGES:
            raise ValueError("bad fault spec %r" % spec)
        self.stage = m.group("stage")
        self.addr = m.group("addr")
        if self.addr is not None and self.stage != "rcpt":
            raise ValueError("only rcpt takes =ADDRESS: %r" % spec)
        self.remaining = int(m.group("count")) if m.group("count") else -1
        self.action = m.group("action")
        a = self.action
        if a == "drop-mid" and self.stage != "data":
            raise ValueError("drop-mid is for the data stage only: %r" % spec)
        if not (a in ("drop", "hang", "drop-mid")
                or re.match(r"^sleep [0-9.]+$", a)
                or re.match(r"^[2-5][0-9][0-9]( .*)?$", a)):
            raise ValueError("bad fault action %r" % a)

    def matches(self, stage, addr):
        if self.stage != stage or self.remaining == 0:
            return False
        if self.addr is None:
            return True
        return addr is not None and self.addr.lower() == addr.lower()


class ServerState:
    """Configuration and shared state of one server process."""

    def __init__(self, args):
        self.args = args
        self.faults = [Fault(s) for s in args.fault]
        if args.no_ehlo:
            self.faults.append(Fault("ehlo:502 5.5.1 EHLO not supported"))
        self.users = {}
        for pair in args.auth:
            user, sep, password = pair.partition(":")
            if not sep:
                raise ValueError("--auth wants USER:PASS, got %r" % pair)
            self.users[user.encode()] = password.encode()
        self.tokens = collections.defaultdict(set)
        for pair in args.oauth_token:
            user, sep, token = pair.partition(":")
            if not sep or not user or not token:
                raise ValueError("--oauth-token wants USER:TOKEN, got %r"
                                 % pair)
            self.tokens[user.encode()].add(token.encode())
        self.introspect = args.oauth_introspect
        self.introspect_ctx = (ssl.create_default_context(
            cafile=args.oauth_ca) if args.oauth_introspect else None)
        self.mechs = args.auth_mech
        self.auth_enabled = bool(self.users or self.tokens
                                 or self.introspect
                                 or "EXTERNAL" in self.mechs)
        try:
            self.scram = saslserver.ScramStore(self.users,
                                               args.scram_iterations)
        except AuthFailure as e:
            raise ValueError("--auth: %s" % e)
        # Set by main when a -PLUS mechanism may meet TLS 1.3.
        self.exporter = None
        self.counter = self._highest_stored()
        self.logfile = open(args.log, "a", encoding="utf-8") if args.log else None

    def _highest_stored(self):
        n = 0
        for name in os.listdir(self.args.dir):
            m = re.match(r"^msg-([0-9]+)\.(eml|env)$", name)
            if m:
                n = max(n, int(m.group(1)))
        return n

    def take_fault(self, stage, addr=None):
        # An address-specific fault wins over a stage-wide one.
        for want_addr in (True, False):
            for f in self.faults:
                if (f.addr is not None) == want_addr and f.matches(stage, addr):
                    if f.remaining > 0:
                        f.remaining -= 1
                    return f
        return None

    def log(self, conn, text):
        if self.logfile:
            self.logfile.write("%d %s\n" % (conn, text))
            self.logfile.flush()

    def store(self, content, record):
        self.counter += 1
        base = os.path.join(self.args.dir, "msg-%d" % self.counter)
        write_atomic(base + ".eml", content)
        write_atomic(base + ".env",
                     (json.dumps(record, indent=1, sort_keys=True) + "\n").encode())
        return self.counter


def write_atomic(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, path)


def printable(raw):
    return raw.rstrip(b"\r\n").decode("utf-8", errors="backslashreplace")


class Handler:
    """aiosmtpd hooks: EHLO capabilities."""

    def __init__(self, state):
        self.state = state

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        a = self.state.args
        caps = [r[4:] for r in responses[1:-1]]
        if a.no_8bitmime:
            caps = [c for c in caps if c != "8BITMIME"]
        # aiosmtpd lists AUTH (sorted) only where it allows it; list ours.
        had_auth = any(c.startswith("AUTH ") for c in caps)
        caps = [c for c in caps if not c.startswith("AUTH ")]
        offered = server.offered_mechanisms()
        if had_auth and self.state.auth_enabled and offered:
            caps.append("AUTH " + " ".join(offered))
        if a.pipelining:
            caps.append("PIPELINING")
        if a.dsn:
            caps.append("DSN")
        caps.extend(a.capability)
        caps.append("HELP")
        lines = [responses[0][4:]] + caps
        return ["250-" + x for x in lines[:-1]] + ["250 " + lines[-1]]


class Identity:
    """Who authenticated: the login (bytes) and OAUTHBEARER's host/port."""

    def __init__(self, login, oauth_host=None, oauth_port=None):
        self.login = login
        self.oauth_host = oauth_host
        self.oauth_port = oauth_port


def text(value):
    return value.decode("utf-8", "backslashreplace") if value else None


class TestSMTP(SMTP):
    """aiosmtpd's SMTP with logging, faults, DSN parameters, own DATA and
    the SASL mechanisms aiosmtpd lacks."""

    conn_seq = 0
    line_length_limit = READER_LIMIT

    def __init__(self, state, *args, **kwargs):
        super().__init__(Handler(state), *args, **kwargs)
        # Per connection (aiosmtpd's is one dict shared by all instances).
        self.command_size_limits = collections.defaultdict(
            lambda: SMTP.command_size_limit, {"AUTH": AUTH_LINE_LIMIT})
        self.state = state
        TestSMTP.conn_seq += 1
        self.conn_id = TestSMTP.conn_seq
        self.helo_name = None

    # --- logging -----------------------------------------------------------

    def _log(self, text):
        self.state.log(self.conn_id, text)

    def _client_connected_cb(self, reader, writer):
        super()._client_connected_cb(reader, writer)
        self._raw_readuntil = reader.readuntil

        async def readuntil(separator=b"\n"):
            line = await self._raw_readuntil(separator)
            self._log("C: " + printable(line))
            return line

        # Only aiosmtpd's AUTH challenges read with readline.  Logged once;
        # at EOF the exchange ends there (no empty answer that a SCRAM
        # server-final would take as the client's consent).
        async def readline():
            try:
                return await readuntil()
            except asyncio.IncompleteReadError:
                self._log("* eof in auth")
                raise asyncio.CancelledError()

        reader.readuntil = readuntil
        reader.readline = readline

    async def push(self, status):
        text = status if isinstance(status, str) else status.decode(
            "utf-8", errors="backslashreplace")
        self._log("S: " + text)
        await super().push(status)

    # --- transport control -------------------------------------------------

    def _tls_active(self):
        return self.state.args.mode == "tls" or self._tls_protocol is not None

    def _abort(self):
        self._log("* drop")
        if self.transport is not None:
            self.transport.abort()
        if self._original_transport is not None:
            self._original_transport.abort()
        raise asyncio.CancelledError()

    async def _hang(self):
        self._log("* hang")
        await asyncio.sleep(HANG_SECONDS)
        raise asyncio.CancelledError()

    async def _close(self):
        self._log("* close")
        self._handler_coroutine.cancel()
        self.transport.close()

    async def _apply(self, fault):
        """Carry out FAULT; True if it answered (or ended) the command."""
        action = fault.action
        if action == "drop":
            self._abort()
        if action == "hang":
            await self._hang()
        if action.startswith("sleep "):
            await asyncio.sleep(float(action[6:]))
            return False
        await self.push(action)
        if action.startswith("421"):
            await self._close()
        return True

    async def _fault(self, stage, addr=None):
        fault = self.state.take_fault(stage, addr)
        return fault is not None and await self._apply(fault)

    # --- session -----------------------------------------------------------

    async def _handle_client(self):
        self._log("* connect%s" % (" tls" if self._tls_active() else ""))
        fault = self.state.take_fault("greeting")
        if fault is None:
            return await super()._handle_client()
        if not await self._apply(fault):
            return await super()._handle_client()
        # RFC 5321 3.1: after a refusing greeting, wait for QUIT.
        while self.transport is not None:
            line = await self._reader.readuntil()
            if line.strip().upper() == b"QUIT":
                await self.push("221 Bye")
                await self._close()
                return
            await self.push("503 5.5.1 Error: bad sequence of commands")

    async def smtp_EHLO(self, hostname):
        if await self._fault("ehlo"):
            return
        self.helo_name = hostname
        await super().smtp_EHLO(hostname)

    async def smtp_HELO(self, hostname):
        if await self._fault("helo"):
            return
        self.helo_name = hostname
        await super().smtp_HELO(hostname)

    async def smtp_STARTTLS(self, arg):
        if self.tls_context and not self._tls_protocol and await self._fault(
                "starttls"):
            return
        if self.tls_context and not self._tls_protocol:
            self._log("* starttls")
        await super().smtp_STARTTLS(arg)

    async def smtp_AUTH(self, arg):
        if not self.state.auth_enabled:
            return await self.push("502 5.5.1 AUTH not available")
        if await self._fault("auth"):
            return
        was_authenticated = self.session.authenticated
        await super().smtp_AUTH(arg)
        if self.session.authenticated and not was_authenticated:
            self.session.auth_mech = arg.split()[0]
            self._log("* authenticated %s as %s" % (
                self.session.auth_mech, text(self.session.auth_data.login)))

    # --- SASL mechanisms beyond aiosmtpd's PLAIN and LOGIN ------------------

    def _ssl_object(self):
        t = self.transport
        return t.get_extra_info("ssl_object") if t is not None else None

    def _channel(self):
        """(type, data, TLS version) of this connection's channel binding,
        or None (no TLS, or no binding available)."""
        sslobj = self._ssl_object()
        if sslobj is None:
            return None
        try:
            return saslserver.channel_binding(sslobj, self.state.exporter)
        except (OSError, ValueError) as e:
            self._log("* no channel binding: %s" % e)
            return None

    def offered_mechanisms(self):
        """The AUTH mechanisms of this connection, in MECHANISMS order:
        -PLUS only on a TLS connection that has a channel binding."""
        plus = (any(m.endswith("-PLUS") for m in self.state.mechs)
                and self._channel() is not None)
        return [m for m in self.state.mechs if plus or not m.endswith("-PLUS")]

    def _refuse(self, reason, reply=None):
        self._log("* auth refused: %s" % reason)
        return AuthResult(success=False, handled=False, message=reply)

    async def _challenge(self, data):
        """Send 334 base64(DATA); the decoded answer, or None when the
        client cancelled or sent bad base64 (already answered 501)."""
        answer = await self.challenge_auth(data)
        return None if answer is MISSING else answer

    async def _initial(self, args):
        """The initial response (RFC 4954: '=' is an empty one) or, without
        one, the answer to an empty 334; None when already answered."""
        if len(args) == 1:
            return await self._challenge(b"")
        if args[1] == "=":
            return b""
        try:
            return base64.b64decode(args[1], validate=True)
        except (binascii.Error, ValueError):
            await self.push("501 5.5.2 Can't decode base64")
            return None

    def _token_owner(self, user, token):
        """USER (or, when None, whoever owns TOKEN) if TOKEN is valid:
        one of --oauth-token, or one the --oauth-introspect server issued
        and that has not expired."""
        if self.state.introspect:
            return self._introspect(user, token)
        owners = [u for u, tokens in self.state.tokens.items()
                  if token in tokens and user in (None, u)]
        if not owners:
            raise AuthFailure("bearer token not valid for %s" % (
                text(user) if user is not None else "any user"))
        return owners[0]

    def _introspect(self, user, token):
        url = "%s?%s" % (self.state.introspect, urllib.parse.urlencode(
            {"token": token.decode("ascii", "replace")}))
        with urllib.request.urlopen(url, context=self.state.introspect_ctx,
                                    timeout=10) as r:
            doc = json.load(r)
        owner = (doc.get("user") or "").encode()
        if not doc.get("active") or user not in (None, owner):
            raise AuthFailure("bearer token not active for %s" % (
                text(user) if user is not None else "any user"))
        return owner

    @auth_mechanism("CRAM-MD5")
    async def auth_CRAM_MD5(self, _, args):
        if len(args) != 1:
            await self.push("501 5.5.2 CRAM-MD5 has no initial response")
            return HANDLED
        challenge = saslserver.cram_md5_challenge(self.hostname)
        response = await self._challenge(challenge)
        if response is None:
            return HANDLED
        try:
            user = saslserver.cram_md5_check(self.state.users, challenge,
                                             response)
        except AuthFailure as e:
            return self._refuse(e)
        return AuthResult(success=True, auth_data=Identity(user))

    async def _scram(self, mechanism, args):
        plus_enabled = any(m.endswith("-PLUS") for m in self.state.mechs)
        channel = self._channel() if plus_enabled else None
        if mechanism.endswith("-PLUS") and channel is None:
            await self.push("504 5.5.4 %s needs TLS with channel binding"
                            % mechanism)
            return HANDLED
        # channel is not None here exactly when this connection offers -PLUS.
        exchange = saslserver.ScramExchange(
            self.state.scram, mechanism, channel, channel is not None,
            self.state.args.scram_bad_signature)
        client_first = await self._initial(args)
        if client_first is None:
            return HANDLED
        try:
            server_first = exchange.server_first(client_first)
        except AuthFailure as e:
            return self._refuse(e)
        client_final = await self._challenge(server_first)
        if client_final is None:
            return HANDLED
        try:
            server_final = exchange.server_final(client_final)
        except AuthFailure as e:
            return self._refuse(e)
        if self.state.args.scram_bad_signature:
            self._log("* scram: sending a wrong server signature")
        if channel is not None and exchange.cbdata:
            self._log("* scram: channel binding %s checked (%s)"
                      % (channel[0], channel[2]))
        last = await self._challenge(server_final)
        if last is None:
            return HANDLED
        if last:
            return self._refuse("SCRAM: non-empty answer to server-final")
        return AuthResult(success=True,
                          auth_data=Identity(exchange.user.encode()))

    @auth_mechanism("SCRAM-SHA-1")
    async def auth_SCRAM_SHA_1(self, _, args):
        return await self._scram("SCRAM-SHA-1", args)

    @auth_mechanism("SCRAM-SHA-256")
    async def auth_SCRAM_SHA_256(self, _, args):
        return await self._scram("SCRAM-SHA-256", args)

    @auth_mechanism("SCRAM-SHA-1-PLUS")
    async def auth_SCRAM_SHA_1_PLUS(self, _, args):
        return await self._scram("SCRAM-SHA-1-PLUS", args)

    @auth_mechanism("SCRAM-SHA-256-PLUS")
    async def auth_SCRAM_SHA_256_PLUS(self, _, args):
        return await self._scram("SCRAM-SHA-256-PLUS", args)

    @auth_mechanism("XOAUTH2")
    async def auth_XOAUTH2(self, _, args):
        data = await self._initial(args)
        if data is None:
            return HANDLED
        try:
            user, token = saslserver.parse_xoauth2(data)
        except AuthFailure as e:
            return self._refuse(e)
        try:
            self._token_owner(user, token)
        except AuthFailure as e:
            # Gmail: a 334 with the error in JSON, then 535 after any answer.
            self._log("* auth refused: %s" % e)
            if await self._challenge(saslserver.oauth_error(
                    saslserver.XOAUTH2_ERROR)) is None:
                return HANDLED
            return self._refuse("XOAUTH2 error acknowledged",
                                "535 5.7.8 Username and Password not "
                                "accepted")
        return AuthResult(success=True, auth_data=Identity(user))

    @auth_mechanism("OAUTHBEARER")
    async def auth_OAUTHBEARER(self, _, args):
        data = await self._initial(args)
        if data is None:
            return HANDLED
        try:
            fields = saslserver.parse_oauthbearer(data)
        except AuthFailure as e:
            return self._refuse(e)
        try:
            user = self._token_owner(fields["user"], fields["token"])
        except AuthFailure as e:
            # RFC 7628 3.2.2: error JSON in a 334, the client answers ^A.
            self._log("* auth refused: %s" % e)
            answer = await self._challenge(saslserver.oauth_error(
                saslserver.OAUTHBEARER_ERROR))
            if answer is None:
                return HANDLED
            return self._refuse("OAUTHBEARER error acknowledged" if
                                answer == b"\x01" else
                                "OAUTHBEARER: answer to the error is not ^A")
        return AuthResult(success=True, auth_data=Identity(
            user, text(fields["host"]), text(fields["port"])))

    @auth_mechanism("EXTERNAL")
    async def auth_EXTERNAL(self, _, args):
        authzid = await self._initial(args)
        if authzid is None:
            return HANDLED
        cn = self._client_cert()
        if cn is None:
            return self._refuse("EXTERNAL: no verified client certificate")
        if authzid and authzid != cn.encode():
            return self._refuse("EXTERNAL: authzid %r is not the "
                                "certificate's CN %r" % (text(authzid), cn))
        return AuthResult(success=True, auth_data=Identity(cn.encode()))

    def _params(self, text, allowed):
        """Split ESMTP parameters; None on a syntax error or unknown keyword."""
        params = {}
        words = text.split()
        for w in words:
            key, eq, value = w.partition("=")
            key = key.upper()
            if not key.isalnum() or (eq and not value) or key not in allowed:
                return None, words
            params[key] = value if eq else True
        return params, words

    def _mail_keywords(self):
        a = self.state.args
        allowed = {"BODY", "SIZE"}
        if self.state.auth_enabled:
            allowed.add("AUTH")
        if a.dsn:
            allowed |= {"RET", "ENVID"}
        if a.smtputf8:
            allowed.add("SMTPUTF8")
        return allowed

    def _path(self, arg, keyword):
        """Parse 'KEYWORD:<path> params'; returns (address, rest) or None."""
        rest = self._strip_command_keyword(keyword, arg or "")
        if rest is None:
            return None
        if rest.startswith("<>"):
            return "", rest[2:].strip()
        address, params = self._getaddr(rest)
        if not address:
            return None
        return address, params or ""

    async def smtp_MAIL(self, arg):
        if await self.check_helo_needed():
            return
        if await self.check_auth_needed("MAIL"):
            return
        if await self._fault("mail"):
            return
        parsed = self._path(arg, "FROM:")
        if parsed is None:
            return await self.push("501 5.5.4 Syntax: MAIL FROM:<address>")
        address, rest = parsed
        if self.envelope.mail_from is not None:
            return await self.push("503 5.5.1 Error: nested MAIL command")
        if rest and not self.session.extended_smtp:
            return await self.push("501 5.5.4 No parameters after HELO")
        params, words = self._params(rest, self._mail_keywords())
        if params is None:
            return await self.push(
                "555 5.5.4 MAIL FROM parameters not recognized")
        body = params.get("BODY", "7BIT")
        if not isinstance(body, str) or body.upper() not in (
                ("7BIT",) if self.state.args.no_8bitmime else
                ("7BIT", "8BITMIME")):
            return await self.push("501 5.5.4 Bad BODY parameter")
        size = params.get("SIZE")
        if size is not None:
            if not isinstance(size, str) or not size.isdigit():
                return await self.push("501 5.5.4 Bad SIZE parameter")
            if self.data_size_limit and int(size) > self.data_size_limit:
                return await self.push(
                    "552 5.3.4 Message size exceeds fixed maximum")
        if params.get("SMTPUTF8", True) is not True:
            return await self.push("501 5.5.4 SMTPUTF8 takes no value")
        self.envelope.mail_from = address
        self.envelope.mail_options.extend(words)
        await self.push("250 2.1.0 OK")

    async def smtp_RCPT(self, arg):
        if await self.check_helo_needed():
            return
        if await self.check_auth_needed("RCPT"):
            return
        if self.envelope.mail_from is None:
            return await self.push("503 5.5.1 Error: need MAIL command")
        parsed = self._path(arg, "TO:")
        if parsed is None or parsed[0] == "":
            return await self.push("501 5.5.4 Syntax: RCPT TO:<address>")
        address, rest = parsed
        if await self._fault("rcpt", address):
            return
        allowed = {"NOTIFY", "ORCPT"} if self.state.args.dsn else set()
        params, words = self._params(rest, allowed)
        if params is None:
            return await self.push(
                "555 5.5.4 RCPT TO parameters not recognized")
        self.envelope.rcpt_tos.append(address)
        self.envelope.rcpt_options.append(words)
        await self.push("250 2.1.5 OK")

    def _record(self, size):
        env = self.envelope
        auth = self.session.auth_data if self.session.authenticated else None
        return {
            "mail_from": env.mail_from,
            "rcpt_tos": env.rcpt_tos,
            "mail_options": env.mail_options,
            "rcpt_options": env.rcpt_options,
            "auth": text(getattr(auth, "login", None)),
            "auth_mech": getattr(self.session, "auth_mech", None)
            if auth else None,
            "oauth_host": getattr(auth, "oauth_host", None),
            "oauth_port": getattr(auth, "oauth_port", None),
            "tls": self._tls_active(),
            "helo": self.helo_name,
            "peer": (self.session.peer or [None])[0],
            "esmtp": bool(self.session.extended_smtp),
            "size": size,
            "client_cert": self._client_cert(),
        }

    def _client_cert(self):
        """CN of a verified client certificate (--client-ca), else None."""
        t = self.transport
        sslobj = t.get_extra_info("ssl_object") if t is not None else None
        cert = sslobj.getpeercert() if sslobj is not None else None
        for rdn in (cert or {}).get("subject", ()):
            for key, value in rdn:
                if key == "commonName":
                    return value
        return None

    async def _read_body(self, drop_mid):
        """Read the body up to the final dot; returns (lines, error reply)."""
        lines = []
        total = 0
        error = None
        limit = self.data_size_limit
        max_line = self.state.args.max_line_length
        pending = b""
        while True:
            try:
                chunk = await self._raw_readuntil(b"\r\n")
            except asyncio.LimitOverrunError as e:
                pending += await self._reader.read(e.consumed)
                continue
            except asyncio.IncompleteReadError:
                self._log("* eof in data")
                raise asyncio.CancelledError()
            line = pending + chunk
            pending = b""
            if line == b".\r\n":
                return lines, error
            if drop_mid:
                self._abort()
            total += len(line)
            if error is None and limit and total > limit:
                error = "552 5.3.4 Error: too much mail data"
            if error is None and max_line and len(line) - 2 > max_line:
                error = "500 5.5.2 Line too long"
            if error is None:
                lines.append(line[1:] if line.startswith(b".") else line)
            else:
                lines = []

    async def smtp_DATA(self, arg):
        if await self.check_helo_needed():
            return
        if await self.check_auth_needed("DATA"):
            return
        if not self.envelope.rcpt_tos:
            return await self.push("503 5.5.1 Error: need RCPT command")
        if arg:
            return await self.push("501 5.5.4 Syntax: DATA")
        fault = self.state.take_fault("data")
        drop_mid = fault is not None and fault.action == "drop-mid"
        if fault is not None and not drop_mid and await self._apply(fault):
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        lines, error = await self._read_body(drop_mid)
        content = b"".join(lines)
        self._log("* data %d bytes" % len(content))
        if error is not None:
            self._set_post_data_state()
            return await self.push(error)
        fault = self.state.take_fault("eod")
        action = fault.action if fault is not None else "250 2.0.0 OK"
        n = None
        if action[0] in "2dhs":
            n = self.state.store(content, self._record(len(content)))
            self._log("* stored msg-%d" % n)
        self._set_post_data_state()
        if fault is None:
            return await self.push("250 2.0.0 OK queued as %d" % n)
        if not await self._apply(fault):
            await self.push("250 2.0.0 OK queued as %d" % n)


def make_authenticator(state):
    def authenticator(server, session, envelope, mechanism, auth_data):
        want = state.users.get(auth_data.login)
        ok = want is not None and want == auth_data.password
        return AuthResult(success=ok, handled=False, auth_data=auth_data)
    return authenticator


def parse_args(argv):
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=FAULT_HELP)
    p.add_argument("--dir", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--pid-file")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--mode", choices=("plain", "starttls", "tls"),
                   default="plain")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--client-ca")
    p.add_argument("--auth", action="append", default=[], metavar="USER:PASS")
    p.add_argument("--auth-mech", action="append", default=[],
                   metavar="MECH[,MECH...]",
                   help="offer these (repeatable; default PLAIN,LOGIN): "
                   + ",".join(MECHANISMS))
    p.add_argument("--oauth-introspect", metavar="URL",
                   help="accept the bearer tokens this oauth2server.py "
                   "/introspect URL says are active (instead of --oauth-token)")
    p.add_argument("--oauth-ca", metavar="FILE",
                   help="the CA that --oauth-introspect's certificate has")
    p.add_argument("--oauth-token", action="append", default=[],
                   metavar="USER:TOKEN",
                   help="a valid bearer token for XOAUTH2/OAUTHBEARER")
    p.add_argument("--scram-iterations", type=int, default=4096)
    p.add_argument("--scram-bad-signature", action="store_true",
                   help="send a wrong v= in SCRAM's server-final")
    p.add_argument("--tls-max", choices=("1.2", "1.3"),
                   help="highest TLS version (1.2: -PLUS uses tls-unique)")
    p.add_argument("--auth-no-tls", action="store_true")
    p.add_argument("--require-starttls", action="store_true")
    p.add_argument("--pipelining", action="store_true")
    p.add_argument("--dsn", action="store_true")
    p.add_argument("--smtputf8", action="store_true")
    p.add_argument("--no-8bitmime", action="store_true")
    p.add_argument("--capability", action="append", default=[])
    p.add_argument("--size", type=int, default=0)
    p.add_argument("--max-line-length", type=int, default=0)
    p.add_argument("--no-ehlo", action="store_true")
    p.add_argument("--fault", action="append", default=[],
                   metavar="STAGE[=ADDR][#COUNT]:ACTION")
    p.add_argument("--log")
    p.add_argument("--timeout", type=float, default=300)
    p.add_argument("--exit-after-seconds", type=float, default=300)
    p.add_argument("--verbose", action="store_true")
    a = p.parse_args(argv)
    if a.mode != "plain" and not (a.cert and a.key):
        p.error("--mode %s needs --cert and --key" % a.mode)
    wanted = {m.strip().upper() for arg in a.auth_mech
              for m in arg.split(",") if m.strip()}
    unknown = wanted - set(MECHANISMS)
    if unknown:
        p.error("unknown --auth-mech %s" % ",".join(sorted(unknown)))
    a.auth_mech = [m for m in MECHANISMS
                   if m in (wanted or DEFAULT_MECHANISMS)]
    if a.scram_iterations < 1:
        p.error("--scram-iterations must be at least 1")
    return a


def tls_context(args):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(args.cert, args.key)
    if args.client_ca:
        ctx.load_verify_locations(args.client_ca)
        ctx.verify_mode = ssl.CERT_OPTIONAL
    if args.tls_max == "1.2":
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    return ctx


async def shutdown(loop, server):
    server.close()
    tasks = [t for t in asyncio.all_tasks(loop)
             if t is not asyncio.current_task(loop)]
    for t in tasks:
        t.cancel()
    await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 2)


def main(argv):
    args = parse_args(argv)
    warnings.simplefilter("ignore")
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.ERROR)
    os.makedirs(args.dir, exist_ok=True)
    try:
        state = ServerState(args)
    except ValueError as e:
        print("smtpd.py: %s" % e, file=sys.stderr)
        return 2
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    ctx = tls_context(args) if args.mode != "plain" else None
    if (ctx is not None and args.tls_max != "1.2"
            and any(m.endswith("-PLUS") for m in args.auth_mech)):
        state.exporter = saslserver.make_exporter(ctx)
    exclude = [m for m in MECHANISMS if m not in args.auth_mech]

    def factory():
        return TestSMTP(
            state,
            hostname="localhost",
            data_size_limit=args.size,
            enable_SMTPUTF8=args.smtputf8,
            decode_data=False,
            tls_context=ctx if args.mode == "starttls" else None,
            require_starttls=args.require_starttls,
            timeout=args.timeout,
            auth_required=state.auth_enabled,
            auth_require_tls=args.mode == "starttls" and not args.auth_no_tls,
            auth_exclude_mechanism=exclude,
            authenticator=make_authenticator(state),
            loop=loop)

    server = loop.run_until_complete(loop.create_server(
        factory, host=args.host, port=args.port,
        ssl=ctx if args.mode == "tls" else None))
    port = server.sockets[0].getsockname()[1]
    if args.pid_file:
        write_atomic(args.pid_file, b"%d\n" % os.getpid())
    write_atomic(args.port_file, b"%d\n" % port)
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, loop.stop)
    loop.call_later(args.exit_after_seconds, loop.stop)
    loop.run_forever()
    try:
        loop.run_until_complete(shutdown(loop, server))
    except (asyncio.TimeoutError, asyncio.CancelledError):
        pass
    if args.pid_file:
        try:
            os.unlink(args.pid_file)
        except FileNotFoundError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
