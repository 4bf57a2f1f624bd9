"""Connections opened before kspan started are adopted on their next read or
write: a keep-alive connection that carried a request before the agent was
running produces spans for every request after it."""

import http.client
import os

import harness
from harness import SPAN_KIND_CLIENT, is_server_conn


class TestAdoption(harness.KspanCase):

    def setUp(self):
        super().setUp()
        self.srv = harness.http_server()

    def test_keepalive_connection_opened_before_kspan(self):
        srv = self.srv
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
        self.addCleanup(conn.close)
        conn.request("GET", "/seq/0")
        self.assertEqual(conn.getresponse().read(), b"0\n")
        local_port = conn.sock.getsockname()[1]

        self.start_kspan(ports=[srv.port])
        for i in (1, 2, 3):
            conn.request("GET", "/seq/%d" % i)
            self.assertEqual(conn.getresponse().read(), b"%d\n" % i)

        servers = self.expect_spans(is_server_conn(srv.port, local_port), 3,
                                    "SERVER spans of the adopted connection")
        self.assertEqual([s.attr("url.path") for s in servers], ["/seq/1", "/seq/2", "/seq/3"])
        for s in servers:
            self.assertEqual(s.pid, srv.pid)
            self.assertEqual(s.attr("http.response.status_code"), 200)
        clients = self.expect_spans(
            lambda s: s.kind == SPAN_KIND_CLIENT and s.pid == os.getpid(), 3,
            "CLIENT spans of this test process on the adopted connection")
        self.assertEqual([s.attr("url.path") for s in clients], ["/seq/1", "/seq/2", "/seq/3"])
        # Each CLIENT span covers its SERVER span (same host, same clock).
        for c, s in zip(clients, servers):
            self.assertLessEqual(c.start_ns, s.start_ns, (c, s))
            self.assertGreaterEqual(c.end_ns, s.end_ns, (c, s))
