"""OTLP/HTTP protobuf trace receiver for the kspan integration tests.

Listens on 127.0.0.1:<free port> in a thread of the test process and accepts
POST /v1/traces with Content-Type application/x-protobuf (optionally
Content-Encoding gzip). The body is decoded as ExportTraceServiceRequest with
the python protobuf library (Debian python3-protobuf), using classes generated
at test time by protoc from the repository's own user/export/otlp/proto/*.proto files.
POST /v1/metrics (ExportMetricsServiceRequest, protobuf or JSON) is decoded
and kept whole in `metric_requests` (see MetricPoint and metric_points());
it is always answered 200.
Every traces request is answered 200 with an empty ExportTraceServiceResponse,
unless the test scripted other answers (see Answer): an HTTP error status,
429/503 with Retry-After, a partial success, a stall; `go_down()` closes the
port and every open connection (a collector outage), `come_up()` listens on
the same port again. Every request is also kept in `attempts` (arrival time,
answer, the span ids it carried), including the ones not answered 200.

Spans are stored flattened (see Span below). Anything the receiver did not like
(wrong path, method, content type, undecodable body) is recorded in
`receiver.errors` so that tests can assert the exporter spoke proper OTLP.

    rx = OtlpReceiver(proto_dir)      # runs protoc, starts the server thread
    rx.endpoint                       # "http://127.0.0.1:PORT"
    rx.wait_for(match, count, timeout)  # spans matching, once >= count
    rx.settle(match, timeout, quiet)    # spans matching, once stable
    rx.clear()
    rx.close()
"""

import atexit
import base64
import gzip
import importlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf import json_format

SPAN_KIND_SERVER = 2
SPAN_KIND_CLIENT = 3
STATUS_UNSET = 0
STATUS_OK = 1
STATUS_ERROR = 2

_PB_LOCK = threading.Lock()
_PB = {}  # proto_dir -> (tmpdir, trace_service_pb2)


def generate_classes(proto_dir, timeout=60.0):
    """Runs protoc --python_out on every .proto under proto_dir (once per
    process) and imports the generated ExportTraceServiceRequest module.
    Waits up to `timeout` seconds for the .proto files to exist."""
    proto_dir = os.path.abspath(proto_dir)
    with _PB_LOCK:
        if proto_dir in _PB:
            return _PB[proto_dir][1]
        need = "opentelemetry/proto/collector/trace/v1/trace_service.proto"
        deadline = time.monotonic() + timeout
        while not os.path.isfile(os.path.join(proto_dir, need)):
            if time.monotonic() > deadline:
                raise RuntimeError("no %s under %s" % (need, proto_dir))
            time.sleep(1.0)
        protos = []
        for root, _, files in os.walk(proto_dir):
            for f in files:
                if f.endswith(".proto"):
                    protos.append(os.path.relpath(os.path.join(root, f), proto_dir))
        protos.sort()
        out = tempfile.mkdtemp(prefix="kspan-it-pb-")
        try:
            r = subprocess.run(["protoc", "--python_out=" + out, "--proto_path=" + proto_dir]
                               + protos, cwd=proto_dir, capture_output=True, text=True,
                               timeout=60)
        except FileNotFoundError:
            shutil.rmtree(out, ignore_errors=True)
            raise RuntimeError("protoc not found: apt-get install protobuf-compiler")
        if r.returncode != 0:
            shutil.rmtree(out, ignore_errors=True)
            raise RuntimeError("protoc failed (%d): %s" % (r.returncode, r.stderr))
        sys.path.insert(0, out)
        importlib.invalidate_caches()
        mod = importlib.import_module("opentelemetry.proto.collector.trace.v1.trace_service_pb2")
        _PB[proto_dir] = (out, mod)
        return mod


@atexit.register
def cleanup_generated():
    with _PB_LOCK:
        for out, _ in _PB.values():
            shutil.rmtree(out, ignore_errors=True)


def any_value(v):
    """OTLP AnyValue -> python value (str, int, bool, float, bytes, list, dict)."""
    which = v.WhichOneof("value")
    if which is None:
        return None
    if which == "string_value":
        return v.string_value
    if which == "int_value":
        return int(v.int_value)
    if which == "bool_value":
        return bool(v.bool_value)
    if which == "double_value":
        return float(v.double_value)
    if which == "bytes_value":
        return bytes(v.bytes_value)
    if which == "array_value":
        return [any_value(x) for x in v.array_value.values]
    if which == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in v.kvlist_value.values}
    return None


