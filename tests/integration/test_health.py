"""/healthz and /readyz on the metrics server (user/agent/health.h).

Liveness: the main loop ran lately (or kspan is loading, or flushing at exit).
Readiness: the probes are attached, the ring buffer is being read, the
exporter's sender is not stuck; not while loading, not while stopping.
"""

import os
import re
import signal
import time
import urllib.error
import urllib.request

import harness


def get(port, path, method="GET"):
    """(status, body) of http://127.0.0.1:port/path; (None, error) when
    nothing answers."""
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), method=method)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError as e:
        return None, str(e)


def metrics_port_early(k, timeout=30.0):
    """The metrics port, read from the log as soon as it is there (before
    `kspan: ready`)."""
    def port():
        m = re.search(r"metrics: Prometheus text on \S+ \(port (\d+)\)", k.log_text())
        return int(m.group(1)) if m else None
    p = harness.wait_until(port, timeout, 0.01)
    if not p:
        raise AssertionError("kspan logged no metrics port:\n%s" % k.log_tail())
    return p


class TestHealth(harness.KspanCase):

    def test_starting_then_ready(self):
        """While the probes load: live, not ready. Then both."""
        k = harness.Kspan(self.rx.endpoint, ports=[harness.free_port()])
        self.kspan = k
        self.addCleanup(lambda: k.returncode is None and k.stop())
        port = metrics_port_early(k)
        ready = get(port, "/readyz")
        live = get(port, "/healthz")
        # Loading the probes takes seconds: both answers came before it ended.
        self.assertNotIn("kspan: ready", k.log_text())
        self.assertEqual(ready, (503, "not ready: starting (loading and attaching the probes)\n"))
        self.assertEqual(live[0], 200, live)
        self.assertTrue(live[1].startswith("live: starting for "), live)
        k.wait_ready()
        status, body = get(port, "/healthz")
        self.assertEqual(status, 200, body)
        self.assertRegex(body, r"^live: main loop ran \d+ ms ago\n$")
        status, body = get(port, "/readyz")
        self.assertEqual(status, 200, body)
        self.assertRegex(body, r"^ready: probes attached, ring buffer read \d+ ms ago\n$")
        # HEAD: the status alone; a query is ignored; other paths 404.
        self.assertEqual(get(port, "/readyz", "HEAD"), (200, ""))
        self.assertEqual(get(port, "/healthz?verbose=1")[0], 200)
        self.assertEqual(get(port, "/readyzz")[0], 404)
        self.assertEqual(get(port, "/metrics")[0], 200)

    def test_readyz_stays_ready_while_the_collector_is_down(self):
        """A collector that refuses connections is not the agent's fault:
        still ready (every node would turn unready at once)."""
        dead = "http://127.0.0.1:%d" % harness.free_port()
        srv = harness.http_server()
        k = self.start_kspan(endpoint=dead, ports=[srv.port])
        port = k.metrics_port()
        for _ in range(3):
            r = harness.curl(srv.url("/ok"))
            self.assertEqual(r.http_code, 200, r)
        self.assertTrue(harness.wait_until(
            lambda: k.metrics().get("kspan_export_requests_failed_total", 0) > 0, 15),
            k.metrics_text())
        status, body = get(port, "/readyz")
        self.assertEqual(status, 200, body)

    def test_not_ready_while_stopping(self):
        """After SIGINT, while the exporter flushes to a collector that is
        down (up to 3.5 s): live, not ready; then exit 0."""
        dead = "http://127.0.0.1:%d" % harness.free_port()
        srv = harness.http_server()
        k = self.start_kspan(endpoint=dead, ports=[srv.port])
        port = k.metrics_port()
        r = harness.curl(srv.url("/ok"))
        self.assertEqual(r.http_code, 200, r)
        # A batch waits in the queue, its sender retrying.
        self.assertTrue(harness.wait_until(
            lambda: k.metrics().get("kspan_export_requests_failed_total", 0) > 0, 15),
            k.metrics_text())
        os.kill(k.pid, signal.SIGINT)
        seen = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and k.alive():
            ready = get(port, "/readyz")
            live = get(port, "/healthz")
            if ready[0] is not None and live[0] is not None:
                seen.append((ready, live))
            if ready == (503, "not ready: stopping\n"):
                break
            time.sleep(0.02)
        self.assertIn(((503, "not ready: stopping\n"), (200, "live: stopping\n")), seen, seen)
        rc = k.proc.wait(timeout=10)
        k.returncode = rc
        k._close()
        self.assertEqual(rc, 0, k.log_tail())
