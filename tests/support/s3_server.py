#!/usr/bin/python3
"""A small S3 server for tests that VERIFIES AWS Signature V4 (written from AWS's "Signature Version 4
signing process" and checked against `curl --aws-sigv4` and botocore's signer): path-style buckets
served from folders, GetObject with Range, HeadObject, PutObject (for seeding). Test use only.

  s3_server.py --root DIR --port 0 --port-file F [--cert C --key K] [--access-key AK --secret-key SK]
               [--anonymous] [--reset-after N] [--log FILE]

DIR/<bucket>/<key...> are the objects. A request must carry Authorization: AWS4-HMAC-SHA256 with a
known access key (else 403 InvalidAccessKeyId), x-amz-content-sha256 and x-amz-date (within 15 min),
sign host and every x-amz-* header and Range when one is sent, and its signature must match the one
computed here with the scope's region (else 403 SignatureDoesNotMatch). --anonymous also serves
unsigned requests. --reset-after N: the first GET without Range sends N body bytes then resets the
connection (a resume must follow, signed afresh). --log: one JSON line per request (method, path,
range, signed, region, status); never the secret or the signature.
"""
import argparse
import datetime
import hashlib
import hmac
import json
import os
import socket
import ssl
import struct
import threading
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, unquote

ARGS = None
LOCK = threading.Lock()
RESET_DONE = [False]


def canonical_query(raw):
    if not raw:
        return ""
    pairs = []
    for part in raw.split("&"):
        name, _, value = part.partition("=")
        pairs.append((quote(unquote(name), safe="-_.~"), quote(unquote(value), safe="-_.~")))
    return "&".join(n + "=" + v for n, v in sorted(pairs))


def fold(value):
    return " ".join(value.strip().split())


def signature(secret, date, region, service, string_to_sign):
    def h(key, msg):
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()
    k = h(h(h(h(("AWS4" + secret).encode(), date), region), service), "aws4_request")
    return hmac.new(k, string_to_sign.encode(), hashlib.sha256).hexdigest()


