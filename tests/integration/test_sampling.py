"""Head sampling across a chain of unmodified services on this node:

    curl -> A -> B -> C        (python3 ThreadingHTTPServer, servers/chain_server.py)

Each service calls the next from the thread serving its request and answers
with the traceparent it received, so the test sees what kspan inserted on
every hop. The decision is made where a trace starts (the kernel, for the new
trace of curl's request) and goes with the trace: into the traceparent kspan
inserts (-01 sampled, -00 not), through in-process parenting (A SERVER ->
A CLIENT) and downstream. A trace is exported whole (six spans: curl CLIENT,
A SERVER, A CLIENT, B SERVER, B CLIENT, C SERVER) or not at all, and the
sampled-out spans are counted (spans_sampled_out). TraceIdRatioBased is the
specification's rule: keep when the trace id's low 56 bits >= (1 - ratio) *
2^56, checked here on the ids that went on the wire.
"""

import json
import os
import re

import harness
from checks import fmt, rand_hex
from harness import SPAN_KIND_CLIENT, SPAN_KIND_SERVER, curl, involves_port

TP_RE = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
CHAIN_PATH = "/call/urllib/call/urllib/ok"


def chain_server(next_url=None):
    return harness.ScriptServer("chain_server.py",
                                args=["--next", next_url] if next_url else [])


def ratio_keeps(trace_id, ratio):
    """TraceIdRatioBased (OpenTelemetry trace SDK): R >= T."""
    r = int(trace_id[-14:], 16)
    return r >= round((1 - ratio) * (1 << 56))


def counters(k):
    """The final counters line of a stopped kspan, as a dict."""
    line = [ln for ln in k.log_text().splitlines() if "counters " in ln][-1]
    return {kv.split("=")[0]: int(kv.split("=")[1]) for kv in line.split()[2:] if "=" in kv}


