#!/usr/bin/python3
"""Byte-exactness client for kspan's header insertion.

Usage: digest_client.py HOST PORT COUNT SEED [--path-prefix P] [--max-header N]
                        [--duration SECONDS]

--path-prefix is prepended to every path (a proxy location that strips it);
--duration keeps sending until that many seconds passed (COUNT is then a
minimum).
Sends COUNT requests with random bodies (0..64 KiB) and random extra headers
(up to 64 KiB in all, each at most --max-header bytes) to a digest server
(servers/digest_server.py, possibly behind a proxy), cycling through four
ways of writing them:
  keepalive  http.client on one reused connection (head and body may go out
             in one write or two)
  fresh      a new connection per request
  split      raw socket: the head written in two pieces cut at a random
             point, then the body in pieces
  pipelined  raw socket: two requests in one write
Every answer must describe exactly the bytes sent (body and header digests);
a traceparent, when present, must be a well-formed version-00 one and the
only one. Prints one JSON line: {"ok", "requests", "mismatches",
"with_traceparent", "errors"}.
"""

import hashlib
import http.client
import json
import random
import re
import socket
import sys
import time

PREFIX = ""  # --path-prefix
TP = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$")


def random_request(rng, i, max_header):
    body = rng.randbytes(rng.randint(0, 64 * 1024)) if rng.random() < 0.7 else b""
    headers = []
    budget = rng.choice([0, 200, 4096, 64 * 1024 - 1024])
    k = 0
    while budget > 0 and k < 16:
        n = min(budget, rng.randint(1, max_header))
        value = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789-_.") for _ in range(n))
        headers.append(("X-Random-%d" % k, value))
        budget -= n
        k += 1
    method = "POST" if body or rng.random() < 0.5 else "GET"
    return method, "/r/%d" % i, headers, body


def expected(method, path, headers, body, host):
    h = hashlib.sha256()
    for name, value in headers:
        h.update(("%s: %s\n" % (name, value)).encode())
    return {"method": method, "path": path, "body_len": len(body),
            "body_sha256": hashlib.sha256(body).hexdigest(), "headers_sha256": h.hexdigest()}


def raw_bytes(method, path, headers, body, host):
    head = "%s %s%s HTTP/1.1\r\nHost: %s\r\n" % (method, PREFIX, path, host)
    for name, value in headers:
        head += "%s: %s\r\n" % (name, value)
    head += "Content-Length: %d\r\n\r\n" % len(body)
    return head.encode(), body


def check(ans, want, stats, what):
    got = {k: ans.get(k) for k in want}
    if got != want:
        stats["mismatches"].append({"what": what, "want": want, "got": got})
    if ans.get("traceparent") is not None:
        stats["with_traceparent"] += 1
        if ans.get("traceparents") != 1 or not TP.match(ans["traceparent"]):
            stats["mismatches"].append({"what": what, "bad traceparent": ans})


def via_http_client(conn, req, host, stats, what):
    method, path, headers, body = req
    conn.putrequest(method, PREFIX + path, skip_host=True, skip_accept_encoding=True)
    conn.putheader("Host", host)
    for name, value in headers:
        conn.putheader(name, value)
    conn.putheader("Content-Length", str(len(body)))
    conn.endheaders(body)
    r = conn.getresponse()
    ans = json.loads(r.read())
    check(ans, expected(method, path, headers, body, host), stats, what)


def read_responses(sock, n):
    """n responses from one buffered reader (pipelined answers share it)."""
    f = sock.makefile("rb")
    out = []
    for _ in range(n):
        status = f.readline()
        if not status.startswith(b"HTTP/1.1 200"):
            raise ValueError("status line %r" % status)
        length = 0
        while True:
            line = f.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
        out.append(json.loads(f.read(length)))
    return out


def via_raw(host_port, reqs, host, rng, split, stats, what):
    with socket.create_connection(host_port, timeout=30) as s:
        if split:
            head, body = raw_bytes(*reqs[0], host)
            cut = rng.randint(1, len(head) - 1)
            s.sendall(head[:cut])
            s.sendall(head[cut:])
            for i in range(0, len(body), 10000):
                s.sendall(body[i:i + 10000])
        else:
            data = b"".join(b"".join(raw_bytes(*r, host)) for r in reqs)
            s.sendall(data)
        answers = read_responses(s, len(reqs))
    for req, ans in zip(reqs, answers):
        check(ans, expected(req[0], req[1], req[2], req[3], host), stats, what)


def main():
    host, port, count, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    prefix, max_header, duration = "", 16 * 1024, 0.0
    args = sys.argv[5:]
    while args:
        if args[0] == "--path-prefix":
            prefix = args[1]
        elif args[0] == "--max-header":
            max_header = int(args[1])
        elif args[0] == "--duration":
            duration = float(args[1])
        args = args[2:]
    global PREFIX
    PREFIX = prefix
    rng = random.Random(seed)
    hostname = "digest.test"
    stats = {"requests": 0, "mismatches": [], "with_traceparent": 0, "errors": []}
    keep = http.client.HTTPConnection(host, port, timeout=30)
    i = 0
    end = time.monotonic() + duration
    while i < count or time.monotonic() < end:
        mode = ("keepalive", "fresh", "split", "pipelined")[i % 4]
        req = random_request(rng, i, max_header)
        try:
            if mode == "keepalive":
                via_http_client(keep, req, hostname, stats, mode)
            elif mode == "fresh":
                c = http.client.HTTPConnection(host, port, timeout=30)
                via_http_client(c, req, hostname, stats, mode)
                c.close()
            elif mode == "split":
                via_raw((host, port), [req], hostname, rng, True, stats, mode)
            else:
                second = random_request(rng, i + 1, max_header)
                via_raw((host, port), [req, second], hostname, rng, False, stats, mode)
                stats["requests"] += 1
                i += 1
        except (OSError, http.client.HTTPException, ValueError) as e:
            stats["errors"].append("%s request %d: %r" % (mode, i, e))
            keep.close()
            keep = http.client.HTTPConnection(host, port, timeout=30)
        stats["requests"] += 1
        i += 1
    stats["ok"] = not stats["mismatches"] and not stats["errors"]
    stats["mismatches"] = stats["mismatches"][:5]
    stats["errors"] = stats["errors"][:5]
    print(json.dumps(stats))


if __name__ == "__main__":
    main()
