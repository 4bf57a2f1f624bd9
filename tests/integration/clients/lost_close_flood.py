#!/usr/bin/env python3
"""Opens N connections to itself on PORT, writes one request on each (HTTP/1.1
or an HTTP/2 preface, SETTINGS and request HEADERS), never reads an answer
(the server end is closed unread), prints "ready" and waits to be killed (SIGKILL: its sockets then close with
the process, mid-request). The test pauses kspan meanwhile, so the ring buffer
fills with the first requests and the closes (and the process's exit) that
follow are lost: kspan is left with connections whose requests are open and
whose end it never sees.

usage: lost_close_flood.py PORT N h1|h2
"""

import resource
import socket
import struct
import sys
import time

H1_REQUEST = b"GET /flood HTTP/1.1\r\nHost: a\r\n\r\n"


def h2_request():
    """Client preface, empty SETTINGS, and stream 1's HEADERS: :method GET,
    :scheme http, :path / (static table, RFC 7541 Appendix A) and :authority
    a (literal without indexing, indexed name)."""
    block = bytes([0x82, 0x86, 0x84, 0x01, 0x01, ord("a")])
    settings = struct.pack(">I", 0)[1:] + bytes([0x4, 0x0]) + struct.pack(">I", 0)
    headers = (struct.pack(">I", len(block))[1:] + bytes([0x1, 0x4]) + struct.pack(">I", 1)
               + block)
    return b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + settings + headers


def main():
    port, n, proto = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    request = H1_REQUEST if proto == "h1" else h2_request()
    want = n + 64
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(4096)
    # RST on close instead of TIME_WAIT: a round's ports are free for the next.
    linger = struct.pack("ii", 1, 0)
    keep = []
    for _ in range(n):
        c = socket.socket()
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        c.connect(("127.0.0.1", port))
        # The server end is closed unread (a FIN, then a RST for the
        # request): only the client end is followed, one fd per connection.
        listener.accept()[0].close()
        c.sendall(request)
        keep.append(c)
    print("ready", flush=True)
    while True:
        time.sleep(60)


if __name__ == "__main__":
    main()
