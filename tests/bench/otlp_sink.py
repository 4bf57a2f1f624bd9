#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""otlp_sink.py - a local OTLP/HTTP trace receiver that only counts.

Answers 200 with an empty ExportTraceServiceResponse to every POST /v1/traces
(OTLP/HTTP, protobuf or JSON, optionally gzip), counts requests, bytes and
spans, and reports the counts as one text line on GET /stats:

    requests=N spans=N bytes=N decode_errors=N

Usage: otlp_sink.py [--no-decode] PORT_FILE   (binds 127.0.0.1 on a free port,
writes the port to PORT_FILE once it accepts connections). Standard library only.
--no-decode: count requests and bytes only (spans=0), so that the sink's own
CPU stays small beside the agent it measures (the target benchmarks, which
read kspan's spans_exported counter instead).
"""
import http.server
import json
import os
import sys
import threading
import zlib


def read_varint(buf, pos):
    value = shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def length_delimited_fields(buf, wanted):
    """Yields the bytes of every length-delimited field number `wanted`; skips the rest."""
    pos = 0
    while pos < len(buf):
        key, pos = read_varint(buf, pos)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            _, pos = read_varint(buf, pos)
        elif wire_type == 1:
            pos += 8
        elif wire_type == 5:
            pos += 4
        elif wire_type == 2:
            size, pos = read_varint(buf, pos)
            if pos + size > len(buf):
                raise ValueError("truncated field")
            if number == wanted:
                yield buf[pos:pos + size]
            pos += size
        else:
            raise ValueError("unsupported wire type %d" % wire_type)


def count_spans_protobuf(body):
    # ExportTraceServiceRequest.resource_spans = 1, ResourceSpans.scope_spans = 2,
    # ScopeSpans.spans = 2 (opentelemetry/proto/trace/v1/trace.proto).
    spans = 0
    for resource_spans in length_delimited_fields(body, 1):
        for scope_spans in length_delimited_fields(resource_spans, 2):
            spans += sum(1 for _ in length_delimited_fields(scope_spans, 2))
    return spans


def count_spans_json(body):
    request = json.loads(body)
    return sum(len(ss.get("spans", []))
               for rs in request.get("resourceSpans", [])
               for ss in rs.get("scopeSpans", []))


class Counts:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = self.spans = self.bytes = self.decode_errors = 0


class SinkHandler(http.server.BaseHTTPRequestHandler):
    # Keep-alive, as an OTLP exporter reuses its connection.
    protocol_version = "HTTP/1.1"
    counts = Counts()
    decode = True

    def log_message(self, fmt, *args):
        pass  # one line per export would drown the benchmark's output

    def reply(self, status, body, content_type):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path != "/v1/traces":
            self.reply(404, b"", "text/plain")
            return
        spans, error = 0, 0
        if not self.decode:
            with self.counts.lock:
                self.counts.requests += 1
                self.counts.bytes += len(body)
            self.reply(200, b"", "application/x-protobuf")
            return
        try:
            if self.headers.get("Content-Encoding", "") == "gzip":
                body = zlib.decompress(body, 16 + zlib.MAX_WBITS)
            if self.headers.get("Content-Type", "").startswith("application/json"):
                spans = count_spans_json(body)
            else:
                spans = count_spans_protobuf(body)
        except (ValueError, zlib.error):
            error = 1
        with self.counts.lock:
            self.counts.requests += 1
            self.counts.spans += spans
            self.counts.bytes += len(body)
            self.counts.decode_errors += error
        # An empty message is a valid ExportTraceServiceResponse: everything accepted.
        self.reply(200, b"", "application/x-protobuf")

    def do_GET(self):
        if self.path != "/stats":
            self.reply(404, b"", "text/plain")
            return
        c = self.counts
        with c.lock:
            line = "requests=%d spans=%d bytes=%d decode_errors=%d\n" % (
                c.requests, c.spans, c.bytes, c.decode_errors)
        self.reply(200, line.encode(), "text/plain")


def main():
    args = sys.argv[1:]
    if args[:1] == ["--no-decode"]:
        SinkHandler.decode = False
        args = args[1:]
    if len(args) != 1:
        sys.exit("usage: otlp_sink.py [--no-decode] PORT_FILE")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SinkHandler)
    server.daemon_threads = True
    # Written whole, then renamed: the reader never sees half a port number.
    with open(args[0] + ".tmp", "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.replace(args[0] + ".tmp", args[0])
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
