"""gRPC over h2c between python3-grpcio peers, observed by one unfiltered kspan:
unary, server-, client- and bidirectional streaming calls, error statuses,
100 concurrent streams on one connection, messages larger than a frame."""

import os
import subprocess
import json

import harness
from checks import CommonChecks, fmt, rand_hex
from harness import SPAN_KIND_CLIENT, SPAN_KIND_SERVER, is_client, is_server
from otlp_receiver import STATUS_ERROR, STATUS_UNSET

SERVICE = "kspan.test.Echo"
# grpc status codes (https://grpc.github.io/grpc/core/md_doc_statuscodes.html)
CODES = {"OK": 0, "DEADLINE_EXCEEDED": 4, "NOT_FOUND": 5, "INTERNAL": 13}


def grpc_server():
    return harness.ScriptServer("grpc_server.py")


def counter(metrics, name):
    return int(metrics.get("kspan_%s_total" % name, -1))


# HTTP/2 requests sent without kspan's traceparent, each counted once under
# one of these (bpf/propagation/http2_tx.bpf.h).
H2_NOT_INJECTED = ("h2_inject_skipped_own", "h2_inject_skipped_unfit",
                   "h2_inject_skipped_unreached", "h2_inject_skipped_mismatch",
                   "h2_requests_undecided", "traceparent_inject_failed")


def metrics_delta(kspan, before, names):
    after = kspan.metrics()
    return {n: counter(after, n) - counter(before, n) for n in names}


def check_counted(test, m0, missing, injected):
    """kspan's contract for HTTP/2 insertion: at most one traceparent per
    request (the caller checks), and the requests sent without kspan's are
    exactly those counted as not injected, on connections the kernel
    followed throughout (none given up). Counters are read from the
    kernel about once a second: waits until the injected ones show."""
    names = H2_NOT_INJECTED + ("h2_traceparent_injected", "h2_client_conns_unfollowed",
                               "h2_client_conns_desynced")
    harness.wait_until(lambda: sum(metrics_delta(test.kspan, m0, names[:-2]).values())
                       >= missing + injected, 10)
    delta = metrics_delta(test.kspan, m0, names)
    test.assertEqual(delta["h2_traceparent_injected"], injected, delta)
    # Under load the kernel may see bytes leave that its frame walk did not
    # (a write whose exit it missed: desynced) or a write whose frames its
    # walk cannot follow (more than 512 frames in one write: unfollowed), and
    # give the connection up for good: safe and counted, but the requests
    # written after that are counted per connection, not per request. Only
    # the one connection may be given up. (The unfollowed give-up a
    # fresh-clone run of test_100_concurrent_streams_on_one_connection saw, a
    # partial sendmsg that ended inside a frame header, is followed since:
    # the walk keeps the header's first bytes for the next write.)
    given_up = delta["h2_client_conns_desynced"] + delta["h2_client_conns_unfollowed"]
    test.assertLessEqual(given_up, 1, delta)
    if given_up == 0:
        test.assertEqual(sum(delta[n] for n in H2_NOT_INJECTED), missing, delta)
    else:
        test.assertLessEqual(sum(delta[n] for n in H2_NOT_INJECTED), missing, delta)


NODE_PATH = os.path.join(harness.REPO, "build", "npm", "node_modules")
JS_PEER = os.path.join(harness.SERVERS, "grpc_js_peer.js")


def node_env():
    if not os.path.isdir(os.path.join(NODE_PATH, "@grpc", "grpc-js")):
        raise AssertionError("@grpc/grpc-js is not installed under %s: run `make test-deps`"
                             % NODE_PATH)
    return dict(os.environ, NODE_PATH=NODE_PATH)


class JsServer(harness.ScriptServer):
    """grpc_js_peer.js server (@grpc/grpc-js); prints `READY <port>`."""

    def __init__(self, timeout=20.0):
        self.host = "127.0.0.1"
        self.proc = harness.spawn(["node", JS_PEER, "server", "--host", self.host],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                  env=node_env())
        self.pid = self.proc.pid
        line = harness._readline_timeout(self.proc.stdout, timeout)
        if not line.startswith(b"READY "):
            harness._kill(self.proc)
            raise AssertionError("grpc_js_peer.js server did not start (got %r)" % line)
        self.port = int(line.split()[1])
        self.names = harness.proc_names(self.pid)


