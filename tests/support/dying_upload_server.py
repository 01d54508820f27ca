#!/usr/bin/python3
"""An upload server that dies mid-clone, for the clone source's tests.

Listens on 127.0.0.1 (a free port, written to --port-file), accepts one mutual-TLS connection
(server certificate --cert/--key, client certificates verified against --ca), reads the request
head and then --after bytes of the body, and SIGKILLs itself: what the clone source sees when the
kubelet or the OOM killer ends the target's upload server while the stream flows.
With --stall it stops reading instead and waits to be killed: the stream stays in flight.
"""
import argparse
import os
import signal
import socket
import ssl


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--after", type=int, default=1 << 20)
    p.add_argument("--stall", action="store_true", help="stop reading after --after bytes instead of dying")
    args = p.parse_args()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    ctx.load_verify_locations(args.ca)
    ctx.verify_mode = ssl.CERT_REQUIRED
    with socket.create_server(("127.0.0.1", 0)) as listener:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(str(listener.getsockname()[1]))
        os.rename(tmp, args.port_file)
        conn, _ = listener.accept()
        tls = ctx.wrap_socket(conn, server_side=True)
        got = 0
        while got < args.after:
            data = tls.recv(65536)
            if not data:
                break
            got += len(data)
        if args.stall:
            while True:
                signal.pause()
        os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    main()
