#!/usr/bin/python3
"""A small Google Cloud Storage stand-in for tests: the OAuth 2.0 token endpoint of the JWT bearer flow
(RFC 7523, as Google documents it for service accounts) and the XML API's object GET, from a folder.
Test use only.

  gcs_server.py --root DIR --port 0 --port-file F --public-key PEM [--anonymous] [--expires N]
                [--reset-after N] [--log FILE]

POST /token, form grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=JWT: the JWT must be
RS256, verify with --public-key, carry aud = this endpoint's URL (http://127.0.0.1:<port>/token), an
iat within 5 minutes of now, exp - iat <= 3600 and exp in the future, and a scope naming
devstorage.full_control or devstorage.read_only; -> 200 {"access_token", "expires_in": N,
"token_type": "Bearer"}; else 400 {"error": "invalid_grant", "error_description": ...}.
GET /<bucket>/<object> (the object one escaped path segment) with Authorization: Bearer <a token
issued here and not expired> -> 200 or 206 (Range); a bad or missing token -> 401 (unless
--anonymous, which serves requests without Authorization); no such object -> 404 NoSuchKey.
--reset-after N: the first whole-object GET is reset after N body bytes. --log: one JSON line per
request (method, path, range, bearer (a token was sent), status); never a token or the assertion.
"""
import argparse
import base64
import json
import os
import secrets
import socket
import struct
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

ARGS = None
LOCK = threading.Lock()
TOKENS = {}
RESET_DONE = [False]
PUBLIC_KEY = None
PORT = [0]


def unb64(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def record(self, **kw):
        if ARGS.log:
            with LOCK, open(ARGS.log, "a") as f:
                f.write(json.dumps(kw) + "\n")

    def reply(self, status, body, ctype="application/json", info=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.record(**(info or {}), status=status)

    def check_assertion(self, jwt):
        try:
            h64, c64, s64 = jwt.split(".")
            header = json.loads(unb64(h64))
            claims = json.loads(unb64(c64))
        except Exception:
            return "malformed assertion"
        if header.get("alg") != "RS256":
            return "alg is not RS256"
        try:
            PUBLIC_KEY.verify(unb64(s64), (h64 + "." + c64).encode(), padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return "Invalid JWT Signature."
        now = time.time()
        if claims.get("aud") != "http://127.0.0.1:%d/token" % PORT[0]:
            return "Invalid JWT: aud"
        iat, exp = claims.get("iat", 0), claims.get("exp", 0)
        if abs(now - iat) > 300 or exp <= now or exp - iat > 3600:
            return "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe."
        scopes = claims.get("scope", "").split(" ")
        if not any(s.startswith("https://www.googleapis.com/auth/devstorage.") for s in scopes):
            return "Invalid JWT: no storage scope"
        if not claims.get("iss"):
            return "Invalid JWT: no iss"
        return None

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        form = parse_qs(self.rfile.read(length).decode())
        info = {"method": "POST", "path": self.path}
        if self.path != "/token":
            return self.reply(404, b"{}", info=info)
        if form.get("grant_type") != ["urn:ietf:params:oauth:grant-type:jwt-bearer"] or "assertion" not in form:
            return self.reply(400, json.dumps({"error": "unsupported_grant_type"}).encode(), info=info)
        why = self.check_assertion(form["assertion"][0])
        if why:
            return self.reply(400, json.dumps({"error": "invalid_grant", "error_description": why}).encode(), info=info)
        token = "ya29.test-" + secrets.token_urlsafe(24)
        with LOCK:
            TOKENS[token] = time.time() + ARGS.expires
        self.reply(200, json.dumps({"access_token": token, "expires_in": ARGS.expires, "token_type": "Bearer"}).encode(), info=info)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        rng = self.headers.get("Range")
        auth = self.headers.get("Authorization")
        info = {"method": self.command, "path": self.path, "range": rng, "bearer": auth is not None}
        if auth is None and not ARGS.anonymous:
            return self.reply(401, b"<Error><Code>AccessDenied</Code></Error>", "application/xml", info)
        if auth is not None:
            token = auth[len("Bearer "):] if auth.startswith("Bearer ") else ""
            with LOCK:
                expiry = TOKENS.get(token)
            if expiry is None or expiry < time.time():
                return self.reply(401, b"<Error><Code>AuthenticationRequired</Code></Error>", "application/xml", info)
        bucket, _, obj = self.path.partition("?")[0].lstrip("/").partition("/")
        file = os.path.join(ARGS.root, unquote(bucket), unquote(obj))
        if not obj or not os.path.isfile(file) or ".." in unquote(obj).split("/"):
            return self.reply(404, b"<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>",
                              "application/xml", info)
        st = os.stat(file)
        size = st.st_size
        start, end, status = 0, size - 1, 200
        if rng:
            first, _, last = rng[len("bytes="):].partition("-")
            start, end, status = int(first), int(last) if last else size - 1, 206
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", '"%x-%x"' % (int(st.st_mtime), size))
        self.send_header("Last-Modified", formatdate(st.st_mtime, usegmt=True))
        if status == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, size))
        self.end_headers()
        self.record(**info, status=status)
        if self.command == "HEAD":
            return
        reset_at = None
        with LOCK:
            if ARGS.reset_after and not rng and not RESET_DONE[0]:
                RESET_DONE[0] = True
                reset_at = ARGS.reset_after
        with open(file, "rb") as f:
            f.seek(start)
            left, sent = end - start + 1, 0
            while left > 0:
                chunk = f.read(min(left, 65536) if reset_at is None else min(left, 65536, reset_at - sent))
                if not chunk:
                    break
                self.wfile.write(chunk)
                sent += len(chunk)
                left -= len(chunk)
                if reset_at is not None and sent >= reset_at:
                    self.wfile.flush()
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.connection.close()
                    self.close_connection = True
                    return


def main():
    global ARGS, PUBLIC_KEY
    p = argparse.ArgumentParser()
    p.add_argument("--root", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file", required=True)
    p.add_argument("--public-key", required=True)
    p.add_argument("--anonymous", action="store_true")
    p.add_argument("--expires", type=int, default=3600)
    p.add_argument("--reset-after", type=int, default=0)
    p.add_argument("--log")
    ARGS = p.parse_args()
    with open(ARGS.public_key, "rb") as f:
        PUBLIC_KEY = serialization.load_pem_public_key(f.read())
    server = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    server.daemon_threads = True
    PORT[0] = server.server_address[1]
    tmp = ARGS.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(PORT[0]))
    os.rename(tmp, ARGS.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
