"""Interop peer: PyJWT from Debian, driven by the interop tests over stdin/stdout (JSON).

verify: {"jwks": {...}, "token": "...", "alg": "...", "issuer": "...", "audience": "...", "require"?: [...]} -> {"claims": {...}}
sign:   {"jwk": {...private...}, "alg": "...", "claims": {...}} -> {"token": "..."}
"""
import json
import sys

import jwt


def main():
    request = json.load(sys.stdin)
    if request["op"] == "verify":
        header = jwt.get_unverified_header(request["token"])
        keys = {k["kid"]: k for k in request["jwks"]["keys"]}
        key = jwt.PyJWK(keys[header["kid"]]).key
        claims = jwt.decode(
            request["token"], key, algorithms=[request["alg"]],
            audience=request["audience"], issuer=request["issuer"],
            options={"require": request.get("require", [])},
        )
        print(json.dumps({"claims": claims}))
    else:
        key = jwt.PyJWK(request["jwk"]).key
        token = jwt.encode(
            request["claims"], key, algorithm=request["alg"],
            headers={"kid": request["jwk"]["kid"], "typ": "at+jwt"},
        )
        print(json.dumps({"token": token}))


main()