class TestHeadSampling(harness.KspanCase):

    def setUp(self):
        super().setUp()
        self.c = chain_server()
        self.b = chain_server(self.c.url(""))
        self.a = chain_server(self.b.url(""))
        self.ports = [self.a.port, self.b.port, self.c.port]

    def start(self, sampler, arg=None):
        env = {"OTEL_TRACES_SAMPLER": sampler}
        if arg is not None:
            env["OTEL_TRACES_SAMPLER_ARG"] = arg
        return self.start_kspan(ports=self.ports, extra_args=["--propagation", "all"], env=env)

    def mine(self, s):
        return any(involves_port(p)(s) for p in self.ports)

    def request(self, headers=()):
        """One curl request through the chain: (curl pid, the traceparent
        A, B and C received)."""
        out = os.path.join(harness.tempdir(), "body")
        r = curl(self.a.url(CHAIN_PATH), output=out, headers=list(headers))
        self.assertEqual((r.rc, r.http_code), (0, 200), r)
        with open(out) as f:
            body = json.load(f)
        got = [body["traceparent"], body["next"]["traceparent"],
               body["next"]["next"]["traceparent"]]
        return r.pid, got

    def parse(self, tps):
        """[(trace, parent, flags)] of each hop's traceparent, checked to be
        one trace with one flag."""
        parsed = []
        for tp in tps:
            m = TP_RE.match(tp or "")
            self.assertIsNotNone(m, "a version 00 traceparent on every hop: %r" % tps)
            parsed.append(m.groups())
        self.assertEqual(len({p[0] for p in parsed}), 1, "one trace on every hop: %r" % tps)
        self.assertEqual(len({p[2] for p in parsed}), 1, "one decision on every hop: %r" % tps)
        return parsed

    def check_whole(self, trace, spans, curl_pid, hops):
        """The six spans of a kept trace, linked as they went on the wire."""
        t = [s for s in spans if s.trace_id == trace]
        self.assertEqual(len(t), 6, "a kept trace is complete:\n%s" % fmt(t))

        def one(kind, pid, port):
            got = [s for s in t if s.kind == kind and s.pid == pid and
                   s.attr("server.port") == port]
            self.assertEqual(len(got), 1, "one %d span of pid %d to %d:\n%s"
                             % (kind, pid, port, fmt(t)))
            return got[0]
        chain = [one(SPAN_KIND_CLIENT, curl_pid, self.a.port),
                 one(SPAN_KIND_SERVER, self.a.pid, self.a.port),
                 one(SPAN_KIND_CLIENT, self.a.pid, self.b.port),
                 one(SPAN_KIND_SERVER, self.b.pid, self.b.port),
                 one(SPAN_KIND_CLIENT, self.b.pid, self.c.port),
                 one(SPAN_KIND_SERVER, self.c.pid, self.c.port)]
        for parent, child in zip(chain, chain[1:]):
            self.assertEqual(child.parent_span_id, parent.span_id, fmt(chain))
        # What each server received names the CLIENT span before it.
        self.assertEqual([h[1] for h in hops], [chain[0].span_id, chain[2].span_id,
                                                chain[4].span_id])
        for s in chain:
            self.assertEqual(s.flags & 1, 1, "exported spans are sampled: %r" % s)
        return chain

    def test_ratio_chain_complete_or_absent(self):
        """traceidratio 0.5 over 40 requests: every trace whole or absent, as
        the flag every hop received says, as the ratio rule says."""
        k = self.start("traceidratio", "0.5")
        runs = [self.request() for _ in range(40)]
        kept, dropped = [], []
        for pid, tps in runs:
            hops = self.parse(tps)
            trace, flags = hops[0][0], hops[0][2]
            self.assertEqual(flags == "01", ratio_keeps(trace, 0.5),
                             "the kernel's decision is the specification's: %r" % tps)
            (kept if flags == "01" else dropped).append((pid, trace, hops))
        # 40 fair coins: both outcomes (all alike has probability 2^-39).
        self.assertTrue(kept and dropped, "kept %d, dropped %d" % (len(kept), len(dropped)))
        spans = self.settle(self.mine, 6 * len(kept))
        self.assertEqual(len(spans), 6 * len(kept), fmt(spans))
        for pid, trace, hops in kept:
            self.check_whole(trace, spans, pid, hops)
        gone = {trace for _, trace, _ in dropped}
        self.assertEqual([s for s in spans if s.trace_id in gone], [], "a dropped trace is absent")
        k.stop()
        self.assertEqual(counters(k)["spans_sampled_out"], 6 * len(dropped))

    def test_parentbased_ratio_zero_drops_every_new_trace(self):
        """parentbased_traceidratio at 0: no new trace is kept, each hop
        receives -00, /metrics counts the six spans of each request."""
        k = self.start("parentbased_traceidratio", "0")
        for _ in range(3):
            _, tps = self.request()
            self.assertEqual({h[2] for h in self.parse(tps)}, {"00"}, tps)
        harness.wait_until(
            lambda: k.metrics().get("kspan_spans_sampled_out_total", 0) >= 18, 10)
        self.assertEqual(k.metrics().get("kspan_spans_sampled_out_total"), 18)
        self.assertEqual(self.settle(self.mine, 1, timeout=2), [])

    def test_always_off_exports_nothing(self):
        k = self.start("always_off")
        for _ in range(3):
            _, tps = self.request()
            self.assertEqual({h[2] for h in self.parse(tps)}, {"00"}, tps)
        # An incoming -01 changes nothing: always_off is not parent-based.
        _, tps = self.request(["traceparent: 00-%s-%s-01" % (rand_hex(32), rand_hex(16))])
        self.assertEqual([h[2] for h in self.parse(tps[1:])], ["00", "00"], tps)
        k.stop()
        self.assertEqual(self.rx.spans(self.mine), [])
        self.assertEqual(counters(k)["spans_sampled_out"], 24)

    def test_incoming_unsampled_is_honoured_by_parentbased(self):
        """A client that sets its own traceparent -00: under the default
        sampler the whole chain is unsampled, -00 on every hop, no span."""
        k = self.start("parentbased_always_on")
        trace, parent = rand_hex(32), rand_hex(16)
        own = "00-%s-%s-00" % (trace, parent)
        _, tps = self.request(["traceparent: " + own])
        self.assertEqual(tps[0], own, "the client's own header reaches A untouched")
        hops = self.parse(tps)
        self.assertEqual(hops[1][0], trace)
        self.assertEqual(hops[1][2], "00", tps)
        k.stop()
        self.assertEqual([s for s in self.rx.spans(self.mine) if s.trace_id == trace], [])
        self.assertEqual(counters(k)["spans_sampled_out"], 6)

    def test_incoming_sampled_is_honoured_by_parentbased(self):
        """-01 from the client under parentbased_traceidratio at 0: the parent
        decides, the trace is kept whole; a request without a traceparent in
        the same run is dropped."""
        k = self.start("parentbased_traceidratio", "0")
        trace, parent = rand_hex(32), rand_hex(16)
        pid, tps = self.request(["traceparent: 00-%s-%s-01" % (trace, parent)])
        hops = self.parse(tps)
        self.assertEqual((hops[0][0], hops[0][2]), (trace, "01"), tps)
        _, tps2 = self.request()
        self.assertEqual({h[2] for h in self.parse(tps2)}, {"00"}, tps2)
        spans = self.settle(self.mine, 6)
        self.assertEqual(len(spans), 6, fmt(spans))
        t = sorted(spans, key=lambda s: s.start_ns)
        self.assertEqual({s.trace_id for s in t}, {trace}, fmt(t))
        # The client's header was its own: curl's span is the header's
        # child (kspan inserted nothing), the rest hang below A's SERVER.
        servers = {s.pid: s for s in t if s.kind == SPAN_KIND_SERVER}
        self.assertEqual(servers[self.a.pid].parent_span_id, parent, fmt(t))
        self.assertEqual(hops[1][1], [s for s in t if s.kind == SPAN_KIND_CLIENT and
                                      s.pid == self.a.pid][0].span_id)
        k.stop()
        self.assertEqual(counters(k)["spans_sampled_out"], 6)


