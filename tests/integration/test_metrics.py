"""RED metrics and the service graph from every request (README "Metrics"):
a python3 HTTP server (200, 404, 500 and a delayed handler) and curl, both
followed by kspan (--port), checked in the OTLP metrics the receiver decodes
(protobuf and JSON, cumulative and delta) and in /metrics parsed by
prometheus_client's own parser."""

import time
import urllib.request

import harness
from harness import PROTO_DIR, curl, is_server
from otlp_grpc_receiver import OtlpGrpcReceiver
from prometheus_client.openmetrics.parser import \
    text_string_to_metric_families as openmetrics_families
from prometheus_client.parser import text_string_to_metric_families
from otlp_receiver import flatten_metrics

# Semantic conventions' duration buckets (metrics/histogram.c).
BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]
HTTP_SERVER = "http.server.request.duration"
HTTP_CLIENT = "http.client.request.duration"


def bucket_of(seconds):
    return next((i for i, b in enumerate(BOUNDS) if seconds <= b), len(BOUNDS))


class TestMetrics(harness.KspanCase):

    def setUp(self):
        super().setUp()
        self.srv = harness.http_server()
        self.addCleanup(self.srv.stop)

    def start(self, env=None, extra_args=()):
        e = {"OTEL_METRICS_EXPORTER": "otlp", "OTEL_METRIC_EXPORT_INTERVAL": "400"}
        e.update(env or {})
        return self.start_kspan(ports=[self.srv.port], env=e, extra_args=list(extra_args))

    def traffic(self):
        """3 x 200, 2 x 404, 2 x 500, 1 delayed 200; returns the curl results."""
        paths = ["/ok"] * 3 + ["/status/404"] * 2 + ["/status/500"] * 2 + ["/delay/120"]
        out = []
        for p in paths:
            r = curl(self.srv.url(p))
            self.assertEqual(r.rc, 0, r)
            out.append(r)
        return out

    def points(self, name, pid=None):
        pts = []
        for _, req in self.rx.metric_requests:
            pts += [p for p in flatten_metrics(req) if p.name == name and
                    (pid is None or p.resource.get("process.pid") == pid)]
        return pts

    def last_points(self, name, pid=None):
        """Cumulative: every stream's point from the last request it was in."""
        latest = {}
        for p in self.points(name, pid):
            key = (p.resource.get("process.pid"), tuple(sorted(p.attrs.items())))
            latest[key] = p
        return list(latest.values())

    def server_counts(self, pts):
        return {(p.attrs.get("http.route"), p.attrs.get("http.response.status_code")):
                p.point.count for p in pts}

    def check_red(self):
        srv = self.srv
        server = self.last_points(HTTP_SERVER, srv.pid)
        self.assertEqual(self.server_counts(server),
                         {("/ok", 200): 3, ("/status/{id}", 404): 2, ("/status/{id}", 500): 2,
                          ("/delay/{id}", 200): 1}, server)
        for p in server:
            self.assertEqual(p.unit, "s")
            self.assertEqual(p.kind, "histogram")
            self.assertEqual(list(p.point.explicit_bounds), BOUNDS)
            self.assertEqual(sum(p.point.bucket_counts), p.point.count)
            self.assertEqual(p.attrs["http.request.method"], "GET")
            self.assertEqual(p.attrs["url.scheme"], "http")
            self.assertEqual(p.attrs["network.protocol.version"], "1.1")
            want_error = "500" if p.attrs["http.response.status_code"] == 500 else None
            self.assertEqual(p.attrs.get("error.type"), want_error, p.attrs)
            self.assertIn(p.resource.get("service.name"), srv.names)
        # The delayed request is in the bucket of its own span's duration.
        spans = self.rx.spans(lambda s: is_server(srv.port, srv.pid)(s) and
                              s.attr("url.path") == "/delay/120")
        self.assertEqual(len(spans), 1, spans)
        delayed = [p for p in server if p.attrs["http.route"] == "/delay/{id}"][0]
        want = [0] * (len(BOUNDS) + 1)
        want[bucket_of(spans[0].duration_ns / 1e9)] = 1
        self.assertEqual(list(delayed.point.bucket_counts), want)
        # Exemplars lead to exported spans of that bucket.
        exported = {s.span_id: s for s in self.rx.spans()}
        n_ex = 0
        for p in server:
            for ex in p.point.exemplars:
                s = exported.get(ex.span_id.hex())
                self.assertIsNotNone(s, "exemplar %s is no exported span" % ex.span_id.hex())
                self.assertEqual(s.trace_id, ex.trace_id.hex())
                n_ex += 1
        self.assertGreaterEqual(n_ex, len(server))
        # curl's side: one process per request, so one resource each.
        client = self.last_points(HTTP_CLIENT)
        client = [p for p in client if p.attrs.get("server.port") == srv.port]
        by_status = {}
        for p in client:
            self.assertEqual(p.attrs["server.address"], "127.0.0.1")
            self.assertEqual(p.resource.get("service.name"), "curl")
            code = p.attrs["http.response.status_code"]
            self.assertEqual(p.attrs.get("error.type"), str(code) if code >= 400 else None)
            by_status[code] = by_status.get(code, 0) + p.point.count
        self.assertEqual(by_status, {200: 4, 404: 2, 500: 2}, client)

    def check_service_graph(self):
        srv_name = self.last_points(HTTP_SERVER, self.srv.pid)[0].resource["service.name"]
        edge = {"client": "curl", "server": srv_name}
        req = [p for p in self.last_points("traces_service_graph_request_total")
               if p.attrs == edge]
        failed = [p for p in self.last_points("traces_service_graph_request_failed_total")
                  if p.attrs == edge]
        secs = [p for p in self.last_points("traces_service_graph_request_server_seconds")
                if p.attrs == edge]
        self.assertEqual([p.point.as_int for p in req], [8], req)
        # 404 fails the client span, 500 both.
        self.assertEqual([p.point.as_int for p in failed], [4], failed)
        self.assertEqual([p.point.count for p in secs], [8], secs)

    def test_service_graph_of_a_chain(self):
        """curl -> A -> B -> C, each a service of its own (OTEL_SERVICE_NAME):
        one edge per hop, every request counted once on each."""
        def chain(name, next_url=None):
            srv = harness.ScriptServer("chain_server.py", env={"OTEL_SERVICE_NAME": name},
                                       args=["--next", next_url] if next_url else [])
            self.addCleanup(srv.stop)
            return srv
        c = chain("svc-c")
        b = chain("svc-b", c.url(""))
        a = chain("svc-a", b.url(""))
        k = self.start_kspan(ports=[a.port, b.port, c.port], env={
            "OTEL_METRICS_EXPORTER": "otlp", "OTEL_METRIC_EXPORT_INTERVAL": "400"})
        for _ in range(3):
            r = curl(a.url("/call/urllib/call/urllib/end"))
            self.assertEqual((r.rc, r.http_code), (0, 200), r)
        self.settle(is_server(c.port, c.pid), 3)
        k.stop()
        edges = {(p.attrs["client"], p.attrs["server"]): p.point.as_int
                 for p in self.last_points("traces_service_graph_request_total")}
        self.assertEqual(edges, {("curl", "svc-a"): 3, ("svc-a", "svc-b"): 3,
                                 ("svc-b", "svc-c"): 3})
        self.assertEqual(self.last_points("traces_service_graph_request_failed_total"), [])
        client_secs = {(p.attrs["client"], p.attrs["server"]): p.point.count
                       for p in self.last_points("traces_service_graph_request_client_seconds")}
        self.assertEqual(client_secs, {e: 3 for e in edges})
        # every side found its other (the exit summary's counter)
        self.assertIn(" service_graph_unpaired=0 ", k.log_text())

    def test_otlp_protobuf_and_prometheus_counts(self):
        k = self.start()
        self.traffic()
        self.settle(is_server(self.srv.port, self.srv.pid), 8)
        text = k.metrics_text()
        k.stop()  # the last export happens at shutdown
        self.assertEqual({c for c, _ in self.rx.metric_requests}, {"application/x-protobuf"})
        self.check_red()
        self.check_service_graph()
        # The same counts in the Prometheus text, as prometheus_client reads it.
        counts = {}
        for fam in text_string_to_metric_families(text):
            if fam.name != "http_server_request_duration_seconds":
                continue
            for s in fam.samples:
                if s.name.endswith("_count") and s.labels["instance"].endswith(
                        ":%d" % self.srv.pid):
                    counts[(s.labels["http_route"], s.labels["http_response_status_code"])] = \
                        s.value
        self.assertEqual(counts, {("/ok", "200"): 3, ("/status/{id}", "404"): 2,
                                  ("/status/{id}", "500"): 2, ("/delay/{id}", "200"): 1})

    def test_grpc_gzip_metrics_service(self):
        """OTLP/gRPC (MetricsService/Export) with gzip, from the signal's own
        variables; the traces go to the HTTP receiver meanwhile."""
        grx = OtlpGrpcReceiver(PROTO_DIR)
        self.addCleanup(grx.close)
        k = self.start(env={"OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "grpc",
                            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": grx.endpoint,
                            "OTEL_EXPORTER_OTLP_METRICS_COMPRESSION": "gzip"})
        for p in ["/ok", "/ok", "/status/500"]:
            curl(self.srv.url(p))
        self.settle(is_server(self.srv.port, self.srv.pid), 3)
        k.stop()
        self.assertIn("metrics exporter: OTLP grpc to %s" % grx.endpoint, k.log_text())
        self.assertEqual(self.rx.metric_requests, [])
        self.assertEqual(grx.errors, [])
        self.rx.metric_requests, saved = grx.metric_requests, self.rx.metric_requests
        try:
            self.assertEqual(self.server_counts(self.last_points(HTTP_SERVER, self.srv.pid)),
                             {("/ok", 200): 2, ("/status/{id}", 500): 1})
        finally:
            self.rx.metric_requests = saved

    def test_openmetrics_exemplars(self):
        k = self.start()
        curl(self.srv.url("/ok"))
        spans = self.settle(is_server(self.srv.port, self.srv.pid), 1)
        req = urllib.request.Request("http://127.0.0.1:%d/metrics" % k.metrics_port(), headers={
            "Accept": "application/openmetrics-text; version=1.0.0,text/plain;q=0.5"})
        with urllib.request.urlopen(req, timeout=10) as r:
            self.assertTrue(r.headers["Content-Type"].startswith("application/openmetrics-text"))
            text = r.read().decode()
        self.assertTrue(text.endswith("# EOF\n"))
        lines = [ln for ln in text.splitlines()
                 if ln.startswith("http_server_request_duration_seconds_bucket") and " # " in ln]
        self.assertEqual(len(lines), 1, lines)
        self.assertIn('span_id="%s"' % spans[0].span_id, lines[0])
        self.assertIn('trace_id="%s"' % spans[0].trace_id, lines[0])
        # The whole exposition (kspan's own counters too) passes the strict
        # OpenMetrics parser, and it finds the exemplar.
        found = []
        for fam in openmetrics_families(text):
            for smp in fam.samples:
                if smp.exemplar and fam.name == "http_server_request_duration_seconds":
                    found.append(smp.exemplar.labels)
        self.assertEqual(found, [{"trace_id": spans[0].trace_id, "span_id": spans[0].span_id}])

    def test_json_delta(self):
        k = self.start(env={"OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "http/json",
                            "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "delta"})
        for _ in range(2):
            curl(self.srv.url("/ok"))
        harness.wait_until(lambda: sum(p.point.count for p in
                                       self.points(HTTP_SERVER, self.srv.pid)) == 2, 15)
        curl(self.srv.url("/ok"))
        self.settle(is_server(self.srv.port, self.srv.pid), 3)
        k.stop()
        self.assertEqual({c for c, _ in self.rx.metric_requests}, {"application/json"})
        pts = self.points(HTTP_SERVER, self.srv.pid)
        # Delta points cover disjoint intervals: they add up to the requests.
        self.assertEqual(sum(p.point.count for p in pts), 3, pts)
        self.assertGreaterEqual(len(pts), 2, pts)
        self.assertEqual({p.temporality for p in pts}, {1})
        for a, b in zip(pts, pts[1:]):
            self.assertLessEqual(a.point.time_unix_nano, b.point.start_time_unix_nano)

    def test_always_off_gives_full_metrics_and_no_spans(self):
        k = self.start(env={"OTEL_TRACES_SAMPLER": "always_off"})
        self.traffic()
        harness.wait_until(lambda: sum(p.point.count for p in
                                       self.last_points(HTTP_SERVER, self.srv.pid)) == 8, 15)
        k.stop()
        self.check_red_counts_only()
        self.assertEqual(self.rx.spans(), [])
        for p in self.last_points(HTTP_SERVER, self.srv.pid):
            self.assertEqual(len(p.point.exemplars), 0, "exemplar of an unexported span")

    def check_red_counts_only(self):
        self.assertEqual(self.server_counts(self.last_points(HTTP_SERVER, self.srv.pid)),
                         {("/ok", 200): 3, ("/status/{id}", 404): 2, ("/status/{id}", 500): 2,
                          ("/delay/{id}", 200): 1})

    def test_cardinality_overflow(self):
        k = self.start(extra_args=["--metrics-cardinality-limit", "3"])
        for p in ["/a", "/b", "/c", "/d"]:
            curl(self.srv.url(p))
        self.settle(is_server(self.srv.port, self.srv.pid), 4)
        time.sleep(0.1)
        overflowed = k.metrics()["kspan_metric_measurements_overflowed_total"]
        k.stop()
        pts = self.last_points(HTTP_SERVER, self.srv.pid)
        regular = sorted(p.attrs["http.route"] for p in pts if "http.route" in p.attrs)
        over = [p for p in pts if p.attrs == {"otel.metric.overflow": True}]
        self.assertEqual(regular, ["/a", "/b"], pts)
        self.assertEqual([p.point.count for p in over], [2], pts)
        self.assertEqual(overflowed, 2)
