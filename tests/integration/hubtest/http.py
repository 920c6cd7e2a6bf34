# SPDX-License-Identifier: MIT
"""A raw HTTP/1.1 client on asyncio streams: requests written as bytes (so tests can
pipeline, send malformed input, or dribble bytes), responses parsed strictly enough to
notice a broken server, and event streams read with the SSE parser."""
import asyncio
import os
import socket
import time
import urllib.parse

from .sse import SSEParser


# Every wait for something that must happen (a response, an event, a close, a metric, a
# log line) may take this many times the deadline a test names: the deadlines are sized for
# a quiet machine, and the suite must pass under ASan on two cores kept busy by other work.
# A wait returns as soon as its condition holds, so the factor costs time only on failure.
# Windows in which something must NOT happen (read_for) are not scaled.
PATIENCE = float(os.environ.get("SSEHUB_TEST_PATIENCE", "6"))


def patient(seconds):
    """|seconds|, the deadline of a wait for something that must happen, scaled by PATIENCE."""
    return seconds * PATIENCE


class Fail(Exception):
    """A check failed: the message says what was expected and what came."""


def check(cond, msg):
    if not cond:
        raise Fail(msg)


class Response:
    def __init__(self, status, reason, headers, body, raw_head):
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (name, value) as sent
        self.body = body
        self.raw_head = raw_head

    def header(self, name, default=None):
        """The value of header |name| (case-insensitive); several are joined with ', '."""
        vals = [v for n, v in self.headers if n.lower() == name.lower()]
        return ", ".join(vals) if vals else default

    def has(self, name):
        return any(n.lower() == name.lower() for n, _ in self.headers)

    @property
    def text(self):
        return self.body.decode("utf-8", errors="replace")

    def __repr__(self):
        return "<%d %s %r>" % (self.status, self.reason, self.body[:200])


def form(*pairs, **fields):
    """application/x-www-form-urlencoded body from (name, value) pairs and keywords."""
    items = list(pairs) + [(k, v) for k, v in fields.items() if v is not None]
    return urllib.parse.urlencode(items).encode()


def request_bytes(method, path, headers=None, body=None, host="127.0.0.1"):
    """One request as bytes. |headers| is a list of (name, value); a Content-Length is
    added for a body unless the caller set Content-Length or Transfer-Encoding."""
    hs = [("Host", host)] + list(headers or [])
    names = {n.lower() for n, _ in hs}
    if body is not None and "content-length" not in names and "transfer-encoding" not in names:
        hs.append(("Content-Length", str(len(body))))
    head = "%s %s HTTP/1.1\r\n" % (method, path)
    head += "".join("%s: %s\r\n" % (n, v) for n, v in hs)
    head += "\r\n"
    return head.encode("latin-1") + (body or b"")


def publish_bytes(pairs, extra_headers=None):
    """A form publish request (pairs: list of (name, value))."""
    body = urllib.parse.urlencode(pairs).encode()
    hs = [("Content-Type", "application/x-www-form-urlencoded")] + list(extra_headers or [])
    return request_bytes("POST", "/.well-known/mercure", hs, body)


async def _parse_head(reader, timeout):
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
    lines = head[:-4].decode("latin-1").split("\r\n")
    status_line = lines[0]
    parts = status_line.split(" ", 2)
    check(len(parts) >= 2 and parts[0] == "HTTP/1.1" and parts[1].isdigit(),
          "bad status line %r" % status_line)
    status = int(parts[1])
    reason = parts[2] if len(parts) > 2 else ""
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        check(sep == ":" and name and name == name.strip(), "bad header line %r" % line)
        headers.append((name, value.strip()))
    return status, reason, headers, head


