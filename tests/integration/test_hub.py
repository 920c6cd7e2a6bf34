#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""ssehub integration tests: each case starts a real hub
(`ssehub --listen 127.0.0.1:0 --store memory --threads 2 ...`), talks to it over raw
sockets, then stops it with SIGTERM and checks it exits 0 within 5 s with no sanitizer
report on stderr.

Usage: test_hub.py [-k SUBSTRING]... [--list] PATH-TO-SSEHUB
Prints one line per case (ok / FAIL / skip) and exits 1 if any case failed.
Python 3 standard library only.
"""
import asyncio
import json
import os
import random
import re
import resource
import signal
import socket
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from hubtest.http import (Conn, Fail, Stream, check, patient, publish_bytes,  # noqa: E402
                          request, request_bytes)
from hubtest.hub import Hub  # noqa: E402
from hubtest.runner import parse_args, run_cases, Skip, where as where_in  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
METRICS_C = os.path.join(HERE, "..", "..", "src", "server", "metrics.c")


CASES = []


def case(name, timeout=60):
    def deco(fn):
        CASES.append((name, fn, timeout))
        return fn
    return deco


class Ctx:
    """What a case gets: the binary, and a registry of client connections closed at the
    end of the case."""

    def __init__(self, exe):
        self.exe = exe
        self.conns = []
        self.notes = []
        self.soft = Soft()

    def hub(self, *args, env=None):
        return Hub(self.exe, args, env)

    async def conn(self, hub, **kw):
        return await Conn.open(hub.port, registry=self.conns, **kw)

    async def stream(self, hub, **kw):
        return await Stream.subscribe(hub.port, registry=self.conns, **kw)

    def note(self, text):
        self.notes.append(text)

    def cleanup(self):
        for c in self.conns:
            c.close()
        self.conns.clear()


class Soft:
    """`with ctx.soft("label"):` records a Fail (or a timeout) and lets the case go on; the
    runner fails the case at the end with every recorded failure."""

    def __init__(self):
        self.fails = []
        self.count = 0

    def __call__(self, label):
        return _SoftBlock(self, label)


class _SoftBlock:
    def __init__(self, soft, label):
        self.soft = soft
        self.label = label

    def __enter__(self):
        self.soft.count += 1
        return self

    def __exit__(self, et, ev, tb):
        if et is None:
            return False
        if issubclass(et, Fail):
            self.soft.fails.append(str(ev))
            return True
        if issubclass(et, (asyncio.TimeoutError, asyncio.IncompleteReadError, ConnectionError)):
            self.soft.fails.append("%s: %s" % (self.label, et.__name__))
            return True
        return False



# ---- helpers

def chunks(seq, n):
    seq = list(seq)
    return [seq[i:i + n] for i in range(0, len(seq), n)]


def is_hub_id(s):
    return s.isdigit() and len(s) > 0


def first_diff(got, want):
    """A short description of where two lists part."""
    for i, (g, w) in enumerate(zip(got, want)):
        if g != w:
            return "at %d got %r, expected %r" % (i, g, w)
    if len(got) != len(want):
        return "got %d items, expected %d (extra/missing from %r)" % (
            len(got), len(want), (got[len(want):] or want[len(got):])[:3])
    return "equal"


def check_seq(got, want, what):
    check(got == want, "%s: %s" % (what, first_diff(got, want)))


def media_type(resp):
    return (resp.header("Content-Type") or "").split(";")[0].strip().lower()


def check_error(resp, status, contains, what):
    """A plain-text one-line error with |status| whose body contains |contains|."""
    check(resp.status == status, "%s: expected %d, got %d %s %r"
          % (what, status, resp.status, resp.reason, resp.body[:200]))
    check(media_type(resp) == "text/plain",
          "%s: expected a text/plain body, got Content-Type %r"
          % (what, resp.header("Content-Type")))
    body = resp.text
    check(body.endswith("\n") and "\n" not in body[:-1] and body.strip() != "",
          "%s: expected a one-line reason, got %r" % (what, body))
    check(contains.lower() in body.lower(),
          "%s: expected the reason to mention %r, got %r" % (what, contains, body))


async def publish_many(conn, reqs, window=10):
    """Pipelines |reqs| (bytes) |window| at a time; returns the responses in order."""
    out = []
    for batch in chunks(reqs, window):
        conn.send(b"".join(batch))
        await conn.drain()
        for _ in batch:
            out.append(await conn.read_response(15))
    return out


def pub(topics, data=None, **fields):
    """A form publish request: |topics| a name or a list; other fields by keyword."""
    if isinstance(topics, str):
        topics = [topics]
    pairs = [("topic", t) for t in topics]
    if data is not None:
        pairs.append(("data", data))
    for k, v in fields.items():
        if v is not None:
            pairs.append((k, v))
    return publish_bytes(pairs)


async def publish1(conn, topics, data=None, **fields):
    conn.send(pub(topics, data, **fields))
    await conn.drain()
    return await conn.read_response(15)


def ids_of(stream):
    return [e.id for e in stream.events]


# ---- 1. fan-out

@case("fanout")
async def t_fanout(ctx):
    """1,000 subscribers over a, b, a+b and *, 100 events (some to c, some to a and b)."""
    async with ctx.hub() as hub:
        kinds = {"a": (["a"], 400), "b": (["b"], 400), "ab": (["a", "b"], 100),
                 "all": (["*"], 100)}
        specs = [(k, i) for k, (_, n) in kinds.items() for i in range(n)]

        async def open_one(kind, i):
            topics = kinds[kind][0]
            path = None
            if kind == "all" and i % 2 == 1:
                path = "/events?topic=*"  # the alias, with a raw '*'
            return kind, await ctx.stream(hub, topics=topics, path=path)

        subs = []
        for batch in chunks(specs, 100):
            subs += await asyncio.gather(*(open_one(k, i) for k, i in batch))
        n = await hub.wait_metric("ssehub_subscribers_connected", lambda v: v == 1000, 5)
        check(n == 1000, "ssehub_subscribers_connected: expected 1000, got %s" % n)
        d0 = await hub.metric("ssehub_deliveries_total")
        p0 = await hub.metric("ssehub_publishes_total")

        plan = []
        for i in range(100):
            r = i % 10
            topics = ["a"] if r < 4 else ["b"] if r < 8 else ["c"] if r == 8 else ["a", "b"]
            plan.append((topics, "fan-out event %d" % i))
        pc = await ctx.conn(hub)
        resps = await publish_many(pc, [pub(t, d) for t, d in plan], window=10)
        for i, r in enumerate(resps):
            check(r.status == 200, "publish %d: expected 200, got %r" % (i, r))
        ids = [r.text for r in resps]
        check(all(is_hub_id(x) for x in ids), "hub-assigned ids are not decimal: %r" % ids[:5])
        check(all(int(ids[i]) < int(ids[i + 1]) for i in range(99)),
              "hub ids not increasing in publish order: %r" % ids[:10])

        want = {}
        for kind, (topics, _) in kinds.items():
            want[kind] = [(ids[i], plan[i][1]) for i in range(100)
                          if "*" in topics or set(topics) & set(plan[i][0])]
        expected_deliveries = sum(len(want[k]) * kinds[k][1] for k in kinds)

        await asyncio.gather(*(s.wait_events(len(want[k]), 30) for k, s in subs))
        await asyncio.gather(*(s.read_for(0.3) for _, s in subs))  # anything extra?
        bad = []
        for k, s in subs:
            got = [(e.id, e.data) for e in s.events]
            if got != want[k] or any(e.type != "message" for e in s.events) or s.eof:
                bad.append("%s subscriber: %s%s" % (k, first_diff(got, want[k]),
                                                    " (stream closed)" if s.eof else ""))
        check(not bad, "%d of 1000 subscribers did not get exactly their events; first: %s"
              % (len(bad), bad[0] if bad else ""))
        d1 = await hub.wait_metric("ssehub_deliveries_total",
                                   lambda v: v - d0 >= expected_deliveries, 5)
        check(d1 - d0 == expected_deliveries, "ssehub_deliveries_total grew by %d, expected %d"
              % (d1 - d0, expected_deliveries))
        p1 = await hub.metric("ssehub_publishes_total")
        check(p1 - p0 == 100, "ssehub_publishes_total grew by %d, expected 100" % (p1 - p0))
        n = await hub.metric("ssehub_subscribers_connected")
        check(n == 1000, "ssehub_subscribers_connected after publishing: %s, expected 1000" % n)
        return "1000 subscribers, %d deliveries" % expected_deliveries


# ---- 2. stream format and publish replies

@case("stream-format")
async def t_format(ctx):
    async with ctx.hub("--retry", "1500") as hub:
        s = await ctx.stream(hub, topics=["fmt"], keep_raw=True)
        h = s.resp
        check(h.raw_head.startswith(b"HTTP/1.1 200 OK\r\n"), "status line: %r" % h.raw_head[:40])
        check(h.header("Content-Type") == "text/event-stream",
              "Content-Type: %r" % h.header("Content-Type"))
        check(h.header("Cache-Control") == "no-cache",
              "Cache-Control: %r" % h.header("Cache-Control"))
        check(h.header("X-Accel-Buffering") == "no",
              "X-Accel-Buffering: %r" % h.header("X-Accel-Buffering"))
        check(h.header("Last-Event-ID") == "earliest",
              "Last-Event-ID on an empty hub: %r, expected 'earliest'" % h.header("Last-Event-ID"))
        check(not h.has("Content-Length"), "an event stream has a Content-Length")
        ok = await s.read_until(lambda st: st.sse.retry is not None, 5)
        check(ok, "no retry: line within 5 s; got %r" % bytes(s.raw[:100]))
        check(s.raw[:1] == b":",
              "the stream does not start with a ':' comment: %r" % bytes(s.raw[:40]))
        check(s.sse.retries == [1500], "retry values %r, expected [1500]" % s.sse.retries)
        check(not s.events, "events on a fresh stream: %r" % s.events)

        pc = await ctx.conn(hub)
        data = "  leading spaces\n\nafter an empty line\n   \nlast line "
        r = await publish1(pc, "fmt", data, type="update")
        check(r.status == 200, "publish: expected 200, got %r" % r)
        check(media_type(r) == "text/plain",
              "publish reply Content-Type %r" % r.header("Content-Type"))
        eid = r.text
        check(is_hub_id(eid), "publish reply body is not a hub id: %r" % r.body)
        check(await s.wait_events(1, 5), "the event did not arrive within 5 s")
        e = s.events[0]
        check((e.id, e.type, e.data) == (eid, "update", data),
              "event: got %r, expected %r" % (tuple(e), (eid, "update", data)))
        frame = ("id: %s\nevent: update\ndata:   leading spaces\ndata: \n"
                 "data: after an empty line\ndata:    \ndata: last line \n\n" % eid).encode()
        check(frame in s.raw, "the frame on the wire is not %r; stream: %r" % (frame, bytes(s.raw)))

        # A client-supplied id is kept; retry: on an event; CRLF in data is a line break.
        r = await publish1(pc, "fmt", "x\r\ny", id="client-id-1", retry="2500")
        check(r.status == 200 and r.text == "client-id-1",
              "publish with id=client-id-1: got %r" % r)
        check(await s.wait_events(2, 5), "the second event did not arrive")
        e = s.events[1]
        check((e.id, e.type, e.data) == ("client-id-1", "message", "x\ny"),
              "event with a client id: %r" % (tuple(e),))
        check(s.sse.retry == 2500, "retry: 2500 of the event not seen (retry=%r)" % s.sse.retry)

        # JSON: data as any JSON value is sent serialized.
        body = json.dumps({"topic": ["fmt", "other"], "data": {"k": [1, 2], "s": "v"},
                           "id": "json-1", "type": "j"}).encode()
        r = await pc.request("POST", "/.well-known/mercure",
                             [("Content-Type", "application/json")], body)
        check(r.status == 200 and r.text == "json-1", "JSON publish: got %r" % r)
        check(await s.wait_events(3, 5), "the JSON event did not arrive")
        e = s.events[2]
        check((e.id, e.type) == ("json-1", "j") and json.loads(e.data) == {"k": [1, 2], "s": "v"},
              "JSON event: %r" % (tuple(e),))

        # No data at all: an event with empty data still dispatches.
        r = await publish1(pc, "fmt")
        check(r.status == 200, "publish without data: %r" % r)
        check(await s.wait_events(4, 5), "the event without data did not arrive")
        check(s.events[3].data == "" and s.events[3].id == r.text,
              "event without data: %r" % (tuple(s.events[3]),))
        newest = r.text

        # A retained id again: 409, and nothing is delivered.
        r = await publish1(pc, "fmt", "dup", id="client-id-1")
        check_error(r, 409, "id", "duplicate id")
        await s.read_for(0.3)
        check(len(s.events) == 4,
              "an event was delivered for the refused publish: %r" % s.events[4:])
        # The keep-alive connection still publishes after the 409.
        r = await publish1(pc, "fmt", "after 409")
        check(r.status == 200, "publish after a 409 on the same connection: %r" % r)
        newest = r.text

        # A new stream without Last-Event-ID: the header is the newest id, nothing replayed.
        s2 = await ctx.stream(hub, topics=["fmt"])
        check(s2.resp.header("Last-Event-ID") == newest,
              "Last-Event-ID without resume: %r, expected the newest id %r"
              % (s2.resp.header("Last-Event-ID"), newest))
        await s2.read_for(0.3)
        check(not s2.events, "a stream without Last-Event-ID got a replay: %r" % s2.events)

        # A publisher takes the id the hub would assign next: ids stay unique, and resuming
        # from each one gets exactly what followed it.
        first = (await publish1(pc, "uniq", "u0")).text
        check(is_hub_id(first), "hub id %r" % first)
        taken = str(int(first) + 2)  # the publish with it uses up first + 1
        r = await publish1(pc, "uniq", "u1", id=taken)
        check(r.status == 200 and r.text == taken, "publish with id=%s: %r" % (taken, r))
        later = [(await publish1(pc, "uniq", "u%d" % i)).text for i in (2, 3)]
        chain = [first, taken] + later
        check(len(set(chain)) == 4, "ids are not unique when a publisher takes the next hub "
              "id: %r" % chain)
        for k in range(3):
            st = await replay_stream(ctx, hub, 3 - k, topics=["uniq"], last_id=chain[k])
            check_seq([(e.id, e.data) for e in st.events],
                      [(chain[j], "u%d" % j) for j in range(k + 1, 4)],
                      "resume from %r (ids %r)" % (chain[k], chain))


# ---- 3. replay

async def replay_stream(ctx, hub, n_expected, **kw):
    s = await ctx.stream(hub, **kw)
    await s.wait_events(n_expected, 5)
    await s.read_for(0.2)
    return s


@case("replay")
async def t_replay(ctx):
    async with ctx.hub() as hub:
        pc = await ctx.conn(hub)
        A = []
        for i in range(20):
            r = await publish1(pc, "r", "r%d" % i)
            check(r.status == 200, "publish: %r" % r)
            A.append(r.text)
            if i % 3 == 0:
                r = await publish1(pc, "s", "s%d" % i)
                check(r.status == 200, "publish: %r" % r)
        r = await publish1(pc, "s", "newest")
        newest = r.text

        def want(k):
            return [(A[j], "r%d" % j) for j in range(k + 1, 20)]

        def got(s):
            return [(e.id, e.data) for e in s.events]

        async def expect(label, k, header, **kw):
            s = await replay_stream(ctx, hub, len(want(k)), topics=["r"], **kw)
            check_seq(got(s), want(k), label)
            check(s.resp.header("Last-Event-ID") == header,
                  "%s: Last-Event-ID header %r, expected %r"
                  % (label, s.resp.header("Last-Event-ID"), header))
            return s

        await expect("Last-Event-ID header", 9, A[9], last_id=A[9])
        await expect("lastEventID query", 5, A[5], query_last_id=A[5])
        await expect("header and query (header wins)", 12, A[12], last_id=A[12], query_last_id=A[3])
        await expect("earliest (header)", -1, "earliest", last_id="earliest")
        await expect("earliest (query)", -1, "earliest", query_last_id="earliest")
        await expect("last id = newest of the topic", 19, A[19], last_id=A[19])
        s = await ctx.stream(hub, topics=["r"], last_id="no-such-id")
        check(s.resp.header("Last-Event-ID") == newest,
              "unknown id: Last-Event-ID header %r, expected the newest id %r"
              % (s.resp.header("Last-Event-ID"), newest))
        await s.read_for(0.3)
        check(not s.events, "unknown id: replayed %r" % s.events[:3])
        r = await publish1(pc, "r", "live")
        check(await s.wait_events(1, 5), "unknown id: the live event did not arrive")
        check_seq(got(s), [(r.text, "live")], "unknown id: live events")

        # Events on several topics are replayed once each, in publish order; private
        # updates are not replayed to an anonymous subscriber.
        multi = []
        for topics, data, extra in ((["m1"], "m-1", {}), (["m1", "m2"], "m-2", {}),
                                    (["m2"], "m-3", {}), (["m2", "m1"], "m-4", {}),
                                    (["m1"], "m-private", {"private": "on"}),
                                    (["m3"], "m-5", {})):
            r = await publish1(pc, topics, data, **extra)
            check(r.status == 200, "publish %s: %r" % (data, r))
            multi.append((r.text, data))
        s = await replay_stream(ctx, hub, 4, topics=["m1", "m2"], last_id=A[19])
        check_seq(got(s), multi[:4], "replay of topic=m1&topic=m2 (events on both topics once)")
        s = await replay_stream(ctx, hub, 4, topics=["*"], last_id=multi[0][0])
        check_seq([x for x in got(s) if x[1].startswith("m-")], multi[1:4] + multi[5:],
                  "replay to * from the first m event")

        # Continuity: a publisher hammers topic c while subscribers connect with last ids.
        P = []
        stop = asyncio.Event()

        async def publisher():
            c = await ctx.conn(hub)
            i = 0
            while i < 800 and not stop.is_set():
                resps = await publish_many(c, [pub("c", "c%d" % (i + j)) for j in range(5)], 5)
                for x in resps:
                    check(x.status == 200, "publisher: %r" % x)
                    P.append(x.text)
                i += 5
                await asyncio.sleep(0.008)

        rnd = random.Random(7)
        ptask = asyncio.ensure_future(publisher())
        t0 = time.monotonic()
        while len(P) < 10 and time.monotonic() - t0 < 10:
            await asyncio.sleep(0.01)
        check(len(P) >= 10, "the publisher is stuck")
        subs = []
        modes = ["header", "query", "none", "earliest"]
        for i in range(16):
            await asyncio.sleep(rnd.uniform(0.02, 0.12))
            mode = modes[i % 4]
            k = rnd.randrange(len(P))
            if mode == "header":
                st = await ctx.stream(hub, topics=["c"], last_id=P[k])
            elif mode == "query":
                st = await ctx.stream(hub, topics=["c"], query_last_id=P[k])
            elif mode == "none":
                st = await ctx.stream(hub, topics=["c"])
            else:
                st = await ctx.stream(hub, topics=["c"], last_id="earliest")
            subs.append((mode, P[k], st))
        await ptask
        check(P and len(P) <= 1000, "publisher published %d events" % len(P))
        last = P[-1]
        await asyncio.gather(*(st.read_until(
            lambda x: x.events and x.events[-1].id == last or x.eof, 10) for _, _, st in subs))
        await asyncio.gather(*(st.read_for(0.2) for _, _, st in subs))
        for i, (mode, lid, st) in enumerate(subs):
            hdr = st.resp.header("Last-Event-ID")
            if mode in ("header", "query"):
                start = P.index(lid) + 1
                check(hdr == lid, "continuity %s: Last-Event-ID header %r, expected %r"
                      % (mode, hdr, lid))
            elif mode == "earliest":
                start = 0
            else:
                check(hdr in P,
                      "continuity none: Last-Event-ID header %r is not a topic-c id" % hdr)
                start = P.index(hdr) + 1
            check_seq(ids_of(st), P[start:],
                      "continuity subscriber %d (%s, from index %d of %d)"
                      % (i, mode, start, len(P)))
        cont = "%d continuity subscribers over %d live events" % (len(subs), len(P))

    # Retention edges: --history 5.
    async with ctx.hub("--history", "5") as hub:
        pc = await ctx.conn(hub)
        B = []
        for i in range(10):
            r = await publish1(pc, "r", "b%d" % i)
            check(r.status == 200, "publish: %r" % r)
            B.append(r.text)
        kept = [(B[j], "b%d" % j) for j in range(5, 10)]

        async def expect_b(label, lid, want_list):
            s = await replay_stream(ctx, hub, len(want_list), topics=["r"], last_id=lid)
            check_seq([(e.id, e.data) for e in s.events], want_list, label)
            check(s.resp.header("Last-Event-ID") == lid, "%s: Last-Event-ID header %r, expected %r"
                  % (label, s.resp.header("Last-Event-ID"), lid))

        await expect_b("--history 5, earliest", "earliest", kept)
        await expect_b("--history 5, oldest retained id", B[5], kept[1:])
        await expect_b("--history 5, id just evicted", B[4], kept)
        await expect_b("--history 5, id long evicted", B[1], kept)
    return cont


# ---- 4. history age

@case("history-age")
async def t_history_age(ctx):
    async with ctx.hub("--history-age", "1s") as hub:
        pc = await ctx.conn(hub)
        old = [(await publish1(pc, "h", "old%d" % i)).text for i in range(3)]
        await asyncio.sleep(1.4)
        new = [(await publish1(pc, "h", "new%d" % i)).text for i in range(2)]
        for label, kw in (("earliest", {"last_id": "earliest"}),
                          ("Last-Event-ID = an old id", {"last_id": old[0]})):
            s = await replay_stream(ctx, hub, 2, topics=["h"], **kw)
            check_seq([(e.id, e.data) for e in s.events], [(new[0], "new0"), (new[1], "new1")],
                      "--history-age 1s, %s" % label)
        n = await hub.wait_metric("ssehub_history_events", lambda v: v <= 2, 3)
        check(n <= 2, "ssehub_history_events is %s 3 s after the old events aged out" % n)


# ---- 5. errors and limits

@case("errors", timeout=90)
async def t_errors(ctx):
    """Each sub-check is soft: a failure is recorded and the next one still runs."""
    soft = ctx.soft
    # The default --header-timeout (10 s): on a busy machine a client may take more than a
    # second between two requests of a keep-alive connection. The 1 s timeout has a hub of
    # its own below.
    async with ctx.hub("--max-topics", "3", "--max-body", "1KiB", "--max-header", "2KiB") as hub:
        port = hub.port
        form_ct = [("Content-Type", "application/x-www-form-urlencoded")]
        M = "/.well-known/mercure"

        with soft("GET without topic"):
            r = await request(port, "GET", M)
            check_error(r, 400, "topic", "GET without topic")
        with soft("too many topics"):
            r = await request(port, "GET", M + "?topic=1&topic=2&topic=3&topic=4")
            check_error(r, 400, "too many topics", "GET with 4 topics, --max-topics 3")
            s = await ctx.stream(hub, topics=["1", "2", "3"])  # 3 is fine
            s.close()
        with soft("bad lastEventID"):
            r = await request(port, "GET", M + "?topic=x&lastEventID=%01")
            check_error(r, 400, "Last-Event-ID", "lastEventID with a control character")
        with soft("bad retry"):
            r = await request(port, "POST", M, form_ct, b"topic=x&data=y&retry=abc")
            check_error(r, 400, "retry", "publish with retry=abc")
        with soft("publish without topic"):
            r = await request(port, "POST", M, form_ct, b"data=y")
            check_error(r, 400, "missing topic", "publish without topic")
        with soft("malformed JSON"):
            r = await request(port, "POST", M, [("Content-Type", "application/json")],
                              b'{"topic": "x", ')
            check_error(r, 400, "JSON", "malformed JSON publish")
        with soft("415"):
            r = await request(port, "POST", M, [("Content-Type", "text/plain")], b"topic=x&data=y")
            check_error(r, 415, "media type", "publish as text/plain")
            r = await request(port, "POST", M, [], b"topic=x&data=y")
            check_error(r, 415, "Content-Type", "publish without Content-Type")

        with soft("errors on one keep-alive connection"):
            c = await ctx.conn(hub)
            r = await c.request("GET", M)
            check_error(r, 400, "topic", "keep-alive: GET without topic")
            r = await c.request("POST", M, form_ct, b"data=y")
            check_error(r, 400, "missing topic", "keep-alive: publish without topic")
            r = await c.request("GET", "/healthz")
            check(r.status == 200, "keep-alive: /healthz after two 400s: %r" % r)

        big = b"topic=x&data=" + b"y" * 2000
        with soft("413 Content-Length"):
            c = await ctx.conn(hub)
            r = await c.request("POST", M, form_ct, big)
            check_error(r, 413, "too large",
                        "publish of 2013 bytes with --max-body 1KiB (Content-Length)")
            closed, _ = await c.wait_closed_by_peer(4)
            check(closed, "the connection stays open after the 413")

        def chunked(body, size):
            out = b""
            for p in chunks(body, size):
                out += b"%x\r\n" % len(p) + bytes(p) + b"\r\n"
            return out + b"0\r\n\r\n"

        te = form_ct + [("Transfer-Encoding", "chunked")]
        with soft("413 chunked"):
            r = await request(port, "POST", M, te, chunked(b"topic=x&data=small", 5))
            check(r.status == 200, "a small chunked publish: %r" % r)
            c = await ctx.conn(hub)
            r = await c.request("POST", M, te, chunked(big, 500))
            check_error(r, 413, "too large", "chunked publish of 2013 bytes with --max-body 1KiB")
            closed, _ = await c.wait_closed_by_peer(4)
            check(closed, "the connection stays open after the chunked 413")

        with soft("431"):
            c = await ctx.conn(hub)
            r = await c.request("GET", "/healthz", [("X-Pad", "a" * 3000)])
            check_error(r, 431, "header", "3000-byte header with --max-header 2KiB")
            closed, _ = await c.wait_closed_by_peer(4)
            check(closed, "the connection stays open after the 431")
        with soft("long request target"):
            r = await request(port, "GET", "/healthz?" + "q" * 3000)
            check(r.status in (414, 431),
                  "a 3000-byte request target: expected 414 or 431, got %r" % r)

        for raw in (b"GARBAGE\r\n\r\n", b"GET /healthz HTTP/1.1 extra\r\n\r\n",
                    b"GET /healthz HTTP/1.1\r\nNo colon here\r\n\r\n"):
            with soft("malformed %r" % raw):
                c = await ctx.conn(hub)
                c.send(raw)
                r = await c.read_response(5)
                check_error(r, 400, "malformed", "malformed request %r" % raw)
                closed, _ = await c.wait_closed_by_peer(4)
                check(closed, "the connection stays open after the 400 for %r" % raw)

        with soft("404"):
            r = await request(port, "GET", "/nope")
            check_error(r, 404, "not found", "GET /nope")
        with soft("405 on the hub path"):
            r = await request(port, "PUT", M, form_ct, b"topic=x")
            check(r.status == 405, "PUT %s: %r" % (M, r))
            check("GET" in (r.header("Allow") or "") and "POST" in (r.header("Allow") or ""),
                  "405 Allow header: %r" % r.header("Allow"))
            check_error(r, 405, "method", "PUT " + M)
        with soft("405 elsewhere"):
            r = await request(port, "DELETE", "/healthz")
            check(r.status == 405 and r.has("Allow"), "DELETE /healthz: %r" % r)
            check_error(r, 405, "method", "DELETE /healthz")

        with soft("Expect: 100-continue"):
            c = await ctx.conn(hub)
            body = b"topic=x&data=continued"
            c.send(request_bytes("POST", M, form_ct + [("Expect", "100-continue"),
                                                        ("Content-Length", str(len(body)))]))
            await c.drain()
            line = await asyncio.wait_for(c.reader.readuntil(b"\r\n\r\n"), 5)
            check(line.startswith(b"HTTP/1.1 100"), "Expect: 100-continue: got %r" % line)
            c.send(body)
            r = await c.read_response(5)
            check(r.status == 200, "publish after 100 Continue: %r" % r)

        with soft("CORS, default *"):
            o = [("Origin", "https://x.example")]
            r = await request(port, "OPTIONS", M, o + [
                ("Access-Control-Request-Method", "GET"),
                ("Access-Control-Request-Headers", "last-event-id")])
            check(r.status == 204, "preflight: expected 204, got %r" % r)
            acah = [x.strip().lower()
                    for x in (r.header("Access-Control-Allow-Headers") or "").split(",")]
            for hname in ("last-event-id", "authorization", "cache-control"):
                check(hname in acah,
                      "preflight Access-Control-Allow-Headers lacks %s: %r" % (hname, acah))
            check(r.header("Access-Control-Allow-Origin") == "*", "preflight ACAO: %r"
                  % r.header("Access-Control-Allow-Origin"))
            check(not r.has("Access-Control-Allow-Credentials"), "credentials allowed for '*'")
            r = await request(port, "GET", "/healthz", o)
            check(r.header("Access-Control-Allow-Origin") == "*", "GET with Origin: ACAO %r"
                  % r.header("Access-Control-Allow-Origin"))
            r = await request(port, "GET", "/healthz")
            check(not r.has("Access-Control-Allow-Origin"), "ACAO sent without an Origin")
            s = await ctx.stream(hub, topics=["x"], headers=o)
            check(s.resp.header("Access-Control-Allow-Origin") == "*", "stream with Origin: ACAO %r"
                  % s.resp.header("Access-Control-Allow-Origin"))

        # Still serving after all that (hard check).
        s = await ctx.stream(hub, topics=["after"])
        pc = await ctx.conn(hub)
        r = await publish1(pc, "after", "still alive")
        check(r.status == 200 and await s.wait_events(1, 5) and s.events[0].data == "still alive",
              "the hub does not serve after the bad requests")

    with soft("--header-timeout 1s"):
        async with ctx.hub("--header-timeout", "1s") as hub:
            with soft("slowloris"):
                # A header line dribbled a byte every 200 ms gets 408 after ~1 s, then EOF.
                t0 = time.monotonic()
                c = await ctx.conn(hub)
                c.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                await c.drain()

                async def dribble():
                    try:
                        while True:
                            await asyncio.sleep(0.2)
                            c.send(b"z")
                            await c.drain()
                    except (ConnectionError, OSError):
                        pass

                dt = asyncio.ensure_future(dribble())
                try:
                    closed, got = await c.wait_closed_by_peer(5)
                finally:
                    dt.cancel()
                took = time.monotonic() - t0
                check(got.startswith(b"HTTP/1.1 408 "), "slowloris: expected a 408, got %r" % got[:100])
                check(closed, "slowloris: the connection was not closed after the 408")
                # Never before the timeout; the upper bound only shows that dribbled bytes do
                # not restart it (a busy machine may be slow to close, hence the margin).
                check(0.8 <= took <= patient(3.5),
                      "slowloris: closed after %.2f s with --header-timeout 1s" % took)

            with soft("idle connections"):
                t0 = time.monotonic()
                c = await ctx.conn(hub)
                closed, got = await c.wait_closed_by_peer(5)
                took = time.monotonic() - t0
                check(closed and got == b"", "idle connection: closed=%s, got %r" % (closed, got[:80]))
                check(0.8 <= took <= patient(3.5), "idle connection closed after %.2f s" % took)
                c = await ctx.conn(hub)
                r = await c.request("GET", "/healthz")
                t0 = time.monotonic()
                closed, got = await c.wait_closed_by_peer(5)
                took = time.monotonic() - t0
                check(closed and got == b"" and took <= patient(3.5), "idle keep-alive connection: closed=%s "
                      "after %.2f s, got %r" % (closed, took, got[:80]))

    with soft("CORS, listed origin"):
        async with ctx.hub("--cors-origin", "https://a.example") as hub:
            a = [("Origin", "https://a.example")]
            b = [("Origin", "https://b.example")]
            r = await request(hub.port, "OPTIONS", "/.well-known/mercure",
                              a + [("Access-Control-Request-Method", "GET")])
            check(r.status == 204 and r.header("Access-Control-Allow-Origin") == "https://a.example"
                  and r.header("Access-Control-Allow-Credentials") == "true",
                  "listed origin preflight: %r %r" % (r, r.headers))
            check("origin" in (r.header("Vary") or "").lower(), "listed origin: no Vary: Origin")
            s = await ctx.stream(hub, topics=["x"], headers=a)
            check(s.resp.header("Access-Control-Allow-Origin") == "https://a.example"
                  and s.resp.header("Access-Control-Allow-Credentials") == "true",
                  "listed origin stream: %r" % s.resp.headers)
            r = await request(hub.port, "GET", "/healthz", b)
            check(not r.has("Access-Control-Allow-Origin") and
                  not r.has("Access-Control-Allow-Credentials"),
                  "other origin got CORS headers: %r" % r.headers)
            r = await request(hub.port, "OPTIONS", "/.well-known/mercure",
                              b + [("Access-Control-Request-Method", "GET")])
            check(not r.has("Access-Control-Allow-Origin"),
                  "other origin preflight got ACAO: %r" % r.headers)
            s = await ctx.stream(hub, topics=["x"], headers=b)
            check(not s.resp.has("Access-Control-Allow-Origin"), "other origin stream got ACAO: %r"
                  % s.resp.headers)

    with soft("--max-connections"):
        # The 6th connection gets 503 + Retry-After; the hub serves again afterwards.
        # (a long --header-timeout: the held connections idle between their requests)
        async with ctx.hub("--max-connections", "5", "--header-timeout", "10m") as hub:
            held = []
            for i in range(5):
                c = await ctx.conn(hub)
                r = await c.request("GET", "/healthz")
                check(r.status == 200, "connection %d of 5: %r" % (i + 1, r))
                held.append(c)
            # A few connections past the limit may still ask for /healthz or /metrics (and
            # are closed after the answer); anything else on them is 503.
            c = await ctx.conn(hub)
            c.send(request_bytes("GET", "/healthz"))
            await c.drain()
            r = await c.read_response(5)
            check(r.status == 200 and (r.header("Connection") or "").lower() == "close",
                  "/healthz on the 6th connection: expected 200 and Connection: close, got %r %r"
                  % (r, r.headers))
            c.close()
            c = await ctx.conn(hub)
            c.send(request_bytes("GET", "/"))
            await c.drain()
            r = await c.read_response(5)
            check_error(r, 503, "connections", "6th connection with --max-connections 5")
            check(r.has("Retry-After"), "503 without Retry-After: %r" % r.headers)
            c.close()
            # Past those (4 beyond the limit), a 503 comes before any request is read. The
            # gauge (read over a held connection) counts them all once accepted.
            async def open_conns(want):
                t0 = time.monotonic()
                while True:
                    r = await held[1].request("GET", "/metrics")
                    m = re.search(r"^ssehub_connections (\d+)$", r.text, re.M)
                    if (m and int(m.group(1)) == want) or time.monotonic() - t0 > 10:
                        break
                    await asyncio.sleep(0.05)
                check(m and int(m.group(1)) == want,
                      "ssehub_connections: expected %d, got %r" % (want, m and m.group(0)))
            await open_conns(5)
            extra = [await ctx.conn(hub) for _ in range(4)]
            await open_conns(9)
            c = await ctx.conn(hub)
            r = await c.read_response(5)
            check_error(r, 503, "connections", "10th connection with --max-connections 5")
            check(r.has("Retry-After"), "503 without Retry-After: %r" % r.headers)
            c.close()
            for e in extra:
                e.close()
            held[0].close()
            t0 = time.monotonic()
            while True:
                r = await request(hub.port, "GET", "/healthz")
                if r.status == 200 or time.monotonic() - t0 > 3:
                    break
                await asyncio.sleep(0.05)
            check(r.status == 200, "after a connection closed, still %r" % r)
            # /metrics over a held connection (a new one could be the 6th again).
            r = await held[1].request("GET", "/metrics")
            m = re.search(r"^ssehub_connections_rejected_total (\d+)$", r.text, re.M)
            check(r.status == 200 and m and int(m.group(1)) >= 1,
                  "ssehub_connections_rejected_total after a 503: %r" % (m and m.group(0)))
    return "%d sub-checks" % ctx.soft.count


# ---- 6. keep-alive and pipelining

@case("pipelining-backpressure")
async def t_pipelining_backpressure(ctx):
    """Requests pipelined faster than their answers are read wait unparsed: the hub's
    memory does not grow with them, and every one is answered, in order, once the client
    reads. An Upgrade header is ignored (answered as HTTP/1.1, the connection goes on)."""
    async with ctx.hub("--threads", "1") as hub:
        c = await ctx.conn(hub, rcvbuf=4096)
        c.writer.transport.pause_reading()
        page = request_bytes("GET", "/")
        N = 600  # 600 x the 25 KB page: ~15 MB of answers if they were all made at once
        c.send(page * N)
        await c.drain()
        await asyncio.sleep(1.0)
        # Answered so far: what fits in the socket buffers and the output cap, not all.
        parsed = await hub.metric("ssehub_requests_total")
        check(parsed < N // 2, "the hub parsed %d of %d pipelined requests whose answers were "
              "not read: their answers pile up in memory" % (parsed, N))
        c.writer.transport.resume_reading()
        for i in range(N):
            r = await c.read_response(20)
            check(r.status == 200 and b"<!doctype html>" in r.body[:200].lower(),
                  "pipelined GET / %d: %r" % (i, r))
        up = request_bytes("GET", "/healthz", [("Connection", "Upgrade, HTTP2-Settings"),
                                               ("Upgrade", "h2c"),
                                               ("HTTP2-Settings", "AAMAAABkAAQCAAAAAAIAAAAA")])
        c.send(up + request_bytes("GET", "/healthz"))
        await c.drain()
        r1 = await c.read_response(5)
        r2 = await c.read_response(5)
        check(r1.status == 200 and r2.status == 200, "Upgrade then GET: %r %r" % (r1, r2))
        closed, extra = await c.wait_closed_by_peer(0.5, scaled=False)
        check(not closed and not extra, "after an Upgrade request: closed=%s extra=%r"
              % (closed, extra))
        return "%d of %d parsed while the client did not read" % (parsed, N)


@case("pipelining")
async def t_pipelining(ctx):
    async with ctx.hub() as hub:
        s = await ctx.stream(hub, topics=["*"])
        c = await ctx.conn(hub)
        N = 2000
        reqs = [pub("p%d" % (i % 7), "pipelined %d" % i,
                    id=("pipe-%d" % i) if i % 100 == 42 else None) for i in range(N)]
        reqs.append(request_bytes("GET", "/healthz", [("Connection", "close")]))

        async def writer():
            for part in chunks(reqs, 200):
                c.send(b"".join(part))
                await c.drain()

        wt = asyncio.ensure_future(writer())
        resps = []
        for i in range(N + 1):
            resps.append(await c.read_response(20))
        await wt
        for i, r in enumerate(resps[:N]):
            check(r.status == 200, "pipelined publish %d: %r" % (i, r))
            if i % 100 == 42:
                check(r.text == "pipe-%d" % i, "response %d out of order: %r" % (i, r.text))
        hub_ids = [int(r.text) for i, r in enumerate(resps[:N]) if i % 100 != 42]
        check(all(hub_ids[i] < hub_ids[i + 1] for i in range(len(hub_ids) - 1)),
              "pipelined replies' ids are not increasing")
        last = resps[N]
        check(last.status == 200 and (last.header("Connection") or "").lower() == "close",
              "the Connection: close request: %r %r" % (last, last.headers))
        closed, extra = await c.wait_closed_by_peer(3)
        check(closed and extra == b"",
              "after Connection: close: closed=%s extra=%r" % (closed, extra[:50]))
        check(await s.wait_events(N, 10), "the subscriber got %d of %d events" % (len(s.events), N))
        check_seq([(e.id, e.data) for e in s.events],
                  [(resps[i].text, "pipelined %d" % i) for i in range(N)], "subscriber to *")

        # 1,000 pipelined GET /metrics: ~2 MB of responses, past the point where the hub
        # stops reading requests until its output drains.
        c = await ctx.conn(hub)

        async def writer2():
            for _ in range(10):
                c.send(request_bytes("GET", "/metrics") * 100)
                await c.drain()

        wt = asyncio.ensure_future(writer2())
        for i in range(1000):
            r = await c.read_response(20)
            check(r.status == 200 and b"ssehub_publishes_total" in r.body,
                  "pipelined GET /metrics %d: %r" % (i, r))
        await wt

        # A publish and then a subscription pipelined on one connection.
        c = await ctx.conn(hub)
        c.send(pub("then-sub", "first") +
               request_bytes("GET", "/.well-known/mercure?topic=then-sub",
                             [("Last-Event-ID", "earliest")]))
        await c.drain()
        r = await c.read_response(5)
        check(r.status == 200, "publish before a pipelined subscribe: %r" % r)
        st = Stream(c.reader, c.writer)
        st.resp = await c.read_response(5, head_only=True)
        check(st.resp.status == 200, "pipelined subscribe: %r" % st.resp)
        check(await st.wait_events(1, 5) and st.events[0].data == "first",
              "pipelined subscribe: replay %r" % st.events)


# ---- 7. slow reader

@case("slow-reader", timeout=90)
async def t_slow_reader(ctx):
    async with ctx.hub("--send-buffer", "64KiB") as hub:
        slow = await ctx.stream(hub, topics=["big"], rcvbuf=4096)
        slow.writer.transport.pause_reading()  # never reads again
        fast = [await ctx.stream(hub, topics=["big"]) for _ in range(5)]
        N = 2000
        payload = "x" * 10000

        async def read_all(f):
            await f.read_until(lambda st: len(st.events) >= N or st.eof, 60)

        readers = [asyncio.ensure_future(read_all(f)) for f in fast]
        c = await ctx.conn(hub)
        ids = []
        t0 = time.monotonic()
        for i in range(N):
            r = await publish1(c, "big", "%d %s" % (i, payload))
            check(r.status == 200, "publish: %r" % r)
            ids.append(r.text)
            # The fast readers are Python, in this one process: keep them within a few
            # events (the send-buffer-burst case covers bursts).
            while min(len(f.events) for f in fast) < len(ids) - 4:
                check(not any(f.eof for f in fast), "a fast subscriber was disconnected after %d "
                      "events" % min(len(f.events) for f in fast))
                check(time.monotonic() - t0 < patient(60), "fast subscribers stuck")
                await asyncio.sleep(0.001)
        await asyncio.gather(*readers)
        for i, f in enumerate(fast):
            check(not f.eof, "fast subscriber %d was disconnected (after %d events)"
                  % (i, len(f.events)))
            check_seq(ids_of(f), ids, "fast subscriber %d" % i)
            check(all(e.data == "%d %s" % (j, payload) for j, e in enumerate(f.events)),
                  "fast subscriber %d: data differs" % i)
        v = await hub.wait_metric('ssehub_disconnects_total{reason="slow"}', lambda x: x >= 1, 3)
        check(v == 1, 'ssehub_disconnects_total{reason="slow"} is %s, expected 1' % v)
        n = await hub.metric("ssehub_subscribers_connected")
        check(n == 5,
              "ssehub_subscribers_connected %s after the slow one was dropped, expected 5" % n)
        # The dropped subscriber reads what was sent, then the end: a clean prefix.
        slow.writer.transport.resume_reading()
        check(await slow.read_to_eof(10), "the slow subscriber's connection is still open")
        got = ids_of(slow)
        check(got == ids[:len(got)],
              "the slow subscriber's events are not a prefix of the published ones")
        check(len(got) < N,
              "the slow subscriber got everything (%d events): it was not slow" % len(got))
        return "slow one dropped after %d of %d events (20 MB)" % (len(got), N)


@case("oversize-slow")
async def t_oversize_slow(ctx):
    """Events larger than the whole --send-buffer still reach a reader, one at a time, but
    a subscriber that stops reading is dropped rather than queueing them without bound."""
    async with ctx.hub("--send-buffer", "64KiB", "--history", "1") as hub:
        stalled = await ctx.stream(hub, topics=["huge"], rcvbuf=4096)
        stalled.writer.transport.pause_reading()
        reader = await ctx.stream(hub, topics=["huge"])
        c = await ctx.conn(hub)
        payload = "z" * 200000
        for i in range(30):
            r = await publish1(c, "huge", "%d %s" % (i, payload))
            check(r.status == 200, "publish: %r" % r)
            await reader.wait_events(i + 1, 10)
        v = await hub.wait_metric('ssehub_disconnects_total{reason="slow"}', lambda x: x >= 1, 5)
        check(v == 1, "the stalled subscriber was not dropped (slow disconnects: %s)" % v)
        check(len(reader.events) == 30 and not reader.eof,
              "the reading subscriber got %d of 30 events (eof=%s)" % (len(reader.events), reader.eof))


@case("slow-conflate", timeout=90)
async def t_slow_conflate(ctx):
    """--slow conflate: a subscriber that stops reading is kept, skips to the newest event
    of each topic, and then reads a subsequence of what was published, in order, ending
    with the last event of each topic."""
    async with ctx.hub("--send-buffer", "64KiB", "--slow", "conflate") as hub:
        slow = await ctx.stream(hub, topics=["ca", "cb"], rcvbuf=4096)
        slow.writer.transport.pause_reading()
        c = await ctx.conn(hub)
        ids = {"ca": [], "cb": []}
        payload = "y" * 10000
        for i in range(600):
            topic = "ca" if i % 3 else "cb"
            r = await publish1(c, topic, "%d %s" % (i, payload))
            check(r.status == 200, "publish: %r" % r)
            ids[topic].append(r.text)
        conflated = await hub.wait_metric("ssehub_conflated_total", lambda x: x >= 1, 3)
        check(conflated >= 1, "ssehub_conflated_total is %s: nothing was conflated" % conflated)
        slow_drops = await hub.metric('ssehub_disconnects_total{reason="slow"}')
        check(slow_drops == 0, "a conflating subscriber was disconnected as slow")
        slow.writer.transport.resume_reading()
        last = {t: v[-1] for t, v in ids.items()}
        await slow.read_until(lambda st: set(last.values()) <= set(ids_of(st)) or st.eof, 30)
        check(not slow.eof, "the conflating subscriber's stream ended")
        got = ids_of(slow)
        for t, want in ids.items():
            mine = [i for i in got if i in set(want)]
            pos = [want.index(i) for i in mine]
            check(pos == sorted(pos) and len(set(pos)) == len(pos),
                  "topic %s: events out of order or repeated" % t)
            check(mine and mine[-1] == want[-1], "topic %s: the newest event is missing" % t)
        check(len(got) < 600, "got all %d events: nothing was skipped" % len(got))
        return "%d of 600 events delivered, %d skipped" % (len(got), conflated)


# ---- 8. write timeout

@case("write-timeout")
async def t_write_timeout(ctx):
    # 2 s: the reading subscriber is this Python process, which a busy machine may leave
    # unscheduled for a while; it must not be taken for a stalled one.
    async with ctx.hub("--write-timeout", "2s", "--send-buffer", "64MiB") as hub:
        stalled = await ctx.stream(hub, topics=["wt"], rcvbuf=4096)
        stalled.writer.transport.pause_reading()
        fast = await ctx.stream(hub, topics=["wt"])
        v0 = await hub.metric('ssehub_disconnects_total{reason="write_timeout"}')
        check(v0 == 0, "write_timeout disconnects before the test: %s" % v0)
        c = await ctx.conn(hub)
        payload = "w" * 10000
        ids = []
        t0 = time.monotonic()
        # Rounds of 2 MB until the kernel's socket buffers (tcp_wmem, autotuned) are full
        # and a write stays pending: then it must be dropped ~2 s later.
        v = 0
        for rnd in range(6):
            for batch in chunks(range(200), 10):
                resps = await publish_many(c, [pub("wt", "%d %s" % (len(ids) + i, payload))
                                               for i in range(len(batch))], 10)
                for r in resps:
                    check(r.status == 200, "publish: %r" % r)
                    ids.append(r.text)
            check(await fast.wait_events(len(ids), 10),
                  "the reading subscriber got %d of %d" % (len(fast.events), len(ids)))
            # Another round if no write is pending yet; the last round waits patiently.
            v = await hub.wait_metric('ssehub_disconnects_total{reason="write_timeout"}',
                                      lambda x: x >= 1, 3.0, scaled=(rnd == 5))
            if v >= 1:
                break
        took = time.monotonic() - t0
        check(v == 1, 'ssehub_disconnects_total{reason="write_timeout"} is %s, expected 1 (%.1f s '
              'after sending %d MB to a subscriber that never reads)' % (v, took, len(ids) // 100))
        sl = await hub.metric('ssehub_disconnects_total{reason="slow"}')
        check(sl == 0, "dropped as slow instead (send buffer 64MiB): %s" % sl)
        await fast.read_for(0.3)
        check(not fast.eof, "the reading subscriber was dropped too")
        check_seq(ids_of(fast), ids, "the reading subscriber")
        stalled.writer.transport.resume_reading()
        check(await stalled.read_to_eof(10), "the stalled subscriber's connection is still open")
        check(ids_of(stalled) == ids[:len(stalled.events)], "the stalled subscriber's events are "
              "not a prefix of the published ones")
        n = await hub.metric("ssehub_subscribers_connected")
        check(n == 1, "ssehub_subscribers_connected is %s, expected 1" % n)


# ---- 8b. the send buffer caps what a subscriber cannot take, not what arrives at once

@case("send-buffer-burst")
async def t_send_buffer_burst(ctx):
    """A subscriber that reads everything at once must not be dropped as slow because
    events arrived together (one drain of the loop's inbox) or one event is large."""
    problems = []
    # Defaults (--send-buffer 1M, --max-body 1M): an accepted 800 KB publish of short lines
    # (its frame, one "data: " per line, is ~1.6 MB).
    async with ctx.hub() as hub:
        s = await ctx.stream(hub, topics=["big"])
        c = await ctx.conn(hub)
        data = "a\n" * 200000
        r = await publish1(c, "big", data)
        check(r.status == 200, "800 KB publish with the default --max-body: %r" % r)
        await s.wait_events(1, 5)
        slow = await hub.metric('ssehub_disconnects_total{reason="slow"}')
        if not (len(s.events) == 1 and s.events[0].data == data and not s.eof):
            problems.append("defaults: a reading subscriber got %d events (eof=%s, dropped as slow "
                            "%d) for one accepted 800 KB publish" % (len(s.events), s.eof, slow))
    # --send-buffer 64KiB: ten 10 KB events pipelined (100 KB in one burst).
    async with ctx.hub("--send-buffer", "64KiB") as hub:
        s = await ctx.stream(hub, topics=["big"])
        c = await ctx.conn(hub)
        resps = await publish_many(c, [pub("big", "%d %s" % (i, "x" * 10000))
                                       for i in range(10)], 10)
        check(all(r.status == 200 for r in resps), "publishes: %r" % resps)
        await s.wait_events(10, 5)
        slow = await hub.metric('ssehub_disconnects_total{reason="slow"}')
        if len(s.events) != 10 or s.eof:
            problems.append("--send-buffer 64KiB: a reading subscriber got %d of 10 pipelined "
                            "10 KB events (eof=%s, dropped as slow %d)"
                            % (len(s.events), s.eof, slow))
    check(not problems, "; ".join(problems))


# ---- 9. max lifetime

@case("max-lifetime")
async def t_max_lifetime(ctx):
    """--max-lifetime 1s: a stream is closed after about a second, never before; a client
    that reconnects with its last id misses nothing. The test runs until it has seen three
    closes (however slow the machine), then until the last event published arrives."""
    async with ctx.hub("--max-lifetime", "1s") as hub:
        P = []
        stop = asyncio.Event()

        async def publisher():
            c = await ctx.conn(hub)
            i = 0
            while not stop.is_set():
                r = await publish1(c, "lt", "lt%d" % i)
                check(r.status == 200, "publish: %r" % r)
                P.append(r.text)
                i += 1
                await asyncio.sleep(0.02)

        pt = asyncio.ensure_future(publisher())
        while len(P) < 3:
            check(not pt.done(), "the publisher stopped")
            await asyncio.sleep(0.01)
        got = []
        durations = []
        h0 = None
        last = None
        t_end = time.monotonic() + patient(10)
        while True:
            t0 = time.monotonic()
            s = await ctx.stream(hub, topics=["lt"], last_id=last)
            if h0 is None:
                h0 = s.resp.header("Last-Event-ID")
            if len(durations) >= 3 and not stop.is_set():
                stop.set()
                await pt
            if stop.is_set():
                # The last stream: until the last event published, or its close.
                await s.read_until(lambda st: st.eof or (ids_of(st) or got or [None])[-1] == P[-1],
                                   10)
            else:
                await s.read_until(lambda st: st.eof, 10)
            got += ids_of(s)
            if not s.eof:
                check(stop.is_set(), "a stream was still open %.1f s after it started with "
                      "--max-lifetime 1s" % (time.monotonic() - t0))
                break
            durations.append(time.monotonic() - t0)
            last = got[-1] if got else (last or h0)
            check(time.monotonic() < t_end, "%d closes in %.0f s" % (len(durations), patient(10)))
        if not pt.done():
            stop.set()
            await pt
        check(h0 in P, "first Last-Event-ID %r is not a published id" % h0)
        check_seq(got, P[P.index(h0) + 1:], "events over %d reconnections" % len(durations))
        # Never closed early (t0 is taken before the connection, so a lifetime measured here
        # is at least the hub's); the upper bound only shows that it is the lifetime that
        # closes the stream, with a margin for a busy machine.
        check(all(0.9 <= d <= patient(2.5) for d in durations),
              "stream lifetimes %s, expected ~1 s" % ["%.2f" % d for d in durations])
        v = await hub.metric('ssehub_disconnects_total{reason="lifetime"}')
        check(v >= len(durations), 'ssehub_disconnects_total{reason="lifetime"} is %s after %d '
              'closes' % (v, len(durations)))
        return "%d reconnections, %d events" % (len(durations), len(got))


# ---- 10. heartbeat

@case("heartbeat")
async def t_heartbeat(ctx):
    """--heartbeat 300ms: comments keep coming on an idle stream, never faster than the
    interval, and make no events. Times are taken so that a slow machine cannot fail it:
    t0 before the connection, so the hub cannot have sent more heartbeats than fit since."""
    async with ctx.hub("--heartbeat", "300ms") as hub:
        t0 = time.monotonic()
        s = await ctx.stream(hub, topics=["hb"])
        check(await s.read_until(lambda st: len(st.sse.comments) >= 1, 3), "no initial comment")
        check(await s.read_until(lambda st: len(st.sse.comments) >= 5, 3),
              "fewer than 4 heartbeats within %.0f s with --heartbeat 300ms (%d)"
              % (patient(3), len(s.sse.comments) - 1))
        await s.read_for(0.6)
        n = len(s.sse.comments) - 1
        took = time.monotonic() - t0
        # The 100 ms tick may send one a little early or late, never two at once.
        check(n <= took / 0.3 + 2, "%d heartbeats in %.2f s with --heartbeat 300ms" % (n, took))
        check(not s.events and not s.eof, "heartbeats made events or closed the stream")


# ---- 10b. the access log

@case("access-log")
async def t_access_log(ctx):
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "access.log")
        async with ctx.hub("--access-log", path) as hub:
            s = await ctx.stream(hub, topics=["al"])
            c = await ctx.conn(hub)
            r = await publish1(c, "al", "x")
            check(r.status == 200, "publish: %r" % r)
            c.send(b"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n")
            await c.drain()
            r = await c.read_response(5)
            check(r.status == 404, "GET /nowhere: %r" % r)
            await s.wait_events(1, 5)
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    want = [("GET", "/.well-known/mercure?topic=al", "200"),
            ("POST", "/.well-known/mercure", "200"),
            ("GET", "/nowhere", "404")]
    for method, target, status in want:
        pat = re.compile(r'^\S+ 127\.0\.0\.1:\d+ "%s %s" %s \d+$' % (method, re.escape(target), status))
        check(any(pat.match(l) for l in lines),
              "no access-log line for %s %s %s in %r" % (method, target, status, lines))


