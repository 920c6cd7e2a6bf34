#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The durable store (`--store lmdb:DIR`) end to end: a real ssehub killed with SIGKILL at
random moments while publishers run, restarted on the same DIR, and checked by a
subscriber replaying from `earliest`; restart continuity of ids; retention by count and
by age; map growth; a full map (and a full file system when a tmpfs can be mounted)
answering 503 while subscribers keep their streams; a garbage or foreign DIR refused.

Usage: test_lmdb.py [-k SUBSTRING]... [--rounds N] PATH-TO-SSEHUB
Prints one line per case (ok / FAIL / skip) and exits 1 if any case failed.
Python 3 standard library only (plus lmdb-utils' mdb_stat and mdb_load when installed).
"""
import asyncio
import hashlib
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from hubtest.http import Conn, Fail, Stream, check, patient, request  # noqa: E402
from hubtest.hub import Hub  # noqa: E402
from hubtest.runner import in_tmp_dirs, parse_args, run_cases, Skip, where as where_in  # noqa: E402

CASES = []
ROUNDS = 20




def case(name, timeout=120):
    def deco(fn):
        CASES.append((name, fn, timeout))
        return fn
    return deco


def hub_args(d, *extra, store_opts=""):
    return ["--listen", "127.0.0.1:0", "--threads", "2", "--store", "lmdb:" + d + store_opts,
            "--heartbeat", "0"] + list(extra)


async def publish(port, pairs):
    return await request(port, "POST", "/.well-known/mercure",
                         [("Content-Type", "application/x-www-form-urlencoded")],
                         __import__("urllib.parse").parse.urlencode(pairs).encode())


async def replay_all(hub, topics=("*",), last_id="earliest", marker_topic="marker"):
    """Subscribes with |last_id|, then publishes a marker event and reads until it arrives:
    everything before it is the replay (nothing else publishes meanwhile). Returns the
    events before the marker and the marker's id."""
    s = await Stream.subscribe(hub.port, topics=list(topics) + [marker_topic],
                               query_last_id=last_id)
    try:
        r = await publish(hub.port, [("topic", marker_topic), ("data", "marker")])
        check(r.status == 200, "marker publish: %r" % r)
        mid = r.text
        ok = await s.read_until(lambda st: any(e.id == mid for e in st.events), 30)
        check(ok, "the marker event %s did not arrive after the replay (%d events read)"
              % (mid, len(s.events)))
        evs = list(s.events)
        k = [e.id for e in evs].index(mid)
        return evs[:k], mid
    finally:
        s.close()


def mdb_entries(d, db="events"):
    """Entries of a named database, read with lmdb-utils' mdb_stat; None when missing."""
    exe = shutil.which("mdb_stat")
    if exe is None:
        return None
    out = subprocess.run([exe, "-s", db, d], capture_output=True, text=True, timeout=10)
    m = re.search(r"Entries: (\d+)", out.stdout)
    return int(m.group(1)) if m else None


# ---- the crash test

class Publisher:
    """One keep-alive connection publishing as fast as the hub answers; records every id
    acknowledged (200), in order. Publisher 0 sets its own ids, the others let the hub
    assign them."""

    def __init__(self, index, rnd):
        self.index = index
        self.rnd = rnd
        self.acked = []  # (id, data)
        self.errors = []

    async def run(self, port, stop):
        try:
            c = await Conn.open(port)
        except OSError:
            return
        n = 0
        try:
            while not stop.is_set():
                data = "r%d-p%d-n%d" % (self.rnd, self.index, n)
                pairs = [("topic", "t%d" % (self.index % 2)), ("data", data)]
                if self.index == 0:
                    pairs.append(("id", "c-" + data))
                r = await c.publish(pairs, timeout=10)
                if r.status != 200:
                    self.errors.append("%s: %d %s" % (data, r.status, r.text.strip()))
                    return
                self.acked.append((r.text, data))
                n += 1
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.TimeoutError, Fail):
            pass  # the hub was killed with this publish in flight: not acknowledged
        finally:
            c.close()


