#!/usr/bin/python3
"""FIONREAD on a traced client's non-HTTP connections.

Usage: fionread_client.py HOST PORT COUNT [--greet]

COUNT connections to servers/blob_server.py, one after another. Each waits
until the server's 100 bytes are readable (poll), asks ioctl(FIONREAD), then
reads them all. Without --greet it first sends one line (the client speaks
first). Prints one JSON line: {"fionread": [value per connection],
"received": [bytes read per connection]}.
"""

import fcntl
import json
import select
import socket
import struct
import sys
import termios


def main():
    host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    greet = "--greet" in sys.argv[4:]
    values, received = [], []
    for _ in range(count):
        s = socket.create_connection((host, port), timeout=30)
        if not greet:
            s.sendall(b"hello, not HTTP\n")
        p = select.poll()
        p.register(s, select.POLLIN)
        if not p.poll(30000):
            raise SystemExit("no bytes within 30 s")
        n = struct.unpack("i", fcntl.ioctl(s, termios.FIONREAD, b"\0\0\0\0"))[0]
        values.append(n)
        got = b""
        while len(got) < 100:
            chunk = s.recv(100 - len(got))
            if not chunk:
                break
            got += chunk
        received.append(len(got))
        s.close()
    print(json.dumps({"fionread": values, "received": received}))


if __name__ == "__main__":
    main()