# ---- 11. endpoints

def metric_names_from_source():
    try:
        with open(METRICS_C, encoding="utf-8") as f:
            src = f.read()
    except OSError:
        return None
    return sorted(set(re.findall(r'"(ssehub_[a-z0-9_]+)', src)))


FALLBACK_METRICS = ["ssehub_subscribers_connected", "ssehub_subscriptions_total",
                    "ssehub_publishes_total", "ssehub_deliveries_total", "ssehub_bytes_sent_total",
                    "ssehub_connections", "ssehub_requests_total",
                    "ssehub_connections_rejected_total", "ssehub_disconnects_total",
                    "ssehub_history_events"]


@case("endpoints")
async def t_endpoints(ctx):
    async with ctx.hub() as hub:
        r = await request(hub.port, "GET", "/healthz")
        check(r.status == 200 and r.text.strip() == "ok" and media_type(r) == "text/plain",
              "/healthz: %r" % r)

        # HEAD: no body, so the next pipelined response follows the head directly.
        with ctx.soft("HEAD"):
            c = await ctx.conn(hub)
            c.send(request_bytes("HEAD", "/healthz") + request_bytes("GET", "/healthz"))
            await c.drain()
            r = await c.read_response(5, head_only=True)
            check(r.status == 200, "HEAD /healthz: %r" % r)
            nxt = await asyncio.wait_for(c.reader.readexactly(8), 5)
            check(nxt == b"HTTP/1.1", "HEAD /healthz (pipelined before a GET) was answered with "
                  "a body: the bytes after its head are %r" % nxt)

        names = metric_names_from_source() or FALLBACK_METRICS
        vals, text = await hub.metrics()
        r = await request(hub.port, "GET", "/metrics")
        check(media_type(r) == "text/plain", "/metrics Content-Type %r" % r.header("Content-Type"))
        lines = text.splitlines()
        for name in names:
            helps = [l for l in lines if l.startswith("# HELP %s " % name)]
            types = [l for l in lines if re.fullmatch(
                r"# TYPE %s (counter|gauge|histogram|summary|untyped)" % re.escape(name), l)]
            samples = [k for k in vals if k == name or k.startswith(name + "{")]
            check(len(helps) == 1 and len(types) == 1 and samples,
                  "/metrics: %s has %d HELP, %d TYPE, %d samples"
                  % (name, len(helps), len(types), len(samples)))
            first_sample = min(i for i, l in enumerate(lines)
                               if l.startswith(name + " ") or l.startswith(name + "{"))
            check(lines.index(helps[0]) < lines.index(types[0]) < first_sample,
                  "/metrics: %s: HELP, TYPE, samples out of order" % name)
            if name.endswith("_total"):
                check(types[0].endswith(" counter"), "/metrics: %s is not a counter" % name)
        reasons = sorted(k for k in vals if k.startswith("ssehub_disconnects_total{"))
        for rs in ("client", "slow", "write_timeout", "lifetime", "shutdown"):
            check('ssehub_disconnects_total{reason="%s"}' % rs in reasons,
                  "/metrics: no disconnects reason %s (%r)" % (rs, reasons))
        check(text.endswith("\n"), "/metrics does not end with a newline")

        for path in ("/", "/index.html"):
            r = await request(hub.port, "GET", path)
            check(r.status == 200 and media_type(r) == "text/html" and b"<html" in r.body.lower(),
                  "GET %s: %r" % (path, r))
        n_metrics = len(names)
    async with ctx.hub("--no-ui") as hub:
        r = await request(hub.port, "GET", "/")
        check(r.status == 404, "GET / with --no-ui: %r" % r)
        r = await request(hub.port, "GET", "/healthz")
        check(r.status == 200, "/healthz with --no-ui: %r" % r)
    return "%d metrics checked" % n_metrics


