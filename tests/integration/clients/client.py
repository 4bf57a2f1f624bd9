#!/usr/bin/python3
"""Test clients for the kspan integration tests, one process per run so that
their spans carry their own process.pid.

Usage: client.py COMMAND HOST PORT [args]; prints one JSON object on stdout
(always with "pid" and "local_port") and exits 0 when the exchange went as
expected, 1 otherwise. Every socket operation has a timeout.

  get HOST PORT PATH [-H 'Name: value']...
      one GET with http.client; reports status and body length
  keepalive HOST PORT N
      N GETs of /seq/<i> on ONE http.client connection; checks each body
  mixed HOST PORT N
      N GETs on ONE connection alternating /status/200, /status/404 and
      /status/503, so that a response paired with the wrong request shows
  pipeline HOST PORT PATH [PATH...]
      writes all requests in ONE send() on a raw socket (the last one says
      Connection: close), reads until EOF, counts the responses in order
  raw HOST PORT (--random N | --data TEXT)
      sends the bytes, shuts down its write side, reads until EOF
  echo HOST PORT --size N --rounds R
      sends R blocks of N random bytes to an echo server, checks each echoed
      block is byte-for-byte identical
"""

import argparse
import http.client
import json
import os
import re
import socket
import sys

TIMEOUT = 10.0


def out(obj, ok):
    obj["ok"] = bool(ok)
    obj["pid"] = os.getpid()
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()
    return 0 if ok else 1


def connect(host, port):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(TIMEOUT)
    s.connect((host, port))
    return s


def read_all(s):
    chunks = []
    while True:
        try:
            d = s.recv(65536)
        except socket.timeout:
            return b"".join(chunks), False
        except ConnectionResetError:
            return b"".join(chunks), True
        if not d:
            return b"".join(chunks), True
        chunks.append(d)


def cmd_get(a):
    conn = http.client.HTTPConnection(a.host, a.port, timeout=TIMEOUT)
    headers = {}
    for h in a.header or []:
        k, v = h.split(":", 1)
        headers[k.strip()] = v.strip()
    conn.request("GET", a.path, headers=headers)
    local_port = conn.sock.getsockname()[1]
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return out({"local_port": local_port, "status": r.status, "length": len(body)}, True)


def cmd_keepalive(a):
    conn = http.client.HTTPConnection(a.host, a.port, timeout=TIMEOUT)
    statuses, ok, local_ports = [], True, set()
    for i in range(a.n):
        conn.request("GET", "/seq/%d" % i)
        local_ports.add(conn.sock.getsockname()[1])
        r = conn.getresponse()
        body = r.read()
        statuses.append(r.status)
        if body != b"%d\n" % i:
            ok = False
    conn.close()
    ok = ok and len(local_ports) == 1
    return out({"local_port": min(local_ports), "local_ports": sorted(local_ports),
                "statuses": statuses}, ok)


MIXED_CODES = (200, 404, 503)


def cmd_mixed(a):
    conn = http.client.HTTPConnection(a.host, a.port, timeout=TIMEOUT)
    statuses, ok = [], True
    for i in range(a.n):
        code = MIXED_CODES[i % len(MIXED_CODES)]
        conn.request("GET", "/status/%d" % code)
        r = conn.getresponse()
        r.read()
        statuses.append(r.status)
        ok = ok and r.status == code
    local_port = conn.sock.getsockname()[1]
    conn.close()
    return out({"local_port": local_port, "statuses": statuses}, ok)


def cmd_pipeline(a):
    host_hdr = "[%s]:%d" % (a.host, a.port) if ":" in a.host else "%s:%d" % (a.host, a.port)
    reqs = []
    for i, p in enumerate(a.paths):
        last = i == len(a.paths) - 1
        reqs.append("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: kspan-pipeline\r\n%s\r\n"
                    % (p, host_hdr, "Connection: close\r\n" if last else ""))
    payload = "".join(reqs).encode()
    s = connect(a.host, a.port)
    local_port = s.getsockname()[1]
    s.sendall(payload)  # one send() of all requests
    data, eof = read_all(s)
    s.close()
    statuses = [int(m) for m in re.findall(rb"HTTP/1\.[01] (\d{3}) ", data)]
    ok = eof and len(statuses) == len(a.paths)
    return out({"local_port": local_port, "statuses": statuses, "bytes": len(data),
                "payload_len": len(payload)}, ok)


def cmd_raw(a):
    payload = os.urandom(a.random) if a.random is not None else a.data.encode("latin-1")
    s = connect(a.host, a.port)
    local_port = s.getsockname()[1]
    s.sendall(payload)
    try:
        s.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    data, eof = read_all(s)
    s.close()
    return out({"local_port": local_port, "sent": len(payload), "received": len(data),
                "eof": eof, "head": data[:64].decode("latin-1")}, True)


def recv_exact(s, n):
    buf = bytearray()
    while len(buf) < n:
        d = s.recv(n - len(buf))
        if not d:
            break
        buf += d
    return bytes(buf)


def cmd_echo(a):
    s = connect(a.host, a.port)
    local_port = s.getsockname()[1]
    ok, total = True, 0
    for _ in range(a.rounds):
        block = os.urandom(a.size)
        s.sendall(block)
        back = recv_exact(s, len(block))
        total += len(back)
        if back != block:
            ok = False
            break
    s.close()
    return out({"local_port": local_port, "echoed": total}, ok)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("get", "keepalive", "mixed", "pipeline", "raw", "echo"):
        p = sub.add_parser(name)
        p.add_argument("host")
        p.add_argument("port", type=int)
        if name == "get":
            p.add_argument("path")
            p.add_argument("-H", "--header", action="append")
        elif name in ("keepalive", "mixed"):
            p.add_argument("n", type=int)
        elif name == "pipeline":
            p.add_argument("paths", nargs="+")
        elif name == "raw":
            g = p.add_mutually_exclusive_group(required=True)
            g.add_argument("--random", type=int)
            g.add_argument("--data")
        elif name == "echo":
            p.add_argument("--size", type=int, default=4096)
            p.add_argument("--rounds", type=int, default=8)
    a = ap.parse_args()
    return {"get": cmd_get, "keepalive": cmd_keepalive, "mixed": cmd_mixed,
            "pipeline": cmd_pipeline,
            "raw": cmd_raw, "echo": cmd_echo}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
