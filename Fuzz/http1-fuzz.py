#!/usr/bin/env python3
"""Seeded mutation fuzzer for the gateway's HTTP/1.1 request path, over TLS with a client certificate.

Targets a running demo gateway (`swift run drawbridge serve`: https://localhost:8443, PKI in
./.drawbridge/pki, echo backend on 127.0.0.1:8480). Loopback only: any other host is refused.

Each case opens a TLS connection (client certificate from the demo PKI), sends one mutated request —
sometimes in several pieces, sometimes followed by a well-formed request on the same connection (a
desynchronisation probe) — and reads what comes back within a short deadline. After every batch it
checks that the gateway process is alive (--pid) and that a normal request still gets 200.

Findings (written to --out, one file per input plus findings.jsonl):
  dead       the process exited or a normal request stopped getting 200 after the batch
  5xx        a 500/501/503 that is not a backend answer (502/504 are expected for some inputs)
  hang       a complete head without body got no byte of response within --read-timeout (connection open)
  desync     more responses than requests, or the probe request answered with a response meant for another
Bounded by --max-cases and --duration. Deterministic for a given --seed.

  python3 Fuzz/http1-fuzz.py --pid $(pgrep -n drawbridge) --duration 1200
"""
import argparse, json, os, random, socket, ssl, sys, time

LOOPBACK = {"localhost", "127.0.0.1", "::1"}

SEEDS = [
    b"GET /echo/users/42 HTTP/1.1\r\nHost: localhost\r\nUser-Agent: fuzz\r\nAccept: */*\r\n\r\n",
    b"GET /echo/users/42?x=1&y=%20z HTTP/1.1\r\nHost: localhost:8443\r\nConnection: keep-alive\r\n\r\n",
    b"POST /echo/upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"a\":[1,2,3]}",
    b"POST /echo/upload HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n",
    b"PUT /echo/items/7 HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nExpect: 100-continue\r\n\r\n",
    b"DELETE /echo/items/7 HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer abc.def.ghi\r\n\r\n",
    b"OPTIONS * HTTP/1.1\r\nHost: localhost\r\n\r\n",
    b"GET https://localhost:8443/echo/abs HTTP/1.1\r\nHost: localhost\r\n\r\n",
    b"HEAD /echo/users/1 HTTP/1.1\r\nHost: localhost\r\nCookie: a=b; c=d\r\n\r\n",
    b"GET /echo/users/1 HTTP/1.0\r\n\r\n",
    b"GET /unknown/route HTTP/1.1\r\nHost: localhost\r\n\r\n",
    b"GET /echo/a/../b HTTP/1.1\r\nHost: localhost\r\n\r\n",
    b"PATCH /echo/users/1 HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nabcde",
    b"GET /echo/users/42 HTTP/1.1\r\nHost: localhost\r\nX-Forwarded-For: 1.2.3.4\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n",
]

TOKENS = [
    b"\r\n", b"\n", b"\r", b"\x00", b" ", b"\t", b":", b";", b",", b"%", b"%00", b"%2e%2e", b"%2F", b"..", b"/./", b"//",
    b"Content-Length: ", b"Transfer-Encoding: chunked", b"Transfer-Encoding: chunked, identity", b"Transfer-Encoding: \x0bchunked",
    b"Content-Length: 0", b"Content-Length: -1", b"Content-Length: 99999999999999999999", b"Content-Length: 1, 2",
    b"Host: other.example", b"Host: ", b"Host: localhost\r\nHost: evil", b"Connection: close", b"Expect: 100-continue",
    b" HTTP/1.1", b" HTTP/1.0", b" HTTP/2.0", b" HTTP/9.9", b" HTTP/1.1x", b"GET", b"POST", b"CONNECT", b"TRACE", b"G\x00T",
    b"ffffffffffffffff\r\n", b"0\r\n\r\n", b"-1\r\n", b"1;" + b"a" * 200 + b"\r\n", b"\xc3\xa9", b"\xff\xfe", b"\xed\xa0\x80",
    b" \r\n continued", b"X:" + b"y" * 9000, b"A" * 70000, b"/" * 300, b"?q=" + b"%" * 40, b"#frag", b"@", b"\\",
    b"Trailer: Content-Length", b"Upgrade: websocket", b"Content-Encoding: gzip", b"Range: bytes=0-1,2-3",
]


