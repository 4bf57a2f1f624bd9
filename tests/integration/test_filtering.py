"""kspan --pid and --port: only the selected processes / connections produce
spans. The servers start BEFORE kspan here (kspan must pick up processes
that were already running)."""

import harness
from checks import CommonChecks, fmt
from harness import SPAN_KIND_CLIENT, curl, involves_port, is_client, is_server


class TestFiltering(CommonChecks, harness.KspanCase):

    def setUp(self):
        super().setUp()
        self.a = harness.http_server()
        self.b = harness.http_server()

    def _traffic(self):
        ra = curl(self.a.url("/ok"))
        rb = curl(self.b.url("/ok"))
        self.assertEqual((ra.rc, ra.http_code), (0, 200), ra)
        self.assertEqual((rb.rc, rb.http_code), (0, 200), rb)
        return ra, rb

    def test_pid_filter(self):
        a = self.a
        self.start_kspan(pids=[a.pid])
        ra, rb = self._traffic()
        ss = self.expect_spans(is_server(a.port), 1, "SERVER span of --pid %d" % a.pid)
        self.check_server_span(ss[0], a.pid, a.port, "/ok", 200, peer_port=ra.local_port)
        everything = self.rx.settle(None, 1)
        others = [s for s in everything if s.pid != a.pid]
        self.assertEqual(others, [], "spans of processes not selected by --pid %d:\n%s"
                         % (a.pid, fmt(others)))
        self.assertEqual(len(everything), 1, fmt(everything))

    def test_pid_filter_repeated(self):
        a, b = self.a, self.b
        self.start_kspan(pids=[a.pid, b.pid])
        ra, rb = self._traffic()
        sa = self.expect_spans(is_server(a.port), 1, "SERVER span of --pid %d" % a.pid)
        sb = self.expect_spans(is_server(b.port), 1, "SERVER span of --pid %d" % b.pid)
        self.check_server_span(sa[0], a.pid, a.port, "/ok", 200, peer_port=ra.local_port)
        self.check_server_span(sb[0], b.pid, b.port, "/ok", 200, peer_port=rb.local_port)
        everything = self.rx.settle(None, 2)
        others = [s for s in everything if s.pid not in (a.pid, b.pid)]
        self.assertEqual(others, [], "spans of processes not selected:\n%s" % fmt(others))
        self.assertEqual([s for s in everything if s.kind == SPAN_KIND_CLIENT], [],
                         "curl's CLIENT spans must be absent")

    def test_port_filter(self):
        a, b = self.a, self.b
        self.start_kspan(ports=[a.port])
        ra, rb = self._traffic()
        s, c = self.one_exchange(a.port, a.pid, ra)
        self.check_server_span(s, a.pid, a.port, "/ok", 200, peer_port=ra.local_port)
        self.check_client_span(c, ra.pid, a.port, "/ok", 200)
        everything = self.rx.settle(None, 2)
        on_b = [x for x in everything if involves_port(b.port)(x) or x.pid in (b.pid, rb.pid)]
        self.assertEqual(on_b, [], "spans for port %d with --port %d:\n%s"
                         % (b.port, a.port, fmt(on_b)))
        off = [x for x in everything if not involves_port(a.port)(x)]
        self.assertEqual(off, [], "spans not on --port %d:\n%s" % (a.port, fmt(off)))
        self.assertEqual(len(everything), 2, fmt(everything))

    def test_port_filter_unfiltered_baseline(self):
        """Without filters both servers (already running when kspan started)
        are traced: the filters above are what removed the other spans."""
        a, b = self.a, self.b
        self.start_kspan()
        ra, rb = self._traffic()
        self.expect_spans(is_server(a.port, a.pid), 1, "SERVER span on port %d" % a.port)
        self.expect_spans(is_server(b.port, b.pid), 1, "SERVER span on port %d" % b.port)
        self.expect_spans(is_client(a.port, ra.pid), 1, "CLIENT span to port %d" % a.port)
        self.expect_spans(is_client(b.port, rb.pid), 1, "CLIENT span to port %d" % b.port)
