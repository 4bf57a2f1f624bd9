"""Span assertions shared by the test modules."""

import random
import re

import harness
from harness import SPAN_KIND_CLIENT, SPAN_KIND_SERVER, is_client, is_server, is_server_conn
from otlp_receiver import STATUS_ERROR, STATUS_UNSET

MS = 1_000_000
# Wall-clock tolerance when comparing span times with times taken by the test
# (the agent converts CLOCK_MONOTONIC to unix time).
WALL_SLACK_NS = 100 * MS
# Client and server stamps come from different syscalls on two threads: the
# client's last read() can return before the server's last write() does
# (measured: ~15 us earlier with the python server). 2 ms absorbs scheduling
# on a loaded 2-core machine; real errors (a missed read/write) are far larger.
SYSCALL_SLACK_NS = 2 * MS


def rand_hex(n):
    return "".join(random.choice("0123456789abcdef") for _ in range(n))


class CommonChecks:
    """Assertions shared by the python and nginx cases."""

    def assert_verifier_margin(self, k, largest):
        """kspan's startup line on the verifier's budget: a program whose
        name matches `largest` took the most instructions to verify, and below the 95%
        of the kernel's 1M at which kspan warns (README, "6.18 counts the
        instructions"): a change that eats the margin fails here, on this
        kernel, before one that passes the limit makes kspan fall back to a
        slower backend."""
        lines = [ln for ln in k.log_text().splitlines() if "verifier:" in ln]
        self.assertEqual(len(lines), 1, "want one verifier line:\n%s" % k.log_tail())
        m = re.match(r"^kspan: verifier: (\d+) programs; the largest, (\w+), took (\d+) of "
                     r"1000000 instructions \((\d+)%\)$", lines[0])
        self.assertIsNotNone(m, "unexpected verifier line %r" % lines[0])
        self.assertRegex(m.group(2), "^(%s)$" % largest, lines[0])
        self.assertEqual(int(m.group(3)) * 100 // 1000000, int(m.group(4)), lines[0])
        self.assertLess(int(m.group(4)), 95, lines[0])

    def check_server_span(self, s, srv_pid, port, path, status, peer_port=None,
                          peer_addr="127.0.0.1", method="GET", name=None, scheme="http",
                          version="1.1"):
        self.assertEqual(s.kind, SPAN_KIND_SERVER, repr(s))
        self.assertEqual(s.pid, srv_pid, "SERVER span from the wrong process: %r" % s)
        self.assertEqual(s.name, name or "%s %s" % (method, path), repr(s))
        self.assert_attr(s, "http.request.method", method)
        self.assert_attr(s, "url.path", path)
        self.assert_attr(s, "url.scheme", scheme)
        self.assert_attr(s, "http.response.status_code", status)
        self.assert_attr(s, "server.port", port)
        self.assert_attr(s, "network.peer.address", peer_addr)
        self.assert_attr(s, "network.protocol.version", version)
        if peer_port is not None:
            self.assert_attr(s, "network.peer.port", peer_port)
        self.assertEqual(s.status_code, STATUS_ERROR if status >= 500 else STATUS_UNSET,
                         "SERVER span status for HTTP %d: %r" % (status, s))
        self.assertLessEqual(s.start_ns, s.end_ns, repr(s))

    def check_client_span(self, s, cli_pid, port, path, status, host="127.0.0.1",
                          peer_addr="127.0.0.1", method="GET", name=None, exe="curl",
                          scheme="http", version="1.1"):
        self.assertEqual(s.kind, SPAN_KIND_CLIENT, repr(s))
        self.assertEqual(s.pid, cli_pid, "CLIENT span from the wrong process: %r" % s)
        if exe is not None:
            self.assertEqual(s.resource.get("process.executable.name"), exe, repr(s.resource))
        self.assertEqual(s.name, name or "%s %s" % (method, path), repr(s))
        self.assert_attr(s, "http.request.method", method)
        self.assert_attr(s, "url.full", "%s://%s:%d%s"
                         % (scheme, "[%s]" % host if ":" in host else host, port, path))
        self.assert_attr(s, "url.scheme", scheme)
        self.assert_attr(s, "http.response.status_code", status)
        self.assert_attr(s, "server.port", port)
        self.assert_attr(s, "network.peer.address", peer_addr)
        self.assert_attr(s, "network.peer.port", port)
        self.assert_attr(s, "network.protocol.version", version)
        self.assertEqual(s.status_code, STATUS_ERROR if status >= 400 else STATUS_UNSET,
                         "CLIENT span status for HTTP %d: %r" % (status, s))
        self.assertLessEqual(s.start_ns, s.end_ns, repr(s))

    def assert_chain(self, spans):
        """spans[0] is a root, and each next span is the child of the one
        before it, all in spans[0]'s trace."""
        self.assert_ids(spans[0], root=True)
        for parent, child in zip(spans, spans[1:]):
            self.assertEqual(child.trace_id, spans[0].trace_id, "not one trace:\n%s" % fmt(spans))
            self.assertEqual(child.parent_span_id, parent.span_id, "wrong parent:\n%s" % fmt(spans))

    def check_covers(self, cli, srv):
        """The client span (same host) covers the server span."""
        self.assertLessEqual(cli.start_ns, srv.start_ns + SYSCALL_SLACK_NS,
                             "client started after server:\n %r\n %r" % (cli, srv))
        self.assertGreaterEqual(cli.end_ns, srv.end_ns - SYSCALL_SLACK_NS,
                                "client ended before server:\n %r\n %r" % (cli, srv))
        self.assertGreaterEqual(cli.duration_ns, srv.duration_ns - SYSCALL_SLACK_NS,
                                "client shorter than server:\n %r\n %r" % (cli, srv))

    def one_exchange(self, port, srv_pid, r):
        """Exactly one SERVER span for curl r's connection to port and exactly
        one CLIENT span from curl r to port."""
        ctx = [("all SERVER spans on port %d" % port, is_server(port)),
               ("spans of server pid %d" % srv_pid, harness.of_pid(srv_pid))]
        srv = self.expect_spans(is_server_conn(port, r.local_port), 1,
                                "SERVER span on port %d for the connection from port %d"
                                % (port, r.local_port), context=ctx)
        ctx = [("all CLIENT spans to port %d" % port, is_client(port)),
               ("spans of curl pid %d" % r.pid, harness.of_pid(r.pid))]
        cli = self.expect_spans(is_client(port, r.pid), 1, "CLIENT span of curl pid %d to port %d"
                                % (r.pid, port), context=ctx)
        return srv[0], cli[0]

    def curl_exchange(self, srv, joined=True):
        """curl GET /ok from srv (harness.http_server()): exactly its SERVER
        and CLIENT spans, checked, and (joined) the SERVER span the CLIENT
        span's child."""
        r = harness.curl(srv.url("/ok"))
        self.assertEqual((r.rc, r.http_code), (0, 200), r)
        s, c = self.one_exchange(srv.port, srv.pid, r)
        self.check_server_span(s, srv.pid, srv.port, "/ok", 200, peer_port=r.local_port)
        self.check_client_span(c, r.pid, srv.port, "/ok", 200)
        if joined:
            self.assert_joined(s, c)
        return s, c


def fmt(spans):
    return harness.fmt_spans(spans)