class TestHeadSamplingGrpc(harness.KspanCase):
    """HTTP/2: the flag kspan inserts into each gRPC call's HEADERS is the
    decision, and each call's pair of spans (python client CLIENT, python
    server SERVER) is exported whole or not at all."""

    def test_ratio_grpc_calls(self):
        from test_grpc import grpc_server, python_client
        srv = grpc_server()
        k = self.start_kspan(ports=[srv.port], extra_args=["--propagation", "all"],
                             env={"OTEL_TRACES_SAMPLER": "traceidratio",
                                  "OTEL_TRACES_SAMPLER_ARG": "0.5"})
        pid, res = python_client(srv.port, "tp", 30, 10)
        self.assertEqual(res["codes"], ["OK"] * 30, res)
        kept, dropped = set(), set()
        for tps in res["tps"]:
            if not tps:
                continue  # not inserted (counted by kspan): nothing to compare
            m = TP_RE.match(tps[0])
            self.assertIsNotNone(m, tps)
            trace, _, flags = m.groups()
            self.assertEqual(flags == "01", ratio_keeps(trace, 0.5), tps)
            (kept if flags == "01" else dropped).add(trace)
        self.assertTrue(kept and dropped, "kept %d, dropped %d" % (len(kept), len(dropped)))
        spans = self.settle(involves_port(srv.port), 2 * len(kept))
        traces = {}
        for s in spans:
            traces.setdefault(s.trace_id, []).append(s)
        for trace, t in traces.items():
            self.assertEqual(sorted(s.kind for s in t), [SPAN_KIND_SERVER, SPAN_KIND_CLIENT],
                             "each call whole:\n%s" % fmt(t))
        self.assertTrue(kept <= set(traces), "kept calls exported:\n%s" % fmt(spans))
        self.assertEqual(dropped & set(traces), set(), "dropped calls absent")
        k.stop()
        self.assertEqual(counters(k)["spans_sampled_out"], 2 * (30 - len(traces)))
