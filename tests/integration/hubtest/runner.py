# SPDX-License-Identifier: MIT
"""The case loop every integration script shares: pick the cases named by -k, run each,
print one line per case (ok, skip or FAIL with the reason) and a summary."""
import sys
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
