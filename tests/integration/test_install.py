#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The install an operator runs: `cmake --install` into a temporary prefix, then
  - every file is there: ssehub, ssecat, ssebench, libssehub (shared and static), the
    public headers, ssehub.pc, the three man pages, the systemd unit and the example
    environment file;
  - `systemd-analyze verify` passes on the installed unit (its ExecStart is the installed
    binary), and fails on the same unit with a missing binary (so the check checks);
  - the man pages render (man -l) and name exactly the flags of each program's --help;
  - `pkg-config --cflags --libs ssehub` from that prefix compiles and links a small
    program against the shared library and against the static one, and examples/sse_tail.c;
  - the unit's ExecStart, run with the unit's Environment= settings (the listen address
    and the store directory replaced as /etc/ssehub/ssehub.env would), serves: /healthz,
    a publish with the installed ssecat, the event read back by the installed sse_tail;
    SIGTERM stops it with status 0.

Usage: test_install.py [-k SUBSTRING]... --cmake CMAKE --build DIR --source DIR
                       [--cc CC] [--cflags FLAGS]
"""
import argparse
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from hubtest.http import check  # noqa: E402
from hubtest.runner import run_cases  # noqa: E402

PROGRAMS = ("ssehub", "ssecat", "ssebench")
CASES = []


def case(name, timeout=300):
    def deco(fn):
        CASES.append((name, fn, timeout))
        return fn
    return deco


def run(cmd, env=None, timeout=120, cwd=None):
    """Runs |cmd|; returns (status, stdout+stderr as text)."""
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=e,
                       timeout=timeout, cwd=cwd, check=False)
    return p.returncode, p.stdout.decode("utf-8", errors="replace")


def must(cmd, what, **kw):
    rc, out = run(cmd, **kw)
    check(rc == 0, "%s: %s exited %d: %s" % (what, " ".join(cmd), rc, out[-2000:]))
    return out


class Install:
    """One `cmake --install` into a temporary prefix, shared by the cases."""

    def __init__(self, a):
        self.a = a
        self.tmp = tempfile.mkdtemp(prefix="ssehub-install-")
        self.prefix = os.path.join(self.tmp, "prefix")
        self.log = must([a.cmake, "--install", a.build, "--prefix", self.prefix],
                        "cmake --install")
        self.files = {os.path.relpath(os.path.join(d, f), self.prefix)
                      for d, _, fs in os.walk(self.prefix) for f in fs}
        pcs = [f for f in self.files if f.endswith("pkgconfig/ssehub.pc")]
        check(len(pcs) == 1, "ssehub.pc installed %d times: %r" % (len(pcs), sorted(self.files)))
        self.libdir = os.path.join(self.prefix, os.path.dirname(os.path.dirname(pcs[0])))
        self.unit = os.path.join(self.prefix, "lib/systemd/system/ssehub.service")
        self.mandir = os.path.join(self.prefix, "share/man")

    def path(self, rel):
        return os.path.join(self.prefix, rel)

    def cleanup(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


INST = None


def inst(a):
    global INST
    if INST is None:
        INST = Install(a)
    return INST


@case("files")
def t_files(a):
    i = inst(a)
    lib = os.path.relpath(i.libdir, i.prefix)
    want = ["bin/" + p for p in PROGRAMS]
    want += [lib + "/libssehub.a", lib + "/libssehub.so", lib + "/pkgconfig/ssehub.pc"]
    want += ["include/ssehub/" + h for h in os.listdir(os.path.join(a.source, "include/ssehub"))]
    want += ["share/man/man1/%s.1" % p for p in PROGRAMS]
    want += ["lib/systemd/system/ssehub.service", "share/doc/ssehub/ssehub.env.example"]
    missing = [w for w in want if w not in i.files and not os.path.islink(i.path(w))]
    check(not missing, "not installed: %r (installed: %r)" % (missing, sorted(i.files)))
    for p in PROGRAMS:
        check(os.access(i.path("bin/" + p), os.X_OK), "bin/%s is not executable" % p)
    sos = [f for f in i.files if re.search(r"libssehub\.so\.\d+\.\d+\.\d+$", f)]
    check(len(sos) == 1, "the versioned shared library: %r" % sos)
    out = must([i.path("bin/ssehub"), "--version"], "installed ssehub --version")
    return "%d files; %s" % (len(i.files), out.strip().splitlines()[0])


@case("systemd-verify")
def t_systemd_verify(a):
    i = inst(a)
    sa = shutil.which("systemd-analyze")
    check(sa is not None, "systemd-analyze not found (scripts/deps.sh installs systemd)")
    with open(i.unit, encoding="utf-8") as f:
        unit = f.read()
    execs = re.findall(r"^ExecStart=(.*)$", unit, re.M)
    check(execs == [i.path("bin/ssehub")], "ExecStart %r, expected the installed binary %s"
          % (execs, i.path("bin/ssehub")))
    for d in ("DynamicUser=yes", "StateDirectory=ssehub", "ProtectSystem=strict",
              "NoNewPrivileges=yes", "EnvironmentFile=-/etc/ssehub/ssehub.env",
              "Environment=SSEHUB_STORE=lmdb:/var/lib/ssehub", "KillSignal=SIGTERM",
              "Restart=on-failure", "CapabilityBoundingSet=\n"):
        check(d in unit, "the unit has no %r" % d)
    check(re.search(r"^LimitNOFILE=(\d+)$", unit, re.M)
          and int(re.search(r"^LimitNOFILE=(\d+)$", unit, re.M).group(1)) >= 65536,
          "LimitNOFILE missing or low")
    # Documentation=man:ssehub(1) is checked with man: the installed page must be found.
    env = {"MANPATH": i.mandir + ":" + os.environ.get("MANPATH", "")}
    rc, out = run([sa, "verify", i.unit], env=env, cwd=i.tmp)
    check(rc == 0 and not out.strip(), "systemd-analyze verify %s: status %d: %s"
          % (i.unit, rc, out))
    # The same unit with a binary that is not there must fail: verify does look.
    bad = os.path.join(i.tmp, "bad", "ssehub.service")
    os.makedirs(os.path.dirname(bad), exist_ok=True)
    with open(bad, "w", encoding="utf-8") as f:
        f.write(unit.replace("ExecStart=" + i.path("bin/ssehub"),
                             "ExecStart=" + i.path("bin/no-such-ssehub")))
    rc, out = run([sa, "verify", bad], env=env, cwd=i.tmp)
    check(rc != 0 and "no-such-ssehub" in out,
          "verify of a unit whose binary is missing: status %d: %r" % (rc, out))
    rc, out = run([sa, "security", "--offline=yes", i.unit], env=env, cwd=i.tmp)
    m = re.search(r"Overall exposure level for ssehub.service: ([0-9.]+) (\w+)", out)
    return "verify ok; exposure %s" % ("%s %s" % m.groups() if m else "n/a")


FLAG_RE = re.compile(r"(?<![\w-])(--[a-z][a-z0-9]*(?:-[a-z0-9]+)*|-[A-Za-z])(?![\w-])")


def flags_of(text):
    return set(FLAG_RE.findall(text))


def render_man(path):
    rc, out = run(["man", "--warnings", "-l", path],
                  env={"MANWIDTH": "250", "MANPAGER": "cat", "PAGER": "cat", "LC_ALL": "C.UTF-8"})
    check(rc == 0, "man -l %s: status %d: %s" % (path, rc, out[-1000:]))
    text = re.sub(r".\x08", "", out)
    check(not re.search(r"^(troff|groff|man):|warning", text, re.M | re.I),
          "man -l %s printed warnings: %s" % (path, [l for l in text.splitlines()
                                                     if "warning" in l.lower()][:5]))
    return text


@case("man-pages")
def t_man(a):
    i = inst(a)
    check(shutil.which("man") is not None, "man not found (scripts/deps.sh installs man-db)")
    details = []
    for p in PROGRAMS:
        rc, help_text = run([i.path("bin/" + p), "--help"])
        check(rc == 0, "%s --help exited %d" % (p, rc))
        page = render_man(i.path("share/man/man1/%s.1" % p))
        check(re.search(r"^NAME\n\s+%s - \S" % p, page, re.M), "%s.1: no NAME line" % p)
        for sect in ("SYNOPSIS", "DESCRIPTION"):
            check(re.search(r"^%s$" % sect, page, re.M), "%s.1: no %s section" % (p, sect))
        hf, mf = flags_of(help_text), flags_of(page)
        check(not hf - mf, "%s.1 lacks flags of %s --help: %s" % (p, p, sorted(hf - mf)))
        check(not mf - hf, "%s.1 names flags %s --help does not have: %s"
              % (p, p, sorted(mf - hf)))
        if p == "ssehub":
            # Every flag but --help/--version has its SSEHUB_ variable, and no other.
            env_want = {"SSEHUB_" + f[2:].upper().replace("-", "_") for f in hf
                        if f.startswith("--") and f not in ("--help", "--version")}
            env_man = set(re.findall(r"^\s+(SSEHUB_[A-Z_]+)$", page, re.M))
            check(env_want == env_man, "ENVIRONMENT: missing %s, extra %s"
                  % (sorted(env_want - env_man), sorted(env_man - env_want)))
            with open(i.path("share/doc/ssehub/ssehub.env.example"), encoding="utf-8") as f:
                env_file = set(re.findall(r"^#(SSEHUB_[A-Z_]+)=", f.read(), re.M))
            check(env_file == env_want, "ssehub.env.example: missing %s, extra %s"
                  % (sorted(env_want - env_file), sorted(env_file - env_want)))
        details.append("%s %d flags" % (p, len(hf)))
    return ", ".join(details)


TINY_C = r"""
#include <stdio.h>
#include <string.h>
#include <ssehub/ssehub.h>

