#!/usr/bin/python3
"""FIONREAD on a traced client's non-HTTP connections.

Usage: fionread_client.py HOST PORT COUNT [--greet]

COUNT connections to servers/blob_server.py (with --greet: a server that
speaks first), one after another. On each the client sends one line, waits
until the server's 100-byte answer is readable (poll), asks ioctl(FIONREAD),
then reads it all. With --greet it first does the same for the server's
greeting. Prints one JSON line: {"fionread": [value per connection, for the
answer], "greeting_fionread": [the same for the greeting, with --greet],
"received": [answer bytes read per connection]}.
"""

import fcntl
import json
import select
import socket
import struct
import sys
import termios


def fionread_then_read(s):
    """(FIONREAD once 100 bytes are readable, bytes read)."""
    p = select.poll()
    p.register(s, select.POLLIN)
    if not p.poll(30000):
        raise SystemExit("no bytes within 30 s")
    n = struct.unpack("i", fcntl.ioctl(s, termios.FIONREAD, b"\0\0\0\0"))[0]
    got = b""
    while len(got) < 100:
        chunk = s.recv(100 - len(got))
        if not chunk:
            break
        got += chunk
    return n, len(got)


def main():
    host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    greet = "--greet" in sys.argv[4:]
    values, greetings, received = [], [], []
    for _ in range(count):
        s = socket.create_connection((host, port), timeout=30)
        if greet:
            greetings.append(fionread_then_read(s)[0])
        s.sendall(b"hello, not HTTP\n")
        n, got = fionread_then_read(s)
        values.append(n)
        received.append(got)
        s.close()
    print(json.dumps({"fionread": values, "greeting_fionread": greetings,
                      "received": received}))


if __name__ == "__main__":
    main()
