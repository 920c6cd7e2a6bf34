#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The EventSource client (through ssecat) against a server no one here wrote: Debian's
nginx with the Nchan module, on 127.0.0.1, started with its own nginx.conf and prefix
directory in a temporary directory and stopped by pid. Cases: subscribe and receive what
is published through Nchan; the client's own reconnections (Nchan ends each stream after
nchan_subscriber_timeout) resume with Last-Event-ID from Nchan's message buffer, with no
gap and no duplicate; --last-event-id replays the buffered messages; the same over https
with a certificate signed by a CA the test makes (openssl req), verification on with
that CA, and failing cleanly (exit 1, one line naming the reason, no reconnection) with
the system's CAs, with another CA, and for a host name the certificate does not name.

Skips (exit 0, with a message) only when nginx or the Nchan module is not installed;
scripts/deps.sh installs both.

Usage: test_client_nchan.py [-k SUBSTRING]... SSECAT
"""
import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import test_client  # noqa: E402
from test_client import WAIT, Cat, events_of, ssecat  # noqa: E402
from hubtest.http import Fail, check  # noqa: E402
from hubtest.runner import run_cases  # noqa: E402

NCHAN_MODULE = "/usr/lib/nginx/modules/ngx_nchan_module.so"
CASES = []


def case(name, timeout=180):
    def deco(fn):
        CASES.append((name, fn, timeout))
        return fn
    return deco


def free_port():
    """A port free now; another process may take it before nginx binds it, so Nchan.start()
    tries again with new ports when nginx cannot bind."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)


def make_ca(d, name):
    key, pem = os.path.join(d, name + ".key"), os.path.join(d, name + ".pem")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", key, "-out", pem, "-days", "2", "-subj", "/CN=ssehub test " + name,
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    return key, pem


def make_server_cert(d, ca_key, ca_pem):
    key, csr, pem = (os.path.join(d, "server" + s) for s in (".key", ".csr", ".pem"))
    ext = os.path.join(d, "server.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                "extendedKeyUsage=serverAuth\n")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1")
    openssl("x509", "-req", "-in", csr, "-CA", ca_pem, "-CAkey", ca_key, "-CAcreateserial",
            "-out", pem, "-days", "2", "-extfile", ext)
    return key, pem


NGINX_CONF = """
load_module {module};
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log info;
events {{ worker_connections 256; }}
http {{
    access_log {prefix}/logs/access.log;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    nchan_shared_memory_size 16M;
    server {{
        listen 127.0.0.1:{port};
        listen 127.0.0.1:{tls_port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        # Publish: POST /pub/CHANNEL, the body is the message. The buffer keeps the last
        # 200 messages for 10 minutes, for replay by Last-Event-ID.
        location ~ ^/pub/(\\w+)$ {{
            nchan_publisher;
            nchan_channel_id $1;
            nchan_message_buffer_length 200;
            nchan_message_timeout 10m;
        }}
        # Subscribe: GET /sub/CHANNEL as EventSource; each stream ends after 1 s
        # (nchan_subscriber_timeout, whole seconds), so clients reconnect with their Last-Event-ID.
        location ~ ^/sub/(\\w+)$ {{
            nchan_subscriber eventsource;
            nchan_channel_id $1;
            nchan_subscriber_first_message newest;
            nchan_subscriber_timeout {sub_timeout};
        }}
    }}
}}
"""


