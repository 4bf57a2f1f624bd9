"""What names a process in its resource (process.executable.path, container.id,
k8s.pod.uid) for clients that exit right after their request: kspan reads it
in the kernel when it first sees the process, because /proc/PID is gone by the
time the agent handles the event."""

import os
import shutil
import tempfile

import harness
from checks import rand_hex
from harness import curl, is_client

RUNS = 10


def cgroup2_root():
    return next(line.split()[1] for line in open("/proc/mounts")
                if line.split()[2] == "cgroup2")


class TestShortLivedIdentity(harness.SharedKspanCase):

    @classmethod
    def setUpServers(cls):
        cls.srv = harness.http_server()

    def curl_in_cgroup(self, names, exe):
        """curl (the binary at `exe`) started in the cgroup `names`
        (directories, outermost first, under the cgroup v2 root), which is
        removed as soon as curl is gone: nothing can read it later."""
        path, made = cgroup2_root(), []
        try:
            for name in names:
                path = os.path.join(path, name)
                os.mkdir(path)
                made.append(path)
            return curl(self.srv.url("/ok"), cgroup=path, program=exe)
        finally:
            for d in reversed(made):
                os.rmdir(d)

    def test_curl_in_container_cgroups_named_after_exit(self):
        """RUNS curls, each in a container's cgroup (kubelet's systemd driver
        with containerd, or podman) that it joins before exec and leaves by
        exiting right after its response: every CLIENT span's resource has
        the container id, the pod UID (for the pod) and the executable's
        path, though the process was gone before kspan read the event."""
        top = "kspan-it-%d" % os.getpid()
        # The podman runs take a copy of curl on a tmpfs (/dev/shm): its
        # path crosses mounts, which the kernel's walk follows.
        system_curl = os.path.realpath(shutil.which("curl"))
        shm = tempfile.mkdtemp(prefix="kspan-it-", dir="/dev/shm")
        self.addCleanup(shutil.rmtree, shm)
        shm_curl = os.path.join(shm, "curl")
        shutil.copy(system_curl, shm_curl)
        runs = []
        for i in range(RUNS):
            cid = rand_hex(64)
            if i % 2 == 0:
                uid, exe = "5d7c5c52-0d8e-4b1f-9bd1-" + rand_hex(12), system_curl
                r = self.curl_in_cgroup([
                    "%s-kubepods.slice" % top,
                    "kubepods-besteffort.slice",
                    "kubepods-besteffort-pod%s.slice" % uid.replace("-", "_"),
                    "cri-containerd-%s.scope" % cid], exe)
            else:
                uid, exe = None, shm_curl
                r = self.curl_in_cgroup(["%s-machine.slice" % top, "libpod-%s.scope" % cid], exe)
            self.assertEqual((r.rc, r.http_code), (0, 200), r)
            runs.append((r, cid, uid, exe))
        missing = []
        for r, cid, uid, exe in runs:
            c = self.expect_spans(is_client(self.srv.port, r.pid), 1,
                                  "CLIENT span of curl pid %d" % r.pid)[0]
            want = {"container.id": cid, "process.executable.path": exe}
            if uid:
                want["k8s.pod.uid"] = uid
            got = {k: c.resource.get(k) for k in want}
            if got != want:
                missing.append("pid %d: want %r, got %r" % (r.pid, want, got))
            if not uid:
                self.assertNotIn("k8s.pod.uid", c.resource, repr(c.resource))
        self.assertEqual(missing, [], "%d of %d curls without their identity:\n%s"
                         % (len(missing), RUNS, "\n".join(missing)))
