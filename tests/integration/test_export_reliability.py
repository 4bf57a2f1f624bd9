"""The OTLP exporter never loses spans silently: collector outages, throttling
(429 + Retry-After), permanent errors (400), partial success, a stalled
collector at shutdown. Each test has its own receiver(s) that it scripts, and
reads kspan's counters from its Prometheus endpoint (--metrics-addr).

Accounting identity checked everywhere: every span kspan queued for export is
either received by the collector exactly once or counted in exactly one
spans_export_dropped_* counter."""

import collections
import os
import threading
import time

import harness
from harness import PROTO_DIR, curl, involves_port
from otlp_receiver import Answer, OtlpReceiver

OUTAGE_S = 30.0
# A fast backoff so that the exporter notices the collector is back quickly.
FAST_RETRY = {"KSPAN_OTLP_RETRY_INITIAL_INTERVAL": "200", "KSPAN_OTLP_RETRY_MAX_INTERVAL": "1000"}


def counter(m, name):
    return int(m.get("kspan_%s_total" % name, -1))


class Traffic:
    """curl requests to srv at a steady rate on a thread, until stopped."""

    def __init__(self, srv, interval=0.2):
        self.srv, self.interval = srv, interval
        self.ok = 0
        self.failed = []
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        i = 0
        while not self._stop.is_set():
            r = curl(self.srv.url("/seq/%d" % i), timeout=10)
            if (r.rc, r.http_code) == (0, 200):
                self.ok += 1
            else:
                self.failed.append(r)
            i += 1
            self._stop.wait(self.interval)

    def stop(self):
        self._stop.set()
        self.thread.join(timeout=30)


