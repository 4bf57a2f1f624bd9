"""OTLP/gRPC trace receiver for the kspan integration tests: a real gRPC
server (Debian python3-grpcio) serving
opentelemetry.proto.collector.trace.v1.TraceService/Export with a generic
handler on raw bytes, decoded with the python protobuf classes that protoc
generates from the repository's own user/export/otlp/proto files (see otlp_receiver.py).

MetricsService/Export is served too: each request is decoded and kept in
`metric_requests` as ("grpc", ExportMetricsServiceRequest), answered OK.

Same interface as OtlpReceiver (spans, wait_for, settle, attempts, script,
default_answer, go_down, come_up, close); an Answer's status is a gRPC status
code here (0 = OK), and retry_after is sent as a google.rpc.RetryInfo in the
grpc-status-details-bin trailer.
"""

import importlib
import os
import time
from concurrent import futures

# The refused handshakes of the TLS tests are expected: keep grpc core quiet.
os.environ.setdefault("GRPC_VERBOSITY", "NONE")
import grpc  # noqa: E402

from otlp_receiver import Answer, Attempt, OtlpReceiver, metrics_module, span_keys_of
from tls_certs import read

SERVICE = "opentelemetry.proto.collector.trace.v1.TraceService"
METRICS_SERVICE = "opentelemetry.proto.collector.metrics.v1.MetricsService"
RETRY_INFO_TYPE = "type.googleapis.com/google.rpc.RetryInfo"
CODES = {c.value[0]: c for c in grpc.StatusCode}


class OtlpGrpcReceiver(OtlpReceiver):

    def __init__(self, proto_dir, host="127.0.0.1", tls_files=None):
        """tls_files: {"server_cert", "server_key", "ca" (client CA when
        require_client_auth)} paths and a "require_client_auth" flag, or None."""
        self.tls_files = tls_files
        super().__init__(proto_dir, host)
        self.endpoint = "%s://%s:%d" % ("https" if tls_files else "http", host, self.port)
        self.default_answer = Answer(status=0)
        self.status_pb = importlib.import_module("kspan.grpc_status_pb2")

    def clear(self):
        super().clear()
        self.default_answer = Answer(status=0)

    def _listen(self):
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        handler = grpc.method_handlers_generic_handler(
            SERVICE, {"Export": grpc.unary_unary_rpc_method_handler(self._export)})
        metrics = grpc.method_handlers_generic_handler(
            METRICS_SERVICE, {"Export": grpc.unary_unary_rpc_method_handler(self._metrics)})
        self.server.add_generic_rpc_handlers((handler, metrics))
        addr = "%s:%d" % (self.host, self.port)
        if self.tls_files:
            t = self.tls_files
            creds = grpc.ssl_server_credentials(
                [(read(t["server_key"]), read(t["server_cert"]))],
                root_certificates=read(t["ca"]) if t.get("require_client_auth") else None,
                require_client_auth=bool(t.get("require_client_auth")))
            port = self.server.add_secure_port(addr, creds)
        else:
            port = self.server.add_insecure_port(addr)
        if not port:
            raise OSError("cannot bind %s:%d" % (self.host, self.port))
        self.port = port
        self.server.start()

    def _stop_server(self):
        self.server.stop(grace=None)

    def go_down(self):
        self.down_event.set()
        self._stop_server()

    def _status_details(self, answer):
        st = self.status_pb.Status(code=answer.status, message="scripted error")
        if answer.retry_after is not None:
            ri = self.status_pb.RetryInfo()
            ri.retry_delay.seconds = int(answer.retry_after)
            ri.retry_delay.nanos = int((answer.retry_after - int(answer.retry_after)) * 1e9)
            st.details.add(type_url=RETRY_INFO_TYPE, value=ri.SerializeToString())
        return st.SerializeToString()

    def _metrics(self, request, context):
        mod = metrics_module()
        try:
            req = mod.ExportMetricsServiceRequest()
            req.ParseFromString(request)
        except Exception as e:  # noqa: BLE001 - any decode failure is an exporter bug
            self._error("undecodable gRPC metrics request (%d bytes): %r" % (len(request), e))
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "undecodable")
        with self.cond:
            self.metric_requests.append(("grpc", req))
            self.cond.notify_all()
        return mod.ExportMetricsServiceResponse().SerializeToString()

    def _export(self, request, context):
        md = dict(context.invocation_metadata())
        answer = self._next_answer()
        try:
            req = self.pb.ExportTraceServiceRequest()
            req.ParseFromString(request)
        except Exception as e:  # noqa: BLE001 - any decode failure is an exporter bug
            self._error("undecodable gRPC request (%d bytes): %r" % (len(request), e))
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "undecodable")
        self._attempt(Attempt(time.monotonic(), answer, span_keys_of(req), "grpc"))
        if answer.stall:
            self.down_event.wait(answer.stall)
        if self.down_event.is_set():
            context.abort(grpc.StatusCode.UNAVAILABLE, "receiver going down")
        if answer.status != 0:
            if answer.retry_after is not None:
                context.set_trailing_metadata(
                    (("grpc-status-details-bin", self._status_details(answer)),))
            context.abort(CODES[answer.status], "scripted error")
        headers = {"User-Agent": md.get("user-agent", "")}
        self._ingest(req, headers)
        return self.response_bytes(answer)
