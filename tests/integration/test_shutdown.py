"""SIGINT: kspan flushes what it holds and exits 0 within 5 s."""

import time

import harness
from checks import CommonChecks, fmt
from harness import curl, is_client, is_server


class TestShutdown(CommonChecks, harness.KspanCase):

    def test_sigint_idle_exits_0(self):
        k = self.start_kspan()
        rc, took = k.stop()
        self.assertEqual(rc, 0)
        self.assertLess(took, harness.STOP_TIMEOUT)

    def test_sigint_delivers_finished_spans(self):
        """With a 60 s batch delay nothing is exported until SIGINT; the spans
        of requests that completed before the signal must still arrive."""
        srv = harness.http_server()
        k = self.start_kspan(ports=[srv.port], schedule_delay_ms=60000)
        results = [curl(srv.url("/seq/%d" % i)) for i in range(3)]
        for r in results:
            self.assertEqual((r.rc, r.http_code), (0, 200), r)
        time.sleep(1.0)  # let kspan read its ring buffer and finish the spans
        early = self.rx.spans(is_server(srv.port))
        self.assertEqual(early, [], "exported before OTEL_BSP_SCHEDULE_DELAY=60000 ran out:\n%s"
                         % fmt(early))
        rc, took = k.stop()
        self.assertEqual(rc, 0)
        ss = self.expect_spans(is_server(srv.port), 3, "SERVER spans flushed at shutdown",
                               timeout=2.0)
        cs = self.expect_spans(is_client(srv.port), 3, "CLIENT spans flushed at shutdown",
                               timeout=2.0)
        for i, (s, c, r) in enumerate(zip(ss, cs, results)):
            self.check_server_span(s, srv.pid, srv.port, "/seq/%d" % i, 200,
                                   peer_port=r.local_port, name="GET /seq/{id}")
            self.check_client_span(c, r.pid, srv.port, "/seq/%d" % i, 200, name="GET /seq/{id}")

    def test_sigint_with_unreachable_collector(self):
        """The collector is down (nothing listens on the endpoint): SIGINT still
        ends kspan with 0 within 5 s."""
        srv = harness.http_server()
        dead = "http://127.0.0.1:%d" % harness.free_port()
        k = self.start_kspan(endpoint=dead, ports=[srv.port])
        for i in range(3):
            r = curl(srv.url("/seq/%d" % i))
            self.assertEqual((r.rc, r.http_code), (0, 200), r)
        time.sleep(0.5)
        k.assert_alive()
        rc, took = k.stop()
        self.assertEqual(rc, 0)