@case("crash-sigkill", timeout=300)
async def t_crash(ctx):
    """ROUNDS times: several publishers run while the hub is killed with SIGKILL at a random
    moment; the hub restarts on the same DIR and a subscriber with `earliest` must receive
    every acknowledged event, in order, exactly once; hub-assigned ids keep increasing."""
    d = os.path.join(ctx.tmp, "crash")
    rng = random.Random(int(os.environ.get("SH_TEST_SEED", "0")) or None)
    acked = []  # per round, per publisher: list of (id, data)
    total_acked = 0
    max_seen = 0
    hub = Hub(ctx.exe, hub_args(d, "--history", "1000000"), base_args=False)
    await hub.start()
    for rnd in range(ROUNDS):
        pubs = [Publisher(i, rnd) for i in range(4)]
        stop = asyncio.Event()
        tasks = [asyncio.ensure_future(p.run(hub.port, stop)) for p in pubs]
        await asyncio.sleep(rng.uniform(0.02, 0.25))
        hub.proc.send_signal(signal.SIGKILL)
        await hub.proc.wait()
        stop.set()
        await asyncio.gather(*tasks)
        await hub.stop()  # reaps; SIGKILL leaves no sanitizer report to check
        for p in pubs:
            check(not p.errors, "round %d: a publish was refused: %s" % (rnd, p.errors[:3]))
        acked.append([p.acked for p in pubs])
        total_acked += sum(len(p.acked) for p in pubs)

        hub = Hub(ctx.exe, hub_args(d, "--history", "1000000"), base_args=False)
        await hub.start()
        evs, _ = await replay_all(hub)
        ids = [e.id for e in evs]
        check(len(set(ids)) == len(ids), "round %d: the replay holds a duplicate id" % rnd)
        pos = {e.id: i for i, e in enumerate(evs)}
        data_of = {e.id: e.data for e in evs}
        for r, per_pub in enumerate(acked):
            for pi, lst in enumerate(per_pub):
                last = -1
                for eid, data in lst:
                    check(eid in pos, "after round %d: acknowledged event %s (%s, round %d) "
                          "is missing from the replay of %d events" % (rnd, eid, data, r,
                                                                        len(evs)))
                    check(data_of[eid] == data, "event %s: data %r, expected %r"
                          % (eid, data_of[eid], data))
                    check(pos[eid] > last, "event %s (%s) out of order" % (eid, data))
                    last = pos[eid]
        hub_ids = [int(i) for i in ids if i.isdigit()]
        check(all(a < b for a, b in zip(hub_ids, hub_ids[1:])),
              "hub-assigned ids do not increase along the replay")
        check(not hub_ids or hub_ids[0] > 0, "bad ids")
        if hub_ids:
            check(hub_ids[-1] > max_seen, "round %d: no new hub id above %d" % (rnd, max_seen))
            max_seen = hub_ids[-1]
    problems = await hub.stop()
    check(not problems, "; ".join(problems))
    return "%d rounds, %d acknowledged events, all replayed in order" % (ROUNDS, total_acked)


# ---- restart continuity

@case("restart-ids")
async def t_restart_ids(ctx):
    """Clean stop and SIGKILL: the hub goes on after the newest id it used; a client with
    its Last-Event-ID gets what was published after it, across the restart."""
    d = os.path.join(ctx.tmp, "ids")
    ids = []
    for how in ("term", "kill", "term"):
        async with Hub(ctx.exe, hub_args(d), base_args=False) as hub:
            for i in range(3):
                r = await publish(hub.port, [("topic", "a"), ("data", "%s-%d" % (how, i))])
                check(r.status == 200, "publish: %r" % r)
                ids.append(r.text)
            if how == "kill":
                hub.proc.send_signal(signal.SIGKILL)
                await hub.proc.wait()
                hub.stopped = True
    nums = [int(i) for i in ids]
    check(all(a < b for a, b in zip(nums, nums[1:])), "ids do not increase across restarts: %r"
          % ids)
    async with Hub(ctx.exe, hub_args(d), base_args=False) as hub:
        evs, _ = await replay_all(hub, topics=("a",), last_id=ids[2])
        got = [e.id for e in evs]
        check(got == ids[3:], "resume after %s: got %r, expected %r" % (ids[2], got, ids[3:]))
        # A publisher's own id is kept across a restart: publishing it again is refused.
        r = await publish(hub.port, [("topic", "a"), ("id", "mine"), ("data", "x")])
        check(r.status == 200, "%r" % r)
    async with Hub(ctx.exe, hub_args(d), base_args=False) as hub:
        r = await publish(hub.port, [("topic", "a"), ("id", "mine"), ("data", "y")])
        check(r.status == 409, "a retained id published again after a restart: %r" % r)
    return "ids %s ... %s" % (ids[0], ids[-1])


