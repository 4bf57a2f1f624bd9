#!/usr/bin/python3
"""HTTP/1.1 test server for the kspan integration tests.

Usage: http_server.py [--host 127.0.0.1] [--port 0] [--delay-ms N]

--delay-ms N: every GET waits N ms before it is answered: a slow upstream,
so that a proxy in front of it holds several requests at once.

Binds, then prints one line `READY <port>` on stdout (flushed) so the harness
knows the real port (port 0 picks a free one, without any race). Serves until
killed. One thread per connection (ThreadingHTTPServer), keep-alive on
(HTTP/1.1), every response has a Content-Length so connections stay open.

Endpoints (GET unless said):
  /ok               200, body "ok\n"
  /status/<code>    that status, small text body
  /delay/<ms>       sleeps <ms> between reading the request and answering, 200
  /big/<bytes>      200 with exactly <bytes> bytes of body, written in 64 KiB
                    chunks (several write syscalls)
  /seq/<n>          200, body "<n>\n" (to check order on one connection)
  POST /echo        200, body = the request body
  anything else     404
"""

import argparse
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHUNK = 64 * 1024


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kspan-test/1"
    delay_s = 0.0  # --delay-ms

    def log_message(self, fmt, *args):  # keep stderr quiet
        pass

    def _send(self, code, body, ctype="text/plain"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        if self.delay_s:
            time.sleep(self.delay_s)
        path = self.path.split("?", 1)[0]
        parts = [p for p in path.split("/") if p]
        try:
            if path == "/ok":
                return self._send(200, b"ok\n")
            if len(parts) == 2 and parts[0] == "status":
                code = int(parts[1])
                return self._send(code, ("status %d\n" % code).encode())
            if len(parts) == 2 and parts[0] == "delay":
                time.sleep(int(parts[1]) / 1000.0)
                return self._send(200, b"delayed\n")
            if len(parts) == 2 and parts[0] == "seq":
                return self._send(200, ("%d\n" % int(parts[1])).encode())
            if len(parts) == 2 and parts[0] == "big":
                n = int(parts[1])
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(n))
                self.end_headers()
                self.wfile.flush()
                block = b"0123456789abcdef" * (CHUNK // 16)
                left = n
                while left > 0:
                    k = min(left, CHUNK)
                    self.wfile.write(block[:k])
                    left -= k
                return None
        except ValueError:
            return self._send(400, b"bad number\n")
        return self._send(404, b"not found\n")

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0") or "0")
        body = self.rfile.read(length) if length > 0 else b""
        if self.path.split("?", 1)[0] == "/echo":
            return self._send(200, body, "application/octet-stream")
        return self._send(404, b"not found\n")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class Server6(Server):
    address_family = socket.AF_INET6


def serve(handler, host, port):
    """Serves `handler` on host:port (IPv6 when host has a colon) until
    interrupted, after printing `READY <port>`; shared with the other test
    servers of this folder."""
    cls = Server6 if ":" in host else Server
    srv = cls((host, port), handler)
    sys.stdout.write("READY %d\n" % srv.server_address[1])
    sys.stdout.flush()
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--delay-ms", type=int, default=0)
    a = ap.parse_args()
    Handler.delay_s = a.delay_ms / 1000.0
    return serve(Handler, a.host, a.port)


if __name__ == "__main__":
    sys.exit(main())
