#!/usr/bin/env python3
"""Connections whose end kspan will not see. For each line "PROTO N MODE" on
stdin (PROTO h1 or h2), opens N connections to itself on PORT, writes one
request on each (HTTP/1.1, or an HTTP/2 preface, SETTINGS and request
HEADERS; the server end is closed unread) and never reads an answer; then,
MODE close: closes them all (the process lives on) and prints "done";
MODE hold: prints "done" and keeps them, to be killed mid-request.
The test pauses kspan meanwhile: the ring buffer fills with the first
requests, and the closes (or the exit) that follow are lost.

usage: lost_close_flood.py PORT [HOST]   (HOST: a loopback address, 127.0.0.1)
"""

import resource
import socket
import struct
import sys

# Padded so that each request's ring record is over 200 bytes, whatever the
# record header: the ring is full long before the last one.
H1_REQUEST = b"GET /flood HTTP/1.1\r\nHost: a\r\nX-Pad: " + b"p" * 200 + b"\r\n\r\n"


def h2_request():
    """Client preface, empty SETTINGS, and stream 1's HEADERS: :method GET,
    :scheme http, :path / (static table, RFC 7541 Appendix A) and :authority
    a (literal without indexing, indexed name)."""
    block = bytes([0x82, 0x86, 0x84, 0x01, 0x01, ord("a")])
    settings = struct.pack(">I", 0)[1:] + bytes([0x4, 0x0]) + struct.pack(">I", 0)
    headers = (struct.pack(">I", len(block))[1:] + bytes([0x1, 0x4]) + struct.pack(">I", 1)
               + block)
    return b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + settings + headers


def flood(listener, n, request):
    # RST on close instead of TIME_WAIT: a round's ports are free for the next.
    linger = struct.pack("ii", 1, 0)
    conns = []
    for _ in range(n):
        c = socket.socket()
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        c.connect(listener.getsockname())
        # The server end is closed unread (a FIN, then a RST for the
        # request): only the client end is followed, one fd per connection.
        listener.accept()[0].close()
        c.sendall(request)
        conns.append(c)
    return conns


def main():
    port = int(sys.argv[1])
    host = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(4096)
    held = []
    for line in sys.stdin:
        proto, n, mode = line.split()
        conns = flood(listener, int(n), H1_REQUEST if proto == "h1" else h2_request())
        if mode == "close":
            for c in conns:
                c.close()
        else:
            held += conns
        print("done", flush=True)


if __name__ == "__main__":
    main()