# ---- pipelined publishes

@case("pipelined-publishes")
async def t_pipelined(ctx):
    """One connection writes 40 publishes, a bad publish (no topic), a POST to /healthz,
    a GET, 5 more publishes (the last one with Connection: close) at once: many wait for
    the store together, and the answers come in request order: 40 ids in increasing
    order, 400, 405, the GET's answer, 5 ids, then EOF."""
    from hubtest.http import publish_bytes, request_bytes
    d = os.path.join(ctx.tmp, "pipe")
    async with Hub(ctx.exe, hub_args(d), base_args=False) as hub:
        c = await Conn.open(hub.port)
        try:
            data = b"".join(publish_bytes([("topic", "p"), ("data", "d%d" % i)])
                            for i in range(40))
            data += publish_bytes([("data", "no topic")])
            data += request_bytes("POST", "/healthz", body=b"x")
            data += request_bytes("GET", "/healthz")
            data += b"".join(publish_bytes([("topic", "p"), ("data", "e%d" % i)])
                             for i in range(4))
            data += publish_bytes([("topic", "p"), ("data", "e4")], [("Connection", "close")])
            c.send(data)
            await c.drain()
            ids = []
            for i in range(40):
                r = await c.read_response(10)
                check(r.status == 200, "answer %d: %r" % (i, r))
                ids.append(int(r.text))
            r = await c.read_response(10)
            check(r.status == 400 and "topic" in r.text, "the bad publish's answer: %r" % r)
            r = await c.read_response(10)
            check(r.status == 405, "the POST /healthz answer: %r" % r)
            r = await c.read_response(10)
            check(r.status == 200 and r.text == "ok\n", "the GET's answer: %r" % r)
            for i in range(5):
                r = await c.read_response(10)
                check(r.status == 200, "answer %d after the GET: %r" % (i, r))
                ids.append(int(r.text))
            check(all(a < b for a, b in zip(ids, ids[1:])), "ids out of order: %r" % ids)
            closed, rest = await c.wait_closed_by_peer(5)
            check(closed and rest == b"", "after Connection: close: %r %r" % (closed, rest))
        finally:
            c.close()
        evs, _ = await replay_all(hub, topics=("p",))
        want = ["d%d" % i for i in range(40)] + ["e%d" % i for i in range(5)]
        check([e.data for e in evs] == want, "replay: %r" % [e.data for e in evs][:8])
    return "45 publishes, a bad one, a POST and a GET in one write, answered in order"


# ---- retention

@case("retention-count")
async def t_retention_count(ctx):
    d = os.path.join(ctx.tmp, "count")
    async with Hub(ctx.exe, hub_args(d, "--history", "3"), base_args=False) as hub:
        for i in range(10):
            r = await publish(hub.port, [("topic", "a"), ("data", "a%d" % i)])
            check(r.status == 200, "%r" % r)
        for i in range(2):
            r = await publish(hub.port, [("topic", "b"), ("data", "b%d" % i)])
            check(r.status == 200, "%r" % r)
    async with Hub(ctx.exe, hub_args(d, "--history", "3"), base_args=False) as hub:
        evs, _ = await replay_all(hub, topics=("a", "b"))
        got = [e.data for e in evs]
        want = ["a7", "a8", "a9", "b0", "b1"]
        check(got == want, "after a restart with --history 3: %r, expected %r" % (got, want))
    n = mdb_entries(d)
    if n is not None:
        # 3 of a, 2 of b, and up to 3 markers; everything else deleted from the file.
        check(n <= 8, "data.mdb holds %d events, expected at most 8" % n)
    return "replay %s; %s records on disk" % (",".join(got), n)


