#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Exactly-once publishing across retries, end to end, on the memory and the LMDB store: a
publish whose id the hub retains for the same update (topics in order, data, type, retry,
private) is answered 200 with that id and nothing is stored or delivered again; the same id
with anything different is 409; an LMDB hub stopped (SIGTERM) or killed (SIGKILL) after the
200 still answers a retry 200 with no new event; many identical publishes at once, pipelined
on one connection and from several, make one event. Then `ssecat --publish --id-prefix`
through a TCP proxy that cuts its connection several times in the middle of a run (after
the hub answered requests whose answers the proxy keeps from ssecat, and in the middle of
a request): every line arrives exactly once, in order, and nothing acknowledged is lost;
ssecat giving up, idle connections the hub closes, usage errors.

Usage: test_once.py [-k SUBSTRING]... PATH-TO-SSEHUB PATH-TO-SSECAT
Prints one line per case (ok / FAIL) and exits 1 if any case failed.
Python 3 standard library only.
"""
import asyncio
import json
import os
import random
import re
import signal
import sys
import time
import urllib.parse

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from hubtest.http import Conn, Fail, Stream, check, publish_bytes, request  # noqa: E402
from hubtest.hub import LIVE, SANITIZER_RE, Hub  # noqa: E402
from hubtest.runner import in_tmp_dirs, parse_args, run_cases, where as where_in  # noqa: E402

CASES = []
SSEHUB = None
SSECAT = None
STORES = ("memory", "lmdb")
REPLAYS = 0


def case(name, timeout=180):
    def deco(fn):
        CASES.append((name, fn, timeout))
        return fn
    return deco


def each_store(name, timeout=180):
    """Registers |fn| once per store, as NAME-memory and NAME-lmdb."""
    def deco(fn):
        for store in STORES:
            CASES.append(("%s-%s" % (name, store),
                          (lambda st: lambda ctx: fn(ctx, st))(store), timeout))
        return fn
    return deco


class Ctx:
    def __init__(self, tmp):
        self.tmp = tmp
        self.n = 0

    def store_dir(self):
        self.n += 1
        return os.path.join(self.tmp, "store%d" % self.n)

    def hub(self, store, *extra, dir=None):
        """A hub on |store| ("memory", or "lmdb" in |dir| or a new directory)."""
        uri = "memory" if store == "memory" else "lmdb:" + (dir or self.store_dir())
        return Hub(SSEHUB, ["--listen", "127.0.0.1:0", "--store", uri, "--threads", "2",
                            "--heartbeat", "0"] + list(extra), base_args=False)


async def publish(port, pairs):
    return await request(port, "POST", "/.well-known/mercure",
                         [("Content-Type", "application/x-www-form-urlencoded")],
                         urllib.parse.urlencode(pairs).encode())


async def publish_json(port, obj):
    return await request(port, "POST", "/.well-known/mercure",
                         [("Content-Type", "application/json")], json.dumps(obj).encode())


async def read_to_marker(hub, s, timeout=60, marker="marker"):
    """Publishes a marker on the |marker| topic (which |s| selects) and reads |s| until it
    arrives; returns the events before it. Only this test publishes, so everything before
    the marker is what the stream got of the rest."""
    r = await publish(hub.port, [("topic", marker), ("data", "marker")])
    check(r.status == 200, "marker publish: %r" % r)
    mid = r.text
    ok = await s.read_until(lambda st: any(e.id == mid for e in st.events), timeout)
    check(ok, "the marker %s did not arrive (%d events read)" % (mid, len(s.events)))
    evs = list(s.events)
    return evs[:[e.id for e in evs].index(mid)]


async def replay(hub, topics, timeout=60):
    """Every retained event of |topics|, from `earliest` (with a marker topic of its own)."""
    global REPLAYS
    REPLAYS += 1
    marker = "replay-marker-%d" % REPLAYS
    s = await Stream.subscribe(hub.port, topics=list(topics) + [marker],
                               query_last_id="earliest")
    try:
        return await read_to_marker(hub, s, timeout, marker)
    finally:
        s.close()


async def counters(hub):
    vals, _ = await hub.metrics()
    return vals["ssehub_publishes_total"], vals["ssehub_publish_duplicates_total"]


async def wait_counters(hub, want, timeout=30):
    """Waits for (publishes, duplicates) to reach |want| (they count answered publishes)."""
    deadline = time.monotonic() + timeout
    while True:
        got = await counters(hub)
        if got == want or time.monotonic() > deadline:
            check(got == want, "(publishes, duplicates) = %r, expected %r" % (got, want))
            return
        await asyncio.sleep(0.05)


# ---- a retry, and a conflict, on each store

BASE = [("topic", "a"), ("topic", "b"), ("id", "ord-1"), ("type", "placed"),
        ("retry", "2500"), ("data", "line 1\nline 2")]

# The same id with one thing changed: each stays 409, with a reason naming it.
CONFLICTS = [
    ("other data", [("topic", "a"), ("topic", "b"), ("id", "ord-1"), ("type", "placed"),
                    ("retry", "2500"), ("data", "line 1\nline 3")], "other data"),
    ("CRLF for LF", [("topic", "a"), ("topic", "b"), ("id", "ord-1"), ("type", "placed"),
                     ("retry", "2500"), ("data", "line 1\r\nline 2")], "other data"),
    ("topics in another order", [("topic", "b"), ("topic", "a"), ("id", "ord-1"),
                                 ("type", "placed"), ("retry", "2500"),
                                 ("data", "line 1\nline 2")], "other topics"),
    ("one topic fewer", [("topic", "a"), ("id", "ord-1"), ("type", "placed"),
                         ("retry", "2500"), ("data", "line 1\nline 2")], "other topics"),
    ("another type", [("topic", "a"), ("topic", "b"), ("id", "ord-1"), ("type", "paid"),
                      ("retry", "2500"), ("data", "line 1\nline 2")], "another type"),
    ("no type", [("topic", "a"), ("topic", "b"), ("id", "ord-1"), ("retry", "2500"),
                 ("data", "line 1\nline 2")], "another type"),
    ("another retry", [("topic", "a"), ("topic", "b"), ("id", "ord-1"), ("type", "placed"),
                       ("retry", "2501"), ("data", "line 1\nline 2")], "another retry"),
    ("no retry", [("topic", "a"), ("topic", "b"), ("id", "ord-1"), ("type", "placed"),
                  ("data", "line 1\nline 2")], "another retry"),
    ("private", BASE + [("private", "on")], "another private flag"),
]


@each_store("retry-and-conflict")
async def t_retry_and_conflict(ctx, store):
    """A live subscriber of both topics; the publish, then the same publish again on the
    same connection, on a new one and as JSON: 200 with the same id text each time, one
    event delivered and retained. Each field changed: 409 with its reason, nothing
    delivered. Metrics count 1 publish and 3 duplicates."""
    async with ctx.hub(store) as hub:
        live = await Stream.subscribe(hub.port, topics=["a", "b", "marker"])
        c = await Conn.open(hub.port)
        r = await c.publish(BASE)
        check(r.status == 200 and r.body == b"ord-1", "first publish: %r" % r)
        r = await c.publish(BASE)
        check(r.status == 200 and r.body == b"ord-1", "retry on the same connection: %r" % r)
        r = await publish(hub.port, BASE)
        check(r.status == 200 and r.body == b"ord-1", "retry on a new connection: %r" % r)
        r = await publish_json(hub.port, {"topic": ["a", "b"], "id": "ord-1", "type": "placed",
                                          "retry": 2500, "data": "line 1\nline 2"})
        check(r.status == 200 and r.body == b"ord-1", "retry as JSON: %r" % r)
        for what, pairs, reason in CONFLICTS:
            r = await c.publish(pairs)
            check(r.status == 409 and r.text == "id already used by a retained event with %s\n"
                  % reason, "%s: expected 409 (%s), got %r" % (what, reason, r))
        c.close()
        got = await read_to_marker(hub, live)
        live.close()
        check([(e.id, e.type, e.data) for e in got] == [("ord-1", "placed", "line 1\nline 2")],
              "the live subscriber got %r, expected the event once" % got)
        evs = await replay(hub, ["a", "b"])
        check([e.id for e in evs] == ["ord-1"], "replay from earliest: %r" % evs)
        await wait_counters(hub, (1 + 2, 3))  # the two markers are publishes too
        return "1 event, 3 retries answered, %d conflicts refused" % len(CONFLICTS)


@each_store("evicted-id-is-new")
async def t_evicted(ctx, store):
    """With --history 2, an id pushed out of the history is free: the same publish is a new
    event (exactly once holds while the hub retains the event)."""
    async with ctx.hub(store, "--history", "2") as hub:
        first = [("topic", "e"), ("id", "e-1"), ("data", "x")]
        check((await publish(hub.port, first)).status == 200, "first")
        for i in range(2):
            check((await publish(hub.port, [("topic", "e"), ("data", str(i))])).status == 200,
                  "filler")
        r = await publish(hub.port, first)
        check(r.status == 200 and r.text == "e-1", "after eviction: %r" % r)
        evs = await replay(hub, ["e"])
        check([e.id for e in evs][-1:] == ["e-1"] and len(evs) == 2,
              "replay: %r (e-1 published again, last)" % evs)
        vals, _ = await hub.metrics()
        check(vals["ssehub_publish_duplicates_total"] == 0, "no duplicate counted")


# ---- LMDB: across a restart

async def restart_case(ctx, how):
    d = ctx.store_dir()
    pairs = [("topic", "r"), ("id", "keep-1"), ("data", "durable"), ("type", "t")]
    hub = ctx.hub("lmdb", dir=d)
    await hub.start()
    try:
        r = await publish(hub.port, pairs)
        check(r.status == 200 and r.text == "keep-1", "publish: %r" % r)
        if how == "kill":
            hub.proc.send_signal(signal.SIGKILL)  # right after the 200
            await hub.proc.wait()
            hub.stopped = True
            LIVE.discard(hub.proc)
        else:
            problems = await hub.stop()
            check(not problems, "; ".join(problems))
    finally:
        if not hub.stopped:
            await hub.stop()
    async with ctx.hub("lmdb", dir=d) as hub:
        live = await Stream.subscribe(hub.port, topics=["r", "marker"])
        r = await publish(hub.port, pairs)
        check(r.status == 200 and r.text == "keep-1",
              "the retry after the %s: %r (expected 200 keep-1)" % (how, r))
        r = await publish(hub.port, [("topic", "r"), ("id", "keep-1"), ("data", "other")])
        check(r.status == 409, "other data after the %s: %r" % (how, r))
        got = await read_to_marker(hub, live)
        live.close()
        check(got == [], "the live subscriber got %r: the retry was delivered again" % got)
        evs = await replay(hub, ["r"])
        check([(e.id, e.data) for e in evs] == [("keep-1", "durable")],
              "replay after the %s: %r" % (how, evs))
        await wait_counters(hub, (2, 1))  # with the two markers
    return "retry 200, conflict 409, one event"


@case("restart-sigterm-lmdb")
async def t_restart_term(ctx):
    """An LMDB hub stopped with SIGTERM after the 200 and restarted: the retry is 200 with
    no new event (the check reads what LMDB kept), other data is 409."""
    return await restart_case(ctx, "term")


@case("restart-sigkill-lmdb")
async def t_restart_kill(ctx):
    """As restart-sigterm-lmdb, killed with SIGKILL right after the 200."""
    return await restart_case(ctx, "kill")


@case("full-store-lmdb")
async def t_full_store(ctx):
    """An LMDB store whose map may not grow (maxsize) filled until publishes answer 503.
    Then, pipelined on one connection: 4 publishes of a new id with 5 kB of data, a retry
    of an event committed before, 4 more of the new id. The new id's publishes (the first
    and the retries of it, decided in the same batches) all answer 503 and none 200; the
    retry of the committed event answers 200 with its id. After a restart with room, the
    replay holds the committed event once and not the new one."""
    d = ctx.store_dir()
    kept = [("topic", "f"), ("id", "kept"), ("data", "small")]
    new = [("topic", "f"), ("id", "new-1"), ("data", "n" * 5000)]
    async with ctx.hub("lmdb", "--history", "100000",
                       dir=d + "?mapsize=256k&maxsize=1M") as hub:
        r = await publish(hub.port, kept)
        check(r.status == 200 and r.text == "kept", "%r" % r)
        for size in (50000, 5000):  # then small enough for all 9 to come in one read
            for i in range(4000):
                r = await publish(hub.port, [("topic", "f"), ("data", "%d:%s" % (i, "y" * size))])
                if r.status == 503:
                    break
                check(r.status == 200, "filling: %r" % r)
            else:
                raise Fail("4000 publishes of %d bytes and no 503" % size)
        pubs0, dups0 = await counters(hub)
        c = await Conn.open(hub.port)
        plan = [new] * 4 + [kept] + [new] * 4
        c.send(b"".join(publish_bytes(p) for p in plan))
        await c.drain()
        got = [await c.read_response(30) for _ in plan]
        c.close()
        check([r.status for r in got] == [503] * 4 + [200] + [503] * 4,
              "answers: %r" % [(r.status, r.text.strip()) for r in got])
        check(all("store full" in r.text for r in got if r.status == 503),
              "503 reasons: %r" % [r.text for r in got])
        check(got[4].text == "kept", "the retry's answer: %r" % got[4])
        await wait_counters(hub, (pubs0, dups0 + 1))
    async with ctx.hub("lmdb", "--history", "100000", dir=d + "?maxsize=64M") as hub:
        evs = await replay(hub, ["f"])
        ids = [e.id for e in evs]
        check(ids.count("kept") == 1 and "new-1" not in ids,
              "after a restart: kept %d times, new-1 %d times" % (ids.count("kept"),
                                                                  ids.count("new-1")))
    return "9 pipelined: 8 x 503 and the committed retry 200"


# ---- many identical publishes at once

@each_store("concurrent-identical")
async def t_concurrent(ctx, store):
    """20 ids; for each, 1 publish on each of 8 connections, every connection writing all
    of them pipelined at once (in its own shuffled order), plus one connection pipelining
    each publish 20 times in a row: every answer is 200 with the id it asked for, one event
    per id is delivered and retained, the metrics count 20 publishes and the rest
    duplicates. On LMDB the hub is then killed with SIGKILL and restarted: every id is
    still there, once (no 200 was sent before its event was durable)."""
    d = ctx.store_dir()
    ids = ["c-%02d" % i for i in range(20)]
    body = {i: [("topic", "c"), ("id", i), ("data", "data of " + i)] for i in ids}
    rnd = random.Random(7)
    hub = ctx.hub(store, dir=d)
    await hub.start()
    try:
        live = await Stream.subscribe(hub.port, topics=["c", "marker"])
        plans = []
        for _ in range(8):
            order = list(ids)
            rnd.shuffle(order)
            plans.append(order)
        plans.append([i for i in ids for _ in range(20)])
        conns = [await Conn.open(hub.port) for _ in plans]
        for c, plan in zip(conns, plans):
            c.send(b"".join(publish_bytes(body[i]) for i in plan))

        async def answers(c, plan):
            await c.drain()
            return [await c.read_response(60) for _ in plan]

        results = await asyncio.gather(*(answers(c, p) for c, p in zip(conns, plans)))
        for c in conns:
            c.close()
        total = 0
        for plan, resps in zip(plans, results):
            for want, r in zip(plan, resps):
                check(r.status == 200 and r.text == want, "publish of %s: %r" % (want, r))
                total += 1
        got = await read_to_marker(hub, live)
        live.close()
        check(sorted(e.id for e in got) == ids,
              "the live subscriber got %d events: %r" % (len(got), [e.id for e in got][:40]))
        evs = await replay(hub, ["c"])
        check(sorted(e.id for e in evs) == ids, "replay: %r" % [e.id for e in evs][:40])
        await wait_counters(hub, (20 + 2, total - 20))  # with the two markers
        if store == "lmdb":
            hub.proc.send_signal(signal.SIGKILL)
            await hub.proc.wait()
            hub.stopped = True
            LIVE.discard(hub.proc)
            hub = ctx.hub(store, dir=d)
            await hub.start()
            evs = await replay(hub, ["c"])
            check(sorted(e.id for e in evs) == ids,
                  "after SIGKILL: %r" % [e.id for e in evs][:40])
    finally:
        problems = await hub.stop()
    check(not problems, "; ".join(problems))
    return "%d publishes of %d ids: %d events" % (total, len(ids), len(ids))


# ---- ssecat --publish --id-prefix through a proxy that cuts the connection

class Requests:
    """Finds where each request ends in the bytes sent to the hub (fed in order)."""

    def __init__(self):
        self.buf = b""
        self.base = 0   # offset of buf[0] in the connection's bytes
        self.ends = []  # offsets just past each complete request

    def feed(self, data):
        self.buf += data
        while True:
            h = self.buf.find(b"\r\n\r\n")
            if h < 0:
                return
            m = re.search(rb"(?i)\r\ncontent-length: *(\d+)", self.buf[:h + 2])
            end = h + 4 + (int(m.group(1)) if m else 0)
            if end > len(self.buf):
                return
            self.ends.append(self.base + end)
            self.base += end
            self.buf = self.buf[end:]


class Responses:
    """Splits the bytes of pipelined responses (each with Content-Length) into bodies."""

    def __init__(self):
        self.buf = b""
        self.bodies = []

    def feed(self, data):
        self.buf += data
        while True:
            h = self.buf.find(b"\r\n\r\n")
            if h < 0:
                return
            head = self.buf[:h]
            m = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
            n = int(m.group(1)) if m else 0
            if len(self.buf) < h + 4 + n:
                return
            status = int(head.split(b" ", 2)[1])
            self.bodies.append((status, self.buf[h + 4:h + 4 + n]))
            self.buf = self.buf[h + 4 + n:]


class CuttingProxy:
    """A TCP proxy in front of the hub. Connection k follows plans[k] (none: it just
    forwards):
     - ("withhold", DELIVER, REQUESTS): forwards DELIVER complete requests and waits until
       ssecat was passed their answers, then forwards requests up to REQUESTS, waits for
       the hub's answers to all of them, keeps from ssecat every answer read after the
       last request went (at least that request's), and closes both sides: the hub
       published those lines, ssecat never heard.
     - ("cut", BYTES): forwards that many bytes (the middle of a request), then closes both
       sides at once, dropping whatever the hub answered meanwhile.
    Records the ids in the 200 answers it passed on to ssecat (a superset of what ssecat
    read: a close with unread input resets the connection, which may drop some) and the
    answers it withheld."""

    def __init__(self, hub_port, plans):
        self.hub_port = hub_port
        self.plans = list(plans)
        self.conns = 0
        self.delivered = []  # (status, body) forwarded to ssecat, in order
        self.withheld = []   # ids in 200 answers the hub sent that ssecat never got
        self.withheld_by_conn = {}
        self.errors = []

    async def start(self):
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    def close(self):
        self.server.close()

    async def handle(self, creader, cwriter):
        k = self.conns
        self.conns += 1
        plan = self.plans[k] if k < len(self.plans) else None
        try:
            hreader, hwriter = await asyncio.open_connection("127.0.0.1", self.hub_port)
        except OSError as e:
            self.errors.append("connection %d: cannot reach the hub: %s" % (k, e))
            cwriter.close()
            return
        up = bytearray()       # bytes forwarded to the hub
        reqs = Requests()      # and where its requests end
        resp = Responses()     # what the hub answered on this connection
        forwarded = [0]        # answers forwarded to ssecat
        cut = asyncio.Event()
        delivered = asyncio.Event()  # "withhold": DELIVER answers were passed on
        target = [None]        # "withhold": the number of answers to wait for

        async def upstream():
            while not cut.is_set():
                data = await creader.read(65536)
                if not data:
                    break
                if plan is not None and plan[0] == "cut" and len(up) + len(data) >= plan[1]:
                    data = data[:plan[1] - len(up)]
                    hwriter.write(data)
                    up.extend(data)
                    cut.set()
                    break
                if plan is not None and plan[0] == "withhold":
                    done = len(reqs.ends)
                    reqs.feed(data)
                    if done < plan[1] <= len(reqs.ends):
                        # Up to request DELIVER, then wait for ssecat to get the answers.
                        first = data[:reqs.ends[plan[1] - 1] - len(up)]
                        hwriter.write(first)
                        up.extend(first)
                        data = data[len(first):]
                        await asyncio.wait_for(delivered.wait(), 60)
                    if len(reqs.ends) >= plan[2]:
                        data = data[:reqs.ends[plan[2] - 1] - len(up)]
                        hwriter.write(data)
                        up.extend(data)
                        target[0] = plan[2]
                        cut.set()
                        break
                hwriter.write(data)
                up.extend(data)
                await hwriter.drain()
            if not cut.is_set():
                hwriter.write_eof()

        async def downstream():
            while True:
                data = await hreader.read(65536)
                if not data:
                    return
                before = len(resp.bodies)
                resp.feed(data)
                new = resp.bodies[before:]
                if cut.is_set() and plan[0] == "cut":
                    return  # the rest is lost with the connection
                for status, body in new:
                    if target[0] is not None:
                        self.withheld_by_conn[k] = self.withheld_by_conn.get(k, 0) + 1
                        if status == 200:
                            self.withheld.append(body.decode())
                    else:
                        self.delivered.append((status, body.decode()))
                        cwriter.write(b"HTTP/1.1 %d X\r\nContent-Length: %d\r\n\r\n%s"
                                      % (status, len(body), body))
                        forwarded[0] += 1
                await cwriter.drain()
                if plan is not None and plan[0] == "withhold" and forwarded[0] >= plan[1]:
                    delivered.set()
                if target[0] is not None and len(resp.bodies) >= target[0]:
                    return  # every request forwarded is answered: cut now

        try:
            up_task = asyncio.ensure_future(upstream())
            down_task = asyncio.ensure_future(downstream())
            await up_task
            if cut.is_set():
                if plan[0] == "withhold":
                    # The answers ssecat had not been sent yet are held back from now.
                    await asyncio.wait_for(down_task, 60)
                else:
                    down_task.cancel()
            else:
                await down_task
        except asyncio.TimeoutError:
            self.errors.append("connection %d (%r): the hub did not answer the requests "
                               "forwarded within 60 s" % (k, plan))
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            for w in (cwriter, hwriter):
                try:
                    w.close()
                except Exception:  # noqa: BLE001 (already gone)
                    pass


async def run_ssecat(args, stdin, timeout):
    proc = await asyncio.create_subprocess_exec(
        SSECAT, *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE)
    LIVE.add(proc)
    try:
        _, err = await asyncio.wait_for(proc.communicate(stdin), timeout)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        raise Fail("ssecat %s did not exit within %d s" % (" ".join(args), timeout))
    finally:
        LIVE.discard(proc)
    text = err.decode("utf-8", errors="replace")
    bad = [l for l in text.splitlines() if SANITIZER_RE.search(l)]
    check(not bad, "ssecat: sanitizer report: %s" % " | ".join(bad[:5]))
    return proc.returncode, text


@each_store("ssecat-cut", timeout=300)
async def t_ssecat_cut(ctx, store):
    """3,000 lines through `ssecat --publish --id-prefix run7` and a proxy that cuts the
    connection four times: twice after the hub answered requests whose answers ssecat
    never gets (they were published: ssecat sends them again, the hub answers each with
    its id and stores nothing new), twice in the middle of a request. ssecat exits 0; a
    live subscriber and a replay from `earliest` hold every line exactly once, in order,
    with ids run7-1 ... run7-3000; every id the proxy delivered to ssecat as acknowledged
    is among them; the hub counts 3,000 publishes and at least the withheld answers as
    duplicates."""
    n = 3000
    lines = ["line %04d a&b=c+d %%25 \u00e9" % i for i in range(1, n + 1)]
    stdin = ("\n".join(lines) + "\n").encode()
    async with ctx.hub(store, "--history", "10000") as hub:
        # Offsets: requests are about 280 bytes; the hub holds at most 32 publishes of a
        # connection at once, ssecat up to 1024, so these cuts come with answers in flight.
        plans = [("withhold", 300, 400), ("cut", 150000 + 37), ("withhold", 200, 700),
                 ("cut", 90000 + 101)]
        proxy = await CuttingProxy(hub.port, plans).start()
        live = await Stream.subscribe(hub.port, topics=["t", "marker"])
        try:
            rc, err = await run_ssecat(
                ["--publish", "http://127.0.0.1:%d/.well-known/mercure" % proxy.port,
                 "--topic", "t", "--id-prefix", "run7"], stdin, 240)
        finally:
            proxy.close()
        check(not proxy.errors, "proxy: %s" % proxy.errors)
        check(rc == 0, "ssecat exited %s: %s" % (rc, err[-2000:]))
        check(proxy.conns == len(plans) + 1, "ssecat made %d connections, expected %d: %s"
              % (proxy.conns, len(plans) + 1, err[-2000:]))
        lost = len(re.findall(r"lost \(.*\) with \d+ publishes unanswered; reconnecting", err))
        check(lost == len(plans), "ssecat reported %d lost connections: %s" % (lost, err))
        # The answer to the last request a "withhold" connection forwarded cannot come
        # before that request went: each kept at least one from ssecat.
        check(sorted(proxy.withheld_by_conn) == [0, 2] and
              all(v >= 1 for v in proxy.withheld_by_conn.values()),
              "answers withheld per connection: %r" % proxy.withheld_by_conn)
        acked = [b for s, b in proxy.delivered if s == 200]
        check(all(s == 200 for s, _ in proxy.delivered),
              "an answer was not 200: %r" % [x for x in proxy.delivered if x[0] != 200][:3])
        want = [("run7-%d" % (i + 1), line) for i, line in enumerate(lines)]
        got = [(e.id, e.data) for e in await read_to_marker(hub, live, 120)]
        live.close()
        check(got == want, "the live subscriber got %d events; first difference at %s"
              % (len(got), next((i for i, (a, b) in enumerate(zip(got, want)) if a != b),
                                min(len(got), len(want)))))
        evs = [(e.id, e.data) for e in await replay(hub, ["t"], 120)]
        check(evs == want, "the replay from earliest holds %d events; first difference at %s"
              % (len(evs), next((i for i, (a, b) in enumerate(zip(evs, want)) if a != b),
                                min(len(evs), len(want)))))
        # Every id the proxy passed on to ssecat in a 200 (all ssecat can have seen
        # acknowledged) is in the replay, which holds each line once.
        ids = [i for i, _ in evs]
        check(len(set(ids)) == n and set(acked) <= set(ids),
              "acknowledged ids missing from the replay: %r" % sorted(set(acked) - set(ids))[:5])
        check(set(proxy.withheld) <= set(ids), "withheld ids missing")
        pubs, dups = await counters(hub)
        check(pubs == n + 2, "ssehub_publishes_total %d, expected %d (the lines and 2 markers)"
              % (pubs, n + 2))
        check(dups >= len(proxy.withheld),
              "ssehub_publish_duplicates_total %d < %d answers ssecat never got"
              % (dups, len(proxy.withheld)))
        return ("%d lines once each; %d acknowledged through the proxy, %d answers withheld, "
                "%d duplicates" % (n, len(acked), len(proxy.withheld), dups))


@case("ssecat-gives-up")
async def t_ssecat_gives_up(ctx):
    """A proxy that cuts every connection after 100 bytes: `ssecat --id-prefix` tries again
    with a growing wait, and after 8 attempts without a reply exits 1 naming the lines
    unacknowledged. Without --id-prefix, the first lost connection exits 1 at once (a
    resend could publish a line twice)."""
    async with ctx.hub("memory") as hub:
        proxy = await CuttingProxy(hub.port, [("cut", 100)] * 20).start()
        url = "http://127.0.0.1:%d/.well-known/mercure" % proxy.port
        try:
            t0 = time.monotonic()
            rc, err = await run_ssecat(["--publish", url, "--topic", "t", "--id-prefix", "g"],
                                       b"a\nb\nc\n", 120)
            took = time.monotonic() - t0
            check(rc == 1 and re.search(r"giving up on 127\.0\.0\.1:\d+ after 8 attempts in a "
                                        r"row without a reply \(.*\): 3 of 3 publishes "
                                        r"unacknowledged \(lines 1 to 3\)", err),
                  "exit %s: %s" % (rc, err))
            check(proxy.conns == 9, "%d connections, expected 9" % proxy.conns)
            # 0, 100, 200, 400, 800, 1600, 3200 and 5000 ms before the 8 reconnections
            check(took >= 11.0, "gave up after %.1f s: no backoff" % took)
            conns = proxy.conns
            rc, err = await run_ssecat(["--publish", url, "--topic", "t"], b"a\nb\nc\n", 60)
            check(rc == 1 and re.search(r"connection to 127\.0\.0\.1:\d+ lost \(.*\) with 3 "
                                        r"of 3 publishes unacknowledged \(they may or may not "
                                        r"have been published; with --id-prefix", err),
                  "without ids: exit %s: %s" % (rc, err))
            check(proxy.conns == conns + 1, "without ids ssecat reconnected")
        finally:
            proxy.close()
        vals, _ = await hub.metrics()
        check(vals["ssehub_publishes_total"] == 0, "a cut request was published")
        return "gave up after %.1f s" % took


@case("ssecat-idle-close")
async def t_ssecat_idle_close(ctx):
    """A hub that closes idle keep-alive connections (--header-timeout 1s) while ssecat
    waits for its next line, five times: ssecat connects again for the next line each
    time (not at once, and without counting it as a failure), exits 0, and every line
    arrives once."""
    async with ctx.hub("memory", "--header-timeout", "1s") as hub:
        live = await Stream.subscribe(hub.port, topics=["idle"])
        proc = await asyncio.create_subprocess_exec(
            SSECAT, "--publish", "http://127.0.0.1:%d/.well-known/mercure" % hub.port,
            "--topic", "idle", stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        LIVE.add(proc)
        try:
            for i in range(5):
                proc.stdin.write(b"line %d\n" % i)
                await proc.stdin.drain()
                ok = await live.wait_events(i + 1, 30)
                check(ok, "line %d did not arrive (%d events)" % (i, len(live.events)))
                # The hub closes ssecat's idle connection: the stream's is left (and the
                # one asking /metrics), and ssecat does not connect again before it has a
                # line to send.
                n = await hub.wait_metric("ssehub_connections", lambda v: v == 2, 30)
                check(n == 2, "ssehub_connections %s: ssecat's idle connection not closed" % n)
                check(proc.returncode is None, "ssecat exited after an idle close")
            proc.stdin.close()
            _, err = await asyncio.wait_for(proc.communicate(), 60)
        finally:
            LIVE.discard(proc)
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        text = err.decode("utf-8", errors="replace")
        check(proc.returncode == 0 and text == "", "ssecat: exit %s, stderr %r"
              % (proc.returncode, text))
        check([e.data for e in live.events] == ["line %d" % i for i in range(5)],
              "events: %r" % live.events)
        live.close()


@case("ssecat-usage")
async def t_ssecat_usage(ctx):
    """--id-prefix: a bad value or use without --publish exits 2 naming the flag; --help
    documents it."""
    for args, want in [
            (["--publish", "http://127.0.0.1:1/", "--topic", "t", "--id-prefix", ""],
             "ssecat: --id-prefix: expected a non-empty prefix without CR or LF, got ''"),
            (["--publish", "http://127.0.0.1:1/", "--topic", "t", "--id-prefix", "a\nb"],
             "ssecat: --id-prefix: expected a non-empty prefix without CR or LF"),
            (["--publish", "http://127.0.0.1:1/", "--topic", "t", "--id-prefix"],
             "ssecat: --id-prefix needs a value"),
            (["http://127.0.0.1:1/", "--id-prefix", "p"], "ssecat: --id-prefix is for --publish"),
            (["--parse", "--id-prefix", "p"], "ssecat: --id-prefix is for --publish")]:
        rc, err = await run_ssecat(args, b"", 30)
        check(rc == 2 and err.startswith(want), "%r: exit %s, stderr %r" % (args, rc, err))
    proc = await asyncio.create_subprocess_exec(SSECAT, "--help",
                                                stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    check(proc.returncode == 0 and b"--id-prefix P        line n (from 1) gets the id P-n" in out,
          "--help: %r" % out[-600:])


# ---- runner

def where():
    return where_in("test_once.py")


async def run_case(fn, ctx, timeout):
    try:
        return await asyncio.wait_for(fn(ctx), timeout)
    except asyncio.TimeoutError:
        raise Fail("timed out (%d s): %s" % (timeout, where()))


def main():
    global SSEHUB, SSECAT
    a = parse_args(CASES, __doc__, binaries=("ssehub", "ssecat"))
    SSEHUB, SSECAT = a.ssehub, a.ssecat
    run_one = in_tmp_dirs("once", lambda name, fn, timeout, tmp:
                          asyncio.run(run_case(fn, Ctx(tmp), timeout)))
    return run_cases(CASES, a.k, run_one, width=28, unexpected=where)


if __name__ == "__main__":
    sys.exit(main())