class Conn:
    """One client connection."""

    def __init__(self, reader, writer, registry=None):
        self.reader = reader
        self.writer = writer
        self._registry = registry

    @classmethod
    async def open(cls, port, rcvbuf=None, registry=None, timeout=10.0, host="127.0.0.1"):
        timeout = patient(timeout)
        if rcvbuf is None:
            r, w = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        else:
            s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                              socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            s.setblocking(False)
            loop = asyncio.get_running_loop()
            await asyncio.wait_for(loop.sock_connect(s, (host, port)), timeout)
            r, w = await asyncio.open_connection(sock=s, limit=1 << 20)
        c = cls(r, w, registry)
        if registry is not None:
            registry.append(c)
        return c

    def send(self, data):
        self.writer.write(data)

    async def drain(self):
        await self.writer.drain()

    async def read_response(self, timeout=10.0, head_only=False):
        timeout = patient(timeout)
        """The next response (100 Continue skipped). A body is read by Content-Length,
        chunked, or to EOF when neither is given (a 204/304/1xx has none)."""
        while True:
            status, reason, headers, raw = await _parse_head(self.reader, timeout)
            if status != 100:
                break
        resp = Response(status, reason, headers, b"", raw)
        if head_only or status in (204, 304):
            return resp
        te = (resp.header("Transfer-Encoding") or "").lower()
        cl = resp.header("Content-Length")
        if "chunked" in te:
            body = b""
            while True:
                size_line = await asyncio.wait_for(self.reader.readuntil(b"\r\n"), timeout)
                size = int(size_line.split(b";")[0].strip(), 16)
                if size == 0:
                    await asyncio.wait_for(self.reader.readuntil(b"\r\n"), timeout)
                    break
                body += await asyncio.wait_for(self.reader.readexactly(size + 2), timeout)
                body = body[:-2]
            resp.body = body
        elif cl is not None:
            check(cl.isdigit(), "bad Content-Length %r" % cl)
            resp.body = await asyncio.wait_for(self.reader.readexactly(int(cl)), timeout)
        else:
            resp.body = await asyncio.wait_for(self.reader.read(), timeout)
        return resp

    async def request(self, method, path, headers=None, body=None, timeout=10.0):
        self.send(request_bytes(method, path, headers, body))
        await self.drain()
        return await self.read_response(timeout)

    async def publish(self, pairs, timeout=10.0, headers=None):
        self.send(publish_bytes(pairs, headers))
        await self.drain()
        return await self.read_response(timeout)

    async def wait_closed_by_peer(self, timeout, scaled=True):
        """Reads until EOF (or reset); returns (closed, bytes read). closed is False on
        timeout. |timeout| is scaled by PATIENCE unless |scaled| is False (a window in
        which the connection must stay open)."""
        got = b""
        deadline = time.monotonic() + (patient(timeout) if scaled else timeout)
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False, got
                chunk = await asyncio.wait_for(self.reader.read(65536), left)
                if not chunk:
                    return True, got
                got += chunk
        except asyncio.TimeoutError:
            return False, got
        except (ConnectionResetError, BrokenPipeError):
            return True, got

    def close(self):
        try:
            self.writer.close()
        except Exception:  # noqa: BLE001 (already gone)
            pass


async def request(port, method, path, headers=None, body=None, timeout=10.0, registry=None,
                  host="127.0.0.1"):
    """One request on a new connection (closed afterwards)."""
    c = await Conn.open(port, registry=registry, host=host)
    try:
        return await c.request(method, path, headers, body, timeout)
    finally:
        c.close()


class Stream(Conn):
    """An event stream: GET sent, response head read; events parsed as they are read."""

    def __init__(self, reader, writer, registry=None):
        super().__init__(reader, writer, registry)
        self.resp = None
        self.sse = SSEParser()
        self.raw = bytearray()  # the body bytes read so far (when keep_raw)
        self.keep_raw = False
        self.eof = False

    @classmethod
    async def subscribe(cls, port, topics=(), last_id=None, query_last_id=None, path=None,
                        headers=None, registry=None, rcvbuf=None, keep_raw=False,
                        timeout=10.0, expect_status=200, host="127.0.0.1"):
        """Opens a subscription. |topics| go in the query; |last_id| is the Last-Event-ID
        header, |query_last_id| the lastEventID query parameter. |path| overrides the
        request target entirely."""
        s = await cls.open(port, rcvbuf=rcvbuf, registry=registry, timeout=timeout, host=host)
        s.keep_raw = keep_raw
        if path is None:
            q = [("topic", t) for t in topics]
            if query_last_id is not None:
                q.append(("lastEventID", query_last_id))
            path = "/.well-known/mercure"
            if q:
                path += "?" + urllib.parse.urlencode(q)
        hs = [("Accept", "text/event-stream")] + list(headers or [])
        if last_id is not None:
            hs.append(("Last-Event-ID", last_id))
        s.send(request_bytes("GET", path, hs))
        await s.drain()
        if expect_status != 200:
            s.resp = await s.read_response(timeout)
            return s
        s.resp = await s.read_response(timeout, head_only=True)
        check(s.resp.status == 200,
              "GET %s: expected 200, got %d %s" % (path, s.resp.status, s.resp.reason))
        return s

    @property
    def events(self):
        return self.sse.events

    async def read_some(self, timeout):
        """Reads one chunk (waiting up to |timeout|); returns False on timeout or EOF."""
        if self.eof:
            return False
        try:
            chunk = await asyncio.wait_for(self.reader.read(1 << 20), timeout)
        except asyncio.TimeoutError:
            return False
        except (ConnectionResetError, BrokenPipeError):
            chunk = b""
        if not chunk:
            self.eof = True
            self.sse.feed(b"", eof=True)
            return False
        if self.keep_raw:
            self.raw += chunk
        self.sse.feed(chunk)
        return True

    async def read_until(self, pred, timeout):
        """Reads until pred(self) is true; returns whether it became true in time (within
        |timeout| scaled by PATIENCE)."""
        deadline = time.monotonic() + patient(timeout)
        while not pred(self):
            left = deadline - time.monotonic()
            if left <= 0 or self.eof:
                return pred(self)
            await self.read_some(left)
        return True

    async def wait_events(self, n, timeout):
        return await self.read_until(lambda s: len(s.sse.events) >= n, timeout)

    async def read_for(self, seconds):
        """Reads whatever arrives during |seconds|."""
        deadline = time.monotonic() + seconds
        while not self.eof:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            await self.read_some(left)

    async def read_to_eof(self, timeout):
        """Reads until the server closes; returns whether it did within |timeout|."""
        await self.read_until(lambda s: s.eof, timeout)
        return self.eof
