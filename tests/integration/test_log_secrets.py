#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Credentials stay out of the logs: a real ssehub with --publisher-key, --subscriber-key,
--log-level debug and an access log (a file, then stderr), subscribers and publishers
passing JWTs in the query (authorization=, a percent-encoded name, access_token=), in the
Authorization header and in the mercureAuthorization cookie, valid ones and bad or expired
ones that get 401, and a malformed request carrying one. Afterwards no token (nor any part
of one) appears in the access log or on stderr, and the REDACTED marker does where the
targets were logged.

Usage: test_log_secrets.py [-k SUBSTRING]... PATH-TO-SSEHUB
Prints one line per case (ok / FAIL) and exits 1 if any case failed.
Python 3 standard library only.
"""
import asyncio
import os
import sys
import tempfile
import time
import urllib.parse

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from hubtest import jwt  # noqa: E402
from hubtest.http import Conn, Fail, Stream, check, request_bytes  # noqa: E402
from hubtest.hub import Hub  # noqa: E402
from hubtest.runner import parse_args, run_cases  # noqa: E402

PUB = "publisher-secret-0123456789abcdef"
SUB = "subscriber-secret-0123456789abcdef"
DEADLINE = 30.0  # generous: holds under ASan on two busy cores
CASES = []


def case(name, timeout=120):
    def deco(fn):
        CASES.append((name, fn, timeout))
        return fn
    return deco


class Tokens:
    """Every token the scenario sends, each distinct (its own jti), by label."""

    def __init__(self):
        self.all = {}
        now = int(time.time())
        self.n = 0

        def tok(label, secret, claims_extra, exp):
            self.n += 1
            claims = {"mercure": claims_extra, "exp": exp, "jti": "%s-%d" % (label, self.n)}
            t = jwt.hs256(claims, secret)
            self.all[label] = t
            return t

        sub = {"subscribe": ["*"]}
        pub = {"publish": ["*"]}
        later, before = now + 3600, now - 3600
        self.sub_query = tok("sub-query", SUB, sub, later)
        self.sub_query_expired = tok("sub-query-expired", SUB, sub, before)
        self.sub_query_bad_sig = tok("sub-query-bad-sig", "not-the-key-0123456789abcdef", sub,
                                     later)
        self.sub_encoded_name = tok("sub-encoded-name", SUB, sub, later)
        self.sub_encoded_expired = tok("sub-encoded-expired", SUB, sub, before)
        self.access_token = tok("access-token", SUB, sub, later)
        self.sub_header = tok("sub-header", SUB, sub, later)
        self.sub_header_expired = tok("sub-header-expired", SUB, sub, before)
        self.sub_cookie = tok("sub-cookie", SUB, sub, later)
        self.sub_cookie_expired = tok("sub-cookie-expired", SUB, sub, before)
        self.pub_header = tok("pub-header", PUB, pub, later)
        self.pub_header_bad = tok("pub-header-bad", "not-the-key-0123456789abcdef", pub, later)
        self.pub_query = tok("pub-query", PUB, pub, later)
        self.malformed = tok("malformed", SUB, sub, later)


def path(topic, *pairs):
    """A subscription target; |pairs| are raw "name=value" strings (not re-encoded)."""
    return "/.well-known/mercure?" + "&".join(["topic=" + urllib.parse.quote(topic, safe="")] +
                                              list(pairs))


async def subscribe(port, target, headers=(), status=200):
    s = await Stream.subscribe(port, path=target, headers=list(headers), expect_status=status,
                               timeout=DEADLINE)
    check(s.resp.status == status, "GET %s: %r, expected %d" % (target[:80], s.resp, status))
    s.close()


async def publish(port, target, headers, status):
    c = await Conn.open(port)
    try:
        body = urllib.parse.urlencode([("topic", "t"), ("data", "x")]).encode()
        c.send(request_bytes("POST", target, [("Content-Type",
                                               "application/x-www-form-urlencoded")]
                             + list(headers), body))
        await c.drain()
        r = await c.read_response(DEADLINE)
        check(r.status == status, "POST %s: %r, expected %d" % (target[:80], r, status))
    finally:
        c.close()


async def scenario(port, tk):
    """Every way a token reaches the hub, good and bad. Returns the requests made."""
    await subscribe(port, path("t", "authorization=" + tk.sub_query))
    await subscribe(port, path("t", "authorization=" + tk.sub_query_expired), status=401)
    await subscribe(port, path("t", "authorization=" + tk.sub_query_bad_sig), status=401)
    # The hub decodes parameter names: authoriz%61tion is authorization.
    await subscribe(port, path("t", "authoriz%61tion=" + tk.sub_encoded_name))
    await subscribe(port, path("t", "%61uthorization=" + tk.sub_encoded_expired), status=401)
    await subscribe(port, path("t", "access_token=" + tk.access_token))  # anonymous, logged
    await subscribe(port, path("t"), [("Authorization", "Bearer " + tk.sub_header)])
    await subscribe(port, path("t"), [("Authorization", "Bearer " + tk.sub_header_expired)],
                    status=401)
    await subscribe(port, path("t"), [("Cookie", "a=b; mercureAuthorization=" + tk.sub_cookie)])
    await subscribe(port, path("t"), [("Cookie", "mercureAuthorization=" + tk.sub_cookie_expired)],
                    status=401)
    await publish(port, "/.well-known/mercure", [("Authorization", "Bearer " + tk.pub_header)],
                  200)
    await publish(port, "/.well-known/mercure", [("Authorization", "Bearer " + tk.pub_header_bad)],
                  401)
    # A publisher that puts its token in the target too: the target is logged.
    await publish(port, "/.well-known/mercure?authorization=" + tk.pub_query,
                  [("Authorization", "Bearer " + tk.pub_header)], 200)
    # A malformed request (whitespace before a colon) whose target carries a token: refused
    # with 400, and its target logged.
    c = await Conn.open(port)
    try:
        c.send(b"GET " + path("t", "authorization=" + tk.malformed).encode() +
               b" HTTP/1.1\r\nHost: h\r\nX-Foo : bar\r\n\r\n")
        await c.drain()
        r = await c.read_response(DEADLINE, head_only=True)
        check(r.status == 400, "the malformed request: %r" % r)
    finally:
        c.close()


def leaks(text, tk):
    """The tokens (or parts of them: payload, signature) found in |text|."""
    found = []
    for label, t in tk.all.items():
        head, payload, sig = t.split(".")
        for what, part in (("token", t), ("payload", payload), ("signature", sig)):
            if part in text:
                found.append("%s (%s)" % (label, what))
    if "eyJ" in text:  # the start of any base64url JSON: a JWT header or payload
        found.append("'eyJ'")
    return found


# Query names whose values the logs must show as REDACTED (the requests above use each).
MARKERS = ["authorization=REDACTED", "authoriz%61tion=REDACTED", "%61uthorization=REDACTED",
           "access_token=REDACTED"]


@case("access-log-file")
async def t_access_log_file(exe):
    tk = Tokens()
    with tempfile.TemporaryDirectory(prefix="ssehub-logs-") as tmp:
        log = os.path.join(tmp, "access.log")
        hub = Hub(exe, ["--publisher-key", PUB, "--subscriber-key", SUB, "--log-level", "debug",
                        "--access-log", log])
        async with hub:
            await scenario(hub.port, tk)
        with open(log, encoding="utf-8", errors="replace") as f:
            access = f.read()
    stderr = "\n".join(hub.stderr_lines)
    check(access.count("\n") >= 14, "the access log has %d lines: %r"
          % (access.count("\n"), access[:300]))
    check(" debug " in stderr, "no debug line on stderr (--log-level debug)")
    found = leaks(access, tk)
    check(not found, "in the access log: %s" % ", ".join(found))
    found = leaks(stderr, tk)
    check(not found, "on stderr: %s" % ", ".join(found))
    missing = [m for m in MARKERS if m not in access]
    check(not missing, "the access log lacks %s: %r" % (missing, access[:600]))
    # The refused requests' debug lines name their targets, redacted.
    check("authorization=REDACTED" in stderr, "no redacted target on stderr: %r" % stderr[-600:])
    return "%d tokens, %d access log lines, none leaked" % (len(tk.all), access.count("\n"))


@case("access-log-stderr")
async def t_access_log_stderr(exe):
    tk = Tokens()
    hub = Hub(exe, ["--publisher-key", PUB, "--subscriber-key", SUB, "--log-level", "debug",
                    "--access-log", "-"])
    async with hub:
        await scenario(hub.port, tk)
    stderr = "\n".join(hub.stderr_lines)
    found = leaks(stderr, tk)
    check(not found, "on stderr: %s" % ", ".join(found))
    missing = [m for m in MARKERS if m not in stderr]
    check(not missing, "stderr lacks %s" % missing)
    return "%d tokens, %d stderr lines, none leaked" % (len(tk.all), len(hub.stderr_lines))


async def run_case(fn, exe, timeout):
    try:
        return await asyncio.wait_for(fn(exe), timeout)
    except asyncio.TimeoutError:
        raise Fail("timed out (case limit %d s)" % timeout)


def main():
    a = parse_args(CASES, __doc__)
    return run_cases(CASES, a.k,
                     lambda name, fn, timeout: asyncio.run(run_case(fn, a.ssehub, timeout)))


if __name__ == "__main__":
    sys.exit(main())