class TestExportReliability(harness.KspanCase):

    def own_receiver(self):
        rx = OtlpReceiver(PROTO_DIR)
        self.addCleanup(rx.close)
        return rx

    def assert_exactly_once(self, spans, what):
        keys = collections.Counter((s.trace_id, s.span_id) for s in spans)
        dups = {k: n for k, n in keys.items() if n > 1}
        self.assertEqual(dups, {}, "%s: spans received more than once" % what)

    def assert_accounted(self, m, received, what):
        """queued == received + every drop, and the collector got what kspan
        says it exported."""
        drops = {n: counter(m, n) for n in (
            "spans_export_dropped_queue", "spans_export_dropped_rejected",
            "spans_export_dropped_partial", "spans_export_dropped_expired",
            "spans_export_dropped_shutdown", "spans_export_failed")}
        self.assertEqual(counter(m, "spans_exported"), received, "%s: %r" % (what, drops))
        self.assertEqual(counter(m, "spans_export_queued"), received + sum(drops.values()),
                         "%s: %r" % (what, drops))
        return drops

    def test_collector_outage_large_and_small_queue(self):
        """The collector is down for 30 s while traffic flows, then comes back.
        Agent A (queue large enough) delivers every span exactly once; agent B
        (a 20-span queue) delivers some, and its drop counter is exactly the
        number of spans that never arrived; agent C (the same small queue, and
        --spool-dir) moves what its queue cannot hold to disk and delivers every
        span exactly once. The agents watch the same traffic."""
        srv = harness.http_server()
        rx_a, rx_b, rx_c = self.own_receiver(), self.own_receiver(), self.own_receiver()
        env_a = dict(FAST_RETRY, OTEL_BSP_MAX_QUEUE_SIZE="100000",
                     OTEL_BSP_MAX_EXPORT_BATCH_SIZE="50")
        env_b = dict(FAST_RETRY, OTEL_BSP_MAX_QUEUE_SIZE="20", OTEL_BSP_MAX_EXPORT_BATCH_SIZE="10")
        a = self.start_kspan(endpoint=rx_a.endpoint, ports=[srv.port], env=env_a)
        b = self.start_kspan(endpoint=rx_b.endpoint, ports=[srv.port], env=env_b)
        spool = harness.tempdir("kspan-it-spill-")
        c = self.start_kspan(endpoint=rx_c.endpoint, ports=[srv.port], env=env_b,
                             extra_args=["--spool-dir", spool])
        traffic = Traffic(srv)
        time.sleep(3)
        for rx in (rx_a, rx_b, rx_c):
            rx.go_down()
        time.sleep(OUTAGE_S)
        self.assertGreater(c.metrics().get("kspan_export_spool_spans", 0), 0,
                           "agent C's queue overflowed, but nothing waits in its spool")
        for rx in (rx_a, rx_b, rx_c):
            rx.come_up()
        time.sleep(3)
        traffic.stop()
        self.assertEqual(traffic.failed, [], "the test traffic itself failed")
        n = traffic.ok
        self.assertGreater(n, 50, "too little traffic to mean anything")
        # Every request is one SERVER and one CLIENT span.
        spans_a = rx_a.settle(involves_port(srv.port), 2 * n, timeout=60, quiet=2.0)
        self.assert_exactly_once(spans_a, "agent A")
        self.assertEqual(len(spans_a), 2 * n, "agent A lost spans in the outage")
        ma = a.metrics()
        self.assert_accounted(ma, len(spans_a), "agent A")
        self.assertGreater(counter(ma, "export_retries"), 0, "the outage caused no retry")

        # B: wait until its queue is empty, then the books must balance.
        harness.wait_until(lambda: b.metrics().get("kspan_export_queue_spans") == 0, 60)
        spans_b = rx_b.settle(involves_port(srv.port), 1, timeout=30, quiet=2.0)
        self.assert_exactly_once(spans_b, "agent B")
        mb = b.metrics()
        drops = self.assert_accounted(mb, len(spans_b), "agent B")
        missing = 2 * n - len(spans_b)
        self.assertGreater(missing, 0, "a 20-span queue cannot hold a 30 s outage")
        self.assertEqual(drops["spans_export_dropped_queue"], missing, drops)
        self.assertEqual(counter(mb, "spans_export_queued"), 2 * n)

        # C: the same queue, and a spool: nothing lost, the spool empties.
        spans_c = rx_c.settle(involves_port(srv.port), 2 * n, timeout=60, quiet=2.0)
        self.assert_exactly_once(spans_c, "agent C")
        if len(spans_c) != 2 * n:
            # Lost in export (its books say so) or never made (A saw every
            # request): which kind, and what C counted.
            mc = c.metrics()
            kinds = collections.Counter(sp.kind for sp in spans_c)
            self.fail("agent C lost spans despite its spool: %d of %d (%r; agent A's %r); "
                      "queued %s exported %s spooled %s ringbuf drops %s gaps %s" % (
                          len(spans_c), 2 * n, dict(kinds),
                          dict(collections.Counter(sp.kind for sp in spans_a)),
                          counter(mc, "spans_export_queued"), counter(mc, "spans_exported"),
                          counter(mc, "spans_spooled"), counter(mc, "kernel_ringbuf_drops"),
                          counter(mc, "conn_event_gaps")))
        harness.wait_until(lambda: not os.listdir(spool), 30)
        mc = c.metrics()
        self.assertEqual(self.assert_accounted(mc, len(spans_c), "agent C"),
                         dict.fromkeys(drops, 0))
        self.assertGreater(counter(mc, "spans_spooled"), 0)
        self.assertEqual(mc.get("kspan_export_spool_spans"), 0)

    def test_400_is_dropped_counted_not_retried(self):
        srv = harness.http_server()
        rx = self.own_receiver()
        rx.default_answer = Answer(status=400)
        k = self.start_kspan(endpoint=rx.endpoint, ports=[srv.port], env=FAST_RETRY)
        for i in range(5):
            r = curl(srv.url("/seq/%d" % i))
            self.assertEqual((r.rc, r.http_code), (0, 200), r)
        harness.wait_until(lambda: counter(k.metrics(), "spans_export_dropped_rejected") >= 10,
                           20)
        time.sleep(2)  # a retry would come within the 200 ms backoff: give it time to show
        m = k.metrics()
        sent = [key for a in rx.attempts for key in a.span_keys]
        self.assertEqual(len(sent), 10, rx.attempts)
        self.assertEqual(len(set(sent)), 10, "a span was sent twice: %r" % rx.attempts)
        self.assertEqual(counter(m, "spans_export_dropped_rejected"), 10)
        self.assertEqual(counter(m, "export_retries"), 0)
        self.assertEqual(counter(m, "export_requests"), len(rx.attempts))
        self.assert_accounted(m, 0, "400")
        self.assertIn("not retryable", k.log_text())

    def test_429_retry_after_is_honoured(self):
        """429 with Retry-After: 2, then 200: the second attempt carries the
        same spans and arrives at least 2 s after the first."""
        srv = harness.http_server()
        rx = self.own_receiver()
        rx.script = [Answer(status=429, retry_after=2)]
        k = self.start_kspan(endpoint=rx.endpoint, ports=[srv.port], env=FAST_RETRY,
                             schedule_delay_ms=1000)
        for i in range(3):
            r = curl(srv.url("/seq/%d" % i))
            self.assertEqual((r.rc, r.http_code), (0, 200), r)
        spans = rx.settle(involves_port(srv.port), 6, timeout=20)
        self.assertEqual(len(spans), 6)
        self.assert_exactly_once(spans, "429")
        first, second = rx.attempts[0], rx.attempts[1]
        self.assertEqual(first.answer.status, 429)
        self.assertEqual(sorted(first.span_keys), sorted(second.span_keys))
        self.assertGreaterEqual(second.at - first.at, 2.0, rx.attempts)
        m = k.metrics()
        self.assertEqual(counter(m, "export_retries"), 1)
        self.assert_accounted(m, 6, "429")

    def test_partial_success_is_counted_not_retried(self):
        srv = harness.http_server()
        rx = self.own_receiver()
        rx.default_answer = Answer(rejected=1, message="one span is bad")
        k = self.start_kspan(endpoint=rx.endpoint, ports=[srv.port], env=FAST_RETRY,
                             schedule_delay_ms=1000)
        for i in range(2):
            r = curl(srv.url("/seq/%d" % i))
            self.assertEqual((r.rc, r.http_code), (0, 200), r)
        harness.wait_until(lambda: counter(k.metrics(), "spans_exported") > 0, 20)
        time.sleep(1.5)
        m = k.metrics()
        n = len(rx.attempts)
        self.assertEqual(counter(m, "spans_export_dropped_partial"), n)
        self.assertEqual(counter(m, "export_retries"), 0)
        self.assertEqual(counter(m, "spans_exported") + n, 4)
        self.assertIn("rejected 1 of", k.log_text())

    def test_stalled_collector_shutdown_is_bounded_and_reported(self):
        """The collector accepts the request and never answers: SIGINT still
        ends kspan within 5 s, and it says how many spans it could not send."""
        srv = harness.http_server()
        rx = self.own_receiver()
        rx.default_answer = Answer(stall=60)
        k = self.start_kspan(endpoint=rx.endpoint, ports=[srv.port], env=FAST_RETRY)
        for i in range(3):
            r = curl(srv.url("/seq/%d" % i))
            self.assertEqual((r.rc, r.http_code), (0, 200), r)
        rx.wait_attempts(1, timeout=20)
        harness.wait_until(lambda: counter(k.metrics(), "spans_export_queued") == 6, 20)
        self.assertEqual(counter(k.metrics(), "spans_export_queued"), 6)
        k.stop()
        log = k.log_text()
        self.assertRegex(log, r"OTLP exporter stopped with 6 spans \(\d+ batches\) not sent")
        self.assertIn("spans_export_dropped_shutdown=6", log)

    def test_metrics_endpoint(self):
        k = self.start_kspan(ports=[harness.free_port()])
        text = k.metrics_text()
        for name in ("kspan_spans_exported_total", "kspan_kernel_ringbuf_drops_total",
                     "kspan_export_queue_spans", "kspan_export_duration_seconds_bucket"):
            self.assertIn("\n" + name, text)
        self.assertIn("# TYPE kspan_spans_export_dropped_queue_total counter", text)
        url = "http://127.0.0.1:%d/other" % k.metrics_port()
        with self.assertRaises(harness.urllib.error.HTTPError) as ctx:
            harness.urllib.request.urlopen(url, timeout=10)
        self.assertEqual(ctx.exception.code, 404)