# ---- 12. SIGTERM

@case("sigterm")
async def t_sigterm(ctx):
    hub = ctx.hub()
    async with hub:
        streams = []
        for batch in chunks(range(50), 25):
            streams += await asyncio.gather(*(ctx.stream(hub, topics=["t%d" % (i % 5)])
                                              for i in batch))
        published = [0]

        async def publisher():
            c = await ctx.conn(hub)
            i = 0
            try:
                while True:
                    await publish_many(c, [pub("t%d" % ((i + j) % 5), "x") for j in range(5)], 5)
                    i += 5
                    published[0] = i
            except (ConnectionError, asyncio.IncompleteReadError, OSError, Fail):
                return "closed"

        pt = asyncio.ensure_future(publisher())
        t_wait = time.monotonic() + patient(5)
        while published[0] < 50 and not pt.done() and time.monotonic() < t_wait:
            await asyncio.sleep(0.01)
        check(published[0] > 0, "nothing published before SIGTERM")
        t0 = time.monotonic()
        problems = await hub.stop()
        took = time.monotonic() - t0
        check(not problems, "; ".join(problems))
        closed = await asyncio.gather(*(s.read_to_eof(5) for s in streams))
        check(all(closed), "%d of 50 streams still open after the hub exited" % closed.count(False))
        res = await asyncio.wait_for(pt, 5)
        check(res == "closed", "the publisher did not see its connection closed")
        got = sum(len(s.events) for s in streams)
        check(got > 0, "no events delivered before SIGTERM")
    # SIGINT stops it the same way.
    hub = ctx.hub()
    async with hub:
        s = await ctx.stream(hub, topics=["x"])
        problems = await hub.stop(sig=signal.SIGINT)
        check(not problems, "SIGINT: " + "; ".join(problems))
        check(await s.read_to_eof(5), "SIGINT: the stream was not closed")
    return "exit 0 in %.2f s with 50 streams, %d publishes" % (took, published[0])


