#!/usr/bin/python3
"""Clients that write HTTP/1.1 requests and raw HTTP/2 (h2c, prior knowledge)
frames themselves, byte by byte, for the byte-exactness tests
(test_byte_exact.py): what each connection sent goes to DIR/sent-<local port>,
to be compared with what byte_sink_server.py received.

Usage: byte_exact_client.py HOST:PORT DIR SCENARIO [ARGS]
  http1            one keep-alive connection, requests of every shape (no
                   body; head and body in one send; head and body in two
                   sends; the client's own traceparent; a 64 KiB body), each
                   answered before the next
  h2_sendfile      two h2c connections. "desync": a planned write ends
                   inside a DATA frame, os.sendfile() sends the rest of that
                   frame and a whole HEADERS frame from a file, then a write
                   whose DATA payload holds, where a cursor that missed the
                   sendfile would look for the next frame, a fake HEADERS
                   frame of a new stream; then one more request. "clean":
                   requests in one write each, several in one write, and a
                   header block with CONTINUATION.
  h2_blocked N     N h2c connections, one thread each: the preface, then one
                   big write (a request whose DATA ends 990 bytes into a
                   frame) that blocks on the server's full buffers; once
                   every thread is blocked inside it, prints BLOCKED (the
                   test then lets the server read). Then the rest of that
                   frame, its first 14 bytes a fake HEADERS frame of a new
                   stream (a cursor that missed the big write looks there),
                   and one more request. N above the kernel's h2_tx_plans
                   entries (256) makes plans of blocked writes evicted.
  h2_split_headers one h2c connection whose writes end inside frame headers:
                   4 bytes of a DATA frame's header, the rest of it with its
                   payload and 2 bytes of the next one, ...; then 5 bytes of
                   a new request's HEADERS frame header (stream 3) and the
                   rest of that frame in the next write; then requests 5 and
                   7, one write each.
  h2_partial N [K] N h2c connections with 4 KiB send buffers, non-blocking, to
                   a --hold sink: request 1, then writes of K (60) new requests'
                   HEADERS frames each (a 60-byte block, one byte longer
                   on each connection) until one is written only in part;
                   once every connection is stuck, prints BLOCKED; then the
                   rest, and requests in writes of their own.
Output: one JSON line {"ports": [local port of each connection]}.
"""

import json
import os
import select
import socket
import struct
import sys
import threading

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, SETTINGS, CONTINUATION = 0, 1, 4, 9
END_STREAM, END_HEADERS = 0x1, 0x4
SYS_SENDTO = 44  # x86_64: Python's socket.send() is sendto(2)


def frame(ftype, flags, sid, payload):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + \
        struct.pack(">I", sid) + payload


def literal(name, value):
    """HPACK literal header field without indexing, new name, raw strings
    (RFC 7541 6.2.2); names and values shorter than 127 bytes."""
    name, value = name.encode(), value.encode()
    return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value


def header_block(path):
    return b"".join(literal(k, v) for k, v in (
        (":method", "POST"), (":scheme", "http"), (":path", path),
        (":authority", "127.0.0.1"), ("content-type", "application/octet-stream")))


def request(sid, body=b"", path=None):
    """HEADERS (+ DATA with END_STREAM) of one request on stream sid."""
    path = path or "/r/%d" % sid
    if not body:
        return frame(HEADERS, END_HEADERS | END_STREAM, sid, header_block(path))
    return frame(HEADERS, END_HEADERS, sid, header_block(path)) + \
        frame(DATA, END_STREAM, sid, body)


# A fake HEADERS frame header (5-byte block, END_HEADERS, stream 7: new and
# odd) and its block, as payload bytes.
FAKE_HEADERS = frame(HEADERS, END_HEADERS, 7, literal("x", "y"))
assert len(FAKE_HEADERS) == 14


