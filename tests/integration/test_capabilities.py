"""kspan with exactly the capabilities of deploy/kubernetes/kspan-daemonset.yaml,
and with each one of them left out: the manifest's set is enough (spans,
traceparent insertion, service.name from the environment of a process of
another user), and each capability in it is there for a reason.

Kubernetes gives a non-privileged container running as uid 0 exactly its
`capabilities.add` (bounding, permitted and effective sets) and sets
no_new_privs for allowPrivilegeEscalation: false; `setpriv --nnp
--bounding-set=-all,+...` as root gives kspan the same. The manifest's args
(--propagation, ...) are used, with the receiver and free ports put after
them (the last occurrence of an option wins).

No backend needs tracefs: the test leaves it as it finds it.
"""

import os
import subprocess

import yaml

import harness
from harness import PY, SERVERS

MANIFEST = os.path.join(harness.REPO, "deploy", "kubernetes", "kspan-daemonset.yaml")
SERVICE = "kspan-cap-test"
NOBODY = 65534


def manifest_container():
    with open(MANIFEST) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    ds = [d for d in docs if d.get("kind") == "DaemonSet"]
    assert len(ds) == 1, "want one DaemonSet in %s" % MANIFEST
    return ds[0]["spec"]["template"]["spec"]["containers"][0]


# <linux/capability.h>
CAP_NUMBERS = {"DAC_READ_SEARCH": 2, "NET_ADMIN": 12, "SYS_PTRACE": 19, "SYS_ADMIN": 21,
               "SYS_RESOURCE": 24, "PERFMON": 38, "BPF": 39}


def setpriv(caps):
    return ["setpriv", "--nnp", "--inh-caps=-all",
            "--bounding-set=-all" + "".join(",+" + c.lower() for c in caps)]


def cap_eff(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("CapEff:"):
                return int(line.split()[1], 16)
    raise AssertionError("no CapEff for %d" % pid)


class NobodyServer:
    """digest_server.py as user nobody, with OTEL_SERVICE_NAME set: root
    reads its /proc/PID/environ (mode 0400, and the kernel's ptrace read
    check) only with CAP_DAC_READ_SEARCH (its /proc/PID/exe only with
    CAP_SYS_PTRACE, which kspan does without: the kernel sends the path)."""

    def __init__(self):
        env = {"PATH": "/usr/bin:/bin", "OTEL_SERVICE_NAME": SERVICE}
        self.proc = harness.spawn(
            ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups", PY,
             os.path.join(SERVERS, "digest_server.py"), "--port", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd="/")
        line = harness._readline_timeout(self.proc.stdout, 10)
        if not line.startswith(b"READY "):
            raise AssertionError("digest_server.py as nobody did not start: %r" % line)
        self.port = int(line.split()[1])
        self.pid = self.proc.pid

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)


