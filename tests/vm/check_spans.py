#!/usr/bin/python3
"""check_spans.py - the verdict of the VM test (run.sh) on the guests' consoles.

  check_spans.py --backends B1,B2,... --kernel SERIES=CONSOLE_LOG [--kernel ...]

One console log per guest kernel (SERIES: 6.1, 6.12). For each kernel, one
test:

  kernel   the guest printed one `VM-KERNEL <uname -r>` line, and that
           release is of the series (6.12.* for 6.12), so a guest that booted
           the wrong kernel cannot pass; and its kernel did not crash (no
           Oops, BUG or panic on the console);

and for each backend the guest ran (guest_init.sh prints kspan's stderr, stdout,
the headers vm_echo echoed, what `vm_client --single` and `vm_client
--fionread` printed and kspan's exit code between VM-BEGIN/VM-END/VM-EXIT
markers), eight tests, named vm.<series>/<backend>.<test>:

  startup  the one `kspan: backend ...` line names the backend (forced), or
           fentry for auto: this kernel allows everything;
  exit     kspan exited 0 and lost nothing (kernel counters at 0);
  spans    the console exporter printed exactly one SERVER span (busybox
           httpd) and one CLIENT span (busybox wget or vm_client) for each
           request: method and path in the name, status, ERROR marks, a
           positive duration, the client's span at least as long as the
           server's, and the traceparent vm_client sent joins both spans of
           its request into that trace;
  inject   header insertion works on this kernel: the request busybox wget
           sent to vm_echo reached it with one traceparent, whose
           trace is the one of that request's CLIENT and SERVER spans, the
           SERVER span is the CLIENT span's child, and kspan counted every
           insertion and no failure (the one-iovec requests below are
           counted by what vm_echo saw, and judged by iov1);
  iov1     a request written with ONE iovec, by writev and by sendmsg (an
           ITER_UBUF iterator since 6.4, like write()'s): vm_echo got one
           inserted traceparent, whose trace is the one of that request's
           CLIENT and SERVER spans, the SERVER span the CLIENT span's child;
  fionread vm_client read the whole answer of a request on a socket kspan
           holds in its sockhash (header insertion). The ioctl(FIONREAD) value
           it saw with the answer pending is REPORTED, not asserted: kernels
           with the sockhash FIONREAD regression (commit 929e30f93125;
           6.6.128+, 6.12.75+, 6.18.14+) report 0 there.
  insertion kspan's start-up checks of header insertion: the push self-check
           passed (one `traceparent insertion: sock_ops ...` line, none saying
           it is off), and its FIONREAD check agrees with what vm_client
           measured: the --insert-despite-fionread warning is printed exactly
           on the kernels where FIONREAD said 0.
  tls      the OpenSSL uprobes: vm_tls (libssl.a linked in, no libssl in the
           guest) made two HTTPS requests on one connection to its own
           server and both got 200; kspan said it probed OpenSSL in /vm_tls;
           for each request exactly one SERVER and one CLIENT span (GET,
           200, service vm_tls), the SERVER span the CLIENT span's child in
           one trace of its own (the join across TLS); /metrics (OpenMetrics)
           has for each request one server series with url_scheme="https"
           and count 1 whose exemplars are that request's trace, and one
           client series to port 8443 with url_scheme="https", count 2 and
           exemplars of those two traces (the console shows no attributes:
           the exemplars tie url.scheme to the spans); no TLS call lost or
           unbound.

A backend whose markers are missing (the guest hung, crashed or timed out)
fails all of them. Prints one line per test and, over every kernel,
`vm: N passed, M failed`.
"""

import argparse
import re
import sys

TRACEPARENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
# path -> (status, client process, server process)
REQUESTS = {
    "/index.html": (200, "busybox", "busybox"),
    "/missing.html": (404, "busybox", "busybox"),
    "/io-write.html": (200, "vm_client", "busybox"),
    "/io-writev.html": (200, "vm_client", "busybox"),
    "/io-sendto.html": (200, "vm_client", "busybox"),
    "/io-sendmsg.html": (200, "vm_client", "busybox"),
    "/echo": (200, "busybox", "vm_echo"),
    "/echo-writev1": (200, "vm_client", "vm_echo"),
    "/echo-sendmsg1": (200, "vm_client", "vm_echo"),
    "/fionread": (200, "vm_client", "vm_echo"),
}
# vm_client --single's requests (one iovec): judged by the iov1 test.
SINGLE_IOVEC = {"writev1": "/echo-writev1", "sendmsg1": "/echo-sendmsg1"}
# vm_tls's two requests on one connection (judged by the tls test).
TLS_PATHS = ("/tls-1", "/tls-2")
TLS_PORT = "8443"
TLS_COUNTERS_ZERO = ("tls_calls_lost", "tls_unbound", "tls_unprobed_conns")
# Every request above but the one that carries its own traceparent and the
# one-iovec ones.
WANT_INJECTED = len(REQUESTS) - 1 - len(SINGLE_IOVEC)
# The guest's `uname -r` for each kernel series.
KERNEL_RELEASE = {"6.1": r"6\.1\.0-\d+-cloud-amd64",
                  "6.12": r"6\.12\.\d+\+deb12(\.\d+)?-cloud-amd64"}
COUNTERS_THAT_MUST_BE_ZERO = ("kernel_ringbuf_drops", "kernel_capture_faults",
                              "kernel_inflight_full", "kernel_conn_table_full",
                              "http_parse_errors", "conn_event_gaps")

TRACE_RE = re.compile(r"^trace ([0-9a-f]{32})\s+\d+ spans?\s")
SPAN_RE = re.compile(r"^(\s+)(SERVER|CLIENT)\s+(\S+) (\S+)\s+(\S+)\s+(\d{3}|ERR)( ERROR)?\s+"
                     r"([0-9.]+) (ms|s)\s+\|")


def sections(lines):
    """{(backend, 'stderr'|'stdout'|...): [lines]}, {backend: exit code}"""
    out, exits, cur = {}, {}, None
    for ln in lines:
        ln = ln.rstrip("\r\n").replace("\r", "")
        m = re.match(r"^VM-BEGIN (\S+) (stderr|stdout|echo|single|fionread|tls|metrics)$", ln)
        if m:
            cur = (m.group(1), m.group(2))
            out[cur] = []
            continue
        if re.match(r"^VM-END \S+ (stderr|stdout|echo|single|fionread|tls|metrics)$", ln):
            cur = None
            continue
        m = re.match(r"^VM-EXIT (\S+) (\d+)$", ln)
        if m:
            exits[m.group(1)] = int(m.group(2))
            continue
        if cur:
            out[cur].append(ln)
    return out, exits


def parse_spans(stdout):
    spans, trace = [], None
    for ln in stdout:
        m = TRACE_RE.match(ln)
        if m:
            trace = m.group(1)
            continue
        m = SPAN_RE.match(ln)
        if m:
            dur = float(m.group(8)) * (1000.0 if m.group(9) == "s" else 1.0)
            # the console indents a child two columns deeper than its parent
            spans.append({"kind": m.group(2), "method": m.group(3), "path": m.group(4),
                          "service": m.group(5), "status": m.group(6),
                          "error": bool(m.group(7)), "ms": dur, "trace": trace,
                          "depth": len(m.group(1))})
    return spans


VERIFIER_LINE = re.compile(r"^kspan: verifier: \d+ programs; the largest, (\w+), took (\d+) of "
                           r"1000000 instructions \((\d+)%\)$")


def check_startup(backend, stderr):
    lines = [ln for ln in stderr if ln.startswith("kspan: backend ")]
    want = ("kspan: backend fentry (auto: fentry attached)" if backend == "auto"
            else "kspan: backend %s (forced by --backend)" % backend)
    if backend == "tracepoint":
        want += ": tp_btf sys_enter/sys_exit"
    if lines != [want]:
        return "want the one line %r, got %r" % (want, lines)
    verifier = [ln for ln in stderr if "verifier:" in ln]
    if len(verifier) != 1 or not VERIFIER_LINE.match(verifier[0]):
        # A warning instead: a program took 95% of the 1M or more.
        return "want one `kspan: verifier: ...` line below the warning mark, got %r" % verifier
    return None


def verifier_note(stderr):
    """The largest program and its instructions, for the startup verdict."""
    m = VERIFIER_LINE.match(next((ln for ln in stderr or [] if "verifier:" in ln), ""))
    return " (verifier: %s %s, %s%%)" % (m.group(1), m.group(2), m.group(3)) if m else ""


