"""Connected traces across unmodified services: A -> B -> nginx on loopback.

A and B are python3 ThreadingHTTPServer processes (servers/chain_server.py)
that call the next service while serving; nginx answers at the end; curl
drives the chain. kspan must deliver ONE trace per curl request with the
exact tree

    curl CLIENT -> A SERVER -> A CLIENT -> B SERVER -> B CLIENT -> nginx SERVER

by header insertion only, by same-node tuple joining only, and by both; with
--propagation off only the in-process links (SERVER -> CLIENT inside A and
inside B) remain. Each test starts its own kspan restricted to the chain's
ports, so that its header insertion touches no other test's traffic.
"""

import json
import os

import harness
from checks import fmt
from harness import SPAN_KIND_CLIENT, SPAN_KIND_SERVER, curl, involves_port


def chain_server(next_url):
    """servers/chain_server.py calling next_url."""
    s = harness.ScriptServer.__new__(harness.ScriptServer)
    s.host = "127.0.0.1"
    s.proc = harness.spawn([harness.PY, os.path.join(harness.SERVERS, "chain_server.py"),
                            "--host", "127.0.0.1", "--port", "0", "--next", next_url],
                           stdout=harness.subprocess.PIPE, stderr=harness.subprocess.DEVNULL)
    s.pid = s.proc.pid
    line = harness._readline_timeout(s.proc.stdout, 10.0)
    if not line.startswith(b"READY "):
        harness._kill(s.proc)
        raise AssertionError("chain_server.py did not start (got %r)" % line)
    s.port = int(line.split()[1])
    s.names = harness.proc_names(s.pid)
    return s