@case("retention-age")
async def t_retention_age(ctx):
    """--history-age 3s: events older than that leave the replay and the file, also across a
    restart. What must be in a replay depends on the time it took, so every check that
    needs an event to be young enough first checks (with the test's own clock, started
    before the hub's) that it is: a slow machine weakens the check, never fails it."""
    d = os.path.join(ctx.tmp, "age")
    age = 3.0
    async with Hub(ctx.exe, hub_args(d, "--history-age", "3s"), base_args=False) as hub:
        t0 = time.monotonic()
        for i in range(50):
            r = await publish(hub.port, [("topic", "a"), ("data", "old%d" % i)])
            check(r.status == 200, "%r" % r)
        t1 = time.monotonic()
        evs, _ = await replay_all(hub, topics=("a",))
        datas = [e.data for e in evs]
        old = ["old%d" % i for i in range(50)]
        check(datas == old[len(old) - len(datas):], "before expiry: not the newest events in "
              "order: %r" % datas[:5])
        if time.monotonic() - t0 < age - 0.1:
            check(len(evs) == 50, "before expiry: %d events" % len(evs))
        # Past the age of the newest old event (and the hub expires once a second).
        await asyncio.sleep(max(0.0, t1 + age + 1.5 - time.monotonic()))
        t2 = time.monotonic()
        r = await publish(hub.port, [("topic", "a"), ("data", "new")])
        check(r.status == 200, "%r" % r)
        evs, _ = await replay_all(hub, topics=("a",))
        datas = [e.data for e in evs]
        check(datas in (["new"], []), "after expiry: %r" % datas[:5])
        if time.monotonic() - t2 < age - 0.1:
            check(datas == ["new"], "after expiry: %r" % datas[:5])
        # The deletions are committed in the background: wait for the file to show them
        # (mdb_stat reads beside the running hub).
        t_end = time.monotonic() + patient(10)
        n = mdb_entries(d)
        while n is not None and n > 3 and time.monotonic() < t_end:
            await asyncio.sleep(0.1)
            n = mdb_entries(d)
    if n is not None:
        check(n <= 3, "data.mdb still holds %d events past --history-age" % n)
    async with Hub(ctx.exe, hub_args(d, "--history-age", "3s"), base_args=False) as hub:
        evs, _ = await replay_all(hub, topics=("a",))
        # The expired events stay gone ("new" and the marker may still be younger than 3 s).
        check(not any(e.data.startswith("old") for e in evs), "after a restart: %r" % evs[:3])
    return "expired; %s records left on disk" % n


# ---- resource faults

@case("map-growth")
async def t_map_growth(ctx):
    d = os.path.join(ctx.tmp, "grow")
    big = "x" * 60000
    async with Hub(ctx.exe, hub_args(d, store_opts="?mapsize=256k"), base_args=False) as hub:
        for i in range(40):  # 2.4 MB of data into a 256 KiB map
            r = await publish(hub.port, [("topic", "g"), ("data", "%d:%s" % (i, big))])
            check(r.status == 200, "publish %d: %r" % (i, r))
        await hub.wait_stderr(r"map grown from")
    async with Hub(ctx.exe, hub_args(d, store_opts="?mapsize=256k"), base_args=False) as hub:
        evs, _ = await replay_all(hub, topics=("g",))
        check(len(evs) == 40 and all(e.data.endswith(big) for e in evs),
              "after a restart: %d events" % len(evs))
    return "40 x 60 kB through a map that started at 256 KiB; %d bytes on disk" % (
        os.path.getsize(os.path.join(d, "data.mdb")))


