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
from checks import fmt, rand_hex
from harness import SPAN_KIND_CLIENT, SPAN_KIND_SERVER, curl, involves_port


def chain_server(next_url, host="127.0.0.1", netns=None):
    """servers/chain_server.py calling next_url (in network namespace netns)."""
    return harness.ScriptServer("chain_server.py", host=host, netns=netns,
                                args=["--next", next_url])


class ChainChecks:
    """Starting kspan on the chain's ports, driving it, checking the tree.
    Subclasses set self.a, self.b, self.ng, self.ports, self.curl_netns."""

    curl_netns = None

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
        r = curl([self.a.url(p) for p in paths], output=out, netns=self.curl_netns)
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

    def check_addresses(self, chain):
        pass

    def assert_connected(self, chain, root_parent=""):
        trace = chain[0].trace_id
        self.assertRegex(trace, r"^[0-9a-f]{32}$")
        for s in chain:
            self.assertEqual(s.trace_id, trace, "one trace id for the whole chain:\n%s"
                             % fmt(chain))
        self.assertEqual(chain[0].parent_span_id, root_parent, "the chain's first span's parent: "
                         "%r" % chain[0])
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
        self.check_addresses(chain)
        self.check_received_headers(body, chain, injected=mode in ("headers", "all"))
        k.stop()
        stats = k.log_text().strip().splitlines()[-1]
        want = "traceparent_injected=%d" % (3 if mode in ("headers", "all") else 0)
        self.assertIn(want, stats)
        self.assertIn("traceparent_inject_failed=0", stats)


class TestPropagationChain(ChainChecks, harness.KspanCase):

    def setUp(self):
        super().setUp()
        self.ng = harness.Nginx()
        self.b = chain_server(self.ng.url(""))
        self.a = chain_server(self.b.url(""))
        self.ports = [self.a.port, self.b.port, self.ng.port]

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

    TRACESTATE = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"

    def test_w3c_future_version_is_followed_and_reemitted_as_00(self):
        """A version-01 traceparent with extra fields is accepted (W3C 4.3);
        what kspan inserts downstream is version 00, and the tracestate goes
        along unchanged."""
        self.start("all")
        tid, psid = rand_hex(32), rand_hex(16)
        out = os.path.join(harness.tempdir(), "body")
        r = curl(self.a.url("/call/urllib/call/urllib/ok"), output=out,
                 headers=["traceparent: 01-%s-%s-01-future-fields" % (tid, psid),
                          "tracestate: " + self.TRACESTATE])
        self.assertEqual((r.rc, r.http_code), (0, 200), r)
        with open(out) as f:
            body = json.load(f)
        spans = self.chain_spans(6)
        c0, sa, ca, sb, cb, sn = self.tree(spans, r.pid)
        for s in (c0, sa, ca, sb, cb, sn):
            self.assertEqual(s.trace_id, tid, "the incoming trace continues: %r" % s)
        self.assertEqual(c0.parent_span_id, psid, repr(c0))
        self.assert_connected([sa, ca, sb, cb, sn], root_parent=psid)
        self.assertEqual(body["next"]["traceparent"], "00-%s-%s-01" % (tid, ca.span_id), body)
        self.assertEqual(body["next"]["tracestate"], self.TRACESTATE, body)
        for s in (sa, sb, sn):
            self.assertEqual(s.trace_state, self.TRACESTATE, "tracestate intact: %r" % s)

    def test_w3c_invalid_traceparent_starts_a_new_trace(self):
        self.start("all")
        tid, psid = rand_hex(32), rand_hex(16)
        cases = [
            ("uppercase", "00-%s-%s-01" % (tid.upper(), psid.upper())),
            ("version ff", "ff-%s-%s-01" % (tid, psid)),
            ("zero trace id", "00-%s-%s-01" % ("0" * 32, psid)),
            ("zero parent id", "00-%s-%s-01" % (tid, "0" * 16)),
        ]
        for what, header in cases:
            with self.subTest(case=what):
                self.rx.clear()
                out = os.path.join(harness.tempdir(), "body")
                r = curl(self.a.url("/call/urllib/call/urllib/ok"), output=out,
                         headers=["traceparent: " + header, "tracestate: " + self.TRACESTATE])
                self.assertEqual((r.rc, r.http_code), (0, 200), r)
                with open(out) as f:
                    body = json.load(f)
                spans = self.chain_spans(6)
                c0, sa, ca, sb, cb, sn = self.tree(spans, r.pid)
                self.assertEqual(body["traceparent"], header, "curl's header went out as is")
                self.assertEqual(sa.parent_span_id, "", "A starts a new trace: %r" % sa)
                self.assertNotIn(sa.trace_id, (tid, tid.upper(), "0" * 32), repr(sa))
                self.assertEqual(sa.trace_state, "", "tracestate ignored with an invalid "
                                 "traceparent: %r" % sa)
                self.assert_connected([sa, ca, sb, cb, sn])
                self.assertEqual(body["next"]["traceparent"],
                                 "00-%s-%s-01" % (sa.trace_id, ca.span_id), body)
                self.assertIsNone(body["next"]["tracestate"], body)

    def test_chain_off_keeps_in_process_links_only(self):
        self.start("off")
        r, body = self.curl_chain(["/call/urllib/call/urllib/ok"])
        spans = self.chain_spans(6)
        self.by_trace(spans, 4)  # no propagation: four traces
        c0, sa, ca, sb, cb, sn = self.tree(spans, r.pid)
        self.assertEqual(ca.parent_span_id, sa.span_id, fmt(spans))
        self.assertEqual(ca.trace_id, sa.trace_id, fmt(spans))
        self.assertEqual(cb.parent_span_id, sb.span_id, fmt(spans))
        for root in (c0, sa, sb, sn):
            self.assertEqual(root.parent_span_id, "", "nothing crosses processes: %r" % root)
        self.check_received_headers(body, [c0, sa, ca], injected=False)


