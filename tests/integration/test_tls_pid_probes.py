"""With --pid, the OpenSSL uprobes go into the chosen processes only: another
process that maps the same libssl file (a load generator, a sidecar) runs
SSL_write without a breakpoint, so it pays no trap (README "HTTPS"). Without
--pid every process that maps the file is probed. The evidence is the
process's own memory: a uprobe's breakpoint replaces the first byte of the
probed function with int3 (0xcc) in the processes it applies to: SSL_write,
or, where kspan probes OpenSSL's internal write worker instead (its log says
"internal workers at 0xW/0xR", file offsets), that worker, and then
SSL_write keeps its own first byte (no trap there)."""

import os
import re
import subprocess

import harness
from harness import PY, SERVERS

INT3 = "cc"


class SslCodeReporter:
    def __init__(self):
        self.proc = harness.spawn([PY, os.path.join(SERVERS, "ssl_code_reporter.py")],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.pid = self.proc.pid
        line = harness._readline_timeout(self.proc.stdout, 10.0)
        if not line.startswith(b"READY"):
            raise AssertionError("ssl_code_reporter did not start: %r" % line)

    def first_byte(self, offset=None):
        """SSL_write's first byte, or the byte at file offset `offset`."""
        ask = "?" if offset is None else "%x" % offset
        self.proc.stdin.write(ask.encode() + b"\n")
        self.proc.stdin.flush()
        return harness._readline_timeout(self.proc.stdout, 10.0).decode().strip()


class TestTlsPidProbes(harness.KspanCase):

    def probed_lines(self, k):
        return [ln for ln in k.log_text().splitlines() if "OpenSSL probed in" in ln]

    def write_probe(self, k):
        """The file offset of the internal write worker kspan probes, or None
        (SSL_write itself); SSL_write must then be left alone."""
        m = re.search(r"internal workers at 0x([0-9a-f]+)/0x[0-9a-f]+",
                      "\n".join(self.probed_lines(k)))
        return int(m.group(1), 16) if m else None

    def test_only_the_chosen_process_gets_breakpoints(self):
        chosen, other = SslCodeReporter(), SslCodeReporter()
        self.assertNotEqual(chosen.first_byte(), INT3, "probed before kspan started?")
        k = self.start_kspan(pids=[chosen.pid])
        lines = self.probed_lines(k)
        self.assertTrue(lines and all("pid %d's view" % chosen.pid in ln
                                      and "for this process only" in ln for ln in lines),
                        k.log_tail())
        at = self.write_probe(k)
        self.assertEqual(chosen.first_byte(at), INT3, "the chosen process is not probed")
        self.assertNotEqual(other.first_byte(at), INT3,
                            "a process outside --pid got the breakpoint")
        if at is not None:
            self.assertNotEqual(chosen.first_byte(), INT3,
                                "SSL_write probed although its worker is")
        k.stop()
        self.assertNotEqual(chosen.first_byte(at), INT3, "breakpoint left after kspan stopped")

    def test_without_pid_every_process_that_maps_libssl_is_probed(self):
        a, b = SslCodeReporter(), SslCodeReporter()
        k = self.start_kspan()
        self.assertTrue(harness.wait_until(lambda: self.probed_lines(k), 10), k.log_tail())
        at = self.write_probe(k)
        self.assertEqual(a.first_byte(at), INT3)
        self.assertEqual(b.first_byte(at), INT3)
        self.assertFalse(any("for this process only" in ln for ln in self.probed_lines(k)))