class TestManifestCapabilities(harness.KspanCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        c = manifest_container()
        cls.caps = list(c["securityContext"]["capabilities"]["add"])
        cls.args = [str(a) for a in c["args"]]

    def run_kspan(self, caps, srv, wait=True):
        k = harness.Kspan(self.rx.endpoint, extra_args=self.args + [
                              "--otlp-endpoint", self.rx.endpoint,
                              "--metrics-addr", "127.0.0.1:0", "--port", str(srv.port)],
                          prefix=setpriv(caps))
        self.kspan = k
        self.addCleanup(lambda: k.returncode is None and k.alive() and k.stop())
        if wait:
            k.wait_ready()
        return k

    def request(self, srv, path):
        """curl srv path; (the JSON answer, curl's result)."""
        out = os.path.join(harness.tempdir(), "body")
        r = harness.curl(srv.url(path), output=out)
        self.assertEqual((r.rc, r.http_code), (0, 200), r)
        with open(out) as f:
            return harness.json.load(f), r

    def test_manifest_is_sound(self):
        c = manifest_container()
        sc = c["securityContext"]
        self.assertEqual(sc["capabilities"]["drop"], ["ALL"])
        self.assertFalse(sc["privileged"])
        self.assertFalse(sc["allowPrivilegeEscalation"])
        self.assertEqual(sorted(self.caps),
                         sorted(["BPF", "PERFMON", "NET_ADMIN", "DAC_READ_SEARCH", "SYS_PTRACE",
                                 "SYS_ADMIN"]))
        self.assertIn("--propagation", self.args)
        addr = self.args[self.args.index("--metrics-addr") + 1]
        self.assertEqual(addr, "127.0.0.1:9464")
        spec = [d for d in yaml.safe_load_all(open(MANIFEST))
                if d and d.get("kind") == "DaemonSet"][0]["spec"]["template"]["spec"]
        # host 127.0.0.1 reaches the agent's loopback listener only with hostNetwork.
        self.assertTrue(spec["hostNetwork"])
        for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            get = c[probe]["httpGet"]
            self.assertEqual((get["host"], get["port"], get["path"]), ("127.0.0.1", 9464, path))

    def test_manifest_set_is_enough(self):
        srv = NobodyServer()
        k = self.run_kspan(self.caps, srv)
        want = sum(1 << CAP_NUMBERS[c] for c in self.caps)
        self.assertEqual(cap_eff(k.pid), want, "kspan's effective capabilities")
        ans, r = self.request(srv, "/caps")
        # NET_ADMIN: the traceparent was inserted.
        self.assertEqual(ans["traceparents"], 1, ans)
        srv_span = self.expect_spans(harness.is_server(srv.port, srv.pid), 1, "SERVER span")[0]
        cli = self.expect_spans(harness.is_client(srv.port, r.pid), 1, "CLIENT span")[0]
        self.assertEqual(ans["traceparent"][3:52], "%s-%s" % (cli.trace_id, cli.span_id))
        self.assert_joined(srv_span, cli)
        # DAC_READ_SEARCH: the environment of nobody's process; the kernel: its path.
        self.assertEqual(srv_span.resource.get("service.name"), SERVICE, srv_span.resource)
        self.assertTrue(srv_span.resource.get("process.executable.path"), srv_span.resource)
        # No warning, but the one --insert-despite-fionread asks for on a kernel
        # whose sockhash breaks FIONREAD (the harness opts in to test insertion).
        self.assertEqual([ln for ln in k.log_text().splitlines()
                          if "warning" in ln and "--insert-despite-fionread" not in ln], [],
                         k.log_text())
        status = harness.urllib.request.urlopen(
            "http://127.0.0.1:%d/readyz" % k.metrics_port(), timeout=5).status
        self.assertEqual(status, 200)

    def without(self, cap):
        self.assertIn(cap, self.caps)
        return [c for c in self.caps if c != cap]

    def test_without_bpf_or_perfmon_kspan_cannot_start(self):
        srv = NobodyServer()
        for cap in ("BPF", "PERFMON"):
            # SYS_ADMIN (for TLS uprobes) stands in for both: out as well.
            caps = [c for c in self.without(cap) if c != "SYS_ADMIN"]
            k = self.run_kspan(caps, srv, wait=False)
            rc = k.proc.wait(timeout=60)
            k.returncode = rc
            k._close()
            self.assertEqual(rc, 1, k.log_tail())
            self.assertIn("missing capabilities: kspan needs CAP_BPF and CAP_PERFMON",
                          k.log_text())

    def test_without_net_admin_no_insertion(self):
        """kspan runs, traces, joins by tuple; no insertion, one line says so."""
        srv = NobodyServer()
        k = self.run_kspan(self.without("NET_ADMIN"), srv)
        ans, r = self.request(srv, "/no-net-admin")
        self.assertEqual(ans["traceparents"], 0, ans)
        srv_span = self.expect_spans(harness.is_server(srv.port, srv.pid), 1, "SERVER span")[0]
        cli = self.expect_spans(harness.is_client(srv.port, r.pid), 1, "CLIENT span")[0]
        self.assert_joined(srv_span, cli)
        lines = [ln for ln in k.log_text().splitlines() if "NET_ADMIN" in ln]
        self.assertEqual(lines, ["kspan: warning: no CAP_NET_ADMIN, which the sock_ops and "
                                 "sk_msg programs need: traceparent insertion is off "
                                 "(--propagation tuple)"], k.log_text())

    def test_without_sys_admin_no_tls_uprobes(self):
        """SYS_ADMIN is in the manifest for the TLS uprobes only: without it
        this kernel refuses to create them, and kspan says so and goes on
        with plaintext HTTP."""
        srv = NobodyServer()
        k = self.run_kspan(self.without("SYS_ADMIN"), srv)
        self.request(srv, "/no-sys-admin")
        self.expect_spans(harness.is_server(srv.port, srv.pid), 1, "SERVER span")
        lines = [ln for ln in k.log_text().splitlines() if "TLS:" in ln and "not probed" in ln]
        self.assertTrue(lines and all("Permission denied" in ln for ln in lines), k.log_text())

    def test_executable_path_needs_no_sys_ptrace(self):
        """SYS_PTRACE is in the manifest for the TLS uprobes only (they open
        /proc/PID/root/...): without it the kernel still reads the executable
        path of another user's process, which /proc/PID/exe would show only
        with it."""
        srv = NobodyServer()
        self.run_kspan(self.without("SYS_PTRACE"), srv)
        self.request(srv, "/no-sys-ptrace")
        s = self.expect_spans(harness.is_server(srv.port, srv.pid), 1, "SERVER span")[0]
        self.assertEqual(s.resource.get("process.executable.path"),
                         os.path.realpath("/proc/%d/exe" % srv.pid), s.resource)

    def test_without_dac_read_search_no_service_name(self):
        srv = NobodyServer()
        self.run_kspan(self.without("DAC_READ_SEARCH"), srv)
        self.request(srv, "/no-dac-read-search")
        s = self.expect_spans(harness.is_server(srv.port, srv.pid), 1, "SERVER span")[0]
        self.assertNotEqual(s.resource.get("service.name"), SERVICE, s.resource)
        self.assertTrue(s.resource.get("process.executable.path"), s.resource)