class TestPropagationNetns(ChainChecks, harness.KspanCase):
    """The same chain across two network namespaces joined by a veth pair:
    curl, A and nginx in the first (10.X.Y.1), B in the second (10.X.Y.2). A
    calls B and B calls nginx over the veth, so each end of those connections
    lives in a different namespace, and each sees its own address as local."""

    def setUp(self):
        super().setUp()
        veth = harness.VethNamespaces(self)
        self.ns, self.addr = veth.ns, veth.addr
        self.ng = harness.Nginx(netns=self.ns[0], host=self.addr[0])
        self.b = chain_server(self.ng.url(""), host=self.addr[1], netns=self.ns[1])
        self.a = chain_server(self.b.url(""), host=self.addr[0], netns=self.ns[0])
        self.ports = [self.a.port, self.b.port, self.ng.port]
        self.curl_netns = self.ns[0]

    def check_addresses(self, chain):
        """A -> B and B -> nginx really crossed namespaces: each end names
        the other namespace's address as its peer."""
        c0, sa, ca, sb, cb, sn = chain
        self.assertEqual(ca.attr("network.peer.address"), self.addr[1], repr(ca))
        self.assertEqual(sb.attr("network.peer.address"), self.addr[0], repr(sb))
        self.assertEqual(cb.attr("network.peer.address"), self.addr[0], repr(cb))
        self.assertEqual(sn.attr("network.peer.address"), self.addr[1], repr(sn))

    def test_netns_chain_tuple_only(self):
        self.run_chain("tuple", "/call/urllib/call/urllib/ok")

    def test_netns_chain_headers_only(self):
        self.run_chain("headers", "/call/urllib/call/urllib/ok")

    def test_netns_chain_headers_and_tuple(self):
        self.run_chain("all", "/call/keepalive/call/thread/ok")
