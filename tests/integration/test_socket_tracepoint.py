"""The socket tracepoint backend (bpf/attach/socket_tracepoint.bpf.h) on this
host's kernel: auto takes it when propagation has no headers, refuses it with
header insertion, follows connections from their state changes (start,
half close, close in softirq), and runs no program for syscalls that are not
socket sends and receives, which is what it is for. Whole suites of other
files run again on it at the end of this file: HTTP/1 (python, nginx),
HTTP/2, and TLS (OpenSSL, memory BIOs, Go), less what needs insertion."""

import os
import re
import subprocess

import harness
import test_go_tls
import test_http2
import test_nginx
import test_python_server
import test_tls
import test_two_agents
from checks import CommonChecks
from harness import client, is_client, is_server
from otlp_receiver import SPAN_KIND_CLIENT, SPAN_KIND_SERVER

SOCKET_TRACEPOINTS = {"extra_args": ["--backend", "socket-tracepoint", "--propagation", "tuple"],
                      "insert_despite_fionread": False}
BPF_STATS = "/proc/sys/kernel/bpf_stats_enabled"
READS = 100000


def backend_lines(k):
    return [ln for ln in k.log_text().splitlines() if ln.startswith("kspan: backend ")]


def program_runs(pid):
    """run_cnt summed over the BPF programs process pid holds (a bpf_link's
    fdinfo names a program but has no counters)."""
    total = 0
    for fd in os.listdir("/proc/%d/fdinfo" % pid):
        try:
            with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                text = f.read()
        except OSError:
            continue
        m = re.search(r"^run_cnt:\s+(\d+)$", text, re.M)
        if m:
            total += int(m.group(1))
    return total


