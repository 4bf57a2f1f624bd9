"""Bounded memory: connections whose close kspan never sees.

Real processes, repeatedly killed mid-request while kspan cannot keep up. Each
round, kspan is paused (SIGSTOP: what a CPU-throttled or descheduled agent
looks like to the kernel), a client process opens thousands of loopback
connections and writes one request on each (HTTP/1.1 or HTTP/2), and is then
killed with SIGKILL before any answer. The ring buffer (2 MiB) fills with the
first requests; every later record - the rest of the requests, every close,
the process's exit - is dropped by the kernel (kernel_ringbuf_drops). When
kspan resumes it holds thousands of connections, each with a request open,
that nothing will ever end.

Without a bound, kspan's memory grows with every round. With the bounds
(--max-connections, --max-h2-streams, --conn-forget-ms), its resident memory
(VmRSS) must plateau below a bound derived from them, and the eviction and
expiry counters must have moved.
"""

import os
import signal
import subprocess
import sys
import time

import harness

RINGBUF_BYTES = 2 << 20
# A DATA record of one of these requests takes about 190 bytes of ring (the
# HTTP/2 ones two records): more connections than fit, so the ring is full
# before the process is killed.
CONNS_PER_ROUND = 14000
ROUNDS = ("h1", "h1", "h1", "h2") * 5
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

    def round(self, k, port, proto):
        """One client process killed mid-request while kspan is paused."""
        os.kill(k.pid, signal.SIGSTOP)
        try:
            p = harness.spawn([harness.PY, FLOOD, str(port), str(CONNS_PER_ROUND), proto],
                              stdout=subprocess.PIPE)
            line = p.stdout.readline()
            self.assertEqual(line, b"ready\n", "the flood client failed")
            p.kill()
            p.wait(timeout=10)
            p.stdout.close()
        finally:
            os.kill(k.pid, signal.SIGCONT)
        return self.drained(k)

    def test_lost_closes_keep_rss_bounded(self):
        port = harness.free_port()
        k = self.start_kspan(ports=[port], exporter="none",
                             extra_args=["--ringbuf-bytes", str(RINGBUF_BYTES),
                                         "--max-connections", str(MAX_CONNECTIONS),
                                         "--max-h2-streams", str(MAX_H2_STREAMS),
                                         "--conn-forget-ms", str(FORGET_MS)])
        ready = vm_rss_kib(k.pid)
        # One round of each protocol first: the ring's pages, the allocator's
        # arenas and the tables' first buckets are in the baseline.
        self.round(k, port, "h1")
        self.round(k, port, "h2")
        time.sleep(FORGET_MS / 1000 + 0.5)
        base = vm_rss_kib(k.pid)
        bound = base + MAX_CONNECTIONS * MAX_CONN_BYTES // 1024
        samples = []
        peak_conns = 0
        t0 = time.monotonic()
        for proto in ROUNDS:
            m = self.round(k, port, proto)
            samples.append((round(time.monotonic() - t0, 1), proto, vm_rss_kib(k.pid)))
            k.assert_alive()
            # The tables themselves never pass their caps.
            self.assertLessEqual(m["kspan_conns_followed"], MAX_CONNECTIONS, m)
            self.assertLessEqual(m["kspan_h2_streams_open"], MAX_H2_STREAMS, m)
            peak_conns = max(peak_conns, m["kspan_conns_followed"])
        leaked = m["kspan_conns_evicted_total"] + m["kspan_conns_expired_total"]
        sys.stderr.write("    | RSS KiB: ready %d, baseline %d, bound %d, rounds (s, proto, KiB): "
                         "%s\n"
                         "    | connections followed at most %d; forgotten: %d evicted, %d "
                         "expired; requests forgotten %d; ring drops %d\n"
                         % (ready, base, bound, samples, peak_conns,
                            m["kspan_conns_evicted_total"],
                            m["kspan_conns_expired_total"],
                            m["kspan_requests_forgotten_total"],
                            m["kspan_kernel_ringbuf_drops_total"]))
        # The closes were lost for real: the kernel dropped records, and
        # kspan had to forget (evict or expire) far more connections than
        # it may hold.
        self.assertGreater(m["kspan_kernel_ringbuf_drops_total"], 0, m)
        self.assertGreater(m["kspan_conns_evicted_total"], 0, m)
        self.assertGreater(m["kspan_conns_expired_total"], 0, m)
        self.assertGreater(m["kspan_requests_forgotten_total"], 0, m)
        self.assertGreater(leaked, 10 * MAX_CONNECTIONS, m)
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
