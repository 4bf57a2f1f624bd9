"""Connected traces through a Go net/http server that calls a backend with
net/http's client (build/go/chain_app and its -s -w twin,
tests/go/chain_app): curl.CLIENT -> go.SERVER -> go.CLIENT -> python.SERVER,
8 curl clients x 15 requests, a path of its own per request.

Go runs goroutines on a few threads, and net/http's client writes a request
from its connection's writeLoop goroutine, not the handler's: kspan follows
the goroutine (bpf/propagation/go_parent.bpf.h), hands the handler's
request to the writer (persistConn.roundTrip -> Request.write) and to the
goroutines a handler starts (runtime.newproc1). The backend calls share one
keep-alive transport, so writer goroutines serve many handlers in turn."""

import os
import subprocess

import chains
import harness
import tls_certs
from harness import SPAN_KIND_CLIENT, SPAN_KIND_SERVER

APP = os.path.join(harness.REPO, "build", "go", "chain_app")
APP_STRIPPED = os.path.join(harness.REPO, "build", "go", "chain_app_stripped")
TLS_APP = os.path.join(harness.REPO, "build", "go", "tls_app")


class TestGoChains(harness.KspanCase):

    def run_chain(self, app=APP, prefix="/front/", tls=False, extra_args=(), what="go",
                  https_backend=False):
        for path in (APP, APP_STRIPPED, TLS_APP):
            if not os.access(path, os.X_OK):
                raise AssertionError("%s is missing: `make integration-tests` builds it" % path)
        certs = tls_certs.make_certs(harness.tempdir())
        port = harness.free_port()
        env = dict(os.environ)
        if https_backend:
            # tls_app's https server answers any path (Go crypto/tls at both
            # ends of the backend call); the Go client trusts the test CA.
            backend_port = harness.free_port()
            self.start_kspan(ports=[port, backend_port], extra_args=list(extra_args))
            backend = harness.spawn([TLS_APP, "server", "127.0.0.1:%d" % backend_port,
                                     certs["server_cert"], certs["server_key"]],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            self.addCleanup(backend.kill)
            harness.wait_port("127.0.0.1", backend_port)
            probed = "probing Go crypto/tls in %s (pid" % TLS_APP
            self.assertTrue(harness.wait_until(lambda: probed in self.kspan.log_text(), 20.0),
                            self.kspan.log_tail())
            backend_url = "https://127.0.0.1:%d" % backend_port
            env["SSL_CERT_FILE"] = certs["ca"]
        else:
            backend = harness.http_server()
            self.addCleanup(backend.stop)
            self.start_kspan(ports=[port, backend.port], extra_args=list(extra_args))
            backend_url = "http://127.0.0.1:%d" % backend.port
        argv = [app, "serve", "127.0.0.1:%d" % port, backend_url]
        scheme = "http"
        if tls:
            argv += [certs["server_cert"], certs["server_key"]]
            scheme = "https"
        srv = harness.spawn(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        self.addCleanup(srv.kill)
        harness.wait_port("127.0.0.1", port)
        line = "following goroutines in %s (pid" % app
        self.assertTrue(harness.wait_until(lambda: line in self.kspan.log_text(), 20.0),
                        "kspan never said %r:\n%s" % (line, self.kspan.log_tail()))
        old = os.environ.get("CURL_CA_BUNDLE")
        if tls:
            os.environ["CURL_CA_BUNDLE"] = certs["ca"]
        try:
            pids = chains.send_parallel(
                lambda tok: "%s://127.0.0.1:%d%s%s" % (scheme, port, prefix, tok))
        finally:
            if tls and old is None:
                del os.environ["CURL_CA_BUNDLE"]
            elif tls:
                os.environ["CURL_CA_BUNDLE"] = old
        levels = [chains.Level("curl CLIENT", SPAN_KIND_CLIENT, set(pids.values())),
                  chains.Level("go SERVER", SPAN_KIND_SERVER, srv.pid),
                  chains.Level("go CLIENT", SPAN_KIND_CLIENT, srv.pid),
                  chains.Level("backend SERVER", SPAN_KIND_SERVER, backend.pid)]
        rep = chains.wait_chains(self, levels, sorted(pids))
        chains.print_share(rep, what)
        m = self.kspan.metrics()
        counters = {k: v for k, v in m.items() if "_go_" in k}
        self.assertEqual(rep.wrong, [], chains.describe(rep))
        self.assertEqual(len(rep.complete), chains.CLIENTS * chains.REQUESTS,
                         "%s\n%s" % (chains.describe(rep), counters))
        self.assertEqual(counters.get("kspan_kernel_go_client_unattributed_total", 0), 0, counters)
        return rep

    def test_go_server_calling_backend_all_complete_none_wrong(self):
        self.run_chain(what="go net/http (inserted traceparent)")

    def test_go_server_calling_backend_tuple_propagation(self):
        """The host's default (no insertion): every hop joined on this node
        by the connection's tuple, the Go hop by its goroutines."""
        self.run_chain(extra_args=["--propagation", "tuple"], what="go net/http (tuple)")

    def test_go_handler_goroutine_makes_the_call(self):
        """The handler starts a goroutine that calls the backend: it serves
        its creator's request (runtime.newproc1)."""
        self.run_chain(prefix="/spawn/", what="go net/http, call from a started goroutine")

    def test_go_stripped_binary(self):
        """Functions from the pclntab."""
        self.run_chain(app=APP_STRIPPED, what="go net/http, stripped")

    def test_go_https_server_calling_backend(self):
        """curl -> https Go server (crypto/tls uprobes: the request read in
        crypto/tls.(*Conn).Read, by the connection's goroutine) -> plaintext
        backend."""
        self.run_chain(tls=True, what="go net/http over TLS")

    def test_go_client_over_tls(self):
        """The Go handler calls an https backend (a Go https server): the
        writer goroutine's request is written in crypto/tls.(*Conn).Write
        (the crypto/tls uprobes), parented by the same goroutine hand-off."""
        self.run_chain(https_backend=True, what="go net/http, https backend call")
