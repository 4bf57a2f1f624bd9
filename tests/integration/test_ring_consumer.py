"""kspan's ring buffer reader (user/ingest/ring_consumer.c), which gives the
ring's room back to the BPF programs in batches rather than after every
record, against libbpf's ring_buffer__consume(), its oracle: both read
batches that tests/integration/ring/ring_writer.bpf.c writes into a real BPF
ring buffer (records of 1-1024 bytes and discarded ones, wrapping the ring
many times), and each must hand over exactly the records written, in order,
byte for byte (tests/integration/ring/ring_oracle.c)."""
import os
import subprocess
import unittest

import harness

ORACLE = os.path.join(harness.REPO, "build", "tests", "ring_oracle")
WRITER = os.path.join(harness.REPO, "build", "tests", "ring_writer.bpf.o")


class TestRingConsumer(unittest.TestCase):

    def test_reads_what_libbpf_reads(self):
        for path in (ORACLE, WRITER):
            if not os.path.exists(path):
                self.fail("no %s: build it with `make build/tests/ring_oracle "
                          "build/tests/ring_writer.bpf.o`" % path)
        p = subprocess.run([ORACLE, WRITER], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=300)
        out = p.stdout.decode("utf-8", "replace").strip()
        self.assertEqual(p.returncode, 0, out)
        self.assertRegex(out, r"^ring_oracle: [1-9]\d* records \(\d+ bytes\) and [1-9]\d* "
                              r"discarded over 300 rounds: kspan's reader and libbpf's agree$")


if __name__ == "__main__":
    unittest.main()
