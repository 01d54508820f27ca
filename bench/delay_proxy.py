#!/usr/bin/env python3
"""A TCP proxy that adds a fixed one-way delay in each direction (this kernel has no netem).

Usage: delay_proxy.py LISTEN_PORT UPSTREAM_HOST UPSTREAM_PORT DELAY_MS [PORT_FILE]
Listens on 127.0.0.1:LISTEN_PORT (0: any free port, written to PORT_FILE when given) and forwards
every connection to UPSTREAM. Each chunk read from one side is written to the other DELAY_MS later,
so a round trip costs 2 * DELAY_MS while the throughput stays the link's: what a distant origin looks
like to a client. At most 64 MiB per direction is in flight (then reading pauses: backpressure, so
TCP's window still governs as on a real long link).
"""
import asyncio
import sys
import time

CHUNK = 256 * 1024
MAX_IN_FLIGHT = 64 << 20


async def pipe(reader, writer, delay):
    queue = asyncio.Queue()
    in_flight = 0
    room = asyncio.Event()
    room.set()

    async def deliver():
        nonlocal in_flight
        while True:
            due, data = await queue.get()
            if data is None:
                break
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()
            in_flight -= len(data)
            if in_flight < MAX_IN_FLIGHT:
                room.set()
        try:
            writer.write_eof()
        except (OSError, RuntimeError):
            pass

    task = asyncio.create_task(deliver())
    try:
        while True:
            await room.wait()
            data = await reader.read(CHUNK)
            if not data:
                break
            in_flight += len(data)
            if in_flight >= MAX_IN_FLIGHT:
                room.clear()
            queue.put_nowait((time.monotonic() + delay, data))
    except (ConnectionError, OSError):
        pass
    queue.put_nowait((0, None))
    try:
        await task
    except (ConnectionError, OSError):
        pass


async def main():
    listen_port, host, port, delay_ms = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    delay = delay_ms / 1000.0

    async def handle(client_reader, client_writer):
        try:
            up_reader, up_writer = await asyncio.open_connection(host, port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(pipe(client_reader, up_writer, delay), pipe(up_reader, client_writer, delay))
        for w in (client_writer, up_writer):
            w.close()

    server = await asyncio.start_server(handle, "127.0.0.1", listen_port)
    if len(sys.argv) > 5:
        with open(sys.argv[5], "w") as f:
            f.write(str(server.sockets[0].getsockname()[1]))
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
