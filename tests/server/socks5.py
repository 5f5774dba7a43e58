#!/usr/bin/python3
"""A misbehaving SOCKS5 proxy for outbox's end-to-end tests (stdlib only).

The working proxy of the tests is Debian's dante-server; this one plays
the proxies dante will not: one that refuses every CONNECT (reply 5,
"connection refused"), one that stalls after the greeting, one that
answers with something other than SOCKS5 (an HTTP error), and one that
demands authentication.  The behaviour is chosen with --mode.

It listens on 127.0.0.1 (port 0 by default), writes its port and pid to
files like smtpd.py, and logs to --log one line per event: "N * connect",
"N greeting METHODS" and "N request ATYP HOST PORT" (N numbers the
connection; a name is logged as the proxy received it).

Untrusted input: the client's bytes, read in pieces whose length RFC 1928
fixes (at most 262 bytes a request).
"""

import argparse
import asyncio
import os
import signal
import socket
import sys

REPLIES = {
    "refuse": b"\x05\x05\x00\x01\x00\x00\x00\x00\x00\x00",
}


def write_atomic(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, path)


class Proxy:
    def __init__(self, args):
        self.args = args
        self.conns = 0

    def log(self, n, text):
        with open(self.args.log, "a") as f:
            f.write("%d %s\n" % (n, text))

    async def read_request(self, reader):
        """The CONNECT request after VER CMD RSV: (atyp, host, port)."""
        head = await reader.readexactly(4)
        atyp = head[3]
        if atyp == 1:
            host = socket.inet_ntop(socket.AF_INET, await reader.readexactly(4))
        elif atyp == 4:
            host = socket.inet_ntop(socket.AF_INET6, await reader.readexactly(16))
        elif atyp == 3:
            length = (await reader.readexactly(1))[0]
            host = (await reader.readexactly(length)).decode("ascii", "backslashreplace")
        else:
            raise ValueError("address type %d" % atyp)
        port = int.from_bytes(await reader.readexactly(2), "big")
        return atyp, host, port

    async def serve(self, reader, writer):
        self.conns += 1
        n = self.conns
        mode = self.args.mode
        self.log(n, "* connect")
        try:
            head = await reader.readexactly(2)
            methods = await reader.readexactly(head[1])
            self.log(n, "greeting %s" % " ".join(str(m) for m in methods))
            if mode == "stall":
                await asyncio.sleep(3600)
            elif mode == "garbage":
                writer.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
            elif mode == "auth":
                writer.write(b"\x05\xff")
            else:
                writer.write(b"\x05\x00")
                atyp, host, port = await self.read_request(reader)
                self.log(n, "request %d %s %d" % (atyp, host, port))
                writer.write(REPLIES[mode])
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError) as e:
            self.log(n, "* error %s" % e)
        writer.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mode", required=True,
                    choices=("refuse", "stall", "garbage", "auth"))
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--pid-file")
    ap.add_argument("--log", required=True)
    ap.add_argument("--exit-after-seconds", type=float, default=300)
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    proxy = Proxy(args)
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(
        asyncio.start_server(proxy.serve, "127.0.0.1", args.port))
    if args.pid_file:
        write_atomic(args.pid_file, b"%d\n" % os.getpid())
    write_atomic(args.port_file,
                 b"%d\n" % server.sockets[0].getsockname()[1])
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, loop.stop)
    loop.call_later(args.exit_after_seconds, loop.stop)
    loop.run_forever()
    server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
