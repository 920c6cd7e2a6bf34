# SPDX-License-Identifier: MIT
"""Starting and stopping a real ssehub, and reading its /metrics."""
import asyncio
import os
import re
import signal
import time

from .http import Fail, check, patient, request

LISTEN_RE = re.compile(r"listening on 127\.0\.0\.1:(\d+)")
SANITIZER_RE = re.compile(r"ERROR: AddressSanitizer|runtime error|LeakSanitizer|"
                          r"ERROR: ThreadSanitizer|WARNING: ThreadSanitizer")
METRIC_LINE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (-?[0-9.eE+]+|NaN|[+-]Inf)$')

BASE_ARGS = ["--listen", "127.0.0.1:0", "--store", "memory", "--threads", "2"]

# Every hub started and not yet reaped: killed by the runner if a case is abandoned.
LIVE = set()


class Hub:
    """One ssehub process. Use as `async with Hub(exe, args) as hub:`; on exit it is stopped
    with SIGTERM and must exit 0 within 5 s with no sanitizer report on stderr."""

    def __init__(self, exe, args=(), env=None, base_args=True, preexec_fn=None):
        self.exe = exe
        self.preexec_fn = preexec_fn  # run in the child before exec (e.g. setrlimit)
        self.args = (BASE_ARGS if base_args else []) + list(args)
        self.env = env
        self.proc = None
        self.port = None
        self.stderr_lines = []
        self._drain = None
        self.stopped = False

    async def start(self, timeout=15.0):
        env = dict(os.environ)
        env.update(self.env or {})
        self.proc = await asyncio.create_subprocess_exec(
            self.exe, *self.args, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, env=env,
            preexec_fn=self.preexec_fn)
        LIVE.add(self.proc)
        timeout = patient(timeout)
        deadline = time.monotonic() + timeout
        while self.port is None:
            left = deadline - time.monotonic()
            try:
                if left <= 0:
                    raise asyncio.TimeoutError
                line = await asyncio.wait_for(self.proc.stderr.readline(), left)
            except asyncio.TimeoutError:
                self.proc.kill()
                await self.proc.wait()
                raise Fail("hub %s: no 'listening on' line within %.0f s; stderr: %s"
                           % (" ".join(self.args), timeout, self.stderr_tail()))
            if not line:
                rc = await self.proc.wait()
                raise Fail("hub %s exited with %s before listening; stderr: %s"
                           % (" ".join(self.args), rc, self.stderr_tail()))
            text = line.decode("utf-8", errors="replace").rstrip("\n")
            self.stderr_lines.append(text)
            m = LISTEN_RE.search(text)
            if m:
                self.port = int(m.group(1))
        self._drain = asyncio.ensure_future(self._drain_stderr())
        return self

    async def _drain_stderr(self):
        while True:
            line = await self.proc.stderr.readline()
            if not line:
                return
            self.stderr_lines.append(line.decode("utf-8", errors="replace").rstrip("\n"))

    async def wait_stderr(self, pattern, timeout=5.0):
        """The first match of |pattern| in stderr, waiting for it up to |timeout|."""
        rx = re.compile(pattern)
        timeout = patient(timeout)
        deadline = time.monotonic() + timeout
        while True:
            for line in self.stderr_lines:
                m = rx.search(line)
                if m:
                    return m
            if time.monotonic() > deadline:
                raise Fail("no stderr line matching %r within %.0f s; stderr: %s"
                           % (pattern, timeout, self.stderr_tail()))
            await asyncio.sleep(0.02)

    def stderr_tail(self, n=15):
        return " | ".join(self.stderr_lines[-n:])

    def sanitizer_reports(self):
        return [l for l in self.stderr_lines if SANITIZER_RE.search(l)]

    def sanitizer_summary(self):
        """The report lines, the SUMMARY lines and the first frames in the project's own
        sources (not the sanitizer's or libc's), deduplicated, in order."""
        keep = []
        frames = 0
        for l in self.stderr_lines:
            t = l.strip()
            if SANITIZER_RE.search(t) or t.startswith("SUMMARY:"):
                keep.append(t)
                frames = 0
            elif re.match(r"#\d+ ", t) and "/src/" in t and "libsanitizer" not in t and frames < 4:
                keep.append(t)
                frames += 1
        out = []
        for t in keep:
            if t not in out:
                out.append(t)
        return out[:12]

    async def stop(self, grace=5.0, sig=signal.SIGTERM, signalled=False):
        """SIGTERM (or |sig|); returns a list of problems (empty when it exited 0 in time,
        cleanly). |signalled|: the caller sent |sig| already (a second one would kill the
        hub); only wait for the exit."""
        if self.stopped:
            return []
        grace = patient(grace)
        self.stopped = True
        problems = []
        if self.proc.returncode is not None and not signalled:
            problems.append("hub died during the test with status %s" % self.proc.returncode)
        else:
            t0 = time.monotonic()
            if not signalled:
                self.proc.send_signal(sig)
            try:
                rc = await asyncio.wait_for(self.proc.wait(), grace)
                if rc != 0:
                    problems.append("hub exited %s after %s (expected 0)" % (rc, sig.name))
                self.stop_seconds = time.monotonic() - t0
            except asyncio.TimeoutError:
                problems.append("hub did not exit within %.0f s of %s" % (grace, sig.name))
                self.proc.kill()
                await self.proc.wait()
        LIVE.discard(self.proc)
        if self._drain is not None:
            try:
                await asyncio.wait_for(self._drain, 5.0)
            except asyncio.TimeoutError:
                self._drain.cancel()
        if self.sanitizer_reports():
            problems.append("sanitizer report on stderr: %s" % " | ".join(self.sanitizer_summary()))
        elif problems:
            problems.append("stderr tail: " + self.stderr_tail(8))
        return problems

    async def __aenter__(self):
        return await self.start()

    async def __aexit__(self, et, ev, tb):
        problems = await self.stop()
        if problems and et is None:
            raise Fail("; ".join(problems))
        if problems and isinstance(ev, Fail):
            ev.args = (ev.args[0] + " [and at stop: " + "; ".join(problems) + "]",)
        return False

    # ---- /metrics

    async def metrics(self):
        """{'name' or 'name{labels}': value} and the raw text."""
        r = await request(self.port, "GET", "/metrics")
        check(r.status == 200, "/metrics: expected 200, got %r" % r)
        vals = {}
        for line in r.text.splitlines():
            if not line or line.startswith("#"):
                continue
            m = METRIC_LINE_RE.match(line)
            check(m is not None, "/metrics: malformed sample line %r" % line)
            vals[m.group(1) + (m.group(2) or "")] = float(m.group(3))
        return vals, r.text

    async def metric(self, name):
        vals, _ = await self.metrics()
        check(name in vals, "/metrics has no %s" % name)
        return vals[name]

    async def wait_metric(self, name, pred, timeout, scaled=True):
        """Polls /metrics until pred(value) or |timeout| (scaled by PATIENCE unless |scaled|
        is False) passed; returns the last value seen."""
        deadline = time.monotonic() + (patient(timeout) if scaled else timeout)
        while True:
            v = await self.metric(name)
            if pred(v) or time.monotonic() > deadline:
                return v
            await asyncio.sleep(0.05)


def kill_leftovers():
    for p in list(LIVE):
        if p.returncode is None:
            try:
                p.kill()
            except ProcessLookupError:
                pass
    LIVE.clear()
