#!/bin/sh
# The soak run: one ssehub on the LMDB store with presence, under churning subscribers,
# publishers to many topics with history, slow consumers and a presence watcher, for
# DURATION (default 10m); every INTERVAL (default 1m) the hub's RSS, open descriptors,
# connections and history size are recorded. After DURATION the clients leave and the
# descriptors and connections must return to their baseline. See bench/soak.py for the
# load, and docs/benchmarks.md ("Long runs") for the figures.
#
# Usage: bench/soak.sh [DURATION] [--build DIR] [--interval D] [--csv FILE]
#                      [--chart FILE.png] [--test] [soak.py flags...]
#   DURATION   90, 60s, 10m, 1h
#   --csv      write the samples there (default: a temporary file, removed)
#   --chart    draw RSS, descriptors, connections and history over time (gnuplot)
#   --test     the 60-second version make test runs: a smaller load, sampled every 10s
#   soak.py flags: --subs N --slow N --publishers N --rate R --topics N --history N
#                  --history-age D --threads N --warmup D --settle S --seed N
# Exit status 0, or 1 when the descriptors or connections did not return to their
# baseline, the hub failed, or a client saw an error (see bench/soak.py).
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build="$top/build"
duration=10m
interval=1m
csv=""
chart=""
test=0
extra=""
case "${1:-}" in [0-9]*) duration=$1; shift ;; esac
while [ $# -gt 0 ]; do
    case "$1" in
    --build) build=$2; shift ;;
    --interval) interval=$2; shift ;;
    --csv) csv=$2; shift ;;
    --chart) chart=$2; shift ;;
    --test) test=1 ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    --*) extra="$extra $1 $2"; shift ;;
    *) echo "soak.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done
[ -x "$build/ssehub" ] || { echo "soak.sh: $build/ssehub missing: build first" >&2; exit 2; }

if [ $test -eq 1 ]; then
    duration=60s
    interval=10s
    extra="--subs 40 --slow 2 --publishers 2 --rate 40 --topics 50 --warmup 20 $extra"
fi
work=$(mktemp -d /tmp/ssehub-soak-sh.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
[ -n "$csv" ] || csv="$work/soak.csv"

status=0
# shellcheck disable=SC2086
python3 "$top/bench/soak.py" --ssehub "$build/ssehub" --duration "$duration" \
    --interval "$interval" --csv "$csv" $extra || status=$?

if [ -n "$chart" ] && [ -s "$csv" ]; then
    gnuplot -e "datafile='$csv'; outfile='$chart'" "$top/bench/soak.gp"
    echo "soak.sh: chart in $chart"
fi
exit $status
