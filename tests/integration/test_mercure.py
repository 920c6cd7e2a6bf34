#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Mercure compatibility end to end: a real hub with --publisher-key/--subscriber-key,
JWTs made here (HS256 with hmac, RS256 with the openssl command), raw-socket publishers
(a plain form POST with a Bearer token, as Symfony's Mercure component sends it) and
subscribers. Covers 401/403, private updates (live and replayed), URI-template
subscriptions, cookie and query tokens, the loopback-only default, the reserved namespace,
discovery, and a stream closed when its token expires.

Usage: test_mercure.py [-k SUBSTRING]... PATH-TO-SSEHUB
"""
import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import traceback
import urllib.parse

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from hubtest import jwt  # noqa: E402
from hubtest.http import Conn, Fail, Stream, check, patient, request  # noqa: E402
from hubtest.hub import Hub, kill_leftovers  # noqa: E402

PUB = "publisher-secret-0123456789abcdef"
SUB = "subscriber-secret-0123456789abcdef"
CASES = []


def case(fn):
    CASES.append(fn)
    return fn


def bearer(tok):
    return [("Authorization", "Bearer " + tok)]


async def publish(port, pairs, headers=()):
    c = await Conn.open(port)
    try:
        return await c.publish(pairs, headers=list(headers))
    except asyncio.IncompleteReadError:
        raise Fail("publish %r %r: the hub closed the connection" % (pairs, list(headers)))
    finally:
        c.close()


def q(topics, **extra):
    items = [("topic", t) for t in topics] + list(extra.items())
    return "/.well-known/mercure?" + urllib.parse.urlencode(items)


async def subscribe(port, topics, headers=(), expect=200, **extra):
    return await Stream.subscribe(port, path=q(topics, **extra), headers=list(headers),
                                  expect_status=expect)


def datas(s):
    return [e.data for e in s.events]


def q08(pairs):
    return "/.well-known/mercure?" + urllib.parse.urlencode(pairs)


async def sub08(port, pairs, headers=(), expect=200):  # noqa: D103
    return await Stream.subscribe(port, path=q08(pairs), headers=list(headers),
                                  expect_status=expect)


async def until_marker(s, marker="end", timeout=5):
    """Reads until the event whose data is |marker| (published last, on a topic every
    stream of the case selects): what came before it is all the stream got."""
    ok = await s.read_until(lambda st: marker in datas(st), timeout)
    check(ok, "no %r event; got %r" % (marker, datas(s)))
    return [d for d in datas(s) if d != marker]


@case
async def draft08_subscribe(exe):
    """Mercure 1.0 subscriptions: match= and matchExact= exact byte for byte (a URI
    template given as match= is a topic like any other), `*`, both versions in one request
    and side by side; the 400s of the draft's rules; last_event_id and the headers."""
    tpl = "https://example.com/books/{id}"
    async with Hub(exe, []) as hub:
        p = hub.port
        exact = await sub08(p, [("match", tpl), ("match", "end")])
        exact2 = await sub08(p, [("matchExact", "https://example.com/books/1"),
                                 ("matchExact", "end")])
        every = await sub08(p, [("match", "*")])
        old = await subscribe(p, [tpl, "end"])
        both = await sub08(p, [("topic", tpl), ("match", tpl), ("match", "end")])
        check(exact.resp.header("Mercure-Last-Event-ID") == "earliest" and
              not exact.resp.has("Last-Event-ID"),
              "draft-08 stream head: %r" % exact.resp.headers)
        check(old.resp.header("Mercure-Last-Event-ID") == "earliest" and
              old.resp.header("Last-Event-ID") == "earliest",
              "draft-07 stream head: %r" % old.resp.headers)
        check(both.resp.header("Last-Event-ID") == "earliest", "mixed: %r" % both.resp.headers)
        for t, d in (("https://example.com/books/1", "b1"), (tpl, "tpl"),
                     ("https://example.com/books/%7Bid%7D", "enc"), ("end", "end")):
            r = await publish(p, [("topic", t), ("data", d)])
            check(r.status == 200, "publish %s: %r" % (t, r))
        check(await until_marker(exact) == ["tpl"], "match= got %r" % datas(exact))
        check(await until_marker(exact2) == ["b1"], "matchExact= got %r" % datas(exact2))
        check(await until_marker(every) == ["b1", "tpl", "enc"], "match=* got %r" % datas(every))
        # {id} matches "%7Bid%7D" too: a value the expansion percent-encodes.
        check(await until_marker(old) == ["b1", "tpl", "enc"], "topic= got %r" % datas(old))
        check(await until_marker(both) == ["b1", "tpl", "enc"],
              "topic= and match= got %r" % datas(both))
        first = exact.events[0].id

        # Resuming: last_event_id beside lastEventID; the Last-Event-ID header first.
        s = await sub08(p, [("match", "*"), ("last_event_id", first)])
        check(await until_marker(s) == ["enc"], "last_event_id: %r" % datas(s))
        check(s.resp.header("Mercure-Last-Event-ID") == first,
              "Mercure-Last-Event-ID %r, asked %r" % (s.resp.headers, first))
        s = await sub08(p, [("match", "*"), ("last_event_id", "earliest")],
                        headers=[("Last-Event-ID", first)])
        check(await until_marker(s) == ["enc"], "header before last_event_id: %r" % datas(s))
        s = await sub08(p, [("topic", "*"), ("lastEventID", first)])
        check(await until_marker(s) == ["enc"], "lastEventID: %r" % datas(s))

        # The draft's 400s, each with a one-line reason.
        for pairs, why in (
                ([("Match", "a")], "unknown selector parameter"),
                ([("matchexact", "a")], "unknown selector parameter"),
                ([("match_exact", "a"), ("match", "b")], "unknown selector parameter"),
                ([("MATCHTYPE", "Exact"), ("match", "b")], "unknown selector parameter"),
                ([("last_event_id", "1")], "missing selector"),
                ([("matchURLPattern", "https://e.x/(a")], "URL pattern"),
                ([("match_urlpattern", "https://e.x/:a/:a")], "duplicate"),
                ([("matchURLPattern", "https://e.x/([^-])")], "URL pattern"),
                ([("match", "")], "empty topic"),
                ([("match", "a\u200bb")], "format character"),
                ([("match", "\ufeffa")], "format character"),
                ([("match", "a\x01")], "control character"),
                ([("match", "a\u0085")], "control character"),
                ([("topic", "a\x7f")], "control character"),
                ([("match", "a" * 4097)], "too long"),
                ([("match", "a"), ("last_event_id", "x\ny")], "Last-Event-ID")):
            r = (await sub08(p, pairs, expect=400)).resp
            check(r.status == 400 and why in r.text and r.text.count("\n") == 1,
                  "%r: %r" % (pairs, r))
        r = (await Stream.subscribe(p, path="/.well-known/mercure?match=a%FFb",
                                    expect_status=400)).resp
        check(r.status == 400 and "UTF-8" in r.text, "not UTF-8: %r" % r)
        r = (await Stream.subscribe(p, path="/.well-known/mercure", expect_status=400)).resp
        check(r.status == 400 and "missing selector" in r.text, "no selector: %r" % r)
        many = [("match", "t%d" % i) for i in range(101)]
        r = (await sub08(p, many, expect=400)).resp
        check(r.status == 400 and "too many topics" in r.text, "101 selectors: %r" % r)
        s = await sub08(p, many[:100])
        check(s.resp.status == 200, "100 selectors: %r" % s.resp)


ISS = "https://issuer.example"
ISS_KEY = "issuer-secret-0123456789abcdef0123"
RES = "http://127.0.0.1/.well-known/mercure"  # the Host the test client sends, no port
META = "http://127.0.0.1/.well-known/oauth-protected-resource/.well-known/mercure"


def both_versions_flags(d):
    """One set of flags for both protocol versions: draft-07 keys (HS256) and three
    Mercure 1.0 issuers (HS256 with its own secret, RS256 and ES256 with PEM files)."""
    rs_priv, rs_pub = jwt.rsa_keypair(d)
    es_priv, es_pub = jwt.ec_keypair(d)
    flags = ["--publisher-key", PUB, "--subscriber-key", SUB,
             "--jwt-issuer", ISS + " HS256:" + ISS_KEY,
             "--jwt-issuer", "https://rs.example RS256:" + rs_pub,
             "--jwt-issuer", "https://es.example ES256:" + es_pub,
             "--cors-origin", "https://app.example"]
    return flags, rs_priv, es_priv


def www(r):
    return r.header("WWW-Authenticate") or ""


@case
async def both_versions(exe):
    """A draft-07 publisher and a draft-08 subscriber, and the reverse, on one hub; access
    tokens signed HS256, RS256 and ES256; private updates both ways; presence of neither
    version's token weakening the other's checks."""
    with tempfile.TemporaryDirectory(prefix="ssehub-mercure-") as d:
        flags, rs_priv, es_priv = both_versions_flags(d)
        topic = "https://example.com/books/1"
        sub08_tok = jwt.at(jwt.at_claims(ISS, RES, [jwt.detail(["subscribe"], [topic, "end"],
                                                               payload={"u": 1})]),
                           "HS256", ISS_KEY)
        pub08_rs = jwt.at(jwt.at_claims("https://rs.example", [RES, "https://other"],
                                        [jwt.detail(["publish"], [topic, "end"])]),
                          "RS256", rs_priv)
        pub08_es = jwt.at(jwt.at_claims("https://es.example", RES,
                                        [jwt.detail(["publish", "subscribe"], ["*"])]),
                          "ES256", es_priv)
        pub07 = jwt.hs256({"mercure": {"publish": ["*"]}}, PUB)
        sub07 = jwt.hs256({"mercure": {"subscribe": ["https://example.com/books/{id}", "end"]}},
                          SUB)
        async with Hub(exe, flags) as hub:
            p = hub.port
            # Subscribers of both versions, each authorised for private updates; and an
            # anonymous one of each, which gets public updates only.
            s08 = await sub08(p, [("match", topic), ("match", "end")], bearer(sub08_tok))
            s08c = await sub08(p, [("match", topic), ("match", "end")],
                               [("Cookie", "__Secure-mercure_access_token=" + sub08_tok)])
            s07 = await subscribe(p, ["https://example.com/books/{id}", "end"], bearer(sub07))
            s07q = await subscribe(p, ["https://example.com/books/{id}", "end"],
                                   authorization=sub07)
            anon08 = await sub08(p, [("match", topic), ("match", "end")])
            anon07 = await subscribe(p, [topic, "end"])
            for tok, data, private in ((pub07, "07-public", False), (pub07, "07-private", True),
                                       (pub08_rs, "08rs-private", True),
                                       (pub08_es, "08es-public", False)):
                pairs = [("topic", topic), ("data", data)] + ([("private", "on")] if private else [])
                r = await publish(p, pairs, bearer(tok))
                check(r.status == 200 and r.header("Content-Type") == "text/plain; charset=utf-8",
                      "publish %s: %r" % (data, r))
            r = await publish(p, [("topic", "end"), ("data", "end")], bearer(pub08_rs))
            check(r.status == 200, "end marker: %r" % r)
            every = ["07-public", "07-private", "08rs-private", "08es-public"]
            for name, s in (("draft-08 header", s08), ("draft-08 cookie", s08c),
                            ("draft-07 header", s07), ("draft-07 query", s07q)):
                got = await until_marker(s)
                check(got == every, "%s subscriber got %r" % (name, got))
            for name, s in (("anonymous draft-08", anon08), ("anonymous draft-07", anon07)):
                got = await until_marker(s)
                check(got == ["07-public", "08es-public"], "%s got %r" % (name, got))

            # RFC 6750 errors, with the RFC 9728 metadata URL.
            r = await publish(p, [("topic", topic), ("data", "x")])
            check(r.status == 401 and www(r).startswith("Bearer ") and
                  'resource_metadata="%s"' % META in www(r) and "error=" not in www(r),
                  "no token: %r" % r)
            bad = jwt.at(jwt.at_claims(ISS, RES, [jwt.detail(["publish"], ["*"])]), "HS256",
                         "wrong-key")
            r = await publish(p, [("topic", topic), ("data", "x")], bearer(bad))
            check(r.status == 401 and 'error="invalid_token"' in www(r) and
                  "signature" in r.text, "bad signature: %r" % r)
            for claims, why in (
                    (jwt.at_claims(ISS, "http://elsewhere/.well-known/mercure",
                                   [jwt.detail(["publish"], ["*"])]), "aud"),
                    (jwt.at_claims("https://unknown", RES, [jwt.detail(["publish"], ["*"])]),
                     "issuer"),
                    (jwt.at_claims(ISS, RES, [jwt.detail(["publish"], ["*"])], lifetime=-10),
                     "expired"),
                    ({"iss": ISS, "aud": RES,
                      "authorization_details": [jwt.detail(["publish"], ["*"])]}, "exp"),
                    (jwt.at_claims(ISS, RES, [jwt.detail(["publish"], ["*"])],
                                   nbf=int(time.time()) + 600), "nbf"),
                    (jwt.at_claims(ISS, RES, [{"type": jwt.MERCURE_DETAIL, "actions": ["publish"],
                                               "topics": [{"match": "*", "matchType": "Bad"}]}]),
                     "malformed"),
                    (jwt.at_claims(ISS, RES, [jwt.detail(["publish"], ["https://e.x/(a"],
                                                         match_type="URLPattern")]),
                     "cannot compile")):
                r = await publish(p, [("topic", topic), ("data", "x")],
                                  bearer(jwt.at(claims, "HS256", ISS_KEY)))
                check(r.status == 401 and 'error="invalid_token"' in www(r) and why in r.text,
                      "%s: %r" % (why, r))
            # An RS256 token where the issuer pins ES256.
            wrong_alg = jwt.at(jwt.at_claims("https://es.example", RES,
                                             [jwt.detail(["publish"], ["*"])]), "RS256", rs_priv)
            r = await publish(p, [("topic", topic), ("data", "x")], bearer(wrong_alg))
            check(r.status == 401 and "algorithm" in r.text, "pinned algorithm: %r" % r)
            r = await publish(p, [("topic", topic), ("data", "x")],
                              [("Authorization", "Basic eDp5")])
            check(r.status == 400 and 'error="invalid_request"' in www(r), "Basic: %r" % r)
            # A URL Pattern grant: only the topics its pattern matches.
            pat_tok = jwt.at(jwt.at_claims(ISS, RES, [jwt.detail(
                ["publish"], ["https://example.com/books/:id"], match_type="URLPattern")]),
                "HS256", ISS_KEY)
            r = await publish(p, [("topic", "https://example.com/books/9"), ("data", "x")],
                              bearer(pat_tok))
            check(r.status == 200, "URL Pattern grant: %r" % r)
            r = await publish(p, [("topic", "https://example.com/authors/9"), ("data", "x")],
                              bearer(pat_tok))
            check(r.status == 403 and 'error="insufficient_scope"' in www(r),
                  "outside the URL Pattern grant: %r" % r)
            r = await publish(p, [("topic", "https://example.com/books/2"), ("data", "x")],
                              bearer(pub08_rs))
            check(r.status == 403 and 'error="insufficient_scope"' in www(r),
                  "topic outside the grants: %r" % r)
            r = await publish(p, [("topic", topic), ("data", "x")], bearer(sub08_tok))
            check(r.status == 403 and 'error="insufficient_scope"' in www(r),
                  "no publish action: %r" % r)
            # Access tokens never in the query; draft-07 tokens still are (above).
            r = (await sub08(p, [("match", topic), ("authorization", sub08_tok)],
                             expect=400)).resp
            check(r.status == 400 and 'error="invalid_request"' in www(r) and "query" in r.text,
                  "access token in the query: %r" % r)
            # A draft-07 token with an at+jwt-looking claim set is still a draft-07 token.
            r = await publish(p, [("topic", topic), ("data", "x")],
                              bearer(jwt.hs256({"iss": ISS, "mercure": {"publish": ["*"]}}, PUB)))
            check(r.status == 200, "draft-07 token with iss: %r" % r)
            r = await publish(p, [("topic", topic), ("data", "x")],
                              bearer(jwt.hs256({"mercure": {"publish": ["*"]}}, ISS_KEY)))
            check(r.status == 401, "draft-07 token signed with an issuer's key: %r" % r)

            # RFC 9728 metadata.
            r = await request(p, "GET", "/.well-known/oauth-protected-resource/.well-known/mercure")
            check(r.status == 200 and r.header("Content-Type") == "application/json",
                  "metadata: %r" % r)
            meta = json.loads(r.body)
            check(meta["resource"] == RES and
                  meta["authorization_servers"] == [ISS, "https://rs.example",
                                                    "https://es.example"],
                  "metadata document: %r" % meta)


@case
async def publish_08_rules(exe):
    """The stricter draft-08 checks apply to publishes authorised by an access token only;
    --resource sets the audience."""
    res = "https://hub.example/.well-known/mercure"
    async with Hub(exe, ["--publisher-key", PUB, "--jwt-issuer", ISS + " HS256:" + ISS_KEY,
                         "--resource", res]) as hub:
        p = hub.port
        tok08 = jwt.at(jwt.at_claims(ISS, res, [jwt.detail(["publish"], ["*"])]), "HS256",
                       ISS_KEY)
        tok07 = jwt.hs256({"mercure": {"publish": ["*"]}}, PUB)
        r = await publish(p, [("topic", "a"), ("data", "x")],
                          bearer(jwt.at(jwt.at_claims(ISS, RES, [jwt.detail(["publish"], ["*"])]),
                                        "HS256", ISS_KEY)))
        check(r.status == 401 and "aud" in r.text, "the request's URL is not the resource: %r" % r)
        for pairs, why in (
                ([("topic", "*")], "*"),
                ([("topic", "mercure/x")], "/.well-known/mercure"),
                ([("topic", "/a/../.well-known/mercure/x")], "/.well-known/mercure"),
                ([("topic", "?x")], "/.well-known/mercure"),
                ([("topic", "a"), ("id", "#1")], "'#'"),
                ([("topic", "a"), ("type", "mercure")], "mercure"),
                ([("topic", "a"), ("id", "earliest")], "earliest"),
                ([("topic", "a\x01")], "control"),
                ([("topic", "a"), ("type", "t\x7f")], "control")):
            r = await publish(p, pairs + [("data", "x")], bearer(tok08))
            check(r.status == 400 and why in r.text and
                  r.header("Content-Type") == "text/plain; charset=utf-8",
                  "draft-08 %r: %r" % (pairs, r))
        # Not UTF-8 data: 400 in both versions.
        for tok in (tok08, tok07):
            c = await Conn.open(p)
            try:
                c.send(b"POST /.well-known/mercure HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       b"Authorization: Bearer " + tok.encode() + b"\r\n"
                       b"Content-Type: application/x-www-form-urlencoded\r\n"
                       b"Content-Length: 16\r\n\r\ntopic=a&data=%FF")
                await c.drain()
                r = await c.read_response(10)
            finally:
                c.close()
            check(r.status == 400 and "UTF-8" in r.text, "non-UTF-8 data: %r" % r)
        # The same publishes with a draft-07 token: draft-07's rules (an opaque topic).
        for pairs in ([("topic", "mercure/x")], [("topic", "a"), ("id", "#1")],
                      [("topic", "a"), ("type", "mercure")]):
            r = await publish(p, pairs + [("data", "x")], bearer(tok07))
            check(r.status == 200, "draft-07 %r: %r" % (pairs, r))
        r = await publish(p, [("topic", "/.well-known/mercure/x"), ("data", "x")], bearer(tok07))
        check(r.status == 403, "draft-07 reserved namespace: %r" % r)
        r = await publish(p, [("topic", "a"), ("id", "#2"), ("data", "ok")], bearer(tok07))
        check(r.status == 200, "draft-07 id #2: %r" % r)


@case
async def url_patterns(exe):
    """matchURLPattern= and match_urlpattern= (WHATWG URL Pattern): absolute and relative
    patterns (resolved against the hub's URL, http://127.0.0.1/.well-known/mercure for the
    Host the test sends, and so are relative topics), hosts compared case-insensitively,
    topics that are not URLs never matching, replay, and a hostile regular expression cut
    off by the cost limit (it matches nothing and the hub stays responsive)."""
    async with Hub(exe, ["--subscriptions"]) as hub:
        p = hub.port
        a = await sub08(p, [("matchURLPattern", "https://example.com/books/:id"),
                            ("match", "end")])
        b = await sub08(p, [("match_urlpattern", "/books/:id(\\d+)"), ("match", "end")])
        c = await sub08(p, [("matchURLPattern", "https://{*.}?example.com/*"),
                            ("match", "end")])
        hostile = await sub08(p, [("matchURLPattern", "https://h.example/((?:a|a)+b)"),
                                  ("match", "end")])
        for t, d in (("https://example.com/books/1", "abs"), ("https://EXAMPLE.com:443/books/2", "case"),
                     ("https://example.com/books/1/2", "deep"), ("http://127.0.0.1/books/7", "rel-abs"),
                     ("/books/8", "rel"), ("/books/x", "rel-nondigit"), ("books/9", "rel-relpath"),
                     ("https://a.b.example.com/x", "sub"), ("not a url {x}", "opaque"),
                     ("https://h.example/" + "a" * 40, "hostile"), ("end", "end")):
            r = await publish(p, [("topic", t), ("data", d)])
            check(r.status == 200, "publish %s: %r" % (t, r))
        check(await until_marker(a) == ["abs", "case"], "absolute pattern got %r" % datas(a))
        check(await until_marker(b) == ["rel-abs", "rel"], "relative pattern got %r" % datas(b))
        check(await until_marker(c) == ["abs", "case", "deep", "sub"],
              "host wildcard got %r" % datas(c))
        check(await until_marker(hostile) == [], "hostile pattern got %r" % datas(hostile))
        # Replay goes through the same patterns.
        s = await sub08(p, [("matchURLPattern", "https://example.com/books/:id"),
                            ("last_event_id", "earliest")])
        ok = await s.read_until(lambda st: len(st.events) >= 2, 5)
        check(ok and datas(s) == ["abs", "case"], "replay: %r" % datas(s))
        # Presence: draft-08 shape with matchType URLPattern.
        r = await request(p, "GET", "/.well-known/mercure/subscriptions")
        doc = json.loads(r.body)
        kinds = {(x.get("match"), x.get("matchType")) for x in doc["subscriptions"]}
        check(("https://example.com/books/:id", "URLPattern") in kinds, "API: %r" % kinds)
        r = await request(p, "GET", "/healthz")
        check(r.status == 200, "the hub still answers: %r" % r)


@case
async def publish_auth(exe):
    pub_all = jwt.hs256({"mercure": {"publish": ["*"]}}, PUB)
    pub_books = jwt.hs256({"mercure": {"publish": ["https://example.com/books/{id}"]}}, PUB)
    async with Hub(exe, ["--publisher-key", PUB]) as hub:
        p = hub.port
        r = await publish(p, [("topic", "a"), ("data", "x")])
        check(r.status == 401, "no token: %r" % r)
        r = await publish(p, [("topic", "a"), ("data", "x")], bearer("not.a.token"))
        check(r.status == 401, "garbage token: %r" % r)
        r = await publish(p, [("topic", "a"), ("data", "x")], [("Authorization", "Basic eDp5")])
        check(r.status == 401, "Basic: %r" % r)
        r = await publish(p, [("topic", "a")], bearer(jwt.hs256({"mercure": {"publish": ["*"]}},
                                                                "wrong-secret")))
        check(r.status == 401, "bad signature: %r" % r)
        r = await publish(p, [("topic", "a")], bearer(jwt.unsigned({"mercure": {"publish": ["*"]}})))
        check(r.status == 401, "alg none: %r" % r)
        r = await publish(p, [("topic", "a")],
                          bearer(jwt.hs256({"exp": int(time.time()) - 10,
                                            "mercure": {"publish": ["*"]}}, PUB)))
        check(r.status == 401 and "expired" in r.text, "expired: %r" % r)
        r = await publish(p, [("topic", "a")], bearer(jwt.hs256({"sub": "x"}, PUB)))
        check(r.status == 403, "no mercure.publish: %r" % r)
        r = await publish(p, [("topic", "https://example.com/authors/1")], bearer(pub_books))
        check(r.status == 403, "topic outside mercure.publish: %r" % r)
        r = await publish(p, [("topic", "https://example.com/books/1"),
                              ("topic", "https://example.com/authors/1")], bearer(pub_books))
        check(r.status == 403, "one topic of two outside mercure.publish: %r" % r)
        r = await publish(p, [("topic", "https://example.com/books/1"), ("data", "ok")],
                          bearer(pub_books))
        check(r.status == 200 and r.text, "allowed publish: %r" % r)
        for field, value in (("id", "a\x01b"), ("type", "t\x7f"), ("topic", "x\x1b")):
            pairs = [("topic", "https://example.com/books/1"), ("data", "x")]
            pairs = [kv for kv in pairs if kv[0] != field] + [(field, value)]
            r = await publish(p, pairs, bearer(pub_all))
            check(r.status == 400 and "control character" in r.text,
                  "%s with a control character: %r" % (field, r))
        r = await publish(p, [("topic", "/.well-known/mercure/subscriptions/x/y")],
                          bearer(pub_all))
        check(r.status == 403 and "reserved" in r.text, "reserved namespace: %r" % r)
        r = await publish(p, [("topic", "https://h.example/.well-known/mercure")],
                          bearer(pub_all))
        check(r.status == 403, "reserved namespace, absolute: %r" % r)
        # A cookie token needs an Origin listed with --cors-origin (the default is *).
        r = await publish(p, [("topic", "a")], [("Cookie", "mercureAuthorization=" + pub_all),
                                                ("Origin", "https://evil.example")])
        check(r.status == 403 and "Origin" in r.text, "cookie publish, bad origin: %r" % r)
        check(r.header("Link") == '</.well-known/mercure>; rel="mercure"',
              "discovery Link header: %r" % r.header("Link"))
    async with Hub(exe, ["--publisher-key", PUB, "--cors-origin", "https://app.example"]) as hub:
        r = await publish(hub.port, [("topic", "a")],
                          [("Cookie", "mercureAuthorization=" + pub_all),
                           ("Origin", "https://app.example")])
        check(r.status == 200, "cookie publish from a listed origin: %r" % r)
        await hub.wait_stderr("publishers need a HS256 JWT")


@case
async def bad_key_file(exe):
    import subprocess
    r = subprocess.run([exe, "--listen", "127.0.0.1:0", "--store", "memory", "--jwt-alg", "RS256",
                        "--publisher-key", "/nonexistent/key.pem"], capture_output=True,
                       timeout=patient(10))
    err = r.stderr.decode()
    check(r.returncode == 2 and "--publisher-key" in err and "cannot open" in err,
          "a missing PEM file: exit %d, %r" % (r.returncode, err))


@case
async def loopback_default(exe):
    async with Hub(exe, []) as hub:
        await hub.wait_stderr("publishing is accepted from loopback clients only")
        r = await publish(hub.port, [("topic", "a"), ("data", "x")])
        check(r.status == 200, "loopback publish without a key: %r" % r)


@case
async def private_updates(exe):
    pub = jwt.hs256({"mercure": {"publish": ["*"]}}, PUB)
    sub_books = jwt.hs256({"mercure": {"subscribe": ["https://example.com/books/{id}"]}}, SUB)
    sub_other = jwt.hs256({"mercure": {"subscribe": ["https://example.com/authors/{id}"]}}, SUB)
    async with Hub(exe, ["--publisher-key", PUB, "--subscriber-key", SUB]) as hub:
        p = hub.port
        topic = "https://example.com/books/{id}"
        anon = await subscribe(p, [topic])
        auth = await subscribe(p, [topic], bearer(sub_books))
        other = await subscribe(p, [topic], bearer(sub_other))
        byq = await subscribe(p, [topic], authorization=sub_books)
        byc = await subscribe(p, [topic], [("Cookie", "a=b; mercureAuthorization=" + sub_books)])
        r = await publish(p, [("topic", "https://example.com/books/1"), ("data", "public")],
                          bearer(pub))
        check(r.status == 200, "public: %r" % r)
        r = await publish(p, [("topic", "https://example.com/books/2"), ("data", "secret"),
                              ("private", "on")], bearer(pub))
        check(r.status == 200, "private: %r" % r)
        first = r.text
        r = await publish(p, [("topic", "https://example.com/books/3"), ("data", "end")],
                          bearer(pub))
        for s, name, want in ((anon, "anonymous", ["public", "end"]),
                              (auth, "header token", ["public", "secret", "end"]),
                              (other, "other claim", ["public", "end"]),
                              (byq, "query token", ["public", "secret", "end"]),
                              (byc, "cookie token", ["public", "secret", "end"])):
            check(await s.wait_events(len(want), 5), "%s: got %r" % (name, datas(s)))
            await s.read_for(0.2)
            check(datas(s) == want, "%s: got %r, want %r" % (name, datas(s), want))
        # Replay: the private update is replayed only to the authorised subscriber.
        s = await subscribe(p, [topic], lastEventID="earliest")
        await s.wait_events(2, 5)
        await s.read_for(0.3)
        check(datas(s) == ["public", "end"], "anonymous replay: %r" % datas(s))
        s = await subscribe(p, [topic], bearer(sub_books), lastEventID="earliest")
        await s.wait_events(3, 5)
        check(datas(s) == ["public", "secret", "end"], "authorised replay: %r" % datas(s))
        check(first in [e.id for e in s.events], "replayed private id")
        # Bad subscriber tokens: 401.
        s = await subscribe(p, [topic], bearer("x.y.z"), expect=401)
        check(s.resp.status == 401, "bad subscriber token: %r" % s.resp)
        s = await subscribe(p, [topic], bearer(jwt.hs256({"mercure": {}}, PUB)), expect=401)
        check(s.resp.status == 401, "publisher's key on a subscriber token: %r" % s.resp)


@case
async def anonymous_no_and_expiry(exe):
    async with Hub(exe, ["--subscriber-key", SUB, "--anonymous", "no"]) as hub:
        s = await subscribe(hub.port, ["a"], expect=401)
        check(s.resp.status == 401, "anonymous refused: %r" % s.resp)
        # exp is whole seconds: at least 4 s left to subscribe on a busy machine.
        exp = int(time.time()) + 5
        tok = jwt.hs256({"exp": exp, "mercure": {"subscribe": []}}, SUB)
        s = await subscribe(hub.port, ["a"], bearer(tok))
        await s.read_to_eof(10)
        check(s.eof, "the stream did not end when its token expired")
        check(time.time() >= exp - 0.1, "the stream ended %.2f s before its token expired"
              % (exp - time.time()))
    # The same with a Mercure 1.0 access token (--anonymous no: one is required; a draft-07
    # key is not needed for it).
    async with Hub(exe, ["--jwt-issuer", ISS + " HS256:" + ISS_KEY, "--anonymous", "no"]) as hub:
        r = (await sub08(hub.port, [("match", "a")], expect=401)).resp
        check(r.status == 401 and (r.header("WWW-Authenticate") or "").startswith("Bearer "),
              "anonymous refused, draft-08: %r" % r)
        exp = int(time.time()) + 5
        tok = jwt.at({"iss": ISS, "aud": RES, "exp": exp}, "HS256", ISS_KEY)
        s = await sub08(hub.port, [("match", "a")], bearer(tok))
        await s.read_to_eof(10)
        check(s.eof, "the draft-08 stream did not end when its token expired")
        check(time.time() >= exp - 0.1, "the draft-08 stream ended %.2f s before its token "
              "expired" % (exp - time.time()))
        r = (await subscribe(hub.port, ["a"], bearer(jwt.hs256({"mercure": {}}, SUB)),
                             expect=401)).resp
        check(r.status == 401 and "draft-07 tokens need" in r.text,
              "a draft-07 token without a draft-07 key: %r" % r)


@case
async def rs256_es256(exe):
    with tempfile.TemporaryDirectory(prefix="ssehub-mercure-") as d:
        priv, pubkey = jwt.rsa_keypair(d)
        good = jwt.rs256({"mercure": {"publish": ["*"]}}, priv)
        # HS256 signed with the public key's PEM as the secret: the confusion attack.
        with open(pubkey) as f:
            confused = jwt.hs256({"mercure": {"publish": ["*"]}}, f.read())
        async with Hub(exe, ["--jwt-alg", "RS256", "--publisher-key", pubkey]) as hub:
            r = await publish(hub.port, [("topic", "a"), ("data", "x")], bearer(good))
            check(r.status == 200, "RS256 publish: %r" % r)
            r = await publish(hub.port, [("topic", "a"), ("data", "x")], bearer(confused))
            check(r.status == 401, "HS/RS confusion: %r" % r)
            r = await publish(hub.port, [("topic", "a"), ("data", "x")],
                              bearer(jwt.unsigned({"mercure": {"publish": ["*"]}})))
            check(r.status == 401, "alg none against RS256: %r" % r)
        ec_priv, ec_pub = jwt.ec_keypair(d)
        async with Hub(exe, ["--jwt-alg", "ES256", "--publisher-key", ec_pub,
                             "--subscriber-key", ec_pub]) as hub:
            r = await publish(hub.port, [("topic", "a"), ("data", "x")],
                              bearer(jwt.es256({"mercure": {"publish": ["a"]}}, ec_priv)))
            check(r.status == 200, "ES256 publish: %r" % r)
            r = await publish(hub.port, [("topic", "a"), ("data", "x")], bearer(good))
            check(r.status == 401, "an RS256 token against ES256: %r" % r)
            s = await subscribe(hub.port, ["a"], bearer(jwt.es256({"mercure": {"subscribe": ["a"]}},
                                                                   ec_priv)))
            check(s.resp.status == 200, "ES256 subscriber: %r" % s.resp)


@case
async def uri_templates(exe):
    async with Hub(exe, []) as hub:
        p = hub.port
        subs = [await subscribe(p, ["https://example.com/books/{id}"]) for _ in range(3)]
        q2 = await subscribe(p, ["/search{?q}"])
        for t, d in (("https://example.com/books/1", "b1"), ("https://example.com/authors/1", "a1"),
                     ("https://example.com/books/1/reviews", "r1"), ("/search?q=x", "s1"),
                     ("/search?z=x", "s2"), ("https://example.com/books/%C3%A9", "b2")):
            r = await publish(p, [("topic", t), ("data", d)])
            check(r.status == 200, "publish %s: %r" % (t, r))
        for s in subs:
            await s.wait_events(2, 5)
            await s.read_for(0.2)
            check(datas(s) == ["b1", "b2"], "template subscriber got %r" % datas(s))
        await q2.wait_events(1, 5)
        check(datas(q2) == ["s1"], "{?q} subscriber got %r" % datas(q2))
        s = await subscribe(p, ["https://example.com/books/{id}"], lastEventID="earliest")
        await s.wait_events(2, 5)
        check(datas(s) == ["b1", "b2"], "template replay: %r" % datas(s))


@case
async def presence(exe):
    import json
    watch_tok = jwt.hs256({"mercure": {"subscribe": [
        "/.well-known/mercure/subscriptions{/topic}{/subscriber}"]}}, SUB)
    b_tok = jwt.hs256({"mercure": {"subscribe": [], "payload": {"user": "bob"}}}, SUB)
    async with Hub(exe, ["--subscriber-key", SUB, "--subscriptions"]) as hub:
        p = hub.port
        watcher = await subscribe(p, ["/.well-known/mercure/subscriptions{/topic}{/subscriber}"],
                                  bearer(watch_tok))
        anon = await subscribe(p, ["/.well-known/mercure/subscriptions{/topic}{/subscriber}"])
        await watcher.wait_events(2, 5)  # its own subscription and anon's

        def presence_of(topic, active):
            return [json.loads(e.data) for e in watcher.events
                    if json.loads(e.data)["topic"] == topic
                    and json.loads(e.data)["active"] is active]

        books = "https://example.com/books/{id}"
        b = await subscribe(p, [books], bearer(b_tok))
        await watcher.read_until(lambda _s: presence_of(books, True), 5)
        check(len(presence_of(books, True)) == 1, "presence of B: %r" % datas(watcher))
        ev = presence_of(books, True)[0]
        check(ev["type"] == "Subscription" and ev["active"] is True
              and ev["topic"] == "https://example.com/books/{id}"
              and ev["subscriber"].startswith("urn:uuid:")
              and ev["payload"] == {"user": "bob"} and ev["@context"] == "https://mercure.rocks/",
              "presence event: %r" % ev)
        check(ev["id"] == "/.well-known/mercure/subscriptions/%s/%s" % (
            urllib.parse.quote(ev["topic"], safe=""), urllib.parse.quote(ev["subscriber"], safe="")),
            "presence id: %r" % ev["id"])
        # The API: 401 without a token, 403 without the right, the list with it.
        r = await Conn.open(p)
        resp = await r.request("GET", "/.well-known/mercure/subscriptions")
        r.close()
        check(resp.status == 401, "API without a token: %r" % resp)
        r = await Conn.open(p)
        resp = await r.request("GET", "/.well-known/mercure/subscriptions", bearer(b_tok))
        r.close()
        check(resp.status == 403, "API without mercure.subscribe: %r" % resp)
        r = await Conn.open(p)
        resp = await r.request("GET", "/.well-known/mercure/subscriptions", bearer(watch_tok))
        r.close()
        check(resp.status == 200, "API: %r" % resp)
        doc = json.loads(resp.body)
        check(doc["type"] == "Subscriptions" and "lastEventID" in doc, "API doc: %r" % doc)
        subs = [x for x in doc["subscriptions"] if x["subscriber"] == ev["subscriber"]]
        check(len(subs) == 1 and subs[0]["payload"] == {"user": "bob"}, "API lists B: %r" % doc)
        r = await Conn.open(p)
        resp = await r.request("GET", ev["id"], bearer(watch_tok))
        r.close()
        check(resp.status == 200 and json.loads(resp.body)["subscriber"] == ev["subscriber"],
              "API one subscription: %r" % resp)
        b.close()
        await watcher.read_until(lambda _s: presence_of(books, False), 5)
        check(presence_of(books, False), "no presence event for B leaving: %r" % datas(watcher))
        gone = presence_of(books, False)[0]
        check(gone["active"] is False and gone["subscriber"] == ev["subscriber"],
              "leave event: %r" % gone)
        await anon.read_for(0.3)
        check(not anon.events, "an anonymous subscriber received presence: %r" % datas(anon))


@case
async def presence_both_versions(exe):
    """Subscription events in the shape of how each subscription was made: draft-07's
    JSON-LD for topic=, draft-08's (event: mercure, plain JSON, match/matchType, the topic
    .../subscriptions/Exact/{match}/{subscriber}) for match=; both seen by watchers of both
    versions; the API answers for both."""
    q = urllib.parse.quote
    book = "https://example.com/books/1"
    watch07 = jwt.hs256({"mercure": {"subscribe": ["*"]}}, SUB)
    watch08 = jwt.at(jwt.at_claims(ISS, RES, [jwt.detail(["subscribe"], ["*"])]), "HS256",
                     ISS_KEY)
    b_tok = jwt.at(jwt.at_claims(ISS, RES, [jwt.detail(["subscribe"], [book],
                                                       payload={"user": "bob"})]),
                   "HS256", ISS_KEY)
    async with Hub(exe, ["--subscriber-key", SUB, "--jwt-issuer", ISS + " HS256:" + ISS_KEY,
                         "--subscriptions"]) as hub:
        p = hub.port
        w07 = await subscribe(p, ["*"], bearer(watch07))
        w08 = await sub08(p, [("match", "*")], bearer(watch08))
        a = await subscribe(p, [book])
        b = await sub08(p, [("match", book)], bearer(b_tok))

        def of(stream, match_key, active):
            out = []
            for e in stream.events:
                d = json.loads(e.data)
                if d.get(match_key) == book and d["active"] is active:
                    out.append((e, d))
            return out

        for w in (w07, w08):
            ok = await w.read_until(lambda s: of(s, "topic", True) and of(s, "match", True), 5)
            check(ok, "presence of A and B: %r" % datas(w))
            (ea, da), = of(w, "topic", True)
            (eb, db), = of(w, "match", True)
            check(ea.type == "message" and da["@context"] == "https://mercure.rocks/" and
                  da["id"] == "/.well-known/mercure/subscriptions/%s/%s" % (
                      q(book, safe=""), q(da["subscriber"], safe="")),
                  "draft-07 subscription event: %r %r" % (ea, da))
            check(eb.type == "mercure" and "@context" not in db and "topic" not in db and
                  db["matchType"] == "Exact" and db["payload"] == {"user": "bob"} and
                  db["id"] == "/.well-known/mercure/subscriptions/Exact/%s/%s" % (
                      q(book, safe=""), q(db["subscriber"], safe="")),
                  "draft-08 subscription event: %r %r" % (eb, db))
        resp = await request(p, "GET", db["id"], bearer(watch07))
        check(resp.status == 200 and json.loads(resp.body)["subscriber"] == db["subscriber"] and
              json.loads(resp.body)["matchType"] == "Exact", "API, draft-08 record: %r" % resp)
        b.close()
        ok = await w08.read_until(lambda s: of(s, "match", False), 5)
        check(ok and of(w08, "match", False)[0][0].type == "mercure",
              "draft-08 leave: %r" % datas(w08))
        a.close()
        ok = await w08.read_until(lambda s: of(s, "topic", False), 5)
        check(ok, "draft-07 leave: %r" % datas(w08))


@case
async def subscriptions_api_08(exe):
    """The subscriptions API in draft-08's shape for draft-08 requests (the paths
    .../subscriptions/{matchType}/{match}[/{subscriber}], and the collection asked with an
    access token): a quoted ETag (the lastEventID, percent-encoding what may not be in an
    entity tag), Cache-Control private, no-cache (Link rel="mercure", as on every answer); the
    per-matcher collection lists only subscriptions of that match type, its segments decoded
    as path segments ('+' is '+'); a single record is a JSON-LD document with its @context.
    Draft-07 requests (a draft-07 token, no token, .../subscriptions/{topic}[/{subscriber}])
    get draft-07's answers, as before."""
    q = urllib.parse.quote
    book, pat = "https://example.com/books/1", "https://example.com/books/:id(\\d+)"
    watch07 = jwt.hs256({"mercure": {"subscribe": ["*"]}}, SUB)
    watch08 = jwt.at(jwt.at_claims(ISS, RES, [jwt.detail(["subscribe"], ["*"])]), "HS256",
                     ISS_KEY)
    b_tok = jwt.at(jwt.at_claims(ISS, RES, [jwt.detail(["subscribe"], [book],
                                                       payload={"user": "bob"})]),
                   "HS256", ISS_KEY)
    base = "/.well-known/mercure/subscriptions"
    HUB_LINK = '</.well-known/mercure>; rel="mercure"'  # noqa: N806 (every answer has it)

    def is07(resp, what):
        check(resp.status == 200 and resp.header("Content-Type") == "application/ld+json" and
              resp.header("Cache-Control") == "no-store" and not resp.has("ETag") and
              resp.header("Link") == HUB_LINK,
              "%s: draft-07 headers: %r %r" % (what, resp, resp.headers))

    def is08(resp, what):
        doc = json.loads(resp.body) if resp.status == 200 else {}
        check(resp.status == 200 and resp.header("Content-Type") == "application/ld+json" and
              resp.header("ETag") == '"%s"' % doc["lastEventID"] and
              resp.header("Link") == HUB_LINK and
              resp.header("Cache-Control") == "private, no-cache",
              "%s: draft-08 headers: %r %r" % (what, resp, resp.headers))
        return doc

    pub = jwt.hs256({"mercure": {"publish": ["*"]}}, PUB)
    async with Hub(exe, ["--subscriber-key", SUB, "--publisher-key", PUB, "--jwt-issuer",
                         ISS + " HS256:" + ISS_KEY, "--subscriptions"]) as hub:
        p = hub.port
        a = await subscribe(p, [book])
        b = await sub08(p, [("match", book)], bearer(b_tok))
        u = await sub08(p, [("matchURLPattern", pat)])
        deadline = time.monotonic() + patient(10)
        while True:  # the API lists a stream once it has started: wait for all three
            r = await request(p, "GET", base, bearer(watch07))
            doc = json.loads(r.body)
            if len(doc["subscriptions"]) == 3 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        check(len(doc["subscriptions"]) == 3, "three subscriptions: %r" % doc)
        by = {(x.get("topic"), x.get("match"), x.get("matchType")): x
              for x in doc["subscriptions"]}
        sa, sb = by[(book, None, None)]["subscriber"], by[(None, book, "Exact")]["subscriber"]

        # The collection: draft-07 for a draft-07 token (exactly as before: compact JSON,
        # draft-07's keys in draft-07's order, no ETag), draft-08 for an access token.
        is07(r, "collection, draft-07 token")
        check(r.body == json.dumps(doc, separators=(",", ":")).encode() and
              list(doc) == ["@context", "id", "type", "lastEventID", "subscriptions"] and
              list(by[(book, None, None)]) == ["@context", "id", "type", "topic",
                                               "subscriber", "active"],
              "draft-07 collection: %r" % r.body)
        r8 = await request(p, "GET", base, bearer(watch08))
        d8 = is08(r8, "collection, access token")
        check(d8["@context"] == "https://mercure.rocks/" and d8["id"] == base and
              d8["type"] == "Subscriptions" and d8["subscriptions"] == doc["subscriptions"],
              "draft-08 collection: %r" % d8)
        check("@context" not in by[(None, book, "Exact")] and
              by[(None, book, "Exact")]["payload"] == {"user": "bob"} and
              by[(None, pat, "URLPattern")]["id"] == "%s/URLPattern/%s/%s" % (
                  base, q(pat, safe=""),
                  q(by[(None, pat, "URLPattern")]["subscriber"], safe="")),
              "draft-08 records: %r" % doc["subscriptions"])

        # Per matcher: draft-08's lists that match type only; draft-07's /{topic} lists every
        # subscription whose topic or match is that string, as before.
        r = await request(p, "GET", "%s/Exact/%s" % (base, q(book, safe="")), bearer(watch07))
        d = is08(r, "Exact collection")
        check(d["id"] == "%s/Exact/%s" % (base, q(book, safe="")) and
              [x["subscriber"] for x in d["subscriptions"]] == [sb], "Exact collection: %r" % d)
        r = await request(p, "GET", "%s/URLPattern/%s" % (base, q(book, safe="")),
                          bearer(watch08))
        check(is08(r, "URLPattern collection")["subscriptions"] == [], "URLPattern: %r" % r)
        r = await request(p, "GET", "%s/URLPattern/%s" % (base, q(pat, safe="")),
                          bearer(watch08))
        d = is08(r, "URLPattern collection")
        check([x["match"] for x in d["subscriptions"]] == [pat], "URLPattern collection: %r" % d)
        # A draft-08 path segment is a path segment: its '+' is a '+' (not a space).
        r = await request(p, "GET", "%s/URLPattern/%s" % (base, q(pat, safe=":()+")),
                          bearer(watch08))
        d = is08(r, "URLPattern collection, + unescaped")
        check([x["match"] for x in d["subscriptions"]] == [pat], "'+' unescaped: %r" % d)
        r = await request(p, "GET", "%s/%s" % (base, q(book, safe="")), bearer(watch08))
        is07(r, "draft-07 topic collection")
        check(sorted(x["subscriber"] for x in json.loads(r.body)["subscriptions"]) ==
              sorted([sa, sb]), "draft-07 topic collection: %r" % r)

        # One record: draft-08's is its own JSON-LD document; draft-07's as before.
        r = await request(p, "GET", "%s/Exact/%s/%s" % (base, q(book, safe=""), q(sb, safe="")),
                          bearer(watch08))
        d = is08(r, "draft-08 record")
        check(list(d)[0] == "@context" and d["matchType"] == "Exact" and d["match"] == book and
              d["subscriber"] == sb and d["active"] is True and d["payload"] == {"user": "bob"},
              "draft-08 record: %r" % d)
        r = await request(p, "GET",
                          "%s/URLPattern/%s/%s" % (base, q(book, safe=""), q(sb, safe="")),
                          bearer(watch08))
        check(r.status == 404, "an Exact record under URLPattern: %r" % r)
        r = await request(p, "GET", "%s/%s/%s" % (base, q(book, safe=""), q(sa, safe="")),
                          bearer(watch08))
        is07(r, "draft-07 record")
        d = json.loads(r.body)
        check(list(d) == ["@context", "id", "type", "topic", "subscriber", "active",
                          "lastEventID"] and d["subscriber"] == sa, "draft-07 record: %r" % d)

        # The ETag follows the newest event, and an id's quote and percent sign are escaped.
        r = await publish(p, [("topic", "t"), ("id", 'x"y%z'), ("data", "d")], bearer(pub))
        check(r.status == 200, "publish: %r" % r)
        r = await request(p, "GET", base, bearer(watch08))
        check(r.status == 200 and json.loads(r.body)["lastEventID"] == 'x"y%z' and
              r.header("ETag") == '"x%22y%25z"', "ETag of x\"y%%z: %r" % r.headers)
        for s in (a, b, u):
            s.close()


async def run(fn, exe):
    await asyncio.wait_for(fn(exe), patient(60))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", action="append")
    ap.add_argument("exe")
    a = ap.parse_args()
    failed = 0
    for fn in CASES:
        if a.k and not any(k in fn.__name__ for k in a.k):
            continue
        t0 = time.monotonic()
        try:
            asyncio.run(run(fn, a.exe))
            print("ok   %-24s %5.1fs" % (fn.__name__, time.monotonic() - t0), flush=True)
        except Exception as e:  # noqa: BLE001
            failed += 1
            print("FAIL %-24s %s: %s\n%s" % (fn.__name__, type(e).__name__, e,
                                            traceback.format_exc(limit=3)), flush=True)
        finally:
            kill_leftovers()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
