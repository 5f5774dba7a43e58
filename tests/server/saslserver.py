"""Server side of the SASL mechanisms outbox speaks, for smtpd.py.

Pure functions and small classes that check what an SMTP client sends in an
AUTH exchange: CRAM-MD5 (RFC 2195), SCRAM-SHA-1/-256 with and without
channel binding (RFC 5802, RFC 7677, RFC 9266), XOAUTH2 (Google's format)
and OAUTHBEARER (RFC 7628).  Everything they parse comes from the client
under test and is untrusted: each parser checks the syntax it accepts and
raises AuthFailure with the reason, which smtpd.py logs before answering 535.

TLS channel bindings: "tls-unique" comes from Python's ssl module; for
"tls-exporter" (RFC 9266) Python has no keying-material exporter, so
TlsExporter calls OpenSSL's SSL_export_keying_material through ctypes on the
SSL* that CPython's _ssl object holds.  That pointer is found by the object
layout of CPython's Modules/_ssl.c and checked before use (layout, version
string, and an in-memory handshake whose two ends must export the same
bytes); when any check fails the caller disables the -PLUS mechanisms.

Standard library only: run with /usr/bin/python3 like smtpd.py.
"""

import base64
import binascii
import ctypes
import ctypes.util
import hashlib
import hmac
import json
import os
import random
import re
import ssl
import stringprep
import sys
import time
import unicodedata

SCRAM_HASHES = {
    "SCRAM-SHA-1": "sha1",
    "SCRAM-SHA-256": "sha256",
    "SCRAM-SHA-1-PLUS": "sha1",
    "SCRAM-SHA-256-PLUS": "sha256",
}
EXPORTER_LABEL = b"EXPORTER-Channel-Binding"
EXPORTER_LENGTH = 32

# What the server answers a bad bearer token with (the 334 before the 535).
XOAUTH2_ERROR = {"status": "401", "schemes": "bearer",
                 "scope": "https://mail.google.com/"}
OAUTHBEARER_ERROR = {"status": "invalid_token", "scope": "mail",
                     "openid-configuration":
                     "https://localhost/.well-known/openid-configuration"}


class AuthFailure(Exception):
    """The client's AUTH exchange is refused; str() says why."""


def b64decode(data, what):
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise AuthFailure("%s is not valid base64" % what)


def utf8(data, what):
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise AuthFailure("%s is not UTF-8" % what)


# --- SASLprep (RFC 4013), as a query: unassigned code points pass --------

_PROHIBITED = (stringprep.in_table_c12, stringprep.in_table_c21_c22,
               stringprep.in_table_c3, stringprep.in_table_c4,
               stringprep.in_table_c5, stringprep.in_table_c6,
               stringprep.in_table_c7, stringprep.in_table_c8,
               stringprep.in_table_c9)


def saslprep(text):
    mapped = "".join(" " if stringprep.in_table_c12(c) else c
                     for c in text if not stringprep.in_table_b1(c))
    out = unicodedata.normalize("NFKC", mapped)
    for c in out:
        if any(t(c) for t in _PROHIBITED):
            raise AuthFailure("SASLprep: prohibited character U+%04X"
                              % ord(c))
    if any(stringprep.in_table_d1(c) for c in out):
        if (any(stringprep.in_table_d2(c) for c in out)
                or not stringprep.in_table_d1(out[0])
                or not stringprep.in_table_d1(out[-1])):
            raise AuthFailure("SASLprep: bad bidirectional string")
    return out


# --- CRAM-MD5 (RFC 2195) -------------------------------------------------

def cram_md5_challenge(hostname):
    return ("<%d.%d@%s>" % (random.SystemRandom().randrange(1 << 31),
                            int(time.time()), hostname)).encode()


def cram_md5_check(users, challenge, response):
    """USERS maps bytes to bytes; returns the user name (bytes)."""
    user, sep, digest = response.rpartition(b" ")
    if not sep or not user or not re.fullmatch(rb"[0-9a-f]{32}", digest):
        raise AuthFailure("CRAM-MD5 response is not 'user hexdigest'")
    password = users.get(user)
    if password is None:
        raise AuthFailure("CRAM-MD5: unknown user")
    want = hmac.new(password, challenge, "md5").hexdigest().encode()
    if not hmac.compare_digest(want, digest):
        raise AuthFailure("CRAM-MD5: wrong digest")
    return user


# --- SCRAM (RFC 5802, RFC 7677) ------------------------------------------

