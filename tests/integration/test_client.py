#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The EventSource client (libssehub) end to end through ssecat: against a real ssehub on
127.0.0.1 port 0 (resumption with Last-Event-ID across --max-lifetime closes, the server's
retry: honoured, 204 and a wrong content type failing for good, redirects, the idle
timeout, --publish of 10,000 lines pipelined, failed publishes), and against small servers
written here in Python where ssehub cannot play the part (the request headers, chunked
bodies, redirect chains, IPv6). ssecat's exit statuses and stderr messages are checked:
they are part of its contract. Any sanitizer report on a program's stderr fails the case.

Usage: test_client.py [-k SUBSTRING]... SSEHUB SSECAT
Python 3 standard library only.
"""
import argparse
import asyncio
import json
import os
import re
import signal
import socket
import sys
import time
import urllib.parse

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from hubtest.http import Fail, check, form, request  # noqa: E402
from hubtest.hub import LIVE, SANITIZER_RE, Hub  # noqa: E402
from hubtest.runner import Skip, run_cases  # noqa: E402

CASES = []
SSECAT = None
SSEHUB = None
SSE_TAIL = None  # examples/sse_tail, when given
TOPIC = "https://example.com/t"
# Every wait for something to happen (a line on stderr, an exit): generous, because under
# ASan on two busy cores things take ten times as long as on a quiet machine, and a wait
# for a condition costs nothing when the condition comes sooner.
WAIT = 60.0


def case(name, timeout=180):
    def deco(fn):
        CASES.append((name, fn, timeout))
        return fn
    return deco


def no_sanitizer(what, text):
    bad = [l for l in text.splitlines() if SANITIZER_RE.search(l)]
    check(not bad, "%s: sanitizer report: %s" % (what, " | ".join(bad[:5])))


class Cat:
    """One ssecat process; stdout and stderr collected line by line as they come."""

    def __init__(self, *args, stdin=None):
        self.args = [str(a) for a in args]
        self.stdin = stdin
        self.out = []
        self.err = []
        self.proc = None

    async def start(self):
        self.proc = await asyncio.create_subprocess_exec(
            SSECAT, *self.args,
            stdin=asyncio.subprocess.PIPE if self.stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        LIVE.add(self.proc)  # killed by kill_leftovers() if the case is abandoned
        self._tasks = [asyncio.ensure_future(self._drain(self.proc.stdout, self.out)),
                       asyncio.ensure_future(self._drain(self.proc.stderr, self.err))]
        if self.stdin is not None:
            self._tasks.append(asyncio.ensure_future(self._feed()))
        return self

    async def _feed(self):
        try:
            self.proc.stdin.write(self.stdin)
            await self.proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.proc.stdin.close()

    @staticmethod
    async def _drain(stream, lines):
        while True:
            line = await stream.readline()
            if not line:
                return
            lines.append(line.decode("utf-8", errors="replace").rstrip("\n"))

    async def wait(self, timeout=WAIT):
        try:
            rc = await asyncio.wait_for(self.proc.wait(), timeout)
        except asyncio.TimeoutError:
            self.proc.kill()
            await self.proc.wait()
            raise Fail("ssecat %s did not exit within %.0f s; stderr: %s"
                       % (" ".join(self.args), timeout, self.stderr()))
        await asyncio.gather(*self._tasks)
        no_sanitizer("ssecat " + " ".join(self.args), "\n".join(self.err))
        return rc

    async def wait_err(self, pattern, timeout=WAIT):
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(rx.search(l) for l in self.err):
                return
            if self.proc.returncode is not None:
                break
            await asyncio.sleep(0.02)
        raise Fail("ssecat: no stderr line matching %r; stderr: %s" % (pattern, self.stderr()))

    async def wait_out(self, n, timeout=WAIT):
        """Waits until stdout has at least |n| lines."""
        deadline = time.monotonic() + timeout
        while len(self.out) < n:
            if self.proc.returncode is not None or time.monotonic() > deadline:
                raise Fail("ssecat: %d of %d lines on stdout; stderr: %s"
                           % (len(self.out), n, self.stderr()))
            await asyncio.sleep(0.02)

    def stderr(self):
        return " | ".join(self.err[-12:])


async def ssecat(*args, stdin=None, timeout=WAIT):
    c = await Cat(*args, stdin=stdin).start()
    rc = await c.wait(timeout)
    return rc, c


def hub_url(hub, path="/.well-known/mercure", host="127.0.0.1", **query):
    q = ("?" + urllib.parse.urlencode(query)) if query else ""
    return "http://%s:%d%s%s" % (host, hub.port, path, q)


async def publish(hub, data, topic=TOPIC):
    r = await request(hub.port, "POST", "/.well-known/mercure",
                      [("Content-Type", "application/x-www-form-urlencoded")],
                      form(topic=topic, data=data), timeout=WAIT)
    check(r.status == 200, "publish: %r" % r)
    return r.text.strip()


def events_of(cat):
    return [json.loads(l) for l in cat.out]


# ---- Against ssehub ----------------------------------------------------------------------

@case("resume_max_lifetime")
async def resume_max_lifetime(ctx):
    """Streams closed by the hub every 700 ms: the client reconnects with its
    Last-Event-ID and gets every event exactly once, in order. Half the events go out,
    then (once they arrived) the test waits for the hub to close the stream and the client
    to announce its reconnection with the id of the last of them; the other half go out
    right then, while it reconnects, so they reach it through Last-Event-ID and replay.
    The client starts from lastEventID "earliest", so no event is lost to a stream that
    closes before it delivered any (no Last-Event-ID yet), however slow the machine."""
    async with Hub(SSEHUB, ["--max-lifetime", "700ms", "--retry", "100", "--heartbeat", "0"]) as hub:
        n = 40
        cat = await Cat(hub_url(hub, topic=TOPIC), "--json", "--max-events", n,
                        "--last-event-id", "earliest").start()
        sent, ids = [], []
        for i in range(n):
            if i == n // 2:
                await cat.wait_out(n // 2)
                await cat.wait_err(r"; reconnecting in 100 ms with Last-Event-ID %s$"
                                   % re.escape(ids[-1]))
            sent.append("event %d" % i)
            ids.append(await publish(hub, sent[-1]))
            await asyncio.sleep(0.06)
        rc = await cat.wait()
        check(rc == 0, "exit %s, stderr: %s" % (rc, cat.stderr()))
        got = [e["data"] for e in events_of(cat)]
        check(got == sent, "events differ: got %d, first difference at %s"
              % (len(got), next((i for i, (a, b) in enumerate(zip(got, sent)) if a != b), len(got))))
        check([e["id"] for e in events_of(cat)] == ids, "ids differ from the publishes' ids")
        check(any(l.startswith("ssecat: reconnected to ") for l in cat.err),
              "no 'reconnected' line: %s" % cat.stderr())
        return "%d events, %d reconnections" % (len(got),
                                                 sum("reconnected" in l for l in cat.err))


@case("retry_honoured")
async def retry_honoured(ctx):
    """The hub's retry: (here 250 ms; the client's default is 3 s) sets the delay."""
    async with Hub(SSEHUB, ["--max-lifetime", "300ms", "--retry", "250"]) as hub:
        # --timeout: only a guard; SIGINT ends it long before.
        cat = await Cat(hub_url(hub, topic=TOPIC), "--timeout", "600s").start()
        await cat.wait_err(r"reconnecting in 250 ms")
        cat.proc.send_signal(signal.SIGINT)
        rc = await cat.wait()
        check(rc == 130, "SIGINT: exit %s (expected 130)" % rc)


@case("status_204_stops")
async def status_204_stops(ctx):
    async with Hub(SSEHUB) as hub:
        rc, cat = await ssecat(hub_url(hub, "/favicon.ico"), "--retry", "50ms")
        check(rc == 1, "exit %s (expected 1)" % rc)
        check(len(cat.err) == 1 and "HTTP status 204 No Content" in cat.err[0]
              and "not reconnecting" in cat.err[0], "stderr: %s" % cat.stderr())
        check(cat.out == [], "stdout: %s" % cat.out)


@case("wrong_content_type")
async def wrong_content_type(ctx):
    async with Hub(SSEHUB) as hub:
        rc, cat = await ssecat(hub_url(hub, "/healthz"), "--retry", "50ms")
        check(rc == 1, "exit %s (expected 1)" % rc)
        check(len(cat.err) == 1 and "Content-Type 'text/plain" in cat.err[0]
              and "not text/event-stream" in cat.err[0], "stderr: %s" % cat.stderr())
        rc, cat = await ssecat(hub_url(hub, "/nope"))
        check(rc == 1 and "HTTP status 404" in cat.stderr(), "404: exit %s, %s" % (rc, cat.stderr()))


class Redirector:
    """A server that answers every GET /hop/N with a redirect (301, 302, 303, 307, 308 in
    turn) to /hop/N-1, and /hop/0 with one to |final|."""

    def __init__(self, final):
        self.final = final
        self.requests = []

    async def handle(self, reader, writer):
        head = await reader.readuntil(b"\r\n\r\n")
        line = head.split(b"\r\n")[0].decode()
        self.requests.append(head.decode("latin-1"))
        n = int(line.split()[1].rsplit("/", 1)[1])
        code = (301, 302, 303, 307, 308)[n % 5]
        loc = self.final if n == 0 else "/hop/%d" % (n - 1)
        writer.write(("HTTP/1.1 %d Moved\r\nLocation: %s\r\nContent-Length: 0\r\n"
                      "Connection: close\r\n\r\n" % (code, loc)).encode())
        await writer.drain()
        writer.close()

    async def start(self):
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self


@case("redirects")
async def redirects(ctx):
    async with Hub(SSEHUB) as hub:
        await publish(hub, "after redirects")
        r = await Redirector(hub_url(hub, lastEventID="earliest", topic=TOPIC)).start()
        try:
            rc, cat = await ssecat("http://127.0.0.1:%d/hop/9" % r.port, "--max-events", "1",
                                   "-H", "Authorization: Bearer secret")
            check(rc == 0, "exit %s; stderr %s" % (rc, cat.stderr()))
            check(len(cat.out) == 1 and cat.out[0].endswith("after redirects"), "out %s" % cat.out)
            check(len(r.requests) == 10, "%d requests to the redirector" % len(r.requests))
            check(all("Authorization: Bearer secret" in q for q in r.requests),
                  "the same origin keeps the credentials")
            r.requests.clear()
            rc, cat = await ssecat("http://127.0.0.1:%d/hop/10" % r.port, "--max-events", "1")
            check(rc == 1 and "too many redirects" in cat.stderr(),
                  "eleven redirects: exit %s, %s" % (rc, cat.stderr()))
            check(len(r.requests) == 11, "%d requests" % len(r.requests))
        finally:
            r.server.close()


@case("idle_timeout")
async def idle_timeout(ctx):
    """A stream with no data for --idle-timeout is dropped and reconnected, never sooner;
    the reconnected stream delivers. The client starts from lastEventID "earliest" (the
    topic is empty), so the event published after the reconnection is replayed should
    the stream be dropped again before it arrives (no data for 300 ms is easy to reach
    on a busy machine)."""
    async with Hub(SSEHUB, ["--heartbeat", "0"]) as hub:
        t0 = time.monotonic()  # before ssecat connects: its idle timer starts later
        cat = await Cat(hub_url(hub, topic=TOPIC), "--idle-timeout", "300ms", "--retry", "50ms",
                        "--max-events", "1", "--last-event-id", "earliest").start()
        await cat.wait_err(r"no data from 127\.0\.0\.1:\d+ for 300 ms \(idle timeout\); "
                           r"reconnecting in 50 ms")
        waited = time.monotonic() - t0
        # 5 ms: the loop's millisecond clock (see TIMER_SLACK_NS in tests/unit/test_client.c)
        check(waited >= 0.295, "the idle timeout fired %.0f ms after ssecat started" % (waited * 1000))
        await cat.wait_err(r"^ssecat: reconnected to ")
        await publish(hub, "still alive")
        rc = await cat.wait()
        check(rc == 0 and len(cat.out) == 1 and cat.out[0].startswith("[message] ")
              and cat.out[0].endswith(": still alive"), "exit %s, out %s" % (rc, cat.out))


@case("publish_10000", timeout=300)
async def publish_10000(ctx):
    """10,000 lines (with characters a form must escape) published over one pipelined
    connection, all acknowledged, all received by a subscriber in order."""
    n = 10000
    lines = ["line %05d a&b=c+d %%25 \u00e9\u6f22 \"q\" <x>" % i for i in range(n)]
    lines[7] = ""  # an empty line is an event with empty data
    async with Hub(SSEHUB, ["--history", "20000"]) as hub:
        sub = await Cat(hub_url(hub, topic=TOPIC), "--json", "--max-events", n,
                        "--last-event-id", "earliest").start()
        stdin = ("\n".join(lines[:-1]) + "\r\n" + lines[-1]).encode()  # CRLF, no final LF
        rc, pub = await ssecat("--publish", hub_url(hub), "--topic", TOPIC, "--type", "log",
                               stdin=stdin, timeout=240)
        check(rc == 0, "publish: exit %s, stderr %s" % (rc, pub.stderr()))
        check(pub.err == [], "publish stderr: %s" % pub.stderr())
        rc = await sub.wait(timeout=240)
        check(rc == 0, "subscriber: exit %s, stderr %s" % (rc, sub.stderr()))
        evs = events_of(sub)
        got = [e["data"] for e in evs]
        check(got == lines, "received %d events; first difference at %s" % (
            len(got), next((i for i, (a, b) in enumerate(zip(got, lines)) if a != b), len(got))))
        check(all(e["event"] == "log" for e in evs), "types")
        ids = [int(e["id"]) for e in evs]
        check(ids == sorted(ids) and len(set(ids)) == n, "ids not increasing")
        return "%d published and received" % n


@case("publish_failures")
async def publish_failures(ctx):
    async with Hub(SSEHUB) as hub:
        rc, pub = await ssecat("--publish", hub_url(hub, "/healthz"), "--topic", TOPIC,
                               stdin=b"one\ntwo\n")
        check(rc == 1, "exit %s" % rc)
        check(any(re.search(r"publish of line 1 failed: 405 Method Not Allowed: method not "
                            r"allowed", l) for l in pub.err), "stderr: %s" % pub.stderr())
        check(any("publish of line 2 failed: 405" in l for l in pub.err), pub.stderr())
        check(pub.err[-1] == "ssecat: 2 of 2 publishes failed", pub.stderr())
        # A publish the hub refuses (400: retry must be a number) among good ones.
        rc, pub = await ssecat("--publish", hub_url(hub), "--topic", "", stdin=b"x\n")
        check(rc == 1 and "publish of line 1 failed: 400" in pub.stderr(), pub.stderr())
        rc, pub = await ssecat("--publish", "http://127.0.0.1:1/", "--topic", "t", stdin=b"x\n")
        check(rc == 1 and "connection refused" in pub.stderr(), pub.stderr())
        rc, pub = await ssecat("--publish", hub_url(hub), "--topic", TOPIC, stdin=b"")
        check(rc == 0 and pub.err == [], "empty input: exit %s %s" % (rc, pub.stderr()))


# ---- Against servers written here ---------------------------------------------------------

class PublishSink:
    """A publish endpoint that records the data of each request it processes, in order.
    With |close_every| = N it answers every Nth request with Connection: close and closes,
    processing nothing after it (as RFC 9112 requires); with |drop_after| = N it closes
    without a word after answering N requests."""

    def __init__(self, close_every=0, drop_after=0):
        self.close_every = close_every
        self.drop_after = drop_after
        self.data = []
        self.connections = 0

    async def handle(self, reader, writer):
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(re.search(rb"(?i)\r\ncontent-length: *(\d+)", head).group(1))
                body = await reader.readexactly(length)
                if self.drop_after and len(self.data) >= self.drop_after:
                    break
                self.data.append(urllib.parse.parse_qs(body.decode(), keep_blank_values=True)
                                 ["data"][0])
                close = self.close_every and len(self.data) % self.close_every == 0
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n%s\r\nok"
                             % (b"Connection: close\r\n" if close else b""))
                await writer.drain()
                if close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    async def start(self):
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self


@case("publish_reconnects")
async def publish_reconnects(ctx):
    """A server that closes the connection after every 7th reply, as announced: the
    requests after it go again on a new connection; each line is processed once, in
    order. A server that drops the connection unannounced: exit 1, naming how many
    publishes are unacknowledged."""
    lines = ["l%d" % i for i in range(100)]
    sink = await PublishSink(close_every=7).start()
    try:
        rc, pub = await ssecat("--publish", "http://127.0.0.1:%d/p" % sink.port, "--topic", "t",
                               stdin=("\n".join(lines) + "\n").encode())
        check(rc == 0, "exit %s %s" % (rc, pub.stderr()))
        check(sink.data == lines, "processed %d: %s" % (len(sink.data), sink.data[:12]))
        check(sink.connections == 15, "%d connections" % sink.connections)
        check(any("closed the connection as announced; reconnecting to send" in l
                  for l in pub.err), pub.stderr())
    finally:
        sink.server.close()
    sink = await PublishSink(drop_after=3).start()
    try:
        rc, pub = await ssecat("--publish", "http://127.0.0.1:%d/p" % sink.port, "--topic", "t",
                               stdin=("\n".join(lines[:10]) + "\n").encode())
        check(rc == 1 and any(re.search(r"connection to 127\.0\.0\.1:\d+ lost \(.*\) with 7 "
                                        r"of 10 publishes unacknowledged", l) for l in pub.err),
              "exit %s, %s" % (rc, pub.stderr()))
    finally:
        sink.server.close()


class Recorder:
    """An SSE server that records each request head and answers the Nth with
    responses[N] (bytes), then closes."""

    def __init__(self, responses, host="127.0.0.1"):
        self.responses = responses
        self.requests = []
        self.host = host

    async def handle(self, reader, writer):
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            writer.close()
            return
        i = len(self.requests)
        self.requests.append(head.decode("latin-1"))
        writer.write(self.responses[min(i, len(self.responses) - 1)])
        await writer.drain()
        writer.close()

    async def start(self):
        self.server = await asyncio.start_server(self.handle, self.host, 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self


def chunked(body):
    out = b""
    for i in range(0, len(body), 7):
        piece = body[i:i + 7]
        out += b"%x\r\n%s\r\n" % (len(piece), piece)
    return out + b"0\r\n\r\n"


SSE_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n"


@case("request_headers")
async def request_headers(ctx):
    """Accept and Cache-Control on every request, -H headers, --last-event-id on the
    first and the stream's id after a reconnection; a chunked body and an identity one."""
    r = await Recorder([
        SSE_HEAD + b"Transfer-Encoding: chunked\r\n\r\n"
        + chunked(b"retry: 50\nid: 7\nevent: a\ndata: one\ndata: two\n\n"),
        SSE_HEAD + b"Content-Length: 20\r\n\r\nid: 8\ndata: three\n\n",
    ]).start()
    try:
        rc, cat = await ssecat("http://127.0.0.1:%d/s?x=1" % r.port, "-H", "Cookie: k=v",
                               "-H", "Authorization: Bearer t0k", "--last-event-id", "6",
                               "--max-events", "2")
        check(rc == 0, "exit %s, %s" % (rc, cat.stderr()))
        check(cat.out == ["[a] 7: one", "two", "[message] 8: three"], "out %s" % cat.out)
        check(len(r.requests) == 2, "%d requests" % len(r.requests))
        for q in r.requests:
            check(q.startswith("GET /s?x=1 HTTP/1.1\r\n"), q)
            for h in ("Accept: text/event-stream", "Cache-Control: no-cache", "Cookie: k=v",
                      "Authorization: Bearer t0k", "Host: 127.0.0.1:%d" % r.port):
                check("\r\n%s\r\n" % h in q, "%r missing in %r" % (h, q))
        check("\r\nLast-Event-ID: 6\r\n" in r.requests[0], r.requests[0])
        check("\r\nLast-Event-ID: 7\r\n" in r.requests[1], r.requests[1])
        check(any("end of stream" in l and "reconnecting in 50 ms with Last-Event-ID 7" in l
                  for l in cat.err), cat.stderr())
    finally:
        r.server.close()


