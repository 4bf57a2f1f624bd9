"""HTTPS in a container with its own root filesystem: podman (Debian's) runs
python3 from a Debian root made by debootstrap (--variant=minbase, cached
in build/rootfs/python3-ssl by rootfs/build_rootfs.sh, which `make
integration-tests` runs first), so the container's libssl.so.3
is its own file - another inode than the host's - that kspan reaches through
/proc/PID/root. Every container here starts after kspan: its library is
probed on exec, before its first request.

podman runs with runc, not crun: crun 1.8 refuses a host whose cgroups are
hybrid (v1 controllers beside a v2 hierarchy that has a controller), as this
machine's are; runc runs there and on pure v2. Limits are set low on purpose
(nofile, nproc 1024): podman itself lowers RLIMIT_NPROC before the runtime
starts, and a runtime without CAP_SYS_RESOURCE cannot raise it back to the
default it asks for.
"""

import os
import shutil
import subprocess
import unittest

import harness
import tls_certs
from harness import curl, is_client, is_server
from checks import CommonChecks

ROOT = os.path.dirname(os.path.dirname(harness.HERE))
ROOTFS = os.path.join(ROOT, "build", "rootfs", "python3-ssl")
BUILD_ROOTFS = os.path.join(harness.HERE, "rootfs", "build_rootfs.sh")
# Where the container sees the test's files.
C_SERVERS, C_CERTS = "/kspan-servers", "/kspan-certs"
C_LIBSSL = "/usr/lib/x86_64-linux-gnu/libssl.so.3"
PODMAN_RUN = ["podman", "--runtime", "runc", "run", "--rm", "--network", "host",
              "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]


def ensure_rootfs():
    """Builds the root filesystem once (about a minute), then reuses it."""
    r = subprocess.run([BUILD_ROOTFS, ROOTFS], capture_output=True, text=True, timeout=900)
    if r.returncode != 0:
        raise AssertionError("rootfs build failed:\n%s%s" % (r.stdout, r.stderr))


class Container:
    """python3 chain_server.py in a podman container with the debootstrap
    root, the host's network (it listens on 127.0.0.1 like any server of
    the suite) and its own pid namespace."""

    def __init__(self, certs, next_url=None):
        self.name = "kspan-it-tls-%d-%d" % (os.getpid(), id(self))
        cert_dir = os.path.dirname(certs["server_cert"])
        argv = PODMAN_RUN + [
            "--name", self.name,
            "-v", "%s:%s:ro" % (harness.SERVERS, C_SERVERS),
            "-v", "%s:%s:ro" % (cert_dir, C_CERTS),
            "--rootfs", ROOTFS, "python3", C_SERVERS + "/chain_server.py", "--port", "0",
            "--cert", C_CERTS + "/server.pem", "--key", C_CERTS + "/server.key"]
        if next_url:
            argv += ["--next", next_url]
        self.proc = harness.spawn(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = harness._readline_timeout(self.proc.stdout, 60)
        if not line.startswith(b"READY "):
            self.stop()
            raise AssertionError("container server did not start: %r %r"
                                 % (line, self.proc.stderr.read()))
        self.port = int(line.split()[1])
        info = subprocess.run(["podman", "inspect", "--format", "{{.Id}} {{.State.Pid}}",
                               self.name], capture_output=True, text=True, timeout=30)
        self.id, pid = info.stdout.split()
        self.pid = int(pid)  # the server, as the host sees it

    def url(self, path):
        return "https://127.0.0.1:%d%s" % (self.port, path)

    def stop(self):
        subprocess.run(["podman", "rm", "-f", "-t", "0", self.name], capture_output=True,
                       timeout=60)
        harness._kill(self.proc)


def host_pid_in_container(container_id, marker, timeout=20):
    """The host pid of the process of the container whose command line
    holds marker (podman exec's own, on the host, holds it too)."""
    found = []

    def look():
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    with open("/proc/%s/cmdline" % d, "rb") as f:
                        cmd = f.read()
                    with open("/proc/%s/cgroup" % d) as f:
                        cgroup = f.read()
                except OSError:
                    continue
                if marker.encode() in cmd and container_id in cgroup:
                    found.append(int(d))
                    return True
        return False
    if not harness.wait_until(look, timeout):
        raise AssertionError("no process with %r in its command line" % marker)
    return found[0]


class TestTlsContainer(CommonChecks, harness.SharedKspanCase):
    """Its own kspan: every probed file costs about 1 s of its shutdown."""

    @classmethod
    def setUpServers(cls):
        if not shutil.which("podman") or not shutil.which("runc"):
            raise AssertionError("podman and runc are needed (make test-deps installs them)")
        ensure_rootfs()
        # A machine that cannot run a container at all (no namespaces for
        # root, no cgroup the runtime accepts) skips, saying why.
        r = subprocess.run(PODMAN_RUN + ["--rootfs", ROOTFS, "true"], capture_output=True,
                           text=True, timeout=120)
        if r.returncode != 0:
            raise unittest.SkipTest("podman cannot start a container here: %s"
                                    % r.stderr.strip())
        d = harness.tempdir("kspan-it-tls-")
        os.chmod(d, 0o755)
        cls.certs = tls_certs.make_certs(d)
        for name in ("server.key", "client.key"):
            os.chmod(os.path.join(d, name), 0o644)  # read by the container's root
        cls.ng = harness.Nginx(certs=cls.certs)
        cls.container_pids = []

    def container(self, **kw):
        c = Container(self.certs, **kw)
        self.addCleanup(c.stop)
        self.container_pids.append(c.pid)
        return c

    def assert_own_libssl(self, pid):
        """pid maps the container's libssl, another file than the host's,
        which kspan probed through the root of one of the class's container
        processes (they share the root filesystem, so the file: probed once,
        when the first of them started)."""

        def maps_it():
            with open("/proc/%d/maps" % pid) as f:
                return C_LIBSSL in f.read()
        self.assertTrue(harness.wait_until(maps_it, 20), "pid %d maps no libssl" % pid)
        host = os.stat(os.path.realpath(C_LIBSSL))
        own = os.stat("/proc/%d/root%s" % (pid, C_LIBSSL))
        self.assertNotEqual((own.st_dev, own.st_ino), (host.st_dev, host.st_ino),
                            "the container maps the host's libssl")
        want = ["OpenSSL probed in %s (pid %d's view" % (C_LIBSSL, p)
                for p in self.container_pids]
        self.assertTrue(harness.wait_until(
            lambda: any(w in self.kspan.log_text() for w in want), 10),
            "kspan did not log one of %r:\n%s" % (want, self.kspan.log_tail()))

    def assert_in_container(self, s, c):
        self.assertEqual(s.resource.get("container.id"), c.id, repr(s.resource))
        self.assertEqual(s.resource.get("process.executable.name"), "python3.11",
                         repr(s.resource))

    def test_container_server_one_trace_with_host_peers(self):
        """curl -k (host) -> python https server in the container, whose
        handler calls nginx (host) over https: one trace, exact tree. The
        container's spans carry the pid the host sees and its container.id;
        the SERVER span is the child of curl's CLIENT span (joined across
        the container boundary by the request's index on the connection)."""
        ng = self.ng
        c = self.container(next_url=ng.url(""))
        self.assert_own_libssl(c.pid)
        r = curl(c.url("/call/urllib/ok"), extra=["-k", "--http1.1"])
        self.assertEqual((r.rc, r.http_code), (0, 200), r)
        curl_c = self.expect_spans(is_client(c.port, r.pid), 1, "curl's CLIENT span")[0]
        py_s = self.expect_spans(is_server(c.port), 1, "the container's SERVER span")[0]
        py_c = self.expect_spans(is_client(ng.port, c.pid), 1, "the container's CLIENT span")[0]
        ng_s = self.expect_spans(is_server(ng.port, ng.worker_pid), 1, "nginx's SERVER span")[0]
        self.check_client_span(curl_c, r.pid, c.port, "/call/urllib/ok", 200, scheme="https")
        self.check_server_span(py_s, c.pid, c.port, "/call/urllib/ok", 200,
                               peer_port=r.local_port, scheme="https",
                               name="GET /call/urllib/ok")
        self.check_client_span(py_c, c.pid, ng.port, "/ok", 200, scheme="https", exe=None)
        self.check_server_span(ng_s, ng.worker_pid, ng.port, "/ok", 200, scheme="https")
        self.assert_in_container(py_s, c)
        self.assert_in_container(py_c, c)
        self.assertNotIn("container.id", curl_c.resource, repr(curl_c.resource))
        self.assert_chain([curl_c, py_s, py_c, ng_s])
        self.assertEqual(len(self.rx.spans(harness.involves_port(c.port))), 2,
                         "nothing but curl's and the server's spans on the container's port")

    def test_process_exec_in_running_container(self):
        """A process started in a running container after kspan (podman
        exec: a python https client to nginx on the host): its CLIENT span
        has its host pid and the container's id, and nginx's SERVER span is
        its child."""
        ng = self.ng
        c = self.container()
        marker = "kspan-container-client-%d" % id(self)
        code = ("import ssl, sys, urllib.request; sys.stdin.readline(); "
                "urllib.request.urlopen(%r, context=ssl._create_unverified_context(), "
                "timeout=20).read(); print(%r)" % (ng.url("/ok"), marker))
        p = harness.spawn(["podman", "exec", "-i", c.name, "python3", "-c", code],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(harness._kill, p)
        pid = host_pid_in_container(c.id, marker)
        self.assert_own_libssl(pid)
        out, err = p.communicate(b"go\n", timeout=30)
        self.assertEqual((p.returncode, out.strip()), (0, marker.encode()), err)
        cli = self.expect_spans(is_client(ng.port, pid), 1, "the exec'd client's CLIENT span")[0]
        srv = self.expect_spans(is_server(ng.port, ng.worker_pid), 1, "nginx's SERVER span")[0]
        self.check_client_span(cli, pid, ng.port, "/ok", 200, scheme="https", exe=None)
        self.check_server_span(srv, ng.worker_pid, ng.port, "/ok", 200, scheme="https")
        self.assert_in_container(cli, c)
        self.assert_joined(srv, cli)
