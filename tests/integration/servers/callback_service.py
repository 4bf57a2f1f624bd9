#!/usr/bin/python3
"""An unmodified service for the W3C Trace Context conformance test: no
tracing code at all, so every traceparent or tracestate its requests carry is
kspan's.

Usage: callback_service.py [--host 127.0.0.1] [--port 0]

Prints `READY <port>` once bound. ThreadingHTTPServer: each request is served
by its own thread. POST any path with a JSON list of
{"url": URL, "arguments": JSON}: for each element in turn the serving thread
POSTs `arguments` (as JSON) to `url` with urllib.request, then answers with
the list of the statuses it got (or the error, as a string).
"""

import argparse
import json
import sys
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def call(url, arguments):
    req = urllib.request.Request(url, data=json.dumps(arguments).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            r.read()
            return r.status
    except Exception as e:  # noqa: BLE001 - reported to the caller
        return "%s: %s" % (type(e).__name__, e)


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        try:
            actions = json.loads(self.rfile.read(n) or b"[]")
        except ValueError:
            actions = []
        results = [call(a["url"], a.get("arguments", [])) for a in actions
                   if isinstance(a, dict) and "url" in a]
        body = json.dumps(results).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    srv = ThreadingHTTPServer((args.host, args.port), Handler)
    srv.daemon_threads = True
    print("READY %d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
