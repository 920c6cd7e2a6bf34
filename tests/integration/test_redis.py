#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Many ssehub nodes on one Redis (--store redis://), against a real redis-server started
by the test (its own port and directory, appendonly yes, appendfsync always, stopped by
pid): fan-out across nodes, per-topic order, cluster-wide ids and resume on another node
(Last-Event-ID, lastEventID, earliest), retention enforced in Redis, exactly-once ids
across nodes, private updates never reaching an unauthorised subscriber on any node; and
real faults: kill -9 of a node during publishing (20 rounds; every acknowledged id is
replayed exactly once, in order, by a surviving node), redis-server killed and restarted
during publishing (503 with Retry-After meanwhile, streams stay open with heartbeats,
nothing acknowledged is lost, subscribers catch up), redis-server stopped with SIGSTOP
(heartbeats and /healthz go on).

Usage: test_redis.py [-k SUBSTRING]... PATH-TO-SSEHUB
Prints one line per case (ok / FAIL) and exits 1 if any case failed.
Python 3 standard library only (and redis-server from Debian's redis-server package).
"""
import asyncio
import json
import os
import random
import re
import shutil
import signal
import socket
import sys
import time
import urllib.parse

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from hubtest import jwt  # noqa: E402
from hubtest.http import Fail, Stream, check, patient, request, request_bytes  # noqa: E402
from hubtest.hub import LIVE, Hub  # noqa: E402
from hubtest.runner import Skip, in_tmp_dirs, parse_args, run_cases  # noqa: E402
from hubtest.runner import where as where_in  # noqa: E402

CASES = []
SSEHUB = None
SUB = "subscriber-secret-0123456789abcdef"


def case(name, timeout=180):
    def deco(fn):
        CASES.append((name, fn, timeout))
        return fn
    return deco


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


async def redis_cmd(port, *args, timeout=5.0):
    """One command to the Redis on |port| (RESP); returns the decoded reply (bytes, int,
    list or None) or raises Fail with its error."""
    r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
    try:
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        w.write(out)
        await w.drain()

        async def read():
            line = await r.readline()
            t, rest = line[:1], line[1:-2]
            if t == b"+":
                return rest
            if t == b"-":
                raise Fail("redis: %s" % rest.decode())
            if t == b":":
                return int(rest)
            if t == b"$":
                n = int(rest)
                if n < 0:
                    return None
                data = await r.readexactly(n + 2)
                return data[:-2]
            if t == b"*":
                n = int(rest)
                return None if n < 0 else [await read() for _ in range(n)]
            raise Fail("redis: unexpected reply %r" % line)
        return await asyncio.wait_for(read(), timeout)
    finally:
        w.close()


class Redis:
    """A redis-server of the test's own: port, directory, AOF with fsync on every write."""

    def __init__(self, tmp, name="redis", port=None, extra=()):
        self.dir = os.path.join(tmp, name)
        os.makedirs(self.dir, exist_ok=True)
        self.port = port or free_port()
        self.extra = list(extra)
        self.proc = None

    async def start(self):
        exe = shutil.which("redis-server")
        if exe is None:
            raise Skip("redis-server is not installed (scripts/deps.sh installs it)")
        self.proc = await asyncio.create_subprocess_exec(
            exe, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
            "--appendonly", "yes", "--appendfsync", "always", "--save", "",
            "--daemonize", "no", "--logfile", os.path.join(self.dir, "redis.log"), *self.extra,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL)
        LIVE.add(self.proc)
        deadline = time.monotonic() + patient(10)
        while True:
            try:
                if await redis_cmd(self.port, "PING", timeout=1) == b"PONG":
                    return self
            except (OSError, Fail, asyncio.TimeoutError):
                pass
            if self.proc.returncode is not None or time.monotonic() > deadline:
                raise Fail("redis-server on port %d did not start: %s"
                           % (self.port, self.log_tail()))
            await asyncio.sleep(0.05)

    def log_tail(self):
        try:
            with open(os.path.join(self.dir, "redis.log")) as f:
                return " | ".join(f.read().splitlines()[-5:])
        except OSError:
            return "(no log)"

    async def kill(self, sig=signal.SIGKILL):
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(sig)
            await self.proc.wait()
        LIVE.discard(self.proc)

    def signal(self, sig):
        self.proc.send_signal(sig)

    @property
    def uri(self):
        return "redis://127.0.0.1:%d" % self.port


class Ctx:
    def __init__(self, tmp):
        self.tmp = tmp
        self.redis = None

    async def start_redis(self, **kw):
        self.redis = await Redis(self.tmp, **kw).start()
        return self.redis

    def node(self, *extra, uri=None, heartbeat="0"):
        return Hub(SSEHUB, ["--listen", "127.0.0.1:0", "--store", uri or self.redis.uri,
                            "--threads", "2", "--heartbeat", heartbeat, "--no-ui"] + list(extra),
                   base_args=False)


async def publish(port, pairs, headers=(), timeout=10.0):
    return await request(port, "POST", "/.well-known/mercure",
                         [("Content-Type", "application/x-www-form-urlencoded")] + list(headers),
                         urllib.parse.urlencode(pairs).encode(), timeout=timeout)


async def published(port, pairs):
    r = await publish(port, pairs)
    check(r.status == 200, "publish %r on %d: %r" % (pairs, port, r))
    return r.text


def ids(stream):
    return [e.id for e in stream.events]


async def started(*hubs):
    for h in hubs:
        await h.start()
    return hubs


async def stopped(*hubs):
    problems = []
    for h in hubs:
        problems += await h.stop()
    check(not problems, "; ".join(problems))


# ---- the cluster

@case("fanout-order")
async def t_fanout(ctx):
    """Publishes alternating over three nodes and two topics reach every subscriber of each
    topic on every node, all in the same order: the order of their (increasing) ids."""
    await ctx.start_redis()
    nodes = await started(ctx.node(), ctx.node(), ctx.node())
    try:
        subs = {}
        for i, n in enumerate(nodes):
            for t in ("a", "b"):
                subs[(i, t)] = await Stream.subscribe(n.port, [t])
        acked = {"a": [], "b": []}
        for k in range(60):
            t = "a" if k % 3 else "b"
            acked[t].append(await published(nodes[k % 3].port,
                                            [("topic", t), ("data", "%s-%d" % (t, k))]))
        for (i, t), s in subs.items():
            ok = await s.wait_events(len(acked[t]), 20)
            check(ok and ids(s) == acked[t],
                  "node %d topic %s: got %r, want %r" % (i, t, ids(s)[:8], acked[t][:8]))
            check([int(x) for x in acked[t]] == sorted(int(x) for x in acked[t]),
                  "ids not increasing: %r" % acked[t])
            s.close()
        check(not set(acked["a"]) & set(acked["b"]), "an id used twice")
        vals, _ = await nodes[0].metrics()
        check(vals.get("ssehub_redis_link_up") == 1 and vals["ssehub_redis_round_trips_total"] > 0,
              "redis metrics: %r" % {k: v for k, v in vals.items() if "redis" in k})
        r = await request(nodes[1].port, "GET", "/healthz")
        check(r.status == 200, "/healthz: %r" % r)
    finally:
        await stopped(*nodes)
        await ctx.redis.kill()
    return "60 events, 3 nodes x 2 topics"


@case("resume-elsewhere")
async def t_resume(ctx):
    """A client that read some events on one node resumes on another with Last-Event-ID
    (header or lastEventID=): exactly the rest, then live events; earliest replays all."""
    await ctx.start_redis()
    nodes = await started(ctx.node(), ctx.node(), ctx.node())
    try:
        s = await Stream.subscribe(nodes[0].port, ["r"])
        acked = [await published(nodes[1].port, [("topic", "r"), ("data", str(k))])
                 for k in range(10)]
        check(await s.wait_events(4, 10), "node 0: %r" % ids(s))
        s.close()
        last = s.events[3].id
        acked += [await published(nodes[2].port, [("topic", "r"), ("data", str(k))])
                  for k in range(10, 15)]
        # Resume on the other two nodes, by header and by query: the rest, then live.
        for n, kw in ((nodes[1], {"last_id": last}), (nodes[2], {"query_last_id": last})):
            r = await Stream.subscribe(n.port, ["r"], **kw)
            check(await r.wait_events(len(acked) - 4, 10), "resume on %d: %r" % (n.port, ids(r)))
            acked.append(await published(nodes[0].port, [("topic", "r"), ("data", "live")]))
            check(await r.wait_events(len(acked) - 4, 10), "live after resume: %r" % ids(r))
            await r.read_for(0.2)
            check(ids(r) == acked[4:],
                  "resume after %s: got %r, want %r" % (last, ids(r), acked[4:]))
            check(r.resp.header("Last-Event-ID") == last,
                  "Last-Event-ID header: %r" % r.resp.header("Last-Event-ID"))
            r.close()
        e = await Stream.subscribe(nodes[2].port, ["r"], query_last_id="earliest")
        check(await e.wait_events(len(acked), 10) and ids(e) == acked,
              "earliest: got %r, want %r" % (ids(e), acked))
        e.close()
    finally:
        await stopped(*nodes)
        await ctx.redis.kill()
    return "15 + 2 live events"


@case("resume-ahead")
async def t_resume_ahead(ctx):
    """A client resumes on a node that has not read its Last-Event-ID yet (the node was
    stopped with SIGSTOP while another published): the replay waits for the node's reader,
    so the client gets no duplicate and no gap (hub-assigned and chosen ids)."""
    await ctx.start_redis()
    a, b = await started(ctx.node(), ctx.node())
    try:
        for rnd, chosen in enumerate((False, True, False, True)):
            b.proc.send_signal(signal.SIGSTOP)
            try:
                acked = []
                for k in range(5):
                    pairs = [("topic", "h"), ("data", "%d-%d" % (rnd, k))]
                    if chosen:
                        pairs.append(("id", "r%d-%d" % (rnd, k)))
                    acked.append(await published(a.port, pairs))
                # The request is in b's socket (accepted by the kernel) before b runs again.
                s = await Stream.open(b.port)
                s.send(request_bytes("GET", "/.well-known/mercure?topic=h",
                                     [("Accept", "text/event-stream"),
                                      ("Last-Event-ID", acked[2])]))
                await s.drain()
            finally:
                b.proc.send_signal(signal.SIGCONT)
            s.resp = await s.read_response(10, head_only=True)
            check(s.resp.status == 200, "resume on b: %r" % s.resp)
            live = await published(a.port, [("topic", "h"), ("data", "live%d" % rnd)])
            check(await s.read_until(lambda st: live in ids(st), 10), "live: %r" % ids(s))
            check(ids(s) == acked[3:] + [live],
                  "round %d: got %r, want %r" % (rnd, ids(s), acked[3:] + [live]))
            s.close()
    finally:
        await stopped(a, b)
        await ctx.redis.kill()
    return "4 rounds"


@case("retention")
async def t_retention(ctx):
    """?maxlen= bounds the stream in Redis (XLEN), --history bounds each topic on every
    node, and a node started later replays the same history (read from Redis)."""
    await ctx.start_redis()
    uri = ctx.redis.uri + "?maxlen=6"
    nodes = await started(ctx.node("--history", "3", uri=uri), ctx.node("--history", "3", uri=uri))
    try:
        acked = {"x": [], "y": []}
        for k in range(10):
            t = "x" if k < 7 else "y"
            acked[t].append(await published(nodes[k % 2].port, [("topic", t), ("data", str(k))]))
        xlen = await redis_cmd(ctx.redis.port, "XLEN", "ssehub:log")
        check(xlen == 6, "XLEN %r, expected 6 (maxlen)" % xlen)
        nids = await redis_cmd(ctx.redis.port, "HLEN", "ssehub:ids")
        check(nids == 6, "HLEN ids %r, expected 6 (trimmed with the stream)" % nids)
        late = ctx.node("--history", "3", uri=uri)
        await late.start()
        try:
            for n in list(nodes) + [late]:
                s = await Stream.subscribe(n.port, ["x", "y"], query_last_id="earliest")
                want = acked["x"][-3:] + acked["y"][-3:]
                want.sort(key=int)
                if n is late:  # the stream kept the newest 6 of all: x 4..6, y 7..9
                    want = sorted(acked["x"][-3:] + acked["y"], key=int)[-6:]
                check(await s.wait_events(len(want), 10), "node %d: %r" % (n.port, ids(s)))
                await s.read_for(0.2)
                check(ids(s) == want, "node %d: got %r, want %r" % (n.port, ids(s), want))
                s.close()
        finally:
            await stopped(late)
    finally:
        await stopped(*nodes)
        await ctx.redis.kill()
    return "XLEN 6, 3 per topic"


@case("once-across-nodes")
async def t_once(ctx):
    """A chosen id is cluster-wide: the same update published again on another node is
    answered 200 with that id and delivered once; other content with it is 409."""
    await ctx.start_redis()
    nodes = await started(ctx.node(), ctx.node())
    try:
        s = await Stream.subscribe(nodes[1].port, ["o"])
        for n in nodes + nodes:
            check(await published(n.port, [("topic", "o"), ("data", "d"), ("id", "evt-1")])
                  == "evt-1", "retry answer")
        r = await publish(nodes[1].port, [("topic", "o"), ("data", "other"), ("id", "evt-1")])
        check(r.status == 409, "other data, same id: %r" % r)
        # A publisher choosing the digits the hub would assign next gets them; the hub's own
        # id then takes a suffix.
        nxt = str(int(await published(nodes[0].port, [("topic", "o"), ("data", "h")])) + 1)
        check(await published(nodes[1].port, [("topic", "o"), ("data", "c"), ("id", nxt)]) == nxt,
              "chosen digits")
        tail = await published(nodes[0].port, [("topic", "o"), ("data", "h2")])
        check(tail != nxt, "hub id %s reused a held id" % tail)
        check(await s.wait_events(4, 10), "events: %r" % ids(s))
        await s.read_for(0.3)
        check([e.id for e in s.events] == ["evt-1", s.events[1].id, nxt, tail],
              "delivered: %r" % ids(s))
        s.close()
    finally:
        await stopped(*nodes)
        await ctx.redis.kill()
    return "retry 200 x 4, 409"


@case("private")
async def t_private(ctx):
    """A private update reaches the authorised subscribers of every node and no anonymous
    one on any node."""
    await ctx.start_redis()
    nodes = await started(*(ctx.node("--subscriber-key", SUB) for _ in range(3)))
    tok = jwt.hs256({"mercure": {"subscribe": ["p"]}}, SUB)
    auth = [("Authorization", "Bearer " + tok)]
    try:
        anon = [await Stream.subscribe(n.port, ["p"]) for n in nodes]
        authd = [await Stream.subscribe(n.port, ["p"], headers=auth) for n in nodes]
        priv = await published(nodes[0].port, [("topic", "p"), ("data", "secret"),
                                               ("private", "on")])
        pub = await published(nodes[1].port, [("topic", "p"), ("data", "public")])
        for s in authd:
            check(await s.wait_events(2, 10) and ids(s) == [priv, pub],
                  "authorised: %r" % ids(s))
        for s in anon:
            check(await s.wait_events(1, 10), "anonymous: nothing")
            await s.read_for(0.2)
            check(ids(s) == [pub] and all(e.data != "secret" for e in s.events),
                  "anonymous got %r" % s.events)
        for s in anon + authd:
            s.close()
        # Nor by replay.
        s = await Stream.subscribe(nodes[2].port, ["p"], query_last_id="earliest")
        check(await s.wait_events(1, 10), "replay: nothing")
        await s.read_for(0.2)
        check(ids(s) == [pub], "anonymous replay: %r" % ids(s))
        s.close()
    finally:
        await stopped(*nodes)
        await ctx.redis.kill()
    return "3 nodes"


TOPICS_TPL = "/.well-known/mercure/subscriptions{/topic}{/subscriber}"


async def api_lists(port, path, headers, want, timeout=10):
    """Asks a node's subscriptions API for |path| until it lists exactly the subscribers
    |want| (a node reads other nodes' updates from Redis on its own schedule: that a
    watcher somewhere has seen one says nothing of when this node has). Returns what the
    last answer listed (None when it was not a 200)."""
    deadline = time.monotonic() + patient(timeout)
    while True:
        r = await request(port, "GET", path, headers)
        listed = ([x["subscriber"] for x in json.loads(r.body)["subscriptions"]]
                  if r.status == 200 else None)
        if listed == want or time.monotonic() >= deadline:
            return listed
        await asyncio.sleep(0.05)


@case("presence", timeout=300)
async def t_presence(ctx):
    """--subscriptions across nodes: a subscription on one node is announced to watchers on
    the others and listed by every node's subscriptions API; when that node is killed
    (SIGKILL), the survivors announce its leave once, within the bound (5 s of liveness,
    renewed every second), and stop listing it."""
    await ctx.start_redis()
    watch = [("Authorization", "Bearer " + jwt.hs256({"mercure": {"subscribe": ["*"]}}, SUB))]
    args = ("--subscriptions", "--subscriber-key", SUB)
    victim, b, c = await started(ctx.node(*args), ctx.node(*args), ctx.node(*args))
    try:
        w = await Stream.subscribe(c.port, [TOPICS_TPL], headers=watch)
        w8 = await Stream.subscribe(b.port, ["*"], headers=watch)  # both shapes
        room = await Stream.subscribe(victim.port, ["room"])
        # A Mercure 1.0 subscription (match=): its records are in draft-08's shape
        # (.../subscriptions/Exact/{match}/{subscriber}, events of type "mercure") on
        # every node, and so is the leave the survivors announce for it.
        room8 = await Stream.subscribe(
            victim.port, path="/.well-known/mercure?" + urllib.parse.urlencode(
                [("match", "room8")]))

        def docs(st):
            return [json.loads(e.data) for e in st.events]

        def about_room(st, active):
            return [d for d in docs(st) if d["topic"] == "room" and d["active"] is active]

        check(await w.read_until(lambda st: about_room(st, True), 10),
              "no join from the other node: %r" % docs(w))
        sub_id = about_room(w, True)[0]["subscriber"]
        for n in (b, c):
            listed = await api_lists(n.port, "/.well-known/mercure/subscriptions/room", watch,
                                     [sub_id])
            check(listed == [sub_id], "API on %d lists %r, want [%s]" % (n.port, listed, sub_id))

        def about_room8(st, active):
            return [(e, json.loads(e.data)) for e in st.events
                    if json.loads(e.data).get("match") == "room8" and
                    json.loads(e.data)["active"] is active]

        check(await w8.read_until(lambda st: about_room8(st, True), 10),
              "no draft-08 join from the other node: %r" % docs(w8))
        e8, d8 = about_room8(w8, True)[0]
        check(e8.type == "mercure" and d8["matchType"] == "Exact" and "@context" not in d8 and
              d8["id"].startswith("/.well-known/mercure/subscriptions/Exact/room8/"),
              "draft-08 join: %r %r" % (e8, d8))
        for n in (b, c):
            listed = await api_lists(n.port, "/.well-known/mercure/subscriptions/Exact/room8",
                                     watch, [d8["subscriber"]])
            check(listed == [d8["subscriber"]], "API on %d, draft-08 record: %r" % (n.port, listed))
            # The other node's record alone: draft-08's document of its own (@context
            # first, lastEventID, a quoted ETag).
            r = await request(n.port, "GET", d8["id"], watch)
            one = json.loads(r.body) if r.status == 200 else {}
            check(r.status == 200 and list(one)[:1] == ["@context"] and
                  one["subscriber"] == d8["subscriber"] and one["matchType"] == "Exact" and
                  r.header("ETag") == '"%s"' % one["lastEventID"],
                  "API on %d, the draft-08 record alone: %r %r" % (n.port, r, r.headers))
        victim.proc.send_signal(signal.SIGKILL)
        await victim.proc.wait()
        LIVE.discard(victim.proc)
        victim.stopped = True
        t0 = time.monotonic()
        check(await w.read_until(lambda st: about_room(st, False), 20),
              "no leave for the killed node's subscriber: %r" % docs(w)[-3:])
        took = time.monotonic() - t0
        leave = about_room(w, False)[0]
        check(leave["subscriber"] == sub_id and leave["id"].endswith(
            urllib.parse.quote(sub_id, safe="")), "leave: %r" % leave)
        check(await w8.read_until(lambda st: about_room8(st, False), 20),
              "no draft-08 leave for the killed node's subscriber: %r" % docs(w8)[-3:])
        await w.read_for(2.5)  # both survivors noticed: still one leave
        check(len(about_room(w, False)) == 1, "leaves: %r" % about_room(w, False))
        await w8.read_for(0.5)
        leaves8 = about_room8(w8, False)
        check(len(leaves8) == 1 and leaves8[0][0].type == "mercure" and
              leaves8[0][1]["id"] == d8["id"], "draft-08 leaves: %r" % leaves8)
        for n in (b, c):
            for path in ("room", "Exact/room8"):
                listed = await api_lists(n.port, "/.well-known/mercure/subscriptions/" + path,
                                         watch, [])
                check(listed == [], "API on %d after the kill, %s: %r" % (n.port, path, listed))
        # A node stopped with SIGTERM announces its leaves itself, and leaves the cluster:
        # the others do not announce them again when its liveness would have run out.
        d = ctx.node(*args)
        await d.start()
        hall = await Stream.subscribe(d.port, ["hall"])
        check(await w.read_until(lambda st: any(x["topic"] == "hall" for x in docs(st)), 10),
              "no join for hall")
        hall.close()
        check(not await d.stop(), "node d did not stop cleanly")
        check(await w.read_until(
            lambda st: any(x["topic"] == "hall" and x["active"] is False for x in docs(st)), 10),
              "no leave for hall: %r" % docs(w)[-3:])
        await w.read_for(7)  # past the 5 s liveness
        hall_leaves = [x for x in docs(w) if x["topic"] == "hall" and x["active"] is False]
        check(len(hall_leaves) == 1, "leaves for hall: %r" % hall_leaves)
        gone = set()
        for n in (b, c):
            for ln in n.stderr_lines:
                m = re.search(r"node (node-[0-9a-f]+) has not renewed", ln)
                if m:
                    gone.add(m.group(1))
        check(len(gone) == 1, "nodes found gone: %r (only the killed one should be)" % gone)
        w.close()
        w8.close()
        room.close()
        room8.close()
    finally:
        await stopped(b, c)
        await ctx.redis.kill()
    return "leave announced %.1f s after the kill" % took


@case("durability-and-script")
async def t_durability(ctx):
    """?durability=aof refuses a Redis without appendfsync always (the node exits 2 and
    says why); a Redis that lost the publish script (SCRIPT FLUSH) gets it again, and the
    publish that met NOSCRIPT is still answered 200, once."""
    await ctx.start_redis(extra=["--appendfsync", "everysec"])
    h = ctx.node(uri=ctx.redis.uri + "?durability=aof")
    proc = await asyncio.create_subprocess_exec(h.exe, *h.args, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(proc.communicate(), patient(10))
    check(proc.returncode == 2 and b"appendfsync always" in err,
          "durability=aof on everysec: exit %s, %r" % (proc.returncode, err[-300:]))
    n = ctx.node()
    await n.start()
    try:
        s = await Stream.subscribe(n.port, ["q"])
        first = await published(n.port, [("topic", "q"), ("data", "1")])
        check(await redis_cmd(ctx.redis.port, "SCRIPT", "FLUSH") == b"OK", "SCRIPT FLUSH")
        second = await published(n.port, [("topic", "q"), ("data", "2")])
        check(await s.wait_events(2, 10), "events: %r" % ids(s))
        await s.read_for(0.2)
        check(ids(s) == [first, second], "after SCRIPT FLUSH: %r" % ids(s))
        s.close()
    finally:
        await stopped(n)
        await ctx.redis.kill()
    return "exit 2; NOSCRIPT retried"


# ---- faults

async def publisher_loop(port_of, topic, acked, stop, failures):
    """Publishes (to port_of()) until |stop| is set, recording acknowledged ids; anything
    but 200 or a refused connection is a failure of the store contract."""
    k = 0
    while not stop.is_set():
        k += 1
        try:
            r = await publish(port_of(), [("topic", topic), ("data", "m%d" % k)], timeout=15)
        except (OSError, asyncio.IncompleteReadError, Fail, asyncio.TimeoutError):
            await asyncio.sleep(0.01)
            continue
        if r.status == 200:
            acked.append(r.text)
        elif r.status == 503:
            if r.header("Retry-After") != "1":
                failures.append("503 without Retry-After: %r" % r)
            await asyncio.sleep(0.02)
        else:
            failures.append("publish: %r" % r)


def check_replay(got, acked, what):
    """Every acknowledged id exactly once, in increasing (publish) order."""
    check(len(got) == len(set(got)), "%s: duplicates in replay" % what)
    seqs = [int(x) for x in got]
    check(seqs == sorted(seqs), "%s: replay out of order" % what)
    missing = set(acked) - set(got)
    check(not missing, "%s: %d acknowledged ids missing, e.g. %r"
          % (what, len(missing), sorted(missing)[:5]))


@case("kill9-node", timeout=600)
async def t_kill9(ctx):
    """Two nodes take publishes while one of them is killed with SIGKILL and restarted, 20
    times; a surviving node replays every acknowledged id exactly once, in order."""
    await ctx.start_redis()
    keep = ("--history", "1000000")  # every acknowledged event stays replayable
    stable = ctx.node(*keep)
    victim = ctx.node(*keep)
    await started(stable, victim)
    acked, failures = [], []
    stop = asyncio.Event()
    ports = {"victim": victim.port}
    tasks = [asyncio.ensure_future(publisher_loop(lambda: stable.port, "k", acked, stop,
                                                  failures)),
             asyncio.ensure_future(publisher_loop(lambda: ports["victim"], "k", acked, stop,
                                                  failures))]
    try:
        for rnd in range(20):
            n0 = len(acked)
            deadline = time.monotonic() + patient(5)
            while len(acked) < n0 + 5 and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            victim.proc.send_signal(signal.SIGKILL)
            await victim.proc.wait()
            LIVE.discard(victim.proc)
            victim.stopped = True
            victim = ctx.node(*keep)
            await victim.start()
            ports["victim"] = victim.port
        stop.set()
        await asyncio.gather(*tasks)
        check(not failures, "; ".join(failures[:3]))
        check(len(acked) >= 100, "only %d publishes acknowledged" % len(acked))
        for n in (stable, victim):
            s = await Stream.subscribe(n.port, ["k"], query_last_id="earliest")
            await s.read_until(lambda st: set(acked) <= set(ids(st)), 20)
            check_replay(ids(s), acked, "node %d" % n.port)
            s.close()
    finally:
        stop.set()
        await stopped(stable, victim)
        await ctx.redis.kill()
    return "%d acknowledged, 20 kills" % len(acked)


@case("redis-restart", timeout=300)
async def t_redis_restart(ctx):
    """redis-server is killed (SIGKILL) and restarted on its AOF during publishing: in
    between publishes get 503 with Retry-After and /healthz 503, streams stay open with
    heartbeats; after, a subscriber on another node has every acknowledged id, in order,
    exactly once, and so has a replay."""
    await ctx.start_redis()
    a, b = await started(ctx.node("--history", "1000000", heartbeat="200ms"),
                         ctx.node("--history", "1000000", heartbeat="200ms"))
    acked, failures = [], []
    stop = asyncio.Event()
    try:
        s = await Stream.subscribe(b.port, ["z"])
        task = asyncio.ensure_future(publisher_loop(lambda: a.port, "z", acked, stop, failures))
        deadline = time.monotonic() + patient(10)
        while len(acked) < 30 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        await ctx.redis.kill()
        n_at_kill = len(acked)
        # Down: 503s, /healthz 503, heartbeats on the open stream.
        r = await publish(a.port, [("topic", "z"), ("data", "while down")], timeout=15)
        check(r.status == 503 and r.header("Retry-After") == "1", "publish while down: %r" % r)
        deadline = time.monotonic() + patient(5)
        while True:
            h = await request(b.port, "GET", "/healthz")
            if h.status == 503 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        check(h.status == 503 and "Redis" in h.text, "/healthz while down: %r" % h)
        beats = len(s.sse.comments)
        await s.read_until(lambda st: len(st.sse.comments) >= beats + 3, 5)
        check(len(s.sse.comments) >= beats + 3 and not s.eof,
              "stream while Redis is down: %d heartbeats, eof %s" % (len(s.sse.comments) - beats,
                                                                     s.eof))
        await ctx.start_redis(port=ctx.redis.port)
        n_back = len(acked)
        deadline = time.monotonic() + patient(10)
        while len(acked) < n_back + 30 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        stop.set()
        await task
        check(not failures, "; ".join(failures[:3]))
        check(len(acked) >= n_back + 30, "publishing did not resume: %d" % len(acked))
        await s.read_until(lambda st: set(acked) <= set(ids(st)), 20)
        check_replay(ids(s), acked, "live subscriber")
        s.close()
        e = await Stream.subscribe(b.port, ["z"], query_last_id="earliest")
        await e.read_until(lambda st: set(acked) <= set(ids(st)), 20)
        check_replay(ids(e), acked, "replay")
        e.close()
        h = await request(b.port, "GET", "/healthz")
        check(h.status == 200, "/healthz after: %r" % h)
        rc = await b.metric("ssehub_redis_reconnections_total")
        check(rc >= 1, "reconnections %r" % rc)
    finally:
        stop.set()
        await stopped(a, b)
        await ctx.redis.kill()
    return "%d acknowledged (%d before the kill)" % (len(acked), n_at_kill)


@case("redis-sigstop", timeout=300)
async def t_sigstop(ctx):
    """A Redis that hangs (SIGSTOP) does not stall the loops: heartbeats go on, /healthz
    and /metrics answer at once, and after SIGCONT publishing and delivery resume."""
    await ctx.start_redis()
    a, b = await started(ctx.node(heartbeat="200ms"), ctx.node(heartbeat="200ms"))
    try:
        s = await Stream.subscribe(b.port, ["w"])
        first = await published(a.port, [("topic", "w"), ("data", "before")])
        ctx.redis.signal(signal.SIGSTOP)
        try:
            pending = asyncio.ensure_future(publish(a.port, [("topic", "w"), ("data", "hung")],
                                                    timeout=30))
            beats = len(s.sse.comments)
            t0 = time.monotonic()
            await s.read_until(lambda st: len(st.sse.comments) >= beats + 5, 5)
            check(len(s.sse.comments) >= beats + 5,
                  "%d heartbeats in %.1f s while Redis is stopped"
                  % (len(s.sse.comments) - beats, time.monotonic() - t0))
            for n in (a, b):
                t1 = time.monotonic()
                h = await request(n.port, "GET", "/healthz", timeout=patient(1))
                check(h.status in (200, 503), "/healthz: %r" % h)
                m = await request(n.port, "GET", "/metrics", timeout=patient(1))
                check(m.status == 200, "/metrics: %r" % m)
                check(time.monotonic() - t1 < patient(1), "slow answers while Redis hangs")
            r = await pending
            check(r.status in (200, 503), "publish to a stopped Redis: %r" % r)
        finally:
            ctx.redis.signal(signal.SIGCONT)
        last = await published(a.port, [("topic", "w"), ("data", "after")])
        check(await s.read_until(lambda st: last in ids(st), 15), "after SIGCONT: %r" % ids(s))
        check(ids(s)[0] == first, "first: %r" % ids(s))
        s.close()
    finally:
        await stopped(a, b)
        await ctx.redis.kill()
    return "heartbeats on"


# ---- Sentinel

class Sentinel:
    """A redis-sentinel of the test's own, monitoring |master| at |primary_port|."""

    def __init__(self, tmp, name, primary_port):
        self.dir = os.path.join(tmp, name)
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.conf = os.path.join(self.dir, "sentinel.conf")
        with open(self.conf, "w") as f:
            f.write("port %d\nbind 127.0.0.1\ndir %s\nlogfile %s\n"
                    "sentinel monitor mymaster 127.0.0.1 %d 2\n"
                    "sentinel down-after-milliseconds mymaster 1000\n"
                    "sentinel failover-timeout mymaster 10000\n"
                    "sentinel parallel-syncs mymaster 1\n"
                    % (self.port, self.dir, os.path.join(self.dir, "sentinel.log"),
                       primary_port))
        self.proc = None

    async def start(self):
        exe = shutil.which("redis-sentinel")
        if exe is None:
            raise Skip("redis-sentinel is not installed (scripts/deps.sh installs it)")
        self.proc = await asyncio.create_subprocess_exec(
            exe, self.conf, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL)
        LIVE.add(self.proc)
        deadline = time.monotonic() + patient(10)
        while True:
            try:
                if await redis_cmd(self.port, "PING", timeout=1) == b"PONG":
                    return self
            except (OSError, Fail, asyncio.TimeoutError):
                pass
            if self.proc.returncode is not None or time.monotonic() > deadline:
                raise Fail("redis-sentinel on port %d did not start" % self.port)
            await asyncio.sleep(0.05)

    async def master_port(self):
        r = await redis_cmd(self.port, "SENTINEL", "get-master-addr-by-name", "mymaster")
        return int(r[1])

    async def kill(self):
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        LIVE.discard(self.proc)


@case("sentinel-failover", timeout=600)
async def t_sentinel(ctx):
    """A primary, a replica and three sentinels; two nodes publish with ?replicas=1 (WAIT)
    and the primary is killed (SIGKILL) in the middle: the sentinels promote the replica,
    the nodes follow it (503 meanwhile), the old primary returns as its replica, and every
    publish acknowledged before or after the failover is replayed exactly once, in order,
    by both nodes."""
    primary = await ctx.start_redis(name="primary")
    replica = await Redis(ctx.tmp, name="replica",
                          extra=["--replicaof", "127.0.0.1", str(primary.port)]).start()
    sentinels = []
    a = b = None
    acked, failures = [], []
    stop = asyncio.Event()
    try:
        deadline = time.monotonic() + patient(10)
        while True:
            info = await redis_cmd(replica.port, "INFO", "replication")
            if b"master_link_status:up" in info:
                break
            check(time.monotonic() < deadline, "replica not in sync: %r" % info)
            await asyncio.sleep(0.05)
        for k in range(3):
            sentinels.append(await Sentinel(ctx.tmp, "sentinel%d" % k, primary.port).start())
        uri = "redis-sentinel://%s/mymaster?replicas=1&wait=2000&durability=aof" % ",".join(
            "127.0.0.1:%d" % st.port for st in sentinels)
        a = ctx.node("--history", "1000000", uri=uri)
        b = ctx.node("--history", "1000000", uri=uri)
        await started(a, b)
        s = await Stream.subscribe(b.port, ["f"])
        tasks = [asyncio.ensure_future(publisher_loop(lambda: a.port, "f", acked, stop, failures)),
                 asyncio.ensure_future(publisher_loop(lambda: b.port, "f", acked, stop, failures))]
        deadline = time.monotonic() + patient(10)
        while len(acked) < 40 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        n_before = len(acked)
        await primary.kill()
        # The sentinels promote the replica.
        deadline = time.monotonic() + patient(30)
        while True:
            try:
                if await sentinels[0].master_port() == replica.port:
                    break
            except (OSError, Fail, asyncio.TimeoutError, TypeError):
                pass
            check(time.monotonic() < deadline, "no failover to the replica")
            await asyncio.sleep(0.1)
        # WAIT 1 needs a replica again: the old primary comes back, and the sentinels make
        # it the new primary's replica (until then publishes are 503).
        primary = await Redis(ctx.tmp, name="primary", port=primary.port).start()
        deadline = time.monotonic() + patient(20)
        while len(acked) < n_before + 40 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        stop.set()
        await asyncio.gather(*tasks)
        check(not failures, "; ".join(failures[:3]))
        check(len(acked) >= n_before + 40, "publishing did not resume after the failover: %d, "
              "%d before; node a: %s" % (len(acked), n_before, a.stderr_tail(5)))
        await s.read_until(lambda st: set(acked) <= set(ids(st)), 20)
        check_replay(ids(s), acked, "live subscriber")
        s.close()
        for n in (a, b):
            e = await Stream.subscribe(n.port, ["f"], query_last_id="earliest")
            await e.read_until(lambda st: set(acked) <= set(ids(st)), 20)
            check_replay(ids(e), acked, "replay on %d" % n.port)
            e.close()
    finally:
        stop.set()
        hubs = [h for h in (a, b) if h is not None and h.proc is not None]
        try:
            await stopped(*hubs)
        finally:
            for st in sentinels:
                await st.kill()
            await replica.kill()
            await primary.kill()
    return "%d acknowledged, %d before the failover" % (len(acked), n_before)


# ---- runner

def where():
    return where_in("test_redis.py")


async def run_case(fn, ctx, timeout):
    try:
        return await asyncio.wait_for(fn(ctx), timeout)
    except asyncio.TimeoutError:
        raise Fail("timed out (%d s): %s" % (timeout, where()))
    finally:
        if ctx.redis is not None:
            if ctx.redis.proc is not None and ctx.redis.proc.returncode is None:
                ctx.redis.signal(signal.SIGCONT)
            await ctx.redis.kill()


def main():
    global SSEHUB
    a = parse_args(CASES, __doc__)
    SSEHUB = a.ssehub
    run_one = in_tmp_dirs("redis", lambda name, fn, timeout, tmp:
                          asyncio.run(run_case(fn, Ctx(tmp), timeout)))
    return run_cases(CASES, a.k, run_one, width=20, unexpected=where)


if __name__ == "__main__":
    sys.exit(main())
