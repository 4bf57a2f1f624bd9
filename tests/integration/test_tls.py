"""HTTPS from unmodified processes: OpenSSL's SSL_read/SSL_write (and _ex)
probed by uprobes in libssl.so.3, the plaintext through the same parsers and
assemblers as plaintext HTTP. nginx (one worker) with a certificate made at
test time, curl -k, python's ssl; one kspan for the class, insertion on
(--insert-despite-fionread, the harness default) so that its absence on
TLS connections is tested."""

import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import threading
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
        self.assert_chain([curl_c, py_s, py_c, ng_s])

    def test_idle_keepalive_wait_is_not_in_the_server_span(self):
        """A blocking python https server waits in SSL_read while its
        keep-alive connection is idle: the second request's SERVER span
        starts when its bytes arrive (the read's return, as in plaintext),
        after its CLIENT span started, not when SSL_read was entered."""
        py = harness.ScriptServer("chain_server.py", scheme="https",
                                  args=["--cert", self.certs["server_cert"], "--key",
                                        self.certs["server_key"]])
        self.addCleanup(py.stop)
        conn = http.client.HTTPSConnection("127.0.0.1", py.port, timeout=10,
                                           context=ssl._create_unverified_context())
        for path in ("/plain", "/second"):
            conn.request("GET", path)
            resp = conn.getresponse()
            resp.read()
            time.sleep(0.3)  # idle: the server sits in SSL_read
        local_port = conn.sock.getsockname()[1]
        conn.close()
        srv = self.expect_spans(is_server_conn(py.port, local_port), 2, "SERVER spans")
        cli = self.expect_spans(is_client(py.port, os.getpid()), 2, "CLIENT spans")
        for s, c in zip(srv, cli):
            self.assert_joined(s, c)
            self.check_covers(c, s)

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


# Every path under /m/ is 200 (the tests send a unique path per request).
ANY_PATH = 'location /m/ { default_type text/plain; return 200 "m\\n"; }'


