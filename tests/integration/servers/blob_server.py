#!/usr/bin/python3
"""A plain TCP (non-HTTP) server for the FIONREAD tests of header insertion.

Usage: blob_server.py [--host 127.0.0.1] [--port 0] [--greet]

Per connection (one thread each): with --greet it first sends 100 bytes at
once (the server speaks first, like MySQL or SMTP); then it reads one line
from the client and sends 100 bytes, and waits for the client to close.
"""

import sys
import threading

sys.path.insert(0, __import__("os").path.dirname(__file__))
from tcp_listener import listen_from_args  # noqa: E402

BLOB = bytes(range(100))
GREET = "--greet" in sys.argv
if GREET:
    sys.argv.remove("--greet")


def serve(conn):
    with conn:
        if GREET:
            conn.sendall(BLOB)
        got = b""
        while not got.endswith(b"\n"):
            chunk = conn.recv(100)
            if not chunk:
                return
            got += chunk
        conn.sendall(BLOB)
        while conn.recv(4096):
            pass


def main():
    ls = listen_from_args()
    while True:
        conn, _ = ls.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