def exit_counters(stderr):
    """The `kspan: counters` line kspan prints at exit, as a dict, or None."""
    counters = [ln for ln in stderr if ln.startswith("kspan: counters ")]
    if len(counters) != 1:
        return None
    return dict(kv.split("=", 1) for kv in counters[0].split()[2:] if "=" in kv)


def check_exit(backend, stderr, code):
    if code != 0:
        return "kspan exited with %s" % code
    values = exit_counters(stderr)
    if values is None:
        return "want one `kspan: counters` line at exit"
    lost = ["%s=%s" % (k, values.get(k)) for k in COUNTERS_THAT_MUST_BE_ZERO
            if values.get(k) != "0"]
    return "counters not 0: %s" % " ".join(lost) if lost else None


def check_spans(backend, stdout):
    spans = [s for s in parse_spans(stdout) if s["path"] not in TLS_PATHS]
    problems = []
    want_total = 2 * len(REQUESTS)
    if len(spans) != want_total:
        problems.append("want %d spans, got %d" % (want_total, len(spans)))
    for path, (status, client, server) in REQUESTS.items():
        mine = [s for s in spans if s["path"] == path]
        srv = [s for s in mine if s["kind"] == "SERVER"]
        cli = [s for s in mine if s["kind"] == "CLIENT"]
        if len(srv) != 1 or len(cli) != 1:
            problems.append("%s: want 1 SERVER and 1 CLIENT span, got %d and %d"
                            % (path, len(srv), len(cli)))
            continue
        s, c = srv[0], cli[0]
        for span, service in ((s, server), (c, client)):
            if span["method"] != "GET" or span["service"] != service or span["ms"] <= 0:
                problems.append("%s: %s span %r" % (path, span["kind"], span))
        # busybox httpd answers on a dup() of the socket it read the request
        # from (fd 1 vs fd 0): every backend follows the socket, so the
        # response is in the SERVER span.
        if s["status"] != str(status) or s["error"] != (status >= 500):
            problems.append("%s: SERVER status %s%s, want %d"
                            % (path, s["status"], " ERROR" if s["error"] else "", status))
        if c["status"] != str(status) or c["error"] != (status >= 400):
            problems.append("%s: CLIENT status %s%s, want %d"
                            % (path, c["status"], " ERROR" if c["error"] else "", status))
        if c["ms"] < s["ms"]:
            problems.append("%s: CLIENT span (%.3f ms) shorter than its SERVER span (%.3f ms)"
                            % (path, c["ms"], s["ms"]))
        if path == "/io-sendmsg.html" and (s["trace"], c["trace"]) != (TRACEPARENT_TRACE,) * 2:
            problems.append("%s: traces %s/%s, want both in %s (traceparent)"
                            % (path, s["trace"], c["trace"], TRACEPARENT_TRACE))
    return "; ".join(problems) if problems else None


TRACEPARENT_RE = re.compile(r"^traceparent: 00-([0-9a-f]{32})-([0-9a-f]{16})-01$", re.I)


def inserted_problems(path, received, spans):
    """What is wrong with the traceparent kspan inserted into the request
    for `path`, `received` being the traceparent lines vm_echo got; [] if
    nothing."""
    m = TRACEPARENT_RE.match(received[0] if len(received) == 1 else "")
    if not m:
        return ["%s: want one inserted traceparent at the echo server, it got %r"
                % (path, received)]
    problems = []
    mine = [s for s in spans if s["path"] == path]
    cli = [s for s in mine if s["kind"] == "CLIENT"]
    srv = [s for s in mine if s["kind"] == "SERVER"]
    if len(cli) != 1 or len(srv) != 1:
        return ["%s: want 1 CLIENT and 1 SERVER span, got %r" % (path, mine)]
    if (cli[0]["trace"], srv[0]["trace"]) != (m.group(1).lower(),) * 2:
        problems.append("%s spans in traces %s/%s, the inserted traceparent in %s"
                        % (path, cli[0]["trace"], srv[0]["trace"], m.group(1)))
    if srv[0]["depth"] != cli[0]["depth"] + 2:
        problems.append("%s SERVER span is not the CLIENT span's child: %r" % (path, mine))
    return problems