class ScramStore:
    """Salted keys of the --auth users, made once per process like a real
    server's credential store (a fixed random salt per user and hash)."""

    def __init__(self, users, iterations):
        self.iterations = iterations
        self.secret = os.urandom(32)
        self.users = {}
        for user, password in users.items():
            name = saslprep(utf8(user, "user name"))
            self.users[name] = saslprep(utf8(password, "password")).encode()
        self.cache = {}

    def keys(self, hashname, user):
        """(salt, iterations, StoredKey, ServerKey) of USER (str); made-up
        ones, with StoredKey None, for an unknown user so that the exchange
        runs to the proof and does not tell which names exist."""
        key = (hashname, user)
        if key in self.cache:
            return self.cache[key]
        password = self.users.get(user)
        salt = hmac.new(self.secret, ("%s %s" % key).encode(),
                        "sha256").digest()[:16]
        if password is None:
            return salt, self.iterations, None, None
        salted = hashlib.pbkdf2_hmac(hashname, password, salt,
                                     self.iterations)
        client_key = hmac.new(salted, b"Client Key", hashname).digest()
        stored_key = hashlib.new(hashname, client_key).digest()
        server_key = hmac.new(salted, b"Server Key", hashname).digest()
        self.cache[key] = (salt, self.iterations, stored_key, server_key)
        return self.cache[key]


_GS2 = re.compile(rb"^(n|y|p=[A-Za-z0-9.-]+),(a=[^,]*)?,")
_SASLNAME = re.compile(rb"(?:[^=,]|=2C|=3D)+")
_NONCE = re.compile(rb"[\x21-\x2b\x2d-\x7e]+")


def _saslname(value, what):
    if not _SASLNAME.fullmatch(value):
        raise AuthFailure("SCRAM: bad %s %r" % (what, value))
    return utf8(value.replace(b"=2C", b",").replace(b"=3D", b"="), what)


class ScramExchange:
    """One SCRAM exchange: server_first(client-first), then
    server_final(client-final).

    CHANNEL is (type, data) of the connection's TLS channel binding, or
    None; PLUS_OFFERED says whether this connection advertises -PLUS (for
    the downgrade check of RFC 5802 section 6)."""

    def __init__(self, store, mechanism, channel, plus_offered,
                 bad_signature=False):
        self.store = store
        self.mechanism = mechanism
        self.hashname = SCRAM_HASHES[mechanism]
        self.plus = mechanism.endswith("-PLUS")
        self.channel = channel
        self.plus_offered = plus_offered
        self.bad_signature = bad_signature
        self.user = None

    def _check_gs2(self, flag):
        if flag == b"y" and self.plus_offered:
            raise AuthFailure("SCRAM downgrade: client says 'y' (it supports "
                              "channel binding) but this server offers -PLUS")
        if not flag.startswith(b"p="):
            if self.plus:
                raise AuthFailure("%s without channel binding (gs2 flag %r)"
                                  % (self.mechanism, flag.decode()))
            return b""
        if not self.plus:
            raise AuthFailure("%s with channel binding %r: only -PLUS binds"
                              % (self.mechanism, flag.decode()))
        cbtype = flag[2:].decode()
        if self.channel is None:
            raise AuthFailure("no TLS channel binding on this connection")
        if cbtype != self.channel[0]:
            raise AuthFailure("channel binding type %s refused: this "
                              "connection (%s) uses %s"
                              % (cbtype, self.channel[2], self.channel[0]))
        return self.channel[1]

    def server_first(self, client_first):
        m = _GS2.match(client_first)
        if not m:
            raise AuthFailure("SCRAM: bad gs2 header")
        self.gs2_header = client_first[:m.end()]
        self.cbdata = self._check_gs2(m.group(1))
        authzid = m.group(2)
        self.bare = client_first[m.end():]
        attrs = self.bare.split(b",")
        if attrs[0].startswith(b"m="):
            raise AuthFailure("SCRAM: mandatory extension m= not supported")
        if (len(attrs) < 2 or not attrs[0].startswith(b"n=")
                or not attrs[1].startswith(b"r=")):
            raise AuthFailure("SCRAM: client-first is not n=...,r=...")
        self.user = saslprep(_saslname(attrs[0][2:], "user name"))
        if authzid and _saslname(authzid[2:], "authzid") != self.user:
            raise AuthFailure("SCRAM: authzid differs from the user name")
        client_nonce = attrs[1][2:]
        if not _NONCE.fullmatch(client_nonce):
            raise AuthFailure("SCRAM: bad client nonce")
        self.nonce = client_nonce + base64.b64encode(os.urandom(18))
        salt, iterations, self.stored_key, self.server_key = \
            self.store.keys(self.hashname, self.user)
        self.server_first_msg = b"r=%s,s=%s,i=%d" % (
            self.nonce, base64.b64encode(salt), iterations)
        return self.server_first_msg

    def server_final(self, client_final):
        cut = client_final.rfind(b",p=")
        if cut < 0:
            raise AuthFailure("SCRAM: client-final has no proof")
        without_proof = client_final[:cut]
        proof = b64decode(client_final[cut + 3:], "SCRAM proof")
        attrs = without_proof.split(b",")
        if (len(attrs) < 2 or not attrs[0].startswith(b"c=")
                or not attrs[1].startswith(b"r=")):
            raise AuthFailure("SCRAM: client-final is not c=...,r=...,p=...")
        cbind = b64decode(attrs[0][2:], "SCRAM channel binding")
        if not hmac.compare_digest(cbind, self.gs2_header + self.cbdata):
            raise AuthFailure("SCRAM: channel binding c= does not match"
                              + (" the TLS channel" if self.cbdata else
                                 " the gs2 header"))
        if attrs[1][2:] != self.nonce:
            raise AuthFailure("SCRAM: nonce changed")
        digest_size = hashlib.new(self.hashname).digest_size
        if len(proof) != digest_size:
            raise AuthFailure("SCRAM: proof has the wrong length")
        if self.stored_key is None:
            raise AuthFailure("SCRAM: unknown user")
        auth_message = b",".join((self.bare, self.server_first_msg,
                                  without_proof))
        signature = hmac.new(self.stored_key, auth_message,
                             self.hashname).digest()
        client_key = bytes(a ^ b for a, b in zip(proof, signature))
        if not hmac.compare_digest(
                hashlib.new(self.hashname, client_key).digest(),
                self.stored_key):
            raise AuthFailure("SCRAM: wrong proof (password)")
        server_sig = bytearray(hmac.new(self.server_key, auth_message,
                                        self.hashname).digest())
        if self.bad_signature:
            server_sig[0] ^= 0x55
        return b"v=" + base64.b64encode(bytes(server_sig))


