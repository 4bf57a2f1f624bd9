#!/usr/bin/python3
"""Plain TCP echo server (not HTTP) for the kspan integration tests.

Usage: echo_server.py [--host 127.0.0.1] [--port 0]

Prints `READY <port>` on stdout once listening, then echoes every byte it
receives back on the same connection until the peer closes. One thread per
connection. Serves until killed.
"""

import argparse
import socket
import sys
import threading


def serve_conn(conn):
    with conn:
        while True:
            data = conn.recv(65536)
            if not data:
                return
            conn.sendall(data)


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
    try:
        while True:
            conn, _ = ls.accept()
            threading.Thread(target=serve_conn, args=(conn,), daemon=True).start()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