async def fill_until_503(hub, sub, reason_re):
    big = "y" * 50000
    acked = []
    for i in range(400):
        r = await publish(hub.port, [("topic", "f"), ("data", "%d:%s" % (i, big))])
        if r.status == 503:
            check(re.search(reason_re, r.text), "503 reason %r does not match %r"
                  % (r.text, reason_re))
            break
        check(r.status == 200, "publish %d: %r" % (i, r))
        acked.append(r.text)
    else:
        raise Fail("400 publishes of 50 kB and no 503")
    # The hub is alive, the subscriber keeps its stream and got every acknowledged event.
    r = await request(hub.port, "GET", "/healthz")
    check(r.status == 200, "/healthz after the 503: %r" % r)
    ok = await sub.read_until(lambda s: len(s.events) >= len(acked), 10)
    check(ok and [e.id for e in sub.events[:len(acked)]] == acked,
          "the subscriber did not get the %d acknowledged events" % len(acked))
    check(not sub.eof, "the subscriber's stream was closed")
    r = await publish(hub.port, [("topic", "f"), ("data", "z" * 50000)])
    check(r.status == 503, "still full: %r" % r)
    return acked, r.text.strip()


@case("map-full-503")
async def t_map_full(ctx):
    d = os.path.join(ctx.tmp, "full")
    async with Hub(ctx.exe, hub_args(d, store_opts="?mapsize=256k&maxsize=1M"),
                   base_args=False) as hub:
        sub = await Stream.subscribe(hub.port, topics=["f"])
        acked, reason = await fill_until_503(hub, sub, r"store full")
        sub.close()
    async with Hub(ctx.exe, hub_args(d, store_opts="?maxsize=1M"), base_args=False) as hub:
        evs, _ = await replay_all(hub, topics=("f",))
        check([e.id for e in evs] == acked, "after a restart: %d of %d acknowledged events"
              % (len(evs), len(acked)))
    return "%d events of 50 kB, then 503 %r" % (len(acked), reason)


@case("disk-full-503")
async def t_disk_full(ctx):
    mnt = os.path.join(ctx.tmp, "mnt")
    os.makedirs(mnt)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mnt],
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise Skip("cannot mount a small tmpfs (%s): map-full-503 covers the 503 path"
                   % (p.stderr.strip() or p.returncode))
    try:
        d = os.path.join(mnt, "store")
        async with Hub(ctx.exe, hub_args(d), base_args=False) as hub:
            sub = await Stream.subscribe(hub.port, topics=["f"])
            acked, reason = await fill_until_503(hub, sub, r"no space left on device")
            sub.close()
        async with Hub(ctx.exe, hub_args(d), base_args=False) as hub:
            # No marker: the file system may still be full.
            s = await Stream.subscribe(hub.port, topics=["f"], query_last_id="earliest")
            await s.wait_events(len(acked), 10)
            got = [e.id for e in s.events]
            s.close()
            check(got[:len(acked)] == acked, "after a restart: %d of %d acknowledged events"
                  % (len(got), len(acked)))
    finally:
        subprocess.run(["umount", "-l", mnt], capture_output=True)
    return "2 MiB tmpfs: %d events of 50 kB, then 503 %r" % (len(acked), reason)


# ---- refused directories