# ---- 13. bad flags

async def run_hub(exe, args, env=None, timeout=10):
    e = dict(os.environ)
    e.update(env or {})
    p = await asyncio.create_subprocess_exec(exe, *args, stdin=asyncio.subprocess.DEVNULL,
                                             stdout=asyncio.subprocess.PIPE,
                                             stderr=asyncio.subprocess.PIPE, env=e)
    try:
        out, err = await asyncio.wait_for(p.communicate(), patient(timeout))
    except asyncio.TimeoutError:
        p.kill()
        await p.wait()
        raise Fail("ssehub %s did not exit within %d s" % (" ".join(args), patient(timeout)))
    return p.returncode, out.decode(errors="replace"), err.decode(errors="replace")


@case("flags")
async def t_flags(ctx):
    listen = ["--listen", "127.0.0.1:0"]  # should it start after all, no clash on 8080
    bad = [
        (["--history", "abc"], None, "--history"),
        (["--history=abc"], None, "--history"),
        (["--history"], None, "--history"),
        (["--bogus"], None, "--bogus"),
        (["--heartbeat", "5x"], None, "--heartbeat"),
        (["--max-header", "10"], None, "--max-header"),
        (["--threads", "0"], None, "--threads"),
        (["--send-buffer", "12q"], None, "--send-buffer"),
        ([], {"SSEHUB_HISTORY": "x"}, "SSEHUB_HISTORY"),
        ([], {"SSEHUB_HEARTBEAT": "soon"}, "SSEHUB_HEARTBEAT"),
    ]
    for args, env, name in bad:
        rc, out, err = await run_hub(ctx.exe, listen + args, env)
        what = "ssehub %s%s" % (" ".join(args), " with %r" % env if env else "")
        check(rc == 2, "%s: exit %s, expected 2 (stderr %r)" % (what, rc, err[-300:]))
        lines = [l for l in err.splitlines() if l.strip()]
        check(len(lines) == 1, "%s: expected one stderr line, got %r" % (what, err[-300:]))
        check(name in lines[0], "%s: the message does not name %s: %r" % (what, name, lines[0]))
        check(out == "", "%s: printed on stdout: %r" % (what, out[:200]))
    # The command line wins over the environment.
    async with Hub(ctx.exe, ["--history", "3"], env={"SSEHUB_HISTORY": "x"}) as hub:
        r = await request(hub.port, "GET", "/healthz")
        check(r.status == 200, "--history 3 with SSEHUB_HISTORY=x: %r" % r)
    rc, out, err = await run_hub(ctx.exe, ["--help"])
    check(rc == 0, "--help: exit %s" % rc)
    for flag in ("--listen", "--threads", "--store", "--history", "--history-age", "--heartbeat",
                 "--retry", "--cors-origin", "--max-connections", "--max-body", "--max-topics",
                 "--max-header", "--header-timeout", "--write-timeout", "--max-lifetime",
                 "--send-buffer", "--slow", "--no-ui", "--log-level", "--access-log"):
        check(re.search(r"(^|\s)%s(\s|=|$)" % re.escape(flag), out, re.M),
              "--help does not list %s" % flag)
    check(all(len(l) < 80 for l in out.splitlines()), "--help has lines of 80 columns or more")


