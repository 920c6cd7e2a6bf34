#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the hand-made seeds of fuzz/corpus/fuzz_request/ (named seed-*; the files the
fuzzer merged in have hash names and are left alone). Rerunning it rewrites the same files.

An input is two head bytes, then the bytes of each client connection separated by
"\\n@@\\n" (fuzz/fuzz_request.c documents the layout). Byte 0: bits 0-1 the configuration
(0 open, 1 keys, 2 limits, 3 mixed), bit 2 the clients read late, bit 3 small socket
buffers, bits 4-5 the ending (0 half-close, 1 close, 2 reset, 3 stop the hub), bit 6 the
first connection leaves early (half-closes after its last byte, then resets), bit 7 the
LMDB store (publishes answered from its committer thread) instead of the memory store.
Byte 1: bits 0-2 the chunk size class (1, 2, 3, 8, 32, 128, 1024, all), bit 3 uniform
chunks.
"""
import base64
import hashlib
import hmac
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus", "fuzz_request")
PUB_SECRET = b"fuzz-request-publisher-secret-0123456789"
SUB_SECRET = b"fuzz-request-subscriber-secret-012345678"
SEP = b"\n@@\n"

OPEN, KEYS, LIMITS, MIXED = 0, 1, 2, 3
LATE_READ, SMALL_RCVBUF = 4, 8
END_HALF, END_CLOSE, END_RESET, END_STOP = 0, 16, 32, 48
RESET_FIRST = 64
LMDB = 128
WHOLE, BYTES1, BYTES3, BYTES32, BYTES1024 = 7, 0, 2, 4, 6
UNIFORM = 8


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=")


def jwt(secret, claims):
    head = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = b64url(json.dumps(claims, separators=(",", ":")).encode())
    sig = b64url(hmac.new(secret, head + b"." + body, hashlib.sha256).digest())
    return (head + b"." + body + b"." + sig).decode()


PUB_ALL = jwt(PUB_SECRET, {"mercure": {"publish": ["*"]}})
PUB_BOOKS = jwt(PUB_SECRET, {"mercure": {"publish": ["https://example.com/books/{id}"]}})
SUB_ALL = jwt(SUB_SECRET, {"mercure": {"subscribe": ["*"], "payload": {"user": "u1"}}})
SUB_BOOKS = jwt(SUB_SECRET, {"mercure": {"subscribe": ["https://example.com/books/{id}"]}})
SUB_EXPIRED = jwt(SUB_SECRET, {"exp": 1000000000, "mercure": {"subscribe": ["*"]}})
SUB_FAR = jwt(SUB_SECRET, {"exp": 99999999999, "mercure": {"subscribe": ["*"]}})
BAD_SIG = PUB_ALL[:-2] + ("AA" if not PUB_ALL.endswith("AA") else "BB")


def get(target, *headers, version="1.1"):
    lines = [f"GET {target} HTTP/{version}", "Host: hub"] + list(headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def req(method, target, body=b"", *headers, host=True, length=True):
    if isinstance(body, str):
        body = body.encode()
    lines = [f"{method} {target} HTTP/1.1"] + (["Host: hub"] if host else []) + list(headers)
    if length:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def form(body, *headers):
    return req("POST", "/.well-known/mercure", body,
               "Content-Type: application/x-www-form-urlencoded", *headers)


def js(body, *headers):
    return req("POST", "/.well-known/mercure", body, "Content-Type: application/json", *headers)


def chunked(target, ctype, pieces, *headers, ext=b""):
    head = (f"POST {target} HTTP/1.1\r\nHost: hub\r\nContent-Type: {ctype}\r\n"
            "Transfer-Encoding: chunked\r\n" + "".join(h + "\r\n" for h in headers) + "\r\n").encode()
    body = b"".join(b"%x%s\r\n%s\r\n" % (len(p), ext, p) for p in pieces) + b"0\r\n\r\n"
    return head + body


def stream(query, *headers):
    return get(f"/.well-known/mercure?{query}", *headers)


def bearer(tok):
    return f"Authorization: Bearer {tok}"


def seed(name, flags, chunking, *conns):
    data = bytes([flags, chunking]) + SEP.join(conns)
    with open(os.path.join(OUT, "seed-" + name), "wb") as f:
        f.write(data)


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if f.startswith("seed-"):
            os.remove(os.path.join(OUT, f))

    # ---- Single requests on the open configuration.
    seed("healthz", OPEN, WHOLE, get("/healthz"))
    seed("healthz-head", OPEN, WHOLE, req("HEAD", "/healthz", length=False))
    seed("metrics", OPEN, WHOLE, get("/metrics"))
    seed("ui", OPEN, WHOLE, get("/") + get("/index.html") + get("/favicon.ico"))
    seed("not-found", OPEN, WHOLE, get("/nope?x=1"))
    seed("methods", OPEN, WHOLE,
         req("PUT", "/.well-known/mercure", "x") + req("DELETE", "/healthz", length=False) +
         req("POST", "/metrics", "") + req("PATCH", "/", "a"))
    seed("options-cors", OPEN, WHOLE,
         req("OPTIONS", "/.well-known/mercure", b"", "Origin: https://example.com",
             "Access-Control-Request-Method: POST", length=False))
    seed("absolute-form", OPEN, WHOLE,
         b"GET http://hub/healthz HTTP/1.1\r\nHost: hub\r\n\r\n"
         b"GET https://hub HTTP/1.1\r\nHost: hub\r\n\r\n")
    seed("http10", OPEN, WHOLE, b"GET /healthz HTTP/1.0\r\n\r\n")
    seed("http10-keepalive", OPEN, WHOLE,
         b"GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /metrics HTTP/1.0\r\n\r\n")
    seed("connection-close", OPEN, WHOLE, get("/healthz", "Connection: close") + get("/healthz"))

    # ---- Publishing (loopback: the open configuration allows it).
    seed("publish-form", OPEN, WHOLE,
         form("topic=https%3A%2F%2Fexample.com%2Fbooks%2F1&data=hello&id=b1&type=update"
              "&retry=3000"))
    seed("publish-json", OPEN, WHOLE,
         js('{"topic":["a","b"],"data":{"k":[1,2]},"private":true,"id":"j1"}'))
    seed("publish-conflict", OPEN, WHOLE,
         form("topic=a&data=1&id=x") + form("topic=a&data=2&id=x") + form("topic=a&data=3&id=1001"))
    seed("publish-errors", OPEN, WHOLE,
         req("POST", "/.well-known/mercure", "topic=a") +
         req("POST", "/.well-known/mercure", "topic=a", "Content-Type: text/plain") +
         form("data=no-topic") + js('{"topic":') +
         form("topic=%2F.well-known%2Fmercure%2Fx&data=reserved"))
    seed("publish-too-large", OPEN, WHOLE, form("topic=a&data=" + "x" * 2100))
    seed("publish-cl-too-large", OPEN, WHOLE,
         b"POST /.well-known/mercure HTTP/1.1\r\nHost: hub\r\nContent-Length: 999999\r\n\r\n")
    seed("publish-chunked", OPEN, BYTES3,
         chunked("/.well-known/mercure", "application/x-www-form-urlencoded",
                 [b"topic=a", b"&data=", b"chunked"]))
    seed("publish-chunked-ext", OPEN, WHOLE,
         chunked("/events", "application/json", [b'{"topic":"t",', b'"data":"x"}'], ext=b";a=b"))
    seed("expect-continue", OPEN, WHOLE,
         form("topic=a&data=c", "Expect: 100-continue") + get("/healthz"))
    seed("expect-continue-413", OPEN, WHOLE,
         b"POST /.well-known/mercure HTTP/1.1\r\nHost: hub\r\nExpect: 100-continue\r\n"
         b"Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n" + b"{" * 300)
    seed("pipeline-publish", OPEN, BYTES32,
         b"".join(form(f"topic=p&data={i}") for i in range(20)) + get("/metrics"))
    seed("pipeline-mixed", OPEN, WHOLE,
         get("/healthz") + form("topic=m&data=1") + js('{"topic":"m","data":"2"}') +
         get("/metrics") + req("OPTIONS", "/events", b"", "Origin: https://x.example", length=False) +
         stream("topic=m&lastEventID=earliest"))

    # ---- Streams, with a publisher on a second connection.
    seed("stream-earliest", OPEN, WHOLE,
         form("topic=s&data=one") + form("topic=s&data=two") + stream("topic=s&lastEventID=earliest"))
    seed("stream-last-event-id", OPEN, WHOLE,
         form("topic=s&data=one&id=e1") + form("topic=s&data=two&id=e2") +
         stream("topic=s&topic=other", "Last-Event-ID: e1"))
    seed("stream-bad-last-id", OPEN, WHOLE, stream("topic=s", "Last-Event-ID: a\x01b"))
    seed("stream-missing-topic", OPEN, WHOLE, stream("x=1") + stream("topic=a&topic=b&topic=c&topic=d&topic=e"))
    seed("stream-then-publish", OPEN, WHOLE,
         stream("topic=https%3A%2F%2Fexample.com%2Fbooks%2F%7Bid%7D&topic=*", "Origin: https://example.com"),
         form("topic=https%3A%2F%2Fexample.com%2Fbooks%2F7&data=live") + js('{"topic":"z","data":"2"}'))
    seed("stream-slow", OPEN | LATE_READ | SMALL_RCVBUF, WHOLE,
         stream("topic=slow"),
         b"".join(form("topic=slow&data=" + "d" * 1500) for _ in range(12)))
    seed("stream-reset", OPEN | RESET_FIRST, WHOLE,
         stream("topic=r"), form("topic=r&data=after-reset") + get("/metrics"))
    seed("stream-stop", OPEN | END_STOP, WHOLE, stream("topic=a"), form("topic=a&data=x"))
    seed("stream-pipelined-after", OPEN, WHOLE, stream("topic=a") + get("/healthz") * 3)

    # ---- Presence (--subscriptions).
    seed("subscriptions", OPEN, WHOLE,
         stream("topic=room%2F1"),
         get("/.well-known/mercure/subscriptions") +
         get("/.well-known/mercure/subscriptions/room%2F1") +
         get("/.well-known/mercure/subscriptions/room%2F1/urn%3Auuid%3Ax") +
         stream("topic=%2F.well-known%2Fmercure%2Fsubscriptions%7B%2Ftopic%7D%7B%2Fsubscriber%7D"))

    # ---- Authorization (keys and mixed configurations).
    seed("keys-publish", KEYS, WHOLE,
         form("topic=https%3A%2F%2Fexample.com%2Fbooks%2F1&data=ok", bearer(PUB_BOOKS)) +
         form("topic=other&data=no", bearer(PUB_BOOKS)) + form("topic=a&data=x") +
         form("topic=a&data=x", bearer(BAD_SIG)) + form("topic=a&data=x", "Authorization: Basic eA=="))
    seed("keys-cookie", KEYS, WHOLE,
         form("topic=a&data=c", f"Cookie: mercureAuthorization={PUB_ALL}",
              "Origin: https://example.com") +
         form("topic=a&data=c", f"Cookie: x=1; mercureAuthorization={PUB_ALL}", "Origin: https://evil.example"))
    seed("keys-stream", KEYS, WHOLE,
         stream("topic=*", bearer(SUB_ALL), "Origin: https://example.com"),
         js('{"topic":"p","data":"private","private":true}', bearer(PUB_ALL)) +
         js('{"topic":"q","data":"public"}', bearer(PUB_ALL)))
    # Past the send-buffer cap within 8 KiB of input: each "\n" of the data (2 bytes of
    # JSON) is a "data: " line of the event (7 bytes).
    seed("keys-conflate", KEYS | LATE_READ | SMALL_RCVBUF, WHOLE,
         stream("topic=*", bearer(SUB_ALL)),
         b"".join(js('{"topic":"c%d","data":"%s"}' % (i % 3, "\\n" * 850), bearer(PUB_ALL))
                  for i in range(4)))
    seed("stream-over-cap", OPEN | LATE_READ | SMALL_RCVBUF, WHOLE,
         stream("topic=*"),
         b"".join(js('{"topic":"o%d","data":"%s"}' % (i % 2, "\\n" * 600)) for i in range(6)))
    seed("keys-stream-query", KEYS, WHOLE, stream(f"topic=a&authorization={SUB_BOOKS}"))
    seed("keys-anonymous-refused", KEYS, WHOLE, stream("topic=a") + get("/"))
    seed("keys-expired", KEYS, WHOLE, stream("topic=a", bearer(SUB_EXPIRED)))
    seed("mixed-exp-stream", MIXED, WHOLE,
         stream("topic=a", bearer(SUB_FAR)),
         form("topic=a&data=1", bearer(PUB_ALL)) + get("/.well-known/mercure/subscriptions"))
    seed("mixed-presence-payload", MIXED, WHOLE,
         stream("topic=a&topic=b", f"Cookie: mercureAuthorization={SUB_ALL}"),
         get("/.well-known/mercure/subscriptions/a", bearer(SUB_ALL)))

    # ---- Limits configuration: two connections at most, tiny bodies, one topic.
    seed("limits-503", LIMITS, WHOLE, get("/healthz"), get("/healthz"), get("/healthz"))
    seed("limits-body", LIMITS, WHOLE,
         form("topic=a&data=" + "x" * 40) + form("topic=a&data=1"))
    seed("limits-topics", LIMITS, WHOLE, stream("topic=a&topic=b"))
    seed("limits-cors", LIMITS, WHOLE,
         get("/healthz", "Origin: https://a.example") + get("/healthz", "Origin: https://b.example"))

    # ---- Malformed requests.
    seed("bad-request-line", OPEN, WHOLE, b"GARBAGE\r\n\r\n")
    seed("bad-version", OPEN, WHOLE, b"GET / HTTP/2.0\r\nHost: a\r\n\r\n")
    seed("bad-space-colon", OPEN, WHOLE, b"GET /healthz HTTP/1.1\r\nHost: a\r\nX-Foo : bar\r\n\r\n")
    seed("bad-obs-fold", OPEN, WHOLE, b"GET /healthz HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n")
    seed("bad-bare-cr", OPEN, WHOLE, b"GET /healthz HTTP/1.1\rHost: a\r\n\r\n")
    seed("bad-no-host", OPEN, WHOLE, b"GET /healthz HTTP/1.1\r\n\r\n")
    seed("bad-two-hosts", OPEN, WHOLE, b"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
    seed("bad-cl-te", OPEN, WHOLE,
         b"POST /.well-known/mercure HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
         b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    seed("bad-two-cl", OPEN, WHOLE,
         b"POST /.well-known/mercure HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd")
    seed("bad-chunk-size", OPEN, WHOLE,
         b"POST /.well-known/mercure HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
    seed("bad-te", OPEN, WHOLE,
         b"POST /.well-known/mercure HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\nabc")
    seed("long-target", OPEN, WHOLE, get("/" + "a" * 1100))
    seed("long-header", OPEN, WHOLE, get("/healthz", "X-Long: " + "b" * 1100))
    seed("many-headers", OPEN, BYTES1024, get("/healthz", *[f"X-{i}: {i}" for i in range(80)]))
    seed("nul-in-target", OPEN, WHOLE, b"GET /heal\x00thz HTTP/1.1\r\nHost: a\r\n\r\n")
    seed("upgrade", OPEN, WHOLE,
         get("/healthz", "Connection: Upgrade", "Upgrade: websocket") + get("/metrics"))
    seed("connect", OPEN, WHOLE, b"CONNECT hub:443 HTTP/1.1\r\nHost: hub:443\r\n\r\n")
    seed("asterisk", OPEN, WHOLE, b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n")
    seed("partial-then-half-close", OPEN, WHOLE, b"GET /healthz HTTP/1.1\r\nHo")
    seed("empty-lines", OPEN, WHOLE, b"\r\n\r\n" + get("/healthz"))

    # ---- The LMDB store: publishes are decided on its committer thread, so the answers
    # and the requests behind them wait (route_deferred, held answers, the pipeline limit).
    seed("lmdb-pipeline-mixed", OPEN | LMDB, WHOLE,
         form("topic=m&data=1") + get("/healthz") + js('{"topic":"m","data":"2"}') +
         req("OPTIONS", "/events", b"", "Origin: https://x.example", length=False) +
         form("topic=m&data=3") + get("/metrics") + form("topic=m&data=4") +
         stream("topic=m&lastEventID=earliest"))
    seed("lmdb-pipeline-limit", OPEN | LMDB, BYTES1024,
         b"".join(form(f"topic=l&data={i}") for i in range(40)) + get("/healthz"))
    seed("lmdb-expect-behind", OPEN | LMDB, WHOLE,
         form("topic=e&data=1") + form("topic=e&data=2", "Expect: 100-continue") +
         form("topic=e&data=3", "Connection: close"))
    seed("lmdb-http10", OPEN | LMDB, WHOLE,
         b"POST /.well-known/mercure HTTP/1.0\r\nContent-Type: application/x-www-form-urlencoded"
         b"\r\nContent-Length: 14\r\n\r\ntopic=a&data=1" + get("/healthz"))
    seed("lmdb-errors-behind", OPEN | LMDB, WHOLE,
         form("topic=a&data=1&id=x") + form("topic=a&data=2&id=x") + form("data=no-topic") +
         get("/nope") + b"BAD REQUEST\r\n\r\n")
    seed("lmdb-stream-live", OPEN | LMDB, WHOLE,
         stream("topic=*"), b"".join(form(f"topic=t{i}&data={i}") for i in range(6)))
    seed("lmdb-keys", KEYS | LMDB, WHOLE,
         stream("topic=*", bearer(SUB_ALL)),
         js('{"topic":"p","data":"x","private":true}', bearer(PUB_ALL)) +
         form("topic=p&data=y") + form("topic=p&data=z", bearer(PUB_ALL)))
    seed("lmdb-presence", MIXED | LMDB, WHOLE,
         stream("topic=a&topic=b", bearer(SUB_ALL)),
         get("/.well-known/mercure/subscriptions", bearer(SUB_ALL)) +
         form("topic=a&data=1", bearer(PUB_ALL)))
    seed("lmdb-stop", OPEN | LMDB | END_STOP, WHOLE, stream("topic=a"),
         form("topic=a&data=x") * 3)
    seed("lmdb-leave-pending", OPEN | LMDB | RESET_FIRST, WHOLE,
         b"".join(form(f"topic=q&data={i}") for i in range(5)), stream("topic=q&lastEventID=earliest"))
    seed("lmdb-reset-first", OPEN | LMDB | RESET_FIRST, BYTES32,
         form("topic=r&data=1") * 4, stream("topic=r&lastEventID=earliest"))

    # ---- Chunking, backpressure and endings.
    seed("bytewise-publish", OPEN, BYTES1 | UNIFORM, form("topic=a&data=bytes", "Origin: https://x"))
    seed("ui-backpressure", OPEN | LATE_READ | SMALL_RCVBUF, WHOLE, get("/") * 20 + get("/healthz"))
    seed("ui-close-unread", OPEN | LATE_READ | END_CLOSE, WHOLE, get("/") * 12)
    seed("ui-reset", OPEN | END_RESET, WHOLE, get("/") * 3)
    seed("ui-stop", OPEN | LATE_READ | SMALL_RCVBUF | END_STOP, WHOLE, get("/") * 16)
    print(f"fuzz_request seeds: {len([f for f in os.listdir(OUT) if f.startswith('seed-')])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
