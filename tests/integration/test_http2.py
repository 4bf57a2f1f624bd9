"""Plain HTTP/2 (h2c) observed by one unfiltered kspan: nghttpd (nghttp2-server)
answering curl --http2-prior-knowledge and nghttp (nghttp2-client)."""

import os
import re
import subprocess

import harness
from checks import CommonChecks, fmt, rand_hex
from harness import SPAN_KIND_CLIENT, SPAN_KIND_SERVER, is_client, is_server
from otlp_receiver import STATUS_ERROR, STATUS_UNSET

H2 = ["--http2-prior-knowledge"]


class Nghttpd:
    """nghttpd --no-tls serving a temp directory on a free port."""

    def __init__(self, timeout=10.0):
        self.dir = harness.tempdir("kspan-it-nghttpd-")
        with open(os.path.join(self.dir, "index.html"), "w") as f:
            f.write("<html>kspan h2</html>\n")
        self.big_size = 1024 * 1024 + 4321
        with open(os.path.join(self.dir, "big.bin"), "wb") as f:
            f.write(os.urandom(self.big_size))
        for _ in range(5):
            self.port = harness.free_port()
            self.proc = harness.spawn(["nghttpd", "--no-tls", "-a", "127.0.0.1", "-d", self.dir,
                                       str(self.port)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if harness.wait_port("127.0.0.1", self.port, timeout):
                break
            harness._kill(self.proc)
        else:
            raise AssertionError("nghttpd did not start")
        self.pid = self.proc.pid

    def url(self, path="/"):
        return "http://127.0.0.1:%d%s" % (self.port, path)


def nghttp(urls, extra=(), timeout=30.0):
    """nghttp (one connection, concurrent streams); returns (pid, rc, stdout)."""
    p = harness.spawn(["nghttp", "-n", "--no-dep"] + list(extra) + list(urls),
                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        harness._kill(p)
        raise AssertionError("nghttp %s hung" % urls)
    return p.pid, p.returncode, out.decode("utf-8", "replace")


class H2Checks(CommonChecks):

    def check_h2_span(self, s, kind, pid, port, path, status, method="GET"):
        self.assertEqual(s.kind, kind, repr(s))
        self.assertEqual(s.pid, pid, "span from the wrong process: %r" % s)
        self.assertEqual(s.name, "%s %s" % (method, path), repr(s))
        self.assert_attr(s, "http.request.method", method)
        self.assert_attr(s, "url.path", path)
        self.assert_attr(s, "url.scheme", "http")
        self.assert_attr(s, "http.response.status_code", status)
        self.assert_attr(s, "server.address", "127.0.0.1")
        self.assert_attr(s, "server.port", port)
        self.assert_attr(s, "network.peer.address", "127.0.0.1")
        self.assert_attr(s, "network.protocol.name", "http")
        self.assert_attr(s, "network.protocol.version", "2")
        self.assert_attr(s, "network.transport", "tcp")
        self.assertNotIn("kspan.http2.headers_partial", s.attributes, repr(s))
        self.assertNotIn("rpc.system", s.attributes, repr(s))
        if kind == SPAN_KIND_SERVER:
            self.assert_attr(s, "client.address", "127.0.0.1")
            self.assertEqual(s.status_code, STATUS_ERROR if status >= 500 else STATUS_UNSET,
                             repr(s))
        else:
            self.assert_attr(s, "network.peer.port", port)
            self.assert_attr(s, "url.full", "http://127.0.0.1:%d%s" % (port, path))
            self.assertEqual(s.status_code, STATUS_ERROR if status >= 400 else STATUS_UNSET,
                             repr(s))
        self.assertLessEqual(s.start_ns, s.end_ns, repr(s))
        self.assertEqual(s.dup_keys, [], "duplicate attribute keys in %r" % s)

    def exchange(self, srv, r, count=1):
        """`count` SERVER spans for curl r's connection and `count` CLIENT spans of curl r."""
        ctx = [("spans on port %d" % srv.port, harness.involves_port(srv.port))]
        ss = self.expect_spans(harness.is_server_conn(srv.port, r.local_port), count,
                               "SERVER spans of curl's connection", context=ctx)
        cs = self.expect_spans(is_client(srv.port, r.pid), count, "CLIENT spans of curl pid %d"
                               % r.pid, context=ctx)
        return ss, cs


class TestH2c(H2Checks, harness.SharedKspanCase):

    @classmethod
    def setUpServers(cls):
        cls.srv = Nghttpd()

    def test_curl_prior_knowledge_get(self):
        srv = self.srv
        r = harness.curl(srv.url("/index.html"), extra=H2)
        self.assertEqual((r.rc, r.http_code), (0, 200), r)
        (s,), (c,) = self.exchange(srv, r)
        self.check_h2_span(s, SPAN_KIND_SERVER, srv.pid, srv.port, "/index.html", 200)
        self.assert_attr(s, "network.peer.port", r.local_port)
        self.assertTrue(s.attr("user_agent.original", "").startswith("curl/"), repr(s))
        self.check_h2_span(c, SPAN_KIND_CLIENT, r.pid, srv.port, "/index.html", 200)
        # Both ends on this node (--propagation all): the SERVER stream is
        # the child of curl's CLIENT stream.
        self.assert_joined(s, c)
        self.check_covers(c, s)
        on_port = self.rx.spans(harness.involves_port(srv.port))
        self.assertEqual(len(on_port), 2, "nothing but these two spans:\n%s" % fmt(on_port))

    def test_status_404(self):
        srv = self.srv
        r = harness.curl(srv.url("/missing"), extra=H2)
        self.assertEqual((r.rc, r.http_code), (0, 404), r)
        (s,), (c,) = self.exchange(srv, r)
        self.check_h2_span(s, SPAN_KIND_SERVER, srv.pid, srv.port, "/missing", 404)
        self.check_h2_span(c, SPAN_KIND_CLIENT, r.pid, srv.port, "/missing", 404)
        self.assertEqual(s.status_code, STATUS_UNSET, repr(s))
        self.assertEqual(c.status_code, STATUS_ERROR, repr(c))
        self.assert_attr(c, "error.type", "404")

    def test_traceparent_parents_the_server_span(self):
        srv = self.srv
        trace, parent = rand_hex(32), rand_hex(16)
        r = harness.curl(srv.url("/index.html"), extra=H2,
                         headers=["traceparent: 00-%s-%s-01" % (trace, parent),
                                  "tracestate: vendor=1"])
        self.assertEqual((r.rc, r.http_code), (0, 200), r)
        (s,), (c,) = self.exchange(srv, r)
        self.check_h2_span(s, SPAN_KIND_SERVER, srv.pid, srv.port, "/index.html", 200)
        self.assertEqual((s.trace_id, s.parent_span_id), (trace, parent), repr(s))
        self.assertEqual(s.trace_state, "vendor=1", repr(s))
        self.assertEqual(s.flags & 0xff, 1, repr(s))
        # curl's own header is the context its request carries: the CLIENT
        # span belongs to the same trace (as for HTTP/1.x).
        self.assertEqual(c.trace_id, trace, repr(c))
        self.assertNotEqual(s.span_id, c.span_id)

    def test_several_paths_on_one_connection(self):
        srv = self.srv
        paths = {"/index.html": 200, "/missing": 404, "/big.bin": 200}
        pid, rc, out = nghttp([srv.url(p) for p in paths])
        self.assertEqual(rc, 0, out)
        ctx = [("spans on port %d" % srv.port, harness.involves_port(srv.port))]
        ss = self.expect_spans(is_server(srv.port, srv.pid), 3, "SERVER spans", context=ctx)
        cs = self.expect_spans(is_client(srv.port, pid), 3, "CLIENT spans of nghttp", context=ctx)
        for kind, spans, p in ((SPAN_KIND_SERVER, ss, srv.pid), (SPAN_KIND_CLIENT, cs, pid)):
            self.assertEqual(sorted(s.attr("url.path") for s in spans), sorted(paths), fmt(spans))
            for s in spans:
                path = s.attr("url.path")
                self.check_h2_span(s, kind, p, srv.port, path, paths[path])

    def test_large_response_spans_its_frames(self):
        srv = self.srv
        r = harness.curl(srv.url("/big.bin"), extra=H2)
        self.assertEqual((r.rc, r.http_code, r.size_download), (0, 200, srv.big_size), r)
        (s,), (c,) = self.exchange(srv, r)
        self.check_h2_span(s, SPAN_KIND_SERVER, srv.pid, srv.port, "/big.bin", 200)
        self.check_h2_span(c, SPAN_KIND_CLIENT, r.pid, srv.port, "/big.bin", 200)
        self.check_covers(c, s)

    def test_nghttp_concurrent_streams(self):
        srv = self.srv
        n = 20
        pid, rc, out = nghttp([srv.url("/index.html")], extra=["-m", str(n)])
        self.assertEqual(rc, 0, out)
        ctx = [("spans on port %d" % srv.port, harness.involves_port(srv.port))]
        ss = self.expect_spans(is_server(srv.port, srv.pid), n, "SERVER spans", context=ctx)
        cs = self.expect_spans(is_client(srv.port, pid), n, "CLIENT spans of nghttp", context=ctx)
        for s in ss:
            self.check_h2_span(s, SPAN_KIND_SERVER, srv.pid, srv.port, "/index.html", 200)
        for c in cs:
            self.check_h2_span(c, SPAN_KIND_CLIENT, pid, srv.port, "/index.html", 200)
        self.assertEqual(len({s.attr("network.peer.port") for s in ss}), 1,
                         "one connection: %s" % fmt(ss))
        self.assertEqual(len({s.span_id for s in ss + cs}), 2 * n, "distinct span ids")


RAW_SENDER = r"""
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
s.settimeout(2)
s.sendall(bytes.fromhex(sys.argv[3]))
time.sleep(0.3)
try:
    while s.recv(65536):
        pass
except OSError:
    pass
s.close()
"""


def frame(ftype, flags, stream, payload):
    n = len(payload)
    return bytes([n >> 16, (n >> 8) & 255, n & 255, ftype, flags]) + \
        stream.to_bytes(4, "big") + payload


PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
SETTINGS = frame(4, 0, 0, b"")


class TestH2BadInput(H2Checks, harness.KspanCase):
    """Bytes that are not (valid) HTTP/2 after a valid preface, sent to nghttpd
    by a raw client: counted, no span, no crash; the server keeps being traced."""

    def send_raw(self, port, data):
        p = harness.spawn([harness.PY, "-c", RAW_SENDER, "127.0.0.1", str(port), data.hex()],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, err = p.communicate(timeout=30)
        self.assertEqual(p.returncode, 0, err)
        return p.pid

    def test_garbage_truncated_and_undecodable(self):
        srv = Nghttpd()
        k = self.start_kspan(ports=[srv.port])
        cases = {
            # the first frame after the preface must be SETTINGS
            "garbage": PREFACE + b"this is not an HTTP/2 frame at all",
            # a HEADERS frame announcing 100 bytes, 10 sent, then the end
            "truncated": PREFACE + SETTINGS + frame(1, 4, 1, b"")[:5] + b"\0\0\0\1" +
            b"\x82" * 10,
            # HPACK index 62 of an empty dynamic table: the block cannot decode
            "undecodable": PREFACE + SETTINGS + frame(1, 5, 1, b"\xbe"),
        }
        # the truncated frame's length field says 100
        cases["truncated"] = cases["truncated"][:len(PREFACE + SETTINGS)] + b"\0\0\x64" + \
            cases["truncated"][len(PREFACE + SETTINGS) + 3:]
        pids = [self.send_raw(srv.port, data) for data in cases.values()]
        k.assert_alive()
        # the server is still traced correctly afterwards
        r = harness.curl(srv.url("/index.html"), extra=H2)
        self.assertEqual((r.rc, r.http_code), (0, 200), r)
        (s,), (c,) = self.exchange(srv, r)
        self.check_h2_span(s, SPAN_KIND_SERVER, srv.pid, srv.port, "/index.html", 200)
        spans = self.rx.spans(harness.involves_port(srv.port))
        self.assertEqual(len(spans), 2, "no span for the bad input:\n%s" % fmt(spans))
        self.assertEqual(self.rx.spans(harness.any_of(*[harness.of_pid(p) for p in pids])), [])
        k.stop()
        got = counters(k.log_text())
        self.assertIsNotNone(got, k.log_tail())
        # garbage: both ends of that connection lose the framing
        self.assertEqual(got["h2_framing_lost"], 2, got)
        # undecodable: the raw sender's HEADERS, read by nghttpd and written
        # by the sender (each end decodes its own copy)
        self.assertEqual(got["h2_header_decode_errors"], 2, got)
        self.assertEqual(got["spans_created"], 2, got)
        self.assertEqual(got["events_malformed"], 0, got)


def counters(log_text):
    lines = [ln for ln in log_text.splitlines() if ln.startswith("kspan: counters")]
    if not lines:
        return None
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", lines[-1])}


H2O_CONF = """\
user: root
listen:
  host: 127.0.0.1
  port: {port}
hosts:
  default:
    paths:
      /:
        file.dir: {dir}
access-log: /dev/null
"""


class TestH2cUpgrade(H2Checks, harness.SharedKspanCase):
    """curl --http2 against h2o: an HTTP/1.1 request with `Upgrade: h2c`, the
    101 response, then HTTP/2 on the same connection."""

    @classmethod
    def setUpServers(cls):
        cls.dir = harness.tempdir("kspan-it-h2o-")
        with open(os.path.join(cls.dir, "index.html"), "w") as f:
            f.write("<html>kspan h2o</html>\n")
        for _ in range(5):
            cls.port = harness.free_port()
            conf = os.path.join(cls.dir, "h2o.conf")
            with open(conf, "w") as f:
                f.write(H2O_CONF.format(port=cls.port, dir=cls.dir))
            cls.proc = harness.spawn(["h2o", "-c", conf], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
            if harness.wait_port("127.0.0.1", cls.port, 10):
                break
            harness._kill(cls.proc)
        else:
            raise AssertionError("h2o did not start")
        # h2o serves from a worker process of the same name
        cls.pids = {cls.proc.pid} | set(harness.proc_children(cls.proc.pid))

    def test_upgrade_then_http2(self):
        url = "http://127.0.0.1:%d/index.html" % self.port
        r = harness.curl([url, url], extra=["--http2"])
        self.assertEqual(r.rc, 0, r)
        self.assertEqual([t[0] for t in r.transfers], [200, 200], r)
        ss, cs = self.exchange(self, r, count=2)
        # The upgrade request is an HTTP/1.1 exchange answered by 101 (its
        # real response goes out on HTTP/2 stream 1, after the switch).
        for s in (ss[0], cs[0]):
            self.assert_attr(s, "network.protocol.version", "1.1")
            self.assert_attr(s, "http.response.status_code", 101)
            self.assertIn(s.pid, self.pids | {r.pid}, repr(s))
        # The second request is HTTP/2 stream 3. The server wrote its first
        # HTTP/2 frames together with the 101: that direction's header
        # decoding started blind, so those spans are marked partial, and
        # carry only what the static table and literals give.
        s, c = ss[1], cs[1]
        self.assertIn(s.pid, self.pids, repr(s))
        self.assertEqual(c.pid, r.pid, repr(c))
        # requests: the client's direction began with the preface (decoded
        # in full); responses: the server's direction did not.
        for sp in (s, c):
            self.assert_attr(sp, "network.protocol.version", "2")
            self.assert_attr(sp, "http.request.method", "GET")
            self.assert_attr(sp, "url.path", "/index.html")
            self.assert_attr(sp, "kspan.http2.headers_partial", True)
        self.assert_attr(s, "http.response.status_code", 200)