def mutate(rng, data):
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(12)
        pos = rng.randint(0, len(data))
        if op == 0 and data:  # flip a bit
            i = rng.randrange(len(data)); data[i] ^= 1 << rng.randrange(8)
        elif op == 1 and data:  # replace a byte
            data[rng.randrange(len(data))] = rng.randrange(256)
        elif op == 2:  # insert a token
            data[pos:pos] = rng.choice(TOKENS)
        elif op == 3 and data:  # delete a span
            end = min(len(data), pos + rng.randint(1, 16)); del data[pos:end]
        elif op == 4 and data:  # duplicate a span
            start = rng.randrange(len(data)); span = data[start:start + rng.randint(1, 64)]
            data[pos:pos] = span * rng.randint(1, 8)
        elif op == 5:  # add a header line right after the request line
            line_end = data.find(b"\r\n")
            if line_end >= 0:
                name = rng.choice([b"X-A", b"Content-Length", b"Transfer-Encoding", b"Host", b"Connection", b"Te", b"Expect", b"\x00", b"", b"X Y"])
                value = rng.choice([b"1", b"chunked", b"", b"localhost", b"close", b"trailers", b"a" * rng.randint(1, 40000), b"\xff"])
                data[line_end + 2:line_end + 2] = name + b":" + (b" " if rng.random() < 0.8 else b"") + value + b"\r\n"
        elif op == 6:  # many headers
            line_end = data.find(b"\r\n")
            if line_end >= 0:
                data[line_end + 2:line_end + 2] = b"".join(b"X-%d: v\r\n" % i for i in range(rng.choice([50, 101, 150, 2000])))
        elif op == 7:  # long request target
            sp = data.find(b" ")
            if sp >= 0:
                data[sp + 1:sp + 1] = b"/echo/" + b"a" * rng.choice([100, 8200, 70000]) + b"/"
        elif op == 8:  # bare LF line endings
            data = bytearray(bytes(data).replace(b"\r\n", b"\n", rng.randint(1, 10)))
        elif op == 9:  # truncate
            del data[rng.randint(0, len(data)):]
        elif op == 10:  # splice another seed
            other = rng.choice(SEEDS); cut = rng.randint(0, len(other))
            data[pos:] = other[cut:]
        else:  # random bytes
            data[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 32)))
    return bytes(data[:200_000])


class Target:
    def __init__(self, args):
        self.host, self.port = args.host, args.port
        self.context = ssl.create_default_context(cafile=os.path.join(args.pki, "root-ca.pem"))
        self.context.check_hostname = False
        self.context.load_cert_chain(os.path.join(args.pki, "client.pem"), os.path.join(args.pki, "client-key.pem"))
        self.context.set_alpn_protocols(["http/1.1"])
        self.read_timeout = args.read_timeout

    def connect(self):
        raw = socket.create_connection((self.host, self.port), timeout=5)
        return self.context.wrap_socket(raw, server_hostname="localhost")

    def exchange(self, pieces, rng=None):
        """Sends the pieces and reads until the server closes or goes quiet. Returns (bytes, hung, error)."""
        conn = self.connect()
        try:
            for piece in pieces:
                conn.sendall(piece)
                if rng and len(pieces) > 1:
                    time.sleep(rng.choice([0, 0, 0.001, 0.02]))
            conn.settimeout(self.read_timeout)
            received, hung = b"", False
            deadline = time.time() + self.read_timeout * 2
            while time.time() < deadline:
                try:
                    chunk = conn.recv(65536)
                except socket.timeout:
                    hung = not received
                    break
                if not chunk:
                    break
                received += chunk
                if len(received) > 4_000_000:
                    break
                conn.settimeout(0.3)  # once an answer started, a short quiet period ends it (keep-alive)
            return received, hung, None
        except (ssl.SSLError, OSError) as error:
            return b"", False, type(error).__name__ + ": " + str(error)[:120]
        finally:
            try: conn.close()
            except OSError: pass


def statuses(received):
    out = []
    for line in received.split(b"\r\n"):
        if line.startswith(b"HTTP/1.") and len(line) >= 12 and line[9:12].isdigit():
            out.append(int(line[9:12]))
    return out


def complete_without_body(request):
    """A head that has ended and announces no body: the server owes an answer at once (a truncated
    head or a declared body still to come legitimately waits for headerReadTimeout)."""
    end = request.find(b"\r\n\r\n")
    if end < 0:
        return False
    head = request[:end].lower()
    return not any(word in head for word in (b"content-length", b"transfer-encoding", b"expect"))


