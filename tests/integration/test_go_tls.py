"""Go crypto/tls, probed by uprobes on crypto/tls.(*Conn).Read, Write and
the handshakes in Go executables built at test time (build/go/tls_app and
its -s -w twin, tests/go/tls_app): Go https servers and clients, HTTP/1.1
and HTTP/2 (ALPN h2), started after kspan (attached at their exec), with
symbols or stripped (functions from the pclntab), at either end."""

import os
import subprocess

import harness
import tls_certs
from checks import CommonChecks, fmt
from harness import SPAN_KIND_CLIENT, SPAN_KIND_SERVER, is_client, is_server
from otlp_receiver import STATUS_ERROR, STATUS_UNSET

APP = os.path.join(harness.REPO, "build", "go", "tls_app")
APP_STRIPPED = os.path.join(harness.REPO, "build", "go", "tls_app_stripped")
GRPC_APP = os.path.join(harness.REPO, "build", "go", "grpc_app_stripped")
GRPC_SERVICE = "grpc.health.v1.Health"
REQUESTS = 5
PARALLEL = 8
# The one port TestGoTlsCounters' kspan traces.
COUNTED_PORT = harness.free_port()


class GoTlsCase(CommonChecks):
    """Starting the Go apps, and the checks of their spans."""

    @classmethod
    def setUpServers(cls):
        for app in (APP, APP_STRIPPED, GRPC_APP):
            if not os.access(app, os.X_OK):
                raise AssertionError("%s is missing: `make integration-tests` builds it" % app)
        cls.certs = tls_certs.make_certs(harness.tempdir())

    def wait_probed(self, path):
        """kspan logs the executable it probed: from then on every process
        running that file is probed (one attachment per file)."""
        line = "probing Go crypto/tls in %s (pid" % path
        ok = harness.wait_until(lambda: line in self.kspan.log_text(), 20.0)
        self.assertTrue(ok, "kspan never said %r:\n%s" % (line, self.kspan.log_tail()))
        probed = [ln for ln in self.kspan.log_text().splitlines() if line in ln]
        self.assertEqual(path.endswith("_stripped"),
                         "stripped: functions from the pclntab" in probed[0], probed[0])

    def start_server(self, app, backend=None, mode="server", port=None):
        port = port or harness.free_port()
        argv = [app, mode, "127.0.0.1:%d" % port, self.certs["server_cert"],
                self.certs["server_key"]] + ([backend] if backend else [])
        p = harness.spawn(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.addCleanup(p.kill)
        harness.wait_port("127.0.0.1", port)
        self.wait_probed(app)
        return p, port

    def run_client(self, url, n, app=APP_STRIPPED, parallel=None, mode="client"):
        """A Go client. A process of the same file that idles first gets the
        file probed (kspan attaches at exec, asynchronously: a client that
        exits within milliseconds may finish before), so that the counted
        run is probed from its start."""
        idle = harness.spawn([app, "idle", "20000"])
        self.wait_probed(app)
        idle.kill()
        idle.wait()
        self.rx.clear()
        argv = [app, mode, url, str(n)] + ([str(parallel)] if parallel else [])
        p = harness.spawn(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 0, err)
        return p.pid

    def check_https_server(self, s, pid, port, path, version="1.1"):
        self.assertEqual(s.kind, SPAN_KIND_SERVER, repr(s))
        self.assertEqual(s.pid, pid, repr(s))
        self.assertEqual(s.name, "GET %s" % path, repr(s))
        self.assert_attr(s, "http.request.method", "GET")
        self.assert_attr(s, "url.scheme", "https")
        self.assert_attr(s, "url.path", path)
        self.assert_attr(s, "server.port", port)
        self.assert_attr(s, "http.response.status_code", 200)
        self.assert_attr(s, "network.protocol.version", version)

    def check_https_client(self, c, pid, port, path, version="1.1"):
        self.assertEqual(c.kind, SPAN_KIND_CLIENT, repr(c))
        self.assertEqual(c.pid, pid, repr(c))
        self.assertEqual(c.name, "GET %s" % path, repr(c))
        self.assert_attr(c, "http.request.method", "GET")
        self.assert_attr(c, "url.full", "https://127.0.0.1:%d%s" % (port, path))
        self.assert_attr(c, "server.port", port)
        self.assert_attr(c, "http.response.status_code", 200)
        self.assert_attr(c, "network.protocol.version", version)

    def exchange(self, server_app, client_app, n, parallel, base="/k", mode="",
                 version="1.1", port=None):
        """parallel Go client goroutines (their own kept-alive connection
        each for HTTP/1.1, one shared connection for HTTP/2), n GETs each of
        a path of their own, to a Go server: exactly one SERVER and one
        CLIENT span per request, https, every SERVER span the child of the
        CLIENT span of the same path (same-node join), nothing else on the
        port. Returns (servers, clients) by path."""
        srv, port = self.start_server(server_app, mode="server" + mode, port=port)
        cpid = self.run_client("https://127.0.0.1:%d%s" % (port, base), n, app=client_app,
                               parallel=parallel, mode="client" + mode)
        paths = ["%s/p%d/r%d" % (base, p, i) for p in range(parallel) for i in range(n)]
        if mode == "-h2":
            paths.append(base + "/warmup")
        servers = self.rx.settle(is_server(port, srv.pid), len(paths))
        clients = self.rx.settle(is_client(port, cpid), len(paths))
        self.assertEqual(len(servers), len(paths), fmt(self.rx.spans()))
        self.assertEqual(len(clients), len(paths), fmt(self.rx.spans()))
        by_path_s = {s.attr("url.path"): s for s in servers}
        self.assertEqual(sorted(by_path_s), sorted(paths), fmt(servers))
        for path in paths:
            self.check_https_server(by_path_s[path], srv.pid, port, path, version)
        linked = set()
        for c in clients:
            path = c.attr("url.full").split(str(port), 1)[1]
            self.assertIn(path, by_path_s, repr(c))
            self.check_https_client(c, cpid, port, path, version)
            self.assert_joined(by_path_s[path], c)
            linked.add(path)
        self.assertEqual(len(linked), len(paths), fmt(clients))
        on_port = self.rx.spans(harness.involves_port(port))
        self.assertEqual(len(on_port), 2 * len(paths), fmt(on_port))
        return servers, clients


class TestGoTls(GoTlsCase, harness.SharedKspanCase):

    def test_keep_alive_every_request_joined_stripped_client(self):
        """REQUESTS GETs of the stripped Go client on one kept-alive
        connection to the Go server (symbols): every SERVER span is the child
        of its own CLIENT span, the later requests too. net/http's server
        reads the next request's first byte alone (its background read
        while a handler runs): kspan holds that byte and puts it back in
        front of the rest of the head, so that the request's start is seen
        and counted on both ends (the join's key: the connection and the
        request's index on it). Under /early/ the server answers before its
        handler returns, so that the next request meets that read every
        time."""
        self.exchange(APP, APP_STRIPPED, REQUESTS, 1, base="/early/a")
        self.assertIn("go_tls_executables_probed", self.kspan.metrics_text())

    def test_keep_alive_every_request_joined_stripped_server(self):
        """The same with the stripped binary as the server and the one with
        its symbol table as the client."""
        self.exchange(APP_STRIPPED, APP, REQUESTS, 1, base="/early/b")

    def test_parallel_clients_both_stripped_exact_links(self):
        """PARALLEL client goroutines of the stripped client, each on its own
        kept-alive connection, REQUESTS GETs each with paths of their own,
        to the stripped server: every SERVER span the child of the CLIENT
        span of its path, zero wrong links."""
        self.exchange(APP_STRIPPED, APP_STRIPPED, REQUESTS, PARALLEL, base="/early/par")

    def test_http2_streams_on_one_connection(self):
        """net/http client and server with HTTP/2 by ALPN (their default):
        PARALLEL goroutines share one connection, REQUESTS GETs each as
        concurrent streams. The frames inside Go's TLS go through the HTTP/2
        assembler: one SERVER and one CLIENT span per stream, version 2,
        every SERVER span the child of the CLIENT span of its path (stream
        join by connection and stream id)."""
        servers, clients = self.exchange(APP, APP_STRIPPED, REQUESTS, PARALLEL, base="/h2",
                                         mode="-h2", version="2")
        # One connection: every SERVER span from the same client port.
        self.assertEqual(len({s.attr("network.peer.port") for s in servers}), 1, fmt(servers))

    def check_grpc(self, s, kind, pid, port, code):
        self.assertEqual(s.kind, kind, repr(s))
        self.assertEqual(s.pid, pid, repr(s))
        self.assertEqual(s.name, "%s/Check" % GRPC_SERVICE, repr(s))
        self.assert_attr(s, "rpc.system", "grpc")
        self.assert_attr(s, "rpc.service", GRPC_SERVICE)
        self.assert_attr(s, "rpc.method", "Check")
        self.assert_attr(s, "rpc.grpc.status_code", code)
        self.assert_attr(s, "http.response.status_code", 200)
        self.assert_attr(s, "url.path", "/%s/Check" % GRPC_SERVICE)
        self.assert_attr(s, "url.scheme", "https")
        self.assert_attr(s, "server.port", port)
        self.assert_attr(s, "network.protocol.version", "2")
        self.assertTrue(s.attr("user_agent.original", "").startswith("grpc-go/"), repr(s))
        # NOT_FOUND is the caller's error, not the server's (semconv).
        error = kind == SPAN_KIND_CLIENT and code != 0
        self.assertEqual(s.status_code, STATUS_ERROR if error else STATUS_UNSET, repr(s))

    def test_grpc_go_over_tls_both_stripped(self):
        """grpc-go (Debian's golang-google-grpc-dev, built at test time),
        server and client stripped, over TLS with h2 by ALPN: PARALLEL
        goroutines make REQUESTS unary calls each on one connection, half
        of them NOT_FOUND. One SERVER and one CLIENT span per call with the
        rpc.* attributes and its own status; every SERVER span the child of
        a CLIENT span of its own (stream join), with the same status."""
        srv, port = self.start_server(GRPC_APP)
        cpid = self.run_client("127.0.0.1:%d" % port, REQUESTS, app=GRPC_APP, parallel=PARALLEL)
        calls = REQUESTS * PARALLEL
        servers = self.rx.settle(is_server(port, srv.pid), calls)
        clients = self.rx.settle(is_client(port, cpid), calls)
        self.assertEqual(len(servers), calls, fmt(self.rx.spans()))
        self.assertEqual(len(clients), calls, fmt(self.rx.spans()))
        by_id = {c.span_id: c for c in clients}
        codes = [s.attr("rpc.grpc.status_code") for s in servers]
        self.assertEqual(sorted(codes), sorted([0, 5] * (calls // 2)), fmt(servers))
        for c in clients:
            self.check_grpc(c, SPAN_KIND_CLIENT, cpid, port, c.attr("rpc.grpc.status_code"))
        parents = set()
        for s in servers:
            self.check_grpc(s, SPAN_KIND_SERVER, srv.pid, port, s.attr("rpc.grpc.status_code"))
            self.assertIn(s.parent_span_id, by_id, "SERVER span not joined to a CLIENT span of "
                          "this client:\n %r" % s)
            c = by_id[s.parent_span_id]
            self.assert_joined(s, c)
            self.assertEqual(s.attr("rpc.grpc.status_code"), c.attr("rpc.grpc.status_code"),
                             "SERVER span joined to another call's CLIENT span:\n %r\n %r"
                             % (s, c))
            self.check_covers(c, s)
            parents.add(s.parent_span_id)
        self.assertEqual(len(parents), calls, fmt(servers))
        self.assertEqual(len(self.rx.spans(harness.involves_port(port))), 2 * calls)

    def test_go_server_calling_a_plaintext_backend_links_each_call_to_its_request(self):
        """The stripped Go server's handler calls a plaintext backend
        (net/http's transport writes from its own goroutine): each backend
        CLIENT span is the child of the Go SERVER span whose handler made
        it (goroutine parenting, go_parent.bpf.h), one each, never
        another's."""
        backend = harness.http_server()
        self.addCleanup(backend.stop)
        srv, port = self.start_server(APP_STRIPPED, backend.url("/ok"))
        cpid = self.run_client("https://127.0.0.1:%d/chain" % port, REQUESTS)
        servers = self.rx.settle(is_server(port, srv.pid), REQUESTS)
        back_servers = self.rx.settle(is_server(backend.port), REQUESTS)
        back_clients = self.rx.settle(is_client(backend.port, srv.pid), REQUESTS)
        self.assertEqual(len(servers), REQUESTS, fmt(self.rx.spans()))
        self.assertEqual(len(back_servers), REQUESTS, fmt(self.rx.spans()))
        self.assertEqual(len(back_clients), REQUESTS, fmt(self.rx.spans()))
        for s in servers:
            self.check_https_server(s, srv.pid, port, "/chain")
        front = {s.span_id: s for s in servers}
        self.assertNotIn(cpid, {c.pid for c in back_clients})
        for c in back_clients:
            self.assertIn(c.parent_span_id, front, "backend request not the child of a Go "
                          "SERVER span:\n %r\n%s" % (c, fmt(servers)))
            self.assertEqual(c.trace_id, front[c.parent_span_id].trace_id, repr(c))
        self.assertEqual(len({c.parent_span_id for c in back_clients}), REQUESTS,
                         fmt(back_clients))
        # The backend's SERVER spans are children of the Go server's plaintext
        # CLIENT spans (traceparent inserted, or the same-node join).
        by_id = {c.span_id: c for c in back_clients}
        for s in back_servers:
            self.assertIn(s.parent_span_id, by_id, repr(s))


class TestGoTlsCounters(GoTlsCase, harness.SharedKspanCase):
    """A kspan that traces one port (--port), so that its counters are this
    test's connections' alone."""

    kspan_args = {"ports": (COUNTED_PORT,)}

    def metric(self, name):
        return self.kspan.metrics().get("kspan_%s_total" % name, 0)

    def test_go_connections_are_not_counted_unprobed(self):
        """Go's handshakes are probed (clientHandshake, serverHandshake): the
        records they exchange are skipped as ciphertext of a probed
        connection, not counted in tls_unprobed_conns as connections of a TLS
        library kspan does not probe. Every background-read byte was put
        back (go_tls_held_bytes_lost stays 0), and every call found its
        socket."""
        self.exchange(APP_STRIPPED, APP, REQUESTS, PARALLEL, base="/early/c", port=COUNTED_PORT)
        self.assertEqual(self.metric("tls_unprobed_conns"), 0, self.kspan.metrics_text())
        self.assertEqual(self.metric("kernel_go_tls_held_bytes_lost"), 0)
        self.assertEqual(self.metric("kernel_go_tls_no_socket"), 0)
        self.assertGreater(self.metric("tls_ciphertext_skipped"), 0)