int main(void)
{
    ssehub_sse_event_t ev;
    char buf[256];
    ssize_t n;

    memset(&ev, 0, sizeof(ev));
    ev.id = "7";
    ev.id_len = 1;
    ev.data = "hello\nworld";
    ev.data_len = 11;
    n = ssehub_sse_encode(&ev, buf, sizeof(buf));
    if (n < 0) {
        fprintf(stderr, "encode: %s\n", ssehub_strerror((int)n));
        return 1;
    }
    printf("%s|%.*s", ssehub_version_string(), (int)n, buf);
    return 0;
}
"""


def pkg_config(i, *args):
    return shlex.split(must(["pkg-config"] + list(args) + ["ssehub"], "pkg-config",
                            env={"PKG_CONFIG_PATH": os.path.join(i.libdir, "pkgconfig")}))


@case("pkg-config-link")
def t_link(a):
    i = inst(a)
    cflags = pkg_config(i, "--cflags")
    libs = pkg_config(i, "--libs")
    check(any(f == "-I" + i.path("include") or os.path.realpath(f[2:]) ==
              os.path.realpath(i.path("include")) for f in cflags if f.startswith("-I")),
          "pkg-config --cflags: %r does not point into the prefix" % cflags)
    src = os.path.join(i.tmp, "tiny.c")
    with open(src, "w", encoding="utf-8") as f:
        f.write(TINY_C)
    extra = shlex.split(a.cflags or "")
    shared = os.path.join(i.tmp, "tiny_shared")
    must([a.cc] + extra + cflags + [src, "-o", shared] + libs, "link with the shared library")
    out = must([shared], "tiny (shared)", env={"LD_LIBRARY_PATH": i.libdir})
    version = must([i.path("bin/ssehub"), "--version"], "ssehub --version").split()[-1]
    check(out == "%s|id: 7\ndata: hello\ndata: world\n\n" % version,
          "tiny (shared) printed %r" % out)
    rc, ldd = run(["ldd", shared], env={"LD_LIBRARY_PATH": i.libdir})
    check(i.libdir in ldd, "tiny is not linked with the installed libssehub.so: %s" % ldd)
    # Static: the archive by path, and what pkg-config --static says it needs.
    static_libs = [x for x in pkg_config(i, "--static", "--libs") if x != "-lssehub"]
    static = os.path.join(i.tmp, "tiny_static")
    must([a.cc] + extra + cflags + [src, "-o", static, os.path.join(i.libdir, "libssehub.a")]
         + static_libs, "link with the static library")
    out = must([static], "tiny (static)")
    check(out.startswith(version + "|id: 7\n"), "tiny (static) printed %r" % out)
    rc, ldd = run(["ldd", static])
    check("libssehub" not in ldd, "tiny_static needs libssehub.so: %s" % ldd)
    # The example the README shows, built as its comment says.
    tail = os.path.join(i.tmp, "sse_tail")
    must([a.cc] + extra + [os.path.join(a.source, "examples/sse_tail.c")] + cflags + libs
         + ["-o", tail], "cc sse_tail.c $(pkg-config --cflags --libs ssehub)")
    return "shared, static and examples/sse_tail.c linked from %s" % os.path.relpath(
        i.libdir, i.prefix)


def unit_command(i):
    """The unit's ExecStart argv and Environment= settings."""
    with open(i.unit, encoding="utf-8") as f:
        unit = f.read()
    argv = shlex.split(re.search(r"^ExecStart=(.*)$", unit, re.M).group(1))
    env = {}
    for line in re.findall(r"^Environment=(.*)$", unit, re.M):
        for kv in shlex.split(line):
            k, _, v = kv.partition("=")
            env[k] = v
    return argv, env