def healthy(target, pid):
    if pid:
        try: os.kill(pid, 0)
        except OSError: return False, "process %d is gone" % pid
    try:
        received, _, error = target.exchange([SEEDS[0]])
    except OSError as error:
        return False, "connect failed: %s" % error
    codes = statuses(received)
    if error or not codes or codes[0] != 200:
        return False, "normal request got %s %s" % (codes, error or "")
    return True, ""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="localhost")
    ap.add_argument("--port", type=int, default=8443)
    ap.add_argument("--pki", default=".drawbridge/pki")
    ap.add_argument("--pid", type=int, default=0, help="gateway process id checked after each batch")
    ap.add_argument("--duration", type=float, default=1200, help="seconds (default 20 minutes)")
    ap.add_argument("--max-cases", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--read-timeout", type=float, default=2.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=".build-fuzz/work/http1")
    args = ap.parse_args()
    if args.host not in LOOPBACK:
        sys.exit("refusing a non-loopback host: %s" % args.host)
    os.makedirs(args.out, exist_ok=True)
    rng = random.Random(args.seed)
    target = Target(args)
    ok, why = healthy(target, args.pid)
    if not ok:
        sys.exit("gateway not healthy before fuzzing: " + why)
    findings = open(os.path.join(args.out, "findings.jsonl"), "a")
    counts, kinds = {}, {}
    start, cases, batches = time.time(), 0, 0

    def record(kind, request, detail):
        kinds[kind] = kinds.get(kind, 0) + 1
        name = "%s-%06d" % (kind, cases)
        with open(os.path.join(args.out, name), "wb") as f:
            f.write(request)
        findings.write(json.dumps({"kind": kind, "case": cases, "file": name, "detail": detail}) + "\n")
        findings.flush()

    dead = False
    while cases < args.max_cases and time.time() - start < args.duration and not dead:
        batch = []
        for _ in range(args.batch):
            request = mutate(rng, rng.choice(SEEDS))
            probe = rng.random() < 0.3
            pieces = [request]
            if rng.random() < 0.2 and len(request) > 2:  # split at random points
                cuts = sorted(rng.sample(range(1, len(request)), min(3, len(request) - 1)))
                pieces = [request[i:j] for i, j in zip([0] + cuts, cuts + [len(request)])]
            if probe:
                pieces = pieces + [SEEDS[0]]
            received, hung, error = target.exchange(pieces, rng)
            cases += 1
            codes = statuses(received)
            key = str(codes[0]) if codes else ("hang" if hung else ("error" if error else "closed"))
            counts[key] = counts.get(key, 0) + 1
            batch.append(request)
            if any(c in (500, 501, 503) for c in codes):
                record("5xx", request, {"statuses": codes, "head": received[:300].decode("latin-1")})
            if hung and complete_without_body(request):
                record("hang", request, {"pieces": len(pieces)})
            if len(codes) > (2 if probe else 1) + codes.count(100):
                record("desync", request + (b"\n--probe--\n" if probe else b""), {"statuses": codes})
        batches += 1
        ok, why = healthy(target, args.pid)
        if not ok:
            time.sleep(1)
            ok, why = healthy(target, args.pid)
        if not ok:
            dead = True
            with open(os.path.join(args.out, "dead-batch-%d" % batches), "wb") as f:
                f.write(b"\n=====\n".join(batch))
            findings.write(json.dumps({"kind": "dead", "batch": batches, "detail": why}) + "\n")
            kinds["dead"] = kinds.get("dead", 0) + 1
        if batches % 10 == 0 or dead:
            elapsed = time.time() - start
            print("cases=%d batches=%d elapsed=%.0fs rate=%.1f/s findings=%s answers=%s" % (
                cases, batches, elapsed, cases / elapsed, kinds, dict(sorted(counts.items(), key=lambda kv: -kv[1])[:12])), flush=True)
    elapsed = time.time() - start
    print("DONE cases=%d batches=%d elapsed=%.0fs rate=%.1f/s findings=%s" % (cases, batches, elapsed, cases / elapsed, kinds))
    print("answers: %s" % dict(sorted(counts.items(), key=lambda kv: -kv[1])))
    sys.exit(1 if dead else 0)


if __name__ == "__main__":
    main()
