"""A TLS client on ssl.MemoryBIO that breaks the order memory-BIO binding
relies on: between each read of ciphertext from its TLS socket and the
library call that takes it, it writes a byte on another TCP connection of its
own, so its thread's last socket syscall before each call is not the TLS
connection's. kspan must not guess: the session stays unbound (tls_unbound)
and the connection is counted (tls_unprobed_conns).
membio_interleaved_client.py HOST PORT PATH: one GET; prints the status line."""

import socket
import ssl
import sys

host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]

listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(1)
side = socket.create_connection(listener.getsockname())
side_peer, _ = listener.accept()

incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
tls = ssl._create_unverified_context().wrap_bio(incoming, outgoing)
sock = socket.create_connection((host, port))


def flush():
    data = outgoing.read()
    if data:
        sock.sendall(data)


def pump():
    data = sock.recv(65536)
    if not data:
        raise EOFError
    side.send(b"x")  # another connection's syscall between the read and the call
    incoming.write(data)


while True:
    try:
        tls.do_handshake()
        break
    except ssl.SSLWantReadError:
        flush()
        pump()
flush()
tls.write(b"GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path.encode())
flush()
resp = b""
while True:
    try:
        chunk = tls.read(65536)
        if not chunk:
            break
        resp += chunk
    except ssl.SSLWantReadError:
        try:
            pump()
        except EOFError:
            break
    except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
        break
print(resp.split(b"\r\n", 1)[0].decode())
