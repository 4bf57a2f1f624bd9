"""Go crypto/tls, probed by uprobes on crypto/tls.(*Conn).Read and Write in
Go executables built at test time (build/go/tls_app and its -s -w twin,
tests/go/tls_app): a Go https server and a Go https client, both started
after kspan (attached at their exec), one of them stripped."""

import os
import subprocess

import harness
import tls_certs
from checks import CommonChecks, fmt
from harness import SPAN_KIND_CLIENT, SPAN_KIND_SERVER, is_client, is_server

APP = os.path.join(harness.REPO, "build", "go", "tls_app")
APP_STRIPPED = os.path.join(harness.REPO, "build", "go", "tls_app_stripped")
REQUESTS = 5


class TestGoTls(CommonChecks, harness.SharedKspanCase):

    @classmethod
    def setUpServers(cls):
        for app in (APP, APP_STRIPPED):
            if not os.access(app, os.X_OK):
                raise AssertionError("%s is missing: `make integration-tests` builds it" % app)
        cls.certs = tls_certs.make_certs(harness.tempdir())

    def wait_probed(self, path):
        """kspan logs the executable it probed: from then on every process
        running that file is probed (one attachment per file)."""
        line = "probing Go crypto/tls in %s" % path
        ok = harness.wait_until(lambda: line in self.kspan.log_text(), 20.0)
        self.assertTrue(ok, "kspan never said %r:\n%s" % (line, self.kspan.log_tail()))

    def start_server(self, app, backend=None):
        port = harness.free_port()
        argv = [app, "server", "127.0.0.1:%d" % port, self.certs["server_cert"],
                self.certs["server_key"]] + ([backend] if backend else [])
        p = harness.spawn(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        harness.wait_port("127.0.0.1", port)
        self.wait_probed(app)
        return p, port

    def run_client(self, url, n):
        """The Go client (stripped). A process that idles first gets the
        file probed (kspan attaches at exec, asynchronously: a client that
        exits within milliseconds may finish before), so that the counted
        run is probed from its start."""
        idle = harness.spawn([APP_STRIPPED, "idle", "20000"])
        self.wait_probed(APP_STRIPPED)
        idle.kill()
        idle.wait()
        self.rx.clear()
        p = harness.spawn([APP_STRIPPED, "client", url, str(n)], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE)
        _, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 0, err)
        return p.pid

    def check_https_server(self, s, pid, port, path):
        self.assertEqual(s.kind, SPAN_KIND_SERVER, repr(s))
        self.assertEqual(s.pid, pid, repr(s))
        self.assertEqual(s.name, "GET %s" % path, repr(s))
        self.assert_attr(s, "url.scheme", "https")
        self.assert_attr(s, "url.path", path)
        self.assert_attr(s, "server.port", port)
        self.assert_attr(s, "http.response.status_code", 200)
        self.assert_attr(s, "network.protocol.version", "1.1")

    def check_https_client(self, c, pid, port, path):
        self.assertEqual(c.kind, SPAN_KIND_CLIENT, repr(c))
        self.assertEqual(c.pid, pid, repr(c))
        self.assertEqual(c.name, "GET %s" % path, repr(c))
        self.assert_attr(c, "url.full", "https://127.0.0.1:%d%s" % (port, path))
        self.assert_attr(c, "server.port", port)
        self.assert_attr(c, "http.response.status_code", 200)

    def test_go_client_and_server_exact_spans(self):
        """N requests of the stripped Go client on one kept-alive connection
        to the Go server (symbols): N SERVER and N CLIENT spans, https, each
        SERVER span joined to its own CLIENT span or to none (same-node join
        by the request's index on the connection), nothing else on the
        port."""
        srv, port = self.start_server(APP)
        cpid = self.run_client("https://127.0.0.1:%d/hello" % port, REQUESTS)
        servers = self.rx.settle(is_server(port, srv.pid), REQUESTS)
        clients = self.rx.settle(is_client(port, cpid), REQUESTS)
        self.assertEqual(len(servers), REQUESTS, fmt(self.rx.spans()))
        self.assertEqual(len(clients), REQUESTS, fmt(self.rx.spans()))
        for s in servers:
            self.check_https_server(s, srv.pid, port, "/hello")
        for c in clients:
            self.check_https_client(c, cpid, port, "/hello")
        # Joins: the first request always; a later one only when the server
        # read its first bytes whole. net/http's server reads one byte in
        # the background while a handler runs (to notice a client that went
        # away): when the next request arrives before the response's end
        # stops that read, its "G" comes alone and the kernel does not see a
        # request start to join. Such a SERVER span is a root, never the
        # child of a wrong span.
        by_id = {c.span_id: c for c in clients}
        first = min(servers, key=lambda sp: sp.start_ns)
        first_client = min(clients, key=lambda sp: sp.start_ns)
        self.assert_joined(first, first_client)
        parents = []
        for s in servers:
            if s.parent_span_id:
                self.assertIn(s.parent_span_id, by_id, "SERVER span joined to a span that is "
                              "not a CLIENT span of this client:\n %r\n%s" % (s, fmt(clients)))
                self.assert_joined(s, by_id[s.parent_span_id])
                parents.append(s.parent_span_id)
            else:
                self.assert_ids(s, root=True)
        self.assertEqual(len(parents), len(set(parents)), fmt(servers))
        # Request k's SERVER span is joined to request k's CLIENT span.
        order = {c.span_id: i for i, c in enumerate(sorted(clients, key=lambda sp: sp.start_ns))}
        for i, s in enumerate(sorted(servers, key=lambda sp: sp.start_ns)):
            if s.parent_span_id:
                self.assertEqual(order[s.parent_span_id], i, fmt(servers) + "\n" + fmt(clients))
        on_port = self.rx.spans(harness.involves_port(port))
        self.assertEqual(len(on_port), 2 * REQUESTS, fmt(on_port))
        self.assertIn("go_tls_executables_probed", self.kspan.metrics_text())

    def test_go_server_calling_a_plaintext_backend_is_not_wrongly_linked(self):
        """The stripped Go server's handler calls a plaintext backend (from
        another goroutine: net/http's transport writes in its own). kspan has
        no goroutine parenting: the backend's request must start its own
        trace, never be the child of some other request."""
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
        front_traces = {s.trace_id for s in servers}
        front_ids = {s.span_id for s in servers} | {
            c.span_id for c in self.rx.spans(is_client(port, cpid))}
        for c in back_clients:
            self.assertNotIn(c.trace_id, front_traces, "backend request wrongly in a Go TLS "
                             "request's trace:\n %r\n%s" % (c, fmt(servers)))
            self.assertNotIn(c.parent_span_id, front_ids, repr(c))
            self.assert_ids(c, root=True)
        # The backend's SERVER spans are children of the Go server's plaintext
        # CLIENT spans (traceparent inserted, or the same-node join).
        by_id = {c.span_id: c for c in back_clients}
        for s in back_servers:
            self.assertIn(s.parent_span_id, by_id, repr(s))