class TestPropagationChain(harness.KspanCase):

    def setUp(self):
        super().setUp()
        self.ng = harness.Nginx()
        self.b = chain_server(self.ng.url(""))
        self.a = chain_server(self.b.url(""))
        self.ports = [self.a.port, self.b.port, self.ng.port]

    def start(self, mode):
        return self.start_kspan(ports=self.ports, extra_args=["--propagation", mode])

    def chain_spans(self, count):
        def mine(s):
            return any(involves_port(p)(s) for p in self.ports)
        got = self.settle(mine, count)
        self.assertEqual(len(got), count, "want %d spans on the chain's ports, got %d:\n%s"
                         % (count, len(got), fmt(got)))
        return got

    def curl_chain(self, paths):
        out = os.path.join(harness.tempdir(), "body")
        r = curl([self.a.url(p) for p in paths], output=out)
        self.assertEqual(r.rc, 0, r)
        self.assertEqual([t[0] for t in r.transfers], [200] * len(paths), r)
        self.assertEqual(len({t[2] for t in r.transfers}), 1, "curl reused one connection: %r" % r)
        with open(out) as f:
            # curl -o with several URLs writes each body to the same file in
            # turn: the last one remains.
            last = json.loads(f.read())
        return r, last

    def one(self, spans, kind, pid, port, what):
        got = [s for s in spans if s.kind == kind and s.pid == pid and
               (s.attr("server.port") == port)]
        self.assertEqual(len(got), 1, "want one %s, got:\n%s\nall:\n%s" % (what, fmt(got),
                                                                          fmt(spans)))
        return got[0]

    def tree(self, spans, curl_pid):
        """The six spans of one request, checked to be distinct and named."""
        a, b, ng = self.a, self.b, self.ng
        return [
            self.one(spans, SPAN_KIND_CLIENT, curl_pid, a.port, "curl CLIENT"),
            self.one(spans, SPAN_KIND_SERVER, a.pid, a.port, "A SERVER"),
            self.one(spans, SPAN_KIND_CLIENT, a.pid, b.port, "A CLIENT"),
            self.one(spans, SPAN_KIND_SERVER, b.pid, b.port, "B SERVER"),
            self.one(spans, SPAN_KIND_CLIENT, b.pid, ng.port, "B CLIENT"),
            self.one(spans, SPAN_KIND_SERVER, ng.worker_pid, ng.port, "nginx SERVER"),
        ]

    def assert_connected(self, chain):
        trace = chain[0].trace_id
        self.assertRegex(trace, r"^[0-9a-f]{32}$")
        for s in chain:
            self.assertEqual(s.trace_id, trace, "one trace id for the whole chain:\n%s"
                             % fmt(chain))
        self.assertEqual(chain[0].parent_span_id, "", "curl's CLIENT span is the root: %r"
                         % chain[0])
        for parent, child in zip(chain, chain[1:]):
            self.assertEqual(child.parent_span_id, parent.span_id,
                             "wrong parent:\n child  %r\n parent %r" % (child, parent))
        self.assertEqual(len({s.span_id for s in chain}), len(chain), fmt(chain))

    def by_trace(self, spans, n):
        traces = {}
        for s in spans:
            traces.setdefault(s.trace_id, []).append(s)
        self.assertEqual(len(traces), n, "want %d trace ids, got:\n%s" % (n, fmt(spans)))
        return sorted(traces.values(), key=lambda t: min(s.start_ns for s in t))

    def check_received_headers(self, body, chain, injected):
        if not injected:
            self.assertIsNone(body["traceparent"], body)
            self.assertIsNone(body["next"]["traceparent"], body)
            return
        self.assertEqual(body["traceparent"], "00-%s-%s-01" % (chain[0].trace_id,
                                                               chain[0].span_id), body)
        self.assertEqual(body["next"]["traceparent"], "00-%s-%s-01" % (chain[2].trace_id,
                                                                       chain[2].span_id), body)
        self.assertIsNone(body["tracestate"], body)

    def run_chain(self, mode, path):
        k = self.start(mode)
        r, body = self.curl_chain([path])
        spans = self.chain_spans(6)
        self.assertEqual(len(self.by_trace(spans, 1)), 1)
        chain = self.tree(spans, r.pid)
        self.assert_connected(chain)
        self.check_received_headers(body, chain, injected=mode in ("headers", "all"))
        k.stop()
        stats = k.log_text().strip().splitlines()[-1]
        want = "traceparent_injected=%d" % (3 if mode in ("headers", "all") else 0)
        self.assertIn(want, stats)
        self.assertIn("traceparent_inject_failed=0", stats)

    def test_chain_headers_only(self):
        self.run_chain("headers", "/call/urllib/call/urllib/ok")

    def test_chain_tuple_only(self):
        self.run_chain("tuple", "/call/urllib/call/urllib/ok")

    def test_chain_headers_and_tuple(self):
        self.run_chain("all", "/call/urllib/call/urllib/ok")

    def test_chain_keepalive_and_worker_threads(self):
        """Two requests on one curl connection: A's handler thread serves
        both and reuses its keep-alive connection to B; B calls nginx from a
        thread created for each request."""
        self.start("all")
        r, body = self.curl_chain(["/call/keepalive/call/thread/ok"] * 2)
        spans = self.chain_spans(12)
        for t in self.by_trace(spans, 2):
            chain = self.tree(t, r.pid)
            self.assert_connected(chain)
        self.check_received_headers(body, chain, injected=True)

    def test_chain_off_keeps_in_process_links_only(self):
        self.start("off")
        r, body = self.curl_chain(["/call/urllib/call/urllib/ok"])
        spans = self.chain_spans(6)
        traces = self.by_trace(spans, 4)
        c0, sa, ca, sb, cb, sn = self.tree(spans, r.pid)
        self.assertEqual(ca.parent_span_id, sa.span_id, fmt(spans))
        self.assertEqual(ca.trace_id, sa.trace_id, fmt(spans))
        self.assertEqual(cb.parent_span_id, sb.span_id, fmt(spans))
        for root in (c0, sa, sb, sn):
            self.assertEqual(root.parent_span_id, "", "nothing crosses processes: %r" % root)
        self.check_received_headers(body, [c0, sa, ca], injected=False)
