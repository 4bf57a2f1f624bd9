#!/usr/bin/python3
"""Plain TCP echo server (not HTTP) for the kspan integration tests.

Usage: echo_server.py [--host 127.0.0.1] [--port 0]

Prints `READY <port>` on stdout once listening, then echoes every byte it
receives back on the same connection until the peer closes. One thread per
connection. Serves until killed.
"""

import sys
import threading

from tcp_listener import listen_from_args


def serve_conn(conn):
    with conn:
        while True:
            data = conn.recv(65536)
            if not data:
                return
            conn.sendall(data)


def main():
    ls = listen_from_args()
    try:
        while True:
            conn, _ = ls.accept()
            threading.Thread(target=serve_conn, args=(conn,), daemon=True).start()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
