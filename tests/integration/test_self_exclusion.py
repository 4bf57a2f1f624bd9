"""kspan never traces itself or its exporter's traffic, on either end: the
OTLP receiver here runs on this host (inside the test runner), as a collector
on the same node would, and receiving kspan's exports must not become spans
(each would be exported again, forever)."""

import shutil
import urllib.parse

import harness
from harness import curl, involves_port, is_server


class TestSelfExclusion(harness.KspanCase):

    def setUp(self):
        super().setUp()
        self.srv = harness.http_server()

    def test_exports_to_a_local_collector_are_not_traced(self):
        rx_port = urllib.parse.urlsplit(self.rx.endpoint).port
        k = self.start_kspan()  # no filter: every process, the receiver's included
        for _ in range(3):  # several exports, each a POST the receiver reads
            r = curl(self.srv.url("/ok"))
            self.assertEqual((r.rc, r.http_code), (0, 200), r)
            self.expect_spans(is_server(self.srv.port, self.srv.pid), 1, "SERVER span of /ok")
            self.rx.clear()
        # Leave time for a span of the last export to be exported in turn.
        looped = self.rx.settle(involves_port(rx_port), 1, timeout=3)
        self.assertEqual(looped, [], "spans of kspan's own exports:\n%s" % harness.fmt_spans(looped))
        own = self.rx.settle(lambda s: s.pid == k.pid, 1, timeout=0.5)
        self.assertEqual(own, [], "spans of kspan itself:\n%s" % harness.fmt_spans(own))

    def test_in_its_own_pid_namespace(self):
        """kspan in a pid namespace of its own, as in a container without
        hostPID: getpid() says 1 there, but its probes see its host pid, and
        that is the pid it must skip (issue 12, item 9)."""
        if not shutil.which("unshare"):
            self.skipTest("no unshare (util-linux)")
        rx_port = urllib.parse.urlsplit(self.rx.endpoint).port
        k = self.start_kspan(prefix=["unshare", "--pid", "--fork", "--mount-proc",
                                     "--kill-child"])
        kids = harness.proc_children(k.proc.pid)
        self.assertEqual(len(kids), 1, "unshare's children: %r" % kids)
        k.pid = k.signal_pid = kids[0]  # kspan, pid 1 of its namespace
        with open("/proc/%d/status" % k.pid) as f:
            nspid = next(line.split()[1:] for line in f if line.startswith("NSpid:"))
        self.assertEqual(nspid, [str(k.pid), "1"], "kspan is not pid 1 of a namespace")
        for _ in range(3):
            r = curl(self.srv.url("/ok"))
            self.assertEqual((r.rc, r.http_code), (0, 200), r)
            self.expect_spans(is_server(self.srv.port, self.srv.pid), 1, "SERVER span of /ok")
            self.rx.clear()
        looped = self.rx.settle(involves_port(rx_port), 1, timeout=3)
        self.assertEqual(looped, [], "spans of kspan's own exports:\n%s" % harness.fmt_spans(looped))
        own = self.rx.settle(lambda s: s.pid == k.pid, 1, timeout=0.5)
        self.assertEqual(own, [], "spans of kspan itself:\n%s" % harness.fmt_spans(own))
