"""A python3 ThreadingHTTPServer observed by one unfiltered kspan, with curl and
python http.client clients."""

import os
import socket
import time

import harness
from checks import MS, SYSCALL_SLACK_NS, WALL_SLACK_NS, CommonChecks, fmt, rand_hex
from harness import client, curl, is_client, is_server, is_server_conn
from otlp_receiver import STATUS_ERROR, STATUS_UNSET

class TestPythonServer(CommonChecks, harness.SharedKspanCase):

    @classmethod
    def setUpServers(cls):
        cls.srv = harness.http_server()

    def test_pod_uid_from_the_process_cgroup(self):
        """A server in a cgroup named as kubelet's systemd driver names a pod's
        gets that pod's UID in its resource (k8s.pod.uid); curl, outside any
        pod, gets none."""
        root = next(line.split()[1] for line in open("/proc/mounts")
                    if line.split()[2] == "cgroup2")
        uid = "5d7c5c52-0d8e-4b1f-9bd1-" + rand_hex(12)
        parent = os.path.join(root, "kspan-it-%d-kubepods.slice" % os.getpid())
        pod = os.path.join(parent, "kubepods-besteffort-pod%s.slice" % uid.replace("-", "_"))
        os.makedirs(pod)
        srv = harness.http_server()

        def leave():
            srv.stop()
            os.rmdir(pod)
            os.rmdir(parent)
        self.addCleanup(leave)
        # Before its first traced byte: kspan reads the cgroup when it first
        # sees the process.
        with open(os.path.join(pod, "cgroup.procs"), "w") as f:
            f.write(str(srv.pid))
        r = curl(srv.url("/ok"))
        self.assertEqual((r.rc, r.http_code), (0, 200), r)
        s, c = self.one_exchange(srv.port, srv.pid, r)
        self.assertEqual(s.resource.get("k8s.pod.uid"), uid, repr(s.resource))
        self.assertNotIn("k8s.pod.uid", c.resource, repr(c.resource))

    def test_curl_get_one_server_one_client_span(self):
        srv = self.srv
        t0 = time.time_ns()
        r = curl(srv.url("/ok"))
        t1 = time.time_ns()
        self.assertEqual((r.rc, r.http_code), (0, 200), r)
        s, c = self.one_exchange(srv.port, srv.pid, r)

        self.check_server_span(s, srv.pid, srv.port, "/ok", 200, peer_port=r.local_port)
        ua = s.attr("user_agent.original")
        self.assertIsInstance(ua, str, repr(s))
        self.assertTrue(ua.startswith("curl/"), "user_agent.original %r" % ua)
        self.check_client_span(c, r.pid, srv.port, "/ok", 200)

        # resources
        res = s.resource
        self.assertEqual(type(res.get("process.pid")), int, repr(res))
        self.assertIn(res.get("service.name"), srv.names, repr(res))
        self.assertIn(res.get("process.executable.name"), srv.names, repr(res))
        # The command, not its arguments (they may hold secrets; see
        # test_command_args.py for --capture-command-args).
        self.assertEqual(res.get("process.command"), harness.PY, repr(res))
        self.assertNotIn("process.command_args", res, repr(res))
        self.assertEqual(res.get("host.name"), socket.gethostname(), repr(res))
        self.assertEqual(res.get("telemetry.sdk.name"), "kspan", repr(res))
        cres = c.resource
        self.assertEqual(cres.get("service.name"), "curl", repr(cres))
        self.assertEqual(cres.get("process.executable.name"), "curl", repr(cres))
        self.assertEqual(cres.get("telemetry.sdk.name"), "kspan", repr(cres))
        self.assertEqual(cres.get("process.command"), "curl", repr(cres))
        self.assertNotIn("process.command_args", cres, repr(cres))

        # ids: curl sent no traceparent: its span is the root, the server's
        # is its child (kspan inserted one, and joined the connection's ends)
        self.assert_joined(s, c)
        for sp in (s, c):
            self.assertEqual(sp.flags & 0xFF, 0x01, "sampled flag: %r" % sp)
            self.assertEqual(sp.trace_state, "", repr(sp))
            self.assertEqual(sp.dup_keys, [], "duplicate attribute keys in %r" % sp)
        self.assertNotEqual(s.span_id, c.span_id)

        # times are unix nanoseconds within the test's own window
        for sp in (s, c):
            self.assertGreaterEqual(sp.start_ns, t0 - WALL_SLACK_NS, "start before the request: %r"
                                    % sp)
            self.assertLessEqual(sp.end_ns, t1 + WALL_SLACK_NS, "end after curl exited: %r" % sp)
        self.check_covers(c, s)
        on_port = self.rx.spans(harness.involves_port(srv.port))
        self.assertEqual(len(on_port), 2, "nothing but these two spans on port %d:\n%s"
                         % (srv.port, fmt(on_port)))
        self.assert_no_receiver_errors()

    def test_delay_duration(self):
        srv = self.srv
        r = curl(srv.url("/delay/300"))
        self.assertEqual((r.rc, r.http_code), (0, 200), r)
        s, c = self.one_exchange(srv.port, srv.pid, r)
        self.check_server_span(s, srv.pid, srv.port, "/delay/300", 200, peer_port=r.local_port,
                               name="GET /delay/{id}")
        self.check_client_span(c, r.pid, srv.port, "/delay/300", 200, name="GET /delay/{id}")
        self.assertGreaterEqual(s.duration_ns, 300 * MS, "server slept 300 ms: %r" % s)
        self.assertLess(s.duration_ns, 300 * MS + int(r.elapsed * 1e9), repr(s))
        self.assertGreaterEqual(c.duration_ns, s.duration_ns - SYSCALL_SLACK_NS,
                                "CLIENT shorter than SERVER:\n %r\n %r" % (c, s))
        self.check_covers(c, s)

    def test_status_404_and_500(self):
        srv = self.srv
        for code in (404, 500):
            with self.subTest(status=code):
                self.rx.clear()
                r = curl(srv.url("/status/%d" % code))
                self.assertEqual((r.rc, r.http_code), (0, code), r)
                s, c = self.one_exchange(srv.port, srv.pid, r)
                self.check_server_span(s, srv.pid, srv.port, "/status/%d" % code, code,
                                       peer_port=r.local_port, name="GET /status/{id}")
                self.check_client_span(c, r.pid, srv.port, "/status/%d" % code, code,
                                       name="GET /status/{id}")
                # spelled out, whatever the helpers above check
                self.assertEqual(s.status_code, STATUS_ERROR if code == 500 else STATUS_UNSET,
                                 repr(s))
                self.assertEqual(c.status_code, STATUS_ERROR, repr(c))

    def test_big_response(self):
        srv = self.srv
        n = 1536 * 1024 + 7
        r = curl(srv.url("/big/%d" % n))
        self.assertEqual((r.rc, r.http_code), (0, 200), r)
        self.assertEqual(r.size_download, n, "curl received every byte: %r" % r)
        s, c = self.one_exchange(srv.port, srv.pid, r)
        self.check_server_span(s, srv.pid, srv.port, "/big/%d" % n, 200, peer_port=r.local_port,
                               name="GET /big/{id}")
        self.check_client_span(c, r.pid, srv.port, "/big/%d" % n, 200, name="GET /big/{id}")
        for sp in (s, c):
            self.assertGreater(sp.duration_ns, 0, repr(sp))
            self.assertLess(sp.duration_ns, int(r.elapsed * 1e9) + WALL_SLACK_NS, repr(sp))
        self.check_covers(c, s)

    def test_post_echo_body(self):
        srv = self.srv
        d = harness.tempdir()
        body = os.path.join(d, "body.bin")
        with open(body, "wb") as f:
            f.write(os.urandom(200 * 1024))
        out = os.path.join(d, "out.bin")
        r = curl(srv.url("/echo"), headers=["Content-Type: application/octet-stream"],
                 extra=["--data-binary", "@" + body], output=out)
        self.assertEqual((r.rc, r.http_code), (0, 200), r)
        with open(body, "rb") as a, open(out, "rb") as b:
            self.assertEqual(a.read(), b.read(), "echoed body differs")
        s, c = self.one_exchange(srv.port, srv.pid, r)
        self.check_server_span(s, srv.pid, srv.port, "/echo", 200, peer_port=r.local_port,
                               method="POST")
        self.check_client_span(c, r.pid, srv.port, "/echo", 200, method="POST")
        self.check_covers(c, s)

    def test_keepalive_20_requests_one_connection(self):
        srv = self.srv
        pid, res = client("keepalive", "127.0.0.1", srv.port, 20)
        self.assertTrue(res["ok"], res)
        self.assertEqual(res["statuses"], [200] * 20, res)
        ss = self.expect_spans(is_server_conn(srv.port, res["local_port"]), 20,
                               "SERVER spans on port %d for the connection from port %d"
                               % (srv.port, res["local_port"]),
                               context=[("all SERVER spans on the port", is_server(srv.port))])
        cs = self.expect_spans(is_client(srv.port, pid), 20, "CLIENT spans of pid %d to port %d"
                               % (pid, srv.port),
                               context=[("all CLIENT spans to the port", is_client(srv.port))])
        for i, (s, c) in enumerate(zip(ss, cs)):
            self.check_server_span(s, srv.pid, srv.port, "/seq/%d" % i, 200,
                                   peer_port=res["local_port"], name="GET /seq/{id}")
            self.check_client_span(c, pid, srv.port, "/seq/%d" % i, 200, name="GET /seq/{id}",
                                   exe=None)
            self.assertIn(c.resource.get("process.executable.name"), ("python3", "python3.11"),
                          repr(c.resource))
            self.assert_joined(s, c)
        ids = [sp.span_id for sp in ss + cs]
        self.assertEqual(len(set(ids)), 40, "span ids not distinct: %r" % ids)
        for a, b in zip(ss, ss[1:]):
            self.assertLessEqual(a.end_ns, b.start_ns, "requests on one connection overlap:\n %r\n"
                                 " %r" % (a, b))
        for c, s in zip(cs, ss):
            self.check_covers(c, s)

    def test_concurrent_keepalive_connections(self):
        """8 clients at once, 10 requests each on its own connection, served
        by 8 server threads: spans must not be mixed up between connections."""
        srv = self.srv
        n_clients, n_req = 8, 10
        runs = harness.clients_parallel([("keepalive", "127.0.0.1", srv.port, n_req)] * n_clients)
        total = n_clients * n_req
        self.expect_spans(is_server(srv.port, srv.pid), total, "SERVER spans on port %d"
                          % srv.port)
        self.expect_spans(is_client(srv.port), total, "CLIENT spans to port %d" % srv.port)
        for pid, res in runs:
            self.assertTrue(res["ok"], res)
            ss = sorted(self.rx.spans(is_server_conn(srv.port, res["local_port"])),
                        key=lambda s: s.start_ns)
            cs = sorted(self.rx.spans(is_client(srv.port, pid)), key=lambda s: s.start_ns)
            self.assertEqual([s.attr("url.path") for s in ss],
                             ["/seq/%d" % i for i in range(n_req)],
                             "SERVER spans of the connection from port %d:\n%s"
                             % (res["local_port"], fmt(ss)))
            self.assertEqual([c.attr("url.full") for c in cs],
                             [srv.url("/seq/%d" % i) for i in range(n_req)],
                             "CLIENT spans of pid %d:\n%s" % (pid, fmt(cs)))
            for c, s in zip(cs, ss):
                self.check_covers(c, s)
        all_ids = [sp.span_id for sp in self.rx.spans(harness.involves_port(srv.port))]
        self.assertEqual(len(set(all_ids)), 2 * total, "span ids not distinct")

    def test_pipelined_requests(self):
        srv = self.srv
        paths = ["/seq/7", "/status/404", "/seq/9"]
        pid, res = client("pipeline", "127.0.0.1", srv.port, *paths)
        self.assertTrue(res["ok"], res)
        self.assertEqual(res["statuses"], [200, 404, 200], res)
        ss = self.expect_spans(is_server_conn(srv.port, res["local_port"]), 3,
                               "SERVER spans on port %d for the connection from port %d"
                               % (srv.port, res["local_port"]),
                               context=[("all SERVER spans on the port", is_server(srv.port))])
        ss.sort(key=lambda s: (s.start_ns, s.end_ns))
        self.assertEqual([s.attr("url.path") for s in ss], paths, fmt(ss))
        for s, p, code in zip(ss, paths, (200, 404, 200)):
            self.check_server_span(s, srv.pid, srv.port, p, code, peer_port=res["local_port"],
                                   name="GET /seq/{id}" if "seq" in p else "GET /status/{id}")
            self.assert_ids(s, root=False)
            # Only the first request of the write can be joined; the others
            # must be roots, never children of the wrong CLIENT span.
            cs = [c for c in self.rx.spans(is_client(srv.port, pid)) if c.attr("url.path") == p]
            self.assertIn(s.parent_span_id, [""] + [c.span_id for c in cs], fmt(cs + [s]))
        self.assertEqual(len({s.span_id for s in ss}), 3, fmt(ss))
        for a, b in zip(ss, ss[1:]):
            self.assertLessEqual(a.end_ns, b.end_ns, fmt(ss))

    def test_traceparent_valid(self):
        srv = self.srv
        tid, psid = rand_hex(32), rand_hex(16)
        r = curl(srv.url("/ok"), headers=["traceparent: 00-%s-%s-01" % (tid, psid),
                                          "tracestate: vendor=abc"])
        self.assertEqual((r.rc, r.http_code), (0, 200), r)
        s = self.one_exchange(srv.port, srv.pid, r)[0]
        self.check_server_span(s, srv.pid, srv.port, "/ok", 200, peer_port=r.local_port)
        self.assertEqual(s.trace_id, tid, "trace id from traceparent: %r" % s)
        self.assertEqual(s.parent_span_id, psid, "parent from traceparent: %r" % s)
        self.assertRegex(s.span_id, r"^[0-9a-f]{16}$")
        self.assertNotIn(s.span_id, ("0" * 16, psid), repr(s))
        self.assertEqual(s.trace_state, "vendor=abc", repr(s))
        self.assertEqual(s.flags & 0xFF, 0x01, "trace flags from traceparent: %r" % s)
        if s.flags & 0x100:  # HAS_IS_REMOTE: then the parent must be marked remote
            self.assertTrue(s.flags & 0x200, "parent came over the wire, IS_REMOTE: flags %#x"
                            % s.flags)

    def test_traceparent_invalid(self):
        srv = self.srv
        tid, psid = rand_hex(32), rand_hex(16)
        cases = [
            ("uppercase", "00-%s-%s-01" % (tid.upper()[:31] + "A", psid.upper()[:15] + "B")),
            ("version ff", "ff-%s-%s-01" % (tid, psid)),
            ("zero trace id", "00-%s-%s-01" % ("0" * 32, psid)),
            ("zero parent id", "00-%s-%s-01" % (tid, "0" * 16)),
            ("short trace id", "00-%s-%s-01" % (tid[:30], psid)),
            ("garbage", "not-a-traceparent"),
        ]
        for i, (what, header) in enumerate(cases):
            with self.subTest(case=what):
                self.rx.clear()
                path = "/seq/%d" % (100 + i)
                r = curl(srv.url(path), headers=["traceparent: " + header,
                                                 "tracestate: vendor=abc"])
                self.assertEqual((r.rc, r.http_code), (0, 200), r)
                s = self.one_exchange(srv.port, srv.pid, r)[0]
                self.check_server_span(s, srv.pid, srv.port, path, 200, peer_port=r.local_port,
                                       name="GET /seq/{id}")
                self.assert_ids(s, root=True)
                self.assertNotEqual(s.trace_id, tid, "invalid traceparent %r was used: %r"
                                    % (header, s))
                self.assertNotEqual(s.trace_id, tid.lower()[:31] + "a", repr(s))
                self.assertEqual(s.trace_state, "", "tracestate must be ignored when traceparent "
                                 "is invalid (%r): %r" % (header, s))

    def check_dup_exchange(self, port, srv_pid, path, status, r):
        """One SERVER span with its response and one CLIENT span for curl r's
        request to a server that answers on a dup() of the socket it read
        the request from; srv_pid None: a child of the server's (any pid)."""
        self.assertEqual((r.rc, r.http_code), (0, status), r)
        s = self.expect_spans(is_server_conn(port, r.local_port), 1,
                              "SERVER span on port %d for the connection from port %d"
                              % (port, r.local_port),
                              context=[("all spans on the port", harness.involves_port(port))])[0]
        c = self.expect_spans(is_client(port, r.pid), 1, "CLIENT span of curl pid %d to port %d"
                              % (r.pid, port))[0]
        self.check_server_span(s, srv_pid or s.pid, port, path, status, peer_port=r.local_port)
        self.check_client_span(c, r.pid, port, path, status)
        self.assert_joined(s, c)
        self.check_covers(c, s)
        return s

    def test_python_server_answering_on_a_dup_of_the_socket(self):
        """dup_server.py reads the request on the accepted socket, dup()s it,
        closes the accepted fd and answers on the dup: one connection, whose
        SERVER span has its response (the tracepoint backend keys
        connections by socket, and a close that leaves a dup open does not
        end the connection)."""
        srv = harness.ScriptServer("dup_server.py")
        self.addCleanup(srv.stop)
        for path in ("/first", "/second"):
            with self.subTest(path=path):
                self.check_dup_exchange(srv.port, srv.pid, path, 200, curl(srv.url(path)))

    def test_busybox_httpd_answering_on_a_dup_of_the_socket(self):
        """busybox httpd forks a child per connection, which moves the socket
        to fd 0, dup()s it to fd 1, reads the request on 0 and answers on 1."""
        root = harness.tempdir()
        with open(os.path.join(root, "index.html"), "w") as f:
            f.write("<html>kspan</html>\n")
        port = harness.free_port()
        httpd = harness.spawn(["busybox", "httpd", "-f", "-p", "127.0.0.1:%d" % port,
                               "-h", root])
        harness.wait_port("127.0.0.1", port)
        url = "http://127.0.0.1:%d%%s" % port
        for path, status in (("/index.html", 200), ("/missing.html", 404)):
            with self.subTest(path=path):
                s = self.check_dup_exchange(port, None, path, status, curl(url % path))
                self.assertNotEqual(s.pid, httpd.pid, "a forked child serves: %r" % s)
                self.assertEqual(s.resource.get("process.executable.name"), "busybox",
                                 repr(s.resource))
