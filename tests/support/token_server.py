#!/usr/bin/python3
"""A minimal Docker token service (https://distribution.github.io/distribution/spec/auth/token/) for a
registry running with `auth: token:`. Test use only: one user, every requested action granted.

  token_server.py --port 0 --port-file F [--cert C --key K] --signing-key SK --signing-cert SC
                  --user U --password P [--issuer I] [--service S] [--expires N]
                  [--expired-first N] [--huge-token N] [--log FILE]

GET /token?service=S&scope=repository:<name>:pull,push (scope may repeat) with HTTP basic auth
U:P -> 200 {"token", "access_token", "expires_in", "issued_at"}; no or wrong credentials -> 401 with
`WWW-Authenticate: Basic realm="cdi-test-token"`. POST /token (OAuth2 form, grant_type=password with
username/password) is answered the same way.

The token is a JWT signed with the signing key (EC P-256 -> ES256, RSA -> RS256) whose header carries
x5c = [base64 DER of the signing cert]; distribution 2.8 verifies that chain against its
`rootcertbundle`, so a self-signed signing cert that is itself the bundle is enough.

--expires N sets exp = iat + N. distribution accepts a token up to 60 s past exp (its leeway), so a
short --expires alone does not make the registry refuse a token within a test: --expired-first N
makes the first N tokens expire an hour in the past (the registry answers 401 to them), which tests
that a client fetches a new token on 401.

--huge-token N pads every token to N bytes (a hostile token service; the JWT is no longer valid).

--log writes one JSON line per request: method, path, query (the raw query string), service, scope,
authorization (whether an Authorization header was sent), user (the basic-auth user name), status.
The password is never logged.
"""
import argparse
import base64
import binascii
import hmac
import json
import os
import ssl
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Signer:
    def __init__(self, key_path, cert_path):
        with open(key_path, "rb") as f:
            self.key = serialization.load_pem_private_key(f.read(), password=None)
        with open(cert_path, "rb") as f:
            cert = x509.load_pem_x509_certificate(f.read())
        self.x5c = [base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()]
        if isinstance(self.key, ec.EllipticCurvePrivateKey):
            if self.key.curve.name != "secp256r1":
                raise SystemExit("token_server.py: only P-256 EC signing keys are supported (ES256)")
            self.alg = "ES256"
        elif isinstance(self.key, rsa.RSAPrivateKey):
            self.alg = "RS256"
        else:
            raise SystemExit("token_server.py: the signing key must be EC P-256 or RSA")

    def sign(self, claims):
        header = {"typ": "JWT", "alg": self.alg, "x5c": self.x5c}
        signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "." +
                         b64url(json.dumps(claims, separators=(",", ":")).encode())).encode()
        if self.alg == "ES256":
            # JWS wants the raw r || s (32 bytes each), not the DER that cryptography returns.
            r, s = decode_dss_signature(self.key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
            sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        else:
            sig = self.key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        return signing_input.decode() + "." + b64url(sig)


def parse_scope(scope):
    """"repository:name:pull,push" -> access entry; the name may not contain ':' but the type may
    carry a class ("repository(plugin)")."""
    parts = scope.split(":")
    if len(parts) < 3:
        return None
    kind, name, actions = parts[0], ":".join(parts[1:-1]), parts[-1]
    if "(" in kind:
        kind = kind[:kind.index("(")]
    return {"type": kind, "name": name, "actions": [a for a in actions.split(",") if a]}


class Handler(BaseHTTPRequestHandler):
    server_version = "cdi-test-token/1"
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # the JSON log below replaces the stderr access log
        pass

    def basic_user(self):
        """(user, valid) from the Authorization header; the password is compared, never kept."""
        auth = self.headers.get("Authorization", "")
        if not auth.lower().startswith("basic "):
            return "", False
        try:
            user, _, password = base64.b64decode(auth[6:].strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return "", False
        return user, self.valid(user, password)

    def valid(self, user, password):
        cfg = self.server.cfg
        return hmac.compare_digest(user.encode(), cfg.user.encode()) and \
            hmac.compare_digest(password.encode(), cfg.password.encode())

    def do_GET(self):
        url = urlsplit(self.path)
        if url.path != "/token":
            return self.answer(404, {"error": "not found"}, url, [], "", "")
        q = parse_qs(url.query, keep_blank_values=True)
        scopes = [s for v in q.get("scope", []) for s in v.split(" ") if s]
        service = q.get("service", [""])[0]
        user, ok = self.basic_user()
        if not ok:
            return self.unauthorized(url, scopes, service, user)
        self.issue(url, scopes, service, user)

    def do_POST(self):
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length", "0") or "0")
        form = parse_qs(self.rfile.read(length).decode(errors="replace"), keep_blank_values=True)
        if url.path != "/token":
            return self.answer(404, {"error": "not found"}, url, [], "", "")
        scopes = [s for v in form.get("scope", []) for s in v.split(" ") if s]
        service = form.get("service", [""])[0]
        user = form.get("username", [""])[0]
        ok = form.get("grant_type", [""])[0] == "password" and self.valid(user, form.get("password", [""])[0])
        if not ok:
            return self.unauthorized(url, scopes, service, user)
        self.issue(url, scopes, service, user)

    def unauthorized(self, url, scopes, service, user):
        self.answer(401, {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]},
                    url, scopes, service, user, {"WWW-Authenticate": 'Basic realm="cdi-test-token"'})

    def issue(self, url, scopes, service, user):
        cfg = self.server.cfg
        now = int(time.time())
        with self.server.lock:
            self.server.issued += 1
            expired = self.server.issued <= cfg.expired_first
        exp = now - 3600 if expired else now + cfg.expires
        claims = {"iss": cfg.issuer, "sub": user, "aud": cfg.service, "exp": exp,
                  "nbf": now - 10 if not expired else now - 7200, "iat": now if not expired else now - 7200,
                  "jti": uuid.uuid4().hex,
                  "access": [a for a in (parse_scope(s) for s in scopes) if a]}
        token = self.server.signer.sign(claims)
        if cfg.huge_token:  # hostile: padded past what a request header can carry (issue 19.1)
            token += "A" * max(0, cfg.huge_token - len(token))
        issued_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(claims["iat"]))
        self.answer(200, {"token": token, "access_token": token, "expires_in": exp - now, "issued_at": issued_at},
                    url, scopes, service, user)

    def answer(self, status, body, url, scopes, service, user, headers=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.server.log({"method": self.command, "path": url.path, "query": url.query, "service": service,
                         "scope": scopes, "authorization": "Authorization" in self.headers, "user": user,
                         "status": status})


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, cfg):
        super().__init__(("127.0.0.1", cfg.port), Handler)
        self.cfg = cfg
        self.signer = Signer(cfg.signing_key, cfg.signing_cert)
        self.lock = threading.Lock()
        self.issued = 0
        self.log_file = open(cfg.log, "a", buffering=1) if cfg.log else None

    def log(self, entry):
        if self.log_file:
            with self.lock:
                self.log_file.write(json.dumps(entry, sort_keys=True) + "\n")


def main():
    ap = argparse.ArgumentParser(description="minimal Docker registry token service for tests")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--signing-key", required=True)
    ap.add_argument("--signing-cert", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--issuer", default="cdi-test-token-issuer")
    ap.add_argument("--service", default="cdi-test-registry")
    ap.add_argument("--expires", type=int, default=300)
    ap.add_argument("--expired-first", type=int, default=0)
    ap.add_argument("--huge-token", type=int, default=0)
    ap.add_argument("--log")
    cfg = ap.parse_args()

    server = Server(cfg)
    if cfg.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cfg.cert, cfg.key)
        # The handshake runs in the handler thread, so a stalled client cannot block accept().
        server.socket = ctx.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    if cfg.port_file:
        tmp = cfg.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(str(server.server_address[1]))
        os.replace(tmp, cfg.port_file)  # readers never see a partial number
    sys.stderr.write("token_server.py: listening on 127.0.0.1:%d\n" % server.server_address[1])
    sys.stderr.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
