"""Header insertion that cannot stall or corrupt traffic.

FIONREAD (issue 12, item 3): this machine's kernel has the sockhash FIONREAD
regression (commit 929e30f93125: a socket in a sockhash reports FIONREAD 0).
By default kspan finds that at start, says so in one line and inserts nothing;
with --insert-despite-fionread it inserts, and every client socket whose
first write is not an HTTP request leaves the sockhash before its answer can
arrive, so FIONREAD is right on it from the first exchange on.

Message boundaries (item 4): a traceparent goes only into the first bytes of
a real request - never into a body that starts like one - and a body of
unknown length (chunked) stops insertion on that connection (counted).

Self-check (item 12): at start kspan pushes through its own sk_msg program
into a socket pair it owns and compares the bytes; -v logs the pass, and a
failed check (forced by a test-only variable) turns insertion off in one
line.

Every kspan here is restricted to the test's own ports, so the counters are
exact.
"""

import json
import os

import harness
from harness import CLIENTS, PY

FIONREAD_LINE = "traceparent insertion is off: on this kernel a socket in a sockhash reports " \
                "FIONREAD 0"
OPT_IN_LINE = "traceparent insertion is on although this kernel's sockhash breaks FIONREAD"
ATTACHED_LINE = "traceparent insertion: sock_ops on cgroup"
SELFCHECK_PASSED = "traceparent insertion self-check passed"
SELFCHECK_FAILED = "traceparent insertion is off: its self-check found this kernel's " \
                   "bpf_msg_push_data/pop_data wrong"
CONNECTIONS = 20


def run_json(argv, timeout=120.0):
    p = harness.spawn(argv, stdout=harness.subprocess.PIPE, stderr=harness.subprocess.PIPE)
    try:
        out, err = p.communicate(timeout=timeout)
    except harness.subprocess.TimeoutExpired:
        harness._kill(p)
        raise AssertionError("%s hung" % " ".join(argv))
    if p.returncode != 0:
        raise AssertionError("%s failed rc=%s: %s" % (" ".join(argv), p.returncode,
                                                      err.decode("utf-8", "replace")[-2000:]))
    return json.loads(out.decode().strip().splitlines()[-1])


def fionread_client(port, greet):
    return run_json([PY, os.path.join(CLIENTS, "fionread_client.py"), "127.0.0.1", str(port),
                     str(CONNECTIONS)] + (["--greet"] if greet else []))


def boundary_client(port, mode, count):
    return run_json([PY, os.path.join(CLIENTS, "boundary_client.py"), "127.0.0.1", str(port),
                     mode, str(count)])


def counters(k):
    """The final counters line of a stopped kspan, as a dict."""
    line = [ln for ln in k.log_text().splitlines() if "counters " in ln][-1]
    return {kv.split("=")[0]: int(kv.split("=")[1]) for kv in line.split()[2:] if "=" in kv}


def lines_with(k, text):
    return [ln for ln in k.log_text().splitlines() if text in ln]


class TestFionread(harness.KspanCase):

    def setUp(self):
        super().setUp()
        self.blob = harness.ScriptServer("blob_server.py")
        self.greeter = harness.ScriptServer("blob_server.py", args=["--greet"])
        self.digest = harness.ScriptServer("digest_server.py")
        self.ports = [self.blob.port, self.greeter.port, self.digest.port]

    def assert_fionread_right(self, greeting):
        """FIONREAD on a traced client's non-HTTP sockets is right once the
        client wrote (and, when `greeting`, already on the greeting of a
        server that speaks first)."""
        for server, greet in ((self.blob, False), (self.greeter, True)):
            res = fionread_client(server.port, greet)
            self.assertEqual(res["received"], [100] * CONNECTIONS, res)
            self.assertEqual(res["fionread"], [100] * CONNECTIONS,
                             "FIONREAD after the first exchange (%s first): %s"
                             % ("server" if greet else "client", res))
            if greet and greeting:
                self.assertEqual(res["greeting_fionread"], [100] * CONNECTIONS, res)

    def test_default_on_this_kernel_inserts_nothing(self):
        k = self.start_kspan(ports=self.ports, exporter="none", insert_despite_fionread=False)
        self.assertEqual(len(lines_with(k, FIONREAD_LINE)), 1, k.log_tail())
        self.assertEqual(lines_with(k, ATTACHED_LINE), [], k.log_tail())
        self.assertEqual(lines_with(k, OPT_IN_LINE), [], k.log_tail())
        self.assert_fionread_right(greeting=True)
        res = boundary_client(self.digest.port, "keepalive", 5)
        self.assertTrue(res["ok"], res)
        self.assertEqual(res["traceparents"], [0] * 5, res)
        k.stop()
        c = counters(k)
        self.assertEqual(c["traceparent_injected"], 0, c)
        self.assertEqual(c["inject_sockets_added"], 0, c)

    def test_opt_in_non_http_sockets_leave_the_sockhash(self):
        k = self.start_kspan(ports=self.ports, exporter="none")
        self.assertEqual(len(lines_with(k, OPT_IN_LINE)), 1, k.log_tail())
        self.assertEqual(len(lines_with(k, ATTACHED_LINE)), 1, k.log_tail())
        # A greeting arrives while the socket is still in the sockhash (it
        # leaves at the client's first write): not asserted.
        self.assert_fionread_right(greeting=False)
        # HTTP requests still get their traceparent, on a socket that stays.
        res = boundary_client(self.digest.port, "keepalive", 5)
        self.assertTrue(res["ok"], res)
        self.assertEqual(res["traceparents"], [1] * 5, res)
        k.stop()
        c = counters(k)
        self.assertEqual(c["inject_sockets_added"], 2 * CONNECTIONS + 1, c)
        self.assertEqual(c["inject_sockets_removed"], 2 * CONNECTIONS, c)
        self.assertEqual(c["inject_sockets_stuck"], 0, c)
        self.assertEqual(c["traceparent_injected"], 5, c)


