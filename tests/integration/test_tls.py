"""HTTPS from unmodified processes: OpenSSL's SSL_read/SSL_write (and _ex)
probed by uprobes in libssl.so.3, the plaintext through the same parsers and
assemblers as plaintext HTTP. nginx (one worker) with a certificate made at
test time, curl -k, python's ssl; one kspan for the class, insertion on
(--insert-despite-fionread, the harness default) so that its absence on
TLS connections is tested."""

import os
import shutil
import socket
import ssl
import subprocess
import time

import harness
import tls_certs
from harness import curl, is_client, is_server, is_server_conn
from checks import CommonChecks, fmt

# nginx answers with the traceparent it received (empty when none): kspan
# must never insert one into a TLS connection, and does into plain HTTP.
ECHO_TP = 'location = /tp { default_type text/plain; return 200 "tp=$http_traceparent\\n"; }'


def libssl_path():
    """The libssl.so.3 the system's python and curl map."""
    out = subprocess.run(["ldd", shutil.which("curl")], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if "libssl.so" in line and "=>" in line:
            return line.split("=>")[1].split()[0]
    raise AssertionError("curl maps no libssl:\n" + out)


class TestTls(CommonChecks, harness.SharedKspanCase):

    @classmethod
    def setUpServers(cls):
        d = harness.tempdir("kspan-it-tls-")
        os.chmod(d, 0o755)
        cls.certs = tls_certs.make_certs(d)
        cls.ng = harness.Nginx(certs=cls.certs, http2=True, extra=ECHO_TP)
        cls.plain = harness.Nginx(extra=ECHO_TP)

    def metric(self, name):
        return self.kspan.metrics().get("kspan_%s_total" % name, 0)

    def https_exchange(self, r, path, status=200, version="1.1"):
        ng = self.ng
        s, c = self.one_exchange(ng.port, ng.worker_pid, r)
        self.check_server_span(s, ng.worker_pid, ng.port, path, status, peer_port=r.local_port,
                               scheme="https", version=version,
                               name="GET /status/{id}" if path.startswith("/status/") else None)
        self.check_client_span(c, r.pid, ng.port, path, status, scheme="https",
                               version=version,
                               name="GET /status/{id}" if path.startswith("/status/") else None)
        return s, c

    def test_https_get_exact_spans_joined(self):
        """curl -k --http1.1 to nginx: one SERVER span (nginx) and one CLIENT
        span (curl), url.scheme https, the same attributes as plaintext,
        joined on this node (request index on the connection), and nothing
        else on the port."""
        ng = self.ng
        skipped = self.metric("tls_ciphertext_skipped")
        r = curl(ng.url("/ok"), extra=["-k", "--http1.1"])
        self.assertEqual((r.rc, r.http_code), (0, 200), r)
        s, c = self.https_exchange(r, "/ok")
        self.assertTrue(str(s.attr("user_agent.original")).startswith("curl/"), repr(s))
        self.assertEqual(s.resource.get("process.executable.name"), "nginx", repr(s.resource))
        self.assert_joined(s, c)
        self.check_covers(c, s)
        on_port = self.rx.spans(harness.involves_port(ng.port))
        self.assertEqual(len(on_port), 2, "nothing but these two spans on port %d:\n%s"
                         % (ng.port, fmt(on_port)))
        # Both ends' syscalls inside SSL calls carried ciphertext: skipped
        # (the agent reads the kernel's counters once a second).
        self.assertTrue(harness.wait_until(
            lambda: self.metric("tls_ciphertext_skipped") - skipped >= 4, 5),
            "ciphertext syscalls counted")

    def test_https_keepalive_requests_join_in_order(self):
        """Three requests on one TLS connection: three SERVER and three CLIENT
        spans, each SERVER span the child of its own CLIENT span (the n-th
        request written is the n-th read)."""
        ng = self.ng
        paths = ["/ok", "/status/404", "/status/200"]
        r = curl([ng.url(p) for p in paths], extra=["-k", "--http1.1"])
        self.assertEqual([t[0] for t in r.transfers], [200, 404, 200], r)
        self.assertEqual(len({t[2] for t in r.transfers}), 1, "one connection: %r" % r)
        srv = self.expect_spans(is_server_conn(ng.port, r.local_port), 3, "SERVER spans")
        cli = self.expect_spans(is_client(ng.port, r.pid), 3, "CLIENT spans")
        for s, c, p in zip(srv, cli, paths):
            self.assertEqual(s.attr("url.path"), p, repr(s))
            self.assertEqual(c.attr("url.path"), p, repr(c))
            self.assert_attr(s, "url.scheme", "https")
            self.assert_joined(s, c)

    def test_http2_over_tls(self):
        """ALPN h2 (nginx http2, curl --http2 -k): the same HTTP/2 assembler,
        spans with protocol version 2 and url.scheme https."""
        ng = self.ng
        r = curl(ng.url("/ok"), extra=["-k", "--http2"])
        self.assertEqual((r.rc, r.http_code), (0, 200), r)
        s = self.expect_spans(is_server_conn(ng.port, r.local_port), 1, "SERVER span")[0]
        c = self.expect_spans(is_client(ng.port, r.pid), 1, "CLIENT span")[0]
        self.check_server_span(s, ng.worker_pid, ng.port, "/ok", 200, peer_port=r.local_port,
                               scheme="https", version="2")
        self.check_client_span(c, r.pid, ng.port, "/ok", 200, scheme="https", version="2")

    def test_no_insertion_into_tls(self):
        """The bytes on the wire are unchanged: nginx sees no traceparent on
        the TLS connection, while insertion is on (the control on the
        plaintext port gets one)."""
        out = subprocess.run(["curl", "-sS", "-k", "--http1.1", self.ng.url("/tp")],
                             capture_output=True, text=True, timeout=20)
        self.assertEqual(out.stdout, "tp=\n", out)
        out = subprocess.run(["curl", "-sS", "--http1.1", self.plain.url("/tp")],
                             capture_output=True, text=True, timeout=20)
        self.assertRegex(out.stdout, r"^tp=00-[0-9a-f]{32}-[0-9a-f]{16}-01\n$", out)
        # Both exchanges' spans, before the next test's.
        for ng, scheme in ((self.ng, "https"), (self.plain, "http")):
            s = self.expect_spans(is_server(ng.port, ng.worker_pid), 1, "SERVER span")[0]
            self.assert_attr(s, "url.scheme", scheme)

    def test_python_https_chain_one_trace(self):
        """curl -k -> python https server, whose handler calls nginx over
        https from the serving thread: one trace, exact tree (curl CLIENT ->
        python SERVER -> python CLIENT -> nginx SERVER)."""
        ng = self.ng
        py = harness.ScriptServer("chain_server.py", scheme="https",
                                  args=["--next", ng.url(""), "--cert",
                                        self.certs["server_cert"], "--key",
                                        self.certs["server_key"]])
        self.addCleanup(py.stop)
        r = curl(py.url("/call/urllib/ok"), extra=["-k", "--http1.1"])
        self.assertEqual((r.rc, r.http_code), (0, 200), r)
        curl_c = self.expect_spans(is_client(py.port, r.pid), 1, "curl's CLIENT span")[0]
        py_s = self.expect_spans(is_server(py.port, py.pid), 1, "python's SERVER span")[0]
        py_c = self.expect_spans(is_client(ng.port, py.pid), 1, "python's CLIENT span")[0]
        ng_s = self.expect_spans(is_server(ng.port, ng.worker_pid), 1, "nginx's SERVER span")[0]
        self.check_server_span(py_s, py.pid, py.port, "/call/urllib/ok", 200,
                               peer_port=r.local_port, scheme="https",
                               name="GET /call/urllib/ok")
        self.check_client_span(py_c, py.pid, ng.port, "/ok", 200, scheme="https", exe=None)
        self.check_server_span(ng_s, ng.worker_pid, ng.port, "/ok", 200, scheme="https")
        self.assert_ids(curl_c, root=True)
        for child, parent in ((py_s, curl_c), (py_c, py_s), (ng_s, py_c)):
            self.assertEqual(child.trace_id, curl_c.trace_id,
                             "not one trace:\n%s" % fmt([curl_c, py_s, py_c, ng_s]))
            self.assertEqual(child.parent_span_id, parent.span_id,
                             "wrong parent:\n%s" % fmt([curl_c, py_s, py_c, ng_s]))

    def test_bad_input_inside_tls(self):
        """Garbage inside TLS, an SSL_write of 0 bytes, close_notify: no
        span for what is not HTTP, one CLIENT span for the one request, kspan
        alive."""
        ng = self.ng
        tls = ssl._create_unverified_context()
        with socket.create_connection(("127.0.0.1", ng.port), timeout=10) as raw:
            with tls.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                s.sendall(b"\x00\x01\x02 not http at all\r\n\r\n")
                try:
                    while s.recv(4096):
                        pass
                except (ssl.SSLError, OSError):
                    pass
        garbage_port = None
        with socket.create_connection(("127.0.0.1", ng.port), timeout=10) as raw:
            with tls.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                garbage_port = s.getsockname()[1]
                self.assertEqual(s.send(b""), 0)
                s.sendall(b"GET /ok HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n")
                got = b""
                while not got.endswith(b"ok\n"):
                    chunk = s.recv(4096)
                    self.assertTrue(chunk, got)
                    got += chunk
                s.unwrap()  # close_notify
        me = os.getpid()
        srv = self.expect_spans(is_server_conn(ng.port, garbage_port), 1, "SERVER span")
        self.assert_attr(srv[0], "url.scheme", "https")
        cli = self.expect_spans(is_client(ng.port, me), 1, "CLIENT span of this test")
        self.assert_attr(cli[0], "url.scheme", "https")
        time.sleep(0.5)
        self.kspan.assert_alive()

    def test_unprobed_tls_library_is_counted(self):
        """wget (GnuTLS, not probed) to nginx: nginx's SERVER span has
        url.scheme https, wget has no CLIENT span, and its connection is
        counted as TLS whose plaintext kspan never saw."""
        if not shutil.which("wget"):
            self.skipTest("no wget (GnuTLS) installed")
        ng = self.ng
        before = self.metric("tls_unprobed_conns")
        p = harness.spawn(["wget", "-q", "-O", "/dev/null", "--no-check-certificate",
                           ng.url("/ok")])
        self.assertEqual(p.wait(timeout=20), 0)
        s = self.expect_spans(is_server(ng.port, ng.worker_pid), 1, "nginx's SERVER span")[0]
        self.assert_attr(s, "url.scheme", "https")
        self.assertEqual(self.rx.spans(harness.of_pid(p.pid)), [], "no span from wget")
        self.assertTrue(harness.wait_until(
            lambda: self.metric("tls_unprobed_conns") > before, 5),
            "wget's connection counted: %r" % self.kspan.metrics())


class TestTlsLateProcesses(CommonChecks, harness.SharedKspanCase):
    """Processes started after kspan whose TLS code is in a file no process
    mapped at its start, probed on exec. Their own kspan: every probed file
    costs about 1 s of shutdown (README), and the class's kspan must stop
    within 5 s."""

    @classmethod
    def setUpServers(cls):
        d = harness.tempdir("kspan-it-tls-")
        os.chmod(d, 0o755)
        cls.certs = tls_certs.make_certs(d)

    def metric(self, name):
        return self.kspan.metrics().get("kspan_%s_total" % name, 0)

    def test_process_started_after_kspan_with_its_own_libssl(self):
        """A server started after kspan that maps a libssl file no process
        mapped before (a copy: another inode) is probed on exec, before its
        first request: its SERVER span has url.scheme https."""
        d = harness.tempdir("kspan-it-libssl-")
        lib = os.path.join(d, "libssl.so.3")
        shutil.copy(libssl_path(), lib)
        py = harness.ScriptServer("chain_server.py", scheme="https", env={"LD_LIBRARY_PATH": d},
                                  args=["--cert", self.certs["server_cert"], "--key",
                                        self.certs["server_key"]])
        self.addCleanup(py.stop)
        with open("/proc/%d/maps" % py.pid) as f:
            self.assertIn(lib, f.read(), "the server maps the copy")
        self.assertTrue(harness.wait_until(
            lambda: ("OpenSSL probed in %s" % lib) in self.kspan.log_text(), 10),
            "kspan did not probe %s:\n%s" % (lib, self.kspan.log_tail()))
        r = curl(py.url("/plain"), extra=["-k", "--http1.1"])
        self.assertEqual((r.rc, r.http_code), (0, 200), r)
        s = self.expect_spans(is_server(py.port, py.pid), 1, "SERVER span")[0]
        self.check_server_span(s, py.pid, py.port, "/plain", 200, peer_port=r.local_port,
                               scheme="https")


class TestTlsStaticOpenssl(CommonChecks, harness.SharedKspanCase):
    """node, which links OpenSSL into its executable, started after kspan.
    Its own kspan, like TestTlsLateProcesses."""

    @classmethod
    def setUpServers(cls):
        d = harness.tempdir("kspan-it-tls-")
        os.chmod(d, 0o755)
        cls.certs = tls_certs.make_certs(d)

    def metric(self, name):
        return self.kspan.metrics().get("kspan_%s_total" % name, 0)

    def test_node_static_openssl_memory_bio_bound_by_records(self):
        """node links OpenSSL statically: its executable is probed (started
        after kspan: on exec). Its TLS runs through memory BIOs (TLSWrap): no
        syscall inside any call, so the session is bound by the records the
        event loop read just before (tls_sessions_bound_by_records), and
        node's SERVER span is exact, https, and the child of curl's CLIENT
        span; nothing is left unbound."""
        node = shutil.which("node")
        if not node:
            self.skipTest("no node")
        unbound = self.metric("tls_unbound")
        bound = self.metric("tls_sessions_bound_by_records")
        p = harness.spawn([node, os.path.join(harness.SERVERS, "https_server.js"),
                           self.certs["server_cert"], self.certs["server_key"]],
                          stdout=subprocess.PIPE)
        self.addCleanup(harness._kill, p)
        line = harness._readline_timeout(p.stdout, 20)
        self.assertTrue(line.startswith(b"READY "), line)
        port = int(line.split()[1])
        real = os.path.realpath(node)
        self.assertTrue(harness.wait_until(
            lambda: ("OpenSSL probed in %s" % real) in self.kspan.log_text(), 10),
            "kspan did not probe %s:\n%s" % (real, self.kspan.log_tail()))
        r = curl("https://127.0.0.1:%d/x" % port, extra=["-k", "--http1.1"])
        self.assertEqual((r.rc, r.http_code), (0, 200), r)
        c = self.expect_spans(is_client(port, r.pid), 1, "curl's CLIENT span")[0]
        s = self.expect_spans(is_server(port, p.pid), 1, "node's SERVER span")[0]
        self.check_client_span(c, r.pid, port, "/x", 200, scheme="https")
        self.check_server_span(s, p.pid, port, "/x", 200, peer_port=r.local_port,
                               scheme="https")
        self.assert_joined(s, c)
        self.assertTrue(harness.wait_until(
            lambda: self.metric("tls_sessions_bound_by_records") > bound, 5),
            "node's session bound by its records: %r" % self.kspan.metrics())
        self.assertEqual(self.metric("tls_unbound"), unbound, "nothing left unbound")
