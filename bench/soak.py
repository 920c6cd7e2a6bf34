#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The soak run (bench/soak.sh runs it): one ssehub on the LMDB store with presence
(--subscriptions), under a steady mixed load for DURATION, sampled every INTERVAL:

  - churning subscribers: each slot connects, subscribes to 1-3 of the topics (a fifth
    with lastEventID=earliest, a quarter with a JWT), reads for 0.5-10 s and leaves (one
    in five with a reset instead of a FIN; one in twenty before reading the response);
  - publishers on keep-alive connections at a fixed total rate, to random topics (one in
    ten to two), data of 20-400 bytes, so every topic has history;
  - slow consumers: small receive buffers, subscribed to everything (every other one from
    `earliest`), never reading; each leaves after 60-180 s, and is usually dropped by the
    hub before (its queue full, or a write timed out);
  - a presence watcher on /.well-known/mercure/subscriptions{/topic}{/subscriber},
    reading every join and leave.

Each sample records the hub's RSS (/proc/PID/status), open file descriptors
(/proc/PID/fd), and from /metrics the connections, subscribers, history size and
counters. After DURATION the clients leave, and the run waits (up to --settle seconds)
until the descriptors and connections are back at their baseline (taken before any client
connected), then stops the hub with SIGTERM (exit status 0, no sanitizer report).