def single_iovec_received(single):
    """{call: [traceparent lines vm_echo got]} from vm_client --single."""
    got = {}
    for ln in single:
        m = re.match(r"^vm_client: (\S+) (\S+)(.*)$", ln)
        if m and m.group(1) in SINGLE_IOVEC:
            got[m.group(1)] = re.findall(r"traceparent: \S+", m.group(3), re.I)
    return got


def check_inject(backend, stdout, echo, stderr, single):
    sent = [ln for ln in echo if ln.lower().startswith("traceparent:")]
    if len(sent) != 1 or not TRACEPARENT_RE.match(sent[0]):
        return "want one inserted traceparent at the echo server, it got %r" % echo
    problems = inserted_problems("/echo", sent, parse_spans(stdout))
    # the one-iovec requests: as many insertions as vm_echo saw (iov1 judges)
    single_seen = sum(1 for tp in single_iovec_received(single).values() if len(tp) == 1)
    values = exit_counters(stderr) or {}
    want = {"traceparent_injected": str(WANT_INJECTED + single_seen),
            "traceparent_inject_skipped": "0", "traceparent_inject_failed": "0"}
    got = {k: values.get(k) for k in want}
    if got != want:
        problems.append("counters %r, want %r" % (got, want))
    return "; ".join(problems) if problems else None


def check_iov1(backend, stdout, single):
    received = single_iovec_received(single)
    spans = parse_spans(stdout)
    problems = []
    for call, path in SINGLE_IOVEC.items():
        if call not in received:
            problems.append("%s: vm_client printed nothing (%r)" % (call, single))
            continue
        problems += ["%s: %s" % (call, p) for p in inserted_problems(path, received[call], spans)]
    return "; ".join(problems) if problems else None


def fionread_seen(fionread):
    """(poll, pending, read) from vm_client --fionread, or None."""
    for ln in fionread:
        m = re.match(r"^vm_client: fionread poll=(\S+) pending=(-?\d+) read=(\d+)$", ln)
        if m:
            return m.group(1), int(m.group(2)), int(m.group(3))
    return None


def check_fionread(backend, fionread):
    seen = fionread_seen(fionread)
    if seen is None:
        return "vm_client --fionread printed %r" % fionread
    poll, pending, got = seen
    if got == 0:
        return "the client read nothing of its answer (poll=%s pending=%d)" % (poll, pending)
    return None


INSERTION_ON = "kspan: traceparent insertion: sock_ops on cgroup"
INSERTION_OFF = "traceparent insertion is off"
FIONREAD_OPT_IN = "traceparent insertion is on although this kernel's sockhash breaks FIONREAD"


def check_insertion(backend, stderr, fionread):
    """Insertion's start-up checks: the push self-check passed (insertion is
    on, never switched off), and kspan's FIONREAD check agrees with what
    vm_client measured (the opt-in warning exactly where FIONREAD is 0)."""
    if sum(1 for ln in stderr if ln.startswith(INSERTION_ON)) != 1:
        return "want one %r line" % INSERTION_ON
    off = [ln for ln in stderr if INSERTION_OFF in ln]
    if off:
        return "insertion switched off: %r" % off[0]
    seen = fionread_seen(fionread)
    if seen is None:
        return "vm_client --fionread printed %r" % fionread
    _, pending, got = seen
    warned = sum(1 for ln in stderr if FIONREAD_OPT_IN in ln)
    want = 1 if pending == 0 and got > 0 else 0
    if warned != want:
        return "%d FIONREAD opt-in warning lines, want %d (FIONREAD %d with %d bytes pending)" % (
            warned, want, pending, got)
    return None


def fionread_note(fionread):
    seen = fionread_seen(fionread)
    if seen is None:
        return ""
    poll, pending, got = seen
    if pending == got:
        verdict = "as it should"
    elif pending == 0:
        verdict = "FIONREAD REGRESSION (commit 929e30f93125): 0 for a socket in the sockhash"
    else:
        verdict = "FIONREAD differs from what was read"
    return " (reported, not asserted: FIONREAD %d with %d bytes pending, poll %s: %s)" % (
        pending, got, poll, verdict)


