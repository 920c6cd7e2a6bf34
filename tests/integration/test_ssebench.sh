#!/bin/bash
# ssebench smoke run against a real ssehub: a few hundred subscribers over a few topics,
# closed-loop and fixed-rate publishing for a couple of seconds; checks only that every
# subscriber connected and every expected event arrived (--expect-all), never a speed.
# Then a run whose subscriptions the hub refuses must fail and name the reason.
# Usage: test_ssebench.sh SSEBENCH SSEHUB
set -u
ssebench=$1
ssehub=$2
tmp=$(mktemp -d)
hub_pid=""
cleanup() {
    [ -n "$hub_pid" ] && kill "$hub_pid" 2>/dev/null && wait "$hub_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
fail=0

"$ssehub" --listen 127.0.0.1:0 --store memory --no-ui 2>"$tmp/hub.log" &
hub_pid=$!
# Its port, from the "listening on" line once that line is whole (up to 60 s: ASan on a
# busy machine); a partly written line could cut the port short.
port=""
for _ in $(seq 600); do
    port=$(head -n "$(wc -l <"$tmp/hub.log")" "$tmp/hub.log" |
        sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' | head -1)
    [ -n "$port" ] && break
    kill -0 "$hub_pid" 2>/dev/null || break
    sleep 0.1
done
[ -n "$port" ] || { echo "FAIL: ssehub did not start"; cat "$tmp/hub.log"; exit 1; }

# Deadlines, never speeds: --drain and --connect-timeout only bound waits for deliveries
# and response heads, so a slow (ASan, busy) run waits longer instead of failing.
slow="--drain 100 --connect-timeout 100"

# 1. Closed-loop, 300 subscribers over 3 topics.
if ! "$ssebench" --port "$port" --pid "$hub_pid" --subs 300 --topics 3 --duration 2 \
    --settle 0.2 $slow --quiet --expect-all >"$tmp/closed.txt" 2>&1; then
    echo "FAIL: closed-loop run"; cat "$tmp/closed.txt"; fail=1
fi
grep -q 'delivered' "$tmp/closed.txt" || { echo "FAIL: no delivery line"; cat "$tmp/closed.txt"; fail=1; }

# 2. Fixed rate, JSON report: the counts agree and are not zero. How many of the 50
# scheduled publishes fit in the second depends on the machine's speed (a publish waits
# for a free connection), so only: at least one, never more than scheduled.
if ! "$ssebench" --port "$port" --subs 200 --topics 2 --rate 50 --duration 1 --settle 0.2 \
    $slow --quiet --json --expect-all >"$tmp/rate.json" 2>"$tmp/rate.err"; then
    echo "FAIL: fixed-rate run"; cat "$tmp/rate.json" "$tmp/rate.err"; fail=1
fi
python3 - "$tmp/rate.json" <<'PY' || fail=1
import json, sys
r = json.load(open(sys.argv[1]))
ok = (r["connected"] == 200 and r["scheduled"] == 50 and 1 <= r["accepted"] <= r["scheduled"]
      and r["expected"] == r["accepted"] * 100
      and r["delivered"] == r["expected"] and r["ok"] is True and r["latency_ms"]["max"] > 0)
if not ok:
    print("FAIL: fixed-rate report:", r)
    sys.exit(1)
PY

# 3. Subscriptions the hub refuses (no topic): ssebench exits 1 and names the status.
if "$ssebench" --port "$port" --subs 20 --sub-path '/.well-known/mercure?x=%s' --duration 0 \
    --settle 0 --quiet --expect-all >"$tmp/bad.txt" 2>&1; then
    echo "FAIL: refused subscriptions were not reported as a failure"; cat "$tmp/bad.txt"; fail=1
fi
grep -q 'status: 20, HTTP 400' "$tmp/bad.txt" || { echo "FAIL: reason not reported"; cat "$tmp/bad.txt"; fail=1; }

# 4. A bad flag is named.
"$ssebench" --port "$port" --subs lots >/dev/null 2>"$tmp/flag.err"
[ $? -eq 2 ] && grep -q -- "--subs: 'lots'" "$tmp/flag.err" || { echo "FAIL: bad flag"; cat "$tmp/flag.err"; fail=1; }

# 5. The hub, after all that: SIGTERM, exit 0 (within 60 s), no sanitizer report.
kill -TERM "$hub_pid"
for _ in $(seq 600); do
    kill -0 "$hub_pid" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$hub_pid" 2>/dev/null; then
    echo "FAIL: ssehub did not exit within 60 s of SIGTERM"; fail=1
    kill -KILL "$hub_pid"
fi
wait "$hub_pid"
rc=$?
hub_pid=""
[ $rc -eq 0 ] || { echo "FAIL: ssehub exited $rc after SIGTERM"; fail=1; }
if grep -qE 'ERROR: AddressSanitizer|runtime error|LeakSanitizer' "$tmp/hub.log"; then
    echo "FAIL: sanitizer report from ssehub:"; grep -E -A20 'ERROR: AddressSanitizer|runtime error|LeakSanitizer' "$tmp/hub.log" | head -40
    fail=1
fi

[ $fail -eq 0 ] && echo "test_ssebench: ok"
exit $fail
