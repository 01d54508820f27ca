#!/usr/bin/python3
"""An HTTPS origin whose TLS breaks mid-body (issue 17's "an origin that speaks TLS badly"). Test use only.

  tls_break_origin.py --file F --cert C --key K --port-file P --break MODE --at N [--no-ranges] [--log L]

Serves F at every path over TLS on 127.0.0.1 (a free port, written to P): HEAD and GET with
Content-Length, ETag "v1", and unless --no-ranges `Accept-Ranges: bytes` and 206 answers to
`Range: bytes=N-`. The first GET breaks after N body bytes; later requests are served whole:
  truncate  the TCP connection is closed without TLS close_notify (a truncation attack or a crashed
            origin: to the client it looks like a body cut short)
  garbage   64 plaintext bytes go down the raw TCP socket, outside any TLS record, then the connection
            closes: the client's TLS layer must refuse them, never hand them on as body bytes
  reset     the connection is reset (SO_LINGER 0)
--log appends one line per request: "<method> <range or -> <status> <bytes sent>".
"""
import argparse
import os
import socket
import ssl
import struct
import threading


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--file", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--break", dest="mode", choices=["truncate", "garbage", "reset"], required=True)
    ap.add_argument("--at", type=int, required=True)
    ap.add_argument("--no-ranges", action="store_true")
    ap.add_argument("--log")
    a = ap.parse_args()
    data = open(a.file, "rb").read()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(16)
    with open(a.port_file + ".tmp", "w") as f:
        f.write(str(lsock.getsockname()[1]))
    os.rename(a.port_file + ".tmp", a.port_file)
    state = {"broken": False}
    lock = threading.Lock()

    def log(line):
        if a.log:
            with lock, open(a.log, "a") as f:
                f.write(line + "\n")

    def serve(raw):
        try:
            tls = ctx.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            raw.close()
            return
        try:
            buf = b""
            while b"\r\n\r\n" not in buf:
                chunk = tls.recv(4096)
                if not chunk:
                    return
                buf += chunk
            lines = buf.split(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
            method = lines[0].split(" ")[0]
            headers = {k.strip().lower(): v.strip() for k, v in (h.split(":", 1) for h in lines[1:] if ":" in h)}
            start, status = 0, 200
            rng = headers.get("range", "")
            hdr = ["ETag: \"v1\"", "Connection: close"]
            if not a.no_ranges:
                hdr.append("Accept-Ranges: bytes")
                if rng.startswith("bytes=") and rng.endswith("-"):
                    start, status = int(rng[6:-1]), 206
                    hdr.append(f"Content-Range: bytes {start}-{len(data) - 1}/{len(data)}")
            hdr.append(f"Content-Length: {len(data) - start}")
            reason = "OK" if status == 200 else "Partial Content"
            tls.sendall((f"HTTP/1.1 {status} {reason}\r\n" + "\r\n".join(hdr) + "\r\n\r\n").encode())
            if method == "HEAD":
                log(f"HEAD {rng or '-'} {status} 0")
                return
            with lock:
                breaking = not state["broken"]
                state["broken"] = True
            body = data[start:]
            if not breaking:
                tls.sendall(body)
                log(f"GET {rng or '-'} {status} {len(body)}")
                tls.unwrap()
                return
            tls.sendall(body[:a.at])
            log(f"GET {rng or '-'} {status} {a.at} broken:{a.mode}")
            if a.mode == "garbage":
                raw_sock = socket.socket(fileno=os.dup(tls.fileno()))
                raw_sock.sendall(b"GARBAGE!" * 8)
                raw_sock.close()
            elif a.mode == "reset":
                tls.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            # Closed without unwrap(): no close_notify goes out.
        except (ssl.SSLError, OSError):
            pass
        finally:
            tls.close()

    while True:
        conn, _ = lsock.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
