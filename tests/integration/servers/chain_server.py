#!/usr/bin/python3
"""One service of a chain, for the kspan trace-propagation tests.

Usage: chain_server.py [--host 127.0.0.1] [--port 0] [--next URL]
                       [--cert PEM --key PEM]

With --cert and --key it serves HTTPS (python's ssl, OpenSSL underneath); an
https --next is called without verifying its certificate.

Prints `READY <port>` once bound. One thread per connection
(ThreadingHTTPServer, HTTP/1.1 keep-alive). Every response is JSON:

  {"traceparent": <the traceparent this request arrived with, or null>,
   "tracestate": <its tracestate, or null>,
   "next": <the next service's JSON answer, or null>}

GET /call/<how>/...: calls --next (with the rest of the path) before
answering, where <how> is
  urllib     urllib.request in the handler thread (a fresh connection)
  keepalive  http.client on one connection kept by the handler thread, so
             a thread serving several requests reuses it
  thread     urllib.request in a new thread created for this request
Any other path answers without calling anything.
"""

import argparse
import http.client
import json
import socket
import ssl
import sys
import threading
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NEXT = None
_local = threading.local()
# Test certificates are self-signed: the client side does not verify them.
CLIENT_TLS = ssl._create_unverified_context()


def call_urllib(path):
    with urllib.request.urlopen(NEXT + path, timeout=20, context=CLIENT_TLS) as r:
        return r.read()


def call_keepalive(path):
    u = urllib.parse.urlsplit(NEXT)
    conn = getattr(_local, "conn", None)
    if conn is None and u.scheme == "https":
        conn = _local.conn = http.client.HTTPSConnection(u.hostname, u.port, timeout=20,
                                                         context=CLIENT_TLS)
    elif conn is None:
        conn = _local.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=20)
    conn.request("GET", u.path + path)
    return conn.getresponse().read()


def call_in_thread(path):
    box = []
    t = threading.Thread(target=lambda: box.append(call_urllib(path)))
    t.start()
    t.join()
    return box[0]


CALLS = {"urllib": call_urllib, "keepalive": call_keepalive, "thread": call_in_thread}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        parts = self.path.split("/")
        nxt = None
        if len(parts) > 3 and parts[1] == "call" and parts[2] in CALLS and NEXT:
            raw = CALLS[parts[2]]("/" + "/".join(parts[3:]))
            try:
                nxt = json.loads(raw)
            except ValueError:
                nxt = raw.decode("utf-8", "replace")
        body = json.dumps({"traceparent": self.headers.get("traceparent"),
                           "tracestate": self.headers.get("tracestate"),
                           "next": nxt}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main():
    global NEXT
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--next")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    a = ap.parse_args()
    NEXT = a.next
    cls = ThreadingHTTPServer
    if ":" in a.host:
        cls = type("V6", (ThreadingHTTPServer,), {"address_family": socket.AF_INET6})
    srv = cls((a.host, a.port), Handler)
    srv.daemon_threads = True
    if a.cert:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(a.cert, a.key)
        srv.socket = tls.wrap_socket(srv.socket, server_side=True)
    sys.stdout.write("READY %d\n" % srv.server_address[1])
    sys.stdout.flush()
    srv.serve_forever()


if __name__ == "__main__":
    main()
