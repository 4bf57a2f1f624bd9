"""Two kspans on one node: one inserts traceparent, the other does not.

Both agents' sock_ops programs see every connection; a socket takes the
sk_msg program of one sockhash only. Without a rule, the second agent's
CLIENT spans carry ids that never reach the wire. The first agent holds a
node-wide claim (user/loader/insertion_claim.h); the second runs with
`--propagation tuple` and names the first's pid in one line.
"""

import re

import harness

CLAIM_LINE = ("kspan: warning: another kspan (pid %d) inserts traceparent headers on this node: this "
              "one runs without header insertion (--propagation tuple)")


def counters(k):
    line = [ln for ln in k.log_text().splitlines() if "counters " in ln][-1]
    return {kv.split("=")[0]: int(kv.split("=")[1]) for kv in line.split()[2:] if "=" in kv}


class TestTwoAgents(harness.KspanCase):

    def test_second_agent_refuses_insertion(self):
        digest = harness.ScriptServer("digest_server.py")
        first = self.start_kspan(ports=[digest.port])
        # The second one directly: its spans go to the console, so that the
        # receiver holds only the first agent's.
        second = harness.Kspan(self.rx.endpoint, ports=[digest.port], exporter="console")
        self.addCleanup(lambda: second.returncode is None and second.stop())
        second.wait_ready()
        log2 = second.log_text()
        lines = [ln for ln in log2.splitlines() if "another kspan" in ln]
        self.assertEqual(lines, [CLAIM_LINE % first.pid], log2)
        self.assertNotIn("traceparent insertion: sock_ops", log2)
        self.assertNotIn("another kspan", first.log_text())

        out = harness.os.path.join(harness.tempdir(), "body")
        r = harness.curl(digest.url("/two-agents"), output=out)
        self.assertEqual((r.rc, r.http_code), (0, 200), r)
        with open(out) as f:
            ans = harness.json.load(f)
        self.assertEqual(ans["traceparents"], 1, ans)
        tp = re.match(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$", ans["traceparent"])
        self.assertIsNotNone(tp, ans)
        cli = self.expect_spans(harness.is_client(digest.port, r.pid), 1,
                                "CLIENT span of curl (first agent)")[0]
        self.assertEqual((cli.trace_id, cli.span_id), tp.groups(), (cli, ans))

        second.stop()
        first.stop()
        self.assertEqual(counters(second)["traceparent_injected"], 0, second.log_tail())
        self.assertEqual(counters(first)["traceparent_injected"], 1, first.log_tail())
        # The second agent still saw the request: its CLIENT span is printed.
        self.assertIn("/two-agents", open(second.out_path).read())

    def test_claim_is_free_again_after_the_first_agent_exits(self):
        digest = harness.ScriptServer("digest_server.py")
        first = self.start_kspan(ports=[digest.port], exporter="none")
        first.stop()
        second = self.start_kspan(ports=[digest.port], exporter="none")
        self.assertNotIn("another kspan", second.log_text())
        self.assertIn("traceparent insertion: sock_ops", second.log_text())