def kv_dict(kvs, dup_sink=None):
    d = {}
    for kv in kvs:
        if kv.key in d and dup_sink is not None:
            dup_sink.append(kv.key)
        d[kv.key] = any_value(kv.value)
    return d


class Span:
    """One received span, flattened. Ids are lowercase hex ('' when empty)."""

    __slots__ = ("trace_id", "span_id", "parent_span_id", "name", "kind", "start_ns", "end_ns",
                 "status_code", "status_message", "attributes", "resource", "trace_state",
                 "flags", "scope_name", "dup_keys", "received_at", "request_no")

    def __init__(self, **kw):
        for k in self.__slots__:
            setattr(self, k, kw.get(k))

    @property
    def duration_ns(self):
        return self.end_ns - self.start_ns

    @property
    def pid(self):
        return self.resource.get("process.pid")

    def attr(self, key, default=None):
        return self.attributes.get(key, default)

    def __repr__(self):
        kind = {SPAN_KIND_SERVER: "SERVER", SPAN_KIND_CLIENT: "CLIENT"}.get(self.kind, self.kind)
        return ("<Span %s %r pid=%s svc=%r trace=%s span=%s parent=%s status=%s dur=%.3fms "
                "attrs=%r>" % (kind, self.name, self.pid, self.resource.get("service.name"),
                               self.trace_id, self.span_id, self.parent_span_id or "-",
                               self.status_code, (self.end_ns - self.start_ns) / 1e6,
                               self.attributes))


ID_FIELDS = ("traceId", "spanId", "parentSpanId")


