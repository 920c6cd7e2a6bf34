#!/bin/sh
# Acknowledged publishes per second, memory store then LMDB store, in one run:
# starts build/ssehub on 127.0.0.1 port 0 with each store and drives it with
# build/bench/publish_ack (64 keep-alive publishers; each keeps PIPELINE requests in
# flight, 1 = closed loop).
# Usage: bench/publish_ack.sh [BUILD_DIR] [SECONDS] [CONNS] [REPS] [PIPELINE]
set -eu
build=${1:-build}
seconds=${2:-5}
conns=${3:-64}
reps=${4:-3}
depth=${5:-1}
hub="$build/ssehub"
gen="$build/bench/publish_ack"
tmp=$(mktemp -d /tmp/publish_ack.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

n=0
run() { # run STORE-URI LABEL
    n=$((n + 1))
    log="$tmp/hub$n.log"
    : >"$log"
    "$hub" --listen 127.0.0.1:0 --store "$1" --history 1000 2>"$log" &
    pid=$!
    port=""
    i=0
    while [ -z "$port" ] && [ $i -lt 100 ]; do
        port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log")
        i=$((i + 1))
        sleep 0.05
    done
    [ -n "$port" ] || { echo "ssehub did not start"; cat "$log"; kill "$pid"; exit 1; }
    printf '%-6s ' "$2"
    "$gen" --port "$port" --conns "$conns" --pipeline "$depth" --seconds "$seconds"
    kill -TERM "$pid"
    wait "$pid" || true
}

r=1
while [ $r -le "$reps" ]; do
    run memory memory
    rm -rf "$tmp/store"
    run "lmdb:$tmp/store" lmdb
    r=$((r + 1))
done