def js_client(port, scenario, *args, timeout=60.0):
    """grpc_js_peer.js client; returns (pid, result dict)."""
    return _run_client(["node", JS_PEER, "client"], port, scenario, args, timeout, node_env())


def python_client(port, scenario, *args, timeout=60.0, host="127.0.0.1", netns=None, ca=None):
    """clients/grpc_client.py to host:port (from network namespace netns;
    over TLS checked against CA file ca); returns (pid, result dict)."""
    return _run_client(harness.netns_prefix(netns) +
                       [harness.PY, os.path.join(harness.CLIENTS, "grpc_client.py")] +
                       (["--ca", ca] if ca else []), port, scenario, args, timeout, None, host)


def _run_client(argv, port, scenario, args, timeout, env, host="127.0.0.1"):
    p = harness.spawn(argv + ["%s:%d" % (host, port), scenario] + [str(a) for a in args],
                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        harness._kill(p)
        raise AssertionError("grpc client %s %s hung" % (scenario, args))
    try:
        res = json.loads(out.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise AssertionError("grpc client %s %s failed rc=%s: %s"
                             % (scenario, args, p.returncode, err.decode("utf-8", "replace")))
    return p.pid, res


class GrpcChecks(CommonChecks):

    ua = "grpc-python/"  # the client's user agent prefix

    def check_grpc_span(self, s, kind, pid, port, method, code, error=None, scheme="http"):
        """One call's span; `error` overrides the semconv error rule (for
        calls that end without a status)."""
        self.assertEqual(s.kind, kind, repr(s))
        self.assertEqual(s.pid, pid, "span from the wrong process: %r" % s)
        self.assertEqual(s.name, "%s/%s" % (SERVICE, method), repr(s))
        self.assert_attr(s, "rpc.system", "grpc")
        self.assert_attr(s, "rpc.service", SERVICE)
        self.assert_attr(s, "rpc.method", method)
        self.assert_attr(s, "http.request.method", "POST")
        self.assert_attr(s, "url.path", "/%s/%s" % (SERVICE, method))
        self.assert_attr(s, "url.scheme", scheme)
        self.assert_attr(s, "server.port", port)
        self.assert_attr(s, "network.protocol.version", "2")
        self.assert_attr(s, "network.peer.address", "127.0.0.1")
        self.assertNotIn("kspan.http2.headers_partial", s.attributes, repr(s))
        self.assertTrue(s.attr("user_agent.original", "").startswith(self.ua), repr(s))
        if code is None:
            self.assertNotIn("rpc.grpc.status_code", s.attributes, repr(s))
        else:
            self.assert_attr(s, "rpc.grpc.status_code", code)
            self.assert_attr(s, "http.response.status_code", 200)
        if error is None:
            server_errors = (2, 4, 12, 13, 14, 15)
            error = code in server_errors if kind == SPAN_KIND_SERVER else code != 0
        self.assertEqual(s.status_code, STATUS_ERROR if error else STATUS_UNSET, repr(s))
        if kind == SPAN_KIND_SERVER:
            self.assert_attr(s, "client.address", "127.0.0.1")
        else:
            self.assert_attr(s, "network.peer.port", port)
        self.assertLessEqual(s.start_ns, s.end_ns, repr(s))
        self.assertEqual(s.dup_keys, [], "duplicate attribute keys in %r" % s)

    def calls(self, srv, cli_pid, n):
        """n SERVER spans of the server and n CLIENT spans of the client."""
        ctx = [("spans on port %d" % srv.port, harness.involves_port(srv.port))]
        ss = self.expect_spans(is_server(srv.port, srv.pid), n, "SERVER spans", context=ctx)
        cs = self.expect_spans(is_client(srv.port, cli_pid), n, "CLIENT spans of pid %d"
                               % cli_pid, context=ctx)
        return ss, cs


class TestGrpcPython(GrpcChecks, harness.SharedKspanCase):

    @classmethod
    def setUpServers(cls):
        cls.srv = grpc_server()

    def test_unary_ok(self):
        srv = self.srv
        pid, res = python_client(srv.port, "unary", 3, 10)
        self.assertEqual(res["codes"], ["OK"] * 3, res)
        ss, cs = self.calls(srv, pid, 3)
        for s in ss:
            self.check_grpc_span(s, SPAN_KIND_SERVER, srv.pid, srv.port, "Unary", 0)
        for c in cs:
            self.check_grpc_span(c, SPAN_KIND_CLIENT, pid, srv.port, "Unary", 0)
            self.assert_ids(c, root=True)
        self.assertEqual(len({s.attr("network.peer.port") for s in ss}), 1, "one connection")
        for s, c in zip(ss, cs):
            self.check_covers(c, s)
        on_port = self.rx.spans(harness.involves_port(srv.port))
        self.assertEqual(len(on_port), 6, "nothing but these spans:\n%s" % fmt(on_port))

    def test_error_statuses(self):
        srv = self.srv
        for name in ("NOT_FOUND", "INTERNAL"):
            with self.subTest(status=name):
                self.rx.clear()
                pid, res = python_client(srv.port, "status", name)
                self.assertEqual(res["codes"], [name], res)
                (s,), (c,) = self.calls(srv, pid, 1)
                self.check_grpc_span(s, SPAN_KIND_SERVER, srv.pid, srv.port, "Unary",
                                     CODES[name])
                self.check_grpc_span(c, SPAN_KIND_CLIENT, pid, srv.port, "Unary", CODES[name])
                # NOT_FOUND is the caller's problem: no error on the server.
                self.assertEqual(s.status_code,
                                 STATUS_ERROR if name == "INTERNAL" else STATUS_UNSET, repr(s))
                self.assertEqual(c.status_code, STATUS_ERROR, repr(c))
                self.assert_attr(c, "error.type", name)

    def test_deadline_exceeded(self):
        srv = self.srv
        pid, res = python_client(srv.port, "deadline", 300, 1500)
        self.assertEqual(res["codes"], ["DEADLINE_EXCEEDED"], res)
        (s,), (c,) = self.calls(srv, pid, 1)
        # Both runtimes enforce the deadline (grpc-timeout): the server's
        # answers DEADLINE_EXCEEDED (trailers-only), the client's resets the
        # stream (RST_STREAM CANCEL). Which comes first is a race; each span
        # shows the one its process saw first, always as an error.
        for sp, pid_, kind in ((s, srv.pid, SPAN_KIND_SERVER), (c, pid, SPAN_KIND_CLIENT)):
            if "rpc.grpc.status_code" in sp.attributes:
                self.check_grpc_span(sp, kind, pid_, srv.port, "Unary", 4)
                self.assert_attr(sp, "error.type", "DEADLINE_EXCEEDED")
            else:
                self.check_grpc_span(sp, kind, pid_, srv.port, "Unary", None, error=True)
                self.assert_attr(sp, "error.type", "rst_stream")
                self.assertEqual(sp.status_message, "stream reset (RST_STREAM CANCEL)", repr(sp))
        # No bound on the duration: grpc's 300 ms run from the call's start,
        # the span from its HEADERS, which a cold channel writes later.

    def test_server_streaming_large_messages(self):
        srv = self.srv
        pid, res = python_client(srv.port, "server_stream", 4, 100000)
        self.assertEqual((res["codes"], res["sizes"]), (["OK"], [400000]), res)
        (s,), (c,) = self.calls(srv, pid, 1)
        self.check_grpc_span(s, SPAN_KIND_SERVER, srv.pid, srv.port, "ServerStream", 0)
        self.check_grpc_span(c, SPAN_KIND_CLIENT, pid, srv.port, "ServerStream", 0)
        self.check_covers(c, s)

    def test_client_streaming(self):
        srv = self.srv
        pid, res = python_client(srv.port, "client_stream", 5, 40000)
        self.assertEqual(res["codes"], ["OK"], res)
        (s,), (c,) = self.calls(srv, pid, 1)
        self.check_grpc_span(s, SPAN_KIND_SERVER, srv.pid, srv.port, "ClientStream", 0)
        self.check_grpc_span(c, SPAN_KIND_CLIENT, pid, srv.port, "ClientStream", 0)
        self.check_covers(c, s)

    def test_bidi_streaming(self):
        srv = self.srv
        pid, res = python_client(srv.port, "bidi", 5, 30000)
        self.assertEqual((res["codes"], res["sizes"]), (["OK"], [150000]), res)
        (s,), (c,) = self.calls(srv, pid, 1)
        self.check_grpc_span(s, SPAN_KIND_SERVER, srv.pid, srv.port, "Bidi", 0)
        self.check_grpc_span(c, SPAN_KIND_CLIENT, pid, srv.port, "Bidi", 0)
        self.check_covers(c, s)

    def test_100_concurrent_streams_on_one_connection(self):
        """Each call's HEADERS frame gets its own CLIENT span's traceparent,
        although grpcio writes many of them in one sendmsg() - except the
        calls beyond the 64 new streams the kernel plans per write (a
        grpcio writer thread delayed by a busy CPU puts more in one
        sendmsg: 78 of 100 were seen), which are counted
        (h2_requests_undecided) and still get correct spans, joined on this
        node by the connection's tuple."""
        srv = self.srv
        m0 = self.kspan.metrics()
        pid, res = python_client(srv.port, "tp_concurrent", 100)
        self.assertEqual(res["codes"], ["OK"] * 100, res)
        self.assertEqual(res["intact"], [True] * 100, "replies changed in transit: %r" % res)
        ss, cs = self.calls(srv, pid, 100)
        for s in ss:
            self.check_grpc_span(s, SPAN_KIND_SERVER, srv.pid, srv.port, "Unary", 0)
        for c in cs:
            self.check_grpc_span(c, SPAN_KIND_CLIENT, pid, srv.port, "Unary", 0)
        self.assertEqual(len({s.attr("network.peer.port") for s in ss}), 1,
                         "one connection: %s" % fmt(ss))
        self.assertEqual(len({s.span_id for s in ss + cs}), 200, "distinct span ids")
        self.check_injected(res["tps"], ss, cs, m0)

    def check_injected(self, received, ss, cs, m0=None):
        """Every call's server received at most one traceparent, naming a
        distinct kspan CLIENT span, and kspan's SERVER span is that span's
        child. With m0 (metrics before the calls), calls may have received
        none: exactly as many as kspan counted as not injected; else every
        call must have received one."""
        m = self.kspan.metrics() if self.kspan is not None else {}
        h2 = {k: v for k, v in m.items() if "h2_" in k}
        for tps in received:
            self.assertIn(len(tps), (0, 1) if m0 is not None else (1,),
                          "traceparents received per call: %r\nkspan: %r" % (received, h2))
        got = [t[0] for t in received if t]
        if m0 is not None:
            check_counted(self, m0, len(received) - len(got), len(got))
        by_tp = {"00-%s-%s-01" % (c.trace_id, c.span_id): c for c in cs}
        self.assertEqual(len(set(got)), len(got), "a traceparent received twice: %r" % got)
        self.assertTrue(set(got) <= set(by_tp),
                        "received traceparents vs kspan CLIENT spans:\n%s" % fmt(cs))
        by_id = {c.span_id: c for c in cs}
        for s in ss:
            self.assertIn(s.parent_span_id, by_id, "SERVER span without its CLIENT: %r" % s)
            self.assert_joined(s, by_id[s.parent_span_id])
        self.assertEqual(len({s.parent_span_id for s in ss}), len(ss), fmt(ss))

    def test_traceparent_injected_unary_large_and_bidi(self):
        """Unary calls with 20 KB messages (DATA beyond one 16 KiB frame,
        written with the HEADERS), and a bidi call: the server receives
        kspan's traceparent, and every byte of the calls intact."""
        srv = self.srv
        pid, res = python_client(srv.port, "tp", 2, 20000)
        self.assertEqual((res["codes"], res["intact"]), (["OK"] * 2, [True] * 2), res)
        ss, cs = self.calls(srv, pid, 2)
        self.check_injected(res["tps"], ss, cs)
        self.rx.clear()
        pid, res = python_client(srv.port, "tp_bidi", 3, 30000)
        self.assertEqual((res["codes"], res["intact"], res["sizes"]),
                         (["OK"], [True], [90003]), res)
        (s,), (c,) = self.calls(srv, pid, 1)
        self.check_grpc_span(s, SPAN_KIND_SERVER, srv.pid, srv.port, "Bidi", 0)
        self.check_grpc_span(c, SPAN_KIND_CLIENT, pid, srv.port, "Bidi", 0)
        self.check_injected(res["tps"], [s], [c])

    def test_own_traceparent_is_never_replaced(self):
        """A client that sends its own traceparent: the server sees only
        that one (also on the connection's later calls, whose HPACK encoder
        names it from its dynamic table), and both spans continue it."""
        srv = self.srv
        own_trace, own_parent = rand_hex(32), rand_hex(16)
        own = "00-%s-%s-01" % (own_trace, own_parent)
        before = counter(self.kspan.metrics(), "h2_inject_skipped_own")
        pid, res = python_client(srv.port, "tp", 2, 10, own)
        self.assertEqual((res["codes"], res["intact"]), (["OK"] * 2, [True] * 2), res)
        self.assertEqual(res["tps"], [[own], [own]], res)
        ss, cs = self.calls(srv, pid, 2)
        for sp in ss + cs:
            self.assertEqual((sp.trace_id, sp.parent_span_id), (own_trace, own_parent), repr(sp))
        # At least these two: the shared kspan also sees other processes.
        harness.wait_until(lambda: counter(self.kspan.metrics(), "h2_inject_skipped_own")
                           >= before + 2, 10)
        self.assertGreaterEqual(counter(self.kspan.metrics(), "h2_inject_skipped_own"),
                                before + 2)

    def test_header_block_in_continuation_frames_is_left_alone(self):
        """Requests whose header block does not fit one frame (24 KB of
        metadata, sent as a literal each time: HEADERS + CONTINUATION) are
        not injected, and arrive intact. Counted."""
        srv = self.srv
        m0 = self.kspan.metrics()
        pid, res = python_client(srv.port, "tp", 2, 10, "big:24000")
        self.assertEqual((res["codes"], res["intact"]), (["OK"] * 2, [True] * 2), res)
        self.assertEqual(res["tps"], [[], []], res)
        ss, cs = self.calls(srv, pid, 2)
        for c in cs:
            self.check_grpc_span(c, SPAN_KIND_CLIENT, pid, srv.port, "Unary", 0)
        # At least these: the shared kspan also sees other processes.
        want = counter(m0, "h2_inject_skipped_unfit") + 2
        harness.wait_until(lambda: counter(self.kspan.metrics(), "h2_inject_skipped_unfit")
                           >= want, 10)
        self.assertGreaterEqual(counter(self.kspan.metrics(), "h2_inject_skipped_unfit"), want)

    def test_grpc_call_while_serving_http_is_its_child(self):
        """An HTTP/1 server thread that makes a gRPC call while serving: the
        call's CLIENT span is the SERVER span's child, and the gRPC server
        received that CLIENT span's traceparent. grpcio writes a call's
        HEADERS from the calling thread once its channel is connected; a
        call that starts the connection is written by a grpcio thread when
        the connection is up, which serves nothing: that first call is not
        asserted."""
        srv = self.srv
        hg = harness.ScriptServer.__new__(harness.ScriptServer)
        hg.host = "127.0.0.1"
        hg.proc = harness.spawn([harness.PY, os.path.join(harness.SERVERS,
                                                          "http_grpc_server.py"),
                                 "--grpc", "127.0.0.1:%d" % srv.port],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        hg.pid = hg.proc.pid
        line = harness._readline_timeout(hg.proc.stdout, 20.0)
        self.assertTrue(line.startswith(b"READY "), line)
        hg.port = int(line.split()[1])
        warm = harness.curl([hg.url("/shared")], output=os.path.join(harness.tempdir(), "w"))
        self.assertEqual(warm.rc, 0, warm)
        self.expect_spans(is_client(srv.port, hg.pid), 1, "the warm-up's gRPC CLIENT span")
        self.rx.clear()
        out = os.path.join(harness.tempdir(), "body")
        r = harness.curl([hg.url("/shared")], output=out)
        self.assertEqual(r.rc, 0, r)
        with open(out) as f:
            received = json.loads(f.read())
        (hs,) = self.expect_spans(is_server(hg.port, hg.pid), 1, "HTTP SERVER span")
        (gc,) = self.expect_spans(is_client(srv.port, hg.pid), 1, "gRPC CLIENT span")
        (gs,) = self.expect_spans(is_server(srv.port, srv.pid), 1, "gRPC SERVER span")
        self.check_grpc_span(gc, SPAN_KIND_CLIENT, hg.pid, srv.port, "Unary", 0)
        self.assertEqual((gc.trace_id, gc.parent_span_id), (hs.trace_id, hs.span_id),
                         "gRPC CLIENT span not the child of the HTTP SERVER span:\n %r\n %r"
                         % (gc, hs))
        self.assertEqual(received, ["00-%s-%s-01" % (gc.trace_id, gc.span_id)])
        self.assertEqual((gs.trace_id, gs.parent_span_id), (gc.trace_id, gc.span_id), repr(gs))


class TestGrpcNoHeaderPropagation(GrpcChecks, harness.KspanCase):
    """--propagation tuple: no traceparent is written into HTTP/2 requests."""

    def test_nothing_injected(self):
        srv = grpc_server()
        k = self.start_kspan(ports=[srv.port], extra_args=["--propagation", "tuple"])
        pid, res = python_client(srv.port, "tp", 2, 10)
        self.assertEqual((res["codes"], res["intact"]), (["OK"] * 2, [True] * 2), res)
        self.assertEqual(res["tps"], [[], []], res)
        ss, cs = self.calls(srv, pid, 2)
        k.stop()
        stats = k.log_text().strip().splitlines()[-1]
        for name in ("h2_traceparent_injected", "h2_inject_skipped_unfit",
                     "h2_inject_skipped_unreached", "traceparent_inject_failed"):
            self.assertIn(" %s=0" % name, stats)


class TestGrpcJs(GrpcChecks, harness.SharedKspanCase):
    """@grpc/grpc-js on both ends, and each runtime talking to the other."""

    ua = "grpc-node-js/"

    @classmethod
    def setUpServers(cls):
        cls.srv = JsServer()

    def test_unary_ok_and_errors(self):
        srv = self.srv
        pid, res = js_client(srv.port, "unary", 2, 10)
        self.assertEqual(res["codes"], ["OK"] * 2, res)
        ss, cs = self.calls(srv, pid, 2)
        for s, c in zip(ss, cs):
            self.check_grpc_span(s, SPAN_KIND_SERVER, srv.pid, srv.port, "Unary", 0)
            self.check_grpc_span(c, SPAN_KIND_CLIENT, pid, srv.port, "Unary", 0)
            self.check_covers(c, s)
        for name in ("NOT_FOUND", "INTERNAL"):
            with self.subTest(status=name):
                self.rx.clear()
                pid, res = js_client(srv.port, "status", name)
                self.assertEqual(res["codes"], [name], res)
                (s,), (c,) = self.calls(srv, pid, 1)
                self.check_grpc_span(s, SPAN_KIND_SERVER, srv.pid, srv.port, "Unary",
                                     CODES[name])
                self.check_grpc_span(c, SPAN_KIND_CLIENT, pid, srv.port, "Unary", CODES[name])
                self.assert_attr(c, "error.type", name)

    def test_deadline_exceeded(self):
        srv = self.srv
        pid, res = js_client(srv.port, "deadline", 300, 1500)
        self.assertEqual(res["codes"], ["DEADLINE_EXCEEDED"], res)
        (s,), (c,) = self.calls(srv, pid, 1)
        for sp, pid_, kind in ((s, srv.pid, SPAN_KIND_SERVER), (c, pid, SPAN_KIND_CLIENT)):
            self.assertEqual(sp.status_code, STATUS_ERROR, repr(sp))
            if "rpc.grpc.status_code" in sp.attributes:
                self.check_grpc_span(sp, kind, pid_, srv.port, "Unary", 4)
            else:
                self.check_grpc_span(sp, kind, pid_, srv.port, "Unary", None, error=True)
                self.assert_attr(sp, "error.type", "rst_stream")

    def test_streaming_calls_with_large_messages(self):
        srv = self.srv
        for scenario, method, want in (("server_stream", "ServerStream", 4 * 70000),
                                       ("client_stream", "ClientStream", None),
                                       ("bidi", "Bidi", 4 * 70000)):
            with self.subTest(scenario=scenario):
                self.rx.clear()
                pid, res = js_client(srv.port, scenario, 4, 70000)
                self.assertEqual(res["codes"], ["OK"], res)
                if want is not None:
                    self.assertEqual(res["sizes"], [want], res)
                (s,), (c,) = self.calls(srv, pid, 1)
                self.check_grpc_span(s, SPAN_KIND_SERVER, srv.pid, srv.port, method, 0)
                self.check_grpc_span(c, SPAN_KIND_CLIENT, pid, srv.port, method, 0)
                self.check_covers(c, s)

    def test_100_concurrent_streams_on_one_connection(self):
        srv = self.srv
        pid, res = js_client(srv.port, "concurrent", 100)
        self.assertEqual(res["codes"], ["OK"] * 100, res)
        ss, cs = self.calls(srv, pid, 100)
        for s in ss:
            self.check_grpc_span(s, SPAN_KIND_SERVER, srv.pid, srv.port, "Unary", 0)
        for c in cs:
            self.check_grpc_span(c, SPAN_KIND_CLIENT, pid, srv.port, "Unary", 0)
        self.assertEqual(len({s.attr("network.peer.port") for s in ss}), 1, fmt(ss))

    def test_python_client_to_node_server(self):
        srv = self.srv
        self.ua = "grpc-python/"
        pid, res = python_client(srv.port, "status", "NOT_FOUND")
        self.assertEqual(res["codes"], ["NOT_FOUND"], res)
        (s,), (c,) = self.calls(srv, pid, 1)
        self.check_grpc_span(s, SPAN_KIND_SERVER, srv.pid, srv.port, "Unary", 5)
        self.check_grpc_span(c, SPAN_KIND_CLIENT, pid, srv.port, "Unary", 5)

    def test_node_client_to_python_server(self):
        srv = grpc_server()
        pid, res = js_client(srv.port, "unary", 1, 100000)
        self.assertEqual(res["codes"], ["OK"], res)
        (s,), (c,) = self.calls(srv, pid, 1)
        self.check_grpc_span(s, SPAN_KIND_SERVER, srv.pid, srv.port, "Unary", 0)
        self.check_grpc_span(c, SPAN_KIND_CLIENT, pid, srv.port, "Unary", 0)


class TestGrpcAdopted(GrpcChecks, harness.KspanCase):
    """A gRPC connection opened before kspan started: its HPACK state is
    unknown, so its spans carry only what does not depend on the dynamic
    table, marked kspan.http2.headers_partial."""

    def test_connection_older_than_kspan(self):
        srv = grpc_server()
        p = harness.spawn([harness.PY, os.path.join(harness.CLIENTS, "grpc_client.py"),
                           "127.0.0.1:%d" % srv.port, "after_line", "2", "10"],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = harness._readline_timeout(p.stdout, 30)
        self.assertEqual(line, b"CONNECTED\n")
        self.start_kspan(ports=[srv.port])
        p.stdin.write(b"go\n")
        p.stdin.flush()
        out, err = p.communicate(timeout=60)
        res = json.loads(out.decode().strip().splitlines()[-1])
        self.assertEqual(res["codes"], ["OK", "OK"], (res, err))
        ss, cs = self.calls(srv, p.pid, 2)
        for s, kind, pid in [(s, SPAN_KIND_SERVER, srv.pid) for s in ss] + \
                [(c, SPAN_KIND_CLIENT, p.pid) for c in cs]:
            self.assertEqual(s.kind, kind, repr(s))
            self.assertEqual(s.pid, pid, repr(s))
            self.assert_attr(s, "kspan.http2.headers_partial", True)
            self.assert_attr(s, "network.protocol.version", "2")
            # static-table fields survive: :method POST, :status 200
            self.assert_attr(s, "http.request.method", "POST")
            self.assert_attr(s, "http.response.status_code", 200)
            self.assertEqual(s.name, "POST", repr(s))
            # what only the dynamic table knows is left out, never guessed
            for key in ("url.path", "rpc.method", "rpc.service", "user_agent.original"):
                self.assertNotIn(key, s.attributes, repr(s))
            self.assertEqual(s.status_code, STATUS_UNSET, repr(s))
        for s, c in zip(ss, cs):
            self.check_covers(c, s)