class TestMessageBoundaries(harness.KspanCase):

    def setUp(self):
        super().setUp()
        self.digest = harness.ScriptServer("digest_server.py")
        self.kspan_started = self.start_kspan(ports=[self.digest.port], exporter="none")

    def stop_counters(self):
        self.kspan_started.stop()
        return counters(self.kspan_started)

    def test_body_that_starts_like_a_request_is_left_alone(self):
        res = boundary_client(self.digest.port, "post-body", 20)
        self.assertTrue(res["ok"], res)
        self.assertEqual(res["traceparents"], [1] * 20, res)
        c = self.stop_counters()
        self.assertEqual(c["traceparent_injected"], 20, c)
        for name in ("h1_inject_stopped_unfollowed", "h1_inject_stopped_unframed",
                     "h1_inject_stopped_not_request", "h1_inject_stopped_overrun",
                     "traceparent_inject_failed"):
            self.assertEqual(c[name], 0, (name, c))

    def test_keepalive_and_pipelined_requests_get_one_each(self):
        for mode in ("keepalive", "pipelined"):
            res = boundary_client(self.digest.port, mode, 12)
            self.assertTrue(res["ok"], (mode, res))
            self.assertEqual(res["traceparents"], [1] * 12, (mode, res))
        c = self.stop_counters()
        self.assertEqual(c["traceparent_injected"], 24, c)
        self.assertEqual(c["h1_inject_stopped_overrun"], 0, c)

    def test_chunked_body_stops_insertion_on_its_connection(self):
        res = boundary_client(self.digest.port, "chunked", 6)
        self.assertTrue(res["ok"], res)
        # The chunked request's head is a real request start; after its
        # body, whose end kspan does not follow, nothing is edited.
        self.assertEqual(res["traceparents"], [1] + [0] * 5, res)
        c = self.stop_counters()
        self.assertEqual(c["h1_inject_stopped_unframed"], 1, c)
        self.assertEqual(c["traceparent_injected"], 1, c)


    def test_write_the_send_buffer_cannot_take_whole_is_left_alone(self):
        # A piece the send buffer cannot queue whole may be sent in part,
        # and the count returned to a non-blocking writer is then wrong by
        # the inserted bytes: kspan inserts only into pieces that fit.
        res = boundary_client(self.digest.port, "full-sndbuf", 10)
        self.assertTrue(res["ok"], res)
        self.assertEqual(res["traceparents"], [0, 1] * 5, res)
        c = self.stop_counters()
        self.assertEqual(c["traceparent_inject_skipped_no_room"], 5, c)
        self.assertEqual(c["traceparent_injected"], 5, c)
        self.assertEqual(c["h1_inject_stopped_unfollowed"], 0, c)


class TestSelfCheck(harness.KspanCase):

    def test_self_check_passes_here(self):
        digest = harness.ScriptServer("digest_server.py")
        k = self.start_kspan(ports=[digest.port], exporter="none", extra_args=["-v"])
        self.assertEqual(len(lines_with(k, SELFCHECK_PASSED)), 1, k.log_tail())
        self.assertEqual(len(lines_with(k, ATTACHED_LINE)), 1, k.log_tail())
        res = boundary_client(digest.port, "keepalive", 3)
        self.assertEqual(res["traceparents"], [1] * 3, res)

    def test_failed_self_check_turns_insertion_off(self):
        digest = harness.ScriptServer("digest_server.py")
        k = self.start_kspan(ports=[digest.port], exporter="none",
                             env={"KSPAN_TEST_ONLY_FAIL_PUSH_CHECK": "1"})
        self.assertEqual(len(lines_with(k, SELFCHECK_FAILED)), 1, k.log_tail())
        self.assertEqual(lines_with(k, ATTACHED_LINE), [], k.log_tail())
        res = boundary_client(digest.port, "keepalive", 3)
        self.assertTrue(res["ok"], res)
        self.assertEqual(res["traceparents"], [0] * 3, res)
        k.stop()
        c = counters(k)
        self.assertEqual(c["traceparent_injected"], 0, c)
        self.assertEqual(c["inject_sockets_added"], 0, c)
