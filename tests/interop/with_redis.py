#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Runs a command with a redis-server of its own: a free port on 127.0.0.1, a temporary
directory, appendonly yes, appendfsync always. The command gets the store's URI in the
environment variable SSEHUB_INTEROP_STORE (hublib.mjs then runs its cases with the
subscriber on one node and the publisher on another). The server is stopped by pid.

Usage: with_redis.py COMMAND [ARG]...   (exits with the command's status; 1 if Redis
cannot start)
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def ping(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as c:
            c.sendall(b"PING\r\n")
            return c.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def main():
    if len(sys.argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    exe = shutil.which("redis-server")
    if exe is None:
        print("with_redis.py: redis-server is not installed (scripts/deps.sh)", file=sys.stderr)
        return 1
    tmp = tempfile.mkdtemp(prefix="ssehub-interop-redis-")
    port = free_port()
    redis = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--dir", tmp,
                              "--appendonly", "yes", "--appendfsync", "always", "--save", "",
                              "--logfile", os.path.join(tmp, "redis.log")],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not ping(port):
            if redis.poll() is not None or time.monotonic() > deadline:
                print("with_redis.py: redis-server did not start", file=sys.stderr)
                return 1
            time.sleep(0.05)
        env = dict(os.environ, SSEHUB_INTEROP_STORE="redis://127.0.0.1:%d" % port)
        return subprocess.call(sys.argv[1:], env=env)
    finally:
        redis.kill()
        redis.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
