"""Ring-buffer overflow: a tiny ring and a burst of traffic. kspan must count
every record it lost, keep running, and never pair a request with the wrong
response on a connection that lost events (it drops those requests, counted,
instead)."""

import re
import subprocess

import harness

CLIENTS = 8
REQUESTS = 400
CODES = (200, 404, 500)


def counters(log_text):
    lines = [ln for ln in log_text.splitlines() if ln.startswith("kspan: counters")]
    if not lines:
        return None
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", lines[-1])}


class TestOverload(harness.KspanCase):

    def setUp(self):
        super().setUp()
        self.nginx = harness.Nginx()
        self.addCleanup(self.nginx.stop)

    def burst(self):
        """CLIENTS curls at once, each REQUESTS requests on one connection,
        the status codes alternating so that a mispaired span shows."""
        urls = [self.nginx.url("/status/%d" % CODES[i % len(CODES)]) for i in range(REQUESTS)]
        argv = ["curl", "-s", "-w", "%{http_code}\\n"]
        for u in urls:
            argv += ["-o", "/dev/null", u]
        procs = [harness.spawn(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for _ in range(CLIENTS)]
        for p in procs:
            out, _ = p.communicate(timeout=120)
            codes = [int(x) for x in out.split()]
            self.assertEqual(codes, [CODES[i % len(CODES)] for i in range(REQUESTS)],
                             "nginx answered wrongly: the test traffic itself is broken")

    def test_ring_buffer_overflow_is_counted_and_never_mispairs(self):
        port = self.nginx.port
        k = self.start_kspan(ports=[port],
                             extra_args=["--ringbuf-bytes", "4096", "--capture-bytes", "4096"])
        self.burst()
        k.assert_alive()
        total = 2 * CLIENTS * REQUESTS
        spans = self.rx.settle(harness.involves_port(port), total, timeout=10)
        k.stop()
        c = counters(k.log_text())
        self.assertIsNotNone(c, "no counters line:\n%s" % k.log_tail())
        self.assertGreater(c["kernel_ringbuf_drops"], 0,
                           "a 4 KiB ring under %d requests must overflow: %r" % (total // 2, c))
        # Nothing lost silently: missing spans come with gap counters.
        self.assertLess(len(spans), total, "records were dropped yet every span arrived")
        self.assertGreater(c["conn_event_gaps"], 0, c)
        self.assertGreater(len(spans), 0, "no span survived the overflow at all")
        # Never a wrong pairing: each status is the code its path asked for.
        wrong = [s for s in spans
                 if str(s.attr("url.path", "")).startswith("/status/")
                 and s.attr("http.response.status_code") is not None
                 and int(s.attr("url.path").split("/")[2]) != s.attr("http.response.status_code")]
        self.assertEqual(wrong, [], "spans paired with the wrong response:\n%s"
                         % harness.fmt_spans(wrong))