# ---- 14. publish from a non-loopback address

def local_address(family, probes):
    """A non-loopback address of this host: the source address of a route to one of
    |probes| (a UDP connect sends nothing), or None."""
    for probe in probes:
        try:
            s = socket.socket(family, socket.SOCK_DGRAM)
            try:
                s.connect((probe, 9))
                addr = s.getsockname()[0]
            finally:
                s.close()
        except OSError:
            continue
        if not (addr.startswith("127.") or addr in ("::1", "0.0.0.0", "::")
                or addr.startswith("fe80") or addr.startswith("::ffff:")):
            return addr
    return None


def can_bind(host):
    try:
        s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind((host, 0))
        finally:
            s.close()
        return True
    except OSError:
        return False


@case("publish-non-loopback")
async def t_non_loopback(ctx):
    """With no publisher key, publishing is accepted from loopback peers only. A connection
    to one of this host's own non-loopback addresses comes from that address (not from
    127.0.0.1), so the hub sees a non-loopback peer."""
    v4 = local_address(socket.AF_INET, ["198.51.100.1", "10.255.255.254", "192.0.2.1"])
    v6 = local_address(socket.AF_INET6, ["2001:db8::1", "fd00::1"])
    v6 = v6 if v6 and can_bind(v6) else None
    lo6 = "::1" if can_bind("::1") else None
    if v4 is None and v6 is None:
        raise Skip("no non-loopback address on this host to connect from")
    args = []
    for a in (v4, v6, lo6):
        if a:
            args += ["--listen", ("[%s]:0" % a) if ":" in a else ("%s:0" % a)]
    async with ctx.hub(*args) as hub:
        checked = []
        for a, loop in ((v4, False), (v6, False), (lo6, True)):
            if a is None:
                continue
            shown = ("[%s]" % a) if ":" in a else a
            m = await hub.wait_stderr(r"listening on %s:(\d+)" % re.escape(shown))
            port = int(m.group(1))
            with ctx.soft(a):
                s = await Stream.subscribe(port, topics=["nl"], host=a, registry=ctx.conns)
                r = await request(port, "POST", "/.well-known/mercure",
                                  [("Content-Type", "application/x-www-form-urlencoded")],
                                  b"topic=nl&data=from-" + a.encode(), host=a)
                if loop:
                    check(r.status == 200, "publish from %s: %r" % (a, r))
                    check(await s.wait_events(1, 5), "the event published from %s did not "
                          "arrive" % a)
                else:
                    check_error(r, 403, "loopback", "publish from %s" % a)
                    await s.read_for(0.2)
                    check(not s.events, "an event refused with 403 was delivered")
            checked.append(a)
        # Loopback still publishes.
        r = await request(hub.port, "POST", "/.well-known/mercure",
                          [("Content-Type", "application/x-www-form-urlencoded")],
                          b"topic=nl&data=lo")
        check(r.status == 200, "publish from 127.0.0.1: %r" % r)
    return "from " + ", ".join(checked)