@case("ipv6")
async def ipv6(ctx):
    try:
        s = socket.socket(socket.AF_INET6)
        s.bind(("::1", 0))
        s.close()
    except OSError:
        raise Skip("no IPv6 loopback")
    r = await Recorder([SSE_HEAD + b"\r\ndata: over v6\n\n"], host="::1").start()
    try:
        rc, cat = await ssecat("http://[::1]:%d/" % r.port, "--max-events", "1", "--json")
        check(rc == 0 and events_of(cat) == [{"event": "message", "data": "over v6", "id": ""}],
              "exit %s out %s err %s" % (rc, cat.out, cat.stderr()))
        check("\r\nHost: [::1]:%d\r\n" % r.port in r.requests[0], r.requests[0])
    finally:
        r.server.close()


@case("cross_origin_redirect")
async def cross_origin_redirect(ctx):
    """Credentials (-H Authorization, Cookie) are not sent to another origin."""
    final = await Recorder([SSE_HEAD + b"\r\ndata: moved\n\n"]).start()
    first = await Recorder([b"HTTP/1.1 307 Temporary Redirect\r\nLocation: http://localhost:%d/e"
                            b"\r\nContent-Length: 0\r\n\r\n" % final.port]).start()
    try:
        rc, cat = await ssecat("http://127.0.0.1:%d/" % first.port, "--max-events", "1",
                               "-H", "Authorization: Bearer t", "-H", "X-Other: kept")
        check(rc == 0, "exit %s %s" % (rc, cat.stderr()))
        q = final.requests[0]
        check("Authorization" not in q and "\r\nX-Other: kept\r\n" in q, q)
        check("Authorization: Bearer t" in first.requests[0], first.requests[0])
    finally:
        final.server.close()
        first.server.close()