class TestSocketTracepoint(CommonChecks, harness.KspanCase):

    def test_auto_without_insertion_picks_socket_tracepoints(self):
        k = self.start_kspan(insert_despite_fionread=False, extra_args=["--propagation", "tuple"])
        lines = backend_lines(k)
        self.assertEqual(len(lines), 1, "want one backend line, got:\n%s" % k.log_tail())
        self.assertRegex(lines[0], r"^kspan: backend socket-tracepoint "
                                   r"\(auto: fentry [^;]+; kprobe: [^;)]+\)$")
        # One of the two that run the data path (a read's, a write's).
        self.assert_verifier_margin(k, "kspan_socktp_sock_(send|recv)_length")
        srv = harness.http_server()
        self.addCleanup(srv.stop)
        self.curl_exchange(srv)

    def test_forced_with_header_insertion_exits_1_with_one_line(self):
        p = subprocess.run([harness.KSPAN_BIN, "--backend", "socket-tracepoint",
                            "--propagation", "headers", "--insert-despite-fionread",
                            "--exporter", "none"],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, timeout=60)
        warnings = [ln for ln in p.stderr.decode("utf-8", "replace").splitlines()
                    if "warning" in ln]
        self.assertEqual(p.returncode, 1)
        self.assertEqual(warnings, ["kspan: warning: backend socket-tracepoint cannot work here: "
                                    "socket-tracepoint: cannot insert headers"])

    def test_unanswered_request_ends_at_the_half_closed_connections_close(self):
        """A request to an echo server gets itself back, never a response.
        The client shuts its sending side (a half close, which ends nothing),
        the server closes on EOF, and the client's socket reaches CLOSE in
        softirq when the server's FIN arrives: each side's one span ends there,
        with no status (kspan keeps unanswered requests far longer otherwise)."""
        self.start_kspan(**SOCKET_TRACEPOINTS)
        echo = harness.echo_server()
        self.addCleanup(echo.stop)
        request = "GET /unanswered HTTP/1.1\r\nHost: x\r\n\r\n"
        pid, res = client("raw", "127.0.0.1", echo.port, "--data", request)
        self.assertEqual((res["sent"], res["received"], res["eof"]),
                         (len(request), len(request), True), res)
        srv = self.expect_spans(is_server(echo.port, echo.pid), 1, "SERVER span of the echo server")
        cli = self.expect_spans(is_client(echo.port, pid), 1, "CLIENT span of the raw client")
        for s, kind in ((srv[0], SPAN_KIND_SERVER), (cli[0], SPAN_KIND_CLIENT)):
            self.assertEqual(s.kind, kind, repr(s))
            self.assertEqual(s.name, "GET /unanswered", repr(s))
            self.assert_attr(s, "error.type", "connection_closed")
            self.assertIsNone(s.attr("http.response.status_code"), repr(s))

    def test_writes_through_another_agents_sk_msg_are_captured(self):
        """A client socket in another program's sockhash (here a first kspan
        that inserts traceparent) sends through tcp_bpf_sendmsg, which hands
        TCP the bytes in kernel pages: this backend takes them from the write
        syscall's registers instead, and every request keeps its CLIENT span
        (three agents at once lost ~70 of them in a fresh-clone run before).
        The SERVER span is not joined to it: the request carried the first
        agent's traceparent, which wins."""
        srv = harness.http_server()
        self.addCleanup(srv.stop)
        first = harness.Kspan(self.rx.endpoint, ports=[srv.port], exporter="none")
        self.addCleanup(lambda: first.returncode is None and first.stop())
        first.wait_ready()
        self.start_kspan(ports=[srv.port], **SOCKET_TRACEPOINTS)
        for _ in range(5):
            s, _ = self.curl_exchange(srv, joined=False)
            self.assertNotEqual(s.parent_span_id, "", "the inserted traceparent: %r" % s)
        first.stop()
        self.assertEqual(test_two_agents.counters(first)["traceparent_injected"], 5,
                         first.log_tail())

    def count_program_runs(self, backend):
        """BPF program runs, over every program kspan holds, while a process
        makes READS read() syscalls on a file."""
        k = self.start_kspan(extra_args=["--backend", backend, "--propagation", "tuple"],
                             insert_despite_fionread=False, exporter="none")
        before = program_runs(k.pid)
        p = subprocess.run([harness.PY, "-c", "import os\nfd = os.open('/dev/zero', os.O_RDONLY)\n"
                            "for _ in range(%d):\n    os.read(fd, 1)\n" % READS], timeout=120)
        self.assertEqual(p.returncode, 0)
        runs = program_runs(k.pid) - before
        k.stop()
        return runs

    def test_other_syscalls_run_no_program(self):
        """Attaching to sys_enter/sys_exit runs a program for every syscall of
        every process; the socket tracepoints only for socket sends, receives
        and state changes. Counted with kernel.bpf_stats_enabled, side by
        side: the syscall tracepoints must see the reads (two runs each), the
        socket tracepoints almost nothing (this machine's own socket traffic)."""
        with open(BPF_STATS) as f:
            old = f.read().strip()

        def restore():
            with open(BPF_STATS, "w") as f:
                f.write(old)
        with open(BPF_STATS, "w") as f:
            f.write("1")
        self.addCleanup(restore)
        syscall_runs = self.count_program_runs("tracepoint")
        socket_runs = self.count_program_runs("socket-tracepoint")
        self.assertGreaterEqual(syscall_runs, 2 * READS, "the syscall tracepoints' runs")
        self.assertLess(socket_runs, READS // 10, "the socket tracepoints ran for file reads "
                        "(%d runs; the syscall tracepoints %d)" % (socket_runs, syscall_runs))


# Whole suites again, on the socket tracepoints (without header insertion:
# their joins come from the connection's tuple).
class TestPythonServerOnSocketTracepoints(test_python_server.TestPythonServer):
    kspan_args = SOCKET_TRACEPOINTS


class TestNginxOnSocketTracepoints(test_nginx.TestNginx):
    kspan_args = SOCKET_TRACEPOINTS


class TestH2cOnSocketTracepoints(test_http2.TestH2c):
    kspan_args = SOCKET_TRACEPOINTS


class TestTlsOnSocketTracepoints(test_tls.TestTls):
    kspan_args = SOCKET_TRACEPOINTS
    test_no_insertion_into_tls = None  # the plaintext control needs insertion


class TestTlsMemoryBioOnSocketTracepoints(test_tls.TestTlsMemoryBio):
    kspan_args = SOCKET_TRACEPOINTS


class TestGoTlsOnSocketTracepoints(test_go_tls.TestGoTls):
    kspan_args = SOCKET_TRACEPOINTS


class TestGoTlsCountersOnSocketTracepoints(test_go_tls.TestGoTlsCounters):
    """Go's handshake probes see a connection before its first syscall's
    exit: the birth of the socket must not end what they made of it."""
    kspan_args = dict(SOCKET_TRACEPOINTS, **test_go_tls.TestGoTlsCounters.kspan_args)
