"""Pass-through proxies (README "Connected traces"): a proxy that forwards
the traceparent of the request it serves. kspan makes the proxy's CLIENT
span the child of its SERVER span and rewrites, in place, the 16 hex digits
of the forwarded header's parent-id to the CLIENT span's id, so that the
backend's SERVER span is the CLIENT's child: 4-span chains
curl.CLIENT -> proxy.SERVER -> proxy.CLIENT -> python.SERVER for 8 parallel
clients x 15 unique paths, none linked to another request's spans. Without
insertion (--propagation tuple) the same chains come from the same-node
join. A header the proxy changes in another byte, or a traceparent two
requests of the process carry at once, is left alone and counted."""

import os
import subprocess
import uuid

import chains
import harness
from harness import SPAN_KIND_CLIENT, SPAN_KIND_SERVER

TOTAL = chains.CLIENTS * chains.REQUESTS


class LogBackend(harness.ScriptServer):
    """The python backend; .arrived() is {path: (traceparent, count)}."""

    def __init__(self):
        self.log_path = os.path.join(harness.tempdir("kspan-it-tplog-"), "arrived.log")
        super().__init__("traceparent_log_server.py", args=("--log", self.log_path))

    def arrived(self):
        out = {}
        with open(self.log_path) as f:
            for line in f:
                path, tp, n = line.split()
                out[path] = (None if tp == "-" else tp, int(n))
        return out


def nginx_proxy(backend, keepalive, header=None):
    """nginx forwarding /proxy/ to backend (the URI kept), over upstream
    keep-alive connections or one connection per request (HTTP/1.0);
    header: a proxy_set_header traceparent value (a proxy that changes it)."""
    if keepalive:
        http_extra = ("upstream passthrough_backend { server 127.0.0.1:%d; keepalive 16; }"
                      % backend.port)
        loc = ("location /proxy/ { proxy_pass http://passthrough_backend; "
               "proxy_http_version 1.1; proxy_set_header Connection \"\"; %s}")
    else:
        http_extra = ""
        loc = "location /proxy/ { proxy_pass http://127.0.0.1:%d; %%s}" % backend.port
    extra = loc % ("proxy_set_header traceparent \"%s\"; " % header if header is not None else "")
    return harness.Nginx(extra=extra, http_extra=http_extra)


HAPROXY_CONF = """\
global
    maxconn 256
    {global_extra}
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    option http-keep-alive
frontend fe
    bind 127.0.0.1:{port}
    {frontend_extra}
    default_backend be
backend be
    http-reuse always
    server s1 127.0.0.1:{backend}
"""


class Haproxy:
    """haproxy (one process, foreground) as an HTTP pass-through proxy."""

    def __init__(self, backend, frontend_extra="", global_extra=""):
        d = harness.tempdir("kspan-it-haproxy-")
        for _ in range(5):
            self.port = harness.free_port()
            conf = os.path.join(d, "haproxy.cfg")
            with open(conf, "w") as f:
                f.write(HAPROXY_CONF.format(port=self.port, backend=backend.port,
                                            frontend_extra=frontend_extra,
                                            global_extra=global_extra))
            self.proc = harness.spawn(["haproxy", "-db", "-f", conf],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if harness.wait_port("127.0.0.1", self.port, 10.0):
                break
            harness._kill(self.proc)
        else:
            raise AssertionError("haproxy did not start")
        self.pid = self.proc.pid

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)


def own_traceparent(tok):
    """A traceparent of the test's own per token: trace and parent unique."""
    h = uuid.uuid5(uuid.NAMESPACE_URL, "kspan-proxy-" + tok).hex
    return "00-%s-%s-01" % (h, h[:16])


