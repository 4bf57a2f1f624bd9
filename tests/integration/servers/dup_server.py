#!/usr/bin/python3
"""HTTP/1.1 server that answers on a dup() of the socket it read the request
from, like inetd-style servers and busybox httpd do.

Usage: dup_server.py [--host 127.0.0.1] [--port 0]

Prints `READY <port>` on stdout once listening. One connection at a time, one
request per connection: reads the request head on the accepted socket, dup()s
it, closes the accepted socket (the dup still holds the connection), writes
the response on the dup with os.write, closes the dup. Every path gets 200
with the body "dup <path>\\n". Serves until killed.
"""

import argparse
import os
import socket
import sys


def serve(conn):
    head = b""
    while b"\r\n\r\n" not in head:
        data = conn.recv(4096)
        if not data:
            conn.close()
            return
        head += data
    path = head.split(b" ", 2)[1]
    answer_fd = os.dup(conn.fileno())
    conn.close()
    body = b"dup " + path + b"\n"
    response = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                b"Connection: close\r\n\r\n" % len(body)) + body
    while response:
        response = response[os.write(answer_fd, response):]
    os.close(answer_fd)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()
    fam = socket.AF_INET6 if ":" in a.host else socket.AF_INET
    ls = socket.socket(fam, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((a.host, a.port))
    ls.listen(64)
    sys.stdout.write("READY %d\n" % ls.getsockname()[1])
    sys.stdout.flush()
    while True:
        conn, _ = ls.accept()
        serve(conn)


if __name__ == "__main__":
    main()
