#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Presence when the hub stops (--subscriptions): on SIGTERM or SIGINT every active
subscription's leave (a subscription update with "active": false) is published through the
store before the streams close. A watcher of the subscriptions topic receives them live
before its own stream ends, and with the LMDB store they are durable: a hub restarted on
the same DIR replays, from `earliest`, a leave after the join of every subscription. A real
ssehub on 127.0.0.1 port 0 and raw sockets.

Usage: test_presence_stop.py [-k SUBSTRING]... PATH-TO-SSEHUB
Prints one line per case (ok / FAIL) and exits 1 if any case failed.
"""
import asyncio
import json
import os
import shutil
import signal
import sys
import tempfile
import urllib.parse

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from hubtest import jwt  # noqa: E402
from hubtest.http import Stream, check  # noqa: E402
from hubtest.hub import Hub  # noqa: E402
from hubtest.runner import parse_args, run_cases  # noqa: E402

SUB = "subscriber-secret-0123456789abcdef"
TOPICS_TPL = "/.well-known/mercure/subscriptions{/topic}{/subscriber}"
CASES = []


def case(name, timeout=120):
    def deco(fn):
        CASES.append((name, fn, timeout))
        return fn
    return deco


def auth(claims):
    return [("Authorization", "Bearer " + jwt.hs256({"mercure": claims}, SUB))]


WATCH = auth({"subscribe": [TOPICS_TPL]})
PLAIN = auth({"subscribe": []})


def sub_path(topics, **extra):
    items = [("topic", t) for t in topics] + list(extra.items())
    return "/.well-known/mercure?" + urllib.parse.urlencode(items)


def docs(stream):
    return [json.loads(e.data) for e in stream.events]


def hub_args(store, threads, presence=True):
    return (["--listen", "127.0.0.1:0", "--store", store, "--threads", str(threads),
             "--subscriber-key", SUB, "--heartbeat", "0"]
            + (["--subscriptions"] if presence else []))


async def open_subscribers(port, n):
    """|n| subscribers, subscriber i on topics a<i> and, for odd i, also b<i>: returns the
    streams and the (topic) list each one subscribed to."""
    streams, topics = [], []
    for i in range(n):
        ts = ["a%d" % i] + (["b%d" % i] if i % 2 else [])
        streams.append(await Stream.subscribe(port, path=sub_path(ts), headers=PLAIN))
        topics.append(ts)
    return streams, topics


async def stop_and_watch(hub, watcher, expected_leaves, sig):
    """Sends |sig| to the hub; the watcher reads to the end of its stream. Returns the hub's
    problems at stop."""
    hub.proc.send_signal(sig)
    eof = await watcher.read_to_eof(60)
    check(eof, "the watcher's stream did not end within 60 s of %s" % sig.name)
    leaves = [d for d in docs(watcher) if d["active"] is False]
    check(len(leaves) >= expected_leaves,
          "the watcher received %d leaves before its stream closed, expected %d: %r"
          % (len(leaves), expected_leaves, docs(watcher)[-4:]))
    return await hub.stop(grace=30, sig=sig, signalled=True)


def check_pairs(events, wanted):
    """|events|: subscription docs in stream order. Every (topic, subscriber) in |wanted|
    has exactly one join and, after it, exactly one leave."""
    for key in wanted:
        seq = [d["active"] for d in events if (d["topic"], d["subscriber"]) == key]
        check(seq == [True, False], "subscription %r: %r (expected a join then a leave)"
              % (key, seq))


async def run_live(exe, tmp, store, threads, sig):
    hub = Hub(exe, hub_args(store, threads), base_args=False)
    await hub.start()
    try:
        watcher = await Stream.subscribe(hub.port, path=sub_path([TOPICS_TPL]), headers=WATCH)
        streams, topics = await open_subscribers(hub.port, 8)
        nrecs = sum(len(t) for t in topics) + 1  # and the watcher's own
        ok = await watcher.read_until(lambda s: len(s.events) >= nrecs, 30)
        check(ok, "joins: %d of %d" % (len(watcher.events), nrecs))
        joins = {(d["topic"], d["subscriber"]) for d in docs(watcher)}
        check(len(joins) == nrecs, "joins: %r" % joins)
        problems = await stop_and_watch(hub, watcher, nrecs, sig)
        check(not problems, "; ".join(problems))
        check_pairs(docs(watcher), joins)
        for s in streams:
            check(await s.read_to_eof(30), "a subscriber's stream did not end")
        await hub.wait_stderr(r"stopping: announcing the leave of", 5)
        return joins, nrecs
    finally:
        await hub.stop()


@case("memory-live")
async def t_memory_live(exe, tmp):
    """Memory store, two loops: the watcher receives every leave before its stream ends."""
    _, n = await run_live(exe, tmp, "memory", 2, signal.SIGTERM)
    return "%d leaves received live" % n


@case("lmdb-durable")
async def t_lmdb_durable(exe, tmp):
    """LMDB store, two loops, SIGTERM: the leaves arrive live, and a hub restarted on the
    same DIR replays a leave after each join."""
    d = os.path.join(tmp, "store")
    joins, n = await run_live(exe, tmp, "lmdb:" + d, 2, signal.SIGTERM)
    async with Hub(exe, hub_args("lmdb:" + d, 1, presence=False), base_args=False) as hub:
        r = await Stream.subscribe(hub.port, path=sub_path([TOPICS_TPL], lastEventID="earliest"),
                                   headers=WATCH)
        ok = await r.read_until(lambda s: len(s.events) >= 2 * n, 30)
        check(ok, "replay from earliest: %d of %d updates: %r"
              % (len(r.events), 2 * n, docs(r)[-4:]))
        check(len(r.events) == 2 * n, "replay: %d updates, expected %d" % (len(r.events), 2 * n))
        check_pairs(docs(r), joins)
        r.close()
    return "%d joins and %d leaves replayed after a restart" % (n, n)


@case("lmdb-sigint-one-loop")
async def t_lmdb_sigint(exe, tmp):
    """SIGINT and a single loop: the same."""
    d = os.path.join(tmp, "store")
    joins, n = await run_live(exe, tmp, "lmdb:" + d, 1, signal.SIGINT)
    async with Hub(exe, hub_args("lmdb:" + d, 1, presence=False), base_args=False) as hub:
        r = await Stream.subscribe(hub.port, path=sub_path([TOPICS_TPL], lastEventID="earliest"),
                                   headers=WATCH)
        ok = await r.read_until(lambda s: len(s.events) >= 2 * n, 30)
        check(ok, "replay: %d of %d updates" % (len(r.events), 2 * n))
        check_pairs(docs(r), joins)
        r.close()
    return "%d leaves durable" % n


@case("left-before-stop")
async def t_left_before_stop(exe, tmp):
    """Subscribers that left before the stop are announced once, not again at the stop;
    publishes and the API keep working until then."""
    d = os.path.join(tmp, "store")
    hub = Hub(exe, hub_args("lmdb:" + d, 2), base_args=False)
    await hub.start()
    try:
        watcher = await Stream.subscribe(hub.port, path=sub_path([TOPICS_TPL]), headers=WATCH)
        streams, topics = await open_subscribers(hub.port, 6)
        nrecs = sum(len(t) for t in topics) + 1
        ok = await watcher.read_until(lambda s: len(s.events) >= nrecs, 30)
        check(ok, "joins: %d of %d" % (len(watcher.events), nrecs))
        gone = sum(len(t) for t in topics[:3])
        for s in streams[:3]:
            s.close()
        ok = await watcher.read_until(lambda s: len(s.events) >= nrecs + gone, 30)
        check(ok, "leaves of the closed streams: %d of %d" % (len(watcher.events) - nrecs, gone))
        problems = await stop_and_watch(hub, watcher, nrecs, signal.SIGTERM)
        check(not problems, "; ".join(problems))
        joins = {(d["topic"], d["subscriber"]) for d in docs(watcher) if d["active"]}
        check(len(joins) == nrecs, "joins: %d" % len(joins))
        check_pairs(docs(watcher), joins)
        check(len(watcher.events) == 2 * nrecs, "%d updates, expected %d"
              % (len(watcher.events), 2 * nrecs))
    finally:
        await hub.stop()
    return "%d leaves before the stop, %d at it" % (gone, nrecs - gone)


async def run_case(fn, exe, timeout):
    tmp = tempfile.mkdtemp(prefix="ssehub-presence-stop-")
    try:
        return await asyncio.wait_for(fn(exe, tmp), timeout)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    a = parse_args(CASES, __doc__)
    return run_cases(CASES, a.k,
                     lambda name, fn, timeout: asyncio.run(run_case(fn, a.ssehub, timeout)),
                     width=22)


if __name__ == "__main__":
    sys.exit(main())