METRIC_RE = re.compile(r'^(\w+)\{(.*?)\} (\S+)(?: # \{trace_id="([0-9a-f]{32})",span_id="[0-9a-f]{16}"\}.*)?$')
LABEL_RE = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def metric_series(metrics, family):
    """{labels without le, as a sorted tuple: {"count": N, "exemplars": {trace ids}}}
    for one histogram family of an OpenMetrics text."""
    series = {}
    for ln in metrics:
        m = METRIC_RE.match(ln)
        if not m or not m.group(1).startswith(family + "_"):
            continue
        labels = dict(LABEL_RE.findall(m.group(2)))
        labels.pop("le", None)
        one = series.setdefault(tuple(sorted(labels.items())), {"count": None, "exemplars": set()})
        if m.group(1) == family + "_count":
            one["count"] = int(float(m.group(3)))
        if m.group(4):
            one["exemplars"].add(m.group(4))
    return series


def check_tls(backend, stdout, stderr, tls, metrics):
    problems = []
    want_out = ["vm_tls: %s 200" % p for p in TLS_PATHS] + ["vm_tls: exit 0"]
    if tls != want_out:
        problems.append("vm_tls client printed %r, want %r" % (tls, want_out))
    if not any(ln.startswith("kspan: TLS: OpenSSL probed in /vm_tls ") for ln in stderr):
        problems.append("no `kspan: TLS: OpenSSL probed in /vm_tls` line")
    spans = parse_spans(stdout)
    traces = {}
    for path in TLS_PATHS:
        mine = [s for s in spans if s["path"] == path]
        srv = [s for s in mine if s["kind"] == "SERVER"]
        cli = [s for s in mine if s["kind"] == "CLIENT"]
        if len(srv) != 1 or len(cli) != 1:
            problems.append("%s: want 1 SERVER and 1 CLIENT span, got %r" % (path, mine))
            continue
        for span in mine:
            if (span["method"], span["service"], span["status"], span["error"]) != (
                    "GET", "vm_tls", "200", False) or span["ms"] <= 0:
                problems.append("%s: %s span %r" % (path, span["kind"], span))
        s, c = srv[0], cli[0]
        in_trace = [x for x in spans if x["trace"] == c["trace"]]
        if s["trace"] != c["trace"] or s["depth"] != c["depth"] + 2 or len(in_trace) != 2:
            problems.append("%s: SERVER span not the CLIENT span's child in a trace of their "
                            "own: %r" % (path, in_trace))
        traces[path] = c["trace"]
    if len(set(traces.values())) != len(traces):
        problems.append("the requests share a trace: %r" % traces)
    server = metric_series(metrics, "http_server_request_duration_seconds")
    client = metric_series(metrics, "http_client_request_duration_seconds")
    for path in TLS_PATHS:
        mine = [(dict(k), v) for k, v in server.items() if dict(k).get("http_route") == path]
        if len(mine) != 1:
            problems.append("%s: want one server duration series, got %r" % (path, mine))
            continue
        labels, v = mine[0]
        if (labels.get("url_scheme"), labels.get("job"), v["count"]) != ("https", "vm_tls", 1) or (
                path in traces and v["exemplars"] != {traces[path]}):
            problems.append("%s: server series %r %r, want url_scheme https, job vm_tls, count 1, "
                            "exemplar trace %s" % (path, labels, v, traces.get(path)))
    mine = [(dict(k), v) for k, v in client.items() if dict(k).get("server_port") == TLS_PORT]
    if len(mine) != 1:
        problems.append("want one client duration series to port %s, got %r" % (TLS_PORT, mine))
    else:
        labels, v = mine[0]
        if (labels.get("url_scheme"), v["count"]) != ("https", 2) or not v["exemplars"] or \
                not v["exemplars"] <= set(traces.values()):
            problems.append("client series %r %r, want url_scheme https, count 2, exemplars of "
                            "%r" % (labels, v, sorted(traces.values())))
    values = exit_counters(stderr) or {}
    lost = ["%s=%s" % (k, values.get(k)) for k in TLS_COUNTERS_ZERO if values.get(k) != "0"]
    if lost:
        problems.append("counters not 0: %s" % " ".join(lost))
    return "; ".join(problems) if problems else None


KERNEL_CRASH_RE = re.compile(r"\] (Oops: |BUG: |kernel BUG at |Kernel panic - |"
                             r"general protection fault)")


