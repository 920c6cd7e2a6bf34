#!/bin/bash
# ssecat end to end: --parse on every hand-made case in tests/data/ssecat (whole file on
# stdin, and dribbled in small pieces), streaming (events leave before end of input),
# the size limit (exit 1 with one line on stderr), and usage errors (exit 2).
# Usage: test_ssecat.sh SSECAT SSEHUB CASE_DIR
set -u
ssecat=$1
ssehub=$2
cases=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
count=0

check() { # check NAME CONDITION-STATUS
    count=$((count + 1))
    if [ "$2" -ne 0 ]; then
        echo "FAIL: $1"
        fail=1
    fi
}

# 1. Every case, whole and then dribbled through a pipe in 3-byte writes (dd bs=3: one
# small process; a Python interpreter per case cost seconds each on a busy machine).
for sse in "$cases"/*.sse; do
    name=$(basename "$sse" .sse)
    "$ssecat" --parse <"$sse" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    cmp -s "$tmp/out" "$cases/$name.jsonl"
    same=$? # taken before the message's $(diff) runs, which would reset $?
    check "case $name: output differs from $name.jsonl (rc=$rc): $(diff "$cases/$name.jsonl" "$tmp/out" | head -5)" $same
    check "case $name: exit status $rc, stderr: $(head -c 300 "$tmp/err")" $rc
    dd if="$sse" bs=3 status=none | "$ssecat" --parse >"$tmp/out2"
    cmp -s "$tmp/out2" "$cases/$name.jsonl"
    check "case $name (dribbled): output differs" $?
done

# 2. Streaming: the first event must come out while stdin is still open.
mkfifo "$tmp/in"
"$ssecat" --parse <"$tmp/in" >"$tmp/stream" &
pid=$!
exec 3>"$tmp/in"
printf 'data: first\n\n' >&3
# Wait (up to 120 s: ASan on a busy machine) for a whole first line; a write of the line
# in progress must not be read as half of it.
got=""
for _ in $(seq 1 1200); do
    if [ "$(wc -l <"$tmp/stream")" -ge 1 ]; then
        got=$(head -n 1 "$tmp/stream")
        break
    fi
    sleep 0.1
done
[ "$got" = '{"event": "message", "data": "first", "id": ""}' ]
check "streaming: first event not written before end of input (got '$got')" $?
printf 'id: 2\ndata: second\n\n' >&3
exec 3>&-
wait $pid
check "streaming: exit status" $?
[ "$(sed -n 2p "$tmp/stream")" = '{"event": "message", "data": "second", "id": "2"}' ]
check "streaming: second event" $?

# 3. Limits: the default 1 MiB line limit, exactly at and one past it.
a_times() { head -c "$1" /dev/zero | tr '\0' a; }
{ printf 'data: '; a_times $((1048576 - 6)); printf '\n\n'; } >"$tmp/at"
"$ssecat" --parse <"$tmp/at" >"$tmp/out" 2>"$tmp/err"
check "limit: a line of exactly 1 MiB must parse (rc=$?)" $?
[ "$(wc -c <"$tmp/out")" -eq $((1048576 - 6 + 43)) ]
check "limit: the 1 MiB event must be printed" $?
{ printf 'data: ok\n\ndata: '; a_times 1048576; printf '\n\n'; } >"$tmp/over"
"$ssecat" --parse <"$tmp/over" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 1 ]
check "limit: over 1 MiB must exit 1 (rc=$rc)" $?
[ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q 'exceeds the parser limit of 1048576' "$tmp/err"
same=$?
check "limit: one-line message naming the limit (got: $(cat "$tmp/err"))" $same
[ "$(cat "$tmp/out")" = '{"event": "message", "data": "ok", "id": ""}' ]
check "limit: events before the long line are printed" $?
# A stream that never ends its line must stop at the limit, not buffer forever.
head -c 50000000 /dev/zero | tr '\0' 'a' | "$ssecat" --parse --max-size 4096 >/dev/null 2>"$tmp/err"
rc=$?
[ $rc -eq 1 ] && grep -q 'limit of 4096' "$tmp/err"
check "limit: --max-size 4096 on an endless line (rc=$rc)" $?
printf 'data: 12345678\n\n' | "$ssecat" --parse --max-size 14 >/dev/null 2>&1
check "limit: --max-size 14 accepts a 14-byte line" $?
printf 'data: 123456789\n\n' | "$ssecat" --parse --max-size 14 >/dev/null 2>&1
[ $? -eq 1 ]
check "limit: --max-size 14 refuses a 15-byte line" $?

# 4. I/O errors: a full stdout, a closed stdin.
"$ssecat" --parse <"$cases/basic.sse" >/dev/full 2>"$tmp/err"
rc=$?
[ $rc -eq 1 ] && grep -q 'cannot write stdout' "$tmp/err"
check "a write error exits 1 naming stdout (rc=$rc)" $?
# An event larger than stdio's buffer fails inside the parser callback instead.
"$ssecat" --parse <"$tmp/at" >/dev/full 2>"$tmp/err"
rc=$?
[ $rc -eq 1 ] && grep -q 'cannot write stdout' "$tmp/err"
check "a write error inside a large event exits 1 naming stdout (rc=$rc)" $?
"$ssecat" --parse <&- >/dev/null 2>"$tmp/err"
rc=$?
[ $rc -eq 1 ] && grep -q 'cannot read stdin' "$tmp/err"
check "a read error exits 1 naming stdin (rc=$rc)" $?

# 5. Command line.
"$ssecat" --help | grep -q -- '--parse'
check "--help prints usage" $?
"$ssecat" --bogus >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -q -- "--bogus" "$tmp/err"
check "an unknown flag exits 2 naming it" $?
"$ssecat" --parse --max-size x12 </dev/null >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -q -- "--max-size" "$tmp/err" && grep -q "x12" "$tmp/err"
check "a bad --max-size exits 2 naming flag and value" $?
"$ssecat" --parse --max-size </dev/null >/dev/null 2>"$tmp/err"
[ $? -eq 2 ]
check "--max-size without a value exits 2" $?
"$ssecat" </dev/null >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -q 'give a URL to subscribe to, --publish URL or --parse' "$tmp/err"
check "ssecat without a mode says what is missing and exits 2" $?
"$ssecat" --parse </dev/null >"$tmp/out"
[ $? -eq 0 ] && [ ! -s "$tmp/out" ]
check "empty input: exit 0, no output" $?
"$ssehub" --version | grep -qE '^ssehub [0-9]+\.[0-9]+\.[0-9]+$'
check "ssehub --version" $?
"$ssehub" --nope >/dev/null 2>&1
[ $? -eq 2 ]
check "ssehub: an unknown flag exits 2" $?

if [ $fail -ne 0 ]; then
    echo "test_ssecat: FAILED"
    exit 1
fi
echo "test_ssecat: $count checks passed"