@case("refused_and_sigint")
async def refused_and_sigint(ctx):
    # A port held bound but not listening, so connections are refused and no other process
    # (hubs of other tests listening on port 0) can take it during the case.
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    port = held.getsockname()[1]
    try:
        await refused_and_sigint_on(port)
    finally:
        held.close()


async def refused_and_sigint_on(port):
    cat = await Cat("http://127.0.0.1:%d/" % port, "--retry", "20ms", "--max-backoff", "100ms").start()
    await cat.wait_err(r"cannot connect to 127\.0\.0\.1: connection refused; reconnecting in \d+ ms")
    await cat.wait_err(r"reconnecting in (7[5-9]|8\d|9\d|100) ms")  # backed off to the cap
    cat.proc.send_signal(signal.SIGINT)
    rc = await cat.wait()
    check(rc == 130, "exit %s" % rc)
    rc, cat = await ssecat("http://127.0.0.1:%d/" % port, "--max-events", "1", "--timeout", "300ms")
    check(rc == 1 and "--timeout: 0 of 1 events in 300 ms" in cat.stderr(), cat.stderr())
    rc, cat = await ssecat("http://127.0.0.1:%d/" % port, "--timeout", "200ms")
    check(rc == 0, "--timeout without --max-events: exit %s" % rc)