class TestExportHttpJson(harness.KspanCase):
    """OTEL_EXPORTER_OTLP_PROTOCOL=http/json: the receiver decodes the body
    with the protobuf library's own JSON parser (after turning the hex ids
    into the base64 it expects), so every field name and value is checked."""

    def test_json_delivery_and_partial_success(self):
        srv = harness.http_server()
        rx = OtlpReceiver(PROTO_DIR)
        self.addCleanup(rx.close)
        rx.script = [Answer(rejected=1, message="one span is bad")]
        k = self.start_kspan(endpoint=rx.endpoint, ports=[srv.port], schedule_delay_ms=1000,
                             env=dict(FAST_RETRY, OTEL_EXPORTER_OTLP_PROTOCOL="http/json",
                                      OTEL_EXPORTER_OTLP_COMPRESSION="gzip"))
        r = curl(srv.url("/seq/1?x=1"))
        self.assertEqual((r.rc, r.http_code), (0, 200), r)
        spans = rx.settle(involves_port(srv.port), 2, timeout=20)
        self.assertEqual(len(spans), 2, spans)
        self.assertEqual(rx.content_types, {"application/json"})
        server = [s for s in spans if s.pid == srv.pid][0]
        self.assertEqual(server.attr("url.path"), "/seq/1")
        self.assertEqual(server.attr("http.response.status_code"), 200)
        self.assertEqual(server.attr("server.port"), srv.port)
        self.assertRegex(server.trace_id, r"^[0-9a-f]{32}$")
        client = [s for s in spans if s.pid == r.pid][0]
        self.assertRegex(client.span_id, r"^[0-9a-f]{16}$")
        self.assertIn("exporter: OTLP http/json", k.log_text())
        harness.wait_until(lambda: counter(k.metrics(), "spans_export_dropped_partial") == 1, 10)
        self.assertEqual(counter(k.metrics(), "spans_export_dropped_partial"), 1)
        self.assertIn("rejected 1 of", k.log_text())


