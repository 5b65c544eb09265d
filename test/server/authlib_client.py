"""Authlib (Debian's python3-authlib) as an OAuth 2.1 / OpenID Connect client of tessera serve.

The server's issuer is https (as behind a TLS proxy), while the tests reach it on loopback at
"base": requests go to the base, every check is against the issuer. Reads one JSON request on
stdin, writes one JSON answer on stdout:
- {"op": "validate", "base"}: the server's RFC 8414 and OpenID Connect Discovery metadata,
  through Authlib's own validators;
- {"op": "start", "base", "client_id", "client_secret", "redirect_uri"}: an authorization URL
  (code, PKCE S256, state, nonce) and what the client keeps;
- {"op": "finish", ... the kept values, "callback"}: the token request, the ID token's checks with
  the JWKS, UserInfo, and a refresh.
"""
import json
import os
import sys

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from authlib.oidc.core import CodeIDToken
from authlib.oidc.discovery import OpenIDProviderMetadata


# Plain http is allowed for the loopback base only: the tests reach nothing else.
os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"


def metadata(base):
    oauth = requests.get(base + "/.well-known/oauth-authorization-server", timeout=10).json()
    oidc = requests.get(base + "/.well-known/openid-configuration", timeout=10).json()
    AuthorizationServerMetadata(oauth).validate()
    OpenIDProviderMetadata(oidc).validate()
    return oidc


def session(request, meta):
    return OAuth2Session(
        request["client_id"],
        request["client_secret"],
        scope="openid profile",
        redirect_uri=request["redirect_uri"],
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    )


def main():
    request = json.load(sys.stdin)
    base = request["base"]
    if not base.startswith("http://127.0.0.1:"):
        raise SystemExit("the base must be on loopback")
    meta = metadata(base)
    at = lambda url: url.replace(meta["issuer"], base, 1)
    if request["op"] == "validate":
        print(json.dumps({"ok": True}))
        return
    client = session(request, meta)
    if request["op"] == "start":
        verifier = generate_token(48)
        nonce = generate_token(16)
        url, state = client.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce)
        print(json.dumps({"url": url, "state": state, "verifier": verifier, "nonce": nonce}))
        return
    client.state = request["state"]
    token = client.fetch_token(
        at(meta["token_endpoint"]),
        authorization_response=request["callback"],
        code_verifier=request["verifier"],
        state=request["state"],
    )
    keys = JsonWebKey.import_key_set(requests.get(at(meta["jwks_uri"]), timeout=10).json())
    claims = jwt.decode(
        token["id_token"],
        keys,
        claims_cls=CodeIDToken,
        claims_options={"iss": {"values": [meta["issuer"]]}, "aud": {"values": [request["client_id"]]}},
        claims_params={"nonce": request["nonce"], "access_token": token["access_token"]},
    )
    claims.validate()
    userinfo = client.get(at(meta["userinfo_endpoint"])).json()
    renewed = client.refresh_token(at(meta["token_endpoint"]), refresh_token=token["refresh_token"])
    print(json.dumps({"sub": claims["sub"], "sid": claims["sid"], "userinfo": userinfo, "renewed": renewed["access_token"] != token["access_token"]}))


main()
