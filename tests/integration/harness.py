"""Harness for the kspan integration tests: the agent, servers, clients, spans.

Everything runs for real on this machine: build/kspan loads its eBPF programs
into the running kernel and observes every process; the servers and clients
are real processes talking over loopback; spans arrive over OTLP/HTTP at the
in-process OtlpReceiver.

Because kspan observes EVERY process, tests select spans precisely: by kind,
by the server port (span attribute server.port, or network.peer.port on the
client side) and by the resource's process.pid.

Every child process is registered and killed in teardown (also on failure and
at exit); every temporary directory is removed; every wait has a timeout.
"""

import atexit
import ctypes
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

from otlp_receiver import SPAN_KIND_CLIENT, SPAN_KIND_SERVER, OtlpReceiver, cleanup_generated

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
KSPAN_BIN = os.environ.get("KSPAN_BIN", os.path.join(REPO, "build", "kspan"))
PROTO_DIR = os.path.join(REPO, "user", "export", "otlp", "proto")
PY = "/usr/bin/python3"
SERVERS = os.path.join(HERE, "servers")
CLIENTS = os.path.join(HERE, "clients")

LOG_MARK = "--- kspan stderr"
READY_TIMEOUT = 90.0  # loading the BPF programs takes 20-30 s on a busy 2-core machine
STOP_TIMEOUT = 5.0
SPAN_TIMEOUT = 10.0  # how long a test waits for expected spans

VERBOSE = False


def log(msg):
    if VERBOSE:
        sys.stderr.write("    | %s\n" % msg)
        sys.stderr.flush()


# --- resources: processes and temp dirs ---------------------------------------------

class Registry:
    """Child processes and temp dirs, grouped in scopes (suite, class, test) so
    that each teardown cleans exactly what its scope created."""

    def __init__(self):
        self.lock = threading.Lock()
        self.scopes = [("suite", [], [])]

    def push(self, name):
        with self.lock:
            self.scopes.append((name, [], []))

    def pop(self):
        with self.lock:
            if len(self.scopes) <= 1:
                return
            _, procs, dirs = self.scopes.pop()
        _cleanup(procs, dirs)

    def add_proc(self, p):
        with self.lock:
            self.scopes[-1][1].append(p)
        return p

    def add_dir(self, d):
        with self.lock:
            self.scopes[-1][2].append(d)
        return d

    def cleanup_all(self):
        with self.lock:
            scopes, self.scopes = self.scopes, [("suite", [], [])]
        for _, procs, dirs in reversed(scopes):
            _cleanup(procs, dirs)


