#!/usr/bin/python3
"""Hammers one gRPC unary method (python3-grpcio, one channel = one HTTP/2
connection) with CONCURRENCY calls in flight for SECONDS; prints
`calls=N seconds=S rate=R errors=E` on stdout.

Usage: grpc_load.py HOST:PORT SECONDS CONCURRENCY
"""

import sys
import threading
import time

import grpc


def main():
    target, seconds, concurrency = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    ch = grpc.insecure_channel(target, options=[("grpc.enable_http_proxy", 0)])
    grpc.channel_ready_future(ch).result(timeout=20)
    unary = ch.unary_unary("/kspan.test.Echo/Unary")
    lock = threading.Lock()
    done = threading.Event()
    counts = {"calls": 0, "errors": 0}
    deadline = time.monotonic() + seconds

    def issue():
        if time.monotonic() >= deadline:
            with lock:
                counts["inflight"] -= 1
                if counts["inflight"] == 0:
                    done.set()
            return
        f = unary.future(b"bench-payload", timeout=30)
        f.add_done_callback(finished)

    def finished(f):
        with lock:
            counts["calls"] += 1
            if f.exception() is not None:
                counts["errors"] += 1
        issue()

    t0 = time.monotonic()
    counts["inflight"] = concurrency
    for _ in range(concurrency):
        issue()
    done.wait(seconds + 60)
    took = time.monotonic() - t0
    print("calls=%d seconds=%.2f rate=%.1f errors=%d"
          % (counts["calls"], took, counts["calls"] / took, counts["errors"]))
    ch.close()


if __name__ == "__main__":
    main()