# ---- runner

async def run_case(fn, exe, timeout):
    ctx = Ctx(exe)
    try:
        try:
            detail = await asyncio.wait_for(fn(ctx), timeout)
        except asyncio.TimeoutError:
            raise Fail(soft_prefix(ctx) + "timed out (case limit %d s or a read deep inside "
                       "it): %s" % (timeout, where()))
        except (asyncio.IncompleteReadError, ConnectionError) as e:
            raise Fail(soft_prefix(ctx) + "connection: %s: %s" % (type(e).__name__, where()))
        except Fail as e:
            raise Fail(soft_prefix(ctx) + str(e))
        if ctx.soft.fails:
            raise Fail("%d of %d sub-checks failed: %s" % (
                len(ctx.soft.fails), ctx.soft.count, " || ".join(ctx.soft.fails)))
        return detail
    finally:
        ctx.cleanup()


def soft_prefix(ctx):
    if not ctx.soft.fails:
        return ""
    return "[%d sub-checks failed: %s] " % (len(ctx.soft.fails), " || ".join(ctx.soft.fails))


def where():
    """The innermost test_hub.py line of the current exception."""
    return where_in("test_hub.py")


def main():
    a = parse_args(CASES, __doc__)
    if not os.access(a.ssehub, os.X_OK):
        print("FAIL: %s is not an executable" % a.ssehub)
        return 2
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 4096 if hard == resource.RLIM_INFINITY else min(hard, 4096)
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return run_cases(CASES, a.k,
                     lambda name, fn, timeout: asyncio.run(run_case(fn, a.ssehub, timeout)),
                     unexpected=where)


if __name__ == "__main__":
    sys.exit(main())
