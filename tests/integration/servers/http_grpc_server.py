#!/usr/bin/python3
"""HTTP/1.1 server whose handler makes gRPC calls, for kspan's in-process
parenting tests of HTTP/2 CLIENT streams.

Usage: http_grpc_server.py --grpc HOST:PORT [--ca PEM] [--host 127.0.0.1] [--port 0]

With --ca the gRPC calls go over TLS (grpc.ssl_channel_credentials), the
server's certificate checked against that CA.

Prints `READY <port>` once bound. One thread per connection
(ThreadingHTTPServer). GET /<how> makes one unary call "tp:..." to
grpc_server.py and answers its JSON list of the traceparents the gRPC server
received, where <how> is
  fresh   a channel (with its own connection: a local subchannel pool)
          created and closed by the handler for this request
  shared  one channel of the process, connected by the first call
"""

import argparse
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc

TARGET = None
SHARED = None
CREDS = None  # TLS channel credentials, or None: h2c
METHOD = "/kspan.test.Echo/Unary"


def call(channel):
    reply = channel.unary_unary(METHOD)(b"tp:in-process", timeout=20)
    return reply.partition(b"\n")[0]


def channel(opts):
    if CREDS:
        return grpc.secure_channel(TARGET, CREDS, options=opts)
    return grpc.insecure_channel(TARGET, options=opts)


def call_fresh():
    opts = [("grpc.enable_http_proxy", 0), ("grpc.use_local_subchannel_pool", 1)]
    with channel(opts) as ch:
        return call(ch)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        body = call_fresh() if self.path == "/fresh" else call(SHARED)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    global TARGET, SHARED, CREDS
    ap = argparse.ArgumentParser()
    ap.add_argument("--grpc", required=True)
    ap.add_argument("--ca")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()
    TARGET = a.grpc
    if a.ca:
        with open(a.ca, "rb") as f:
            CREDS = grpc.ssl_channel_credentials(f.read())
    SHARED = channel([("grpc.enable_http_proxy", 0)])
    srv = ThreadingHTTPServer((a.host, a.port), Handler)
    sys.stdout.write("READY %d\n" % srv.server_address[1])
    sys.stdout.flush()
    srv.serve_forever()


if __name__ == "__main__":
    main()
