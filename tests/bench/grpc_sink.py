#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""grpc_sink.py - a local OTLP/gRPC trace receiver that only answers: every
TraceService/Export call gets an empty ExportTraceServiceResponse (python3-grpcio,
raw bytes, nothing decoded, so that the sink is not what the benchmark measures).

Usage: grpc_sink.py PORT_FILE (binds 127.0.0.1 on a free port, writes it to PORT_FILE).
"""
import os
import sys
import time
from concurrent import futures

import grpc


def export(request, context):
    return b""


def main():
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    handler = grpc.method_handlers_generic_handler(
        "opentelemetry.proto.collector.trace.v1.TraceService",
        {"Export": grpc.unary_unary_rpc_method_handler(export)})
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    tmp = sys.argv[1] + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, sys.argv[1])
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
