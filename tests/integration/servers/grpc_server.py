#!/usr/bin/python3
"""gRPC server (python3-grpcio) for the kspan integration tests.

Usage: grpc_server.py [--host 127.0.0.1] [--port 0] [--cert PEM --key PEM]

With --cert and --key it serves gRPC over TLS (grpc.ssl_server_credentials).

Service `kspan.test.Echo`, raw bytes in and out (generic handlers, no code
generation). The request text steers the reply:
  Unary         "status:NAME[:message]" aborts with that status code,
                "sleep:MS" sleeps first (deadline tests), anything else is
                echoed; "tp:..." is answered with the traceparent metadata
                the call arrived with, as a JSON list on one line, then
                the request itself (so that the caller sees both).
  ServerStream  "N:SIZE" replies with N messages of SIZE bytes.
  ClientStream  replies with the total size of all request messages.
  Bidi          echoes every message; a first message "tp:..." gets the
                traceparent metadata first, like Unary.
Prints `READY <port>` on stdout once listening; serves until killed.
"""

import argparse
import json
import sys
import time
from concurrent import futures

import grpc

SERVICE = "kspan.test.Echo"


def traceparents(ctx):
    """The traceparent values the call's metadata carried, in order."""
    return [v for k, v in ctx.invocation_metadata() if k == "traceparent"]


def with_traceparents(req, ctx):
    return (json.dumps(traceparents(ctx)) + "\n").encode() + req


def unary(req, ctx):
    if req.startswith(b"tp:"):
        return with_traceparents(req, ctx)
    if req.startswith(b"status:"):
        parts = req.decode().split(":", 2)
        ctx.abort(getattr(grpc.StatusCode, parts[1]), parts[2] if len(parts) > 2 else parts[1])
    if req.startswith(b"sleep:"):
        time.sleep(int(req[6:]) / 1000.0)
    return req


def server_stream(req, ctx):
    n, size = (int(x) for x in req.decode().split(":"))
    for i in range(n):
        yield bytes([65 + i % 26]) * size


def client_stream(it, ctx):
    return str(sum(len(m) for m in it)).encode()


def bidi(it, ctx):
    for i, m in enumerate(it):
        yield with_traceparents(m, ctx) if i == 0 and m.startswith(b"tp:") else m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    a = ap.parse_args()
    handler = grpc.method_handlers_generic_handler(SERVICE, {
        "Unary": grpc.unary_unary_rpc_method_handler(unary),
        "ServerStream": grpc.unary_stream_rpc_method_handler(server_stream),
        "ClientStream": grpc.stream_unary_rpc_method_handler(client_stream),
        "Bidi": grpc.stream_stream_rpc_method_handler(bidi),
    })
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=128),
                         options=[("grpc.max_receive_message_length", 16 << 20),
                                  ("grpc.max_send_message_length", 16 << 20),
                                  ("grpc.max_metadata_size", 64 << 10)])
    server.add_generic_rpc_handlers((handler,))
    addr = "%s:%d" % (a.host, a.port)
    if a.cert:
        with open(a.key, "rb") as k, open(a.cert, "rb") as c:
            creds = grpc.ssl_server_credentials([(k.read(), c.read())])
        port = server.add_secure_port(addr, creds)
    else:
        port = server.add_insecure_port(addr)
    server.start()
    sys.stdout.write("READY %d\n" % port)
    sys.stdout.flush()
    server.wait_for_termination()


if __name__ == "__main__":
    main()
