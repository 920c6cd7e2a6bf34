#!/usr/bin/env python3
"""Writes the hand-made ssecat --parse cases: NAME.sse (raw stream bytes) and NAME.jsonl
(the output the WHATWG algorithm gives, worked out by hand here, not produced by ssecat).
Run it from this directory after editing a case; commit both files."""
import json

F = "\ufffd"  # U+FFFD REPLACEMENT CHARACTER


def ev(data, event="message", id=""):
    return {"event": event, "data": data, "id": id}


def retry(n):
    return {"retry": n}


CASES = {
    "basic": (b"data: hello\n\n", [ev("hello")]),
    # The seeds' server writes retry, event, id, data and keep-alive comments.
    "seeds_example": (
        b"retry: 10000\nevent: connecttime\nid: 1\ndata: 2026-11-21T10:00:00Z\n\n"
        b": keep-alive\n\nid: 2\ndata: {\"msg\": \"hi\"}\n\n",
        [retry(10000), ev("2026-11-21T10:00:00Z", "connecttime", "1"), ev('{"msg": "hi"}', id="2")],
    ),
    # One leading BOM is stripped; a later one makes the field name unknown.
    "bom": (b"\xef\xbb\xbfdata: a\n\n\xef\xbb\xbfdata: b\n\n", [ev("a")]),
    "bom_twice_at_start": (b"\xef\xbb\xbf\xef\xbb\xbfdata: a\n\ndata: b\n\n", [ev("b")]),
    "bom_partial": (b"\xef\xbbdata: a\n\ndata: b\n\n", [ev("b")]),
    "line_endings": (b"data: a\r\ndata: b\rdata: c\n\r\n", [ev("a\nb\nc")]),
    "cr_only": (b"data: x\r\rdata: y\r\r", [ev("x"), ev("y")]),
    "crlf_blank_lines": (b"data: 1\r\n\r\n\r\n\r\ndata: 2\r\n\r\n", [ev("1"), ev("2")]),
    "multiline_data": (
        b"data:  two spaces\ndata:none\ndata\ndata: \n\n",
        [ev(" two spaces\nnone\n\n")],
    ),
    "event_type_reset": (
        b"event: a\n\ndata: 1\n\nevent: b\ndata: 2\n\ndata: 3\n\nevent:\ndata: 4\n\n",
        [ev("1"), ev("2", "b"), ev("3"), ev("4")],
    ),
    "id_rules": (
        b"id: 1\n\ndata: a\n\nid\ndata: b\n\nid: 2\x00x\ndata: c\n\n"
        b"id: 3\ndata: d\n\ndata: e\n\nid:  4\ndata: f\n\n",
        [ev("a", id="1"), ev("b"), ev("c"), ev("d", id="3"), ev("e", id="3"), ev("f", id=" 4")],
    ),
    "retry_rules": (
        b"retry: 3000000000\nretry: 1a\nretry: -1\nretry:\nretry\n"
        b"retry: 18446744073709551616\nretry: 0\nretry:  5\nretry: 18446744073709551615\n"
        b"data: x\n\n",
        [retry(3000000000), retry(0), retry(18446744073709551615), ev("x")],
    ),
    "no_dispatch_at_eof": (b"data: a\n\ndata: b\n", [ev("a")]),
    "no_dispatch_at_eof_cr": (b"data: a\r\rdata: b\r", [ev("a")]),
    "utf8": (
        b"data: caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x98\x80\n\n"
        b"data: \xff|\xc3|\xe2\x82|\xed\xa0\x80|\xf4\x90\x80\x80|\xc0\x80|\x80\n\n"
        b"event: t\xe2\nid: i\xc3\ndata: x\n\n",
        [
            ev("caf\u00e9 \u4e2d\u6587 \U0001F600"),
            ev(F + "|" + F + "|" + F + "|" + 3 * F + "|" + 4 * F + "|" + 2 * F + "|" + F),
            ev("x", "t" + F, "i" + F),
        ],
    ),
    "utf8_truncated_at_line_end": (b"data: \xe4\xb8\rdata: \xf0\x9f\x98\n\n", [ev(F + "\n" + F)]),
    "comments_and_unknown_fields": (
        b": comment\ndata: a\n:another\nfoo: bar\nData: no\ndata : no\n data: no\ndata: b\n\n",
        [ev("a\nb")],
    ),
    "json_escapes": (
        b"data: quote\" backslash\\ tab\t ctl\x01\x1f del\x7f slash/\n\n",
        [ev('quote" backslash\\ tab\t ctl\x01\x1f del\x7f slash/')],
    ),
    "nul_in_data": (b"data: a\x00b\n\n", [ev("a\x00b")]),
    "empty_data_no_dispatch": (b"event: x\nid: 5\n\ndata\n\n", [ev("", id="5")]),
    "colon_in_value": (b"data: a:b: c\nevent: x:y\n\n", [ev("a:b: c", "x:y")]),
    "field_only_colon_space": (b"data:\ndata: \n\n", [ev("\n")]),
}

for name, (stream, expected) in CASES.items():
    with open(name + ".sse", "wb") as f:
        f.write(stream)
    with open(name + ".jsonl", "wb") as f:
        for obj in expected:
            f.write(json.dumps(obj, ensure_ascii=False).encode("utf-8") + b"\n")
print(f"{len(CASES)} cases written")
