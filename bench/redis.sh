#!/bin/sh
# Many nodes on one Redis (--store redis://), against one node, in one run:
#   ack      acknowledged publishes/s (bench/publish_ack, 64 keep-alive publishers): one
#            node on LMDB, one node on Redis, and three nodes on Redis (three publish_ack
#            processes of 22 connections, one per node, summed); and the same against
#            Nchan with its Redis storage (nchan_redis_pass; bench/nchan_redis.conf.in):
#            one nginx, then three nginx instances on one Redis
#   latency  10 publishes/s to 10,000 subscribers: one node (LMDB), then three nodes on
#            Redis with 3,333 subscribers each, every event published to another node than
#            its subscribers' (ssebench --pub-port): p99 publish->receive latency
#   scale    NSUBS subscribers (100,000 by default) over 6 nodes, each under its 20,000
#            open files, 10 publishes/s for 5 s: every event to every subscriber, and each
#            node's memory per idle subscriber
# redis-server runs with appendonly yes, appendfsync always (the durability the README
# states); every process is started here and stopped by its pid. Prints the figures as a
# Markdown table (docs/benchmarks.md has the last run's).
#
# Usage: bench/redis.sh [--build DIR] [--subs NSUBS] [--quick]
#   --quick   1,000 latency subscribers and 12,000 over 6 nodes, 3 s each
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build="$top/build"
NSUBS=100000
LSUBS=10000
DUR=10
quick=0
while [ $# -gt 0 ]; do
    case "$1" in
    --build) build=$2; shift ;;
    --subs) NSUBS=$2; shift ;;
    --quick) quick=1 ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "redis.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done
if [ $quick -eq 1 ]; then
    NSUBS=12000; LSUBS=1002; DUR=3
fi
hub="$build/ssehub"
bench="$build/ssebench"
ack="$build/bench/publish_ack"
for f in "$hub" "$bench" "$ack"; do
    [ -x "$f" ] || { echo "redis.sh: $f missing: build first" >&2; exit 2; }
done
command -v redis-server >/dev/null || { echo "redis.sh: redis-server missing (scripts/deps.sh)" >&2; exit 2; }
command -v nginx >/dev/null || { echo "redis.sh: nginx missing (scripts/deps.sh)" >&2; exit 2; }

work=$(mktemp -d /tmp/ssehub-redis-bench.XXXXXX)
pids=""
redis_pid=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    for p in $pids; do wait "$p" 2>/dev/null || true; done
    if [ -n "$redis_pid" ]; then kill "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_redis() {
    rdir="$work/redis$1"
    mkdir -p "$rdir"
    rport=$(free_port)
    redis-server --port "$rport" --bind 127.0.0.1 --dir "$rdir" --appendonly yes \
        --appendfsync always --save "" --maxclients 10000 --logfile "$rdir/log" &
    redis_pid=$!
    i=0
    until [ "$(redis-cli -p "$rport" ping 2>/dev/null)" = PONG ]; do
        i=$((i + 1)); [ $i -lt 200 ] || { echo "redis-server did not start"; exit 1; }
        sleep 0.05
    done
}

stop_redis() {
    kill "$redis_pid"; wait "$redis_pid" 2>/dev/null || true; redis_pid=""
}

# start_node STORE LOG: starts a node; sets node_pid and node_port.
start_node() {
    : >"$2"
    "$hub" --listen 127.0.0.1:0 --store "$1" --threads 2 --no-ui --heartbeat 0 \
        --history 1000 2>"$2" &
    node_pid=$!
    pids="$pids $node_pid"
    node_port=""
    i=0
    while [ -z "$node_port" ]; do
        node_port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$2")
        i=$((i + 1)); [ $i -lt 400 ] || { echo "ssehub did not start:"; cat "$2"; exit 1; }
        [ -n "$node_port" ] || sleep 0.05
    done
}