@case("usage_errors")
async def usage_errors(ctx):
    for args, want in [
        (["ftp://x/"], "not an http:// or https:// URL"),
        (["http://h/", "--max-events", "x"], "--max-events"),
        (["http://h/", "--timeout", "5"], "--timeout"),
        (["http://h/", "-H", "NoColon"], "-H"),
        (["http://h/", "http://i/"], "one URL only"),
        (["--publish", "http://h/"], "--publish needs --topic"),
        (["--publish", "x", "--topic", "t"], "--publish: 'x' is not"),
        (["http://h/", "--parse"], "use one of"),
        (["--max-events"], "--max-events needs a value"),
        (["https://h/", "--cacert", "/nonexistent.pem"], None),
        ([], "give a URL"),
    ]:
        rc, cat = await ssecat(*args)
        if want is None:  # not a usage error, but a one-line reason naming the flag
            check(rc == 1 and cat.err == ["ssecat: --cacert: cannot load CA certificates "
                                          "from '/nonexistent.pem'"], "%s: %s" % (args, cat.err))
            continue
        check(rc == 2 and any(want in l for l in cat.err),
              "%s: exit %s, stderr %s" % (args, rc, cat.stderr()))


@case("example_sse_tail")
async def example_sse_tail(ctx):
    """examples/sse_tail (ssehub_client_run, the shared library) against ssehub."""
    if SSE_TAIL is None:
        raise Skip("no sse_tail given")
    async with Hub(SSEHUB, ["--history", "10"]) as hub:
        await publish(hub, "one")
        await publish(hub, "two")
        p = await asyncio.create_subprocess_exec(
            SSE_TAIL, hub_url(hub, topic=TOPIC, lastEventID="earliest"), "2",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        LIVE.add(p)  # killed by kill_leftovers() if the case is abandoned
        out, err = await asyncio.wait_for(p.communicate(), WAIT)
        no_sanitizer("sse_tail", err.decode())
        lines = out.decode().splitlines()
        check(p.returncode == 0 and [l.split("\t")[1:] for l in lines]
              == [["message", "one"], ["message", "two"]],
              "exit %s out %r err %r" % (p.returncode, out, err))
        p = await asyncio.create_subprocess_exec(
            SSE_TAIL, hub_url(hub, "/healthz"), stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        LIVE.add(p)
        out, err = await asyncio.wait_for(p.communicate(), WAIT)
        check(p.returncode == 1 and b"not text/event-stream" in err, "healthz: %r" % err)




async def run_case(fn, timeout):
    return await asyncio.wait_for(fn(None), timeout)


def main():
    global SSECAT, SSEHUB, SSE_TAIL
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("ssehub")
    ap.add_argument("ssecat")
    ap.add_argument("sse_tail", nargs="?")
    ap.add_argument("-k", action="append", default=[])
    a = ap.parse_args()
    SSE_TAIL = os.path.abspath(a.sse_tail) if a.sse_tail else None
    SSEHUB = os.path.abspath(a.ssehub)
    SSECAT = os.path.abspath(a.ssecat)
    return run_cases(CASES, a.k, lambda name, fn, timeout: asyncio.run(run_case(fn, timeout)),
                     width=24)


if __name__ == "__main__":
    sys.exit(main())
