"""--backend: which probe backend kspan attaches, the one startup line that
says so and why the better ones were not taken, and a forced backend that
cannot work.

This host's kernel (see /work/shared/HOST-KERNEL.md: no CONFIG_KPROBES,
fentry refused with EPERM) leaves the socket tracepoints and the syscall
tracepoints. With header insertion on (these tests' default), `auto` must
pick the syscall tracepoints and name the reason for each better backend;
test_socket_tracepoint.py covers the socket tracepoints. The kprobe and
fentry backends themselves are proven in a VM by tests/vm (make vm-tests).
"""

import os
import re
import subprocess

import harness
from checks import CommonChecks

KPROBE_PMU = "/sys/bus/event_source/devices/kprobe"


def backend_lines(k):
    return [ln for ln in k.log_text().splitlines() if ln.startswith("kspan: backend ")]


class TestBackend(CommonChecks, harness.KspanCase):

    def traced_exchange_works(self):
        self.curl_exchange(harness.http_server(), joined=False)

    def test_auto_picks_tracepoints_on_this_kernel_and_says_why(self):
        k = self.start_kspan()
        lines = backend_lines(k)
        self.assertEqual(len(lines), 1, "want one backend line, got:\n%s" % k.log_tail())
        m = re.match(r"^kspan: backend tracepoint \(auto: (fentry [^;]+); (kprobe: [^;]+); "
                     r"socket-tracepoint: cannot insert headers\)"
                     r": tp_btf sys_enter/sys_exit$", lines[0])
        self.assertIsNotNone(m, "unexpected backend line %r" % lines[0])
        if not os.path.exists(KPROBE_PMU):
            self.assertEqual(m.group(2), "kprobe: no kprobe PMU")
        # The read exit holds the data path, HTTP/2 insertion included.
        self.assert_verifier_margin(k, "kspan_tp_sys_exit")
        self.traced_exchange_works()

    def test_forced_tracepoint(self):
        k = self.start_kspan(extra_args=["--backend", "tracepoint"])
        self.assertEqual(backend_lines(k), ["kspan: backend tracepoint (forced by --backend): "
                                            "tp_btf sys_enter/sys_exit"])
        self.traced_exchange_works()

    def run_forced(self, backend):
        p = subprocess.run([harness.KSPAN_BIN, "--backend", backend, "--exporter", "none"],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, timeout=60)
        err = p.stderr.decode("utf-8", "replace").splitlines()
        return p.returncode, [ln for ln in err if "warning" in ln]

    def test_forced_kprobe_without_kprobes_exits_1_with_one_line(self):
        if os.path.exists(KPROBE_PMU):
            self.skipTest("this kernel has kprobes")
        rc, warnings = self.run_forced("kprobe")
        self.assertEqual(rc, 1)
        self.assertEqual(warnings,
                         ["kspan: warning: backend kprobe cannot work here: kprobe: no kprobe PMU"])

    def test_forced_fentry_that_the_kernel_refuses_exits_1_with_one_line(self):
        rc, warnings = self.run_forced("fentry")
        if rc == 0:
            self.skipTest("this kernel allows fentry")
        self.assertEqual(rc, 1)
        self.assertEqual(len(warnings), 1, warnings)
        self.assertRegex(warnings[0], r"^kspan: warning: backend fentry cannot work here: fentry ")
