"""nginx as a reverse proxy that does not forward a traceparent: curl ->
nginx (proxy_pass) -> python is one exact four-span tree per request, by the
uprobes on nginx's upstream hand-off (bpf/propagation/nginx_parent.bpf.h),
for 8 parallel clients x 15 requests, each with a path of its own:
- with header insertion, nginx told to drop the traceparent
  (proxy_set_header traceparent ""): kspan inserts the nginx CLIENT span's
  own into the upstream request;
- with --propagation tuple (this host's default): curl's request carries no
  traceparent, so nginx has nothing to forward; the backend joins the nginx
  CLIENT span on this node;
over keep-alive upstream connections (reused, rebound per request) and
fresh ones (HTTP/1.0, one connection per request, written from the write
event after the hand-off returned), with one worker and with two.

The backend answers each request 20 ms late, so that a worker always holds
requests of several clients at once: the thread rule
(trace_context.bpf.h) links a worker's requests only until it first
interleaves two connections, and the hand-off must link the rest. With an
upstream that answers at once, a slow host could run the clients one after
the other, every request then linked by the thread rule and none by the
hand-off (seen: kspan_kernel_nginx_linked_total 0 with 120 of 120 traces
complete)."""

import os

import chains
import harness
import tls_certs
from harness import SPAN_KIND_CLIENT, SPAN_KIND_SERVER

TOTAL = chains.CLIENTS * chains.REQUESTS
# ms the backend waits before each answer (see above).
BACKEND_DELAY_MS = 20


def proxy_nginx(backend_port, workers, certs=None):
    # `retried`: its first server refuses connections (nothing listens), so
    # the first request it gets goes on to the next (ngx_http_upstream_next).
    http_extra = ("upstream kept { server 127.0.0.1:%d; keepalive 8; } "
                  "upstream retried { server 127.0.0.1:%d; server 127.0.0.1:%d; keepalive 8; }"
                  % (backend_port, harness.free_port(), backend_port))
    extra = ("location /kept/ { proxy_pass http://kept; proxy_http_version 1.1; "
             "proxy_set_header Connection \"\"; proxy_set_header traceparent \"\"; } "
             "location /retried/ { proxy_pass http://retried; proxy_http_version 1.1; "
             "proxy_set_header Connection \"\"; proxy_set_header traceparent \"\"; } "
             "location /fresh/ { proxy_pass http://127.0.0.1:%d; "
             "proxy_set_header traceparent \"\"; }" % backend_port)
    return harness.Nginx(extra=extra, http_extra=http_extra, workers=workers, certs=certs)


class TestNginxUpstream(harness.KspanCase):

    def chain(self, prefix, workers=1, tuple_only=False, retried=0, https=False):
        """retried: upstream connections picked outside a hand-off (the
        retry of a refused connect runs from the event loop): each counted
        unattributed, and its request linked only if the thread rule
        could. https: nginx serves HTTPS (its requests read through
        OpenSSL's uprobes), curl trusting the test CA."""
        srv = harness.http_server(delay_ms=BACKEND_DELAY_MS)
        certs = tls_certs.make_certs(harness.tempdir("kspan-it-nginx-certs-")) if https else None
        ngx = proxy_nginx(srv.port, workers, certs)
        if certs:
            os.environ["CURL_CA_BUNDLE"] = certs["ca"]
            self.addCleanup(os.environ.pop, "CURL_CA_BUNDLE", None)
        kw = {"ports": [ngx.port, srv.port]}
        if tuple_only:
            kw["extra_args"] = ["--propagation", "tuple"]
            kw["insert_despite_fionread"] = False
        self.start_kspan(**kw)
        pids = chains.send_parallel(lambda tok: ngx.url("/%s/%s" % (prefix, tok)))
        levels = [chains.Level("curl CLIENT", SPAN_KIND_CLIENT, set(pids.values())),
                  chains.Level("nginx SERVER", SPAN_KIND_SERVER, ngx.worker_pids),
                  chains.Level("nginx CLIENT", SPAN_KIND_CLIENT, ngx.worker_pids),
                  chains.Level("python SERVER", SPAN_KIND_SERVER, srv.pid)]
        rep = chains.wait_chains(self, levels, sorted(pids))
        chains.print_share(rep, "nginx%s %s upstream, %d worker(s), %s"
                           % (" https" if https else "", prefix, workers,
                              "tuple" if tuple_only else "insertion"))
        self.assertEqual(rep.wrong, [], chains.describe(rep))
        if len(rep.complete) < TOTAL - retried:
            # A missing span: lost, or made with another request's path,
            # and what did the agent count (as test_proxy_chains says)?
            self.fail("%d of %d traces complete\n%s\nspans per level %s\ncounters: %s" % (
                len(rep.complete), TOTAL, chains.describe(rep),
                chains.spans_per_level(self.rx.spans(), levels), self.kspan.counters_nonzero()))
        # The thread rule links a worker's requests until it first
        # interleaves two connections; the hand-off links the rest. The
        # agent reads the kernel's counters once a second.
        m = {}

        def linked():
            m.clear()
            m.update((k, v) for k, v in self.kspan.metrics().items()
                     if "nginx" in k and "{" not in k)
            return m.get("kspan_kernel_nginx_linked_total", 0) > 0
        self.assertTrue(harness.wait_until(linked, 5.0), m)
        for miss in ("unserved", "stale"):
            self.assertEqual(m.get("kspan_kernel_nginx_%s_total" % miss), 0, m)
        self.assertEqual(m.get("kspan_kernel_nginx_unattributed_total"), retried, m)
        self.assertEqual(m.get("kspan_nginx_executables_probed_total"), 1, m)
        self.assertEqual(m.get("kspan_nginx_attach_failed_total"), 0, m)
        return rep

    def test_keepalive_upstream_insertion(self):
        self.chain("kept")

    def test_fresh_upstream_insertion(self):
        self.chain("fresh")

    def test_keepalive_upstream_tuple(self):
        self.chain("kept", tuple_only=True)

    def test_fresh_upstream_tuple(self):
        self.chain("fresh", tuple_only=True)

    def test_two_workers_keepalive_insertion(self):
        self.chain("kept", workers=2)

    def test_two_workers_fresh_tuple(self):
        self.chain("fresh", workers=2, tuple_only=True)

    def test_retry_on_next_upstream(self):
        """The first server refuses: nginx's first request there is retried
        on the next server from the event loop, outside the hand-off (one
        unattributed connection, never a wrong link); the server is then
        avoided (max_fails 1, fail_timeout 10 s) and the rest are linked."""
        self.chain("retried", retried=1)

    def test_https_downstream_keepalive_insertion(self):
        self.chain("kept", https=True)

    def test_only_nginx_is_probed(self):
        """The hand-off uprobes go on the nginx file alone: kspan's log names
        /usr/sbin/nginx, never the python backend or curl, which ran too.
        Debian's /usr/sbin/nginx is stripped (no .symtab): the functions
        are found in .dynsym, which every test here relies on."""
        self.chain("kept")
        probed = [l for l in self.kspan.log_text().splitlines()
                  if "probing nginx upstream hand-off in" in l]
        self.assertEqual(len(probed), 1, probed)
        self.assertIn("/usr/sbin/nginx", probed[0])