# --- OAuth bearer tokens -------------------------------------------------

def parse_xoauth2(data):
    """'user=U^Aauth=Bearer T^A^A' -> (user, token) as bytes."""
    parts = data.split(b"\x01")
    if (len(parts) != 4 or parts[2:] != [b"", b""]
            or not parts[0].startswith(b"user=")
            or not parts[1].startswith(b"auth=Bearer ")):
        raise AuthFailure("XOAUTH2: not user=...^Aauth=Bearer ...^A^A")
    return parts[0][5:], parts[1][12:]


def parse_oauthbearer(data):
    """RFC 7628 client response -> dict with user (authzid, may be None),
    host, port, token; bytes values."""
    m = _GS2.match(data)
    if not m or m.group(1) != b"n":
        raise AuthFailure("OAUTHBEARER: bad gs2 header (or channel binding)")
    rest = data[m.end():]
    if not rest.startswith(b"\x01") or not rest.endswith(b"\x01\x01"):
        raise AuthFailure("OAUTHBEARER: not gs2-header^A...^A^A")
    fields = {}
    for pair in rest[1:-2].split(b"\x01"):
        key, sep, value = pair.partition(b"=")
        if not sep or not re.fullmatch(rb"[A-Za-z]+", key) or key in fields:
            raise AuthFailure("OAUTHBEARER: bad key-value pair %r" % pair)
        fields[key.decode()] = value
    auth = fields.get("auth", b"")
    if not auth.lower().startswith(b"bearer ") or len(auth) <= 7:
        raise AuthFailure("OAUTHBEARER: no auth=Bearer TOKEN")
    user = _saslname(m.group(2)[2:], "authzid").encode() \
        if m.group(2) else None
    return {"user": user, "host": fields.get("host"),
            "port": fields.get("port"), "token": auth[7:]}


def oauth_error(doc):
    return json.dumps(doc, separators=(",", ":")).encode()


# --- TLS channel bindings ------------------------------------------------

def _loaded_libssl():
    """Path of the libssl that this process's _ssl module (imported with
    ssl) uses: the one already mapped, so CDLL returns the same copy."""
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.split()[-1]
                if re.search(r"/libssl\.so[.0-9]*$", path):
                    return path
    except OSError:
        pass
    return ctypes.util.find_library("ssl")


