#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""HTTP/1.1 requests as strictly as RFC 9112 asks: a table of malformed requests (raw bytes,
the expected status, a name), each sent on its own connection to a real ssehub; for each,
the status line, exactly one answer with a one-line plain-text reason, the connection
closed after it (EOF within a generous deadline), and the hub still serving the next
client (GET /healthz on a new connection). Then valid but unusual requests that must still
work (absolute-form, OPTIONS *, chunked bodies with extensions and trailers, lowercase
names, HTAB and obs-text in values...) on a connection that stays usable; the same
requests fed one byte at a time; and request smuggling attempts (CL+TE, obfuscated
Transfer-Encoding, a request hidden in a body) that must never produce a second answer or
a published event.

Usage: test_http_strict.py [-k SUBSTRING]... [--list] PATH-TO-SSEHUB
Prints one line per case (ok / FAIL) and exits 1 if any case failed.
Python 3 standard library only.
"""
import asyncio
import os
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from hubtest.http import Conn, Fail, Stream, check, request  # noqa: E402
from hubtest.hub import Hub  # noqa: E402
from hubtest.runner import parse_args, run_cases  # noqa: E402

# Deadlines hold under ASan on two busy cores: nothing waits for them unless broken.
EOF_DEADLINE = 30.0
READ_DEADLINE = 30.0
MAX_BODY = 1024 * 1024  # the hub's default --max-body
MAX_HEADER = 16 * 1024  # and --max-header

CASES = []
FAILS = []  # the failed rows of the running case (reported if the case times out)


def case(name, timeout=300):
    def deco(fn):
        CASES.append((name, fn, timeout))
        return fn
    return deco


# ---- Request bytes.

H = b"Host: h\r\n"
FORM = b"Content-Type: application/x-www-form-urlencoded\r\n"


def req(line, headers=H, body=b""):
    """A request: |line| CRLF, |headers| (raw, each ending CRLF), CRLF, |body|."""
    if isinstance(line, str):
        line = line.encode("latin-1")
    if isinstance(headers, str):
        headers = headers.encode("latin-1")
    return line + b"\r\n" + headers + b"\r\n" + body


def get(headers=H, target="/healthz"):
    return req("GET %s HTTP/1.1" % target, headers)


def post(headers, body=b""):
    """A publish request with the form Content-Type and |headers| (raw) after it."""
    if isinstance(headers, str):
        headers = headers.encode("latin-1")
    return req("POST /.well-known/mercure HTTP/1.1", H + FORM + headers, body)


def chunked(body, extra=b""):
    """A chunked publish of |body| (raw chunked bytes)."""
    return post(b"Transfer-Encoding: chunked\r\n" + extra, body)


# A form body that publishes (the hub allows loopback publishers without a key).
PUB_BODY = b"topic=strict&data=x"
GOOD_CHUNKS = b"%x\r\n%s\r\n0\r\n\r\n" % (len(PUB_BODY), PUB_BODY)

# (name, raw request, expected status). Each must be answered once and the connection
# closed. Comments name the rule; "llhttp" or "ours" says who enforces it (http.c).
MALFORMED = [
    # The request line (RFC 9112 §3): method SP request-target SP HTTP-version CRLF.
    ("rl-two-spaces-after-method", req("GET  /healthz HTTP/1.1"), 400),  # ours
    ("rl-two-spaces-before-version", req("GET /healthz  HTTP/1.1"), 400),  # ours
    ("rl-trailing-space", req("GET /healthz HTTP/1.1 "), 400),
    ("rl-leading-space", req(" GET /healthz HTTP/1.1"), 400),
    ("rl-tab-after-method", req("GET\t/healthz HTTP/1.1"), 400),
    ("rl-tab-before-version", req("GET /healthz\tHTTP/1.1"), 400),
    ("rl-bare-lf-end", b"GET /healthz HTTP/1.1\n" + H + b"\r\n", 400),  # ours
    ("rl-bare-cr-end", b"GET /healthz HTTP/1.1\r" + H + b"\r\n", 400),
    ("rl-cr-cr-lf", b"GET /healthz HTTP/1.1\r\r\n" + H + b"\r\n", 400),
    ("rl-no-version", b"GET /healthz\r\n" + H + b"\r\n", 400),  # ours (llhttp: HTTP/0.9)
    ("rl-bare-lf-before", b"\n" + get(), 400),  # ours
    ("rl-garbage-after-version", req("GET /healthz HTTP/1.1x"), 400),
    # Methods: tokens (RFC 9110 §9, §5.6.2); unknown ones are not implemented (§9.1).
    ("method-bad-char", req("G@T /healthz HTTP/1.1"), 400),
    ("method-nul", req("GE\x00T /healthz HTTP/1.1"), 400),
    ("method-non-ascii", req("G\xc9T /healthz HTTP/1.1"), 400),
    ("method-unknown", req("FOO /healthz HTTP/1.1"), 501),
    ("method-lowercase", req("get /healthz HTTP/1.1"), 501),
    ("method-connect", req("CONNECT h:443 HTTP/1.1"), 501),  # ours
    ("method-connect-origin", req("CONNECT /healthz HTTP/1.1"), 501),  # ours
    # Versions (RFC 9112 §2.3, RFC 9110 §15.6.6).
    ("version-lowercase", req("GET /healthz http/1.1"), 400),
    ("version-no-minor", req("GET /healthz HTTP/1"), 400),
    ("version-two-digit-minor", req("GET /healthz HTTP/1.10"), 400),
    ("version-1.2", req("GET /healthz HTTP/1.2"), 505),
    ("version-2.0", req("GET /healthz HTTP/2.0"), 505),  # ours (llhttp accepts)
    ("version-3.0", req("GET /healthz HTTP/3.0"), 505),
    ("version-0.9", req("GET /healthz HTTP/0.9"), 505),  # ours (llhttp accepts)
    ("h2-preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505),
    # Request targets (RFC 9112 §3.2): origin, absolute (http/https), asterisk (OPTIONS).
    ("target-relative", req("GET healthz HTTP/1.1"), 400),
    ("target-authority-form", req("GET h:80 HTTP/1.1"), 400),
    ("target-asterisk-get", req("GET * HTTP/1.1"), 400),  # ours
    ("target-asterisk-junk", req("OPTIONS *x HTTP/1.1"), 400),  # ours
    ("target-fragment", req("GET /healthz#x HTTP/1.1"), 400),  # ours
    ("target-ftp", req("GET ftp://h/healthz HTTP/1.1"), 400),  # ours
    ("target-userinfo", req("GET http://u@h/healthz HTTP/1.1"), 400),  # ours, RFC 9110 §4.2.4
    ("target-empty-host", req("GET http:///healthz HTTP/1.1"), 400),  # ours, RFC 9110 §4.2.1
    ("target-query-only", req("GET ?a=b HTTP/1.1"), 400),
    ("target-non-ascii", req("GET /h\xe9 HTTP/1.1"), 400),
    ("target-ctl", req("GET /h\x01 HTTP/1.1"), 400),
    ("target-del", req("GET /h\x7f HTTP/1.1"), 400),
    ("target-nul", req("GET /h\x00 HTTP/1.1"), 400),
    ("target-too-long", req("GET /" + "a" * (MAX_HEADER + 100) + " HTTP/1.1"), 414),
    # Host (RFC 9112 §3.2: 400 when missing in HTTP/1.1, repeated, or invalid).
    ("host-missing", get(b"X: y\r\n"), 400),
    ("host-repeated", get(b"Host: h\r\nHost: h\r\n"), 400),
    ("host-repeated-http10", req("GET /healthz HTTP/1.0", b"Host: h\r\nHost: i\r\n"), 400),
    ("host-space", get(b"Host: h i\r\n"), 400),  # ours
    ("host-list", get(b"Host: h, i\r\n"), 400),  # ours
    ("host-userinfo", get(b"Host: u@h\r\n"), 400),  # ours
    ("host-bad-port", get(b"Host: h:x\r\n"), 400),  # ours
    ("host-path", get(b"Host: h/x\r\n"), 400),  # ours
    # Field lines (RFC 9112 §5, RFC 9110 §5.1, §5.5).
    ("ws-before-colon", get(H + b"X-Foo : bar\r\n"), 400),  # llhttp strict mode
    ("tab-before-colon", get(H + b"X-Foo\t: bar\r\n"), 400),
    ("obs-fold-sp", get(H + b"X-Foo: bar\r\n baz\r\n"), 400),  # ours
    ("obs-fold-tab", get(H + b"X-Foo: bar\r\n\tbaz\r\n"), 400),  # ours
    ("obs-fold-empty-value", get(H + b"X-Foo:\r\n baz\r\n"), 400),  # ours
    ("ws-before-first-field", get(b" X-Foo: bar\r\n" + H), 400),
    ("ws-line-after-fields", get(H + b" \r\n"), 400),  # ours
    ("empty-field-name", get(H + b": bar\r\n"), 400),  # ours
    ("no-colon", get(H + b"X-Foo bar\r\n"), 400),
    ("name-space", get(H + b"X Foo: bar\r\n"), 400),  # llhttp strict mode
    ("name-bad-char", get(H + b"X(Foo: bar\r\n"), 400),
    ("name-non-ascii", get(H + b"X-F\xe9o: bar\r\n"), 400),
    ("name-nul", get(H + b"X-F\x00o: bar\r\n"), 400),
    ("value-ctl", get(H + b"X-Foo: b\x01ar\r\n"), 400),
    ("value-del", get(H + b"X-Foo: b\x7far\r\n"), 400),
    ("value-nul", get(H + b"X-Foo: b\x00ar\r\n"), 400),
    ("value-esc", get(H + b"X-Foo: b\x1bar\r\n"), 400),
    ("value-vt", get(H + b"X-Foo: b\x0bar\r\n"), 400),
    ("value-ff", get(H + b"X-Foo: b\x0car\r\n"), 400),
    ("value-bare-cr", get(H + b"X-Foo: b\rar\r\n"), 400),
    ("field-bare-lf", get(b"X-Foo: bar\n" + H), 400),
    ("head-end-bare-lf", b"GET /healthz HTTP/1.1\r\n" + H + b"\n", 400),  # ours
    ("headers-too-large", get(H + b"X-Big: " + b"a" * (MAX_HEADER + 100) + b"\r\n"), 431),
    # Content-Length (RFC 9112 §6.3, RFC 9110 §8.6).
    ("cl-two-different", post(b"Content-Length: 3\r\nContent-Length: 4\r\n", b"abcd"), 400),
    ("cl-two-same", post(b"Content-Length: 3\r\nContent-Length: 3\r\n", b"abc"), 400),
    ("cl-list", post(b"Content-Length: 3, 3\r\n", b"abc"), 400),
    ("cl-negative", post(b"Content-Length: -1\r\n"), 400),
    ("cl-plus", post(b"Content-Length: +3\r\n", b"abc"), 400),
    ("cl-hex", post(b"Content-Length: 0x3\r\n", b"abc"), 400),
    ("cl-letters", post(b"Content-Length: 3a\r\n", b"abc"), 400),
    ("cl-inner-space", post(b"Content-Length: 1 2\r\n", b"abc"), 400),
    ("cl-empty", post(b"Content-Length:\r\n", b"abc"), 400),
    ("cl-decimal", post(b"Content-Length: 3.0\r\n", b"abc"), 400),
    ("cl-overflow", post(b"Content-Length: 18446744073709551616\r\n"), 400),
    ("cl-too-large", post(b"Content-Length: %d\r\n" % (MAX_BODY + 1)), 413),
    # Transfer-Encoding (RFC 9112 §6.1, §6.3, §7).
    ("cl-and-te", post(b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n"), 400),
    ("te-and-cl", post(b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", b"0\r\n\r\n"), 400),
    ("te-gzip", post(b"Transfer-Encoding: gzip\r\n", b"abc"), 400),
    ("te-identity", post(b"Transfer-Encoding: identity\r\n", b"abc"), 400),
    ("te-xchunked", post(b"Transfer-Encoding: xchunked\r\n", b"0\r\n\r\n"), 400),
    ("te-chunked-param", post(b"Transfer-Encoding: chunked;q=1\r\n", b"0\r\n\r\n"), 400),
    ("te-empty", post(b"Transfer-Encoding:\r\n", b"0\r\n\r\n"), 400),  # ours
    ("te-chunked-gzip", post(b"Transfer-Encoding: chunked, gzip\r\n", b"0\r\n\r\n"), 400),
    ("te-chunked-twice", post(b"Transfer-Encoding: chunked, chunked\r\n", b"0\r\n\r\n"), 400),
    ("te-chunked-twice-fields",
     post(b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n"), 400),
    ("te-chunked-then-gzip-fields",
     post(b"Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n", b"0\r\n\r\n"), 400),
    ("te-http10", req("POST /.well-known/mercure HTTP/1.0",
                      H + FORM + b"Transfer-Encoding: chunked\r\n", GOOD_CHUNKS), 400),  # ours
    ("te-gzip-chunked", post(b"Transfer-Encoding: gzip, chunked\r\n", b"0\r\n\r\n"), 501),  # ours
    ("te-gzip-chunked-fields",
     post(b"Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n"), 501),
    # Chunked framing (RFC 9112 §7.1).
    ("chunk-size-not-hex", chunked(b"zz\r\nhello\r\n0\r\n\r\n"), 400),
    ("chunk-size-0x", chunked(b"0x5\r\nhello\r\n0\r\n\r\n"), 400),
    ("chunk-size-negative", chunked(b"-5\r\nhello\r\n0\r\n\r\n"), 400),
    ("chunk-size-leading-space", chunked(b" 5\r\nhello\r\n0\r\n\r\n"), 400),
    # RFC 9112 §7.1.1 allows BWS before ';' and a recipient should skip it, but llhttp
    # refuses any space after the size, as most servers do: a space is not a smuggling risk
    # the hub needs to take for a client no browser or library is.
    ("chunk-size-trailing-space", chunked(b"5 \r\nhello\r\n0\r\n\r\n"), 400),
    ("chunk-size-empty", chunked(b"\r\nhello\r\n0\r\n\r\n"), 400),
    ("chunk-size-overflow", chunked(b"1ffffffffffffffff\r\nhello\r\n0\r\n\r\n"), 400),
    ("chunk-size-bare-lf", chunked(b"5\nhello\r\n0\r\n\r\n"), 400),
    ("chunk-size-bare-cr", chunked(b"5\rhello\r\n0\r\n\r\n"), 400),
    ("chunk-too-large", chunked(b"%x\r\nhello" % (MAX_BODY + 1)), 413),
    ("chunk-ext-empty-name", chunked(b"5;\r\nhello\r\n0\r\n\r\n"), 400),
    ("chunk-ext-space-in-value", chunked(b"5;a=b c\r\nhello\r\n0\r\n\r\n"), 400),
    ("chunk-ext-ctl", chunked(b"5;a\x01\r\nhello\r\n0\r\n\r\n"), 400),
    ("chunk-ext-quoted-ctl", chunked(b'5;a="\x01"\r\nhello\r\n0\r\n\r\n'), 400),
    ("chunk-ext-bare-lf", chunked(b"5;a=b\nhello\r\n0\r\n\r\n"), 400),
    ("chunk-data-no-crlf", chunked(b"5\r\nhelloXX0\r\n\r\n"), 400),
    ("chunk-data-bare-lf", chunked(b"5\r\nhello\n0\r\n\r\n"), 400),
    ("chunk-data-bare-cr", chunked(b"5\r\nhello\r0\r\n\r\n"), 400),
    ("chunk-last-bare-lf", chunked(b"5\r\nhello\r\n0\n\r\n"), 400),
    ("chunk-end-bare-lf", chunked(b"5\r\nhello\r\n0\r\n\n"), 400),  # ours
    ("trailer-ws-before-colon", chunked(b"5\r\nhello\r\n0\r\nX-T : v\r\n\r\n"), 400),
    ("trailer-obs-fold", chunked(b"5\r\nhello\r\n0\r\nX-T: v\r\n w\r\n\r\n"), 400),  # ours
    ("trailer-no-colon", chunked(b"5\r\nhello\r\n0\r\nX\r\n\r\n"), 400),
    # Not HTTP at all.
    ("nul-byte", b"\x00", 400),
    ("tls-client-hello", b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", 400),
    ("words", b"NOT HTTP AT ALL\r\n\r\n", 400),
]

# (name, raw request, expected status) that must be answered and leave the connection
# usable: each is followed by a GET /healthz on the same connection.
VALID = [
    ("absolute-form", req("GET http://h/healthz HTTP/1.1"), 200),
    ("absolute-form-https-caps", req("GET HTTPS://h:443/healthz?x=1 HTTP/1.1"), 200),
    ("absolute-form-no-path", req("GET http://h?x=1 HTTP/1.1"), 200),  # path "/": the UI
    ("options-asterisk", req("OPTIONS * HTTP/1.1"), 200),
    ("lowercase-names", get(b"host: h\r\nx-foo: bar\r\n"), 200),
    ("mixed-case-names", get(b"hOsT: h\r\nX-fOO: bar\r\n"), 200),
    ("htab-in-value", get(H + b"X-Foo: a\tb\r\n"), 200),
    ("obs-text-in-value", get(H + b"X-Foo: caf\xe9 \xff\r\n"), 200),
    ("ows-around-value", get(H + b"X-Foo: \t bar \t\r\n"), 200),
    ("empty-value", get(H + b"X-Foo:\r\n"), 200),
    ("empty-host", get(b"Host:\r\n"), 200),  # RFC 9112 §3.2: no authority
    ("ipv6-host", get(b"Host: [::1]:8080\r\n"), 200),
    ("empty-line-before", b"\r\n" + get(), 200),  # RFC 9112 §2.2
    ("query-unencoded", req("GET /healthz?t={id}|^`\\ HTTP/1.1"), 200),
    ("http10-keep-alive", req("GET /healthz HTTP/1.0", b"Connection: keep-alive\r\n"), 200),
    ("known-method", req("PROPFIND /healthz HTTP/1.1"), 405),
    ("upgrade-ignored", get(H + b"Connection: upgrade\r\nUpgrade: websocket\r\n"), 200),
    ("cl-ows", post(b"Content-Length:  %d \r\n" % len(PUB_BODY), PUB_BODY), 200),
    ("cl-leading-zeros", post(b"Content-Length: 000%d\r\n" % len(PUB_BODY), PUB_BODY), 200),
    ("cl-on-get", get(H + b"Content-Length: 3\r\n") + b"abc", 200),
    ("chunked", chunked(GOOD_CHUNKS), 200),
    ("chunked-split", chunked(b"3\r\ntop\r\n%x\r\n%s\r\n0\r\n\r\n"
                              % (len(PUB_BODY) - 3, PUB_BODY[3:])), 200),
    ("chunked-caps-hex", chunked(b"%X\r\n%s\r\n0\r\n\r\n" % (len(PUB_BODY), PUB_BODY)), 200),
    # One extension per chunk: llhttp 8.1.0 refuses a second one after a value ("a=b;c"),
    # which RFC 9112 §7.1.1 allows (no client we know sends extensions at all).
    ("chunked-extension", chunked(b"%x;a=b\r\n%s\r\n0;d=e\r\n\r\n" % (len(PUB_BODY), PUB_BODY)),
     200),
    ("chunked-extensions-no-value",
     chunked(b"%x;a;b\r\n%s\r\n0;c\r\n\r\n" % (len(PUB_BODY), PUB_BODY)), 200),
    ("chunked-quoted-ext", chunked(b'%x;a="b c"\r\n%s\r\n0\r\n\r\n' % (len(PUB_BODY), PUB_BODY)),
     200),
    ("chunked-trailers", chunked(GOOD_CHUNKS[:-2] + b"X-T: v\r\nX-U:\r\n\r\n"), 200),
    # Trailer fields are not merged into the header section (RFC 9110 §6.5.1): were this
    # Content-Type used, the form body would be read as JSON and refused.
    ("chunked-trailers-not-headers",
     chunked(GOOD_CHUNKS[:-2] + b"Content-Type: application/json\r\nHost: x\r\n\r\n"), 200),
    ("chunked-mixed-case-te", post(b"Transfer-Encoding: ChUnKeD\r\n", GOOD_CHUNKS), 200),
    ("chunked-empty-list-elems", post(b"Transfer-Encoding: , chunked\r\n", GOOD_CHUNKS), 200),
    ("expect-100-continue", post(b"Expect: 100-continue\r\nContent-Length: %d\r\n"
                                 % len(PUB_BODY), PUB_BODY), 200),
]


# ---- Reading answers.

def split_responses(data):
    """The responses in |data| (the bytes of a connection up to EOF): a list of
    (status, headers {lowercase name: value}, body); interim 1xx answers included."""
    out = []
    while data:
        end = data.find(b"\r\n\r\n")
        check(end >= 0, "an incomplete response head: %r" % data[:200])
        lines = data[:end].decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        check(len(parts) >= 2 and parts[0] == "HTTP/1.1" and parts[1].isdigit(),
              "bad status line %r" % lines[0])
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            check(sep == ":", "bad header line %r" % line)
            headers[name.lower()] = value.strip()
        status = int(parts[1])
        n = int(headers.get("content-length", "0")) if status >= 200 else 0
        body = data[end + 4:end + 4 + n]
        check(len(body) == n, "a body shorter than its Content-Length: %r" % data[:200])
        out.append((status, headers, body))
        data = data[end + 4 + n:]
    return out


async def exchange(port, raw, byte_at_a_time=False):
    """Sends |raw| on a new connection and reads until the hub closes it. Returns the
    responses, or raises Fail when the connection is still open after EOF_DEADLINE."""
    c = await Conn.open(port)
    try:
        if byte_at_a_time:
            for i in range(len(raw)):
                c.send(raw[i:i + 1])
                await c.drain()
                await asyncio.sleep(0)
        else:
            c.send(raw)
            await c.drain()
        closed, got = await c.wait_closed_by_peer(EOF_DEADLINE)
        check(closed, "the connection is still open %.0f s after the request (read %r)"
              % (EOF_DEADLINE, got[:200]))
        return split_responses(got)
    finally:
        c.close()


async def healthz(port):
    r = await request(port, "GET", "/healthz", timeout=READ_DEADLINE)
    check(r.status == 200, "GET /healthz on a new connection: %r" % r)


def check_refusal(resps, status):
    """Exactly one answer, |status|, a one-line text/plain reason, Connection: close."""
    finals = [r for r in resps if r[0] >= 200]
    check(len(finals) == 1, "%d answers (%s), expected one"
          % (len(finals), [r[0] for r in resps]))
    st, hs, body = finals[0]
    check(st == status, "status %d (%r), expected %d" % (st, body, status))
    check(hs.get("content-type", "").startswith("text/plain"),
          "Content-Type %r" % hs.get("content-type"))
    check(body.endswith(b"\n") and body.count(b"\n") == 1 and len(body) > 1,
          "not a one-line reason: %r" % body)
    check(hs.get("connection", "").lower() == "close", "no Connection: close")


async def run_rows(hub, rows, byte_at_a_time=False):
    """Each malformed row on its own connection; all failures reported together."""
    fails = FAILS
    for name, raw, status in rows:
        try:
            check_refusal(await exchange(hub.port, raw, byte_at_a_time), status)
            await healthz(hub.port)
        except (Fail, asyncio.TimeoutError, asyncio.IncompleteReadError, ConnectionError) as e:
            fails.append("%s: %s" % (name, e or type(e).__name__))
    check(not fails, "%d of %d rows failed: %s" % (len(fails), len(rows), " || ".join(fails)))


async def valid_row(port, raw, status, byte_at_a_time=False):
    """|raw| then GET /healthz with Connection: close on the same connection: the expected
    answer, then 200, then EOF, and nothing else."""
    c = await Conn.open(port)
    try:
        data = raw + get(H + b"Connection: close\r\n")
        if byte_at_a_time:
            for i in range(len(data)):
                c.send(data[i:i + 1])
                await c.drain()
                await asyncio.sleep(0)
        else:
            c.send(data)
            await c.drain()
        closed, got = await c.wait_closed_by_peer(EOF_DEADLINE)
        check(closed, "still open %.0f s after the requests (read %r)" % (EOF_DEADLINE, got[:200]))
    finally:
        c.close()
    resps = [r for r in split_responses(got) if r[0] >= 200]
    check([r[0] for r in resps] == [status, 200], "answers %s (%r), expected [%d, 200]"
          % ([r[0] for r in resps], [r[2][:80] for r in resps], status))


async def run_valid(hub, rows, byte_at_a_time=False):
    fails = FAILS
    for name, raw, status in rows:
        try:
            await valid_row(hub.port, raw, status, byte_at_a_time)
        except (Fail, asyncio.TimeoutError, asyncio.IncompleteReadError, ConnectionError) as e:
            fails.append("%s: %s" % (name, e or type(e).__name__))
    check(not fails, "%d of %d rows failed: %s" % (len(fails), len(rows), " || ".join(fails)))


# ---- Cases.

@case("malformed")
async def t_malformed(exe):
    async with Hub(exe) as hub:
        await run_rows(hub, MALFORMED)
        return "%d malformed requests refused and closed" % len(MALFORMED)


@case("malformed-byte-by-byte")
async def t_malformed_dribbled(exe):
    """The checks hold when every byte comes in its own read (the framing scanner and
    llhttp keep their state across reads)."""
    names = {"rl-two-spaces-after-method", "rl-bare-lf-end", "rl-no-version", "method-unknown",
             "obs-fold-sp", "obs-fold-empty-value", "empty-field-name", "ws-line-after-fields",
             "head-end-bare-lf", "host-space", "te-gzip-chunked", "chunk-end-bare-lf",
             "trailer-obs-fold", "chunk-data-no-crlf", "ws-before-colon", "target-fragment"}
    rows = [r for r in MALFORMED if r[0] in names]
    check(len(rows) == len(names), "rows missing from the table")
    async with Hub(exe) as hub:
        await run_rows(hub, rows, byte_at_a_time=True)
        return "%d requests" % len(rows)


@case("valid-unusual")
async def t_valid(exe):
    async with Hub(exe) as hub:
        await run_valid(hub, VALID)
        await run_valid(hub, [r for r in VALID if r[0].startswith(("chunked", "empty-line",
                                                                     "absolute", "ows"))],
                        byte_at_a_time=True)
        return "%d requests answered, each connection still usable" % len(VALID)


@case("pipelined-then-malformed")
async def t_pipelined(exe):
    """Valid requests pipelined before a malformed one are answered in order, then the
    refusal, then EOF; the requests after the malformed one are never answered."""
    async with Hub(exe) as hub:
        raw = (get() + chunked(GOOD_CHUNKS) + get() + get(H + b"X-Foo : bar\r\n") + get() +
               get())
        resps = await exchange(hub.port, raw)
        got = [r[0] for r in resps]
        check(got == [200, 200, 200, 400], "answers %s, expected [200, 200, 200, 400]" % got)
        closes = [r[1].get("connection", "").lower() == "close" for r in resps]
        check(closes == [False, False, False, True],
              "Connection: close on answers %s, expected on the last only" % closes)
        await healthz(hub.port)
    # Publishes right before the malformed request: with LMDB their answers are still on
    # their way from the store's committer when the refusal is made, and come first.
    raw = (post(b"Content-Length: 13\r\n", b"topic=a&data=") +
           post(b"Content-Length: 14\r\n", b"topic=a&data=2") + get(H + b"X-Foo : bar\r\n"))
    with tempfile.TemporaryDirectory() as d:
        for store in ("memory", "lmdb:" + d):
            async with Hub(exe, ["--store", store]) as hub:
                resps = await exchange(hub.port, raw)
                got = [r[0] for r in resps]
                closes = [r[1].get("connection", "").lower() == "close" for r in resps]
                check(got == [200, 200, 400], "%s: answers %s, expected [200, 200, 400]"
                      % (store, got))
                check(closes == [False, False, True], "%s: Connection: close on answers %s, "
                      "expected on the last only" % (store, closes))
                await healthz(hub.port)


# Request smuggling: each attempt hides a publish to topic "smuggled" where a lenient or
# differently lenient parser would see a second request. None may publish, and each
# connection gets exactly the answers its visible requests ask for.
SMUGGLED = (b"POST /.well-known/mercure HTTP/1.1\r\nHost: h\r\n" + FORM +
            b"Content-Length: 23\r\n\r\ntopic=smuggled&data=bad")


def smuggle_rows():
    s = SMUGGLED
    n = len(s)
    zero_chunk = b"0\r\n\r\n"
    return [
        # CL.TE and TE.CL: a front end using one length, the hub the other.
        ("cl-te", post(b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n"
                       % len(zero_chunk), zero_chunk + s), [400]),
        ("te-cl", post(b"Transfer-Encoding: chunked\r\nContent-Length: %d\r\n"
                       % (len(zero_chunk) + n), zero_chunk + s), [400]),
        # Obfuscated Transfer-Encoding next to a Content-Length.
        ("te-space-before-colon", post(b"Transfer-Encoding : chunked\r\nContent-Length: %d\r\n"
                                       % len(zero_chunk), zero_chunk + s), [400]),
        ("te-obs-fold", post(b"Transfer-Encoding:\r\n chunked\r\nContent-Length: %d\r\n"
                             % len(zero_chunk), zero_chunk + s), [400]),
        ("te-xchunked", post(b"Transfer-Encoding: xchunked\r\nContent-Length: %d\r\n"
                             % len(zero_chunk), zero_chunk + s), [400]),
        ("te-chunked-identity", post(b"Transfer-Encoding: chunked, identity\r\n",
                                     zero_chunk + s), [400]),
        ("te-vtab", post(b"Transfer-Encoding: \x0bchunked\r\n", zero_chunk + s), [400]),
        # Two lengths.
        ("cl-cl", post(b"Content-Length: 0\r\nContent-Length: %d\r\n" % n, s), [400]),
        # Line ends a front end may read differently.
        ("cl-after-bare-lf", get(H + b"X: y\nContent-Length: %d\r\n" % n) + s, [400]),
        ("cl-after-bare-cr", get(H + b"X: y\rContent-Length: %d\r\n" % n) + s, [400]),
        ("cl-in-obs-fold", get(H + b"X: y\r\n Content-Length: %d\r\n" % n) + s, [400]),
        ("chunk-ext-bare-lf", chunked(b"5;a\n" + b"0\r\n\r\n" + s), [400]),
        # A request hidden in a body the hub reads whole: one answer (the healthz, or the
        # publish refused for its body), and the request after it answered too.
        ("in-cl-body", get(H + b"Content-Length: %d\r\n" % n) + s + get(), [200, 200]),
        ("in-chunked-body", post(b"Transfer-Encoding: chunked\r\n",
                                 b"%x\r\n%s\r\n0\r\n\r\n" % (n, s)) + get(), [400, 200]),
    ]


@case("smuggling")
async def t_smuggling(exe):
    async with Hub(exe) as hub:
        sub = await Stream.subscribe(hub.port, topics=["smuggled"], timeout=READ_DEADLINE)
        try:
            before = await hub.metric("ssehub_publishes_total")
            fails = FAILS
            rows = smuggle_rows()
            for name, raw, want in rows:
                try:
                    raw += get(H + b"Connection: close\r\n") if want[-1] == 200 else b""
                    resps = await exchange(hub.port, raw)
                    got = [r[0] for r in resps if r[0] >= 200]
                    want_all = want + [200] if want[-1] == 200 else want
                    check(got == want_all, "answers %s, expected %s" % (got, want_all))
                except (Fail, asyncio.TimeoutError, ConnectionError) as e:
                    fails.append("%s: %s" % (name, e or type(e).__name__))
            check(not fails, "%d of %d attempts failed: %s"
                  % (len(fails), len(rows), " || ".join(fails)))
            after = await hub.metric("ssehub_publishes_total")
            check(after == before, "%d events published by smuggling attempts" % (after - before))
            # The subscriber's first event must be this one: nothing got in before it.
            c = await Conn.open(hub.port)
            r = await c.publish([("topic", "smuggled"), ("data", "sentinel")],
                                timeout=READ_DEADLINE)
            c.close()
            check(r.status == 200, "the sentinel publish: %r" % r)
            check(await sub.wait_events(1, READ_DEADLINE), "the sentinel event never came")
            check(sub.events[0].data == "sentinel",
                  "the subscriber got %r before the sentinel" % sub.events[0].data)
            return "%d attempts, no event published" % len(rows)
        finally:
            sub.close()


async def run_case(fn, exe, timeout):
    del FAILS[:]
    try:
        return await asyncio.wait_for(fn(exe), timeout)
    except asyncio.TimeoutError:
        raise Fail("timed out (case limit %d s); rows failed so far: %s"
                   % (timeout, " || ".join(FAILS) or "none"))


def main():
    def listing():
        for name, _, status in MALFORMED:
            print("  malformed %-32s %d" % (name, status))

    a = parse_args(CASES, __doc__, listing=listing)
    names = [r[0] for r in MALFORMED + VALID]
    if len(set(names)) != len(names):
        print("FAIL: duplicate row names in the tables")
        return 2
    return run_cases(CASES, a.k,
                     lambda name, fn, timeout: asyncio.run(run_case(fn, a.ssehub, timeout)),
                     width=24)


if __name__ == "__main__":
    sys.exit(main())
