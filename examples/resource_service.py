"""A resource service in Python, the standard library and PyJWT only: `python3 examples/resource_service.py`.
It verifies the identity server's access tokens with the published JWKS and follows its revocation
stream (the README's rules), so a logout there is a 401 here at once, with no call per request.
  IDENTITY_URL, ISSUER, CLIENT_ID, CLIENT_SECRET, PORT (3005), MAX_STALENESS (seconds, 5)
"""
import base64
import json
import os
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt

IDENTITY = os.environ.get("IDENTITY_URL", "http://127.0.0.1:3000")
ISSUER = os.environ.get("ISSUER", IDENTITY)
MAX_STALENESS = float(os.environ.get("MAX_STALENESS", "5"))
CLIENT = base64.b64encode(f"{os.environ['CLIENT_ID']}:{os.environ['CLIENT_SECRET']}".encode()).decode()
keys = jwt.PyJWKClient(f"{IDENTITY}/.well-known/jwks.json")
ALGORITHMS = ["EdDSA", "ES256", "RS256"]  # the JWKS's public-key algorithms: never an HMAC secret


class Revocations:
    def __init__(self):
        self.entries, self.lock = {}, threading.Lock()
        self.current, self.heard = False, 0.0  # caught up since the last connection; when the stream last spoke

    def add(self, entry):
        with self.lock:  # the strictest of an entry seen twice
            old = self.entries.get((entry["kind"], entry["value"]), entry)
            for field in ("expires_at", "revoked_before"):
                if field in entry:
                    entry[field] = max(entry[field], old[field])
            self.entries[(entry["kind"], entry["value"])] = entry

    def stale(self):
        return not self.current or time.monotonic() - self.heard > MAX_STALENESS

    def revoked(self, claims, kid):
        now, matches = time.time() * 1000, [("jti", claims.get("jti")), ("sid", claims.get("sid")), ("kid", kid), ("sub", claims["sub"])]
        with self.lock:
            live = [e for e in map(self.entries.get, matches) if e and e["expires_at"] > now]
        # sub: the subject's tokens issued before revoked_before (iat is in seconds, the entry in ms)
        return any(e["kind"] != "sub" or claims["iat"] * 1000 < e["revoked_before"] for e in live)

    def follow(self):
        last_id = None
        while True:
            headers = {"Authorization": f"Basic {CLIENT}", "Accept": "text/event-stream"}
            if last_id is not None:
                headers["Last-Event-ID"] = last_id
            try:  # a read that waits 3 s (six heartbeats) gives up the connection
                with urllib.request.urlopen(urllib.request.Request(f"{IDENTITY}/revocations/stream", headers=headers), timeout=3) as stream:
                    event, data, event_id = None, [], None
                    for raw in stream:
                        self.heard, line = time.monotonic(), raw.decode().rstrip("\r\n")
                        if line.startswith(":"):  # a heartbeat: whatever came before it is in
                            self.current = True
                        elif line == "":  # the end of an event
                            if event == "revocation" and data:
                                self.add(json.loads("\n".join(data)))
                            last_id = event_id if event_id is not None else last_id
                            event, data, event_id = None, [], None
                        else:
                            field, _, value = line.partition(":")
                            value = value.removeprefix(" ")
                            if field == "event":
                                event = value
                            elif field == "data":
                                data.append(value)
                            elif field == "id":
                                event_id = value
            except OSError as error:
                print(f"revocation stream: {error}", file=sys.stderr)
            self.current = False
            time.sleep(1)


revocations = Revocations()


class Orders(BaseHTTPRequestHandler):
    def answer(self, status, body):
        self.send_response(status)
        self.send_header("content-type", "application/json")
        if status == 401:
            self.send_header("www-authenticate", 'Bearer error="invalid_token"')
        self.end_headers()
        self.wfile.write(json.dumps(body).encode())

    def do_GET(self):
        token = self.headers.get("Authorization", "").removeprefix("Bearer ")
        try:
            header, key = jwt.get_unverified_header(token), keys.get_signing_key_from_jwt(token)
            if header.get("typ") != "at+jwt":
                raise jwt.InvalidTokenError("not an access token")
            claims = jwt.decode(token, key.key, algorithms=ALGORITHMS, audience=ISSUER, issuer=ISSUER,
                                options={"require": ["exp", "iat", "sub", "jti"]})
        except jwt.PyJWTError as error:
            return self.answer(401, {"code": "token_invalid", "detail": str(error)})
        if "cnf" in claims:  # bound to a client's key (DPoP): this service checks no proofs, so never a bearer token
            return self.answer(401, {"code": "token_invalid", "detail": "DPoP-bound token"})
        if revocations.stale():  # the copy may be missing revocations: refuse, never accept blindly
            return self.answer(503, {"code": "store_unavailable"})
        if revocations.revoked(claims, header.get("kid")):
            return self.answer(401, {"code": "token_revoked"})
        self.answer(200, {"for": claims.get("name", claims["sub"]), "orders": [{"id": 1, "item": "book"}]})

    def log_message(self, *args):
        pass


threading.Thread(target=revocations.follow, daemon=True).start()
server = ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PORT", "3005"))), Orders)
print(f"orders service (Python) listening on http://127.0.0.1:{server.server_port}", flush=True)
server.serve_forever()
