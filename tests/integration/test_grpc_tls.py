"""gRPC over TLS between python3-grpcio peers (grpc.ssl_server_credentials,
grpc.ssl_channel_credentials, certificates made at test time). Debian's
grpcio links the system libssl.so.3 (ldd on cygrpc*.so), but its TLS runs
through a BIO pair: no syscall inside any SSL call. kspan binds each session
by the records its thread read just before its first call
(capture/tls_calls.bpf.h); the plaintext then goes through the same HTTP/2
assembler as h2c. One kspan for the class."""


import json
import os
import subprocess

import harness
import tls_certs
from checks import fmt
from harness import SPAN_KIND_CLIENT, SPAN_KIND_SERVER, is_client, is_server
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
        bound, unbound = self.metric("tls_membio_bound"), self.metric("tls_unbound")
        pid, res = self.client("unary", 3, 10)
        self.assertEqual(res["codes"], ["OK"] * 3, res)
        self.check_joined_calls(pid, 3, "Unary", 0)
        self.assertTrue(harness.wait_until(
            lambda: self.metric("tls_membio_bound") - bound >= 2, 5),
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



    def test_grpc_call_over_tls_while_serving_http_is_its_child(self):
        """An HTTP/1 server thread that makes a gRPC call over TLS while
        serving: the call's CLIENT span (an HTTP/2 stream over TLS) is the
        SERVER span's child, and the gRPC SERVER span the CLIENT span's
        child; nothing is inserted (the gRPC server receives no
        traceparent). As over h2c, a call that starts the connection is
        written by a grpcio thread that serves nothing: the warm-up call is
        not asserted."""
        srv = self.srv
        p = harness.spawn([harness.PY, os.path.join(harness.SERVERS, "http_grpc_server.py"),
                           "--grpc", "127.0.0.1:%d" % srv.port, "--ca", self.certs["ca"]],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.addCleanup(harness._kill, p)
        line = harness._readline_timeout(p.stdout, 20.0)
        self.assertTrue(line.startswith(b"READY "), line)
        port = int(line.split()[1])
        url = "http://127.0.0.1:%d/shared" % port
        warm = harness.curl([url], output=os.path.join(harness.tempdir(), "w"))
        self.assertEqual(warm.rc, 0, warm)
        self.expect_spans(is_client(srv.port, p.pid), 1, "the warm-up's gRPC CLIENT span")
        self.rx.clear()
        out = os.path.join(harness.tempdir(), "body")
        r = harness.curl([url], output=out)
        self.assertEqual(r.rc, 0, r)
        with open(out) as f:
            self.assertEqual(json.loads(f.read()), [], "nothing inserted into TLS")
        (hs,) = self.expect_spans(is_server(port, p.pid), 1, "HTTP SERVER span")
        (gc,) = self.expect_spans(is_client(srv.port, p.pid), 1, "gRPC CLIENT span")
        (gs,) = self.expect_spans(is_server(srv.port, srv.pid), 1, "gRPC SERVER span")
        self.check_grpc_span(gc, SPAN_KIND_CLIENT, p.pid, srv.port, "Unary", 0, scheme="https")
        self.check_grpc_span(gs, SPAN_KIND_SERVER, srv.pid, srv.port, "Unary", 0,
                             scheme="https")
        self.assertEqual((gc.trace_id, gc.parent_span_id), (hs.trace_id, hs.span_id),
                         "gRPC CLIENT span not the child of the HTTP SERVER span:\n %r\n %r"
                         % (gc, hs))
        self.assertEqual((gs.trace_id, gs.parent_span_id), (gc.trace_id, gc.span_id),
                         "gRPC SERVER span not the child of its CLIENT span:\n %r\n %r"
                         % (gs, gc))