def release_of(lines):
    """The releases the guest's `VM-KERNEL <uname -r>` lines name (the
    console may put terminal escapes before the marker)."""
    return [m.group(1) for m in (re.search(r"VM-KERNEL (\S+)", ln) for ln in lines) if m]


def check_kernel(series, lines):
    releases = release_of(lines)
    if len(releases) != 1:
        return "want one VM-KERNEL line from the guest, got %r" % releases
    want = KERNEL_RELEASE.get(series)
    if want is None:
        return "unknown kernel series %s (want one of %s)" % (series, ", ".join(KERNEL_RELEASE))
    if not re.fullmatch(want, releases[0]):
        return "the guest runs %s, not a %s kernel" % (releases[0], series)
    crashes = [ln.strip() for ln in lines if KERNEL_CRASH_RE.search(ln)]
    if crashes:
        return "the guest kernel crashed: %s" % " | ".join(crashes[:3])
    return None


SOCKTP_REFUSAL = ("kspan: warning: backend socket-tracepoint cannot work here: "
                  "socket-tracepoint: no tcp_sendmsg_locked tracepoint")


def check_socket_tracepoint_refused(lines):
    """--backend socket-tracepoint on a kernel without the tcp_sendmsg_locked
    tracepoint (the loader reads the kernel's BTF): exit 1, one warning."""
    exits = [m.group(1) for m in (re.search(r"VM-SOCKTP-EXIT (\d+)", ln) for ln in lines) if m]
    warnings = [m.group(1).strip() for m in (re.search(r"VM-SOCKTP-WARNING (.*)", ln)
                                             for ln in lines) if m]
    if exits != ["1"] or warnings != [SOCKTP_REFUSAL]:
        return "want exit 1 and the one warning %r, got exits %r, warnings %r" % (
            SOCKTP_REFUSAL, exits, warnings)
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--backends", required=True)
    ap.add_argument("--kernel", action="append", required=True, metavar="SERIES=LOG",
                    help="a guest kernel series and its console log (repeatable)")
    a = ap.parse_args()
    passed = failed = 0

    def verdict(name, why, note=""):
        nonlocal passed, failed
        if why:
            failed += 1
            print("  FAIL  vm.%s: %s" % (name, why))
        else:
            passed += 1
            print("  ok    vm.%s%s" % (name, note))

    for spec in a.kernel:
        series, _, log = spec.partition("=")
        try:
            with open(log, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except OSError as e:
            lines = []
            print("  (%s: %s)" % (series, e))
        releases = release_of(lines)
        verdict("%s/kernel" % series, check_kernel(series, lines),
                " (%s)" % releases[0] if releases else "")
        verdict("%s/socket-tracepoint.refused" % series, check_socket_tracepoint_refused(lines))
        out, exits = sections(lines)
        for b in a.backends.split(","):
            failed_before = failed
            stderr, stdout = out.get((b, "stderr")), out.get((b, "stdout"))
            echo = out.get((b, "echo"), [])
            single, fion = out.get((b, "single"), []), out.get((b, "fionread"), [])
            tls, metrics = out.get((b, "tls"), []), out.get((b, "metrics"), [])
            for name, check in (
                    ("startup", lambda: check_startup(b, stderr)),
                    ("exit", lambda: check_exit(b, stderr, exits[b])),
                    ("spans", lambda: check_spans(b, stdout)),
                    ("inject", lambda: check_inject(b, stdout, echo, stderr, single)),
                    ("iov1", lambda: check_iov1(b, stdout, single)),
                    ("fionread", lambda: check_fionread(b, fion)),
                    ("insertion", lambda: check_insertion(b, stderr, fion)),
                    ("tls", lambda: check_tls(b, stdout, stderr, tls, metrics))):
                if stderr is None or stdout is None or b not in exits:
                    why = "no output from the guest for this backend (hung, crashed or timed out)"
                else:
                    why = check()
                note = (fionread_note(fion) if name == "fionread" else
                        verifier_note(stderr) if name == "startup" and not why else "")
                verdict("%s/%s.%s" % (series, b, name), why, note)
            if failed > failed_before and stderr is not None:
                print("\n".join("        " + ln for ln in
                                 stderr + (stdout or []) + single + fion + tls))
    print("vm: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
