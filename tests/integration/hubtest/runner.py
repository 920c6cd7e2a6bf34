# SPDX-License-Identifier: MIT
"""The case loop every integration script shares: pick the cases named by -k, run each,
print one line per case (ok, skip or FAIL with the reason) and a summary."""
import argparse
import os
import shutil
import sys
import tempfile
import time
import traceback

from .http import PATIENCE, Fail
from .hub import kill_leftovers


class Skip(Exception):
    """Raised by a case that cannot run here (the message says why); not a failure."""


def where(script):
    """The innermost line of |script| (a file name) in the current exception's traceback."""
    tb = traceback.extract_tb(sys.exc_info()[2])
    mine = [f for f in tb if f.filename.endswith(script)]
    f = (mine or tb)[-1]
    return "line %d: %s" % (f.lineno, f.line)


def run_cases(cases, only, run_one, width=22, unexpected=None):
    """Runs each (name, fn, timeout) of |cases| whose name contains one of |only| (every case
    when |only| is empty) as |run_one(name, fn, timeout)|, which returns a detail string or
    None, or raises Skip or Fail. Any other exception fails the case, described by
    |unexpected()| (default: the traceback). Processes a case left behind are killed after
    each case. Returns the exit status: 0, 1 (a case failed) or 2 (no case matched)."""
    failed = ran = 0
    t_all = time.monotonic()
    for name, fn, timeout in cases:
        if only and not any(k in name for k in only):
            continue
        ran += 1
        t0 = time.monotonic()
        try:
            detail = run_one(name, fn, timeout * PATIENCE)
            line = "ok   %-*s %5.1fs%s" % (width, name, time.monotonic() - t0,
                                           ("  " + detail) if detail else "")
        except Skip as e:
            line = "skip %-*s        %s" % (width, name, e)
        except Fail as e:
            failed += 1
            line = "FAIL %-*s %5.1fs  %s" % (width, name, time.monotonic() - t0, e)
        except Exception as e:  # noqa: BLE001 (a bug in the test or a broken server)
            failed += 1
            how = unexpected() if unexpected else "\n" + traceback.format_exc()
            line = "FAIL %-*s %5.1fs  %s: %s (%s)" % (width, name, time.monotonic() - t0,
                                                      type(e).__name__, e, how)
        finally:
            kill_leftovers()
        print(line, flush=True)
    if ran == 0:
        print("FAIL: no case matches %r" % (only,))
        return 2
    print("%d case(s), %d failed, %.1f s" % (ran, failed, time.monotonic() - t_all), flush=True)
    return 1 if failed else 0


def parse_args(cases, doc, binaries=("ssehub",), more=None, listing=None):
    """The command line of an integration script: the paths of |binaries| (made absolute),
    -k NAME (repeatable) and --list (prints the case names, then |listing()| if given, and
    exits). |more(ap)| adds the script's own options. Returns the parsed arguments."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    for b in binaries:
        ap.add_argument(b, nargs="?", help="the %s binary to test" % b)
    ap.add_argument("-k", action="append", default=[],
                    help="run the cases whose name contains this (repeatable)")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    if more is not None:
        more(ap)
    a = ap.parse_args()
    if a.list:
        for c in cases:
            print(c[0])
        if listing is not None:
            listing()
        sys.exit(0)
    for b in binaries:
        if getattr(a, b) is None:
            ap.error("the %s binary is required" % b)
        setattr(a, b, os.path.abspath(getattr(a, b)))
    return a


def in_tmp_dirs(prefix, run):
    """A |run_one| for run_cases that gives each case a new directory under
    /tmp/ssehub-tests, removed afterwards: it calls |run(name, fn, timeout, tmp)|."""
    os.makedirs("/tmp/ssehub-tests", exist_ok=True)

    def run_one(name, fn, timeout):
        tmp = tempfile.mkdtemp(prefix="%s-%s-" % (prefix, name), dir="/tmp/ssehub-tests")
        try:
            return run(name, fn, timeout, tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    return run_one
