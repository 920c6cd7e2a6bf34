#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Writes the hand-made seed inputs of fuzz/corpus/fuzz_sse_parse/,
# fuzz/corpus/fuzz_sse_roundtrip/ and fuzz/corpus/fuzz_pubreq/ (named seed-*; files merged
# in by the fuzzer have hash names and are left alone). Run it from anywhere; rerunning it rewrites the same files.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
parse=$here/corpus/fuzz_sse_parse
rt=$here/corpus/fuzz_sse_roundtrip
pubreq=$here/corpus/fuzz_pubreq
mkdir -p "$parse" "$rt" "$pubreq"

# p NAME BYTES: a parse seed; BYTES uses printf %b escapes (\n, \r, \0, \xHH).
p() {
    printf '%b' "$2" >"$parse/seed-$1"
}

# rep N STRING: STRING repeated N times.
rep() {
    local i out=""
    for ((i = 0; i < $1; i++)); do out+=$2; done
    printf '%s' "$out"
}

# ---- fuzz_sse_parse: the input is the stream. Its first byte also picks the small
# max_size the target tries besides the default: byte % 8 indexes {1, 2, 3, 7, 16, 64, 100,
# 512}, so "d" (data...) gives 16, "e" (event...) 64, "i" (id...) 2, "r" (retry...) 3,
# ":" 3, "\xEF" (BOM) 512.
p simple 'data: hello\n\n'
p multiline 'data: a\ndata: b\ndata: c\n\n'
p typed 'event: update\ndata: {"x": 1}\n\n'
p id 'id: 42\ndata: x\n\n'
p id-kept 'id: 1\ndata: a\n\ndata: b\n\n'
p id-cleared 'id: 1\ndata: a\n\nid\ndata: b\n\nid:\ndata: c\n\n'
p id-nul 'id: a\0b\ndata: x\n\n'
p id-nul-kept 'id: good\ndata: 1\n\nid: ba\0d\ndata: 2\n\n'
p id-utf8 'id: \xc3\xa9\xff\ndata: x\n\n'
p retry 'retry: 3000\n\n'
p retry-3e9 'retry: 3000000000\ndata: x\n\n'
p retry-u64max 'retry: 18446744073709551615\n'
p retry-overflow 'retry: 18446744073709551616\nretry: 99999999999999999999999\n'
p retry-bad 'retry: 12a\nretry:\nretry: -1\nretry:  5\nretry: +5\nretry: 5 \n'
p retry-zero 'retry: 0\nretry:007\n'
p bom '\xef\xbb\xbfdata: x\n\n'
p bom-twice '\xef\xbb\xbf\xef\xbb\xbfdata: x\n\n'
p bom-partial '\xef\xbbdata: x\n\n'
p bom-only '\xef\xbb\xbf'
p bom-then-blank '\xef\xbb\xbf\n\ndata: y\n\n'
p cr 'data: a\r\r'
p crlf 'data: a\r\ndata: b\r\n\r\n'
p crlf-split 'data: a\r\n\r\nid: 7\r\nevent: e\r\ndata: b\r\n\r\n'
p mixed 'data: a\rdata: b\ndata: c\r\n\n'
p lf-cr 'data: x\n\rdata: y\r\n\r'
p trailing-cr 'data: x\r'
p only-cr '\r\r\r\r'
p only-lf '\n\n\n'
p comment ': hello\n'
p comment-empty ':\n\n'
p comment-between ': c1\ndata: x\n: c2\n\n'
p comment-crlf ':a\r\n:\r\n\r\n'
p no-colon 'data\n\n'
p no-colon-all 'event\ndata\nid\nretry\n\n'
p unknown 'foo: bar\ndatax: y\nDATA: z\ndata: x\n\n'
p no-space 'data:x\n\n'
p two-spaces 'data:  x\nevent:  t\n\n'
p tab 'data:\tx\n\n'
p colon-in-value 'data: a:b: c\n\n'
p type-reset 'event: x\n\ndata: y\n\n'
p type-empty 'event:\ndata: y\n\n'
p type-nul 'event: a\0b\ndata: x\n\n'
p data-nul 'data: a\0b\n\n'
p data-empty 'data:\ndata:\n\n'
p pending 'data: never dispatched'
p pending-type 'data: a\n\nevent: pending\ndata: b\n'
p pending-data 'data: a\n\ndata: b\nid: 5\nevent: t\n'
p utf8-invalid 'data: \xff\xfe\n\n'
p utf8-truncated 'data: \xe2\x82\n\n'
p utf8-truncated-eol 'data: \xe2\x82\rdata: \xf0\x9f\x98\r\n\n'
p utf8-overlong 'data: \xc0\xaf\xe0\x80\xaf\n\n'
p utf8-surrogate 'data: \xed\xa0\x80\xed\xbf\xbf\n\n'
p utf8-valid 'data: \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\n\n'
p utf8-above-max 'data: \xf4\x90\x80\x80\xf5\x80\n\n'
p utf8-type 'event: \xc3\n\xe2\ndata: x\n\n'
p stream 'retry: 1000\n\nid: 1\nevent: a\ndata: one\n\n: ping\n\nid: 2\ndata: two\ndata: lines\n\nevent: b\ndata:\n\n'
p empty ''
# Lines near the small limits: "data..." runs with max 16, "event..." with 64, "\xEF..."
# (BOM) with 512, "id..." with 2.
p limit16-ok "data: $(rep 10 x)\n\n"
p limit16-over "data: $(rep 11 x)\n\n"
p limit16-buffer 'data: aaaaaaa\ndata: bbbbbbb\ndata: c\n\n'
p limit16-type 'data: x\nevent: 0123456789abcdef\n\n'
p limit16-partial "data: $(rep 30 y)"
p limit64-ok "event: $(rep 57 t)\ndata: x\n\n"
p limit64-over "event: $(rep 58 t)\ndata: x\n\n"
p limit64-utf8 "event: $(rep 19 '\xff')\ndata: x\n\n"
p limit512-ok "\xef\xbb\xbfdata: $(rep 506 z)\n\n"
p limit512-over "\xef\xbb\xbfdata: $(rep 507 z)\n\n"
p limit512-crlf "\xef\xbb\xbfdata: $(rep 505 z)\r\n\r\n"
p limit2-id 'id\nid: 12\ndata: x\n\n'

