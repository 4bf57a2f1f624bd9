"""gRPC over TLS between python3-grpcio peers (grpc.ssl_server_credentials,
grpc.ssl_channel_credentials, certificates made at test time). Debian's
grpcio links the system libssl.so.3 (ldd on cygrpc*.so), but its TLS runs
through a BIO pair: no syscall inside any SSL call. kspan binds each session
by the records its thread read just before its first call
(capture/tls_calls.bpf.h); the plaintext then goes through the same HTTP/2
assembler as h2c. One kspan for the class."""


import harness
import tls_certs
from checks import fmt
from harness import SPAN_KIND_CLIENT, SPAN_KIND_SERVER
from test_grpc import CODES, GrpcChecks, python_client


class TestGrpcTls(GrpcChecks, harness.SharedKspanCase):

    @classmethod
    def setUpServers(cls):
        d = harness.tempdir("kspan-it-grpc-tls-")
        cls.certs = tls_certs.make_certs(d)
        cls.srv = harness.ScriptServer("grpc_server.py", scheme="https",
                                       args=["--cert", cls.certs["server_cert"],
                                             "--key", cls.certs["server_key"]])

    def metric(self, name):
        return self.kspan.metrics().get("kspan_%s_total" % name, 0)

    def client(self, scenario, *args):
        return python_client(self.srv.port, scenario, *args, ca=self.certs["ca"])

    def check_joined_calls(self, pid, n, method, code):
        """n calls on one TLS connection: n exact SERVER and n exact CLIENT
        spans, each SERVER span the child of its own CLIENT span."""
        srv = self.srv
        ss, cs = self.calls(srv, pid, n)
        by_id = {c.span_id: c for c in cs}
        for s in ss:
            self.check_grpc_span(s, SPAN_KIND_SERVER, srv.pid, srv.port, method, code,
                                 scheme="https")
        for c in cs:
            self.check_grpc_span(c, SPAN_KIND_CLIENT, pid, srv.port, method, code,
                                 scheme="https")
            self.assert_ids(c, root=True)
        for s in ss:
            self.assertIn(s.parent_span_id, by_id, "SERVER span not joined to a CLIENT span:"
                          "\n%s" % fmt(ss + cs))
            c = by_id.pop(s.parent_span_id)
            self.assertEqual(s.trace_id, c.trace_id, "\n%s" % fmt(ss + cs))
            self.check_covers(c, s)
        self.assertEqual(len({s.attr("network.peer.port") for s in ss}), 1, "one connection")
        on_port = self.rx.spans(harness.involves_port(srv.port))
        self.assertEqual(len(on_port), 2 * n, "nothing but these spans:\n%s" % fmt(on_port))
        return ss, cs

    def test_unary_calls_on_one_tls_connection(self):
        """Three sequential unary calls on one channel: three joined pairs,
        url.scheme https; both ends' sessions bound by their records,
        nothing left unbound."""
        bound, unbound = self.metric("tls_sessions_bound_by_records"), self.metric("tls_unbound")
        pid, res = self.client("unary", 3, 10)
        self.assertEqual(res["codes"], ["OK"] * 3, res)
        self.check_joined_calls(pid, 3, "Unary", 0)
        self.assertTrue(harness.wait_until(
            lambda: self.metric("tls_sessions_bound_by_records") - bound >= 2, 5),
            "client and server sessions bound by records: %r" % self.kspan.metrics())
        self.assertEqual(self.metric("tls_unbound"), unbound, "no TLS call left unbound")

    def test_concurrent_streams_on_one_tls_connection(self):
        """Ten unary calls in flight at once on one channel (HTTP/2 streams
        interleaved in the TLS records): ten joined pairs."""
        pid, res = self.client("concurrent", 10)
        self.assertEqual(res["codes"], ["OK"] * 10, res)
        self.check_joined_calls(pid, 10, "Unary", 0)

    def test_error_status_over_tls(self):
        """A call the server aborts with NOT_FOUND: rpc.grpc.status_code 5
        on both ends, the CLIENT span an error, the SERVER span not."""
        pid, res = self.client("status", "NOT_FOUND")
        self.assertEqual(res["codes"], ["NOT_FOUND"], res)
        (s,), (c,) = self.check_joined_calls(pid, 1, "Unary", CODES["NOT_FOUND"])
        self.assert_attr(c, "error.type", "NOT_FOUND")

    def test_streaming_calls_over_tls(self):
        """Server streaming with messages larger than a TLS record (16 KiB):
        one span per call on each end, joined."""
        pid, res = self.client("server_stream", 3, 40000)
        self.assertEqual(res["sizes"], [120000], res)
        self.check_joined_calls(pid, 1, "ServerStream", 0)


