#!/usr/bin/python3
"""Byte-counting TCP relay for outbox's benchmarks.

Listens on 127.0.0.1 (port 0 unless --port), forwards every connection to
127.0.0.1:UPSTREAM and, when a connection ends, appends one JSON line to
--stats: bytes and reads in each direction and the number of server turns
(bursts of server-to-client data that follow client data or open the
session; each one is a reply the client had to wait for, so it counts round
trips, TLS handshake flights included).  The relay sets TCP_NODELAY on both
of its sockets so that it adds no Nagle delay of its own; it is used only
for the untimed measurement runs.

Untrusted data: the relayed bytes, which are counted and never parsed.
"""

import argparse
import json
import os
import selectors
import signal
import socket
import sys
import threading

CHUNK = 256 * 1024


def pump(client, upstream_port, stats_path, lock):
    server = socket.create_connection(("127.0.0.1", upstream_port))
    for s in (client, server):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    count = {"c2s_bytes": 0, "s2c_bytes": 0, "c2s_reads": 0,
             "s2c_reads": 0, "server_turns": 0}
    peer = {client: server, server: client}
    open_dirs = {client, server}
    last = None
    sel = selectors.DefaultSelector()
    sel.register(client, selectors.EVENT_READ)
    sel.register(server, selectors.EVENT_READ)
    try:
        while open_dirs:
            for key, _ in sel.select():
                src = key.fileobj
                try:
                    data = src.recv(CHUNK)
                except OSError:
                    data = b""
                if not data:
                    sel.unregister(src)
                    open_dirs.discard(src)
                    try:
                        peer[src].shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    continue
                d = "c2s" if src is client else "s2c"
                count[d + "_bytes"] += len(data)
                count[d + "_reads"] += 1
                if d == "s2c" and last != "s2c":
                    count["server_turns"] += 1
                last = d
                try:
                    peer[src].sendall(data)
                except OSError:
                    open_dirs.clear()
                    break
    finally:
        sel.close()
        client.close()
        server.close()
        with lock, open(stats_path, "a", encoding="ascii") as f:
            f.write(json.dumps(count, sort_keys=True) + "\n")


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--upstream", type=int, required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file", required=True)
    p.add_argument("--stats", required=True)
    args = p.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", args.port))
    lsock.listen(128)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w", encoding="ascii") as f:
        f.write("%d\n" % lsock.getsockname()[1])
    os.rename(tmp, args.port_file)
    lock = threading.Lock()
    while True:
        conn, _ = lsock.accept()
        threading.Thread(target=pump, daemon=True,
                         args=(conn, args.upstream, args.stats, lock)).start()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
