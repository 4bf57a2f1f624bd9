"""--record-events FILE writes every ring-buffer record the agent read, and the
replay benchmark (build/bench/replay, tests/bench/replay.c) turns that file,
through the same parsers and assemblers without BPF, into exactly the spans
the agent sent."""

import os
import re
import subprocess

import harness
from harness import curl, is_server

REPLAY_BIN = os.path.join(harness.REPO, "build", "bench", "replay")


class TestRecordEvents(harness.KspanCase):

    def setUp(self):
        super().setUp()
        if not os.access(REPLAY_BIN, os.X_OK):
            self.fail("no %s: build it with `make build/bench/replay`" % REPLAY_BIN)
        self.srv = harness.http_server()
        self.dir = harness.tempdir("kspan-it-record-")
        self.path = os.path.join(self.dir, "events.rec")

    def replay(self, *args):
        r = subprocess.run([REPLAY_BIN] + list(args), capture_output=True, text=True,
                           timeout=60)
        return r.returncode, dict(re.findall(r"(\w+)=([\d.]+)", r.stdout)), r.stdout + r.stderr

    def test_replay_makes_the_spans_the_agent_sent(self):
        k = self.start_kspan(pids=[self.srv.pid], extra_args=["--record-events", self.path])
        for i in range(5):
            r = curl(self.srv.url("/ok?n=%d" % i))
            self.assertEqual((r.rc, r.http_code), (0, 200), r)
        self.expect_spans(is_server(self.srv.port, self.srv.pid), 5, "SERVER spans of /ok")
        k.stop()
        self.assertIn("--record-events:", k.log_tail())
        with open(self.path, "rb") as f:
            self.assertEqual(f.read(8), b"KSPANREC")

        rc, out, text = self.replay("--rounds", "2", self.path)
        self.assertEqual(rc, 0, text)
        self.assertGreater(int(out["records"]), 5, text)  # requests, responses, process info
        self.assertEqual(int(out["spans"]), 2 * 5, text)  # two rounds of the five SERVER spans
        self.assertEqual(int(out["encode_failures"]), 0, text)

        # --out: the span metrics of the replay count the five requests under
        # their route, and the OTLP requests are kept
        out_dir = harness.tempdir("kspan-it-replay-out-")
        rc, out, text = self.replay("--out", out_dir, self.path)
        self.assertEqual(rc, 0, text)
        with open(os.path.join(out_dir, "metrics.prom")) as f:
            prom = f.read()
        count = re.search(r'^http_server_request_duration_seconds_count\{[^}]*'
                          r'http_route="/ok"[^}]*\} (\d+)$', prom, re.M)
        self.assertIsNotNone(count, prom)
        self.assertEqual(int(count.group(1)), 5, prom)
        self.assertEqual(os.path.getsize(os.path.join(out_dir, "otlp.bin")),
                         4 + round(float(out["bytes_per_span"]) * 5), text)

    def test_replay_refuses_a_file_that_is_not_a_recording(self):
        with open(self.path, "wb") as f:
            f.write(b"not a recording, just bytes")
        rc, _, text = self.replay(self.path)
        self.assertEqual(rc, 1, text)
        self.assertIn("not a kspan recording", text)
