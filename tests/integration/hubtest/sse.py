# SPDX-License-Identifier: MIT
"""A small event-stream parser: the WHATWG HTML "interpreting an event stream" rules.

Bytes go in with feed(); complete events come out in .events as Event tuples, comments
(the text after ':') in .comments, and the last valid retry: value in .retry.
"""
import collections
import re

Event = collections.namedtuple("Event", "id type data")

_EOL = re.compile(rb"\r\n|\r|\n")


class SSEParser:
    def __init__(self):
        self._buf = b""
        self._bom_checked = False
        self._data = []  # data lines of the event being read
        self._type = ""
        self.last_id = ""  # the last event ID buffer
        self.retry = None  # the reconnection time set by the last valid retry: line
        self.retries = []  # every valid retry: value, in order
        self.events = []
        self.comments = []
        self.lines = 0  # lines interpreted
        self.bytes = 0  # bytes fed

    def feed(self, chunk, eof=False):
        """Interprets |chunk|; with |eof| a final line without terminator is dropped (as
        the standard says: an incomplete event at the end is discarded)."""
        self.bytes += len(chunk)
        buf = self._buf + chunk if self._buf else chunk
        if not self._bom_checked and len(buf) >= 3:
            if buf.startswith(b"\xef\xbb\xbf"):
                buf = buf[3:]
            self._bom_checked = True
        pos = 0
        n = len(buf)
        while pos < n:
            m = _EOL.search(buf, pos)
            if m is None:
                break
            if m.group() == b"\r" and m.end() == n and not eof:
                break  # a CR at the end: an LF may follow in the next chunk
            self._line(buf[pos:m.start()])
            pos = m.end()
        self._buf = buf[pos:]
        return self

    def _line(self, raw):
        self.lines += 1
        line = raw.decode("utf-8", errors="replace")
        if line == "":
            self._dispatch()
            return
        if line[0] == ":":
            self.comments.append(line[1:])
            return
        field, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if field == "event":
            self._type = value
        elif field == "data":
            self._data.append(value)
        elif field == "id":
            if "\0" not in value:
                self.last_id = value
        elif field == "retry":
            if value != "" and all("0" <= ch <= "9" for ch in value):
                self.retry = int(value)
                self.retries.append(self.retry)
        # any other field is ignored

    def _dispatch(self):
        if not self._data:
            self._type = ""
            return
        self.events.append(Event(self.last_id, self._type or "message", "\n".join(self._data)))
        self._data = []
        self._type = ""