# start_nchan N: an nginx with Nchan on the current redis-server; sets node_pid, node_port.
start_nchan() {
    prefix="$work/nchan$1"
    mkdir -p "$prefix"
    node_port=$(free_port)
    sed "s#@PREFIX@#$prefix#g; s#@PORT@#$node_port#g; s#@REDIS@#$rport#g" \
        "$top/bench/nchan_redis.conf.in" >"$prefix/nginx.conf"
    nginx -p "$prefix" -c "$prefix/nginx.conf" 2>"$prefix/stderr" &
    node_pid=$!
    pids="$pids $node_pid"
    i=0
    until curl -s -o /dev/null "http://127.0.0.1:$node_port/pub/probe" -d x 2>/dev/null; do
        i=$((i + 1)); [ $i -lt 200 ] || { echo "nginx did not start:"; cat "$prefix/stderr"; exit 1; }
        sleep 0.05
    done
}

stop_nodes() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    for p in $pids; do wait "$p" 2>/dev/null || true; done
    pids=""
}

json() { # json FILE EXPR: a field of ssebench's --json output
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, {"d": d}))' "$1" "$2"
}

rate_of() { sed -n 's/.* rate=\([0-9.]*\).*/\1/p' "$1"; }

echo "# ssehub on Redis: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores"

# ---- ack
start_node "lmdb:$work/lmdb" "$work/lmdb.log"
"$ack" --port "$node_port" --conns 64 --seconds "$DUR" >"$work/ack-lmdb.txt"
stop_nodes
start_redis 1
start_node "redis://127.0.0.1:$rport" "$work/r1.log"
"$ack" --port "$node_port" --conns 64 --seconds "$DUR" >"$work/ack-redis1.txt"
stop_nodes
stop_redis
start_redis 2
ports=""
for n in 1 2 3; do start_node "redis://127.0.0.1:$rport" "$work/r3-$n.log"; ports="$ports $node_port"; done
k=0
for p in $ports; do
    k=$((k + 1))
    "$ack" --port "$p" --conns 22 --seconds "$DUR" >"$work/ack-redis3-$k.txt" &
    eval "ackpid$k=\$!"
done
wait "$ackpid1" "$ackpid2" "$ackpid3"
stop_nodes
stop_redis
start_redis 5
start_nchan 1
"$ack" --nchan --port "$node_port" --conns 64 --seconds "$DUR" >"$work/ack-nchan1.txt"
stop_nodes
stop_redis
start_redis 6
ports=""
for n in 2 3 4; do start_nchan $n; ports="$ports $node_port"; done
k=0
for p in $ports; do
    k=$((k + 1))
    "$ack" --nchan --port "$p" --conns 22 --seconds "$DUR" >"$work/ack-nchan3-$k.txt" &
    eval "ackpid$k=\$!"
done
wait "$ackpid1" "$ackpid2" "$ackpid3"
stop_nodes
stop_redis
ack_lmdb=$(rate_of "$work/ack-lmdb.txt")
ack_n1=$(rate_of "$work/ack-nchan1.txt")
ack_n3=$(python3 -c 'import sys; print(round(sum(float(x) for x in sys.argv[1:]), 1))' \
    "$(rate_of "$work/ack-nchan3-1.txt")" "$(rate_of "$work/ack-nchan3-2.txt")" \
    "$(rate_of "$work/ack-nchan3-3.txt")")
ack_r1=$(rate_of "$work/ack-redis1.txt")
ack_r3=$(python3 -c 'import sys; print(round(sum(float(x) for x in sys.argv[1:]), 1))' \
    "$(rate_of "$work/ack-redis3-1.txt")" "$(rate_of "$work/ack-redis3-2.txt")" \
    "$(rate_of "$work/ack-redis3-3.txt")")

# ---- latency
start_node "lmdb:$work/lmdb2" "$work/lat1.log"
"$bench" --port "$node_port" --subs "$LSUBS" --rate 10 --duration "$DUR" --json --quiet \
    --expect-all --pid "$node_pid" >"$work/lat-single.json"
stop_nodes
start_redis 3
set --
for n in 1 2 3; do start_node "redis://127.0.0.1:$rport" "$work/lat3-$n.log"; set -- "$@" "$node_port"; done
n1=$1; n2=$2; n3=$3
per=$((LSUBS / 3))
"$bench" --port "$n1" --pub-port "$n2" --subs "$per" --rate 3.33 --duration "$DUR" \
    --topic-prefix a --json --quiet --expect-all >"$work/lat-a.json" &
