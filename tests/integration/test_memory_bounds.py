"""Bounded memory: connections whose close kspan never sees.

Real processes, while kspan cannot keep up. Each round, kspan is paused
(SIGSTOP: what a CPU-throttled or descheduled agent looks like to the
kernel) and a client opens thousands of loopback connections and writes one
request on each (HTTP/1.1 or HTTP/2). The ring buffer (2 MiB) fills with the
first requests; the records that follow are dropped by the kernel
(kernel_ringbuf_drops). Then, in most rounds, a long-lived client closes its
connections: those closes are lost. When kspan resumes it holds thousands of
connections, each with a request open, that nothing will ever end (about
200 000 over the run). In every fourth round a fresh client process is
killed (SIGKILL) mid-request instead: its sockets close with it; its exit
record is small and usually still fits in the ring, and ends its
connections (http_unanswered_requests).

Without a bound, kspan's memory grows with every round. With the bounds
(--max-connections, --max-h2-streams, --conn-forget-ms), its resident memory
(VmRSS) must plateau below a bound derived from them, and the eviction and
expiry counters must have moved.
"""

import os
import resource
import signal
import subprocess
import sys
import time

import harness

RINGBUF_BYTES = 2 << 20
# A record of one of these requests takes over 200 bytes of ring (the HTTP/2
# ones two records): far more connections than fit, so the ring is full
# before the process is killed, and its exit and closes are lost. One file
# descriptor each, within the hard limit.
CONNS_PER_ROUND = min(19000, resource.getrlimit(resource.RLIMIT_NOFILE)[1] - 200)
# (protocol, how its connections end)
ROUNDS = (("h1", "close"), ("h2", "close"), ("h2", "close"), ("h1", "kill")) * 10
MAX_CONNECTIONS = 2048
MAX_H2_STREAMS = 2048
FORGET_MS = 4000
# What one followed connection may hold at most, with its open request or
# stream and their span, the registry's and the stream table's entries and
# the allocator's overhead: an HTTP/1 connection measures about 3 KiB, an
# HTTP/2 one (two HPACK decoders, frame parsers) about 12 KiB.
MAX_CONN_BYTES = 24 << 10
FLOOD = os.path.join(harness.CLIENTS, "lost_close_flood.py")


def vm_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


class TestMemoryBounds(harness.KspanCase):

    def drained(self, k):
        """Waits until kspan has read what the ring holds (its record count
        stops moving); returns its metrics."""
        last = None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            m = k.metrics()
            if last is not None and m["kspan_events_received_total"] == last:
                return m
            last = m["kspan_events_received_total"]
            time.sleep(0.25)
        raise AssertionError("kspan kept reading records for 20 s")

    def round(self, k, port, proto, how):
        """One round while kspan is paused: the long-lived client closes its
        connections, or a fresh one is killed mid-request."""
        os.kill(k.pid, signal.SIGSTOP)
        try:
            # A killed client listens on another loopback address: the
            # long-lived one holds 127.0.0.1:port.
            p = self.client if how == "close" else self.flood_client(port, "127.0.0.2")
            p.stdin.write(b"%s %d %s\n" % (proto.encode(), CONNS_PER_ROUND,
                                            b"close" if how == "close" else b"hold"))
            p.stdin.flush()
            self.assertEqual(p.stdout.readline(), b"done\n", "the flood client failed")
            if how == "kill":
                p.kill()
                p.wait(timeout=10)
                p.stdin.close()
                p.stdout.close()
        finally:
            os.kill(k.pid, signal.SIGCONT)
        return self.drained(k)

    def flood_client(self, port, host="127.0.0.1"):
        return harness.spawn([harness.PY, FLOOD, str(port), host], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE)

    def test_lost_closes_keep_rss_bounded(self):
        port = harness.free_port()
        k = self.start_kspan(ports=[port], exporter="none",
                             extra_args=["--ringbuf-bytes", str(RINGBUF_BYTES),
                                         "--max-connections", str(MAX_CONNECTIONS),
                                         "--max-h2-streams", str(MAX_H2_STREAMS),
                                         "--conn-forget-ms", str(FORGET_MS)])
        ready = vm_rss_kib(k.pid)
        self.client = self.flood_client(port)
        # One round of each protocol first: the ring's pages, the allocator's
        # arenas and the tables' first buckets are in the baseline.
        self.round(k, port, "h1", "close")
        self.round(k, port, "h2", "close")
        time.sleep(FORGET_MS / 1000 + 0.5)
        base = vm_rss_kib(k.pid)
        bound = base + MAX_CONNECTIONS * MAX_CONN_BYTES // 1024
        samples = []
        peak_conns = 0
        t0 = time.monotonic()
        for proto, how in ROUNDS:
            m = self.round(k, port, proto, how)
            samples.append((round(time.monotonic() - t0, 1), proto + " " + how,
                            vm_rss_kib(k.pid)))
            k.assert_alive()
            # The tables themselves never pass their caps.
            self.assertLessEqual(m["kspan_conns_followed"], MAX_CONNECTIONS, m)
            self.assertLessEqual(m["kspan_h2_streams_open"], MAX_H2_STREAMS, m)
            peak_conns = max(peak_conns, m["kspan_conns_followed"])
        leaked = m["kspan_conns_evicted_total"] + m["kspan_conns_expired_total"]
        sys.stderr.write("    | RSS KiB: ready %d, baseline %d, bound %d, rounds (s, proto, KiB): "
                         "%s\n"
                         "    | connections followed at most %d; forgotten: %d evicted, %d "
                         "expired; requests forgotten %d, ended unanswered %d; ring drops %d; "
                         "%d connections a round\n"
                         % (ready, base, bound, samples, peak_conns,
                            m["kspan_conns_evicted_total"],
                            m["kspan_conns_expired_total"],
                            m["kspan_requests_forgotten_total"],
                            m["kspan_http_unanswered_requests_total"],
                            m["kspan_kernel_ringbuf_drops_total"], CONNS_PER_ROUND))
        # The closes were lost for real: the kernel dropped records, and
        # kspan had to forget (evict or expire) far more connections than
        # it may hold.
        self.assertGreater(m["kspan_kernel_ringbuf_drops_total"], 0, m)
        self.assertGreater(m["kspan_conns_evicted_total"], 0, m)
        self.assertGreater(m["kspan_conns_expired_total"], 0, m)
        self.assertGreater(m["kspan_requests_forgotten_total"], 0, m)
        self.assertGreater(leaked, 10 * MAX_CONNECTIONS, m)
        # Far more of them than closes or exits ended (unanswered).
        self.assertGreater(leaked, 2 * m["kspan_http_unanswered_requests_total"], m)
        # Bounded: every sample below the bound the caps allow ...
        over = [s for s in samples if s[2] > bound]
        self.assertEqual(over, [], "RSS above %d KiB (baseline %d + %d connections x %d "
                         "bytes): %s" % (bound, base, MAX_CONNECTIONS, MAX_CONN_BYTES, samples))
        # ... and a plateau: the second half grows no more than an eighth of
        # the caps' room over the first half's peak.
        half = len(samples) // 2
        first_peak = max(s[2] for s in samples[:half])
        last_peak = max(s[2] for s in samples[half:])
        self.assertLessEqual(last_peak, first_peak + (bound - base) // 8,
                             "RSS still growing: %s" % samples)
