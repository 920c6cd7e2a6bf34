# SPDX-License-Identifier: MIT
"""JWTs for the tests, with the standard library only: HS256 via hmac; RS256 and ES256 by
signing with the `openssl` command (keys made by `openssl genpkey`). `at()` makes Mercure 1.0
access tokens (RFC 9068: typ at+jwt) with the same three algorithms."""
import base64
import hashlib
import hmac
import json
import os
import subprocess


def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _signing_input(claims, alg, typ="JWT"):
    header = {"alg": alg, "typ": typ}
    return (b64url(json.dumps(header, separators=(",", ":")).encode()) + "." +
            b64url(json.dumps(claims, separators=(",", ":")).encode()))


def hs256(claims, secret):
    s = _signing_input(claims, "HS256")
    sig = hmac.new(secret.encode(), s.encode(), hashlib.sha256).digest()
    return s + "." + b64url(sig)


def unsigned(claims):
    """alg none: no signature at all."""
    return _signing_input(claims, "none") + "."


def rsa_keypair(directory):
    """Makes an RSA key pair; returns (private PEM path, public PEM path)."""
    priv = os.path.join(directory, "priv.pem")
    pub = os.path.join(directory, "pub.pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                    "rsa_keygen_bits:2048", "-out", priv], check=True, capture_output=True)
    subprocess.run(["openssl", "pkey", "-in", priv, "-pubout", "-out", pub], check=True,
                   capture_output=True)
    return priv, pub


def rs256(claims, priv_path):
    s = _signing_input(claims, "RS256")
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", priv_path], input=s.encode(),
                         check=True, capture_output=True).stdout
    return s + "." + b64url(sig)


def ec_keypair(directory):
    """Makes a P-256 key pair; returns (private PEM path, public PEM path)."""
    priv = os.path.join(directory, "ec-priv.pem")
    pub = os.path.join(directory, "ec-pub.pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-out", priv], check=True, capture_output=True)
    subprocess.run(["openssl", "pkey", "-in", priv, "-pubout", "-out", pub], check=True,
                   capture_output=True)
    return priv, pub


def _der_ecdsa_to_raw(der, n=32):
    """openssl writes ECDSA signatures as DER SEQUENCE {r, s}; JWS wants r || s (RFC 7518)."""
    if der[0] != 0x30:
        raise ValueError("not a DER sequence")
    i = 2 if der[1] < 0x80 else 2 + (der[1] & 0x7F)
    out = b""
    for _ in range(2):
        if der[i] != 0x02:
            raise ValueError("not a DER integer")
        ln = der[i + 1]
        out += int.from_bytes(der[i + 2:i + 2 + ln], "big").to_bytes(n, "big")
        i += 2 + ln
    return out


def es256(claims, priv_path):
    s = _signing_input(claims, "ES256")
    der = subprocess.run(["openssl", "dgst", "-sha256", "-sign", priv_path], input=s.encode(),
                         check=True, capture_output=True).stdout
    return s + "." + b64url(_der_ecdsa_to_raw(der))


MERCURE_DETAIL = "https://mercure.rocks/authorization-detail"


def detail(actions, matches, payload=None, match_type=None):
    """One Mercure authorization_details entry (RFC 9396) granting |actions| on the exact
    topics |matches|."""
    topics = []
    for m in matches:
        t = {"match": m}
        if match_type is not None:
            t["matchType"] = match_type
        topics.append(t)
    d = {"type": MERCURE_DETAIL, "actions": list(actions), "topics": topics}
    if payload is not None:
        d["payload"] = payload
    return d


def at_claims(iss, aud, details=None, lifetime=3600, **extra):
    import time
    c = {"iss": iss, "aud": aud, "sub": "test", "exp": int(time.time()) + lifetime}
    if details is not None:
        c["authorization_details"] = details
    c.update(extra)
    return c


def at(claims, alg, key):
    """A Mercure 1.0 access token: |key| is the HS256 secret, or the private PEM path for
    RS256 and ES256."""
    s = _signing_input(claims, alg, typ="at+jwt")
    if alg == "HS256":
        sig = hmac.new(key.encode(), s.encode(), hashlib.sha256).digest()
    else:
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=s.encode(),
                             check=True, capture_output=True).stdout
        if alg == "ES256":
            sig = _der_ecdsa_to_raw(sig)
    return s + "." + b64url(sig)