class Nchan:
    """nginx + Nchan in its own prefix directory, in the foreground, stopped by pid."""

    def __init__(self, tmp):
        self.prefix = os.path.join(tmp, "nginx")
        for d in ("logs", "tmp"):
            os.makedirs(os.path.join(self.prefix, d), exist_ok=True)
        self.ca_key, self.ca = make_ca(tmp, "ca")
        self.other_ca = make_ca(tmp, "other-ca")[1]
        self.key, self.cert = make_server_cert(tmp, self.ca_key, self.ca)
        self.port, self.tls_port = free_port(), free_port()
        self.proc = None

    def start(self, sub_timeout="1s"):
        for attempt in range(5):
            if self._start(sub_timeout):
                return self
            self.port, self.tls_port = free_port(), free_port()
        raise Fail("nginx could not bind its ports in 5 attempts (taken by other processes)")

    def _start(self, sub_timeout):
        """True once nginx listens; False when its ports were taken (try others)."""
        conf = os.path.join(self.prefix, "nginx.conf")
        pidfile = os.path.join(self.prefix, "nginx.pid")
        if os.path.exists(pidfile):
            os.unlink(pidfile)
        with open(conf, "w") as f:
            f.write(NGINX_CONF.format(module=NCHAN_MODULE, prefix=self.prefix, port=self.port,
                                      tls_port=self.tls_port, cert=self.cert, key=self.key,
                                      sub_timeout=sub_timeout))
        self.proc = subprocess.Popen(
            ["nginx", "-p", self.prefix, "-c", conf, "-e", os.path.join(self.prefix, "logs",
                                                                        "error.log"),
             "-g", "daemon off;"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE)
        # nginx writes its pid file after it has bound and is listening on its ports (and
        # exits if it cannot bind them): only then are connections known to reach it, not
        # some other process that took a port in the meantime.
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode()
                if "Address already in use" in err:
                    return False
                raise Fail("nginx exited %s: %s" % (self.proc.returncode, err[-500:]))
            try:
                with open(pidfile) as f:
                    ready = f.read().strip() == str(self.proc.pid)
            except OSError:
                ready = False
            if ready:
                socket.create_connection(("127.0.0.1", self.tls_port), WAIT).close()
                socket.create_connection(("127.0.0.1", self.port), WAIT).close()
                return True
            time.sleep(0.05)
        raise Fail("nginx did not listen within %.0f s" % WAIT)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGQUIT)  # graceful: workers exit too
            try:
                self.proc.wait(WAIT)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def publish(self, channel, data):
        """Publishes; returns the id Nchan gave the message (its event id)."""
        req = urllib.request.Request("http://127.0.0.1:%d/pub/%s" % (self.port, channel),
                                     data=data.encode(), method="POST",
                                     headers={"Accept": "text/json"})
        with urllib.request.urlopen(req, timeout=WAIT) as r:
            check(r.status in (201, 202), "nchan publish: %s" % r.status)
            return json.loads(r.read().decode())["last_message_id"]

    def subscribers(self, channel):
        req = urllib.request.Request("http://127.0.0.1:%d/pub/%s" % (self.port, channel),
                                     headers={"Accept": "text/plain"})
        try:
            with urllib.request.urlopen(req, timeout=WAIT) as r:
                text = r.read().decode()
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return 0
            raise
        for line in text.splitlines():
            if line.startswith("active subscribers:"):
                return int(line.split(":")[1])
        return 0

    def url(self, channel, tls=False, host="127.0.0.1"):
        return "%s://%s:%d/sub/%s" % ("https" if tls else "http", host,
                                      self.tls_port if tls else self.port, channel)


async def wait_subscribed(ng, channel, n=1):
    deadline = time.monotonic() + WAIT
    while ng.subscribers(channel) < n:
        check(time.monotonic() < deadline, "no subscriber on %s within %.0f s" % (channel, WAIT))
        await asyncio.sleep(0.05)


def primer(ng, channel):
    """Publishes a first message to |channel| and returns its id, for the subscriber's
    --last-event-id: Nchan ends every stream after 1 s, and a client that has no id yet
    (none received) reconnects without Last-Event-ID and would never get what was published
    while it reconnected (nchan_subscriber_first_message newest). With the primer's id
    from the start, every later message reaches it, live or from Nchan's buffer, however
    long the test takes to publish."""
    return ng.publish(channel, "%s primer" % channel)


