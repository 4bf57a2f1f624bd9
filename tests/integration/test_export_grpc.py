"""OTLP/gRPC export (OTEL_EXPORTER_OTLP_PROTOCOL=grpc) to a real gRPC server
(python3-grpcio): spans arrive, with and without gzip; retryable codes are
retried, RESOURCE_EXHAUSTED only with RetryInfo (whose delay is honoured),
other codes are dropped and counted; a receiver outage is survived with
every span delivered exactly once."""

import ssl
import time

import harness
import tls_certs
from harness import PROTO_DIR, curl, involves_port, is_server
from otlp_grpc_receiver import OtlpGrpcReceiver
from otlp_receiver import Answer, OtlpReceiver
from test_export_reliability import FAST_RETRY, Traffic, counter

UNAVAILABLE, INVALID_ARGUMENT, RESOURCE_EXHAUSTED = 14, 3, 8


class TestExportGrpc(harness.KspanCase):

    def grpc_receiver(self):
        rx = OtlpGrpcReceiver(PROTO_DIR)
        self.addCleanup(rx.close)
        return rx

    def start(self, rx, srv, env=None, **kw):
        e = dict(FAST_RETRY, OTEL_EXPORTER_OTLP_PROTOCOL="grpc")
        e.update(env or {})
        return self.start_kspan(endpoint=rx.endpoint, ports=[srv.port], env=e, **kw)

    def requests(self, srv, n):
        for i in range(n):
            r = curl(srv.url("/seq/%d" % i))
            self.assertEqual((r.rc, r.http_code), (0, 200), r)

    def check_delivery(self, compression):
        srv = harness.http_server()
        rx = self.grpc_receiver()
        k = self.start(rx, srv, env={"OTEL_EXPORTER_OTLP_COMPRESSION": compression,
                                      "OTEL_EXPORTER_OTLP_HEADERS": "X-Tenant=t1"})
        self.requests(srv, 3)
        spans = rx.settle(involves_port(srv.port), 6, timeout=20)
        self.assertEqual(len(spans), 6, spans)
        self.assertEqual(len({(s.trace_id, s.span_id) for s in spans}), 6)
        server = sorted(rx.spans(is_server(srv.port, srv.pid)), key=lambda s: s.start_ns)
        self.assertEqual([s.attr("url.path") for s in server], ["/seq/0", "/seq/1", "/seq/2"])
        # grpcio hides grpc-encoding from the handler; with gzip the spans only
        # decode because the message flag and the header agree.
        self.assertTrue(any(ua.startswith("kspan/") for ua in rx.user_agents), rx.user_agents)
        self.assertIn("exporter: OTLP grpc to http://127.0.0.1:%d" % rx.port, k.log_text())
        m = k.metrics()
        self.assertEqual(counter(m, "spans_exported"), 6)
        self.assertEqual(counter(m, "export_requests_failed"), 0)

    def test_delivery_plain(self):
        self.check_delivery("none")

    def test_delivery_gzip(self):
        self.check_delivery("gzip")

    def test_unavailable_is_retried(self):
        srv = harness.http_server()
        rx = self.grpc_receiver()
        rx.script = [Answer(status=UNAVAILABLE), Answer(status=UNAVAILABLE)]
        k = self.start(rx, srv, schedule_delay_ms=1000)
        self.requests(srv, 2)
        spans = rx.settle(involves_port(srv.port), 4, timeout=20)
        self.assertEqual(len(spans), 4)
        self.assertEqual(len(rx.attempts), 3, rx.attempts)
        self.assertEqual(rx.attempts[0].span_keys, rx.attempts[2].span_keys)
        m = k.metrics()
        self.assertEqual(counter(m, "export_retries"), 2)
        self.assertEqual(counter(m, "spans_exported"), 4)

    def test_resource_exhausted_with_retry_info_waits(self):
        srv = harness.http_server()
        rx = self.grpc_receiver()
        rx.script = [Answer(status=RESOURCE_EXHAUSTED, retry_after=2)]
        k = self.start(rx, srv, schedule_delay_ms=1000)
        self.requests(srv, 2)
        spans = rx.settle(involves_port(srv.port), 4, timeout=20)
        self.assertEqual(len(spans), 4)
        first, second = rx.attempts[0], rx.attempts[1]
        self.assertEqual(sorted(first.span_keys), sorted(second.span_keys))
        self.assertGreaterEqual(second.at - first.at, 2.0, rx.attempts)
        self.assertEqual(counter(k.metrics(), "export_retries"), 1)

    def test_permanent_errors_are_dropped(self):
        """INVALID_ARGUMENT, and RESOURCE_EXHAUSTED without RetryInfo: one
        attempt each, the spans counted as rejected."""
        srv = harness.http_server()
        rx = self.grpc_receiver()
        rx.script = [Answer(status=INVALID_ARGUMENT), Answer(status=RESOURCE_EXHAUSTED)]
        k = self.start(rx, srv, schedule_delay_ms=300)
        self.requests(srv, 1)
        harness.wait_until(lambda: counter(k.metrics(), "spans_export_dropped_rejected") >= 2, 20)
        self.requests(srv, 1)
        harness.wait_until(lambda: counter(k.metrics(), "spans_export_dropped_rejected") >= 4, 20)
        time.sleep(1.5)  # a retry would come within the 200 ms backoff
        m = k.metrics()
        self.assertEqual(len(rx.attempts), 2, rx.attempts)
        self.assertEqual(counter(m, "spans_export_dropped_rejected"), 4)
        self.assertEqual(counter(m, "export_retries"), 0)
        self.assertEqual(rx.spans(involves_port(srv.port)), [])

    def test_partial_success(self):
        srv = harness.http_server()
        rx = self.grpc_receiver()
        rx.default_answer = Answer(status=0, rejected=1, message="bad span")
        k = self.start(rx, srv, schedule_delay_ms=1000)
        self.requests(srv, 1)
        harness.wait_until(lambda: counter(k.metrics(), "spans_export_dropped_partial") >= 1, 20)
        m = k.metrics()
        self.assertEqual(counter(m, "spans_export_dropped_partial"), len(rx.attempts))
        self.assertIn("rejected 1 of", k.log_text())

    def test_outage_exactly_once(self):
        """The gRPC receiver goes away for 5 s (connection refused, then a new
        connection): every span arrives exactly once."""
        srv = harness.http_server()
        rx = self.grpc_receiver()
        k = self.start(rx, srv, env={"OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "20"})
        traffic = Traffic(srv)
        time.sleep(2)
        rx.go_down()
        time.sleep(5)
        rx.come_up()
        time.sleep(2)
        traffic.stop()
        self.assertEqual(traffic.failed, [])
        n = traffic.ok
        spans = rx.settle(involves_port(srv.port), 2 * n, timeout=60, quiet=2.0)
        keys = [(s.trace_id, s.span_id) for s in spans]
        self.assertEqual(len(keys), len(set(keys)), "duplicates after the outage")
        self.assertEqual(len(spans), 2 * n)
        m = k.metrics()
        self.assertGreater(counter(m, "export_retries"), 0)
        self.assertEqual(counter(m, "spans_exported"), 2 * n)


class TestExportTls(harness.KspanCase):
    """https:// endpoints: certificates made at test time (tls_certs.py); the
    collector's certificate is verified against OTEL_EXPORTER_OTLP_CERTIFICATE,
    and a client certificate is presented when the collector demands one."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.certs = tls_certs.make_certs(harness.tempdir("kspan-it-tls-"))

    def tls_env(self, protocol, client_cert=False):
        e = dict(FAST_RETRY, OTEL_EXPORTER_OTLP_PROTOCOL=protocol,
                 OTEL_EXPORTER_OTLP_CERTIFICATE=self.certs["ca"])
        if client_cert:
            e["OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"] = self.certs["client_cert"]
            e["OTEL_EXPORTER_OTLP_CLIENT_KEY"] = self.certs["client_key"]
        return e

    def deliver(self, rx, env, expect=2):
        srv = harness.http_server()
        k = self.start_kspan(endpoint=rx.endpoint, ports=[srv.port], env=env)
        r = curl(srv.url("/seq/1"))
        self.assertEqual((r.rc, r.http_code), (0, 200), r)
        if not expect:
            return k, srv, []
        return k, srv, rx.settle(involves_port(srv.port), expect, timeout=20)

    def test_grpc_tls_with_client_certificate(self):
        files = dict(self.certs, require_client_auth=True)
        rx = OtlpGrpcReceiver(PROTO_DIR, tls_files=files)
        self.addCleanup(rx.close)
        self.assertTrue(rx.endpoint.startswith("https://"))
        k, srv, spans = self.deliver(rx, self.tls_env("grpc", client_cert=True))
        self.assertEqual(len(spans), 2, spans)
        self.assertEqual(counter(k.metrics(), "spans_exported"), 2)

    def test_grpc_tls_unknown_ca_is_refused(self):
        """Without the test CA the server certificate cannot be verified: no
        span is sent, the failure is logged and retried."""
        rx = OtlpGrpcReceiver(PROTO_DIR, tls_files=self.certs)
        self.addCleanup(rx.close)
        env = dict(FAST_RETRY, OTEL_EXPORTER_OTLP_PROTOCOL="grpc")
        k, srv, _ = self.deliver(rx, env, expect=0)
        harness.wait_until(lambda: counter(k.metrics(), "export_requests_failed") >= 3, 20)
        self.assertEqual(rx.spans(involves_port(srv.port)), [])
        self.assertEqual(rx.attempts, [])
        self.assertRegex(k.log_text(), r"TLS handshake with 127\.0\.0\.1:\d+: .*certificate")
        self.assertEqual(counter(k.metrics(), "spans_exported"), 0)

    def test_https_protobuf(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.certs["server_cert"], self.certs["server_key"])
        rx = OtlpReceiver(PROTO_DIR, tls=ctx)
        self.addCleanup(rx.close)
        k, srv, spans = self.deliver(rx, self.tls_env("http/protobuf"))
        self.assertEqual(len(spans), 2, spans)
        self.assertEqual(counter(k.metrics(), "spans_exported"), 2)
