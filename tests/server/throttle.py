#!/usr/bin/python3
"""throttle.py - a slow link for the tests: a TCP relay on 127.0.0.1 that
passes each connection on to a server, client-to-server bytes at most
RATE bytes a second (server-to-client bytes are not slowed).

    throttle.py --to PORT --rate BYTES_PER_SECOND --port-file FILE
                [--pid-file FILE]

It listens on port 0 and writes the port it got to --port-file
(tests/e2e/lib.sh: throttle_start NAME PORT RATE).
"""
import argparse
import asyncio
import os
import socket
import time

CHUNK = 16384


async def pump(reader, writer, rate):
    start = time.monotonic()
    sent = 0
    try:
        while True:
            data = await reader.read(CHUNK)
            if not data:
                break
            writer.write(data)
            await writer.drain()
            sent += len(data)
            if rate:
                ahead = sent / rate - (time.monotonic() - start)
                if ahead > 0:
                    await asyncio.sleep(ahead)
    except (ConnectionError, OSError):
        pass
    finally:
        try:
            writer.close()
        except OSError:
            pass


async def relay(args, creader, cwriter):
    try:
        sreader, swriter = await asyncio.open_connection("127.0.0.1", args.to)
    except OSError:
        cwriter.close()
        return
    await asyncio.gather(pump(creader, swriter, args.rate),
                         pump(sreader, cwriter, 0))


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--to", type=int, required=True)
    ap.add_argument("--rate", type=int, required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--pid-file")
    ap.add_argument("--dir", help="accepted for lib.sh's server_start; unused")
    ap.add_argument("--log", help="accepted for lib.sh's server_start; unused")
    args = ap.parse_args()
    # A small receive buffer, inherited by the connections: the client
    # cannot hand the relay megabytes ahead of the rate.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    sock.bind(("127.0.0.1", 0))
    server = await asyncio.start_server(
        lambda r, w: relay(args, r, w), sock=sock)
    port = server.sockets[0].getsockname()[1]
    if args.pid_file:
        with open(args.pid_file, "w") as f:
            f.write("%d\n" % os.getpid())
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, args.port_file)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