def _kill(p):
    if p.poll() is not None:
        return
    try:  # started with start_new_session: kill the whole group (nginx workers)
        os.killpg(p.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        try:
            p.kill()
        except ProcessLookupError:
            pass
    try:
        p.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def _cleanup(procs, dirs):
    for p in reversed(procs):
        _kill(p)
    for d in dirs:
        shutil.rmtree(d, ignore_errors=True)


REG = Registry()
atexit.register(REG.cleanup_all)

try:
    _LIBC = ctypes.CDLL(None, use_errno=True)
except OSError:
    _LIBC = None
_PR_SET_PDEATHSIG = 1


def _die_with_parent():
    """In the child before exec: SIGKILL it if the harness dies (even by
    SIGKILL), so that no test process outlives a crashed run."""
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def spawn(argv, **kw):
    """Popen registered for cleanup, in its own session (process group),
    killed if the harness dies."""
    kw.setdefault("stdin", subprocess.DEVNULL)
    kw.setdefault("start_new_session", True)
    kw.setdefault("preexec_fn", _die_with_parent)
    log("spawn %s" % " ".join(argv))
    return REG.add_proc(subprocess.Popen(argv, **kw))


def tempdir(prefix="kspan-it-"):
    return REG.add_dir(tempfile.mkdtemp(prefix=prefix))


def free_port(family=socket.AF_INET, host="127.0.0.1"):
    """A currently free TCP port on host (for servers that cannot report the
    port they bound, like nginx)."""
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def ipv6_loopback_available():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def wait_until(pred, timeout, interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(interval)


def wait_port(host, port, timeout=10.0):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET

    def ok():
        try:
            with socket.socket(fam, socket.SOCK_STREAM) as s:
                s.settimeout(0.5)
                s.connect((host, port))
            return True
        except OSError:
            return False
    return wait_until(ok, timeout, 0.05)


def proc_children(pid):
    kids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        ppid = int(st.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            kids.append(int(d))
    return sorted(kids)


def proc_names(pid):
    """Names a process may legitimately be reported under: its comm and the
    basename of its executable (python3 vs python3.11)."""
    names = set()
    try:
        with open("/proc/%d/comm" % pid) as f:
            names.add(f.read().strip())
    except OSError:
        pass
    try:
        names.add(os.path.basename(os.readlink("/proc/%d/exe" % pid)))
    except OSError:
        pass
    return names


# --- kspan ----------------------------------------------------------------------

class Kspan:
    """build/kspan with the OTLP exporter pointed at a receiver."""

    def __init__(self, endpoint, pids=(), ports=(), extra_args=(), env=None, exporter="otlp",
                 schedule_delay_ms=100, metrics_addr="127.0.0.1:0", prefix=(),
                 insert_despite_fionread=True):
        """prefix: a command that runs kspan (unshare ...); the test then sets
        .pid and .signal_pid to kspan's own process."""
        if not os.access(KSPAN_BIN, os.X_OK):
            raise AssertionError("no executable %s: build it with `make`" % KSPAN_BIN)
        self.dir = tempdir("kspan-it-agent-")
        self.log_path = os.path.join(self.dir, "kspan.stderr")
        self.out_path = os.path.join(self.dir, "kspan.stdout")
        argv = [KSPAN_BIN, "--exporter", exporter]
        if exporter == "otlp":
            argv += ["--otlp-endpoint", endpoint]
        for p in pids:
            argv += ["--pid", str(p)]
        for p in ports:
            argv += ["--port", str(p)]
        # A free port by default: several agents run at once on a test machine.
        argv += ["--metrics-addr", metrics_addr]
        # This machine's kernel has the sockhash FIONREAD regression, where
        # kspan's default is no header insertion: the tests of insertion opt
        # in explicitly (test_insertion_safety.py tests the default).
        forced = os.environ.get("KSPAN_IT_FORCE_BACKEND")
        if insert_despite_fionread and not forced:
            argv += ["--insert-despite-fionread"]
        argv += list(extra_args)
        if forced and "--backend" not in argv:
            argv += ["--backend", forced]
        e = dict(os.environ)
        for k in list(e):
            if k.startswith("OTEL_"):
                del e[k]
        e["OTEL_BSP_SCHEDULE_DELAY"] = str(schedule_delay_ms)
        # An agent without --pid/--port exports every process's spans on this
        # machine (other suites' load included) to the python receiver, which is
        # far slower than a collector: a deep queue keeps the spans a test waits
        # for from being pushed out (drops are counted; tests of the queue set
        # their own size).
        e["OTEL_BSP_MAX_QUEUE_SIZE"] = "200000"
        # kspan pushes metrics to an OTLP endpoint by default (README
        # "Metrics"): the tests of metrics opt in (test_metrics.py), the others
        # keep the receivers' traffic to the traces they check.
        e["OTEL_METRICS_EXPORTER"] = "none"
        if env:
            e.update(env)
        self.argv = argv
        self._err = open(self.log_path, "wb")
        self._out = open(self.out_path, "wb")
        self.proc = spawn(list(prefix) + argv, stdout=self._out, stderr=self._err, env=e,
                          cwd=REPO)
        self.pid = self.signal_pid = self.proc.pid
        self.returncode = None

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, n=25, width=300):
        """The last n lines of kspan's stderr, each cut to width characters."""
        lines = self.log_text().splitlines()
        cut = [ln if len(ln) <= width else ln[:width] + " [...]" for ln in lines[-n:]]
        return "%s (last %d of %d lines) ---\n%s" % (LOG_MARK, len(cut), len(lines), "\n".join(cut))

    def wait_ready(self, timeout=READY_TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "kspan: ready" in self.log_text():
                return
            if self.proc.poll() is not None:
                raise AssertionError("kspan exited with %s before `kspan: ready`; argv %s; stderr:\n%s"
                                     % (self.proc.returncode, self.argv, self.log_tail()))
            time.sleep(0.05)
        raise AssertionError("kspan printed no `kspan: ready` within %.0f s; argv %s; stderr:\n%s"
                             % (timeout, self.argv, self.log_tail()))

    def alive(self):
        return self.proc.poll() is None

    def metrics_port(self):
        m = re.search(r"metrics: Prometheus text on \S+ \(port (\d+)\)", self.log_text())
        if not m:
            raise AssertionError("kspan logged no metrics port; stderr:\n%s" % self.log_tail())
        return int(m.group(1))

    def metrics_text(self):
        url = "http://127.0.0.1:%d/metrics" % self.metrics_port()
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.read().decode()

    def metrics(self):
        """GET /metrics: {sample name (with labels): value}."""
        out = {}
        for line in self.metrics_text().splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                out[name] = float(value)
        return out

    def counters_nonzero(self):
        """The agent's counters that are not 0, one line (for a failure's
        message: what the agent counted while a span went missing)."""
        try:
            m = self.metrics()
        except OSError as e:
            return "(no metrics: %s)" % e
        return " ".join("%s=%g" % (k[len("kspan_"):], v) for k, v in sorted(m.items())
                        if k.startswith("kspan_") and k.endswith("_total") and v)

    def assert_alive(self):
        if not self.alive():
            raise AssertionError("kspan died (exit %s); stderr:\n%s"
                                 % (self.proc.returncode, self.log_tail()))

    def stop(self, sig=signal.SIGINT, timeout=STOP_TIMEOUT):
        """Sends sig to kspan only; returns (exit code, seconds it took).
        Raises AssertionError unless it exits 0 within timeout (and then
        kills it)."""
        if self.proc.poll() is not None:
            self.returncode = self.proc.returncode
            self._close()
            raise AssertionError("kspan had already exited with %s; stderr:\n%s"
                                 % (self.proc.returncode, self.log_tail()))
        t0 = time.monotonic()
        os.kill(self.signal_pid, sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(self.proc)
            self._close()
            raise AssertionError("kspan did not exit within %.0f s of %s; stderr:\n%s"
                                 % (timeout, signal.Signals(sig).name, self.log_tail()))
        took = time.monotonic() - t0
        self.returncode = rc
        self._close()
        if rc != 0:
            raise AssertionError("kspan exited with %s after %s (want 0); stderr:\n%s"
                                 % (rc, signal.Signals(sig).name, self.log_tail()))
        return rc, took

    def _close(self):
        for f in (self._err, self._out):
            try:
                f.close()
            except OSError:
                pass


# --- servers --------------------------------------------------------------------

def netns_prefix(netns):
    """argv prefix that runs a command in network namespace netns (None: here).
    `ip netns exec` execs the command: its pid is the spawned process's."""
    return ["ip", "netns", "exec", netns] if netns else []


class ScriptServer:
    """A python server script from servers/ that prints `READY <port>`."""

    scheme = "http"  # for subclasses that start their own process

    def __init__(self, script, host="127.0.0.1", port=0, timeout=10.0, netns=None, args=(),
                 env=None, scheme="http"):
        """env: more environment variables; scheme: what url() names (https
        for a server given --cert/--key)."""
        self.host = host
        self.scheme = scheme
        e = dict(os.environ, **env) if env else None
        self.proc = spawn(netns_prefix(netns) + [PY, os.path.join(SERVERS, script), "--host", host,
                                                 "--port", str(port)] + list(args),
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=e)
        self.pid = self.proc.pid
        line = _readline_timeout(self.proc.stdout, timeout)
        if not line.startswith(b"READY "):
            _kill(self.proc)
            raise AssertionError("%s did not start (got %r)" % (script, line))
        self.port = int(line.split()[1])
        self.names = proc_names(self.pid)

    def url(self, path="/"):
        h = "[%s]" % self.host if ":" in self.host else self.host
        return "%s://%s:%d%s" % (self.scheme, h, self.port, path)

    def stop(self):
        _kill(self.proc)


def ip(*args):
    subprocess.run(["ip"] + list(args), check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)


class VethNamespaces:
    """Two network namespaces joined by a veth pair, for one test: ns[i] has
    address addr[i] on its end (and lo up). Processes the test starts after
    this are killed before the namespaces are deleted (its own REG scope)."""

    def __init__(self, test):
        tag = "%d%d" % (os.getpid() % 100000, random.randrange(100))
        self.ns = ["kspan-it-%s-a" % tag, "kspan-it-%s-b" % tag]
        net = "10.%d.%d" % (random.randrange(100, 250), random.randrange(1, 250))
        self.addr = ["%s.1" % net, "%s.2" % net]
        for ns in self.ns:
            ip("netns", "add", ns)
            test.addCleanup(ip, "netns", "del", ns)
            ip("-n", ns, "link", "set", "lo", "up")
        ip("-n", self.ns[0], "link", "add", "v%sa" % tag, "type", "veth", "peer", "name",
           "v%sb" % tag, "netns", self.ns[1])
        for i, ns in enumerate(self.ns):
            dev = "v%s%s" % (tag, "ab"[i])
            ip("-n", ns, "addr", "add", self.addr[i] + "/24", "dev", dev)
            ip("-n", ns, "link", "set", dev, "up")
        # Cleanups run in reverse order: this scope's processes go first.
        REG.push(test.id() + "/netns")
        test.addCleanup(REG.pop)


def _readline_timeout(stream, timeout):
    box = []
    t = threading.Thread(target=lambda: box.append(stream.readline()), daemon=True)
    t.start()
    t.join(timeout)
    return box[0] if box else b""


def http_server(host="127.0.0.1", delay_ms=0):
    """delay_ms: every GET answered that late (servers/http_server.py)."""
    return ScriptServer("http_server.py", host,
                        args=["--delay-ms", str(delay_ms)] if delay_ms else ())


def echo_server(host="127.0.0.1"):
    return ScriptServer("echo_server.py", host)


NGINX_CONF = """\
user root;
worker_processes {workers};
daemon off;
master_process on;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    default_type application/octet-stream;
    sendfile off;
    keepalive_requests 1000;
    client_body_temp_path {dir}/tmp_body;
    proxy_temp_path {dir}/tmp_proxy;
    fastcgi_temp_path {dir}/tmp_fastcgi;
    uwsgi_temp_path {dir}/tmp_uwsgi;
    scgi_temp_path {dir}/tmp_scgi;
    {http_extra}
    server {{
        listen {host}:{port}{listen_opts};
        {listen6}
        server_name localhost;
        {tls}
        root {dir}/html;
        location = /ok {{ default_type text/plain; return 200 "ok\\n"; }}
        location = /status/200 {{ default_type text/plain; return 200 "s200\\n"; }}
        location = /status/404 {{ return 404; }}
        location = /status/500 {{ return 500; }}
        location /static/ {{ }}
        location /sendfile/ {{ alias {dir}/html/static/; sendfile on; }}
        {extra}
    }}
}}
"""


class Nginx:
    """nginx with a generated config in a temp dir: one worker, daemon off,
    listening on 127.0.0.1:port and [::1]:port (when IPv6 loopback exists)."""

    BIG_SIZE = 1024 * 1024 + 12345

    def __init__(self, timeout=10.0, extra="", http_extra="", netns=None, host="127.0.0.1",
                 certs=None, http2=False, workers=1):
        """extra: more directives for the server block (locations);
        http_extra: for the http block (upstreams); netns: run in that
        network namespace (`ip netns exec`), listening on host only.
        certs: serve HTTPS with these (tls_certs.make_certs); http2: offer h2
        (ALPN over TLS); workers: worker processes (worker_pids)."""
        self.dir = tempdir("kspan-it-nginx-")
        os.chmod(self.dir, 0o755)
        os.makedirs(os.path.join(self.dir, "html", "static"))
        with open(os.path.join(self.dir, "html", "index.html"), "w") as f:
            f.write("<html>kspan</html>\n")
        with open(os.path.join(self.dir, "html", "static", "big.bin"), "wb") as f:
            f.write(os.urandom(self.BIG_SIZE))
        self.ipv6 = netns is None and ipv6_loopback_available()
        self.host = host
        self.scheme = "https" if certs else "http"
        prefix = ["ip", "netns", "exec", netns] if netns else []
        last = None
        for _ in range(5):  # the port may be taken between picking and binding
            self.port = free_port()
            if self.ipv6 and not _port_free6(self.port):
                continue
            opts = (" ssl" if certs else "") + (" http2" if http2 else "")
            tls = ("ssl_certificate %s; ssl_certificate_key %s;"
                   % (certs["server_cert"], certs["server_key"])) if certs else ""
            conf = NGINX_CONF.format(dir=self.dir, host=host, port=self.port, extra=extra,
                                     http_extra=http_extra, listen_opts=opts, tls=tls, workers=workers,
                                     listen6="listen [::1]:%d%s;" % (self.port, opts)
                                     if self.ipv6 else "")
            self.conf = os.path.join(self.dir, "nginx.conf")
            with open(self.conf, "w") as f:
                f.write(conf)
            self.err = open(os.path.join(self.dir, "stderr"), "wb")
            self.proc = spawn(prefix + ["nginx", "-p", self.dir, "-c", self.conf,
                               "-e", os.path.join(self.dir, "error.log")],
                              stdout=self.err, stderr=self.err)
            self.master_pid = self.proc.pid
            if netns and wait_until(lambda: subprocess.run(
                    prefix + ["curl", "-s", "-o", "/dev/null", "--max-time", "1",
                              self.url("/ok")]).returncode == 0, timeout):
                break
            if not netns and wait_port("127.0.0.1", self.port, timeout) and \
                    (not self.ipv6 or wait_port("::1", self.port, timeout)):
                break
            last = self._log()
            _kill(self.proc)
        else:
            raise AssertionError("nginx did not start: %s" % last)
        found = []

        def all_started():
            found[:] = proc_children(self.master_pid)
            return len(found) == workers
        wait_until(all_started, timeout)
        kids = found
        if len(kids) != workers:
            raise AssertionError("want %d nginx workers, found %r" % (workers, kids))
        self.worker_pid = kids[0]
        self.worker_pids = kids

    def _log(self):
        out = ""
        for name in ("stderr", "error.log"):
            try:
                with open(os.path.join(self.dir, name)) as f:
                    out += f.read()
            except OSError:
                pass
        return out

    def url(self, path="/", v6=False):
        if v6:
            return "%s://[::1]:%d%s" % (self.scheme, self.port, path)
        return "%s://%s:%d%s" % (self.scheme, self.host, self.port, path)

    def stop(self):
        _kill(self.proc)
        try:
            self.err.close()
        except OSError:
            pass


def _port_free6(port):
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", port))
        return True
    except OSError:
        return False


# --- clients --------------------------------------------------------------------

class CurlResult:
    def __init__(self, pid, rc, http_code, size_download, local_port, stderr, elapsed):
        self.pid, self.rc, self.http_code = pid, rc, http_code
        self.size_download, self.local_port = size_download, local_port
        self.stderr, self.elapsed = stderr, elapsed

    def __repr__(self):
        return ("<curl pid=%d rc=%s code=%s size=%s lport=%s err=%r>"
                % (self.pid, self.rc, self.http_code, self.size_download, self.local_port,
                   self.stderr[-200:]))


def curl(url, headers=(), extra=(), timeout=20.0, output="/dev/null", netns=None, cgroup=None,
         program="curl"):
    """Runs curl (its own process: its pid is the CLIENT span's process.pid).
    url may be a list: one curl fetches them in order (reusing the
    connection); .transfers has (http_code, size_download, local_port) for
    each, the first one is also in .http_code, .size_download, .local_port.
    cgroup: a cgroup directory curl starts in (a shell joins it, then execs
    curl). program: the curl binary to run."""
    urls = [url] if isinstance(url, str) else list(url)
    argv = ["sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', cgroup] if cgroup else []
    argv += ["ip", "netns", "exec", netns] if netns else []
    argv += [program, "-sS", "-g", "--max-time", str(int(timeout)),
            "-w", "%{http_code} %{size_download} %{local_port}\n"]
    for h in headers:
        argv += ["-H", h]
    argv += list(extra)
    for u in urls:
        argv += ["-o", output, u]
    t0 = time.monotonic()
    p = spawn(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = p.communicate(timeout=timeout + 5)
    except subprocess.TimeoutExpired:
        _kill(p)
        raise AssertionError("curl %s hung" % url)
    transfers = [tuple(int(x) for x in ln.split()) for ln in out.decode().splitlines()
                 if len(ln.split()) == 3]
    code, size, lport = transfers[0] if transfers else (0, 0, 0)
    res = CurlResult(p.pid, p.returncode, code, size, lport, err.decode("utf-8", "replace"),
                     time.monotonic() - t0)
    res.transfers = transfers
    return res


def client(cmd, *args, timeout=30.0):
    """Runs clients/client.py CMD ARGS; returns (pid, result dict)."""
    p = spawn([PY, os.path.join(CLIENTS, "client.py"), cmd] + [str(a) for a in args],
              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(p)
        raise AssertionError("client %s %s hung" % (cmd, args))
    try:
        res = json.loads(out.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise AssertionError("client %s %s failed rc=%s: %s" % (cmd, args, p.returncode,
                                                                err.decode("utf-8", "replace")))
    res["rc"] = p.returncode
    return p.pid, res


def clients_parallel(runs, timeout=60.0):
    """Starts every client.py run in `runs` (each a tuple: cmd, args...) at
    once, then waits for all; returns [(pid, result dict)] in order."""
    procs = [spawn([PY, os.path.join(CLIENTS, "client.py")] + [str(a) for a in run],
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE) for run in runs]
    deadline = time.monotonic() + timeout
    results = []
    for run, p in zip(runs, procs):
        try:
            out, err = p.communicate(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _kill(p)
            raise AssertionError("client %s hung" % (run,))
        try:
            res = json.loads(out.decode().strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise AssertionError("client %s failed rc=%s: %s"
                                 % (run, p.returncode, err.decode("utf-8", "replace")))
        res["rc"] = p.returncode
        results.append((p.pid, res))
    return results


# --- span selection ----------------------------------------------------------------

def is_server(port, pid=None):
    """SERVER spans of requests received on `port` (by process `pid`)."""
    return lambda s: (s.kind == SPAN_KIND_SERVER and s.attr("server.port") == port
                      and (pid is None or s.pid == pid))


def is_server_conn(port, peer_port):
    """SERVER spans of one connection: received on `port` from a client
    whose ephemeral port is `peer_port`."""
    return lambda s: (s.kind == SPAN_KIND_SERVER and s.attr("server.port") == port
                      and s.attr("network.peer.port") == peer_port)


def is_client(port, pid=None):
    """CLIENT spans of requests sent to `port` (by process `pid`)."""
    return lambda s: (s.kind == SPAN_KIND_CLIENT
                      and (s.attr("server.port") == port or s.attr("network.peer.port") == port)
                      and (pid is None or s.pid == pid))


def involves_port(port):
    """Any span of a connection with `port` at either end."""
    return lambda s: port in (s.attr("server.port"), s.attr("network.peer.port"),
                              s.attr("client.port"))


def of_pid(pid):
    return lambda s: s.pid == pid


def any_of(*preds):
    return lambda s: any(p(s) for p in preds)


def fmt_spans(spans, limit=30):
    if not spans:
        return "  (none)"
    lines = ["  %r" % s for s in spans[:limit]]
    if len(spans) > limit:
        lines.append("  ... %d more" % (len(spans) - limit))
    return "\n".join(lines)


# --- test case bases -----------------------------------------------------------------

_RECEIVER = None


def receiver():
    """The suite's one OTLP receiver (started on first use)."""
    global _RECEIVER
    if _RECEIVER is None:
        _RECEIVER = OtlpReceiver(PROTO_DIR)
    return _RECEIVER


def shutdown_suite():
    global _RECEIVER
    REG.cleanup_all()
    if _RECEIVER is not None:
        try:
            _RECEIVER.close()
        except Exception:  # noqa: BLE001
            pass
        _RECEIVER = None
    cleanup_generated()


class KspanCase(unittest.TestCase):
    """Base: a receiver, per-test process scope, span assertion helpers.
    Subclasses that start their own kspan set self.kspan."""

    kspan = None
    rx = None

    @classmethod
    def setUpClass(cls):
        REG.push(cls.__name__)
        try:
            cls.rx = receiver()
        except Exception:
            REG.pop()
            raise

    @classmethod
    def tearDownClass(cls):
        REG.pop()

    def setUp(self):
        REG.push(self.id())
        self.addCleanup(REG.pop)
        self.rx.clear()
        self.addCleanup(self.assert_no_receiver_errors)

    def diagnostics(self, already=""):
        out = []
        k = self.kspan
        if k is not None and LOG_MARK not in already:
            out.append("kspan %s (pid %d, %s)\n%s"
                       % (" ".join(k.argv), k.pid,
                          "running" if k.alive() else "exit %s" % k.proc.returncode,
                          k.log_tail()))
        if self.rx is not None and self.rx.errors:
            out.append("OTLP receiver errors: %r" % self.rx.errors[:10])
        return "\n".join(out)

    # --- helpers ---
    def start_kspan(self, **kw):
        endpoint = kw.pop("endpoint", self.rx.endpoint)
        k = Kspan(endpoint, **kw)
        self.kspan = k
        try:
            k.wait_ready()
        except BaseException:
            _kill(k.proc)
            k.returncode = k.proc.returncode
            k._close()
            raise
        self.addCleanup(self._stop_own_kspan, k)
        return k

    def _stop_own_kspan(self, k):
        """A kspan started by a test stops with it (SIGINT, exit 0 asserted),
        unless the test stopped it already."""
        if k.returncode is None:
            k.stop()

    def settle(self, match, count, timeout=SPAN_TIMEOUT, quiet=0.6):
        return self.rx.settle(match, count, timeout, quiet)

    def expect_spans(self, match, count, what, timeout=SPAN_TIMEOUT, context=()):
        """Waits for spans matching and asserts there are exactly `count`."""
        got = self.settle(match, count, timeout)
        if len(got) != count:
            extra = ""
            for pred_name, pred in context:
                extra += "\n%s:\n%s" % (pred_name, fmt_spans(self.rx.spans(pred)))
            self.fail("want exactly %d %s, got %d:\n%s%s"
                      % (count, what, len(got), fmt_spans(got), extra))
        return sorted(got, key=lambda s: s.start_ns)

    def assert_ids(self, s, root=True):
        self.assertRegex(s.trace_id, r"^[0-9a-f]{32}$", "trace_id of %r" % s)
        self.assertNotEqual(s.trace_id, "0" * 32, "all-zero trace_id: %r" % s)
        self.assertRegex(s.span_id, r"^[0-9a-f]{16}$", "span_id of %r" % s)
        self.assertNotEqual(s.span_id, "0" * 16, "all-zero span_id: %r" % s)
        if root:
            self.assertEqual(s.parent_span_id, "", "root span must have an empty parent_span_id: %r"
                             % s)

    def assert_joined(self, srv, cli):
        """srv is the SERVER end of cli's request, both seen on this node:
        kspan joins them (--propagation all: inserted traceparent and
        tuple), cli being the root."""
        self.assert_ids(cli, root=True)
        self.assert_ids(srv, root=False)
        self.assertEqual(srv.trace_id, cli.trace_id, "SERVER span not in its client's trace:\n"
                         " %r\n %r" % (srv, cli))
        self.assertEqual(srv.parent_span_id, cli.span_id, "SERVER span's parent is not its "
                         "CLIENT span:\n %r\n %r" % (srv, cli))

    def assert_attr(self, s, key, value):
        self.assertIn(key, s.attributes, "span has no attribute %s: %r" % (key, s))
        v = s.attributes[key]
        self.assertEqual(type(v), type(value), "attribute %s=%r has type %s, want %s (%r)"
                         % (key, v, type(v).__name__, type(value).__name__, value))
        self.assertEqual(v, value, "attribute %s of %r" % (key, s))

    def assert_no_receiver_errors(self):
        self.assertEqual(self.rx.errors, [], "the OTLP receiver rejected requests")


class SharedKspanCase(KspanCase):
    """One kspan (no filter) for the whole class; started before the class's
    servers. Each test checks kspan is still alive after it ran; the class
    teardown stops it with SIGINT and asserts exit 0 within 5 s."""

    kspan_args = {}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            cls.kspan = Kspan(cls.rx.endpoint, **cls.kspan_args)
            cls.kspan.wait_ready()
            cls.setUpServers()
        except Exception:
            REG.pop()
            raise

    @classmethod
    def setUpServers(cls):
        pass

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.kspan is not None:
                cls.kspan.stop()
        finally:
            super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.kspan.assert_alive()
        self.addCleanup(self.kspan.assert_alive)