def error_xml(code, message):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code><Message>%s</Message></Error>' % (code, message)).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def record(self, **kw):
        if ARGS.log:
            with LOCK, open(ARGS.log, "a") as f:
                f.write(json.dumps(kw) + "\n")

    def reply_error(self, status, code, message, info):
        body = error_xml(code, message)
        self.send_response(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.record(**info, status=status, code=code)

    def verify(self, payload_hash):
        """None when the request may proceed, else (status, code, message). Also returns the region."""
        auth = self.headers.get("Authorization")
        if auth is None:
            return (None, "") if ARGS.anonymous else ((403, "AccessDenied", "Access Denied"), "")
        if not auth.startswith("AWS4-HMAC-SHA256 "):
            return (400, "InvalidArgument", "unsupported authorization type"), ""
        fields = {}
        for item in auth[len("AWS4-HMAC-SHA256 "):].split(","):
            k, _, v = item.strip().partition("=")
            fields[k] = v
        try:
            key_id, date, region, service, terminator = fields["Credential"].split("/")
            signed = fields["SignedHeaders"].split(";")
            given = fields["Signature"]
        except (KeyError, ValueError):
            return (400, "AuthorizationHeaderMalformed", "malformed Authorization"), ""
        if key_id != ARGS.access_key:
            return (403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."), region
        content_sha = self.headers.get("x-amz-content-sha256")
        amz_date = self.headers.get("x-amz-date")
        if content_sha is None or amz_date is None:
            return (400, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256 or x-amz-date"), region
        if payload_hash is not None and content_sha not in (payload_hash, "UNSIGNED-PAYLOAD"):
            return (400, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed."), region
        when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
        if abs((datetime.datetime.now(datetime.timezone.utc) - when).total_seconds()) > 900 or amz_date[:8] != date:
            return (403, "RequestTimeTooSkewed", "The difference between the request time and the current time is too large."), region
        if service != "s3" or terminator != "aws4_request":
            return (400, "AuthorizationHeaderMalformed", "bad credential scope"), region
        must_sign = {"host"} | {k.lower() for k in self.headers.keys() if k.lower().startswith("x-amz-")}
        if "Range" in self.headers:
            must_sign.add("range")
        if not must_sign <= set(signed) or signed != sorted(signed):
            return (403, "AccessDenied", "There were headers present in the request which were not signed"), region
        headers = []
        for name in signed:
            values = self.headers.get_all(name)
            if values is None:
                return (403, "SignatureDoesNotMatch", "a signed header is missing"), region
            headers.append(name + ":" + ",".join(fold(v) for v in values) + "\n")
        path, _, query = self.path.partition("?")
        canonical = "\n".join([self.command, quote(unquote(path), safe="/-_.~"), canonical_query(query), "".join(headers),
                               ";".join(signed), content_sha])
        scope = "/".join([date, region, service, terminator])
        to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
        if not hmac.compare_digest(signature(ARGS.secret_key, date, region, service, to_sign), given):
            return (403, "SignatureDoesNotMatch",
                    "The request signature we calculated does not match the signature you provided. Check your key and signing method."), region
        return None, region

    def object_path(self):
        path = unquote(self.path.partition("?")[0]).lstrip("/")
        bucket, _, key = path.partition("/")
        return bucket, key, os.path.join(ARGS.root, bucket), os.path.join(ARGS.root, bucket, key)

    def do_PUT(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        bad, region = self.verify(hashlib.sha256(body).hexdigest())
        info = {"method": "PUT", "path": self.path, "signed": "Authorization" in self.headers, "region": region}
        if bad:
            return self.reply_error(*bad, info)
        bucket, key, bucket_dir, file = self.object_path()
        os.makedirs(os.path.dirname(file), exist_ok=True)
        with open(file, "wb") as f:
            f.write(body)
        self.send_response(200)
        self.send_header("ETag", '"%s"' % hashlib.md5(body).hexdigest())
        self.send_header("Content-Length", "0")
        self.end_headers()
        self.record(**info, status=200)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        bad, region = self.verify(hashlib.sha256(b"").hexdigest())
        rng = self.headers.get("Range")
        info = {"method": self.command, "path": self.path, "range": rng, "signed": "Authorization" in self.headers, "region": region}
        if bad:
            return self.reply_error(*bad, info)
        bucket, key, bucket_dir, file = self.object_path()
        if not os.path.isdir(bucket_dir):
            return self.reply_error(404, "NoSuchBucket", "The specified bucket does not exist", info)
        if not key or not os.path.isfile(file):
            return self.reply_error(404, "NoSuchKey", "The specified key does not exist.", info)
        st = os.stat(file)
        size = st.st_size
        etag = '"%x-%x"' % (int(st.st_mtime), size)
        start, end, status = 0, size - 1, 200
        if rng:
            first, _, last = rng[len("bytes="):].partition("-")
            start = int(first)
            end = int(last) if last else size - 1
            if start >= size:
                return self.reply_error(416, "InvalidRange", "The requested range is not satisfiable", info)
            status = 206
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", formatdate(st.st_mtime, usegmt=True))
        if status == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, size))
        self.end_headers()
        self.record(**info, status=status)
        if self.command == "HEAD":
            return
        with open(file, "rb") as f:
            f.seek(start)
            left = end - start + 1
            reset_at = None
            with LOCK:
                if ARGS.reset_after and not rng and not RESET_DONE[0]:
                    RESET_DONE[0] = True
                    reset_at = ARGS.reset_after
            sent = 0
            while left > 0:
                chunk = f.read(min(left, 65536) if reset_at is None else min(left, 65536, reset_at - sent))
                if not chunk:
                    break
                self.wfile.write(chunk)
                sent += len(chunk)
                left -= len(chunk)
                if reset_at is not None and sent >= reset_at:
                    self.wfile.flush()
                    # RST rather than FIN: the client sees a reset mid-body.
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.connection.close()
                    self.close_connection = True
                    return


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--root", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file", required=True)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--access-key", default="")
    p.add_argument("--secret-key", default="")
    p.add_argument("--anonymous", action="store_true")
    p.add_argument("--reset-after", type=int, default=0)
    p.add_argument("--log")
    ARGS = p.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    server.daemon_threads = True
    if ARGS.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(ARGS.cert, ARGS.key)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    tmp = ARGS.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, ARGS.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