async def run_hub(exe, args, timeout=20):
    p = await asyncio.create_subprocess_exec(exe, *args, stdin=asyncio.subprocess.DEVNULL,
                                             stdout=asyncio.subprocess.PIPE,
                                             stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(p.communicate(), patient(timeout))
    except asyncio.TimeoutError:
        p.kill()
        await p.wait()
        raise Fail("ssehub %s did not exit within %d s (it should refuse the DIR)"
                   % (" ".join(args), patient(timeout)))
    return p.returncode, err.decode(errors="replace")


def digest(d):
    h = hashlib.sha256()
    for name in sorted(os.listdir(d)):
        if name == "lock.mdb":
            continue
        with open(os.path.join(d, name), "rb") as f:
            h.update(name.encode() + b"\0" + f.read())
    return h.hexdigest()


@case("refuse-bad-dir")
async def t_refuse(ctx):
    done = []
    # Garbage data.mdb.
    d = os.path.join(ctx.tmp, "garbage")
    os.makedirs(d)
    with open(os.path.join(d, "data.mdb"), "wb") as f:
        f.write(random.Random(5).randbytes(64 * 1024))
    before = digest(d)
    rc, err = await run_hub(ctx.exe, hub_args(d))
    check(rc == 2, "garbage data.mdb: exit %s, expected 2; stderr %r" % (rc, err[-300:]))
    check("not an LMDB database" in err and "refusing" in err, "message: %r" % err[-300:])
    check(digest(d) == before, "the garbage data.mdb was changed")
    done.append("garbage")
    # A directory with other files and no store.
    d = os.path.join(ctx.tmp, "other")
    os.makedirs(d)
    with open(os.path.join(d, "notes.txt"), "w") as f:
        f.write("mine\n")
    rc, err = await run_hub(ctx.exe, hub_args(d))
    check(rc == 2 and "not empty" in err, "non-empty DIR: exit %s, %r" % (rc, err[-300:]))
    check(os.listdir(d) == ["notes.txt"], "files were added: %r" % os.listdir(d))
    done.append("non-empty")
    # A file, not a directory.
    rc, err = await run_hub(ctx.exe, hub_args(os.path.join(d, "notes.txt")))
    check(rc == 2 and "not a directory" in err, "file as DIR: exit %s, %r" % (rc, err[-300:]))
    done.append("file")
    # An LMDB environment that is not ours (made by mdb_load).
    mdb_load = shutil.which("mdb_load")
    if mdb_load:
        d = os.path.join(ctx.tmp, "foreign")
        os.makedirs(d)
        dump = "VERSION=3\nformat=bytevalue\ntype=btree\nHEADER=END\n 6b6579\n 76616c\nDATA=END\n"
        p = subprocess.run([mdb_load, d], input=dump, capture_output=True, text=True)
        check(p.returncode == 0, "mdb_load: %s" % p.stderr)
        before = digest(d)
        rc, err = await run_hub(ctx.exe, hub_args(d))
        check(rc == 2 and "not an ssehub store" in err, "foreign LMDB: exit %s, %r"
              % (rc, err[-300:]))
        check(digest(d) == before, "the foreign data.mdb was changed")
        done.append("foreign LMDB")
    # A DIR in use by another hub.
    d = os.path.join(ctx.tmp, "busy")
    async with Hub(ctx.exe, hub_args(d), base_args=False):
        rc, err = await run_hub(ctx.exe, hub_args(d))
        check(rc == 2 and "in use" in err, "second hub on one DIR: exit %s, %r"
              % (rc, err[-300:]))
    done.append("in use")
    # A missing DIR is created, parents included.
    d = os.path.join(ctx.tmp, "new", "deeper", "store")
    async with Hub(ctx.exe, hub_args(d), base_args=False) as hub:
        r = await publish(hub.port, [("topic", "a"), ("data", "x")])
        check(r.status == 200, "%r" % r)
    check(os.path.exists(os.path.join(d, "data.mdb")), "no data.mdb in the new DIR")
    done.append("created")
    return ", ".join(done)


# ---- runner

class Ctx:
    def __init__(self, exe, tmp):
        self.exe = exe
        self.tmp = tmp


def where():
    return where_in("test_lmdb.py")


async def run_case(fn, ctx, timeout):
    try:
        return await asyncio.wait_for(fn(ctx), timeout)
    except asyncio.TimeoutError:
        raise Fail("timed out (%d s): %s" % (timeout, where()))


def main():
    global ROUNDS
    a = parse_args(CASES, __doc__, more=lambda ap: ap.add_argument("--rounds", type=int,
                                                                 default=ROUNDS))
    ROUNDS = a.rounds
    run_one = in_tmp_dirs("lmdb", lambda name, fn, timeout, tmp:
                          asyncio.run(run_case(fn, Ctx(a.ssehub, tmp), timeout)))
    return run_cases(CASES, a.k, run_one, width=16, unexpected=where)


if __name__ == "__main__":
    sys.exit(main())