class ProxyChainCase(harness.KspanCase):

    def metric(self, name):
        return self.kspan.metrics().get("kspan_%s_total" % name, 0)

    def run_chains(self, what, proxy_pids, url_of_token, backend, own_header=False):
        pids = chains.send_parallel(
            url_of_token, headers_of=(lambda tok: ["traceparent: " + own_traceparent(tok)])
            if own_header else None)
        levels = [chains.Level("curl CLIENT", SPAN_KIND_CLIENT, set(pids.values())),
                  chains.Level("proxy SERVER", SPAN_KIND_SERVER, proxy_pids),
                  chains.Level("proxy CLIENT", SPAN_KIND_CLIENT, proxy_pids),
                  chains.Level("python SERVER", SPAN_KIND_SERVER, backend.pid)]
        root = None
        if own_header:
            # curl's span and the proxy's SERVER span are both children of
            # curl's own traceparent (kspan never replaces an application's
            # own): the chain starts at the proxy.
            levels = levels[1:]
            root = lambda tok: own_traceparent(tok).split("-")[2]  # noqa: E731
        rep = chains.wait_chains(self, levels, sorted(pids), root_parent_of=root)
        chains.print_share(rep, what)
        return rep, levels

    def assert_all_complete(self, rep):
        self.assertEqual(rep.wrong, [], chains.describe(rep))
        self.assertEqual(len(rep.complete), TOTAL, chains.describe(rep))

    def assert_complete_or_unlinked(self, rep, levels):
        """With insertion on: every chain complete, or exactly the shape of a
        request kspan did not link (the proxy CLIENT and the backend SERVER
        both children of curl's CLIENT span, as the forwarded header says).
        kspan's own insertion can make curl's request reach the proxy in two
        reads, the traceparent in the second: the kernel then never saw the
        header it would match (measured: 1 request of 120, now and then). No
        wrong link, ever; nearly all complete."""
        self.assertEqual(rep.wrong, [], chains.describe(rep))
        received = self.rx.spans()
        spans, per_level = {}, chains.spans_per_level(received, levels)
        for s in received:
            for n, lv in enumerate(levels):
                if lv.matches(s):
                    spans[(n, chains.token_of(s))] = s
        for tok in rep.incomplete:
            got = [spans.get((n, tok)) for n in range(4)]
            # A missing span: lost (what did the agent count?) or made with
            # another request's path (a level then holds 120 spans anyway)?
            self.assertTrue(all(got), "%s\nspans per level %s\ncounters: %s" % (
                chains.describe(rep), per_level, self.kspan.counters_nonzero()))
            curl, proxy_cli, backend_srv = got[0], got[2], got[3]
            self.assertEqual((proxy_cli.parent_span_id, backend_srv.parent_span_id),
                             (curl.span_id, curl.span_id), chains.describe(rep))
        self.assertGreaterEqual(len(rep.complete), TOTAL * 9 // 10, chains.describe(rep))
        return set(rep.incomplete)

    def assert_wire_parent_is_proxy_client(self, rep, levels, backend, unlinked=()):
        """The backend received, for every token, a traceparent whose
        parent-id is the proxy CLIENT span's id: the rewrite reached the
        wire."""
        arrived = backend.arrived()
        clients = {chains.token_of(s): s for s in self.rx.spans() if levels[2].matches(s)}
        bad = []
        for path, (tp, n) in arrived.items():
            tok = chains.TOKEN.search(path).group(0)
            if tok in unlinked:
                continue  # checked by assert_complete_or_unlinked
            cli = clients.get(tok)
            if n != 1 or not tp or cli is None or tp != "00-%s-%s-%s" % (
                    cli.trace_id, cli.span_id, tp[-2:]):
                bad.append((path, tp, n, cli))
        self.assertEqual(len(arrived), TOTAL)
        self.assertEqual(bad, [])


class TestNginxPassThrough(ProxyChainCase):

    def check_nginx(self, keepalive):
        backend = LogBackend()
        ngx = nginx_proxy(backend, keepalive)
        self.start_kspan(ports=[ngx.port, backend.port])
        rep, levels = self.run_chains(
            "nginx proxy (%s)" % ("keepalive" if keepalive else "no keepalive"),
            ngx.worker_pid, lambda tok: ngx.url("/proxy/" + tok), backend)
        unlinked = self.assert_complete_or_unlinked(rep, levels)
        self.assert_wire_parent_is_proxy_client(rep, levels, backend, unlinked)
        # The agent reads the kernel's counters periodically.
        self.assertTrue(harness.wait_until(
            lambda: self.metric("passthrough_rewritten") >= len(rep.complete), 10),
            self.metric("passthrough_rewritten"))
        self.assertEqual(self.metric("passthrough_ambiguous"), 0)

    def test_nginx_keepalive_upstream_chains_complete(self):
        self.check_nginx(keepalive=True)

    def test_nginx_upstream_per_request_chains_complete(self):
        self.check_nginx(keepalive=False)

    def test_nginx_tuple_own_traceparent_chains_complete(self):
        """--propagation tuple (no insertion, this host's default): curl
        sends a traceparent of its own per request; the same-node join
        links every hop, the proxy's CLIENT through the forwarded header."""
        backend = LogBackend()
        ngx = nginx_proxy(backend, keepalive=True)
        self.start_kspan(ports=[ngx.port, backend.port],
                         extra_args=["--propagation", "tuple"])
        rep, _ = self.run_chains("nginx proxy (tuple, own traceparent)", ngx.worker_pid,
                                 lambda tok: ngx.url("/proxy/" + tok), backend, own_header=True)
        self.assert_all_complete(rep)
        # Nothing was rewritten: the backend saw curl's own header.
        arrived = backend.arrived()
        self.assertEqual(sorted(tp for tp, _ in arrived.values()),
                         sorted(own_traceparent(chains.TOKEN.search(p).group(0))
                                for p in arrived))
        self.assertEqual(self.metric("passthrough_rewritten"), 0)

    def test_proxy_that_changes_the_header_is_left_alone(self):
        """nginx sends a traceparent of its own making (another parent-id,
        the same for every request): no link to the SERVER span, not a
        byte rewritten; the backend sees exactly what nginx wrote."""
        fixed = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        backend = LogBackend()
        ngx = nginx_proxy(backend, keepalive=True, header=fixed)
        self.start_kspan(ports=[ngx.port, backend.port])
        pids = chains.send_parallel(lambda tok: ngx.url("/proxy/" + tok))
        cli = chains.Level("proxy CLIENT", SPAN_KIND_CLIENT, ngx.worker_pid)
        srv = chains.Level("proxy SERVER", SPAN_KIND_SERVER, ngx.worker_pid)
        harness.wait_until(lambda: sum(1 for s in self.rx.spans() if cli.matches(s)) >= TOTAL,
                           harness.SPAN_TIMEOUT)
        spans = self.rx.spans()
        servers = {s.span_id for s in spans if srv.matches(s)}
        clients = [s for s in spans if cli.matches(s)]
        self.assertEqual(len(clients), TOTAL)
        self.assertEqual([s for s in clients if s.parent_span_id in servers], [])
        self.assertEqual({tp for tp, _ in backend.arrived().values()}, {fixed})
        self.assertEqual(len(pids), TOTAL)
        self.assertEqual(self.metric("passthrough_rewritten"), 0)


    def test_header_changed_in_its_flags_only_is_left_alone(self):
        """curl sends its own unsampled traceparent (-00); nginx forwards it
        with one byte changed (the sampled flag, 00 -> 01, by a map): not the
        header the request arrived with, so no link and no rewrite. nginx's
        CLIENT span is the child of the parent-id its header names (an
        application's own traceparent), and the backend sees nginx's
        bytes."""
        backend = LogBackend()
        ngx = harness.Nginx(
            http_extra=("map $http_traceparent $kspan_tp_flags_on { "
                        "\"~^(?<kspan_tp_head>00-[0-9a-f]{32}-[0-9a-f]{16}-)00$\" "
                        "\"${kspan_tp_head}01\"; default $http_traceparent; } "
                        "upstream passthrough_backend { server 127.0.0.1:%d; keepalive 16; }"
                        % backend.port),
            extra=("location /proxy/ { proxy_pass http://passthrough_backend; "
                   "proxy_http_version 1.1; proxy_set_header Connection \"\"; "
                   "proxy_set_header traceparent $kspan_tp_flags_on; }"))
        self.start_kspan(ports=[ngx.port, backend.port])

        def unsampled(tok):
            return own_traceparent(tok)[:-2] + "00"
        chains.send_parallel(lambda tok: ngx.url("/proxy/" + tok),
                             headers_of=lambda tok: ["traceparent: " + unsampled(tok)])
        cli = chains.Level("proxy CLIENT", SPAN_KIND_CLIENT, ngx.worker_pid)
        harness.wait_until(lambda: sum(1 for s in self.rx.spans() if cli.matches(s)) >= TOTAL,
                           harness.SPAN_TIMEOUT)
        clients = {chains.token_of(s): s for s in self.rx.spans() if cli.matches(s)}
        self.assertEqual(len(clients), TOTAL)
        self.assertEqual([s for tok, s in clients.items()
                          if s.parent_span_id != own_traceparent(tok).split("-")[2]], [])
        arrived = backend.arrived()
        self.assertEqual(len(arrived), TOTAL)
        self.assertEqual(
            [(p, tp) for p, (tp, n) in arrived.items()
             if n != 1 or tp != own_traceparent(chains.TOKEN.search(p).group(0))],
            [])
        self.assertEqual(self.metric("passthrough_rewritten"), 0)


class TestHaproxyPassThrough(ProxyChainCase):

    def test_haproxy_chains_complete(self):
        backend = LogBackend()
        hap = Haproxy(backend)
        self.start_kspan(ports=[hap.port, backend.port])
        rep, levels = self.run_chains("haproxy", hap.pid,
                                      lambda tok: hap.url("/proxy/" + tok), backend)
        unlinked = self.assert_complete_or_unlinked(rep, levels)
        self.assert_wire_parent_is_proxy_client(rep, levels, backend, unlinked)


SHARED_TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


class TestPassThroughNegative(ProxyChainCase):

    def test_same_traceparent_twice_at_once_links_neither(self):
        """Every client sends the same traceparent; the first request of
        each client waits in the backend for another one (so two requests
        with that traceparent are open in nginx at once). A CLIENT request
        written while two are open is linked to neither (counted); every
        link made is to its own request's SERVER span, and the backend got
        either the bytes nginx wrote or the parent-id of that request's own
        CLIENT span."""
        backend = LogBackend()
        ngx = nginx_proxy(backend, keepalive=True)
        self.start_kspan(ports=[ngx.port, backend.port])
        chains.send_parallel(
            lambda tok: ngx.url(("/proxy/pair/" if tok.endswith("r0") else "/proxy/") + tok),
            headers_of=lambda tok: ["traceparent: " + SHARED_TRACEPARENT])
        cli = chains.Level("proxy CLIENT", SPAN_KIND_CLIENT, ngx.worker_pid)
        srv = chains.Level("proxy SERVER", SPAN_KIND_SERVER, ngx.worker_pid)
        harness.wait_until(lambda: sum(1 for s in self.rx.spans() if cli.matches(s)) >= TOTAL,
                           harness.SPAN_TIMEOUT)
        spans = self.rx.spans()
        server_tok = {s.span_id: chains.token_of(s) for s in spans if srv.matches(s)}
        clients = {chains.token_of(s): s for s in spans if cli.matches(s)}
        self.assertEqual(len(clients), TOTAL)
        wrong = [s for tok, s in clients.items()
                 if s.parent_span_id in server_tok and server_tok[s.parent_span_id] != tok]
        self.assertEqual(wrong, [])
        bad = []
        for path, (tp, n) in backend.arrived().items():
            tok = chains.TOKEN.search(path).group(0)
            mine = "00-%s-%s-01" % (clients[tok].trace_id, clients[tok].span_id)
            if n != 1 or tp not in (SHARED_TRACEPARENT, mine):
                bad.append((path, tp))
        self.assertEqual(bad, [])
        # Four pairs of first requests were open at once: the second of
        # each pair was written while both were.
        self.assertTrue(harness.wait_until(
            lambda: self.metric("passthrough_ambiguous") >= chains.CLIENTS // 2, 10),
            self.metric("passthrough_ambiguous"))
        unlinked = [tok for tok, s in clients.items() if s.parent_span_id not in server_tok]
        self.assertGreaterEqual(len(unlinked), chains.CLIENTS // 2)

    def test_proxy_without_forwarding_is_counted_unattributed(self):
        """haproxy drops the traceparent (`http-request del-header`):
        nothing is forwarded, and haproxy has no runtime probes (nginx has:
        test_nginx_upstream.py). The first requests wait in pairs in the
        backend, so haproxy's one thread (nbthread 1: with several, a thread
        might never hold two) serves two connections at once and in-process
        parenting gives it up: every CLIENT request that nothing links from
        then on starts its own trace, counted under runtime="haproxy", and
        no link is wrong."""
        backend = LogBackend()
        hap = Haproxy(backend, frontend_extra="http-request del-header traceparent",
                      global_extra="nbthread 1")
        self.start_kspan(ports=[hap.port, backend.port])
        chains.send_parallel(
            lambda tok: hap.url(("/proxy/pair/" if tok.endswith("r0") else "/proxy/") + tok))
        srv = chains.Level("proxy SERVER", SPAN_KIND_SERVER, hap.pid)
        cli = chains.Level("proxy CLIENT", SPAN_KIND_CLIENT, hap.pid)
        harness.wait_until(lambda: sum(1 for s in self.rx.spans() if cli.matches(s)) >= TOTAL,
                           harness.SPAN_TIMEOUT)
        spans = self.rx.spans()
        server_tok = {s.span_id: chains.token_of(s) for s in spans if srv.matches(s)}
        clients = [s for s in spans if cli.matches(s)]
        self.assertEqual(len(clients), TOTAL)
        self.assertEqual([s for s in clients if s.parent_span_id in server_tok
                          and server_tok[s.parent_span_id] != chains.token_of(s)], [])
        roots = sum(1 for s in clients if not s.parent_span_id)
        self.assertGreater(roots, 0)
        key = 'kspan_client_requests_unattributed_total{runtime="haproxy"}'
        self.assertTrue(harness.wait_until(
            lambda: self.kspan.metrics().get(key, 0) == roots, 10),
            (self.kspan.metrics().get(key), roots))
        self.assertEqual(self.metric("passthrough_rewritten"), 0)


class TestPassThroughByteExact(ProxyChainCase):

    def test_rewrite_changes_no_other_byte(self):
        """Random bodies and headers through nginx (pooled and fresh upstream
        connections) to the digest server: every body and header digest is
        exact and each request carries one well-formed traceparent while
        kspan rewrites the forwarded parent-ids."""
        digest = harness.ScriptServer("digest_server.py")
        up = digest.port
        ngx = harness.Nginx(extra="""
            large_client_header_buffers 8 64k;
            client_max_body_size 1m;
            location /fresh/ { proxy_pass http://127.0.0.1:%d/; }
            location /pooled/ { proxy_pass http://digest_pool/; proxy_http_version 1.1;
                                proxy_set_header Connection ""; }""" % up,
                            http_extra="upstream digest_pool { server 127.0.0.1:%d; keepalive 4; }"
                            % up)
        self.start_kspan(ports=[ngx.port, up], exporter="none")
        for seed, prefix in ((7, "/fresh"), (8, "/pooled")):
            p = harness.spawn([harness.PY, os.path.join(harness.CLIENTS, "digest_client.py"),
                               "127.0.0.1", str(ngx.port), "150", str(seed), "--path-prefix",
                               prefix, "--max-header", "8000"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            out, err = p.communicate(timeout=300)
            res = harness.json.loads(out.decode().strip().splitlines()[-1])
            self.assertTrue(res["ok"], res)
            self.assertGreater(res["with_traceparent"], 0, res)
        self.assertTrue(harness.wait_until(lambda: self.metric("passthrough_rewritten") > 0, 10))
        self.assertEqual(self.metric("passthrough_not_rewritten_unreached"), 0)
