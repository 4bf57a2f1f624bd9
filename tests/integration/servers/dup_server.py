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

import os

from tcp_listener import listen_from_args


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
    ls = listen_from_args()
    while True:
        conn, _ = ls.accept()
        serve(conn)


if __name__ == "__main__":
    main()