async def subscribe_and_receive(ng, channel, extra, tls=False):
    """A subscriber, and three batches of 10 messages: the first while it is connected,
    the others right after Nchan ended its stream (nchan_subscriber_timeout), while it
    waits to reconnect, so they reach it only through Last-Event-ID and Nchan's buffer.
    Every message arrives, in order, once."""
    n, batch = 30, 10
    cat = await Cat(ng.url(channel, tls), "--json", "--max-events", n, "--retry", "300ms",
                    "--last-event-id", primer(ng, channel), *extra).start()
    await wait_subscribed(ng, channel)
    loop = asyncio.get_running_loop()
    sent = []
    for b in range(n // batch):
        if b > 0:
            seen = sum("reconnecting" in l for l in cat.err)
            deadline = time.monotonic() + WAIT
            while sum("reconnecting" in l for l in cat.err) == seen:
                check(time.monotonic() < deadline, "Nchan did not end the stream: %s"
                      % cat.stderr())
                await asyncio.sleep(0.01)
        for i in range(batch):
            sent.append("%s message %d" % (channel, len(sent)))
            await loop.run_in_executor(None, ng.publish, channel, sent[-1])
    rc = await cat.wait()
    check(rc == 0, "exit %s, stderr %s" % (rc, cat.stderr()))
    got = events_of(cat)
    check([e["data"] for e in got] == sent, "received %s" % [e["data"] for e in got][:40])
    reconnects = sum("reconnecting in 300 ms with Last-Event-ID" in l for l in cat.err)
    check(reconnects >= 2, "reconnections: %s" % cat.stderr())
    return got, reconnects


@case("subscribe_and_resume")
async def subscribe_and_resume(ng):
    got, reconnects = await subscribe_and_receive(ng, "plain", [])
    # --last-event-id: the messages after it come from Nchan's buffer.
    last = got[-1]["id"]
    for i in range(3):
        ng.publish("plain", "buffered %d" % i)
    rc, cat = await ssecat(ng.url("plain"), "--json", "--max-events", "3", "--last-event-id",
                           got[26]["id"])
    check(rc == 0, "exit %s %s" % (rc, cat.stderr()))
    check([e["data"] for e in events_of(cat)] == ["plain message 27", "plain message 28",
                                                   "plain message 29"], "replay: %s" % cat.out)
    rc, cat = await ssecat(ng.url("plain"), "--json", "--max-events", "3", "--last-event-id",
                           last)
    check([e["data"] for e in events_of(cat)] == ["buffered 0", "buffered 1", "buffered 2"],
          "replay after the last: %s" % cat.out)
    return "30 messages, %d reconnections with Last-Event-ID" % reconnects


@case("https_verified")
async def https_verified(ng):
    got, reconnects = await subscribe_and_receive(ng, "secure", ["--cacert", ng.ca])
    # ssecat --publish over TLS, pipelined: Nchan takes each form body as the message.
    sub = await Cat(ng.url("tlspub", True), "--cacert", ng.ca, "--json", "--max-events",
                    "50", "--retry", "300ms", "--last-event-id", primer(ng, "tlspub")).start()
    await wait_subscribed(ng, "tlspub")
    lines = ["line %d" % i for i in range(50)]
    rc, pub = await ssecat("--publish", "https://127.0.0.1:%d/pub/tlspub" % ng.tls_port,
                           "--topic", "t", "--cacert", ng.ca,
                           stdin=("\n".join(lines) + "\n").encode())
    check(rc == 0 and pub.err == [], "publish over TLS: exit %s %s" % (rc, pub.stderr()))
    rc = await sub.wait()
    check(rc == 0, "subscriber: exit %s %s" % (rc, sub.stderr()))
    check([e["data"] for e in events_of(sub)] == ["topic=t&data=line%%20%d" % i
                                                  for i in range(50)], "got %s" % sub.out[:3])
    return "30 messages over TLS, %d reconnections; 50 publishes over TLS" % reconnects


@case("https_untrusted")
async def https_untrusted(ng):
    for extra, host, want in [
        ([], "127.0.0.1", "certificate verification failed for 127.0.0.1"),
        (["--cacert", ng.other_ca], "127.0.0.1", "certificate verification failed"),
        (["--cacert", ng.ca], "localhost", "certificate verification failed for localhost"),
    ]:
        rc, cat = await ssecat(ng.url("x", True, host), "--retry", "50ms", *extra)
        check(rc == 1, "%s %s: exit %s (expected 1), stderr %s" % (host, extra, rc, cat.stderr()))
        check(len(cat.err) == 1 and want in cat.err[0] and "reconnecting" not in cat.err[0],
              "%s %s: stderr %s" % (host, extra, cat.stderr()))
    rc, cat = await ssecat(ng.url("x", True, "localhost"), "--cacert", ng.ca)
    check("mismatch" in cat.err[0], "the reason names the host mismatch: %s" % cat.err[0])
    # --insecure accepts the certificate anyway.
    cat = await Cat(ng.url("insecure", True), "--insecure", "--max-events", "1",
                    "--retry", "300ms", "--last-event-id", primer(ng, "insecure")).start()
    await wait_subscribed(ng, "insecure")
    ng.publish("insecure", "trusted anyway")
    rc = await cat.wait()
    check(rc == 0 and cat.out and cat.out[0].endswith(": trusted anyway"),
          "--insecure: exit %s out %s err %s" % (rc, cat.out, cat.stderr()))


async def run_case(fn, ng, timeout):
    return await asyncio.wait_for(fn(ng), timeout)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("ssecat")
    ap.add_argument("-k", action="append", default=[])
    a = ap.parse_args()
    test_client.SSECAT = os.path.abspath(a.ssecat)
    if shutil.which("nginx") is None or not os.path.exists(NCHAN_MODULE):
        print("skip: nginx or the Nchan module (%s) is not installed; scripts/deps.sh installs "
              "nginx-light and libnginx-mod-nchan" % NCHAN_MODULE)
        return 0
    if shutil.which("openssl") is None:
        print("FAIL: openssl is not installed (scripts/deps.sh)")
        return 1
    status = 1
    with tempfile.TemporaryDirectory(prefix="ssehub-nchan-") as tmp:
        ng = Nchan(tmp)
        try:
            ng.start()
            status = run_cases(CASES, a.k,
                               lambda name, fn, timeout: asyncio.run(run_case(fn, ng, timeout)))
        except Fail as e:
            print("FAIL: %s" % e)
        finally:
            ng.stop()
            if status != 0:
                log = os.path.join(ng.prefix, "logs", "error.log")
                if os.path.exists(log):
                    print("nginx error.log tail:\n" + "".join(open(log).readlines()[-15:]))
    return status


if __name__ == "__main__":
    sys.exit(main())
