"""Garbage, truncated requests and non-HTTP TCP traffic: kspan must not crash,
must not invent spans, and must keep producing correct spans afterwards."""

import harness
from checks import CommonChecks, fmt
from harness import (SPAN_KIND_CLIENT, SPAN_KIND_SERVER, any_of, client, involves_port,
                     of_pid)
from otlp_receiver import STATUS_ERROR


class TestBadInput(CommonChecks, harness.SharedKspanCase):

    @classmethod
    def setUpServers(cls):
        cls.srv = harness.http_server()
        cls.echo = harness.echo_server()

    def normal_request_still_works(self):
        return self.curl_exchange(self.srv)

    def test_garbage_and_truncated_requests_to_http_server(self):
        srv = self.srv
        senders = []
        payloads = [
            ["--random", 4096],
            ["--random", 65536],
            ["--random", 17],
            ["--data", "GET /truncated HTT"],               # request line cut short, then EOF
            ["--data", "GET /nover\r\n"],                    # no version (HTTP/0.9)
            ["--data", "\r\n\r\n\r\n"],
            ["--data", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"],  # a response as request
        ]
        for args in payloads:
            pid, res = client("raw", "127.0.0.1", srv.port, *args)
            self.assertTrue(res["ok"], res)
            senders.append((pid, res["local_port"]))
        self.kspan.assert_alive()
        s, c = self.normal_request_still_works()
        # nothing from or for the garbage connections
        garbage_ports = {lp for _, lp in senders}
        bogus = self.rx.spans(any_of(*[of_pid(p) for p, _ in senders],
                                     lambda sp: sp.attr("network.peer.port") in garbage_ports))
        self.assertEqual(bogus, [], "spans for garbage input:\n%s" % fmt(bogus))
        self.assertEqual(len(self.rx.spans(involves_port(srv.port))), 2,
                         fmt(self.rx.spans(involves_port(srv.port))))

    def test_non_http_tcp_echo(self):
        echo = self.echo
        pids = []
        for size, rounds in ((4096, 16), (1, 50), (65536, 4)):
            pid, res = client("echo", "127.0.0.1", echo.port, "--size", size, "--rounds", rounds)
            self.assertTrue(res["ok"], "echoed bytes differ: %r" % res)
            self.assertEqual(res["echoed"], size * rounds, res)
            pids.append(pid)
        self.kspan.assert_alive()
        self.normal_request_still_works()
        bogus = self.rx.spans(any_of(involves_port(echo.port), of_pid(echo.pid),
                                     *[of_pid(p) for p in pids]))
        self.assertEqual(bogus, [], "spans for non-HTTP traffic:\n%s" % fmt(bogus))

    def test_http_request_to_echo_server_never_succeeds(self):
        """A real HTTP request to the echo server gets the request itself back,
        not a response: kspan may report the unanswered request, but nothing
        may claim an HTTP status, and at most one span per side."""
        echo = self.echo
        pid, res = client("raw", "127.0.0.1", echo.port, "--data",
                          "GET /echoed HTTP/1.1\r\nHost: x\r\n\r\n")
        # What came back is the request as it went out: with the 70-byte
        # traceparent line kspan inserted after the request line.
        self.assertEqual(res["received"], res["sent"] + 70, res)
        self.assertTrue(res["head"].startswith("GET /echoed HTTP/1.1\r\ntraceparent: 00-"), res)
        self.kspan.assert_alive()
        self.normal_request_still_works()
        spans = self.rx.settle(any_of(involves_port(echo.port), of_pid(echo.pid), of_pid(pid)), 0)
        for sp in spans:
            self.assertNotIn("http.response.status_code", sp.attributes,
                             "the echo server sent no HTTP response: %r" % sp)
            self.assertEqual(sp.status_code, STATUS_ERROR, "unanswered request: %r" % sp)
        for kind in (SPAN_KIND_SERVER, SPAN_KIND_CLIENT):
            self.assertLessEqual(len([sp for sp in spans if sp.kind == kind]), 1, fmt(spans))
