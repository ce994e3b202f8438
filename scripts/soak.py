#!/usr/bin/env python3
"""Soak under mixed hostile load (loopback only, bounded in time and count).

Starts a Drawbridge gateway from a YAML configuration that uses the demo PKI (created by a short run of
`drawbridge serve`), two separate echo backends (`drawbridge echo-backend`: /echo, guarded by the demo's
seed policy, goes to one that is killed and restarted; /public to one that stays up), a small Python
backend behind /early that answers before reading request bodies, and a small CRL server; then mixes
keep-alive mTLS "normal" traffic with hostile traffic (see ATTACKS). It samples the gateway's RSS
every second, restarts the gateway if it dies (unless --stop-on-crash) and prints one summary.

Exit status: 0 when the gateway never died and its log shows no fatal error, 1 when it died (or the
log shows a fatal error), 2 when a hostile request got through a certificate check, 3 on setup errors.

Standard library only.
"""

import argparse
import collections
import http.client
import http.server
import json
import os
import random
import re
import selectors
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time

HOST = "127.0.0.1"
SNI = "localhost"
MiB = 1024 * 1024


def now():
    return time.monotonic()


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_port(port, timeout):
    end = now() + timeout
    while now() < end:
        try:
            socket.create_connection((HOST, port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


# --------------------------------------------------------------------------------------------------
# Shared state: stop flag, counters, in-flight markers, windows


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = collections.defaultdict(collections.Counter)  # attack -> outcome -> n
        self.inflight = collections.Counter()
        self.last_start = {}
        self.labels = {}  # attack -> variant of its latest attempt
        self.notes = collections.defaultdict(list)  # attack -> a few notable details

    def inc(self, attack, outcome, n=1):
        with self.lock:
            self.counts[attack][outcome] += n

    def note(self, attack, text, limit=8):
        with self.lock:
            if len(self.notes[attack]) < limit and text not in self.notes[attack]:
                self.notes[attack].append(text)

    def label(self, attack, variant):
        with self.lock:
            self.labels[attack] = variant

    def begin(self, attack):
        with self.lock:
            self.inflight[attack] += 1
            self.last_start[attack] = now()

    def end(self, attack):
        with self.lock:
            self.inflight[attack] -= 1

    def snapshot_inflight(self, recent=3.0):
        """Attacks in flight now or started within the last `recent` seconds (long-running loops such
        as slowloris are always in flight, so the recent starts are the better hint)."""
        with self.lock:
            t = now()
            return sorted(f"{a}{'[' + self.labels[a] + ']' if a in self.labels else ''}{'' if n > 0 else ' (recent)'}"
                          for a in set(self.inflight) | set(self.last_start)
                          for n in [self.inflight.get(a, 0)] if n > 0 or t - self.last_start.get(a, -1e9) < recent)


class InFlight:
    def __init__(self, stats, attack):
        self.stats, self.attack = stats, attack

    def __enter__(self):
        self.stats.begin(self.attack)

    def __exit__(self, *exc):
        self.stats.end(self.attack)
        return False


# --------------------------------------------------------------------------------------------------
# A TLS client over memory BIOs: full control of the raw socket (half-close, RST, junk, partial
# handshakes, raw ClientHello edits).


class Conn:
    def __init__(self, env, cert="valid", sni=SNI, alpn=None, timeout=10.0, handshake=True):
        self.env = env
        self.sock = socket.create_connection((HOST, env.gw_port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = env.context(cert, alpn).wrap_bio(self.inc, self.out, server_hostname=sni)
        self.eof = False
        self.error = None
        if handshake:
            self.handshake(timeout)

    def flush(self):
        data = self.out.read()
        if data:
            self.sock.sendall(data)

    def _fill(self, deadline):
        remaining = deadline - now()
        if remaining <= 0:
            raise socket.timeout("deadline")
        self.sock.settimeout(remaining)
        data = self.sock.recv(65536)
        if data:
            self.inc.write(data)
        else:
            self.inc.write_eof()
            self.eof = True

    def handshake(self, timeout=10.0):
        deadline = now() + timeout
        while True:
            try:
                self.tls.do_handshake()
                self.flush()
                return
            except ssl.SSLWantReadError:
                self.flush()
                if self.eof:
                    raise ssl.SSLEOFError("EOF in handshake")
                self._fill(deadline)

    def send(self, data, timeout=10.0):
        self.sock.settimeout(timeout)
        view = memoryview(data)
        for i in range(0, len(view), 16384):
            self.tls.write(view[i:i + 16384])
        self.flush()

    def recv(self, timeout):
        """Decrypted bytes; b"" at EOF; None when nothing arrived within `timeout`."""
        deadline = now() + timeout
        while True:
            try:
                data = self.tls.read(65536)
                self.flush()
                return data
            except ssl.SSLWantReadError:
                if self.eof:
                    return b""
                try:
                    self._fill(deadline)
                except socket.timeout:
                    return None
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                return b""
            except ssl.SSLError as exc:  # an alert from the server ends the stream too
                self.error = exc.reason or type(exc).__name__
                self.eof = True
                return b""

    def poll(self):
        """Whatever is readable now (without waiting); b"" at EOF, None when nothing."""
        sel = selectors.DefaultSelector()
        try:
            sel.register(self.sock, selectors.EVENT_READ)
            if not sel.select(0) and not self.tls.pending():
                return None
        finally:
            sel.close()
        try:
            return self.recv(0.05)
        except (ConnectionResetError, BrokenPipeError):
            self.error = "reset"
            return b""

    def half_close(self):
        self.sock.shutdown(socket.SHUT_WR)

    def close_notify(self):
        try:
            self.tls.unwrap()
        except ssl.SSLError:
            pass
        self.flush()

    def close(self, rst=False):
        try:
            if rst:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.sock.close()
        except OSError:
            pass


def read_head(conn, timeout, buf=b""):
    """(status, head bytes, rest) or (None, reason, buf)."""
    deadline = now() + timeout
    while b"\r\n\r\n" not in buf:
        if len(buf) > 65536:
            return None, "head-too-large", buf
        data = conn.recv(max(0.0, deadline - now()))
        if data is None:
            return None, "timeout", buf
        if data == b"":
            return None, "closed", buf
        buf += data
    head, rest = buf.split(b"\r\n\r\n", 1)
    m = re.match(rb"HTTP/1\.[01] (\d{3})", head)
    if not m:
        return None, "garbled", buf
    return int(m.group(1)), head, rest


def read_body(conn, head, rest, timeout, limit=4 * MiB):
    m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    deadline = now() + timeout
    if m:
        want = int(m.group(1))
        while len(rest) < want and len(rest) < limit:
            data = conn.recv(max(0.0, deadline - now()))
            if not data:
                break
            rest += data
        return rest[:want]
    if re.search(rb"(?im)^transfer-encoding:\s*chunked", head):
        while not rest.endswith(b"0\r\n\r\n") and len(rest) < limit:
            data = conn.recv(max(0.0, deadline - now()))
            if not data:
                break
            rest += data
        return rest
    return rest


def read_to_eof(conn, timeout, limit=MiB):
    deadline, buf = now() + timeout, b""
    while len(buf) < limit:
        try:
            data = conn.recv(max(0.0, deadline - now()))
        except (ConnectionResetError, BrokenPipeError):
            return buf, "reset"
        if data is None:
            return buf, "timeout"
        if data == b"":
            return buf, "alert:" + conn.error if conn.error else "eof"
        buf += data
    return buf, "limit"


def status_of(buf):
    m = re.match(rb"HTTP/1\.[01] (\d{3})", buf or b"")
    return int(m.group(1)) if m else None


def outcome_name(exc):
    if isinstance(exc, socket.timeout):
        return "timeout"
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, (ConnectionResetError, BrokenPipeError)):
        return "reset"
    if isinstance(exc, ssl.SSLError):
        return "tls:" + (exc.reason or type(exc).__name__)
    return type(exc).__name__


# --------------------------------------------------------------------------------------------------
# Processes: PKI, CRL server, backends, gateway


class CRLHandler(http.server.BaseHTTPRequestHandler):
    crl_dir = None

    def do_GET(self):
        name = self.path.rsplit("/", 1)[-1]
        path = os.path.join(self.crl_dir, name)
        if not self.path.startswith("/crl/") or not name.endswith(".crl") or not os.path.isfile(path):
            self.send_error(404)
            return
        with open(path, "rb") as f:
            data = f.read()
        self.send_response(200)
        self.send_header("Content-Type", "application/pkix-crl")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


class Env:
    def __init__(self, args):
        self.args = args
        self.binary = os.path.abspath(args.binary)
        self.work = os.path.abspath(args.work_dir or tempfile.mkdtemp(prefix="drawbridge-soak."))
        os.makedirs(self.work, exist_ok=True)
        self.gw_port, self.b1_port, self.b2_port, self.b3_port, self.crl_port = (free_port() for _ in range(5))
        self.pki = os.path.join(self.work, "demo", "pki")
        self.stop = threading.Event()
        self.stats = Stats()
        self.contexts = {}
        self.gw = None
        self.gw_log = os.path.join(self.work, "gateway.log")
        self.gw_lock = threading.Lock()
        self.gw_up = threading.Event()
        self.b1 = None
        self.b2 = None
        self.crl_server = None
        self.backend_windows = []  # (start, end) when the /echo backend was deliberately down
        self.gateway_windows = []  # (start, end) when the gateway was down after dying
        self.deaths = []  # dicts: time, returncode, in-flight attacks, rss
        self.rss_samples = []  # (t, rss KiB)
        self.hwm_kib = 0
        self.proc_samples = {}
        self.first = None
        self.onset = None
        self.log_offset = 0
        self.t0 = None

    # ---- TLS contexts
    def context(self, cert="valid", alpn=None):
        key = (cert, tuple(alpn or ()))
        ctx = self.contexts.get(key)
        if ctx is None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.load_verify_locations(os.path.join(self.pki, "root-ca.pem"))
            ctx.check_hostname = False  # attack contexts send odd SNI values; the chain is still verified
            files = {
                "valid": ("client.pem", "client-key.pem"),
                "expired": ("client-expired.pem", "client-expired-key.pem"),
                "revoked": ("client-revoked.pem", "client-revoked-key.pem"),
                "unknown-ca": ("client-unknown-ca.pem", "client-unknown-ca-key.pem"),
                "none": None,
            }[cert]
            if files:
                ctx.load_cert_chain(os.path.join(self.pki, files[0]), os.path.join(self.pki, files[1]))
            if alpn:
                ctx.set_alpn_protocols(list(alpn))
            self.contexts[key] = ctx
        return ctx

    # ---- setup
    def make_pki(self):
        demo = os.path.join(self.work, "demo")
        if os.path.isfile(os.path.join(self.pki, "crl-base-url.txt")):
            with open(os.path.join(self.pki, "crl-base-url.txt")) as f:
                self.crl_port = int(f.read().rsplit(":", 1)[1].split("/")[0])
            return
        port = free_port()
        log = open(os.path.join(self.work, "demo-pki.log"), "wb")
        proc = subprocess.Popen([self.binary, "serve", "--demo-directory", demo, "--port", str(port),
                                 "--echo-port", str(self.crl_port)], stdout=log, stderr=subprocess.STDOUT,
                                cwd=self.work)
        try:
            policy = os.path.join(demo, "policies", "echo.xml")
            end = now() + 120
            while now() < end and not (os.path.isfile(policy) and wait_port(port, 0.2)):
                if proc.poll() is not None:
                    raise RuntimeError("the demo exited while creating its PKI (see demo-pki.log)")
                time.sleep(0.2)
            if not os.path.isfile(policy):
                raise RuntimeError("the demo did not create its PKI in time")
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()

    def write_config(self):
        p = self.pki
        cfg = f"""# written by scripts/soak.py
listen: {{ address: {HOST}, port: {self.gw_port} }}
defaultHostname: localhost
hostnames:
  - name: localhost
    certificate: {p}/server.pem
    key: {p}/server-key.pem
    clientCertificate: negotiate
    trustedCAs: [{p}/root-ca.pem, {p}/intermediate-ca.pem]
    http2: true
apis:
  - name: echo
    path: /echo
    backend: "http://{HOST}:{self.b1_port}"
    policy: {self.work}/demo/policies/echo.xml
  - name: public-echo
    path: /public
    backend: "http://{HOST}:{self.b2_port}"
  - name: early
    path: /early
    backend: "http://{HOST}:{self.b3_port}"
backend: {{ timeout: 30s, connectTimeout: 2s }}
accessLog: false
"""
        self.config = os.path.join(self.work, "gateway.yaml")
        with open(self.config, "w") as f:
            f.write(cfg)

    def start_crl_server(self):
        CRLHandler.crl_dir = os.path.join(self.pki, "crl")
        self.crl_server = http.server.ThreadingHTTPServer((HOST, self.crl_port), CRLHandler)
        self.crl_server.daemon_threads = True
        threading.Thread(target=self.crl_server.serve_forever, daemon=True).start()

    def start_early_backend(self):
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((HOST, self.b3_port))
        srv.listen(128)
        srv.settimeout(0.5)
        self.early_server = srv

        def serve():
            while True:
                try:
                    conn, _ = srv.accept()
                except socket.timeout:
                    continue
                except OSError:
                    return
                threading.Thread(target=early_answer, args=(conn,), daemon=True).start()
        threading.Thread(target=serve, daemon=True).start()

    def start_backend(self, port, name):
        log = open(os.path.join(self.work, f"{name}.log"), "ab")
        proc = subprocess.Popen([self.binary, "echo-backend", "--port", str(port)], stdout=log,
                                stderr=subprocess.STDOUT)
        log.close()
        if not wait_port(port, 10):
            raise RuntimeError(f"backend {name} did not start on port {port}")
        return proc

    def start_gateway(self):
        with open(self.gw_log, "ab") as log:
            self.log_offset = log.tell()  # crash markers are looked for in the new process' output only
            log.write(f"\n===== soak: gateway start at t={self.elapsed():.1f}s =====\n".encode())
            log.flush()
            self.gw = subprocess.Popen([self.binary, "serve", "--config", self.config], stdout=log,
                                       stderr=subprocess.STDOUT, cwd=self.work)
        end = now() + 30
        while now() < end:
            if self.gw.poll() is not None:
                raise RuntimeError(f"gateway exited at start (code {self.gw.returncode}); see {self.gw_log}")
            try:
                c = Conn(self, "valid", timeout=2)
                c.send(b"GET /public/ready HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                st, _, _ = read_head(c, 5)
                c.close()
                if st == 200:
                    self.gw_up.set()
                    return
            except (OSError, ssl.SSLError):
                pass
            time.sleep(0.2)
        raise RuntimeError("gateway did not answer 200 on /public within 30 s")

    def elapsed(self):
        return now() - self.t0 if self.t0 else 0.0


def early_answer(conn):
    """The /early backend: answers before reading the request body. /early/close answers 413 and closes,
    /early/rst answers 413 and resets, /early/drain answers 200 then reads (and drops) the body."""
    try:
        conn.settimeout(10)
        buf = b""
        while b"\r\n\r\n" not in buf and len(buf) < 65536:
            data = conn.recv(65536)
            if not data:
                return
            buf += data
        line = buf.split(b"\r\n", 1)[0]
        if b"/drain" in line:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nearly")
            end, total = now() + 60, 0
            while now() < end and total < 64 * MiB:
                data = conn.recv(65536)
                if not data:
                    break
                total += len(data)
        else:
            conn.sendall(b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            if b"/rst" in line:
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    finally:
        conn.close()


# --------------------------------------------------------------------------------------------------
# Normal traffic


class LoopbackHTTPS(http.client.HTTPSConnection):
    """Connects to 127.0.0.1 but sends SNI and Host `localhost` (and verifies the server as such)."""

    def connect(self):
        sock = socket.create_connection((HOST, self.port), self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = self._context.wrap_socket(sock, server_hostname=SNI)


class Normal:
    def __init__(self, env):
        self.env = env
        self.lock = threading.Lock()
        self.records = []  # (t0, t1, kind, ok, detail)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(os.path.join(env.pki, "root-ca.pem"))
        ctx.load_cert_chain(os.path.join(env.pki, "client.pem"), os.path.join(env.pki, "client-key.pem"))
        self.ctx = ctx  # check_hostname on: the server must present its localhost certificate

    def worker(self, index, deadline, max_requests, rate):
        env = self.env
        conn = None
        rnd = random.Random(index)
        interval = 1.0 / rate if rate > 0 else 0.0
        for n in range(max_requests):
            t = now()
            if env.stop.is_set() or t >= deadline:
                break
            kind = "echo" if n % 2 == 0 else "public"
            if kind == "echo":
                method, path, body = ("GET", f"/echo/users/{rnd.randint(1, 999)}", None) if n % 4 == 0 else \
                    ("POST", "/echo/orders", os.urandom(rnd.choice([16, 512, 4096])))
            else:
                method, path, body = ("GET", f"/public/items?i={n}", None)
            ok, detail = False, ""
            t0 = now()
            try:
                if conn is None:
                    conn = LoopbackHTTPS(SNI, env.gw_port, context=self.ctx, timeout=10)
                conn.request(method, path, body=body)
                resp = conn.getresponse()
                data = resp.read()
                ok = resp.status == 200
                detail = str(resp.status)
                if ok and body is not None:
                    ok = json.loads(data).get("bodyBytes") == len(body)
                    detail = "200" if ok else "200-wrong-body"
                if resp.will_close:
                    conn.close()
                    conn = None
            except Exception as exc:  # noqa: BLE001 - every failure is counted
                detail = outcome_name(exc)
                if conn is not None:
                    conn.close()
                conn = None
            t1 = now()
            with self.lock:
                self.records.append((t0, t1, kind, ok, detail))
            if not ok and not env.gw_up.is_set():
                time.sleep(0.2)
            pause = interval - (now() - t)
            if pause > 0:
                time.sleep(pause)
        if conn is not None:
            conn.close()


# --------------------------------------------------------------------------------------------------
# Attacks. Each runs `loop(env, name, fn)`: repeated until the deadline or a count bound.

def loop(env, name, deadline, fn, max_iter=100000, pause=0.0):
    rnd = random.Random(hash(name) & 0xFFFF)
    for i in range(max_iter):
        if env.stop.is_set() or now() >= deadline:
            return
        with InFlight(env.stats, name):
            try:
                fn(env, name, i, rnd, deadline)
            except Exception as exc:  # noqa: BLE001 - counted, never fatal to the soak
                env.stats.inc(name, "error:" + outcome_name(exc))
        if not env.gw_up.is_set():
            time.sleep(0.5)
        elif pause:
            time.sleep(pause)


def _sleep(env, seconds):
    return env.stop.wait(seconds)


# (a) a body trickled 1 byte per 0.5 s until the server answers (then a few more bytes)
def attack_trickle(env, name, i, rnd, deadline):
    variant = ["public", "echo-no-cert", "public-chunked"][i % 3]
    env.stats.label(name, variant)
    cert = "none" if variant == "echo-no-cert" else "valid"
    path = "/echo/trickle" if variant == "echo-no-cert" else "/public/trickle"
    length = 40
    c = Conn(env, cert)
    try:
        if variant == "public-chunked":
            c.send(f"POST {path} HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
            body = b"".join(b"1\r\nx\r\n" for _ in range(length // 6)) + b"0\r\n\r\n"
        else:
            c.send(f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {length}\r\n\r\n".encode())
            body = b"x" * length
        buf, status, after, sent_all = b"", None, 0, False
        for k in range(len(body)):
            if env.stop.is_set():
                break
            c.send(body[k:k + 1])
            sent_all = k == len(body) - 1
            if status is not None:
                after += 1
                if after >= 4:
                    break
            if _sleep(env, 0.5):
                break
            data = c.poll()
            if data == b"":
                env.stats.inc(name, f"{variant}:closed-mid-body" if status is None else f"{variant}:answered-{status}-mid-body-then-closed")
                return
            if data:
                buf += data
                if status is None and status_of(buf):
                    status = status_of(buf)
                    if sent_all:
                        break
        if status is not None:
            env.stats.inc(name, f"{variant}:answered-{status}-{'after' if sent_all and after == 0 else 'mid'}-body")
            return
        if not sent_all:
            env.stats.inc(name, f"{variant}:cut-short-by-soak-end")
            return
        st, _, _ = read_head(c, 10, buf)
        env.stats.inc(name, f"{variant}:answered-{st}-after-body" if st else f"{variant}:no-answer-after-body")
    finally:
        c.close()


# (b) a 50 MB POST to a path that answers before reading the body
def attack_bigpost(env, name, i, rnd, deadline):
    variant = ["echo-no-cert", "early-backend-close", "echo-expired", "early-backend-drain", "no-route",
               "early-backend-rst", "echo-no-cert-chunked", "echo-slow-backend", "h2-echo-no-cert",
               "h2-early-backend-close"][i % 10]
    env.stats.label(name, variant)
    if variant.startswith("h2-"):
        return h2_bigpost(env, name, variant)
    cert = {"echo-expired": "expired", "echo-no-cert": "none", "echo-no-cert-chunked": "none"}.get(variant, "valid")
    path = {"no-route": "/nowhere/upload", "early-backend-close": "/early/close", "early-backend-drain": "/early/drain",
            "early-backend-rst": "/early/rst"}.get(variant, "/echo/upload")
    size = env.args.big_post_mb * MiB
    chunked = variant.endswith("chunked")
    extra = "x-echo-read-delay-ms: 1\r\n" if variant == "echo-slow-backend" else ""
    c = Conn(env, cert)
    try:
        head = f"POST {path} HTTP/1.1\r\nHost: localhost\r\n{extra}" + (
            "Transfer-Encoding: chunked\r\n\r\n" if chunked else f"Content-Length: {size}\r\n\r\n")
        c.send(head.encode())
        chunk = os.urandom(64 * 1024)
        if chunked:
            chunk = b"%x\r\n" % len(chunk) + chunk + b"\r\n"
        sent, buf, status, stopped = 0, b"", None, "all-sent"
        t_end = now() + 60
        while sent < size:
            if env.stop.is_set() or now() > t_end:
                stopped = "time"
                break
            try:
                c.send(chunk, timeout=5)
            except socket.timeout:
                stopped = "server-stopped-reading"
                break
            except (BrokenPipeError, ConnectionResetError):
                stopped = "server-closed"
                break
            sent += 64 * 1024
            data = c.poll()
            if data == b"":
                stopped = "server-closed"
                break
            if data:
                buf += data
                status = status or status_of(buf)
        if status is None and stopped == "all-sent":
            if chunked:
                c.send(b"0\r\n\r\n")
            st, _, _ = read_head(c, 10, buf)
            status = st
        env.stats.inc(name, f"{variant}:{status}:{stopped}")
        env.stats.inc(name, "MiB-sent", sent // MiB)
    finally:
        c.close()


def h2_bigpost(env, name, variant):
    """HTTP/2 POST of a large body to a path that answers early, honouring flow control."""
    c = Conn(env, "none" if "no-cert" in variant else "valid", alpn=["h2"])
    try:
        if c.tls.selected_alpn_protocol() != "h2":
            env.stats.inc(name, f"{variant}:no-h2-alpn")
            return
        path = "/echo/upload" if "echo" in variant else "/early/close"
        block = b"\x83\x87" + hpack_literal(4, path) + hpack_literal(1, "localhost")
        c.send(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + h2_frame(4, 0, 0) + h2_frame(1, 0x04, 1, block))
        conn_win, stream_win, initial = 65535, 65535, 65535
        size, sent, buf, result, headers = env.args.big_post_mb * MiB, 0, b"", "all-sent", False
        chunk = os.urandom(16384)
        end, last_progress = now() + 60, now()
        while sent < size:
            if env.stop.is_set() or now() > end:
                result = "time"
                break
            n = min(16384, conn_win, stream_win, size - sent)
            if n > 0:
                flags = 0x01 if sent + n >= size else 0
                try:
                    c.send(h2_frame(0, flags, 1, chunk[:n]), timeout=5)
                except (socket.timeout, BrokenPipeError, ConnectionResetError) as exc:
                    result = "send-" + outcome_name(exc)
                    break
                sent += n
                conn_win -= n
                stream_win -= n
                last_progress = now()
            elif now() - last_progress > 5:
                result = "window-closed-5s"
                break
            data = c.poll() if n > 0 else c.recv(0.2)
            if data == b"":
                result = "server-closed"
                break
            if data:
                buf += data
            ended = False
            while len(buf) >= 9:
                length = int.from_bytes(buf[:3], "big")
                if len(buf) < 9 + length:
                    break
                ftype, flags, sid = buf[3], buf[4], struct.unpack(">I", buf[5:9])[0] & 0x7FFFFFFF
                payload = buf[9:9 + length]
                buf = buf[9 + length:]
                if ftype == 4 and not flags & 1:
                    for k in range(0, len(payload) - 5, 6):
                        ident, value = struct.unpack(">HI", payload[k:k + 6])
                        if ident == 4:
                            stream_win += value - initial
                            initial = value
                    c.send(h2_frame(4, 1, 0))
                elif ftype == 8 and len(payload) == 4:
                    inc = struct.unpack(">I", payload)[0] & 0x7FFFFFFF
                    if sid == 0:
                        conn_win += inc
                    else:
                        stream_win += inc
                elif ftype == 1 and sid == 1:
                    headers = True
                elif ftype == 3 and sid == 1:
                    result = f"rst-stream-{struct.unpack('>I', payload)[0] if len(payload) == 4 else '?'}"
                    ended = True
                elif ftype == 7:
                    result = "goaway"
                    ended = True
                elif ftype == 6 and not flags & 1:
                    c.send(h2_frame(6, 1, 0, payload))
            if ended:
                break
        env.stats.inc(name, f"{variant}:{'answered' if headers else 'no-answer'}:{result}")
        env.stats.inc(name, "MiB-sent", sent // MiB)
    finally:
        c.close()


# (c) Upgrade: websocket or CONNECT, then junk streamed for 10 s
def attack_upgrade(env, name, i, rnd, deadline):
    variant = ["websocket", "connect", "websocket-echo", "h2c"][i % 4]
    env.stats.label(name, variant)
    cert = "valid"
    if variant == "connect":
        head = "CONNECT localhost:443 HTTP/1.1\r\nHost: localhost:443\r\n\r\n"
    elif variant == "h2c":
        head = ("GET /public/h2c HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n")
    else:
        path = "/echo/ws" if variant == "websocket-echo" else "/public/ws"
        head = (f"GET {path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    c = Conn(env, cert)
    try:
        c.send(head.encode())
        buf = b""
        data = c.recv(1.0)
        if data:
            buf += data
        junk_end = now() + env.args.junk_seconds
        sent, result = 0, "streamed-10s"
        chunk = os.urandom(32 * 1024)
        while now() < junk_end and not env.stop.is_set():
            try:
                c.send(chunk, timeout=3)
            except socket.timeout:
                result = "server-stopped-reading"
                break
            except (BrokenPipeError, ConnectionResetError):
                result = "server-closed"
                break
            sent += len(chunk)
            data = c.poll()
            if data == b"":
                result = "server-closed"
                break
            if data:
                buf = (buf + data)[:4096]
            time.sleep(env.args.junk_interval)
        env.stats.inc(name, f"{variant}:{status_of(buf)}:{result}")
        env.stats.inc(name, "MiB-junk-sent", sent // MiB)
    finally:
        c.close()


# (d) request spellings, Host games, raw SNI values
PATH_VARIANTS = [
    "/echo/%61", "/echo;x=1", "/echo/users/1;x=1", "/echo/%2e%2e/public/x", "/echo/..;/public/x",
    "/public/..;/echo/users/1", "/public/%2e%2e/echo/users/1", "/public/%2E%2E%2Fecho/users/1",
    "/public/..%2fecho/users/1", "/public\\..\\echo\\users\\1", "/echo\\users\\1", "//echo/users/1",
    "/ECHO/users/1", "/Echo/users/1", "/echo%2fusers/1", "/%65cho/users/1", "/public/%00", "/public/%ff%fe",
    "/public/./x", "/echo/./users/1", "*", "https://localhost/echo/users/1", "http://evil.example/echo/users/1",
    "/public/" + "a" * 9000, "/public/\x1b[2J", "/public/%0d%0aX-Injected:%201",
]


def attack_spelling(env, name, i, rnd, deadline):
    kinds = len(PATH_VARIANTS) + 8
    k = i % kinds
    cert = "none" if (i // kinds) % 2 == 0 else "expired"  # never a valid certificate: /echo must stay shut
    if k < len(PATH_VARIANTS):
        target = PATH_VARIANTS[k]
        req = f"GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode("latin-1")
        label = "path " + repr(target[:40])
    elif k == len(PATH_VARIANTS):
        req, label = b"GET /echo/users/1 HTTP/1.1\r\nConnection: close\r\n\r\n", "missing Host"
    elif k == len(PATH_VARIANTS) + 1:
        req, label = b"GET /echo/users/1 HTTP/1.1\r\nHost: localhost\r\nHost: evil\r\nConnection: close\r\n\r\n", "two Hosts"
    elif k == len(PATH_VARIANTS) + 2:
        req, label = b"GET /echo/users/1 HTTP/1.1\r\nHost: other.example\r\nConnection: close\r\n\r\n", "Host other"
    elif k == len(PATH_VARIANTS) + 3:
        req, label = b"GET /echo/users/1 HTTP/1.0\r\n\r\n", "HTTP/1.0 no Host"
    elif k == len(PATH_VARIANTS) + 4:
        req, label = (b"GET /echo/users/1 HTTP/1.1\r\nHost: localhost\r\nX-ARR-ClientCert: MIIB\r\n"
                      b"X-Client-Cert: forged\r\nConnection: close\r\n\r\n"), "forged cert headers"
    elif k == len(PATH_VARIANTS) + 5:
        req, label = (b"GET /public/x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n"
                      b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /echo/users/1 HTTP/1.1\r\nHost: localhost\r\n\r\n"), "CL+TE smuggle"
    elif k == len(PATH_VARIANTS) + 6:
        return sni_variant(env, name, i, rnd)
    else:
        return sni_variant(env, name, i + 1, rnd)
    c = Conn(env, cert)
    try:
        c.send(req)
        buf, how = read_to_eof(c, 5)
        st = status_of(buf)
        env.stats.inc(name, f"status-{st}")
        # A response from the /echo backend (its Host is the backend's) without a valid certificate
        # would mean the policy was bypassed.
        if b'"host":"%s:%d"' % (HOST.encode(), env.b1_port) in buf:
            env.stats.inc(name, "SECURITY:reached-echo-backend-without-valid-cert")
            env.stats.note(name, f"SECURITY: {label} with cert={cert} reached the /echo backend: {buf[:200]!r}")
        if st is None:
            env.stats.note(name, f"{label}: no status ({how})")
        else:
            env.stats.note(name, f"{label}: {st}", limit=64)
    finally:
        c.close()


SNI_VALUES = ["a\r\nb", "localhost\r\nX-Injected: 1", "a\x1bb", "\x1b[31mlocalhost", "LOCALHOST",
              "127.0.0.1", "evil.example", "a b"]
RAW_SNI = [b"x" * 255, b"local\x00host", b"\xff\xfe", b"localhost\r\n", b"localhost."]


def sni_variant(env, name, i, rnd):
    """Odd SNI: values Python can send go through a whole request; the others are patched into the
    ClientHello bytes (same length, so the lengths stay right) and only the server's first answer is read."""
    if (i // 2) % 3 != 2:
        value = SNI_VALUES[(i // 6) % len(SNI_VALUES)]
        try:
            c = Conn(env, "none", sni=value, timeout=5)
        except (ssl.SSLError, OSError) as exc:
            env.stats.inc(name, f"sni {value!r}: handshake {outcome_name(exc)}")
            return
        try:
            c.send(b"GET /public/sni HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            buf, _ = read_to_eof(c, 5)
            env.stats.inc(name, f"sni {value!r}: {status_of(buf)}")
        finally:
            c.close()
        return
    raw = RAW_SNI[(i // 6) % len(RAW_SNI)]
    placeholder = ".".join("z" * 50 for _ in range(len(raw) // 51 + 1))[:len(raw)]
    if placeholder.endswith("."):
        placeholder = placeholder[:-1] + "z"
    c = Conn(env, "none", sni=placeholder, handshake=False, timeout=5)
    try:
        try:
            c.tls.do_handshake()
        except ssl.SSLWantReadError:
            pass
        hello = c.out.read()
        assert placeholder.encode() in hello
        c.sock.sendall(hello.replace(placeholder.encode(), raw))
        c.sock.settimeout(5)
        try:
            first = c.sock.recv(5)
            reply = {b"\x16": "server-hello", b"\x15": "alert"}.get(first[:1], "eof" if not first else "other")
        except socket.timeout:
            reply = "timeout"
        except ConnectionResetError:
            reply = "reset"
        env.stats.inc(name, f"raw sni {raw[:12]!r}{'...' if len(raw) > 12 else ''}: {reply}")
    finally:
        c.close(rst=True)


# (e) slowloris: many connections, a header byte every few seconds; some idle after the handshake
def attack_slowloris(env, name, deadline):
    sel = selectors.DefaultSelector()
    conns = {}  # sock -> dict
    target = env.args.slowloris
    opened = 0
    max_open = target * 50
    rnd = random.Random(7)
    with InFlight(env.stats, name):
        try:
            while not env.stop.is_set() and now() < deadline:
                # top up, a few per round
                for _ in range(10):
                    if len(conns) >= target or opened >= max_open or not env.gw_up.is_set():
                        break
                    idle = opened % 10 == 0
                    try:
                        c = Conn(env, "valid" if opened % 2 else "none", timeout=5)
                        if not idle:
                            c.send(b"GET /public/slow HTTP/1.1\r\nHost: localhost\r\n")
                        c.sock.setblocking(False)
                    except Exception as exc:  # noqa: BLE001
                        env.stats.inc(name, "open-failed:" + outcome_name(exc))
                        break
                    opened += 1
                    env.stats.inc(name, "opened-idle" if idle else "opened")
                    state = {"c": c, "born": now(), "next": now() + rnd.uniform(1, env.args.slowloris_interval),
                             "idle": idle, "n": 0}
                    conns[c.sock] = state
                    sel.register(c.sock, selectors.EVENT_READ, state)
                for key, _ in sel.select(timeout=0.2):
                    st = key.data
                    c = st["c"]
                    try:
                        c.sock.settimeout(0.5)
                        data = c.recv(0.2)
                    except Exception:  # noqa: BLE001
                        data = b""
                    if data is None:
                        c.sock.setblocking(False)
                        continue
                    lived = now() - st["born"]
                    status = status_of(data)
                    kind = "idle" if st["idle"] else "slow"
                    env.stats.inc(name, f"{kind}:server-{'answered-' + str(status) if status else 'closed'}"
                                        f":after-{'<5' if lived < 5 else '<15' if lived < 15 else '<65' if lived < 65 else '>=65'}s")
                    sel.unregister(c.sock)
                    del conns[c.sock]
                    c.close()
                t = now()
                for sock, st in list(conns.items()):
                    if st["idle"] or t < st["next"]:
                        continue
                    st["next"] = t + env.args.slowloris_interval
                    st["n"] += 1
                    try:
                        c = st["c"]
                        c.sock.settimeout(1)
                        line = b"X-Slow-%04d: a\r\n" % (st["n"] // 16 % 10000)  # 16 bytes a line, never the blank line
                        c.send(line[st["n"] % 16:st["n"] % 16 + 1], timeout=1)
                        c.sock.setblocking(False)
                        env.stats.inc(name, "bytes-trickled")
                    except Exception as exc:  # noqa: BLE001
                        env.stats.inc(name, "send-failed:" + outcome_name(exc))
                        sel.unregister(sock)
                        del conns[sock]
                        st["c"].close()
        finally:
            env.stats.inc(name, "still-open-at-end", len(conns))
            for st in conns.values():
                st["c"].close()
            sel.close()


# (f) half-closed connections
def attack_halfclose(env, name, i, rnd, deadline):
    variant = ["shut-wr-after-get", "close-notify-after-get", "shut-wr-after-post", "shut-wr-mid-head",
               "shut-wr-mid-body"][i % 5]
    env.stats.label(name, variant)
    c = Conn(env, "valid")
    try:
        if variant in ("shut-wr-after-get", "close-notify-after-get"):
            c.send(b"GET /public/half HTTP/1.1\r\nHost: localhost\r\n\r\n")
        elif variant == "shut-wr-after-post":
            c.send(b"POST /echo/half HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello")
        elif variant == "shut-wr-mid-head":
            c.send(b"GET /public/half HTTP/1.1\r\nHost: loc")
        else:
            c.send(b"POST /echo/half HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\nhello")
        if variant == "close-notify-after-get":
            c.close_notify()
        else:
            c.half_close()
        buf, how = read_to_eof(c, 15)
        env.stats.inc(name, f"{variant}:{status_of(buf)}:{how}")
    finally:
        c.close()


# (g) clients vanishing mid-body (RST with SO_LINGER 0, or a plain FIN without close_notify)
def attack_vanish(env, name, i, rnd, deadline):
    variant = ["echo-rst", "echo-fin", "public-rst", "echo-chunked-rst", "public-slow-backend-rst"][i % 5]
    env.stats.label(name, variant)
    path = "/public/vanish" if variant.startswith("public") else "/echo/vanish"
    total = 1 * MiB
    c = Conn(env, "valid")
    try:
        extra = "x-echo-read-delay-ms: 5\r\n" if "slow-backend" in variant else ""
        if "chunked" in variant:
            c.send(f"POST {path} HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
            c.send(b"%x\r\n" % total + os.urandom(total // 2))
        else:
            c.send(f"POST {path} HTTP/1.1\r\nHost: localhost\r\n{extra}Content-Length: {total}\r\n\r\n".encode())
            c.send(os.urandom(total // 2))
        time.sleep(rnd.uniform(0, 0.3))
        env.stats.inc(name, variant)
    finally:
        c.close(rst=variant.endswith("rst"))


# (h) HTTP/2 rapid reset: HEADERS then RST_STREAM, in batches
def h2_frame(ftype, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", stream) + payload


def hpack_literal(index, value):
    v = value.encode()
    return bytes([index]) + bytes([len(v)]) + v  # literal without indexing, indexed name, short value


def attack_h2reset(env, name, i, rnd, deadline):
    c = Conn(env, "valid" if i % 2 == 0 else "none", alpn=["h2"])
    try:
        if c.tls.selected_alpn_protocol() != "h2":
            env.stats.inc(name, "no-h2-alpn")
            return
        c.send(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + h2_frame(4, 0, 0) +
               h2_frame(8, 0, 0, struct.pack(">I", 1 << 24)))
        sid, buf, goaway, resets = 1, b"", None, 0
        for batch in range(env.args.h2_batches):
            if env.stop.is_set():
                break
            out = []
            for _ in range(100):
                path = "/echo/rr" if sid % 4 == 1 else "/public/rr"
                block = b"\x82\x87" + hpack_literal(4, path) + hpack_literal(1, "localhost")
                out.append(h2_frame(1, 0x05, sid, block))  # HEADERS, END_STREAM|END_HEADERS
                out.append(h2_frame(3, 0, sid, struct.pack(">I", 8)))  # RST_STREAM CANCEL
                sid += 2
                resets += 1
            try:
                c.send(b"".join(out), timeout=5)
            except (socket.timeout, BrokenPipeError, ConnectionResetError) as exc:
                env.stats.inc(name, "send-stopped:" + outcome_name(exc))
                break
            for _ in range(1000):
                data = c.poll()
                if data == b"":
                    goaway = goaway or "eof"
                    break
                if not data:
                    break
                buf += data
            while len(buf) >= 9:
                length = int.from_bytes(buf[:3], "big")
                if len(buf) < 9 + length:
                    break
                ftype, flags = buf[3], buf[4]
                payload = buf[9:9 + length]
                buf = buf[9 + length:]
                if ftype == 4 and not flags & 1:
                    c.send(h2_frame(4, 1, 0))
                elif ftype == 6 and not flags & 1:
                    c.send(h2_frame(6, 1, 0, payload))
                elif ftype == 7:
                    code = struct.unpack(">I", payload[4:8])[0] if len(payload) >= 8 else -1
                    goaway = f"goaway-{code}"
            if goaway:
                break
            time.sleep(0.01)
        env.stats.inc(name, "streams-reset", resets)
        env.stats.inc(name, f"connection-end:{goaway or 'open-at-end'}")
    finally:
        c.close()


# (i) TLS handshakes abandoned halfway, or with junk
def client_hello(env):
    c = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = env.context("valid").wrap_bio(c[0], c[1], server_hostname=SNI)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return c[1].read()


def attack_tlsjunk(env, name, i, rnd, deadline):
    variant = ["rst-after-connect", "partial-hello", "hello-then-rst", "random-junk", "plaintext-http",
               "huge-record", "hello-then-junk", "fin-after-connect"][i % 8]
    env.stats.label(name, variant)
    s = socket.create_connection((HOST, env.gw_port), timeout=5)
    reply = ""
    try:
        if variant == "partial-hello":
            s.sendall(client_hello(env)[:60])
            time.sleep(rnd.uniform(0.1, 2))
        elif variant in ("hello-then-rst", "hello-then-junk"):
            s.sendall(client_hello(env))
            first = s.recv(5)
            reply = "server-hello" if first[:1] == b"\x16" else "other"
            if variant == "hello-then-junk":
                s.sendall(os.urandom(2000))
                try:
                    s.settimeout(5)
                    data = s.recv(64)
                    reply += "/alert" if data[:1] == b"\x15" else "/eof" if not data else "/other"
                except (socket.timeout, ConnectionResetError) as exc:
                    reply += "/" + outcome_name(exc)
        elif variant == "random-junk":
            s.sendall(os.urandom(1024))
        elif variant == "plaintext-http":
            s.sendall(b"GET /public/x HTTP/1.1\r\nHost: localhost\r\n\r\n")
        elif variant == "huge-record":
            s.sendall(b"\x16\x03\x01\xff\xff" + os.urandom(3000))
        elif variant == "fin-after-connect":
            s.shutdown(socket.SHUT_WR)
        if variant in ("random-junk", "plaintext-http", "huge-record", "fin-after-connect"):
            try:
                s.settimeout(5)
                data = s.recv(64)
                reply = "alert" if data[:1] == b"\x15" else "eof" if not data else "other"
            except (socket.timeout, ConnectionResetError) as exc:
                reply = outcome_name(exc)
        env.stats.inc(name, f"{variant}:{reply}" if reply else variant)
    finally:
        if variant != "fin-after-connect":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()


def attack_tlshold(env, name, i, rnd, deadline):
    """A batch of handshakes stopped after the ClientHello, held until the server closes them (it should,
    after its handshake timeout) or 20 s."""
    socks = []
    hello = client_hello(env)
    for k in range(env.args.hold_batch):
        try:
            s = socket.create_connection((HOST, env.gw_port), timeout=5)
            s.sendall(hello if k % 2 else hello[:30])
            socks.append((s, now()))
        except OSError as exc:
            env.stats.inc(name, "connect:" + outcome_name(exc))
    sel = selectors.DefaultSelector()
    for s, born in socks:
        sel.register(s, selectors.EVENT_READ, born)
    pending = {s for s, _ in socks}
    end = now() + 20
    while pending and now() < end and not env.stop.is_set():
        for key, _ in sel.select(0.5):
            s = key.fileobj
            try:
                data = s.recv(65536)
            except OSError:
                data = b""
            if data:
                continue
            lived = now() - key.data
            env.stats.inc(name, f"server-closed-after-{'<9' if lived < 9 else '<13' if lived < 13 else '>=13'}s")
            sel.unregister(s)
            pending.discard(s)
    env.stats.inc(name, "still-open-at-20s-or-end", len(pending))
    sel.close()
    for s, _ in socks:
        s.close()


# (j) hostile client certificates (and none)
def attack_badcert(env, name, i, rnd, deadline):
    cert = ["expired", "revoked", "unknown-ca", "none"][i % 4]
    env.stats.label(name, cert)
    try:
        c = Conn(env, cert, timeout=5)
    except (ssl.SSLError, OSError) as exc:
        env.stats.inc(name, f"{cert}:handshake-{outcome_name(exc)}")
        return
    try:
        for k in range(3):  # keep-alive: a few requests per connection
            path = ["/echo/users/1", "/echo/orders", "/echo/"][k]
            c.send(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
            st, head, rest = read_head(c, 10)
            if st is None:
                env.stats.inc(name, f"{cert}:{head}")
                return
            body = read_body(c, head, rest, 5)
            env.stats.inc(name, f"{cert}:{st}")
            if st != 403:
                env.stats.inc(name, f"SECURITY:{cert}-got-{st}")
                env.stats.note(name, f"SECURITY: {cert} certificate got {st} on {path}: {body[:160]!r}")
            if re.search(rb"(?im)^connection:\s*close", head):
                return
    finally:
        c.close()


# (k) backend restarts
def backend_restarter(env, deadline):
    name = "k-backend-restart"
    k = 0
    while not env.stop.wait(env.args.restart_every) and now() < deadline - 3:
        with InFlight(env.stats, name):
            sig = signal.SIGKILL if k % 2 == 0 else signal.SIGTERM
            t_down = now()
            env.b1.send_signal(sig)
            try:
                env.b1.wait(5)
            except subprocess.TimeoutExpired:
                env.b1.kill()
                env.b1.wait()
            env.stop.wait(env.args.restart_down)
            try:
                env.b1 = env.start_backend(env.b1_port, "backend-echo")
                env.stats.inc(name, f"restarted-after-{signal.Signals(sig).name}")
            except RuntimeError as exc:
                env.stats.inc(name, "restart-failed")
                env.stats.note(name, str(exc))
            env.backend_windows.append((t_down, now() + env.args.restart_grace))
            k += 1


# --------------------------------------------------------------------------------------------------
# Monitor: RSS every second, liveness, restart after a death (unless --stop-on-crash)

def read_status(pid):
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM", "Threads"):
                    out[k] = int(v.split()[0])
        out["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
            out["cpu_s"] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        pass
    return out


CRASH_MARK = re.compile(rb"\*\*\* Signal \d+|\*\*\* Program crashed|Fatal error")


def crash_onset(env):
    """True once the gateway has trapped: Swift's backtracer runs as a child process of the crashing
    gateway (which stays alive, frozen, for several seconds while it writes the backtrace); the log's
    crash marker (written at the end of the backtrace) is the fallback."""
    try:
        for task in os.listdir(f"/proc/{env.gw.pid}/task"):
            with open(f"/proc/{env.gw.pid}/task/{task}/children") as f:
                if f.read().strip():
                    return True
    except OSError:
        pass
    try:
        with open(env.gw_log, "rb") as f:
            f.seek(env.log_offset)
            chunk = f.read()
    except OSError:
        return False
    if not chunk:
        return False
    cut = chunk.rfind(b"\n") + 1
    env.log_offset += cut
    return bool(CRASH_MARK.search(chunk[:cut]))


def monitor(env, deadline):
    limit_kib = env.args.rss_limit_mb * 1024
    last_sample = 0.0
    while not env.stop.is_set() and now() < deadline:
        gw = env.gw
        if env.onset is None and crash_onset(env):
            env.onset = {"t": env.elapsed(), "mono": now(), "attacks": env.stats.snapshot_inflight()}
            env.gw_up.clear()
            print(f"[soak] t={env.elapsed():.1f}s crash marker in the gateway log; attacks in flight or just"
                  f" started: {', '.join(env.onset['attacks'])}", flush=True)
        if gw.poll() is not None:
            handle_death(env, deadline)
            continue
        if now() - last_sample < 1.0:
            env.stop.wait(0.25)
            continue
        last_sample = now()
        st = read_status(gw.pid)
        if gw.poll() is None and st:
            env.rss_samples.append((env.elapsed(), st.get("VmRSS", 0)))
            env.hwm_kib = max(env.hwm_kib, st.get("VmHWM", 0))
            env.proc_samples = st
            if env.first is None:
                env.first = st
            if st.get("VmRSS", 0) > limit_kib:
                env.deaths.append({"t": env.elapsed(), "returncode": "killed-by-soak-rss-limit",
                                   "inflight": env.stats.snapshot_inflight(), "rss_kib": st.get("VmRSS")})
                gw.kill()
                gw.wait()
                handle_death(env, deadline, already_recorded=True)


def handle_death(env, deadline, already_recorded=False):
    onset, env.onset = env.onset, None
    t = onset["mono"] if onset else now()
    env.gw_up.clear()
    if not already_recorded:
        env.deaths.append({"t": round(onset["t"] if onset else env.elapsed(), 1), "returncode": env.gw.returncode,
                           "inflight": onset["attacks"] if onset else env.stats.snapshot_inflight(),
                           "exit_seen_after_s": round(now() - t, 1),
                           "rss_kib": env.rss_samples[-1][1] if env.rss_samples else None})
    print(f"[soak] t={env.elapsed():.1f}s gateway died: {env.deaths[-1]}", flush=True)
    if env.args.stop_on_crash or now() > deadline - 5:
        env.stop.set()
        env.gateway_windows.append((t, now() + 1e9))
        return
    try:
        env.start_gateway()
    except RuntimeError as exc:
        print(f"[soak] restart failed: {exc}", flush=True)
        env.stop.set()
    env.gateway_windows.append((t, now() + 1.0))


# --------------------------------------------------------------------------------------------------

ATTACKS = {
    "a-trickle": (attack_trickle, 3, 0.2),
    "b-bigpost": (attack_bigpost, 1, 0.5),
    "c-upgrade-junk": (attack_upgrade, 1, 1.0),
    "d-spelling-sni": (attack_spelling, 1, 0.02),
    "f-half-close": (attack_halfclose, 2, 0.1),
    "g-vanish-mid-body": (attack_vanish, 1, 0.2),
    "h-h2-rapid-reset": (attack_h2reset, 1, 1.0),
    "i-tls-junk": (attack_tlsjunk, 1, 0.05),
    "i-tls-held": (attack_tlshold, 1, 1.0),
    "j-bad-certs": (attack_badcert, 2, 0.05),
}
SPECIAL = ["e-slowloris", "k-backend-restart"]
LOG_PATTERNS = re.compile(r"Fatal error|Segmentation fault|SIGSEGV|SIGILL|SIGABRT|SIGBUS|Illegal instruction|"
                          r"Trace/breakpoint|Aborted|Current stack trace|💣|Crash|precondition failed|"
                          r"assertion failed|Thread \d+ crashed|backtrace", re.I)


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, int(round(p / 100.0 * (len(sorted_values) - 1)))))
    return sorted_values[k]


def overlaps(t0, t1, windows):
    return any(t0 < b and t1 > a for a, b in windows)


def summarize(env, normal, started, ended, gw_exit):
    recs = list(normal.records)
    buckets = {"outside": [], "backend-down": [], "gateway-down": []}
    for r in recs:
        t0, t1, kind, ok, detail = r
        if overlaps(t0, t1, env.gateway_windows):
            buckets["gateway-down"].append(r)
        elif kind == "echo" and overlaps(t0, t1, env.backend_windows):
            buckets["backend-down"].append(r)
        else:
            buckets["outside"].append(r)

    def rate(rs):
        fails = sum(1 for r in rs if not r[3])
        return len(rs), fails, (100.0 * fails / len(rs) if rs else 0.0)

    lat = sorted((r[1] - r[0]) * 1000 for r in buckets["outside"] if r[3])
    out = buckets["outside"]
    per_kind = {k: rate([r for r in out if r[2] == k]) for k in ("echo", "public")}
    fail_kinds = collections.Counter(f"{r[2]}:{r[4]}" for r in out if not r[3])
    down_kinds = collections.Counter(f"{r[2]}:{r[4]}" for r in buckets["backend-down"] if not r[3])

    log_hits = []
    try:
        with open(env.gw_log, errors="replace") as f:
            for line in f:
                if LOG_PATTERNS.search(line):
                    log_hits.append(line.rstrip()[:300])
    except OSError:
        pass

    crashed = bool(env.deaths) or bool(log_hits) or (isinstance(gw_exit, int) and gw_exit != 0)
    security = {a: {k: v for k, v in c.items() if k.startswith("SECURITY")} for a, c in env.stats.counts.items()}
    security = {a: v for a, v in security.items() if v}
    rss_values = [r for _, r in env.rss_samples]
    summary = {
        "duration_s": round(ended - started, 1),
        "requested_s": env.args.duration,
        "normal": {
            "threads": env.args.normal_threads,
            "sent": len(recs),
            "outside_windows": {"sent": rate(out)[0], "failed": rate(out)[1], "error_rate_pct": round(rate(out)[2], 4),
                                "by_path": {k: {"sent": v[0], "failed": v[1]} for k, v in per_kind.items()},
                                "failure_kinds": dict(fail_kinds.most_common(12))},
            "backend_down_windows": {"windows": len(env.backend_windows),
                                     "seconds": round(sum(b - a for a, b in env.backend_windows), 1),
                                     "sent": rate(buckets["backend-down"])[0],
                                     "failed": rate(buckets["backend-down"])[1],
                                     "failure_kinds": dict(down_kinds.most_common(8))},
            "gateway_down_windows": {"sent": rate(buckets["gateway-down"])[0],
                                     "failed": rate(buckets["gateway-down"])[1]},
            "latency_ms": {"p50": round(percentile(lat, 50), 2), "p99": round(percentile(lat, 99), 2),
                           "max": round(lat[-1], 2) if lat else None},
        },
        "gateway": {
            "peak_rss_mib": round(max([env.hwm_kib] + rss_values) / 1024, 1),
            "rss_first_mib": round(rss_values[0] / 1024, 1) if rss_values else None,
            "rss_last_mib": round(rss_values[-1] / 1024, 1) if rss_values else None,
            "rss_every_10s_mib": [round(r / 1024) for t, r in env.rss_samples[::10]],
            "threads_last": env.proc_samples.get("Threads"),
            "fds_first": (env.first or {}).get("fds"),
            "fds_last": env.proc_samples.get("fds"),
            "cpu_s_last_process": env.proc_samples.get("cpu_s"),
            "exit_after_sigterm": gw_exit,
        },
        "crashed": crashed,
        "deaths": env.deaths,
        "log_fatal_lines": log_hits[:20],
        "security_findings": security,
        "attacks": {a: dict(sorted(c.items())) for a, c in sorted(env.stats.counts.items())},
        "notes": dict(env.stats.notes),
        "work_dir": env.work,
    }
    return summary


def print_summary(s):
    n, g = s["normal"], s["gateway"]
    o, b, gd = n["outside_windows"], n["backend_down_windows"], n["gateway_down_windows"]
    print("\n================ Drawbridge soak summary ================")
    print(f"duration            {s['duration_s']} s (requested {s['requested_s']} s)")
    print(f"normal requests     {n['sent']} sent by {n['threads']} keep-alive mTLS threads (/echo with the policy, /public)")
    print(f"  outside windows   {o['sent']} sent, {o['failed']} failed, error rate {o['error_rate_pct']:.4f} %"
          f"  (/echo {o['by_path']['echo']['sent']}/{o['by_path']['echo']['failed']} failed,"
          f" /public {o['by_path']['public']['sent']}/{o['by_path']['public']['failed']} failed)")
    if o["failure_kinds"]:
        print(f"    failure kinds   {o['failure_kinds']}")
    print(f"  backend down      {b['windows']} restarts, {b['seconds']} s in windows: {b['sent']} /echo requests,"
          f" {b['failed']} failed {b['failure_kinds'] or ''}")
    print(f"  gateway down      {gd['sent']} sent, {gd['failed']} failed (after a death)")
    print(f"  latency (ok, outside windows)  p50 {n['latency_ms']['p50']} ms, p99 {n['latency_ms']['p99']} ms,"
          f" max {n['latency_ms']['max']} ms")
    print(f"gateway RSS         peak {g['peak_rss_mib']} MiB (VmHWM), first {g['rss_first_mib']} MiB, last {g['rss_last_mib']} MiB")
    print(f"  every 10 s (MiB)  {g['rss_every_10s_mib']}")
    print(f"  threads {g['threads_last']}, fds first {g['fds_first']} last {g['fds_last']}, CPU {g['cpu_s_last_process']} s,"
          f" exit after SIGTERM: {g['exit_after_sigterm']}")
    print(f"crash               {'YES' if s['crashed'] else 'no'}")
    for d in s["deaths"]:
        print(f"  died at t={d['t']:.1f}s, code {d['returncode']}, RSS {d['rss_kib']} KiB, attacks in flight: {', '.join(d['inflight'])}")
    for line in s["log_fatal_lines"]:
        print(f"  log: {line}")
    if s["security_findings"]:
        print(f"SECURITY            {s['security_findings']}")
    print("attacks (outcome: count)")
    for a, c in s["attacks"].items():
        total = sum(v for k, v in c.items() if not k.startswith(("MiB", "bytes", "streams", "still")))
        print(f"  {a}  ({total} events)")
        for k, v in c.items():
            print(f"      {k}: {v}")
    for a, notes in s["notes"].items():
        if a.startswith("d-") or any(x.startswith("SECURITY") for x in notes):
            for x in notes:
                print(f"  note {a}: {x}")
    print(f"logs and summary.json in {s['work_dir']}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", required=True, help="path of the drawbridge executable")
    ap.add_argument("--duration", type=float, default=300.0, help="seconds of load (default 300)")
    ap.add_argument("--quick", action="store_true", help="60 s, fewer slowloris connections")
    ap.add_argument("--work-dir", help="folder for PKI, config, logs (default: a new /tmp folder)")
    ap.add_argument("--normal-threads", type=int, default=4)
    ap.add_argument("--normal-rate", type=float, default=40.0, help="requests/s per normal thread")
    ap.add_argument("--slowloris", type=int, default=150, help="slowloris connections held open")
    ap.add_argument("--slowloris-interval", type=float, default=3.0)
    ap.add_argument("--big-post-mb", type=int, default=50)
    ap.add_argument("--junk-seconds", type=float, default=10.0)
    ap.add_argument("--junk-interval", type=float, default=0.0,
                    help="pause between 32 KiB junk chunks (0: as fast as the gateway reads; 0.01 ≈ 3 MiB/s)")
    ap.add_argument("--h2-batches", type=int, default=20, help="batches of 100 HEADERS+RST_STREAM per connection")
    ap.add_argument("--hold-batch", type=int, default=20, help="handshakes held open per round")
    ap.add_argument("--restart-every", type=float, default=20.0)
    ap.add_argument("--restart-down", type=float, default=2.0)
    ap.add_argument("--restart-grace", type=float, default=1.0, help="seconds after a restart still counted as down")
    ap.add_argument("--rss-limit-mb", type=int, default=3072, help="kill the gateway (counted as a death) above this")
    ap.add_argument("--stop-on-crash", action="store_true", help="end at the first death instead of restarting")
    ap.add_argument("--skip", default="", help="comma-separated attack names (prefixes: a,b,c,d,e,f,g,h,i,j,k)")
    ap.add_argument("--only", default="", help="run only these attacks (same names), plus the normal traffic")
    args = ap.parse_args()
    if args.quick:
        args.duration = 60.0
        args.slowloris = min(args.slowloris, 60)
    skip = {x.strip() for x in args.skip.split(",") if x.strip()}

    only = {x.strip() for x in args.only.split(",") if x.strip()}

    def enabled(attack):
        if only and attack.split("-")[0] not in only and attack not in only:
            return False
        return attack.split("-")[0] not in skip and attack not in skip

    env = Env(args)
    procs = []
    try:
        print(f"[soak] work dir {env.work}; creating the demo PKI", flush=True)
        env.make_pki()
        env.write_config()
        env.start_crl_server()
        env.b1 = env.start_backend(env.b1_port, "backend-echo")
        env.b2 = env.start_backend(env.b2_port, "backend-public")
        env.start_early_backend()
        env.t0 = now()
        env.start_gateway()
    except Exception as exc:  # noqa: BLE001
        print(f"[soak] setup failed: {exc}", file=sys.stderr)
        for p in (env.gw, env.b1, env.b2):
            if p and p.poll() is None:
                p.kill()
        return 3
    print(f"[soak] gateway pid {env.gw.pid} on https://localhost:{env.gw_port} (127.0.0.1), /echo backend :{env.b1_port}"
          f" (restarted), /public backend :{env.b2_port}, /early backend :{env.b3_port}, CRLs :{env.crl_port}; {args.duration:.0f} s of load", flush=True)

    started = now()
    deadline = started + args.duration
    normal = Normal(env)
    threads = [threading.Thread(target=monitor, args=(env, deadline), name="monitor", daemon=True)]
    for k in range(args.normal_threads):
        threads.append(threading.Thread(target=normal.worker, args=(k, deadline, 10_000_000, args.normal_rate),
                                        name=f"normal-{k}", daemon=True))
    for attack, (fn, count, pause) in ATTACKS.items():
        if enabled(attack):
            for k in range(count):
                threads.append(threading.Thread(target=loop, args=(env, attack, deadline, fn, 100000, pause),
                                                name=f"{attack}-{k}", daemon=True))
    if enabled("e-slowloris"):
        threads.append(threading.Thread(target=attack_slowloris, args=(env, "e-slowloris", deadline), daemon=True))
    if enabled("k-backend-restart"):
        threads.append(threading.Thread(target=backend_restarter, args=(env, deadline), daemon=True))
    for t in threads:
        t.start()

    last_print = now()
    try:
        while now() < deadline and not env.stop.is_set():
            env.stop.wait(1.0)
            if now() - last_print >= 30:
                last_print = now()
                done = len(normal.records)
                fails = sum(1 for r in list(normal.records) if not r[3])
                rss = env.rss_samples[-1][1] // 1024 if env.rss_samples else "?"
                print(f"[soak] t={now() - started:.0f}s normal {done} ({fails} failed) RSS {rss} MiB deaths {len(env.deaths)}",
                      flush=True)
    except KeyboardInterrupt:
        print("[soak] interrupted", flush=True)
    env.stop.set()
    ended = now()
    for t in threads:
        t.join(timeout=max(0.1, ended + 40 - now()))
    stuck = [t.name for t in threads if t.is_alive()]
    if stuck:
        print(f"[soak] threads still running at the end (abandoned): {stuck}", flush=True)

    st = read_status(env.gw.pid) if env.gw.poll() is None else {}
    if st:
        env.hwm_kib = max(env.hwm_kib, st.get("VmHWM", 0))
        env.proc_samples = st
    gw_exit = None
    if env.gw.poll() is None:
        env.gw.send_signal(signal.SIGTERM)
        try:
            gw_exit = env.gw.wait(45)
        except subprocess.TimeoutExpired:
            gw_exit = "no exit 45 s after SIGTERM (killed)"
            env.gw.kill()
            env.gw.wait()
    else:
        gw_exit = f"already dead ({env.gw.returncode})"
    for p in (env.b1, env.b2):
        if p and p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
    if env.crl_server:
        env.crl_server.shutdown()

    s = summarize(env, normal, started, ended, gw_exit)
    with open(os.path.join(env.work, "summary.json"), "w") as f:
        json.dump(s, f, indent=2, default=str)
    print_summary(s)
    if s["crashed"]:
        return 1
    if s["security_findings"]:
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