class TestExportSpool(harness.KspanCase):

    def test_restart_with_spool_dir_sends_everything_once(self):
        """The collector is down while kspan runs; at SIGINT the unsent batches
        go to --spool-dir; the next kspan sends them first, exactly once, and
        empties the directory."""
        srv = harness.http_server()
        rx = OtlpReceiver(PROTO_DIR)
        self.addCleanup(rx.close)
        rx.go_down()
        spool = harness.tempdir("kspan-it-spool-")
        args = ["--spool-dir", spool]
        a = self.start_kspan(endpoint=rx.endpoint, ports=[srv.port], env=FAST_RETRY,
                             extra_args=args)
        for i in range(5):
            r = curl(srv.url("/seq/%d" % i))
            self.assertEqual((r.rc, r.http_code), (0, 200), r)
        harness.wait_until(lambda: counter(a.metrics(), "spans_export_queued") == 10, 20)
        a.stop()
        log = a.log_text()
        self.assertIn("10 unsent spans kept in %s" % spool, log)
        self.assertIn("spans_spooled=10", log)
        self.assertIn("spans_export_dropped_shutdown=0", log)
        self.assertTrue(any(f.endswith(".batch") for f in os.listdir(spool)))

        rx.come_up()
        b = self.start_kspan(endpoint=rx.endpoint, ports=[srv.port], env=FAST_RETRY,
                             extra_args=args)
        spans = rx.settle(involves_port(srv.port), 10, timeout=20, quiet=1.5)
        keys = [(s.trace_id, s.span_id) for s in spans]
        self.assertEqual(len(keys), 10, spans)
        self.assertEqual(len(set(keys)), 10, "a spooled span was sent twice")
        self.assertEqual(sorted(s.attr("url.path") for s in spans if s.pid == srv.pid),
                         ["/seq/%d" % i for i in range(5)])
        self.assertIn("10 spans (", b.log_text())
        harness.wait_until(lambda: not os.listdir(spool), 10)
        self.assertEqual(os.listdir(spool), [], "sent batches must leave the spool")
        self.assertEqual(counter(b.metrics(), "spans_exported"), 10)
        b.stop()

        # A third start finds nothing to send again.
        c = self.start_kspan(endpoint=rx.endpoint, ports=[srv.port], env=FAST_RETRY,
                             extra_args=args)
        time.sleep(1.5)
        self.assertEqual(len(rx.spans(involves_port(srv.port))), 10)
        self.assertEqual(counter(c.metrics(), "spans_export_queued"), 0)
