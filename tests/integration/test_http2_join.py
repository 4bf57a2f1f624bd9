"""Same-node joining of HTTP/2 streams: one kspan with --propagation tuple
(nothing is inserted into any request), python3-grpcio and nghttp2 peers on
this node. Every SERVER stream without a traceparent of its own must be the
child of its own CLIENT stream (same connection, same stream id), for unary
and streaming calls, 100 concurrent streams on one channel, plain h2c, and a
client and server in two network namespaces; a request's traceparent wins."""

import harness
from checks import fmt, rand_hex
from harness import is_client, is_server, is_server_conn
from test_grpc import GrpcChecks, grpc_server, python_client
from test_http2 import H2, Nghttpd, nghttp


class TestHttp2SameNodeJoin(GrpcChecks, harness.SharedKspanCase):

    kspan_args = {"extra_args": ["--propagation", "tuple"]}

    @classmethod
    def setUpServers(cls):
        cls.srv = grpc_server()

    def joined(self):
        return int(self.kspan.metrics().get("kspan_h2_streams_joined_total", -1))

    def pairs(self, ss, cs):
        """(SERVER, its CLIENT parent) for every SERVER span: each is joined
        to a distinct one of the CLIENT spans cs."""
        clients = {c.span_id: c for c in cs}
        self.assertEqual(len({s.parent_span_id for s in ss}), len(ss),
                         "one CLIENT parent per SERVER span:\n%s" % fmt(ss + cs))
        out = []
        for s in ss:
            c = clients.get(s.parent_span_id)
            self.assertIsNotNone(c, "SERVER span not joined to one of these CLIENT spans:\n"
                                 " %r\n%s" % (s, fmt(cs)))
            self.assert_joined(s, c)
            out.append((s, c))
        return out

    def test_unary_and_streaming_calls(self):
        srv = self.srv
        for scenario, method, args in (("unary", "Unary", (2, 10)),
                                       ("server_stream", "ServerStream", (3, 70000)),
                                       ("client_stream", "ClientStream", (3, 70000)),
                                       ("bidi", "Bidi", (3, 70000))):
            with self.subTest(scenario=scenario):
                self.rx.clear()
                pid, res = python_client(srv.port, scenario, *args)
                self.assertEqual(set(res["codes"]), {"OK"}, res)
                ss, cs = self.calls(srv, pid, len(res["codes"]))
                for s, c in self.pairs(ss, cs):
                    self.check_grpc_span(s, harness.SPAN_KIND_SERVER, srv.pid, srv.port, method, 0)
                    self.check_grpc_span(c, harness.SPAN_KIND_CLIENT, pid, srv.port, method, 0)
                    self.check_covers(c, s)

    def test_100_concurrent_streams_each_joined_to_its_own_client(self):
        """Call i makes the server sleep 10*i ms, so the streams end in
        order: the CLIENT span of each SERVER span's parent must end in the
        same order (a neighbour's client would break it)."""
        srv = self.srv
        before = self.joined()
        pid, res = python_client(srv.port, "concurrent_sleeps", 100, 10)
        self.assertEqual(res["codes"], ["OK"] * 100, res)
        ss, cs = self.calls(srv, pid, 100)
        pairs = self.pairs(ss, cs)
        for s, c in pairs:
            self.check_covers(c, s)
        pairs.sort(key=lambda p: p[0].end_ns)
        for (s1, c1), (s2, c2) in zip(pairs, pairs[1:]):
            self.assertLessEqual(c1.end_ns, c2.end_ns, "SERVER spans ended in one order, "
                                 "their parents in another:\n %r <- %r\n %r <- %r"
                                 % (s1, c1, s2, c2))
        # Counted (at least these: the agent also sees other processes).
        self.assertGreaterEqual(self.joined(), before + 100)

    def test_traceparent_of_the_request_wins(self):
        srv = self.srv
        trace, parent = rand_hex(32), rand_hex(16)
        pid, res = python_client(srv.port, "traceparent", "00-%s-%s-01" % (trace, parent))
        self.assertEqual(res["codes"], ["OK"], res)
        (s,), (c,) = self.calls(srv, pid, 1)
        self.assertEqual((s.trace_id, s.parent_span_id), (trace, parent), repr(s))
        # The client's own metadata is its context too: a sibling, same trace.
        self.assertEqual((c.trace_id, c.parent_span_id), (trace, parent), repr(c))

    def test_h2c_nghttpd_with_curl_and_nghttp(self):
        ng = Nghttpd()
        r = harness.curl(ng.url("/index.html"), extra=H2)
        self.assertEqual((r.rc, r.http_code), (0, 200), r)
        (s,) = self.expect_spans(is_server_conn(ng.port, r.local_port), 1, "curl's SERVER span")
        (c,) = self.expect_spans(is_client(ng.port, r.pid), 1, "curl's CLIENT span")
        self.assert_joined(s, c)
        # nghttp: three streams on one connection, concurrently.
        self.rx.clear()
        paths = ["/index.html", "/big.bin", "/missing"]
        pid, rc, out = nghttp([ng.url(p) for p in paths])
        self.assertEqual(rc, 0, out)
        cs = self.expect_spans(is_client(ng.port, pid), 3, "nghttp's CLIENT spans")
        ss = self.expect_spans(is_server(ng.port, ng.pid), 3, "nghttpd's SERVER spans")
        self.assertEqual(len({s.attr("network.peer.port") for s in ss}), 1, fmt(ss))
        for s, c in self.pairs(ss, cs):
            self.assertEqual(s.attr("url.path"), c.attr("url.path"), "joined to another "
                             "stream:\n %r\n %r" % (s, c))

    def test_client_and_server_in_two_network_namespaces(self):
        veth = harness.VethNamespaces(self)
        srv = harness.ScriptServer("grpc_server.py", host=veth.addr[1], netns=veth.ns[1])
        pid, res = python_client(srv.port, "unary", 2, 10, host=veth.addr[1], netns=veth.ns[0])
        self.assertEqual(res["codes"], ["OK"] * 2, res)
        ss, cs = self.calls(srv, pid, 2)
        for s, c in self.pairs(ss, cs):
            self.assertEqual(s.attr("network.peer.address"), veth.addr[0], repr(s))
            self.assertEqual(c.attr("network.peer.address"), veth.addr[1], repr(c))