class TlsExporter:
    """RFC 5705 keying-material export on the SSL* of a Python SSLObject."""

    def __init__(self):
        path = _loaded_libssl()
        if not path:
            raise OSError("libssl not found")
        lib = ctypes.CDLL(path)
        self.get_version = lib.SSL_get_version
        self.get_version.argtypes = [ctypes.c_void_p]
        self.get_version.restype = ctypes.c_char_p
        self.export = lib.SSL_export_keying_material
        self.export.argtypes = [ctypes.c_void_p, ctypes.c_char_p,
                                ctypes.c_size_t, ctypes.c_char_p,
                                ctypes.c_size_t, ctypes.c_char_p,
                                ctypes.c_size_t, ctypes.c_int]
        self.export.restype = ctypes.c_int
        # Modules/_ssl.c: PySSLSocket { PyObject_HEAD; PyObject *Socket;
        # SSL *ssl; ... }.  Socket is NULL for memory-BIO (asyncio) objects.
        self.socket_offset = object.__basicsize__
        self.ssl_offset = self.socket_offset + ctypes.sizeof(ctypes.c_void_p)
        self.path = path

    def ssl_pointer(self, sslobj):
        """The SSL* of SSLOBJ (an ssl.SSLObject), checked; raises OSError."""
        inner = getattr(sslobj, "_sslobj", None)
        if inner is None or type(inner).__name__ != "_SSLSocket":
            raise OSError("no _ssl._SSLSocket inside the SSLObject")
        if type(inner).__basicsize__ < self.ssl_offset + ctypes.sizeof(
                ctypes.c_void_p):
            raise OSError("_SSLSocket is smaller than the expected layout")
        base = id(inner)
        if ctypes.c_void_p.from_address(base + self.socket_offset).value:
            raise OSError("_SSLSocket layout: Socket slot is not NULL")
        ptr = ctypes.c_void_p.from_address(base + self.ssl_offset).value
        if not ptr or ptr % ctypes.alignment(ctypes.c_void_p):
            raise OSError("_SSLSocket layout: no aligned SSL* pointer")
        version = self.get_version(ptr)
        if version is None or version.decode(errors="replace") != \
                sslobj.version():
            raise OSError("SSL_get_version says %r, Python says %r"
                          % (version, sslobj.version()))
        return ptr

    def tls_exporter(self, sslobj):
        """RFC 9266 tls-exporter channel binding of SSLOBJ (32 bytes)."""
        ptr = self.ssl_pointer(sslobj)
        out = ctypes.create_string_buffer(EXPORTER_LENGTH)
        if self.export(ptr, out, EXPORTER_LENGTH, EXPORTER_LABEL,
                       len(EXPORTER_LABEL), b"", 0, 1) != 1:
            raise OSError("SSL_export_keying_material failed")
        return out.raw

    def self_test(self, server_ctx):
        """Handshake in memory with SERVER_CTX; both ends must export the
        same bytes.  Raises OSError or ssl.SSLError."""
        client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        client_ctx.check_hostname = False
        client_ctx.verify_mode = ssl.CERT_NONE
        to_client, to_server = ssl.MemoryBIO(), ssl.MemoryBIO()
        client = client_ctx.wrap_bio(to_client, to_server)
        server = server_ctx.wrap_bio(to_server, to_client, server_side=True)
        done = [False, False]
        for _ in range(10):
            for i, end in enumerate((client, server)):
                if done[i]:
                    continue
                try:
                    end.do_handshake()
                    done[i] = True
                except ssl.SSLWantReadError:
                    pass
            if all(done):
                break
        if not all(done):
            raise OSError("in-memory TLS handshake did not finish")
        a, b = self.tls_exporter(client), self.tls_exporter(server)
        if a != b:
            raise OSError("client and server export different bytes")
        return server.version()


def channel_binding(sslobj, exporter):
    """(type, data, TLS version) of SSLOBJ's channel binding: tls-exporter
    on TLS 1.3 (RFC 9266), tls-unique below (RFC 5929); raises OSError."""
    version = sslobj.version()
    if version == "TLSv1.3":
        if exporter is None:
            raise OSError("no keying-material exporter")
        return "tls-exporter", exporter.tls_exporter(sslobj), version
    data = sslobj.get_channel_binding("tls-unique")
    if not data:
        raise OSError("no tls-unique channel binding")
    return "tls-unique", data, version


def make_exporter(server_ctx):
    """A checked TlsExporter, or None after one line on stderr."""
    try:
        exporter = TlsExporter()
        exporter.self_test(server_ctx)
        return exporter
    except (OSError, AttributeError, ssl.SSLError) as e:
        print("smtpd.py: SCRAM-*-PLUS disabled on TLS 1.3: cannot get "
              "tls-exporter from OpenSSL through ctypes (%s)" % e,
              file=sys.stderr)
        return None
