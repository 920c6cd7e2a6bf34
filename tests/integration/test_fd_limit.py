#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A hub out of file descriptors: started with a low open-file limit (256) and saturated by
400 streams opened one after another (and kept open), it must answer every client, 200
or 503 with Retry-After (no reset, no empty close, nothing left unanswered), keep
/healthz and /metrics reachable (the slots past the limit, --metrics-listen), log its
refusals at most once a second with counts, stay idle (no spinning accept loop), serve
again as soon as the clients leave, and stop promptly on SIGTERM. Also: the LMDB store
(more descriptors) with an explicit --max-connections above the limit, and accept()
failing with EMFILE (the hub's limit lowered under it with prlimit).

Usage: test_fd_limit.py [-k SUBSTRING]... PATH-TO-SSEHUB
Prints one line per case (ok / FAIL / skip) and exits 1 if any case failed.
Python 3 standard library only.
"""
import asyncio
import os
import re
import resource
import shutil
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from hubtest.http import Conn, Fail, check, publish_bytes, request_bytes  # noqa: E402
from hubtest.hub import METRIC_LINE_RE, Hub  # noqa: E402
from hubtest.runner import in_tmp_dirs, parse_args, run_cases, where as where_in  # noqa: E402

CASES = []
LIMIT = 256      # the hub's open-file limit
NSTREAMS = 400   # streams opened one after another
DEADLINE = 30.0  # for any one answer (ASan on two busy cores)
STREAM_PATH = "/.well-known/mercure?topic=fd"


def case(name, timeout=300):
    def deco(fn):
        CASES.append((name, fn, timeout))
        return fn
    return deco


def low_nofile():
    resource.setrlimit(resource.RLIMIT_NOFILE, (LIMIT, LIMIT))


def cpu_seconds(pid):
    """utime + stime of |pid| in seconds (/proc/PID/stat)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# Every 503 a client got, by (port, reason): "limit" (too many connections) or "emfile"
# (out of file descriptors). The hub's refusal log lines must add up to these.
REFUSED = {}


class Answer:
    """What one client got: kind is "200" (conn kept open), "503" or "bad" (why)."""

    def __init__(self, kind, conn=None, resp=None, why=""):
        self.kind, self.conn, self.resp, self.why = kind, conn, resp, why


async def ask(port, path, keep=False):
    """Connects, sends GET |path| and reads the answer. A 200 event stream stays open (its
    head read); any other answer is read whole (one line of body) and the connection closed
    unless |keep|. A reset, a close without an answer or no answer within DEADLINE is
    "bad". The body is read up to its newline (readuntil finds it in what was buffered,
    even when a reset followed the answer)."""
    try:
        c = await Conn.open(port, timeout=DEADLINE)
    except (OSError, asyncio.TimeoutError) as e:
        return Answer("bad", why="connect: %r" % e)
    c.send(request_bytes("GET", path, [("Accept", "text/event-stream")]))
    try:
        await c.drain()
    except OSError:
        pass  # the answer may have come (and the connection gone) before the request left
    try:
        r = await c.read_response(DEADLINE, head_only=True)
        if r.status == 200 and path.startswith("/.well-known/mercure"):
            check((r.header("Content-Type") or "").startswith("text/event-stream"),
                  "200 without text/event-stream: %r" % r.headers)
            return Answer("200", conn=c, resp=r)
        cl = r.header("Content-Length")
        check(cl is not None and cl.isdigit(), "no Content-Length: %r" % r.headers)
        n = int(cl)
        body = b""
        while len(body) < n:
            body += await asyncio.wait_for(c.reader.readuntil(b"\n"), DEADLINE)
        r.body = body
        if r.status == 503:
            kind = "emfile" if b"file descriptors" in body else "limit"
            REFUSED[(port, kind)] = REFUSED.get((port, kind), 0) + 1
    except asyncio.IncompleteReadError as e:
        c.close()
        return Answer("bad", why="closed without a (complete) answer, got %r" % e.partial[:80])
    except (ConnectionResetError, BrokenPipeError) as e:
        c.close()
        return Answer("bad", why="reset: %r" % e)
    except asyncio.TimeoutError:
        c.close()
        return Answer("bad", why="no answer within %.0f s" % DEADLINE)
    except Fail as e:
        c.close()
        return Answer("bad", why=str(e))
    if keep:
        return Answer(str(r.status), conn=c, resp=r)
    c.close()
    return Answer(str(r.status), resp=r)


def check_503(r, reason_has):
    text = r.body.decode("utf-8", "replace")
    check((r.header("Retry-After") or "").isdigit(), "503 without Retry-After: %r" % r.headers)
    check((r.header("Content-Type") or "").startswith("text/plain"),
          "503 not text/plain: %r" % r.headers)
    check(text.endswith("\n") and "\n" not in text[:-1] and reason_has in text,
          "503 body: expected one line mentioning %r, got %r" % (reason_has, text))


def parse_metrics(text):
    vals = {}
    for line in text.splitlines():
        m = METRIC_LINE_RE.match(line)
        if m:
            vals[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return vals


async def get(port, path, conn=None):
    """GET |path| on a new connection (or |conn|): (status, body text, headers)."""
    if conn is not None:
        r = await conn.request("GET", path, timeout=DEADLINE)
        return r.status, r.text, r
    a = await ask(port, path)
    check(a.kind != "bad", "GET %s: %s" % (path, a.why))
    return int(a.kind), a.resp.body.decode("utf-8", "replace"), a.resp


async def poll_health(port, path, want=200, timeout=20.0):
    """GET |path| on new connections until |want| (the few slots past the limit may be
    busy for a moment); returns the last (status, body, resp) and the tries."""
    deadline = time.monotonic() + timeout
    tries = 0
    while True:
        tries += 1
        st, body, r = await get(port, path)
        if st == want or time.monotonic() > deadline:
            return st, body, r, tries
        await asyncio.sleep(0.05)


def limit_from_log(hub):
    for line in hub.stderr_lines:
        m = re.search(r"connections limited to (\d+)", line)
        if m:
            return int(m.group(1))
    raise Fail("no 'connections limited to N' line at start: " + hub.stderr_tail())


def refusal_lines(hub):
    return [l for l in hub.stderr_lines if "connections refused" in l]


def refusal_count(hub, what):
    """The sum of the counts of |what| ("at the connection limit", "out of file
    descriptors") over the refusal lines."""
    n = 0
    for l in refusal_lines(hub):
        m = re.search(r"(\d+) " + re.escape(what), l)
        if m:
            n += int(m.group(1))
    return n


async def wait_refusals_logged(hub, what, want, timeout=15.0):
    deadline = time.monotonic() + timeout
    while refusal_count(hub, what) < want and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    got = refusal_count(hub, what)
    check(got == want, "refusals logged '%s': expected a total of %d, got %d in %r"
          % (what, want, got, refusal_lines(hub)[-5:]))


def check_log_quiet(hub, seconds):
    """At most one refusal line a second (plus margin), and no raw accept errors."""
    lines = refusal_lines(hub)
    check(len(lines) <= seconds + 3, "%d refusal lines in %.1f s (at most one a second): %r"
          % (len(lines), seconds, lines[:5]))
    raw = [l for l in hub.stderr_lines if "too many open files" in l.lower() or
           re.search(r"\baccept: ", l)]
    check(not raw, "unthrottled accept errors in the log (%d): %r" % (len(raw), raw[:3]))


async def check_idle_cpu(hub, port, seconds=3.0, attempts=30):
    """While saturated, with |attempts| refused connections spread over |seconds|: the hub
    uses well under a core (a spinning accept loop uses all of one). Returns the share."""
    c0, t0 = cpu_seconds(hub.proc.pid), time.monotonic()
    refused = 0
    for _ in range(attempts):
        a = await ask(port, STREAM_PATH)
        check(a.kind == "503", "a stream while saturated: expected 503, got %s %s"
              % (a.kind, a.why))
        refused += 1
        await asyncio.sleep(seconds / attempts)
    share = (cpu_seconds(hub.proc.pid) - c0) / (time.monotonic() - t0)
    check(share < 0.5, "the hub used %.0f%% of a core while saturated (spinning?)"
          % (100 * share))
    return share, refused


async def saturate(port, n, limit):
    """Opens |n| streams one after another: the first |limit| get 200 (kept open), the
    rest 503. Returns (streams, number of 503s)."""
    streams, n503, bad = [], 0, []
    for i in range(n):
        a = await ask(port, STREAM_PATH)
        if a.kind == "200":
            streams.append(a.conn)
        elif a.kind == "503":
            check_503(a.resp, "connections")
            n503 += 1
        else:
            bad.append("client %d: %s %s" % (i, a.kind, a.why))
    check(not bad, "%d of %d clients got no proper answer: %s" % (len(bad), n, bad[:5]))
    check(len(streams) == limit, "expected exactly %d streams (the limit), got %d (and %d 503)"
          % (limit, len(streams), n503))
    return streams, n503


async def recover(hub, port, streams):
    """Closes every client; returns the seconds until a new stream gets 200."""
    for s in streams:
        s.close()
    t0 = time.monotonic()
    while True:
        a = await ask(port, STREAM_PATH)
        if a.kind == "200":
            took = time.monotonic() - t0
            a.conn.close()
            return took
        check(time.monotonic() - t0 < 10, "no stream 10 s after the clients left: %s %s"
              % (a.kind, a.why))
        await asyncio.sleep(0.05)


async def stop(hub):
    problems = await hub.stop(grace=15.0)
    check(not problems, "; ".join(problems))
    return hub.stop_seconds


@case("saturate")
async def case_saturate(ctx):
    """Memory store, 2 loops, --metrics-listen: 400 streams against a limit of 256 files."""
    hub = Hub(ctx.exe, ["--heartbeat", "0", "--metrics-listen",
                        "127.0.0.1:0"], preexec_fn=low_nofile)
    await hub.start()
    try:
        port = hub.port
        m = await hub.wait_stderr(r"/healthz and /metrics also on 127\.0\.0\.1:(\d+)")
        mport = int(m.group(1))
        limit = limit_from_log(hub)
        check(100 < limit < LIMIT - 16, "connection limit %d for a file limit of %d"
              % (limit, LIMIT))
        check(not any("warn" in l and "--max-connections" in l for l in hub.stderr_lines),
              "a warning about --max-connections, which was not given: " + hub.stderr_tail())
        t_sat = time.monotonic()
        streams, n503 = await saturate(port, NSTREAMS, limit)
        # /healthz and /metrics while saturated: on --metrics-listen, and in the slots
        # kept past the limit on the main port.
        st, body, _ = await get(mport, "/healthz")
        check(st == 200 and body == "ok\n", "--metrics-listen /healthz: %d %r" % (st, body))
        st, body, _ = await get(mport, "/metrics")
        check(st == 200, "--metrics-listen /metrics: %d" % st)
        vals = parse_metrics(body)
        check(vals.get("ssehub_connections_max") == limit and
              vals.get("ssehub_subscribers_connected") == limit and
              vals.get("ssehub_connections_rejected_total", 0) >= n503 and
              vals.get("ssehub_accept_emfile_total") == 0,
              "metrics while saturated: max %s, subscribers %s, rejected %s (>= %d), "
              "accept EMFILE %s (0: the limit leaves room)"
              % (vals.get("ssehub_connections_max"), vals.get("ssehub_subscribers_connected"),
                 vals.get("ssehub_connections_rejected_total"), n503,
                 vals.get("ssehub_accept_emfile_total")))
        st, body, _ = await get(mport, STREAM_PATH)
        check(st == 404 and "--metrics-listen" in body,
              "a stream on --metrics-listen: expected 404, got %d %r" % (st, body))
        st, body, r, tries = await poll_health(port, "/healthz")
        check(st == 200 and (r.header("Connection") or "").lower() == "close",
              "main port /healthz while saturated: %d %r %r" % (st, body, r.headers))
        st, body, r, tries2 = await poll_health(port, "/metrics")
        check(st == 200 and parse_metrics(body).get("ssehub_connections_max") == limit,
              "main port /metrics while saturated: %d" % st)
        share, refused = await check_idle_cpu(hub, port)
        await wait_refusals_logged(hub, "at the connection limit", REFUSED[(port, "limit")])
        check_log_quiet(hub, time.monotonic() - t_sat)
        took = await recover(hub, port, streams)
        secs = await stop(hub)
        return ("limit %d: %d streams, %d x 503, healthz/metrics in %d/%d tries, cpu %.0f%%, "
                "%d log lines; serving %.2f s after the clients left; stopped in %.2f s"
                % (limit, len(streams), REFUSED[(port, "limit")], tries, tries2, 100 * share,
                   len(refusal_lines(hub)), took, secs))
    finally:
        await hub.stop(grace=15.0)


@case("saturate-lmdb")
async def case_saturate_lmdb(ctx):
    """The LMDB store (its files), 3 loops, an explicit --max-connections above the limit,
    a publisher holding a connection: the streams get its event while saturated, and
    SIGTERM stops the saturated hub."""
    d = tempfile.mkdtemp(prefix="fdlimit-", dir=ctx.tmp)
    hub = Hub(ctx.exe, ["--listen", "127.0.0.1:0", "--threads", "3", "--store", "lmdb:" + d,
                        "--heartbeat", "0", "--max-connections", "100000",
                        "--header-timeout", "10m"],  # the publisher's idle keep-alive
              base_args=False, preexec_fn=low_nofile)
    await hub.start()
    try:
        port = hub.port
        limit = limit_from_log(hub)
        await hub.wait_stderr(r"warn --max-connections 100000 is more than the open-file "
                              r"limit allows: lowered to %d" % limit)
        pub = await Conn.open(port)
        r = await pub.request("GET", "/healthz")
        check(r.status == 200, "publisher's connection: %r" % r)
        t_sat = time.monotonic()
        streams, n503 = await saturate(port, NSTREAMS, limit - 1)
        pub.send(publish_bytes([("topic", "fd"), ("data", "while saturated"), ("id", "sat-1")]))
        await pub.drain()
        r = await pub.read_response(DEADLINE)
        check(r.status == 200, "publish while saturated: %r" % r)
        got = 0
        for s in streams:
            buf = b""
            while b"while saturated" not in buf:
                chunk = await asyncio.wait_for(s.reader.read(65536), DEADLINE)
                check(chunk, "a stream closed before the event")
                buf += chunk
            got += 1
        st, body, r, tries = await poll_health(port, "/metrics")
        check(st == 200 and parse_metrics(body).get("ssehub_accept_emfile_total") == 0,
              "main port /metrics while saturated: %d %r" % (st, body[:200]))
        share, refused = await check_idle_cpu(hub, port)
        await wait_refusals_logged(hub, "at the connection limit", REFUSED[(port, "limit")])
        check_log_quiet(hub, time.monotonic() - t_sat)
        # SIGTERM while saturated: every stream ends, the hub exits 0.
        secs = await stop(hub)
        ended = 0
        for s in streams:
            closed, _ = await s.wait_closed_by_peer(DEADLINE)
            ended += closed
        check(ended == len(streams), "%d of %d streams not closed at SIGTERM"
              % (len(streams) - ended, len(streams)))
        return ("limit %d: %d streams got the event, %d x 503, cpu %.0f%%; stopped while "
                "saturated in %.2f s" % (limit, got, REFUSED[(port, "limit")], 100 * share, secs))
    finally:
        await hub.stop(grace=15.0)
        shutil.rmtree(d, ignore_errors=True)


def lowest_free_fd(pid):
    used = {int(n) for n in os.listdir("/proc/%d/fd" % pid)}
    fd = 0
    while fd in used:
        fd += 1
    return fd


@case("emfile")
async def case_emfile(ctx):
    """accept() fails with EMFILE (the hub's limit lowered under it with prlimit): every
    client still gets a 503, through the reserve descriptor, without spinning; the log
    counts them; once the limit is back and the clients leave, the hub serves."""
    hub = Hub(ctx.exe, ["--heartbeat", "0", "--header-timeout", "10m"],  # |held| idles
              preexec_fn=low_nofile)
    await hub.start()
    try:
        port = hub.port
        held = await Conn.open(port)  # for /metrics: a new connection could not be served
        r = await held.request("GET", "/healthz")
        check(r.status == 200, "held connection: %r" % r)
        streams = []
        for _ in range(20):
            a = await ask(port, STREAM_PATH)
            check(a.kind == "200", "stream before the limit was lowered: %s %s" % (a.kind, a.why))
            streams.append(a.conn)
        await asyncio.sleep(0.2)  # let the loops settle (no check depends on it)
        low = lowest_free_fd(hub.proc.pid)
        resource.prlimit(hub.proc.pid, resource.RLIMIT_NOFILE, (low, LIMIT))
        t0 = time.monotonic()
        n = 60
        bad = []
        for i in range(n):
            a = await ask(port, STREAM_PATH)
            if a.kind != "503":
                bad.append("client %d: %s %s" % (i, a.kind, a.why))
            else:
                check_503(a.resp, "file descriptors")
        check(not bad, "%d of %d clients without a 503 while out of descriptors: %s"
              % (len(bad), n, bad[:5]))
        vals = parse_metrics((await held.request("GET", "/metrics", timeout=DEADLINE)).text)
        check(vals.get("ssehub_accept_emfile_total", 0) >= n and
              vals.get("ssehub_connections_rejected_total", 0) >= n,
              "metrics: accept EMFILE %s, rejected %s (expected >= %d)"
              % (vals.get("ssehub_accept_emfile_total"),
                 vals.get("ssehub_connections_rejected_total"), n))
        c0, w0 = cpu_seconds(hub.proc.pid), time.monotonic()
        for _ in range(20):  # out of descriptors, with clients coming: still idle
            a = await ask(port, STREAM_PATH)
            check(a.kind == "503", "out of descriptors: %s %s" % (a.kind, a.why))
            await asyncio.sleep(0.1)
        share = (cpu_seconds(hub.proc.pid) - c0) / (time.monotonic() - w0)
        check(share < 0.5, "the hub used %.0f%% of a core out of descriptors" % (100 * share))
        await wait_refusals_logged(hub, "out of file descriptors", REFUSED[(port, "emfile")])
        check(REFUSED[(port, "emfile")] == n + 20 and (port, "limit") not in REFUSED,
              "503s while out of descriptors: %r" % REFUSED)
        check_log_quiet(hub, time.monotonic() - t0)
        resource.prlimit(hub.proc.pid, resource.RLIMIT_NOFILE, (LIMIT, LIMIT))
        held.close()
        took = await recover(hub, port, streams)
        secs = await stop(hub)
        return ("%d x 503 out of descriptors, cpu %.0f%%, %d log lines; serving %.2f s after "
                "the limit was back; stopped in %.2f s"
                % (n + 20, 100 * share, len(refusal_lines(hub)), took, secs))
    finally:
        await hub.stop(grace=15.0)


@case("emfile-sigterm")
async def case_emfile_sigterm(ctx):
    """SIGTERM while out of descriptors, with clients arriving: the hub exits 0."""
    hub = Hub(ctx.exe, ["--threads", "3", "--heartbeat", "0"], preexec_fn=low_nofile)
    await hub.start()
    try:
        port = hub.port
        streams = []
        for _ in range(10):
            a = await ask(port, STREAM_PATH)
            check(a.kind == "200", "stream: %s %s" % (a.kind, a.why))
            streams.append(a.conn)
        resource.prlimit(hub.proc.pid, resource.RLIMIT_NOFILE,
                         (lowest_free_fd(hub.proc.pid), LIMIT))
        async def ask_close():
            # A stream may get through (a loop's spare descriptor taken by another loop's
            # accept): it leaves at once, which frees that descriptor for the next 503.
            a = await ask(port, STREAM_PATH)
            if a.conn is not None:
                a.conn.close()
            return a

        answers = await asyncio.gather(*(ask_close() for _ in range(50)))
        kinds = {}
        for a in answers:
            kinds[a.kind] = kinds.get(a.kind, 0) + 1
        check(set(kinds) <= {"503", "200"}, "50 clients at once, out of descriptors: %r %r"
              % (kinds, [a.why for a in answers if a.kind == "bad"][:3]))
        pending = [asyncio.ensure_future(ask(port, STREAM_PATH)) for _ in range(20)]
        secs = await stop(hub)
        for f in pending:
            f.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        return "%r; stopped in %.2f s with clients arriving" % (kinds, secs)
    finally:
        await hub.stop(grace=15.0)


class Ctx:
    def __init__(self, exe, tmp):
        self.exe = exe
        self.tmp = tmp


async def run_case(fn, ctx, timeout):
    REFUSED.clear()
    try:
        return await asyncio.wait_for(fn(ctx), timeout)
    except asyncio.TimeoutError:
        raise Fail("case timed out after %d s" % timeout)


def where():
    return where_in("test_fd_limit.py")


def main():
    a = parse_args(CASES, __doc__)
    # This process holds NSTREAMS sockets and more: raise its own soft limit.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 4 * NSTREAMS if hard == resource.RLIM_INFINITY else min(hard, 4 * NSTREAMS)
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    run_one = in_tmp_dirs("fd", lambda name, fn, timeout, tmp:
                          asyncio.run(run_case(fn, Ctx(a.ssehub, tmp), timeout)))
    return run_cases(CASES, a.k, run_one, width=14, unexpected=where)


if __name__ == "__main__":
    sys.exit(main())
