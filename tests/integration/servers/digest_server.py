#!/usr/bin/python3
"""Digest server for the byte-exactness tests of kspan's header insertion.

Usage: digest_server.py [--host 127.0.0.1] [--port 0]

Prints `READY <port>` once bound; one thread per connection, keep-alive.
Any GET or POST (its body framed by Content-Length, or chunked) answers 200 with a JSON body describing exactly what arrived:

  {"method", "path", "body_len", "body_sha256",
   "headers_sha256": sha256 of the X-Random-* header lines (the client's
                     own; proxies rewrite the others), in the order
                     received, as "name: value\\n",
   "traceparent": the traceparent header, or null,
   "traceparents": how many traceparent headers arrived}
"""

import argparse
import hashlib
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def answer(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            body = self.read_chunked()
        else:
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else b""
        h = hashlib.sha256()
        tps = []
        for name, value in self.headers.raw_items():
            if name.lower() == "traceparent":
                tps.append(value)
                continue
            if name.lower().startswith("x-random-"):
                h.update(("%s: %s\n" % (name, value)).encode("latin-1"))
        out = json.dumps({"method": self.command, "path": self.path, "body_len": len(body),
                          "body_sha256": hashlib.sha256(body).hexdigest(),
                          "headers_sha256": h.hexdigest(),
                          "traceparent": tps[0] if tps else None,
                          "traceparents": len(tps)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def read_chunked(self):
        """A chunked body (RFC 9112 section 7.1), without extensions or trailers."""
        body = b""
        while True:
            size = int(self.rfile.readline().split(b";")[0], 16)
            if size == 0:
                self.rfile.readline()
                return body
            body += self.rfile.read(size)
            self.rfile.readline()

    do_GET = answer
    do_POST = answer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()
    srv = ThreadingHTTPServer((a.host, a.port), Handler)
    srv.daemon_threads = True
    sys.stdout.write("READY %d\n" % srv.server_address[1])
    sys.stdout.flush()
    srv.serve_forever()


if __name__ == "__main__":
    main()