class Conn:
    """A client connection that keeps what it sent."""

    def __init__(self, target, sndbuf=0):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if sndbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
        self.sock.connect(target)
        self.port = self.sock.getsockname()[1]
        self.sent = bytearray()

    def send(self, data):
        """All of data. A blocking socket in a sockhash can still answer
        EAGAIN (seen on 6.18 with 300 such sockets): wait until it is
        writable and go on where it stopped."""
        view, off = memoryview(data), 0
        while off < len(data):
            try:
                off += self.sock.send(view[off:])
            except BlockingIOError:
                select.select([], [self.sock], [])
        self.sent += data

    def sendfile(self, data, directory):
        path = os.path.join(directory, "sendfile-%d" % self.port)
        with open(path, "wb") as f:
            f.write(data)
        with open(path, "rb") as f:
            done = 0
            while done < len(data):
                done += os.sendfile(self.sock.fileno(), f.fileno(), done, len(data) - done)
        self.sent += data

    def read_http1_response(self):
        got = b""
        while b"\r\n\r\n" not in got:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise SystemExit("server closed the connection")
            got += chunk

    def close(self, directory):
        self.sock.shutdown(socket.SHUT_WR)
        while True:  # the server's close: it has kept every byte
            try:
                self.sock.recv(1)
                break
            except BlockingIOError:  # EAGAIN from a blocking socket, as above
                select.select([self.sock], [], [])
        self.sock.close()
        with open(os.path.join(directory, "sent-%d" % self.port), "wb") as f:
            f.write(self.sent)


def http1(target, directory):
    c = Conn(target)
    host = b"Host: 127.0.0.1\r\n"
    body = bytes(range(256)) * 4
    c.send(b"GET /a HTTP/1.1\r\n" + host + b"\r\n")
    c.read_http1_response()
    c.send(b"POST /b HTTP/1.1\r\n" + host + b"Content-Length: 100\r\n\r\n" + body[:100])
    c.read_http1_response()
    c.send(b"POST /c HTTP/1.1\r\n" + host + b"Content-Length: 1000\r\n\r\n")
    c.send(body[:1000])
    c.read_http1_response()
    c.send(b"GET /d HTTP/1.1\r\n" + host +
           b"traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n\r\n")
    c.read_http1_response()
    c.send(b"PUT /e HTTP/1.1\r\n" + host + b"Content-Length: 65536\r\n\r\n" + body * 64)
    c.read_http1_response()
    c.close(directory)
    return [c.port]


def h2_sendfile(target, directory):
    desync = Conn(target)
    data1 = bytes(i % 251 for i in range(1000))
    desync.send(PREFACE + frame(SETTINGS, 0, 0, b"") +
                frame(HEADERS, END_HEADERS, 1, header_block("/desync/1")) +
                frame(DATA, 0, 1, data1)[:9 + 10])
    # The rest of DATA(1), and stream 3's request, from a file.
    desync.sendfile(data1[10:] + request(3), directory)
    # A cursor that missed the sendfile still skips 990 bytes of DATA(1)
    # from here: 9 bytes of frame header and 981 of payload.
    data2 = bytearray(b"d" * 2000)
    data2[981:981 + len(FAKE_HEADERS)] = FAKE_HEADERS
    desync.send(frame(DATA, END_STREAM, 1, bytes(data2)))
    desync.send(request(5, b"e" * 100))
    desync.close(directory)

    clean = Conn(target)
    clean.send(PREFACE + frame(SETTINGS, 0, 0, b"") + request(1, b"a" * 500))
    clean.send(request(3, b"b" * 300) + request(5) + request(7, b"c" * 16000))
    block = header_block("/continued")
    clean.send(frame(HEADERS, 0, 9, block[:20]) + frame(CONTINUATION, END_HEADERS, 9, block[20:]))
    clean.send(request(11, b"f" * 10))
    clean.close(directory)
    return [desync.port, clean.port]


def blocked_syscall(tid):
    try:
        with open("/proc/self/task/%d/syscall" % tid) as f:
            return int(f.read().split()[0]) == SYS_SENDTO
    except (OSError, ValueError, IndexError):
        return False


