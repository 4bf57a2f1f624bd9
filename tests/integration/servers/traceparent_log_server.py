#!/usr/bin/python3
"""A backend that says what arrived: for the pass-through proxy tests.

Usage: traceparent_log_server.py --log FILE [--host 127.0.0.1] [--port 0]

Prints `READY <port>` once bound; one thread per connection, keep-alive.
Any GET answers 200 "ok\\n" and appends one line to FILE per request:
"<path> <traceparent or -> <number of traceparent headers>", so that a test
can check on the wire which parent-id the proxy's request carried. A path
with "/pair/" in it is answered only once another such request arrived (or
after 10 s): two requests are then open in the proxy at once.
"""

import argparse
import sys
import threading
from http.server import BaseHTTPRequestHandler

from http_server import serve


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    lock = threading.Lock()
    log = None
    pair = threading.Barrier(2)

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        if "/pair/" in self.path:
            try:
                Handler.pair.wait(timeout=10)
            except threading.BrokenBarrierError:
                Handler.pair.reset()
        tps = self.headers.get_all("traceparent") or []
        line = "%s %s %d\n" % (self.path, tps[0] if tps else "-", len(tps))
        with Handler.lock:
            Handler.log.write(line)
            Handler.log.flush()
        body = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--log", required=True)
    a = ap.parse_args()
    Handler.log = open(a.log, "a")
    return serve(Handler, a.host, a.port)


if __name__ == "__main__":
    sys.exit(main())