Writes the samples as CSV (--csv) and prints a summary: the figures after --warmup and the
drift per hour (least-squares slope) of RSS and of the descriptors that are not
connections. Exit status 0, or 1 when the descriptors or connections did not return to
their baseline, the hub failed, or a client saw an error it should not (a publish not
answered 200, a subscription not answered 200).
"""
import argparse
import asyncio
import csv
import json
import os
import random
import re
import signal
import socket
import struct
import sys
import tempfile
import time
import urllib.parse

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))

from hubtest import jwt  # noqa: E402
from hubtest.http import Conn, Fail, Stream  # noqa: E402
from hubtest.hub import Hub  # noqa: E402

KEY = "soak-subscriber-key-0123456789abcdef"
PRESENCE = "/.well-known/mercure/subscriptions{/topic}{/subscriber}"
FIELDS = ["t_s", "phase", "rss_kib", "fds", "connections", "subscribers", "history_events",
          "publishes_total", "subscriptions_total", "disconnects_slow",
          "disconnects_write_timeout", "store_kib", "client_errors"]


def parse_duration(s):
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(s|m|h)?", s.strip())
    if not m:
        raise argparse.ArgumentTypeError("'%s' is not a duration (90, 60s, 10m, 1h)" % s)
    return float(m.group(1)) * {None: 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]


class Soak:
    def __init__(self, a, workdir):
        self.a = a
        self.work = workdir
        self.rng = random.Random(a.seed)
        self.topics = ["soak/t%d" % i for i in range(a.topics)]
        self.stop = asyncio.Event()
        self.errors = []  # client errors that should not happen (first 20 kept)
        self.nerrors = 0
        self.counts = {"published": 0, "subscribed": 0, "resets": 0, "early": 0,
                       "slow": 0, "presence": 0}
        self.conns = set()  # every client connection open, closed at the end
        self.samples = []
        self.t0 = None
        self.hub = None
        self.token = jwt.hs256({"mercure": {"subscribe": ["*"]}}, KEY)
        self.watch_token = jwt.hs256({"mercure": {"subscribe": [PRESENCE]}}, KEY)

    def error(self, msg):
        self.nerrors += 1
        if len(self.errors) < 20:
            self.errors.append("%.1fs %s" % (time.monotonic() - self.t0, msg))

    # ---- sampling

    def proc_figures(self):
        pid = self.hub.proc.pid
        rss = 0
        with open("/proc/%d/status" % pid, encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
        fds = len(os.listdir("/proc/%d/fd" % pid))
        return rss, fds

    async def sample(self, phase):
        rss, fds = self.proc_figures()
        vals, _ = await self.hub.metrics()
        store = os.path.join(self.work, "store", "data.mdb")
        row = {
            "t_s": round(time.monotonic() - self.t0, 1), "phase": phase, "rss_kib": rss,
            "fds": fds, "connections": int(vals.get("ssehub_connections", -1)),
            "subscribers": int(vals.get("ssehub_subscribers_connected", -1)),
            "history_events": int(vals.get("ssehub_history_events", -1)),
            "publishes_total": int(vals.get("ssehub_publishes_total", -1)),
            "subscriptions_total": int(vals.get("ssehub_subscriptions_total", -1)),
            "disconnects_slow": int(vals.get('ssehub_disconnects_total{reason="slow"}', -1)),
            "disconnects_write_timeout":
                int(vals.get('ssehub_disconnects_total{reason="write_timeout"}', -1)),
            "store_kib": os.path.getsize(store) // 1024 if os.path.exists(store) else 0,
            "client_errors": self.nerrors,
        }
        return row

    async def record(self, phase):
        row = await self.sample(phase)
        self.samples.append(row)
        print("%7.1fs %-8s rss %7d KiB  fds %5d  conns %5d  subs %5d  history %6d  "
              "published %7d  errors %d" % (row["t_s"], phase, row["rss_kib"], row["fds"],
                                            row["connections"], row["subscribers"],
                                            row["history_events"], row["publishes_total"],
                                            row["client_errors"]), flush=True)
        return row

    # ---- clients

    def track(self, c):
        self.conns.add(c)
        return c

    def untrack(self, c, reset=False):
        self.conns.discard(c)
        if reset:
            sock = c.writer.get_extra_info("socket")
            if sock is not None:
                try:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                except OSError:
                    pass
        c.close()

    async def pause(self, seconds):
        try:
            await asyncio.wait_for(self.stop.wait(), seconds)
        except asyncio.TimeoutError:
            pass

    async def publisher(self, k):
        rate = self.a.rate / self.a.publishers
        rng = random.Random(self.a.seed * 1000 + k)
        c = None
        n = 0
        start = time.monotonic()
        while not self.stop.is_set():
            try:
                if c is None:
                    c = self.track(await Conn.open(self.hub.port))
                topics = [rng.choice(self.topics)]
                if rng.random() < 0.1:
                    topics.append(rng.choice(self.topics))
                data = "p%d-%d " % (k, n) + "x" * rng.randint(20, 400)
                r = await c.publish([("topic", t) for t in topics] + [("data", data)],
                                    timeout=60)
                if r.status != 200:
                    self.error("publish: %d %s" % (r.status, r.text.strip()))
                else:
                    self.counts["published"] += 1
                if (r.header("Connection") or "").lower() == "close":
                    self.untrack(c)
                    c = None
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, Fail) as e:
                self.error("publisher %d: %s: %s" % (k, type(e).__name__, e))
                if c is not None:
                    self.untrack(c)
                c = None
            n += 1
            # A fixed rate: the n-th publish of this connection is due at start + n / rate.
            await self.pause(max(0.0, start + n / rate - time.monotonic()))
        if c is not None:
            self.untrack(c)

    def sub_path(self, topics, earliest):
        q = [("topic", t) for t in topics]
        if earliest:
            q.append(("lastEventID", "earliest"))
        return "/.well-known/mercure?" + urllib.parse.urlencode(q)

    async def churner(self, k):
        rng = random.Random(self.a.seed * 2000 + k)
        await self.pause(rng.random() * 2)  # spread the first connections
        while not self.stop.is_set():
            topics = rng.sample(self.topics, rng.randint(1, 3))
            path = self.sub_path(topics, rng.random() < 0.2)
            headers = [("Authorization", "Bearer " + self.token)] if rng.random() < 0.25 else []
            s = None
            try:
                if rng.random() < 0.05:  # leaves before reading the response
                    c = self.track(await Conn.open(self.hub.port))
                    c.send(("GET %s HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n"
                            % path).encode())
                    await c.drain()
                    self.untrack(c, reset=rng.random() < 0.5)
                    self.counts["early"] += 1
                    await self.pause(rng.random())
                    continue
                s = self.track(await Stream.subscribe(self.hub.port, path=path,
                                                      headers=headers, timeout=60))
                self.counts["subscribed"] += 1
                deadline = time.monotonic() + rng.uniform(0.5, 10)
                while not self.stop.is_set() and time.monotonic() < deadline and not s.eof:
                    await s.read_some(min(1.0, max(0.01, deadline - time.monotonic())))
                    s.sse.events.clear()  # keep no history client-side
                reset = rng.random() < 0.2
                self.counts["resets"] += reset
                self.untrack(s, reset=reset)
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, Fail) as e:
                self.error("subscriber %d: %s: %s" % (k, type(e).__name__, e))
                if s is not None:
                    self.untrack(s)
                await self.pause(1)

    async def slow(self, k):
        rng = random.Random(self.a.seed * 3000 + k)
        while not self.stop.is_set():
            s = None
            try:
                # Every other one asks for the whole history first: more than its queue
                # takes, so the hub drops it at once; the others fill the socket buffers
                # (megabytes on loopback) and the queue in a minute or so, then are dropped.
                s = self.track(await Stream.subscribe(self.hub.port, topics=["*"], rcvbuf=4096,
                                                      query_last_id="earliest" if k % 2 else None,
                                                      timeout=60))
                self.counts["slow"] += 1
                await self.pause(rng.uniform(60, 180))  # never reads
                self.untrack(s, reset=True)
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, Fail) as e:
                self.error("slow consumer %d: %s: %s" % (k, type(e).__name__, e))
                if s is not None:
                    self.untrack(s)
                await self.pause(1)

    async def watcher(self):
        last = None
        while not self.stop.is_set():
            s = None
            try:
                s = self.track(await Stream.subscribe(
                    self.hub.port, path=self.sub_path([PRESENCE], False),
                    headers=[("Authorization", "Bearer " + self.watch_token)], last_id=last,
                    timeout=60))
                while not self.stop.is_set() and not s.eof:
                    await s.read_some(1.0)
                    for e in s.sse.events:
                        d = json.loads(e.data)
                        if d.get("type") != "Subscription":
                            self.error("presence: %r" % d)
                        self.counts["presence"] += 1
                    s.sse.events.clear()
                    last = s.sse.last_id or last
                self.untrack(s)
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, Fail,
                    ValueError) as e:
                self.error("watcher: %s: %s" % (type(e).__name__, e))
                if s is not None:
                    self.untrack(s)
                await self.pause(1)

    # ---- the run

    async def wait_baseline(self, base):
        """Polls until the descriptors and connections are at |base|'s; returns the last
        sample and whether they got there within --settle seconds."""
        deadline = time.monotonic() + self.a.settle
        while True:
            row = await self.sample("after")
            if row["fds"] == base["fds"] and row["connections"] == base["connections"]:
                return row, True
            if time.monotonic() > deadline:
                return row, False
            await asyncio.sleep(0.2)

    async def run(self):
        a = self.a
        args = ["--listen", "127.0.0.1:0", "--threads", str(a.threads),
                "--store", "lmdb:" + os.path.join(self.work, "store"), "--subscriptions",
                "--subscriber-key", KEY, "--history", str(a.history),
                "--history-age", a.history_age, "--send-buffer", "256k",
                "--write-timeout", "10s", "--heartbeat", "5s", "--max-lifetime", "2m"]
        self.hub = Hub(a.ssehub, args, base_args=False)
        await self.hub.start(timeout=60)
        self.t0 = time.monotonic()
        ok = True
        try:
            print("soak: ssehub pid %d on port %d, %s; %d churning subscribers, %d slow "
                  "consumers, %d publishers at %g/s over %d topics, for %gs"
                  % (self.hub.proc.pid, self.hub.port, " ".join(args), a.subs, a.slow,
                     a.publishers, a.rate, a.topics, a.duration), flush=True)
            base = await self.record("baseline")
            tasks = [asyncio.ensure_future(self.publisher(k)) for k in range(a.publishers)]
            tasks += [asyncio.ensure_future(self.churner(k)) for k in range(a.subs)]
            tasks += [asyncio.ensure_future(self.slow(k)) for k in range(a.slow)]
            tasks.append(asyncio.ensure_future(self.watcher()))
            end = time.monotonic() + a.duration
            while time.monotonic() < end:
                await asyncio.sleep(min(a.interval, max(0.0, end - time.monotonic())))
                if self.hub.proc.returncode is not None:
                    raise Fail("the hub exited with %s during the run: %s"
                               % (self.hub.proc.returncode, self.hub.stderr_tail()))
                await self.record("load")
            self.stop.set()
            await asyncio.wait(tasks, timeout=120)
            for t in tasks:
                t.cancel()
            for c in list(self.conns):
                self.untrack(c)
            row, back = await self.wait_baseline(base)
            self.samples.append(row)
            print("%7.1fs %-8s fds %d (baseline %d), connections %d (baseline %d)%s"
                  % (row["t_s"], "after", row["fds"], base["fds"], row["connections"],
                     base["connections"], "" if back else ": NOT BACK at the baseline within "
                     "%gs" % a.settle), flush=True)
            ok = back
        finally:
            problems = await self.hub.stop(grace=60)
        if problems:
            print("soak: the hub at stop: %s" % "; ".join(problems))
            ok = False
        if self.nerrors:
            print("soak: %d client errors, the first: %s" % (self.nerrors,
                                                             " | ".join(self.errors)))
            ok = False
        return ok


def slope_per_hour(rows, key):
    """Least-squares slope of |key| over t_s, per hour."""
    n = len(rows)
    if n < 2:
        return 0.0
    xs = [r["t_s"] for r in rows]
    ys = [r[key] for r in rows]
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return 0.0
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx * 3600


def summary(soak, a):
    load = [r for r in soak.samples if r["phase"] == "load"]
    steady = [r for r in load if r["t_s"] >= a.warmup] or load
    for r in soak.samples:
        r["other_fds"] = r["fds"] - r["connections"]
    out = ["soak summary: %d samples, %d after the %gs warm-up; %s" % (
        len(load), len(steady), a.warmup,
        ", ".join("%s %d" % kv for kv in soak.counts.items()))]
    if steady:
        for key, unit in (("rss_kib", "KiB"), ("fds", ""), ("other_fds", ""),
                          ("connections", ""), ("history_events", ""), ("store_kib", "KiB")):
            vals = [r[key] for r in steady]
            out.append("  %-15s min %9d  max %9d  last %9d  drift %+10.1f%s/h"
                       % (key, min(vals), max(vals), vals[-1], slope_per_hour(steady, key),
                          (" " + unit) if unit else ""))
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ssehub", required=True)
    ap.add_argument("--duration", type=parse_duration, default=600.0)
    ap.add_argument("--interval", type=parse_duration, default=60.0)
    ap.add_argument("--warmup", type=parse_duration, default=None,
                    help="samples before this are left out of the drift [a third, at most 3m]")
    ap.add_argument("--settle", type=float, default=120.0)
    ap.add_argument("--subs", type=int, default=300)
    ap.add_argument("--slow", type=int, default=5)
    ap.add_argument("--publishers", type=int, default=4)
    ap.add_argument("--rate", type=float, default=200.0)
    ap.add_argument("--topics", type=int, default=200)
    ap.add_argument("--history", type=int, default=100)
    ap.add_argument("--history-age", default="2m")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--csv")
    a = ap.parse_args()
    if a.warmup is None:
        a.warmup = min(180.0, a.duration / 3)
    work = tempfile.mkdtemp(prefix="ssehub-soak-")
    soak = Soak(a, work)
    try:
        ok = asyncio.run(soak.run())
    except Fail as e:
        print("soak: FAIL: %s" % e)
        ok = False
    finally:
        import shutil
        shutil.rmtree(work, ignore_errors=True)
    print(summary(soak, a))
    if a.csv:
        with open(a.csv, "w", newline="", encoding="ascii") as f:
            w = csv.DictWriter(f, fieldnames=FIELDS + ["other_fds"])
            w.writeheader()
            for r in soak.samples:
                w.writerow(r)
    print("soak: %s" % ("ok" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main())
