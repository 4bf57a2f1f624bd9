"""nginx (one worker, generated config) observed by one unfiltered kspan."""

import unittest

import harness
from harness import client, curl, is_client, is_server, is_server_conn
from otlp_receiver import STATUS_ERROR, STATUS_UNSET
from checks import WALL_SLACK_NS, CommonChecks, fmt


class TestNginx(CommonChecks, harness.SharedKspanCase):

    @classmethod
    def setUpServers(cls):
        cls.ng = harness.Nginx()

    def test_nginx_get_worker_span(self):
        ng = self.ng
        r = curl(ng.url("/ok"))
        self.assertEqual((r.rc, r.http_code), (0, 200), r)
        s, c = self.one_exchange(ng.port, ng.worker_pid, r)
        self.check_server_span(s, ng.worker_pid, ng.port, "/ok", 200, peer_port=r.local_port)
        self.assertTrue(str(s.attr("user_agent.original")).startswith("curl/"), repr(s))
        self.assertEqual(s.resource.get("service.name"), "nginx", repr(s.resource))
        self.assertEqual(s.resource.get("process.executable.name"), "nginx", repr(s.resource))
        self.assertEqual(s.resource.get("process.pid"), ng.worker_pid,
                         "span from the worker (%d), not the master (%d)"
                         % (ng.worker_pid, ng.master_pid))
        self.check_client_span(c, r.pid, ng.port, "/ok", 200)
        self.assert_joined(s, c)
        self.check_covers(c, s)
        on_port = self.rx.spans(harness.involves_port(ng.port))
        self.assertEqual(len(on_port), 2, "nothing but these two spans on port %d:\n%s"
                         % (ng.port, fmt(on_port)))
        self.assert_no_receiver_errors()

    def test_nginx_status_404_and_500(self):
        ng = self.ng
        for code in (404, 500):
            with self.subTest(status=code):
                self.rx.clear()
                r = curl(ng.url("/status/%d" % code))
                self.assertEqual((r.rc, r.http_code), (0, code), r)
                s, c = self.one_exchange(ng.port, ng.worker_pid, r)
                self.check_server_span(s, ng.worker_pid, ng.port, "/status/%d" % code, code,
                                       peer_port=r.local_port, name="GET /status/{id}")
                self.check_client_span(c, r.pid, ng.port, "/status/%d" % code, code,
                                       name="GET /status/{id}")
                self.assertEqual(s.status_code, STATUS_ERROR if code == 500 else STATUS_UNSET,
                                 repr(s))
                self.assertEqual(c.status_code, STATUS_ERROR, repr(c))

    def _big_static(self, prefix):
        ng = self.ng
        path = prefix + "big.bin"
        r = curl(ng.url(path))
        self.assertEqual((r.rc, r.http_code), (0, 200), r)
        self.assertEqual(r.size_download, ng.BIG_SIZE, "curl received every byte: %r" % r)
        s, c = self.one_exchange(ng.port, ng.worker_pid, r)
        self.check_server_span(s, ng.worker_pid, ng.port, path, 200, peer_port=r.local_port)
        self.check_client_span(c, r.pid, ng.port, path, 200)
        for sp in (s, c):
            self.assertGreater(sp.duration_ns, 0, repr(sp))
            self.assertLess(sp.duration_ns, int(r.elapsed * 1e9) + WALL_SLACK_NS, repr(sp))
        self.check_covers(c, s)

    def test_nginx_big_static_file(self):
        """> 1 MiB static file, nginx reading and write()ing it (sendfile off)."""
        self._big_static("/static/")

    def test_nginx_big_static_file_sendfile(self):
        """> 1 MiB static file sent with sendfile(2) (Debian's default nginx.conf
        has `sendfile on`): the body never passes through write()."""
        self._big_static("/sendfile/")

    def test_nginx_ipv6(self):
        ng = self.ng
        if not ng.ipv6:
            raise unittest.SkipTest("no IPv6 loopback (::1)")
        r = curl(ng.url("/ok", v6=True))
        self.assertEqual((r.rc, r.http_code), (0, 200), r)
        s, c = self.one_exchange(ng.port, ng.worker_pid, r)
        self.check_server_span(s, ng.worker_pid, ng.port, "/ok", 200, peer_port=r.local_port,
                               peer_addr="::1")
        self.check_client_span(c, r.pid, ng.port, "/ok", 200, host="::1", peer_addr="::1")
        self.check_covers(c, s)

    def test_nginx_pipelined_requests(self):
        ng = self.ng
        paths = ["/ok", "/status/404", "/static/big.bin", "/ok"]
        pid, res = client("pipeline", "127.0.0.1", ng.port, *paths)
        self.assertTrue(res["ok"], res)
        self.assertEqual(res["statuses"], [200, 404, 200, 200], res)
        ss = self.expect_spans(is_server_conn(ng.port, res["local_port"]), 4,
                               "SERVER spans on port %d for the connection from port %d"
                               % (ng.port, res["local_port"]),
                               context=[("all SERVER spans on the port", is_server(ng.port))])
        ss.sort(key=lambda s: (s.start_ns, s.end_ns))
        self.assertEqual([s.attr("url.path") for s in ss], paths, fmt(ss))
        for s, p, code in zip(ss, paths, (200, 404, 200, 200)):
            self.check_server_span(s, ng.worker_pid, ng.port, p, code, peer_port=res["local_port"],
                                   name="GET /status/{id}" if "status" in p else None)
        self.assertEqual(len({s.span_id for s in ss}), 4, fmt(ss))

    def test_nginx_curl_reuses_connection(self):
        """One curl, three URLs: curl keeps the connection -> 3 + 3 spans."""
        ng = self.ng
        urls = [ng.url("/ok"), ng.url("/status/404"), ng.url("/ok")]
        r = curl(urls)
        self.assertEqual(r.rc, 0, r)
        self.assertEqual([t[0] for t in r.transfers], [200, 404, 200], r.transfers)
        self.assertEqual(len({t[2] for t in r.transfers}), 1, "curl reused its connection: %r"
                         % r.transfers)
        ss = self.expect_spans(is_server_conn(ng.port, r.local_port), 3,
                               "SERVER spans on port %d for the connection from port %d"
                               % (ng.port, r.local_port),
                               context=[("all SERVER spans on the port", is_server(ng.port))])
        cs = self.expect_spans(is_client(ng.port, r.pid), 3, "CLIENT spans of curl pid %d" % r.pid,
                               context=[("all CLIENT spans to the port", is_client(ng.port))])
        self.assertEqual([s.attr("url.path") for s in ss], ["/ok", "/status/404", "/ok"], fmt(ss))
        self.assertEqual([c.attr("http.response.status_code") for c in cs], [200, 404, 200],
                         fmt(cs))
        self.assertEqual(len({s.attr("network.peer.port") for s in ss}), 1,
                         "one connection: %s" % fmt(ss))
        for c in cs:
            self.assertEqual(c.pid, r.pid, repr(c))
        for c, s in zip(cs, ss):
            self.check_covers(c, s)
