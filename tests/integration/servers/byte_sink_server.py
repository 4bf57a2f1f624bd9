#!/usr/bin/python3
"""A server that keeps every byte it receives, for the byte-exactness tests.

Usage: byte_sink_server.py [--host H] [--port P] --dir DIR [--http1] [--hold]
                           [--rcvbuf BYTES]

Each connection's bytes, as received, go to DIR/recv-<client port> when the
client has shut its side down, before the server closes its own. --http1 answers every complete request (head, then a
Content-Length body) with an empty 200 response, so that keep-alive clients
can go on; otherwise nothing is ever sent back (raw HTTP/2 frames need no
answer to be received). --hold: connections are accepted but not read until
a line arrives on stdin (writers block once the socket buffers are full;
--rcvbuf makes those small). Prints `READY <port>`; serves until killed.
"""

import argparse
import os
import socket
import sys
import threading


def http1_complete_requests(buf, start):
    """Offsets just past each complete request in buf[start:]."""
    ends = []
    while True:
        h = buf.find(b"\r\n\r\n", start)
        if h < 0:
            return ends
        length = 0
        for line in buf[start:h].split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        end = h + 4 + length
        if end > len(buf):
            return ends
        ends.append(end)
        start = end


def serve(conn, peer_port, a, go):
    go.wait()
    got = bytearray()
    answered = 0
    with conn:
        while True:
            chunk = conn.recv(1 << 16)
            if not chunk:
                break
            got += chunk
            if a.http1:
                for end in http1_complete_requests(got, answered):
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                    answered = end
        # Kept before the close, which tells the client it is.
        path = os.path.join(a.dir, "recv-%d" % peer_port)
        with open(path + ".part", "wb") as f:
            f.write(got)
        os.rename(path + ".part", path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--http1", action="store_true")
    ap.add_argument("--hold", action="store_true")
    ap.add_argument("--rcvbuf", type=int, default=0)
    a = ap.parse_args()
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if a.rcvbuf:
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, a.rcvbuf)  # inherited
    ls.bind((a.host, a.port))
    ls.listen(1024)
    go = threading.Event()
    if a.hold:
        threading.Thread(target=lambda: (sys.stdin.readline(), go.set()), daemon=True).start()
    else:
        go.set()
    sys.stdout.write("READY %d\n" % ls.getsockname()[1])
    sys.stdout.flush()
    while True:
        conn, peer = ls.accept()
        threading.Thread(target=serve, args=(conn, peer[1], a, go), daemon=True).start()


if __name__ == "__main__":
    main()