# ---- fuzz_sse_roundtrip: head byte (bits 0-2 events - 1, bit 3 BOM), then per event a
# flags byte (1 id, 2 type, 4 data, 8 retry, 16 comment, 32 retry edge table, 64 rcbuf OOM,
# 128 two-byte data length), id/type/data lengths, retry, comment length, then the bytes.

# b N: one byte of value N (decimal).
b() {
    # shellcheck disable=SC2059 # the format is the octal escape itself
    printf "\\$(printf '%03o' "$1")"
}

# r NAME HEAD [FLAGS ID TYPE DATA RETRY COMMENT]...: a roundtrip seed; ID, TYPE, DATA and
# COMMENT are %b strings (written through files: shell variables cannot hold NUL), RETRY is
# an edge table index (with flag 32), a decimal below 2^63, or "-".
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
r() {
    local name=$1 head=$2 flags retry f len i
    shift 2
    {
        b "$head"
        while (($# >= 6)); do
            flags=$1 retry=$5
            printf '%b' "$2" >"$tmp/id"
            printf '%b' "$3" >"$tmp/type"
            printf '%b' "$4" >"$tmp/data"
            printf '%b' "$6" >"$tmp/comment"
            shift 6
            b "$flags"
            b "$(wc -c <"$tmp/id")"
            b "$(wc -c <"$tmp/type")"
            len=$(wc -c <"$tmp/data")
            b $((len & 255))
            if ((flags & 128)); then b $((len >> 8)); fi
            if ((flags & 8)); then
                if ((flags & 32)); then
                    b "$retry"
                else
                    for i in 0 1 2 3 4 5 6 7; do b $(((retry >> (8 * i)) & 255)); done
                fi
            fi
            if ((flags & 16)); then b "$(wc -c <"$tmp/comment")"; fi
            for f in id type data comment; do cat "$tmp/$f"; done
        done
    } >"$rt/seed-$name"
}

export LC_ALL=C
r data 0 4 '' '' 'hello' - ''
r full 0 15 '42' 'update' 'payload' 3000 ''
r no-fields 0 0 '' '' '' - ''
r id-only 0 1 'abc' '' '' - ''
r type-only 0 2 '' 'tick' '' - ''
r retry-only 0 8 '' '' '' 5000 ''
r retry-3e9 0 40 '' '' 'x' 3 ''
r retry-max 0 40 '' '' 'x' 7 ''
r retry-edges 2 44 '' '' 'a' 0 '' 44 '' '' 'b' 5 '' 44 '' '' 'c' 6 ''
r data-empty 0 4 '' '' '' - ''
r data-lf 0 4 '' '' 'a\nb\n' - ''
r data-cr 0 4 '' '' 'a\rb\r' - ''
r data-crlf 0 4 '' '' 'a\r\nb\r\n\r\n' - ''
r data-mixed 0 4 '' '' '\r\n\n\r\ra' - ''
r data-leading-space 0 4 '' '' '  two spaces\n x' - ''
r data-nul 0 4 '' '' 'a\0b\0' - ''
r data-invalid 0 4 '' '' '\xff\xc0\xaf\xe2\x82\n\xed\xa0\x80' - ''
r data-valid-utf8 0 4 '' '' '\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80' - ''
r data-bom 0 4 '' '' '\xef\xbb\xbfx' - ''
r data-colon 0 4 '' '' 'data: x\n: y\nid: z' - ''
r id-cr 0 5 'a\rb' '' 'x' - ''
r id-lf 0 5 'a\nb' '' 'x' - ''
r id-nul 0 5 'a\0b' '' 'x' - ''
r id-invalid 0 5 '\xff\xfe' '' 'x' - ''
r id-empty 1 5 'x' '' '1' - '' 5 '' '' '2' - ''
r id-carried 2 5 'first' '' '1' - '' 4 '' '' '2' - '' 1 'third' '' '' - ''
r type-empty 0 6 '' '' 'x' - ''
r type-crlf 0 6 '' 'a\r\nb' 'x' - ''
r type-nul 0 6 '' 'a\0' 'x' - ''
r type-invalid 0 6 '' '\xe2\x82' 'x' - ''
r type-message 0 6 '' 'message' 'x' - ''
r type-no-data 1 2 '' 't' '' - '' 4 '' '' 'x' - ''
r bom 8 4 '' '' 'x' - ''
r bom-comment 8 20 '' '' 'x' - 'heartbeat'
r comment-empty 0 20 '' '' 'x' - ''
r comment-lines 0 20 '' '' 'x' - 'a\r\n\rb\n'
r comment-invalid 0 20 '' '' 'x' - '\xff:\0'
r oom 0 68 '' '' 'x' - ''
r many 7 15 '1' 'a' 'x' 1 '' 4 '' '' 'y' - '' 16 '' '' '' - 'c' 2 '' 'b' '' - '' 7 '2' 'c' 'z\r\nw' - '' 8 '' '' '' 0 '' 4 '' '' '' - '' 5 '3' '' 'end' - ''
r long-data 0 132 '' '' "$(rep 300 'line\n')" - ''
r long-cr 0 132 '' '' "$(rep 200 '\r')" - ''
r long-id 0 5 "$(rep 255 i)" '' 'x' - ''

# ---- fuzz_pubreq: a head byte (bit 0: 0 form, 1 JSON; bits 1-3 index the max_topics
# table {1, 2, 3, 4, 8, 16, 100, SIZE_MAX}), then the body. \x0c is a form with 100 topics
# allowed, \x0d JSON with 100, \x02 / \x03 form / JSON with 2.

# q NAME HEAD BODY: a pubreq seed; HEAD is a %b escape, BODY is written as is (so JSON
# escapes such as \u00e9 stay literal).
q() {
    {
        printf '%b' "$2"
        printf '%s' "$3"
    } >"$pubreq/seed-$1"
}

q form-all '\x0c' 'topic=https%3A%2F%2Fexample.com%2Fbooks%2F1&data=hello&id=urn%3Auuid%3A1&type=update&retry=3000&private=on'
q form-topics '\x0c' 'topic=a&data=x&topic=b&topic=c'
q form-plus '\x0c' 'topic=a+b&data=x+%2B+y'
q form-bad-escapes '\x0c' 'topic=t%&data=%zz%4%&id=%G0'
q form-nul-crlf '\x0c' 'topic=t&data=a%00b%0D%0Ac%0Dd&id=%00&type=a%0A'
q form-empty-pairs '\x0c' '&&topic=t&&=&x&data&'
q form-no-eq '\x0c' 'topic&data'
q form-retry '\x0c' 'topic=t&retry=9007199254740991&retry=1'
q form-retry-bad '\x0c' 'topic=t&retry=9007199254740992'
q form-private '\x0c' 'topic=t&private=false&private=on'
q form-private-bad '\x0c' 'topic=t&private=yes'
q form-earliest '\x0c' 'topic=t&id=earliest'
q form-id-long '\x0c' "topic=t&id=$(rep 257 i)"
q form-utf8 '\x0c' 'topic=%C3%A9&data=%F0%9F%98%80&id=%E2%82%AC&type=%c3%a9'
q form-utf8-bad '\x0c' 'topic=t&data=%ED%A0%80'
q form-encoded-names '\x0c' '%74opic=t&d%61ta=x&top%69c=u'
q form-too-many '\x02' 'topic=a&topic=b&topic=c'
q form-missing '\x0e' 'data=x&topics=y'
q json-all '\x0d' '{"topic":"https://example.com/books/1","data":"hello","id":"1","type":"update","retry":3000,"private":true}'
q json-array '\x0d' '{"topic":["a","b","c"],"data":{"k":[1,2.5,null,true,-0,1E2]}}'
q json-data-number '\x0d' '{"topic":"t","data":0.1}'
q json-data-ws '\x0d' ' { "topic" : "t" , "data" : [ 1 , { "a" : " b " } ] } '
q json-escapes '\x0d' '{"topic":"\u00e9/","d\u0061ta":"\ud83d\ude00\n","type":"\t"}'
q json-nul '\x0d' '{"topic":"t","data":"a\u0000b","id":"\u0000"}'
q json-dup '\x0d' '{"topic":"a","topic":"b"}'
q json-wrong-types '\x0d' '{"topic":1,"id":2,"type":[],"retry":"5","private":1}'
q json-retry '\x0d' '{"topic":"t","retry":9007199254740992}'
q json-not-object '\x0d' '[{"topic":"t"}]'
q json-invalid '\x0d' '{"topic":"t",}'
q json-nested '\x0d' '{"topic":"t","data":[[[[[[[[{"data":[]}]]]]]]]]}'
q json-deep '\x0d' "$(rep 3000 '[')"
q json-null '\x0d' '{"topic":"t","data":null,"id":null,"type":null,"retry":null,"private":null}'
q json-empty-array '\x0d' '{"topic":[]}'
q json-too-many '\x03' '{"topic":["a","b","c"]}'
q json-earliest '\x0f' '{"topic":"t","id":"earliest"}'
q json-key-escapes '\x0d' '{"\b\f\n\r\t\/\\\"":0,"topic":"t","dat\u0061":{"x":1}}'

echo "parse seeds: $(find "$parse" -name 'seed-*' | wc -l)," \
    "roundtrip seeds: $(find "$rt" -name 'seed-*' | wc -l)," \
    "pubreq seeds: $(find "$pubreq" -name 'seed-*' | wc -l)"