def _ids_hex_to_base64(node):
    """OTLP JSON ids are hex (protocol/otlp.md, JSON Protobuf Encoding); the
    protobuf library's JSON parser wants the proto3 mapping's base64."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k in ID_FIELDS and isinstance(v, str):
                if len(v) % 2 or any(c not in "0123456789abcdef" for c in v):
                    raise ValueError("%s %r is not lowercase hex" % (k, v))
                node[k] = base64.b64encode(bytes.fromhex(v)).decode()
            else:
                _ids_hex_to_base64(v)
    elif isinstance(node, list):
        for v in node:
            _ids_hex_to_base64(v)


def parse_otlp_json(pb, body, message_class=None):
    """An OTLP/HTTP JSON body -> ExportTraceServiceRequest, or message_class
    (strict: unknown field names, e.g. snake_case ones, are errors)."""
    doc = json.loads(body.decode("utf-8"))
    _ids_hex_to_base64(doc)
    req = (message_class or pb.ExportTraceServiceRequest)()
    json_format.ParseDict(doc, req)
    return req


def metrics_module():
    """The generated metrics_service_pb2 (generate_classes ran protoc on every .proto)."""
    return importlib.import_module(
        "opentelemetry.proto.collector.metrics.v1.metrics_service_pb2")


class MetricPoint:
    """One data point of one received metric, flattened: name, kind
    ("histogram" or "sum"), temporality (1 delta, 2 cumulative), attrs (dict),
    resource (dict), and the point message itself in `point`."""

    def __init__(self, name, kind, temporality, attrs, resource, point, unit):
        self.name, self.kind, self.temporality = name, kind, temporality
        self.attrs, self.resource, self.point, self.unit = attrs, resource, point, unit

    def __repr__(self):
        return "MetricPoint(%s %s %r)" % (self.name, self.kind, self.attrs)


def flatten_metrics(req):
    out = []
    for rm in req.resource_metrics:
        res = kv_dict(rm.resource.attributes)
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                kind = m.WhichOneof("data")
                data = getattr(m, kind)
                for p in data.data_points:
                    out.append(MetricPoint(m.name, kind, getattr(data, "aggregation_temporality", 0),
                                           kv_dict(p.attributes), res, p, m.unit))
    return out


class Answer:
    """How the receiver answers one request: status (200: the spans are
    stored), retry_after (seconds, sent as Retry-After), rejected (a
    partial_success with that many rejected spans and `message`), stall
    (seconds to wait before answering, or until the receiver goes down)."""

    def __init__(self, status=200, retry_after=None, rejected=0, message="", stall=0.0):
        self.status, self.retry_after, self.rejected = status, retry_after, rejected
        self.message, self.stall = message, stall

    def __repr__(self):
        return "<Answer %d%s%s%s>" % (self.status,
                                      " retry-after=%s" % self.retry_after
                                      if self.retry_after is not None else "",
                                      " rejected=%d" % self.rejected if self.rejected else "",
                                      " stall=%s" % self.stall if self.stall else "")


class Attempt:
    """One request as the receiver saw it."""

    __slots__ = ("at", "answer", "span_keys", "protocol")

    def __init__(self, at, answer, span_keys, protocol="http"):
        self.at, self.answer, self.span_keys, self.protocol = at, answer, span_keys, protocol

    def __repr__(self):
        return "<Attempt t=%.3f %r spans=%d>" % (self.at, self.answer, len(self.span_keys))


def span_keys_of(req):
    return [(s.trace_id.hex(), s.span_id.hex()) for rs in req.resource_spans
            for ss in rs.scope_spans for s in ss.spans]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.server.receiver._track(self.connection, True)

    def finish(self):
        try:
            super().finish()
        finally:
            self.server.receiver._track(self.connection, False)

    def log_message(self, fmt, *args):
        pass

    def _reply(self, code, body=b"", ctype="application/x-protobuf"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def do_GET(self):
        self.server.receiver._error("GET %s" % self.path)
        self._reply(405, b"method not allowed", "text/plain")

    def do_POST(self):
        rx = self.server.receiver
        length = int(self.headers.get("Content-Length", "0") or "0")
        body = self.rfile.read(length) if length > 0 else b""
        if self.path == "/v1/metrics":
            return self._metrics(rx, body)
        if self.path != "/v1/traces":
            rx._error("POST to %r (want /v1/traces)" % self.path)
            return self._reply(404, b"not found", "text/plain")
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype not in ("application/x-protobuf", "application/json"):
            rx._error("Content-Type %r (want application/x-protobuf or application/json)"
                      % ctype)
            return self._reply(415, b"unsupported media type", "text/plain")
        enc = (self.headers.get("Content-Encoding") or "identity").strip().lower()
        try:
            if enc == "gzip":
                body = gzip.decompress(body)
            elif enc != "identity":
                raise ValueError("Content-Encoding %r" % enc)
            if ctype == "application/json":
                req = parse_otlp_json(rx.pb, body)
            else:
                req = rx.pb.ExportTraceServiceRequest()
                req.ParseFromString(body)
        except Exception as e:  # noqa: BLE001 - any decode failure is an exporter bug
            rx._error("undecodable request (%d bytes): %r" % (len(body), e))
            return self._reply(400, b"bad request", "text/plain")
        answer = rx._next_answer()
        rx._attempt(Attempt(time.monotonic(), answer, span_keys_of(req)))
        if answer.stall and not rx.down_event.wait(answer.stall):
            pass
        if rx.down_event.is_set():
            self.close_connection = True
            return
        if answer.status != 200:
            self.send_response(answer.status)
            if answer.retry_after is not None:
                self.send_header("Retry-After", str(answer.retry_after))
            body = b"scripted error"
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        rx._ingest(req, self.headers)
        rx.content_types.add(ctype)
        if ctype == "application/json":
            resp = json_format.MessageToDict(rx.pb.ExportTraceServiceResponse.FromString(
                rx.response_bytes(answer)))
            return self._reply(200, json.dumps(resp).encode(), "application/json")
        self._reply(200, rx.response_bytes(answer))


    def _metrics(self, rx, body):
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        mod = metrics_module()
        try:
            if (self.headers.get("Content-Encoding") or "identity").strip().lower() == "gzip":
                body = gzip.decompress(body)
            if ctype == "application/json":
                req = parse_otlp_json(rx.pb, body, mod.ExportMetricsServiceRequest)
            elif ctype == "application/x-protobuf":
                req = mod.ExportMetricsServiceRequest()
                req.ParseFromString(body)
            else:
                raise ValueError("Content-Type %r" % ctype)
        except Exception as e:  # noqa: BLE001 - any decode failure is an exporter bug
            rx._error("undecodable metrics request (%d bytes): %r" % (len(body), e))
            return self._reply(400, b"bad request", "text/plain")
        with rx.cond:
            rx.metric_requests.append((ctype, req))
            rx.cond.notify_all()
        if ctype == "application/json":
            return self._reply(200, b"{}", "application/json")
        self._reply(200, mod.ExportMetricsServiceResponse().SerializeToString())


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class OtlpReceiver:
    def __init__(self, proto_dir, host="127.0.0.1", tls=None):
        """tls: an ssl.SSLContext for https (server side), or None."""
        self.tls = tls
        self.pb = generate_classes(proto_dir)
        self.cond = threading.Condition()
        self._spans = []
        self.errors = []
        self.requests = 0
        self.user_agents = set()
        self.attempts = []
        self.content_types = set()
        self.metric_requests = []  # (content type, ExportMetricsServiceRequest)
        self.script = []  # Answers for the next requests, in order
        self.default_answer = Answer()
        self.down_event = threading.Event()
        self._conns = set()
        self.host = host
        self.port = 0
        self._listen()
        self.endpoint = "%s://%s:%d" % ("https" if tls else "http", host, self.port)

    def _listen(self):
        self.httpd = _Server((self.host, self.port), _Handler)
        if self.tls is not None:
            self.httpd.socket = self.tls.wrap_socket(self.httpd.socket, server_side=True)
        self.httpd.receiver = self
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                       name="otlp-receiver", daemon=True)
        self.thread.start()

    # --- server side -----------------------------------------------------------
    def _track(self, conn, add):
        with self.cond:
            if add:
                self._conns.add(conn)
            else:
                self._conns.discard(conn)

    def _next_answer(self):
        with self.cond:
            return self.script.pop(0) if self.script else self.default_answer

    def _attempt(self, a):
        with self.cond:
            self.attempts.append(a)
            self.cond.notify_all()

    def response_bytes(self, answer):
        resp = self.pb.ExportTraceServiceResponse()
        if answer.rejected or answer.message:
            resp.partial_success.rejected_spans = answer.rejected
            resp.partial_success.error_message = answer.message
        return resp.SerializeToString()

    def _error(self, msg):
        with self.cond:
            self.errors.append(msg)
            self.cond.notify_all()

    def _ingest(self, req, headers):
        now = time.time()
        flat = []
        for rs in req.resource_spans:
            res = kv_dict(rs.resource.attributes)
            for ss in rs.scope_spans:
                for s in ss.spans:
                    dups = []
                    attrs = kv_dict(s.attributes, dups)
                    flat.append(Span(
                        trace_id=s.trace_id.hex(), span_id=s.span_id.hex(),
                        parent_span_id=s.parent_span_id.hex(), name=s.name, kind=int(s.kind),
                        start_ns=int(s.start_time_unix_nano), end_ns=int(s.end_time_unix_nano),
                        status_code=int(s.status.code), status_message=s.status.message,
                        attributes=attrs, resource=res, trace_state=s.trace_state,
                        flags=int(s.flags), scope_name=ss.scope.name, dup_keys=dups,
                        received_at=now))
        with self.cond:
            self.requests += 1
            for sp in flat:
                sp.request_no = self.requests
            self.user_agents.add(headers.get("User-Agent", ""))
            self._spans.extend(flat)
            self.cond.notify_all()

    # --- test side -------------------------------------------------------------
    def spans(self, match=None):
        with self.cond:
            return [s for s in self._spans if match is None or match(s)]

    def clear(self):
        with self.cond:
            self._spans = []
            self.errors = []
            self.attempts = []
            self.metric_requests = []
            self.script = []
            self.default_answer = Answer()

    def wait_for(self, match=None, count=1, timeout=10.0):
        """Waits until at least `count` stored spans satisfy `match` (all spans
        when None) or `timeout` seconds passed; returns the matching spans
        (possibly fewer than count: the caller asserts)."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                got = [s for s in self._spans if match is None or match(s)]
                left = deadline - time.monotonic()
                if len(got) >= count or left <= 0:
                    return got
                self.cond.wait(min(left, 0.2))

    def settle(self, match=None, count=1, timeout=10.0, quiet=0.6):
        """Like wait_for, then keeps waiting until no new matching span arrived
        for `quiet` seconds (several export periods), so that callers can
        assert exact counts ("and nothing more")."""
        got = self.wait_for(match, count, timeout)
        deadline = time.monotonic() + timeout
        n = len(got)
        stable_since = time.monotonic()
        while time.monotonic() - stable_since < quiet and time.monotonic() < deadline:
            time.sleep(0.05)
            m = len(self.spans(match))
            if m != n:
                n = m
                stable_since = time.monotonic()
        return self.spans(match)

    def wait_attempts(self, count, timeout=10.0):
        """Waits until at least `count` requests arrived; returns them all."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.attempts) < count and time.monotonic() < deadline:
                self.cond.wait(0.1)
            return list(self.attempts)

    def go_down(self):
        """A collector outage: stop listening (connections are refused) and
        cut every open connection, stalled requests included."""
        self.down_event.set()
        self._stop_server()
        with self.cond:
            conns = list(self._conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def come_up(self):
        """Listen on the same port again."""
        self.down_event.clear()
        deadline = time.monotonic() + 10
        while True:
            try:
                self._listen()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def _stop_server(self):
        try:
            self.httpd.shutdown()
        finally:
            self.httpd.server_close()
            self.thread.join(timeout=5)

    def close(self):
        self.down_event.set()
        self._stop_server()