class TestTlsMemoryBio(CommonChecks, harness.SharedKspanCase):
    """TLS through memory BIOs, where no syscall happens inside OpenSSL's
    calls: node's TLSWrap (OpenSSL linked into the node executable, probed on
    exec: node starts after kspan) and python's asyncio SSL transport
    (ssl.MemoryBIO). Each session is bound to the connection whose records
    its thread read just before the call (README "HTTPS"). Every span is
    checked against its own connection: a wrong binding would put a path on
    another connection's spans, or join a request to another's. Its own
    kspan, like TestTlsLateProcesses."""

    CONNS, REQUESTS = 8, 5

    @classmethod
    def setUpServers(cls):
        d = harness.tempdir("kspan-it-tls-")
        os.chmod(d, 0o755)
        cls.certs = tls_certs.make_certs(d)
        cls.ng = harness.Nginx(certs=cls.certs, extra=ANY_PATH)
        cls.aio = harness.ScriptServer("asyncio_https_server.py", scheme="https",
                                       args=["--cert", cls.certs["server_cert"], "--key",
                                             cls.certs["server_key"]])
        cls.node = shutil.which("node")
        cls.node_srv = None
        if cls.node:
            p = harness.spawn([cls.node, os.path.join(harness.SERVERS, "https_server.js"),
                               cls.certs["server_cert"], cls.certs["server_key"]],
                              stdout=subprocess.PIPE)
            line = harness._readline_timeout(p.stdout, 20)
            if not line.startswith(b"READY "):
                harness._kill(p)
                raise AssertionError("https_server.js did not start: %r" % line)
            cls.node_srv, cls.node_port = p, int(line.split()[1])

    @classmethod
    def tearDownClass(cls):
        for p in (cls.node_srv,):
            if p is not None:
                harness._kill(p)
        cls.aio.stop()
        cls.ng.stop()
        super().tearDownClass()

    def metric(self, name):
        return self.kspan.metrics().get("kspan_%s_total" % name, 0)

    def need_node(self):
        if not self.node:
            self.skipTest("no node")
        real = os.path.realpath(self.node)
        self.assertTrue(harness.wait_until(
            lambda: ("OpenSSL probed in %s" % real) in self.kspan.log_text(), 10),
            "kspan did not probe %s:\n%s" % (real, self.kspan.log_tail()))

    def node_get(self, base, prefix, conns, requests):
        """node https_get.js: [{local_port, paths, statuses}] per connection."""
        p = harness.spawn([self.node, os.path.join(harness.CLIENTS, "https_get.js"), base,
                           str(conns), str(requests), prefix],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 0, err.decode("utf-8", "replace"))
        res = json.loads(out.decode().strip().splitlines()[-1])
        for c in res:
            self.assertEqual(c["statuses"], [200] * requests, c)
        self.assertEqual(len({c["local_port"] for c in res}), conns, res)
        return p.pid, res

    def curls_parallel(self, base, prefix):
        """CONNS curls at once, each REQUESTS unique paths on one connection."""
        results = [None] * self.CONNS

        def run(i):
            results[i] = curl([base + "%s/c%d/r%d" % (prefix, i, j)
                               for j in range(self.REQUESTS)], extra=["-k", "--http1.1"])

        threads = [threading.Thread(target=run, args=(i,)) for i in range(self.CONNS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for r in results:
            self.assertEqual([t[0] for t in r.transfers], [200] * self.REQUESTS, r)
            self.assertEqual(len({t[2] for t in r.transfers}), 1, "one connection: %r" % r)
        return results

    def check_connections(self, srv_pid, port, conns, cli_spans):
        """conns: [(local_port, [paths])] of the clients' connections to port.
        The server's SERVER spans are exactly these, each on the connection
        its path was sent on, in order, https, each the child of the CLIENT
        span of the same path (cli_spans: path -> span)."""
        n = sum(len(paths) for _, paths in conns)
        srv = self.expect_spans(is_server(port, srv_pid), n, "SERVER spans on port %d" % port)
        by_conn = {}
        for s in srv:
            by_conn.setdefault(s.attr("network.peer.port"), []).append(s)
        self.assertEqual(sorted(by_conn), sorted(lp for lp, _ in conns),
                         "SERVER spans on the clients' connections")
        for lp, paths in conns:
            got = [s.attr("url.path") for s in by_conn[lp]]
            self.assertEqual(got, paths, "paths of the connection from port %d" % lp)
            for s in by_conn[lp]:
                self.assert_attr(s, "url.scheme", "https")
                self.assert_attr(s, "http.response.status_code", 200)
                self.assert_joined(s, cli_spans[s.attr("url.path")])

    def client_spans_by_path(self, port, pid, n):
        cli = self.expect_spans(is_client(port, pid), n, "CLIENT spans of pid %d" % pid)
        by_path = {c.attr("url.path"): c for c in cli}
        self.assertEqual(len(by_path), n, "one CLIENT span per path")
        return by_path

    def test_node_server_exact_span_joined_to_curl(self):
        """curl -k to node's https server: one SERVER span from node,
        url.scheme https, the child of curl's CLIENT span, and nothing else
        on the port; node's session bound once (tls_membio_bound)."""
        self.need_node()
        bound = self.metric("tls_membio_bound")
        r = curl("https://127.0.0.1:%d/x" % self.node_port, extra=["-k", "--http1.1"])
        self.assertEqual((r.rc, r.http_code), (0, 200), r)
        s, c = self.one_exchange(self.node_port, self.node_srv.pid, r)
        self.check_server_span(s, self.node_srv.pid, self.node_port, "/x", 200,
                               peer_port=r.local_port, scheme="https")
        self.check_client_span(c, r.pid, self.node_port, "/x", 200, scheme="https")
        self.assertEqual(s.resource.get("process.executable.name"), "node", repr(s.resource))
        self.assert_joined(s, c)
        self.check_covers(c, s)
        on_port = self.rx.spans(harness.involves_port(self.node_port))
        self.assertEqual(len(on_port), 2, "nothing but these two spans:\n%s" % fmt(on_port))
        self.assertTrue(harness.wait_until(
            lambda: self.metric("tls_membio_bound") - bound >= 1, 5), "node's session bound")

    def test_node_server_parallel_connections(self):
        """8 curls at once, 5 requests each on one connection, to node: 40
        SERVER spans, each on the connection its path was sent on."""
        self.need_node()
        rs = self.curls_parallel("https://127.0.0.1:%d" % self.node_port, "/ns")
        cli = {}
        for r in rs:
            cli.update(self.client_spans_by_path(self.node_port, r.pid, self.REQUESTS))
        self.check_connections(self.node_srv.pid, self.node_port,
                               [(r.local_port, ["/ns/c%d/r%d" % (i, j)
                                                for j in range(self.REQUESTS)])
                                for i, r in enumerate(rs)], cli)

    def test_node_client_to_nginx(self):
        """node's https.get to nginx: one CLIENT span from node, exact, the
        parent of nginx's SERVER span."""
        self.need_node()
        pid, res = self.node_get(self.ng.url(""), "/m/nc", 1, 1)
        c = self.expect_spans(is_client(self.ng.port, pid), 1, "node's CLIENT span")[0]
        self.check_client_span(c, pid, self.ng.port, "/m/nc/c0/r0", 200, exe="node",
                               scheme="https")
        # (No check_covers: nginx's span ends when its SSL_write returns,
        # after the write inside it, and node may read the answer first.)
        self.check_connections(self.ng.worker_pid, self.ng.port,
                               [(res[0]["local_port"], ["/m/nc/c0/r0"])], {"/m/nc/c0/r0": c})

    def test_node_client_parallel_to_nginx(self):
        """node, 8 connections at once, 5 requests each, to nginx: each of
        node's CLIENT spans joins nginx's SERVER span of its own path on its
        own connection (the join key is the connection and the request's
        index on it: a session bound to the wrong socket joins wrongly)."""
        self.need_node()
        pid, res = self.node_get(self.ng.url(""), "/m/np", self.CONNS, self.REQUESTS)
        cli = self.client_spans_by_path(self.ng.port, pid, self.CONNS * self.REQUESTS)
        for c in cli.values():
            self.assert_attr(c, "url.scheme", "https")
        self.check_connections(self.ng.worker_pid, self.ng.port,
                               [(c["local_port"], c["paths"]) for c in res], cli)

    def test_node_client_parallel_to_asyncio_server(self):
        """Memory BIOs at both ends: node, 8 connections x 5 requests, to the
        asyncio https server: every SERVER span on its own connection, the
        child of node's CLIENT span of the same path."""
        self.need_node()
        pid, res = self.node_get(self.aio.url(""), "/na", self.CONNS, self.REQUESTS)
        cli = self.client_spans_by_path(self.aio.port, pid, self.CONNS * self.REQUESTS)
        self.check_connections(self.aio.pid, self.aio.port,
                               [(c["local_port"], c["paths"]) for c in res], cli)

    def test_asyncio_server_exact_span_joined_to_curl(self):
        """curl -k to an asyncio.start_server(ssl=...) server: one SERVER
        span, exact, the child of curl's CLIENT span."""
        r = curl(self.aio.url("/a"), extra=["-k", "--http1.1"])
        self.assertEqual((r.rc, r.http_code), (0, 200), r)
        s, c = self.one_exchange(self.aio.port, self.aio.pid, r)
        self.check_server_span(s, self.aio.pid, self.aio.port, "/a", 200,
                               peer_port=r.local_port, scheme="https")
        self.check_client_span(c, r.pid, self.aio.port, "/a", 200, scheme="https")
        self.assert_joined(s, c)
        self.check_covers(c, s)
        on_port = self.rx.spans(harness.involves_port(self.aio.port))
        self.assertEqual(len(on_port), 2, "nothing but these two spans:\n%s" % fmt(on_port))

    def test_asyncio_server_parallel_connections(self):
        """8 curls at once, 5 requests each, to the asyncio server: 40 SERVER
        spans, each on the connection its path was sent on."""
        rs = self.curls_parallel(self.aio.url(""), "/as")
        cli = {}
        for r in rs:
            cli.update(self.client_spans_by_path(self.aio.port, r.pid, self.REQUESTS))
        self.check_connections(self.aio.pid, self.aio.port,
                               [(r.local_port, ["/as/c%d/r%d" % (i, j)
                                                for j in range(self.REQUESTS)])
                                for i, r in enumerate(rs)], cli)

    def test_unordered_memory_bio_counted_not_guessed(self):
        """A memory-BIO client whose thread makes another socket syscall
        between reading its records and the call that takes them: its
        session is not bound (no CLIENT span; tls_unbound), its connection
        is counted (tls_unprobed_conns); nginx's end is a normal SERVER span."""
        unbound = self.metric("tls_unbound")
        unprobed = self.metric("tls_unprobed_conns")
        p = harness.spawn([harness.PY, os.path.join(harness.CLIENTS,
                                                    "membio_interleaved_client.py"),
                           "127.0.0.1", str(self.ng.port), "/m/unordered"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = p.communicate(timeout=30)
        self.assertEqual((p.returncode, out.decode().strip()), (0, "HTTP/1.1 200 OK"),
                         err.decode("utf-8", "replace"))
        s = self.expect_spans(is_server(self.ng.port, self.ng.worker_pid), 1,
                              "nginx's SERVER span")[0]
        self.assert_attr(s, "url.path", "/m/unordered")
        self.assert_ids(s, root=True)
        self.assertTrue(harness.wait_until(
            lambda: (self.metric("tls_unbound") > unbound
                     and self.metric("tls_unprobed_conns") > unprobed), 5),
            "counted: %r" % self.kspan.metrics())
        self.assertEqual(self.rx.spans(harness.of_pid(p.pid)), [], "no span from the client")