def h2_blocked(target, directory, n):
    tail = bytearray(b"t" * 990)
    tail[:len(FAKE_HEADERS)] = FAKE_HEADERS
    big = frame(HEADERS, END_HEADERS, 1, header_block("/big")) + \
        b"".join(frame(DATA, 0, 1, bytes([65 + i]) * 16384) for i in range(8)) + \
        frame(DATA, END_STREAM, 1, b"u" * 10 + bytes(tail))[:9 + 10]
    conns = [Conn(target, sndbuf=4096) for _ in range(n)]
    tids = [None] * n
    errors = []

    def run(i):
        c = conns[i]
        try:
            tids[i] = threading.get_native_id()
            c.send(big)  # blocks until the server reads
            c.send(bytes(tail) + request(3, b"x" * 10))
            c.close(directory)
        except Exception as e:
            errors.append(repr(e))

    for c in conns:
        c.send(PREFACE + frame(SETTINGS, 0, 0, b""))
    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    # Every thread inside its big write, with its plan made at the entry.
    while not all(t is not None and blocked_syscall(t) for t in tids):
        threading.Event().wait(0.05)
    print("BLOCKED", flush=True)
    for t in threads:
        t.join()
    if errors:
        raise SystemExit("connections failed: %s" % errors[:3])
    return [c.port for c in conns]


def h2_split_headers(target, directory):
    c = Conn(target)
    c.send(PREFACE + frame(SETTINGS, 0, 0, b"") +
           frame(HEADERS, END_HEADERS, 1, header_block("/split/1")))
    d1, d2 = frame(DATA, 0, 1, b"a" * 100), frame(DATA, 0, 1, b"b" * 50)
    c.send(d1[:4])
    c.send(d1[4:] + d2[:2])
    c.send(d2[2:3])  # 3 of 9 header bytes, in three writes
    c.send(d2[3:8])
    c.send(d2[8:] + frame(DATA, END_STREAM, 1, b"c" * 10)[:8])
    c.send(frame(DATA, END_STREAM, 1, b"c" * 10)[8:])
    h3 = request(3)
    c.send(h3[:5])  # its length field leaves before the block is seen
    c.send(h3[5:])
    c.send(request(5, b"e" * 20))
    c.send(request(7))
    c.close(directory)
    return [c.port]


def h2_partial(target, directory, n, per_write):
    conns, rests, sids = [], [], []
    for i in range(n):
        c = Conn(target, sndbuf=4096)
        c.send(PREFACE + frame(SETTINGS, 0, 0, b"") + request(1))
        c.sock.setblocking(False)
        # A short block: GET http / from the static table, :authority,
        # and a field padding it to a size of its own per connection.
        block = b"\x82\x86\x84\x41\x03a:1" + literal("z", "p" * (40 + i))
        sid, rest = 3, b""
        while not rest:
            data = b"".join(frame(HEADERS, END_HEADERS | END_STREAM, sid + 2 * k, block)
                            for k in range(per_write))
            sid += 2 * per_write
            try:
                done = c.sock.send(data)
            except BlockingIOError:
                done = 0
            c.sent += data[:done]
            rest = data[done:]
        conns.append(c)
        rests.append(rest)
        sids.append(sid)
    print("BLOCKED", flush=True)
    for c, rest, sid in zip(conns, rests, sids):
        c.send(rest)
        for k in range(3):
            c.send(request(sid + 2 * k, b"z" * 10))
        c.close(directory)
    return [c.port for c in conns]


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    target, directory, scenario = (host, int(port)), sys.argv[2], sys.argv[3]
    if scenario == "http1":
        ports = http1(target, directory)
    elif scenario == "h2_sendfile":
        ports = h2_sendfile(target, directory)
    elif scenario == "h2_blocked":
        ports = h2_blocked(target, directory, int(sys.argv[4]))
    elif scenario == "h2_split_headers":
        ports = h2_split_headers(target, directory)
    elif scenario == "h2_partial":
        ports = h2_partial(target, directory, int(sys.argv[4]),
                           int(sys.argv[5]) if len(sys.argv) > 5 else 60)
    else:
        sys.exit("unknown scenario %s" % scenario)
    print(json.dumps({"ports": ports}), flush=True)


if __name__ == "__main__":
    main()
