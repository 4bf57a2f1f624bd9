"""traceparent insertion in the kernel (sock_ops + sk_msg) leaves every other
byte of the application's traffic intact, and never stalls nginx.

The digest server answers each request with digests of the body and of the
client's own headers it received, and the traceparent(s) it saw; the client
(clients/digest_client.py) sends 1,000 requests with random bodies and
headers (up to 64 KiB) on keep-alive and fresh connections, heads split
across writes, and pipelined pairs, and compares. Every test restricts kspan
to its own ports: the insertion touches no other traffic on the machine.
"""

import os

import harness
from harness import PY, CLIENTS

DIGEST_REQUESTS = 1000
STALL_SECONDS = 30


def digest_client(host, port, count, seed, *extra, timeout=600.0):
    p = harness.spawn([PY, os.path.join(CLIENTS, "digest_client.py"), host, str(port),
                       str(count), str(seed)] + [str(x) for x in extra],
                      stdout=harness.subprocess.PIPE, stderr=harness.subprocess.PIPE)
    try:
        out, err = p.communicate(timeout=timeout)
    except harness.subprocess.TimeoutExpired:
        harness._kill(p)
        raise AssertionError("digest_client stalled (%s:%d, %s)" % (host, port, extra))
    try:
        return harness.json.loads(out.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise AssertionError("digest_client failed rc=%s: %s"
                             % (p.returncode, err.decode("utf-8", "replace")[-2000:]))


def counters(k):
    """The final counters line of a stopped kspan, as a dict."""
    line = [ln for ln in k.log_text().splitlines() if "counters " in ln][-1]
    return {kv.split("=")[0]: int(kv.split("=")[1]) for kv in line.split()[2:] if "=" in kv}


NGINX_PROXY = """
        large_client_header_buffers 8 64k;
        client_max_body_size 1m;
        location /fresh/ {{ proxy_pass http://127.0.0.1:{up}/; }}
        location /pooled/ {{
            proxy_pass http://digest_pool/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
"""
NGINX_UPSTREAM = "upstream digest_pool {{ server 127.0.0.1:{up}; keepalive 4; }}"


class TestInjection(harness.KspanCase):

    def setUp(self):
        super().setUp()
        self.digest = harness.ScriptServer("digest_server.py")

    def test_byte_exact_1000_requests(self):
        k = self.start_kspan(ports=[self.digest.port], exporter="none")
        res = digest_client("127.0.0.1", self.digest.port, DIGEST_REQUESTS, 4)
        self.assertTrue(res["ok"], res)
        self.assertGreaterEqual(res["requests"], DIGEST_REQUESTS, res)
        k.stop()
        c = counters(k)
        # Every request whose head fit the first write got exactly one
        # traceparent, and the server saw exactly those.
        self.assertGreater(res["with_traceparent"], DIGEST_REQUESTS // 10, res)
        self.assertEqual(c["traceparent_injected"], res["with_traceparent"], (c, res))
        self.assertEqual(c["traceparent_inject_failed"], 0, c)

    def test_requests_with_their_own_traceparent_are_untouched(self):
        """curl's own traceparent (valid or not) goes out alone."""
        k = self.start_kspan(ports=[self.digest.port], exporter="none")
        for tp in ("00-%s-%s-01" % ("a" * 32, "b" * 16), "garbage"):
            out = os.path.join(harness.tempdir(), "body")
            r = harness.curl(self.digest.url("/own"), headers=["traceparent: " + tp],
                             output=out)
            self.assertEqual((r.rc, r.http_code), (0, 200), r)
            with open(out) as f:
                ans = harness.json.load(f)
            self.assertEqual((ans["traceparent"], ans["traceparents"]), (tp, 1), ans)
        k.stop()
        self.assertEqual(counters(k)["traceparent_injected"], 0)

    def test_nginx_proxy_and_server_under_injection_no_stall(self):
        """nginx's upstream sockets are client sockets, so they sit in the
        sockhash (FIONREAD regression, shared/HOST-KERNEL.md): 30 s of traffic
        through nginx as a proxy (fresh and pooled upstream connections) and
        as a server must neither stall nor alter a byte."""
        up = self.digest.port
        ng = harness.Nginx(extra=NGINX_PROXY.format(up=up),
                           http_extra=NGINX_UPSTREAM.format(up=up))
        k = self.start_kspan(ports=[ng.port, up], exporter="none")
        procs = []
        for seed, prefix in ((5, "/fresh"), (6, "/pooled")):
            procs.append(harness.spawn(
                [PY, os.path.join(CLIENTS, "digest_client.py"), "127.0.0.1", str(ng.port), "50",
                 str(seed), "--path-prefix", prefix, "--max-header", "8000",
                 "--duration", str(STALL_SECONDS)],
                stdout=harness.subprocess.PIPE, stderr=harness.subprocess.PIPE))
        served = 0
        deadline = harness.time.monotonic() + STALL_SECONDS
        while harness.time.monotonic() < deadline:
            r = harness.curl(ng.url("/ok"), timeout=10)
            self.assertEqual((r.rc, r.http_code), (0, 200), "nginx as a server stalled: %r" % r)
            served += 1
        for p in procs:
            try:
                out, err = p.communicate(timeout=STALL_SECONDS + 120)
            except harness.subprocess.TimeoutExpired:
                harness._kill(p)
                self.fail("a client through the nginx proxy stalled")
            res = harness.json.loads(out.decode().strip().splitlines()[-1])
            self.assertTrue(res["ok"], res)
            self.assertGreater(res["requests"], 50, res)
            # nginx forwards the client's (inserted) traceparent: exactly one
            # arrives upstream, never a second one from nginx's own write.
            self.assertGreater(res["with_traceparent"], 0, res)
        k.stop()
        c = counters(k)
        self.assertGreater(c["traceparent_injected"], served, c)
        self.assertEqual(c["traceparent_inject_failed"], 0, c)
