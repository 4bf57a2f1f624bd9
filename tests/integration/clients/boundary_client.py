#!/usr/bin/python3
"""HTTP/1.1 requests written the ways that test where kspan may insert its
traceparent: only at the first byte of a real request.

Usage: boundary_client.py HOST PORT MODE COUNT

One connection to servers/digest_server.py, COUNT requests:
  post-body  each request's head (Content-Length) in one send(), then its body,
             which starts like a request ("GET /x HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n"),
             in a second send(); answer read before the next request
  keepalive  head and a Content-Length body in one send(); answer read first
  pipelined  every request in its own send() (head and body in two for odd
             ones), all before any answer is read
  chunked    the first request's body chunked (Transfer-Encoding), the
             others as in keepalive
  full-sndbuf
             a non-blocking socket with a small send buffer (SO_SNDBUF 4096):
             even requests carry a 256 KiB body in one write that the buffer
             cannot take whole, odd ones a small body; head and body in one
             send() each time, the rest pushed as the buffer drains
Each answer must describe exactly the bytes sent (method, path, body). Prints
one JSON line: {"ok", "requests", "mismatches", "traceparents": [count the
server saw, per request]}.
"""

import hashlib
import json
import select
import socket
import sys

FAKE_REQUEST = b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n"


def body_of(i):
    return FAKE_REQUEST + (b"%05d" % i) * (1 + i % 7)


def head(path, length=None, chunked=False):
    h = "POST %s HTTP/1.1\r\nHost: digest\r\n" % path
    if chunked:
        h += "Transfer-Encoding: chunked\r\n"
    else:
        h += "Content-Length: %d\r\n" % length
    return (h + "\r\n").encode()


class Answers:
    def __init__(self, sock):
        self.f = sock.makefile("rb")

    def next(self):
        status = self.f.readline()
        if not status.startswith(b"HTTP/1.1 200"):
            raise SystemExit("bad status line %r" % status)
        length = 0
        while True:
            line = self.f.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
        return json.loads(self.f.read(length))


def send_nonblocking(s, data):
    """All of data through a non-blocking socket, waiting for room."""
    while data:
        try:
            n = s.send(data)
        except BlockingIOError:
            n = 0
        data = data[n:]
        if data and not select.select([], [s], [], 30)[1]:
            raise SystemExit("send buffer never drained")


def main():
    host, port, mode, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    if mode == "full-sndbuf":
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        s.settimeout(30)
        s.connect((host, port))
    else:
        s = socket.create_connection((host, port), timeout=30)
    answers = Answers(s)
    sent, got = [], []
    for i in range(count):
        path, body = "/%s/%d" % (mode, i), body_of(i)
        sent.append((path, body))
        if mode == "post-body":
            s.sendall(head(path, len(body)))
            s.sendall(body)
        elif mode == "chunked" and i == 0:
            s.sendall(head(path, chunked=True))
            s.sendall(b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
        elif mode == "full-sndbuf":
            if i % 2 == 0:
                body = body + b"b" * (256 * 1024)
                sent[-1] = (path, body)
            s.setblocking(False)
            send_nonblocking(s, head(path, len(body)) + body)
            s.settimeout(30)
        elif mode == "pipelined" and i % 2:
            s.sendall(head(path, len(body)))
            s.sendall(body)
        else:
            s.sendall(head(path, len(body)) + body)
        if mode != "pipelined":
            got.append(answers.next())
    while len(got) < count:
        got.append(answers.next())
    s.close()
    mismatches = 0
    for (path, body), ans in zip(sent, got):
        if (ans["method"], ans["path"], ans["body_len"], ans["body_sha256"]) != (
                "POST", path, len(body), hashlib.sha256(body).hexdigest()):
            mismatches += 1
    print(json.dumps({"ok": mismatches == 0, "requests": len(got), "mismatches": mismatches,
                      "traceparents": [a["traceparents"] for a in got]}))


if __name__ == "__main__":
    main()
