#!/usr/bin/env python3
"""Writes the fan-out section of docs/benchmarks.md from bench/run.sh's ssebench results
(one JSON object per line), and a gnuplot chart. Only the text between the fan-out
markers is replaced; the rest of the file (other sections) is kept."""
import argparse
import json
import os
import platform
import subprocess
import sys

BEGIN = "<!-- fan-out results: begin (written by bench/run.sh) -->"
END = "<!-- fan-out results: end -->"
NAMES = {"ssehub": "ssehub", "nchan": "Nchan", "floor": "floor"}


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


def machine():
    model = sh("lscpu | sed -n 's/^Model name: *//p' | head -1") or platform.processor()
    mem = sh("free -g | awk '/^Mem:/ {print $2}'")
    deb = sh("cat /etc/debian_version")
    nginx = sh("nginx -v 2>&1 | sed 's/.*nginx\\///'")
    nchan = sh("dpkg-query -W -f='${Version}' libnginx-mod-nchan")
    return (f"{os.cpu_count()} CPUs ({model}), {mem} GB RAM, Linux {platform.release()}, "
            f"Debian {deb}; nginx {nginx}, libnginx-mod-nchan {nchan}; the load generator "
            "runs on the same CPUs")


def fmt(v, unit=""):
    if v is None:
        return "n/a"
    if abs(v) >= 1e6:
        return f"{v / 1e6:.2f}M{unit}"
    if abs(v) >= 1e4:
        return f"{v / 1e3:.1f}k{unit}"
    if abs(v) >= 100:
        return f"{v:.0f}{unit}"
    return f"{v:.2f}{unit}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--commands", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--chart", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--started", required=True)
    ap.add_argument("--quick", default="0")
    ap.add_argument("--build", default="build")
    a = ap.parse_args()

    res = {}
    for line in open(a.results):
        line = line.strip()
        if not line:
            continue
        r = json.loads(line)
        server, scenario = r["label"].split("/")
        res.setdefault((server, scenario), []).append(r)
    servers = [s for s in ("ssehub", "nchan", "floor") if any(k[0] == s for k in res)]

    # Each scenario may have run several times (--reps): a figure is the median of its
    # runs; counts (delivered, expected, failed) are summed over the runs.
    summed = ("delivered", "expected", "failed", "accepted", "scheduled")

    def get(server, scenario, *path):
        vals = []
        for r in res.get((server, scenario), []):
            for p in path:
                if r is None or not isinstance(r, dict) or p not in r:
                    r = None
                    break
                r = r[p]
            if r is not None:
                vals.append(r)
        if not vals:
            return None
        if not isinstance(vals[0], (int, float)) or isinstance(vals[0], bool):
            return vals[0]
        if path[-1] in summed:
            return sum(vals)
        vals.sort()
        return vals[len(vals) // 2] if len(vals) % 2 else (vals[len(vals) // 2 - 1] + vals[len(vals) // 2]) / 2

    reps = max((len(v) for v in res.values()), default=1)

    def mem(s):
        return get(s, "idle", "server", "mem_bytes_per_sub")

    def dpcs(s, sc):
        return get(s, sc, "server", "deliveries_per_cpu_s")

    def p(s, sc, q):
        return get(s, sc, "latency_ms", q)

    n = int(get(servers[0], "fanout", "subs") or 0) if servers else 0
    tsubs = int(get(servers[0], "topics", "subs") or 0) if servers else 0
    ttopics = int(get(servers[0], "topics", "topics") or 0) if servers else 0
    rows = [
        (f"idle, {n} subscribers: server memory per subscriber (PSS delta)",
         lambda s: fmt(mem(s), " B")),
        (f"{n} subscribers x 1 topic, closed-loop: deliveries per server-CPU-second",
         lambda s: fmt(dpcs(s, "fanout"))),
        ("  same: deliveries/s (wall clock)", lambda s: fmt(get(s, "fanout", "deliveries_per_s"))),
        ("  same: publishes/s accepted", lambda s: fmt(get(s, "fanout", "publishes_per_s"))),
        ("  same: latency p50 / p99 ms",
         lambda s: f"{fmt(p(s, 'fanout', 'p50'))} / {fmt(p(s, 'fanout', 'p99'))}"),
        (f"{n} subscribers x 1 topic, 10 msg/s: deliveries per server-CPU-second",
         lambda s: fmt(dpcs(s, "rate10"))),
        ("  same: publishes accepted / asked for by the rate",
         lambda s: f"{get(s, 'rate10', 'accepted')} / {get(s, 'rate10', 'scheduled')}"),
        ("  same: latency p50 / p90 / p99 / max ms",
         lambda s: " / ".join(fmt(p(s, "rate10", q)) for q in ("p50", "p90", "p99", "max"))),
        (f"{ttopics} topics x {tsubs // max(ttopics, 1)} subscribers, closed-loop: publishes/s accepted",
         lambda s: fmt(get(s, "topics", "publishes_per_s"))),
        ("  same: deliveries per server-CPU-second", lambda s: fmt(dpcs(s, "topics"))),
        ("delivered / expected (fanout, rate10, topics)",
         lambda s: " ".join(f"{get(s, sc, 'delivered')}/{get(s, sc, 'expected')}"
                            for sc in ("fanout", "rate10", "topics"))),
        ("failed connections (all scenarios)",
         lambda s: str(sum(get(s, sc, "failed") or 0 for sc in ("idle", "fanout", "rate10", "topics")))),
    ]
    md = []
    md.append(BEGIN)
    md.append("")
    load = sh("cut -d' ' -f1 /proc/loadavg")
    md.append(f"Measured {a.started} by `bench/run.sh{' --quick' if a.quick == '1' else ''}` "
              f"(load average {load} at the end) on {machine()}.")
    if reps > 1:
        md.append("")
        md.append(f"Each scenario ran {reps} times, each time on a freshly started server. Every "
                  "figure is the median of its runs. delivered/expected and failed connections are "
                  "summed over the runs.")
    if a.quick == "1":
        md.append("")
        md.append("**Quick mode** (2,000 subscribers, 3 s per scenario): a development run, "
                  "not the reference figures.")
    md.append("")
    md.append("| scenario | " + " | ".join(NAMES[s] for s in servers) + " |")
    md.append("| --- |" + " --- |" * len(servers))
    for title, f in rows:
        md.append(f"| {title} | " + " | ".join(f(s) for s in servers) + " |")
    md.append("")

    # The targets of issue 6.
    def ratio(x, y):
        return None if x is None or y is None or y == 0 else x / y

    checks = []
    if "ssehub" in servers:
        m = mem("ssehub")
        checks.append(("idle memory per subscriber <= 1 KB", fmt(m, " B"), m is not None and m <= 1024))
        if "nchan" in servers:
            q = ratio(dpcs("ssehub", "fanout"), dpcs("nchan", "fanout"))
            checks.append(("closed-loop deliveries per CPU-s >= 10x Nchan", fmt(q, "x"), q is not None and q >= 10))
        if "floor" in servers:
            q = ratio(dpcs("ssehub", "fanout"), dpcs("floor", "fanout"))
            checks.append(("closed-loop deliveries per CPU-s >= 70% of the floor", fmt(q and q * 100, "%"), q is not None and q >= 0.7))
            q = ratio(dpcs("ssehub", "rate10"), dpcs("floor", "rate10"))
            checks.append(("10 msg/s deliveries per CPU-s >= 90% of the floor", fmt(q and q * 100, "%"), q is not None and q >= 0.9))
            x, y = p("ssehub", "rate10", "p99"), p("floor", "rate10", "p99")
            checks.append(("10 msg/s p99 latency <= the floor's", f"{fmt(x)} ms vs {fmt(y)} ms", x is not None and y is not None and x <= y))
        if "nchan" in servers:
            q = ratio(get("ssehub", "topics", "publishes_per_s"), get("nchan", "topics", "publishes_per_s"))
            checks.append((f"{ttopics} topics: publishes/s >= 3x Nchan", fmt(q, "x"), q is not None and q >= 3))
        lost = [sc for sc in ("fanout", "rate10", "topics")
                if any(r["delivered"] != r["expected"] for r in res.get(("ssehub", sc), []))]
        checks.append(("nothing lost (delivered/expected = 1)", "lost in: " + ", ".join(lost) if lost else "1 in every scenario", not lost))
        md.append("| ssehub target | measured | met |")
        md.append("| --- | --- | --- |")
        for t, v, ok in checks:
            md.append(f"| {t} | {v} | {'yes' if ok else '**no**'} |")
        md.append("")

    # Chart.
    chart_ok = False
    dat = os.path.join(a.work, "chart.dat")
    with open(dat, "w") as f:
        f.write("# server fanout_dpcs rate10_dpcs fanout_p99 rate10_p99\n")
        for s in servers:
            f.write(f"{NAMES[s]} {dpcs(s, 'fanout') or 0} {dpcs(s, 'rate10') or 0} "
                    f"{p(s, 'fanout', 'p99') or 0} {p(s, 'rate10', 'p99') or 0}\n")
    gp = os.path.join(os.path.dirname(os.path.abspath(__file__)), "chart.gp")
    rc = subprocess.run(["gnuplot", "-e", f"datafile='{dat}'; outfile='{a.chart}'", gp],
                        capture_output=True, text=True)
    if rc.returncode == 0:
        chart_ok = True
    else:
        print("report.py: gnuplot failed: " + rc.stderr, file=sys.stderr)
    if chart_ok:
        md.append(f"![deliveries per server-CPU-second and p99 latency]({os.path.basename(a.chart)})")
        md.append("")

    md.append("The exact commands (PORT and PID are the server's; each server is started "
              "afresh for each line):")
    md.append("")
    md.append("```sh")
    md.append("build/ssehub --listen 127.0.0.1:0 --no-ui --store memory  # ssehub: the memory store (as Nchan's), defaults otherwise")
    md.append("build/bench/sse_floor --listen 127.0.0.1:0         # the floor")
    md.append("nginx -p PREFIX -c PREFIX/nginx.conf               # Nchan: bench/nchan.conf.in")
    for line in open(a.commands):
        md.append(line.rstrip().replace(a.build + "/", "build/"))
    md.append("```")
    md.append("")
    md.append(END)
    section = "\n".join(md) + "\n"

    text = open(a.out).read() if os.path.exists(a.out) else "# Benchmarks\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        text = head + section.rstrip("\n") + tail
    else:
        text = text.rstrip("\n") + "\n\n## Hub fan-out: ssehub, Nchan and the floor\n\n" + section
    with open(a.out, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