b1=$!
"$bench" --port "$n2" --pub-port "$n3" --subs "$per" --rate 3.33 --duration "$DUR" \
    --topic-prefix b --json --quiet --expect-all >"$work/lat-b.json" &
b2=$!
"$bench" --port "$n3" --pub-port "$n1" --subs "$per" --rate 3.34 --duration "$DUR" \
    --topic-prefix c --json --quiet --expect-all >"$work/lat-c.json" &
b3=$!
wait "$b1" "$b2" "$b3"
stop_nodes
stop_redis
p99_single=$(json "$work/lat-single.json" 'd["latency_ms"]["p99"]')
p99_cross=$(python3 -c 'import json,sys; print(max(json.load(open(f))["latency_ms"]["p99"] for f in sys.argv[1:]))' \
    "$work/lat-a.json" "$work/lat-b.json" "$work/lat-c.json")
lat_ok=$(python3 -c 'import json,sys; print(all(json.load(open(f))["ok"] for f in sys.argv[1:]))' \
    "$work/lat-a.json" "$work/lat-b.json" "$work/lat-c.json")

# ---- scale
start_redis 4
per=$((NSUBS / 6))
set --
npids=""
for n in 1 2 3 4 5 6; do
    start_node "redis://127.0.0.1:$rport" "$work/s-$n.log"
    set -- "$@" "$node_port"
    npids="$npids $node_pid"
done
k=0
bpids=""
for p in "$@"; do
    k=$((k + 1))
    np=$(echo $npids | cut -d' ' -f$k)
    nextp=$(eval echo "\${$(( k % 6 + 1 ))}")
    mine=$per
    [ $k -gt $((NSUBS % 6)) ] || mine=$((per + 1))
    "$bench" --port "$p" --pub-port "$nextp" --subs "$mine" --rate 2 --duration 5 \
        --topic-prefix "s$k-" --pub-conns 1 --json --quiet --expect-all --pid "$np" \
        --connect-batch 128 --settle 2 >"$work/scale-$k.json" &
    bpids="$bpids $!"
done
for b in $bpids; do wait "$b" || true; done
stop_nodes
stop_redis
scale=$(python3 - "$work" <<'EOF'
import json, sys, glob
rs = [json.load(open(f)) for f in sorted(glob.glob(sys.argv[1] + "/scale-*.json"))]
subs = sum(r["connected"] for r in rs)
exp = sum(r["expected"] for r in rs)
dlv = sum(r["delivered"] for r in rs)
mem = max(r["server"]["mem_bytes_per_sub"] for r in rs)
print("%d %d %d %.0f %s" % (subs, exp, dlv, mem, all(r["ok"] for r in rs)))
EOF
)
set -- $scale

echo
echo "| scenario | figure |"
echo "| --- | --- |"
echo "| acknowledged publishes/s, 64 publishers, one node on LMDB | $ack_lmdb |"
echo "| acknowledged publishes/s, 64 publishers, one node on Redis (appendfsync always) | $ack_r1 |"
echo "| acknowledged publishes/s, 3 x 22 publishers, three nodes on one Redis | $ack_r3 |"
echo "| Nchan + Redis storage: acknowledged publishes/s, 64 publishers, one nginx | $ack_n1 |"
echo "| Nchan + Redis storage: acknowledged publishes/s, 3 x 22 publishers, three nginx | $ack_n3 |"
echo "| p99 latency, 10 msg/s to $LSUBS subscribers, one node (LMDB) | $p99_single ms |"
echo "| p99 latency, 10 msg/s to $LSUBS subscribers over 3 nodes, published on another node | $p99_cross ms (all delivered: $lat_ok) |"
echo "| subscribers over 6 nodes (connected) | $1 |"
echo "| events delivered / expected (6 nodes) | $3 / $2 (all: $5) |"
echo "| memory per idle subscriber, worst node | $4 bytes |"
