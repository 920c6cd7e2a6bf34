#!/bin/sh
# Hub fan-out, side by side: ssehub, Nchan (Debian nginx + libnginx-mod-nchan) and the
# floor program (bench/floor.c), through the same ssebench scenarios:
#   idle     N subscribers on one topic, no events: server memory per subscriber
#   fanout   N subscribers x 1 topic, closed-loop publishing on 4 keep-alive connections
#   rate10   N subscribers x 1 topic, 10 publishes/s: p99 publish->receive latency
#   topics   1,000 topics x 10 subscribers, closed-loop: publishes/s accepted
# Each server is started afresh for each scenario and stopped by its pid (also when this
# script fails or is interrupted). Writes the results section of docs/benchmarks.md
# (between its fan-out markers) and docs/benchmarks-fanout.png (gnuplot).
#
# Usage: bench/run.sh [--quick] [--reps N] [--build DIR] [--out FILE.md]
#                     [--servers "ssehub nchan floor"]
#   --quick   2,000 subscribers, 3 s per scenario, once (about a minute), for development
#   --reps N  run each scenario N times (default 3; 1 with --quick); figures are medians
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build="$top/build"
out="$top/docs/benchmarks.md"
quick=0
reps=""
servers="ssehub nchan floor"
while [ $# -gt 0 ]; do
    case "$1" in
    --quick) quick=1 ;;
    --build) build=$2; shift ;;
    --out) out=$2; shift ;;
    --servers) servers=$2; shift ;;
    --reps) reps=$2; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done

if [ $quick -eq 1 ]; then
    N=2000; DUR=3; RDUR=3; TSUBS=2000; reps=${reps:-1}
else
    N=10000; DUR=10; RDUR=10; TSUBS=10000; reps=${reps:-3}
fi
case "$reps" in ''|*[!0-9]*|0) echo "run.sh: --reps: '$reps' is not a positive number" >&2; exit 2 ;; esac
TOPICS=$((TSUBS / 10))

ssebench="$build/ssebench"
ssehub="$build/ssehub"
floor="$build/bench/sse_floor"
for f in "$ssebench" "$ssehub" "$floor"; do
    [ -x "$f" ] || { echo "run.sh: $f missing: build first (cmake --build $build)" >&2; exit 2; }
done
command -v nginx >/dev/null || { echo "run.sh: nginx missing (scripts/deps.sh)" >&2; exit 2; }

work=$(mktemp -d /tmp/ssehub-bench.XXXXXX)
results="$work/results.jsonl"
: >"$results"
commands="$work/commands.txt"
: >"$commands"
server_pid=""

stop_server() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        # wait up to 5 s, then SIGKILL
        i=0
        while kill -0 "$server_pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
        kill -9 "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
}
cleanup() {
    stop_server
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_server NAME: sets server_pid, port, target
start_server() {
    log="$work/$1.log"
    : >"$log"
    case "$1" in
    ssehub)
        "$ssehub" --listen 127.0.0.1:0 --no-ui --store memory 2>"$log" &
        server_pid=$!
        target=ssehub
        ;;
    floor)
        "$floor" --listen 127.0.0.1:0 2>"$log" &
        server_pid=$!
        target=ssehub
        ;;
    nchan)
        prefix="$work/nchan"
        rm -rf "$prefix"
        mkdir -p "$prefix"
        port=$(free_port)
        sed "s#@PREFIX@#$prefix#g; s#@PORT@#$port#g" "$top/bench/nchan.conf.in" >"$prefix/nginx.conf"
        nginx -p "$prefix" -c "$prefix/nginx.conf" 2>"$log" &
        server_pid=$!
        target=nchan
        ;;
    esac
    i=0
    while [ $i -lt 100 ]; do
        if [ "$1" = nchan ]; then
            [ -s "$prefix/nginx.pid" ] && python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null && return 0
        else
            port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log" | head -1)
            [ -n "$port" ] && return 0
        fi
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
        i=$((i + 1))
    done
    echo "run.sh: $1 did not start:" >&2
    cat "$log" >&2
    return 1
}

# run NAME SCENARIO ssebench-args...
run() {
    name=$1; scenario=$2; shift 2
    start_server "$name"
    echo "== $name $scenario" >&2
    echo "ssebench --target $target --port PORT --pid PID $* --label $name/$scenario --json" >>"$commands"
    if ! "$ssebench" --target "$target" --port "$port" --pid "$server_pid" "$@" \
        --label "$name/$scenario" --json --quiet >>"$results"; then
        echo "run.sh: ssebench failed for $name $scenario" >&2
    fi
    tail -1 "$results" | python3 -c 'import json,sys; r=json.load(sys.stdin); s=r.get("server",{}); print("   connected %d/%d, delivered %d/%d, %.0f deliveries/s, %.0f per server-CPU-s, %.0f pub/s, p99 %.2f ms, %.0f B/sub" % (r["connected"], r["subs"], r["delivered"], r["expected"], r["deliveries_per_s"], s.get("deliveries_per_cpu_s",0), r["publishes_per_s"], r["latency_ms"]["p99"], s.get("mem_bytes_per_sub",0)))' >&2 || true
    [ "$name" = ssehub ] && grep -m1 'open-file limit' "$work/$name.log" >&2 || true
    stop_server
}

started=$(date -u +%Y-%m-%dT%H:%MZ)
# Repetitions interleave the servers, so a burst of load on the machine does not fall
# on one server's runs only.
rep=1
while [ $rep -le "$reps" ]; do
    for s in $servers; do
        run "$s" idle --subs "$N" --duration 0 --settle 2
        run "$s" fanout --subs "$N" --duration "$DUR"
        run "$s" rate10 --subs "$N" --rate 10 --duration "$RDUR"
        run "$s" topics --subs "$TSUBS" --topics "$TOPICS" --duration "$DUR"
    done
    rep=$((rep + 1))
done

chart="$(dirname "$out")/benchmarks-fanout.png"
python3 "$top/bench/report.py" --results "$results" --commands "$commands" --out "$out" \
    --chart "$chart" --work "$work" --started "$started" --quick "$quick" \
    --build "$build"
echo "run.sh: wrote $out and $chart" >&2