@case("execstart-run")
def t_run(a):
    i = inst(a)
    tail = os.path.join(i.tmp, "sse_tail")
    if not os.path.exists(tail):
        t_link(a)
    argv, env = unit_command(i)
    check(env.get("SSEHUB_STORE") == "lmdb:/var/lib/ssehub", "unit Environment: %r" % env)
    # What /etc/ssehub/ssehub.env would override for a test: a free port, a temporary
    # StateDirectory.
    state = os.path.join(i.tmp, "state")
    env.update({"SSEHUB_LISTEN": "127.0.0.1:0", "SSEHUB_STORE": "lmdb:" + state,
                "SSEHUB_THREADS": "2"})
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SSEHUB_")}
    full_env.update(env)
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, env=full_env)
    lines = []
    try:
        port = None
        deadline = time.monotonic() + 30
        while port is None and time.monotonic() < deadline:
            line = p.stderr.readline().decode("utf-8", errors="replace")
            if not line:
                break
            lines.append(line.rstrip("\n"))
            m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
            if m:
                port = int(m.group(1))
        check(port is not None, "the unit's command did not listen: %s" % " | ".join(lines))
        with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % port, timeout=30) as r:
            check(r.status == 200, "/healthz: %d" % r.status)
        url = "http://127.0.0.1:%d/.well-known/mercure" % port
        pub = subprocess.run([i.path("bin/ssecat"), "--publish", url, "--topic", "install"],
                             input=b"from the installed ssecat\n", stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, timeout=60, check=False)
        check(pub.returncode == 0, "installed ssecat --publish: %d %r"
              % (pub.returncode, pub.stdout))
        rc, out = run([tail, url + "?topic=install&lastEventID=earliest", "1"],
                      env={"LD_LIBRARY_PATH": i.libdir}, timeout=60)
        check(rc == 0 and "from the installed ssecat" in out, "sse_tail: %d %r" % (rc, out))
        check(os.path.exists(os.path.join(state, "data.mdb")), "no LMDB store in %s" % state)
        p.send_signal(signal.SIGTERM)
        rc = p.wait(timeout=60)
        rest = p.stderr.read().decode("utf-8", errors="replace")
        check(rc == 0, "exit status %d after SIGTERM: %s" % (rc, rest[-1000:]))
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    return "served on the unit's settings, published, read back, stopped with 0"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", action="append", default=[])
    ap.add_argument("--cmake", required=True)
    ap.add_argument("--build", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--cc", default="cc")
    ap.add_argument("--cflags", default="")
    a = ap.parse_args()
    try:
        return run_cases(CASES, a.k, lambda name, fn, timeout: fn(a), width=18)
    finally:
        if INST is not None:
            INST.cleanup()


if __name__ == "__main__":
    sys.exit(main())
