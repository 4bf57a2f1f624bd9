"""Connected traces through a middle process (a proxy, or a server that calls
a backend): the load every such test sends, and the tree it checks.

The load: CLIENTS curl processes at once, each sending REQUESTS requests on
one keep-alive connection, every request with a path of its own
(`<prefix>c<client>r<request>`), so that a span linked to another request's
span is visible. Each hop forwards or derives its request from that path, so
every span of one request carries the request's token (`c3r7`) in url.path.

The check: for each token, the spans of every hop (a level: a kind and a
process), and whether they form the exact chain level 0 <- level 1 <- ...
(each the parent of the next, one trace, level 0 a root or the child of the
traceparent the test sent). A wrong link is any span whose parent or trace
belongs to another token's spans: it must be zero, always. A complete chain
has every level found and linked; the share of complete chains is printed
per test, for the closing note.
"""

import re
import subprocess
import sys
import time

import harness

CLIENTS = 8
REQUESTS = 15
TOKEN = re.compile(r"c(\d+)r(\d+)")


def token_of(span):
    m = TOKEN.search(span.attr("url.path") or "")
    return m.group(0) if m else None


def send_parallel(url_of_token, clients=CLIENTS, requests=REQUESTS, headers_of=None,
                  timeout=120.0):
    """Starts `clients` curl processes at once, client i asking for
    url_of_token("c<i>r<j>") for j in 0..requests-1 on one connection (curl
    reuses it), with headers_of(token) (a list) when given. Returns
    {token: curl pid}; raises when a curl fails or hangs."""
    procs = []
    for i in range(clients):
        argv = ["curl", "-sS", "--fail", "--max-time", str(int(timeout))]
        for j in range(requests):
            tok = "c%dr%d" % (i, j)
            if j:
                argv += ["--next"]
            argv += ["-o", "/dev/null"]
            for h in (headers_of(tok) if headers_of else ()):
                argv += ["-H", h]
            argv += [url_of_token(tok)]
        procs.append((i, harness.spawn(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)))
    pids = {}
    deadline = time.monotonic() + timeout
    for i, p in procs:
        try:
            _, err = p.communicate(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            harness._kill(p)
            raise AssertionError("curl client %d hung" % i)
        if p.returncode != 0:
            raise AssertionError("curl client %d failed rc=%s: %s"
                                 % (i, p.returncode, err.decode("utf-8", "replace")[-500:]))
        for j in range(requests):
            pids["c%dr%d" % (i, j)] = p.pid
    return pids


class Level:
    """One hop's spans: kind (harness.SPAN_KIND_*) from process pid (or any
    of pids), with a token in url.path."""

    def __init__(self, name, kind, pids):
        self.name = name
        self.kind = kind
        self.pids = set(pids) if isinstance(pids, (list, tuple, set)) else {pids}

    def matches(self, s):
        return s.kind == self.kind and s.pid in self.pids and token_of(s) is not None


class ChainReport:
    def __init__(self, complete, wrong, incomplete, total):
        self.complete = complete      # tokens whose chain is exact
        self.wrong = wrong            # [(span, why)] linked to another token's spans
        self.incomplete = incomplete  # {token: why}
        self.total = total

    def line(self, what):
        return ("%s: %d of %d traces complete, %d wrong links"
                % (what, len(self.complete), self.total, len(self.wrong)))


def chain_report(spans, levels, tokens, root_parent_of=None):
    """How the spans of every token in `tokens` link along `levels` (level 0
    first). root_parent_of(token): the parent span id level 0 must have (the
    traceparent the test sent), or None for a root. Spans of other processes
    or without a token are ignored."""
    by_level = [dict() for _ in levels]
    owner = {}  # span id -> token, over every span of a level
    trace_owner = {}
    extra = {}
    for s in spans:
        for n, lv in enumerate(levels):
            if lv.matches(s):
                tok = token_of(s)
                if tok in by_level[n]:
                    extra.setdefault(tok, []).append(s)
                by_level[n][tok] = s
                owner[s.span_id] = tok
    for tok in tokens:
        s0 = by_level[0].get(tok)
        if s0 is not None:
            trace_owner.setdefault(s0.trace_id, set()).add(tok)
    wrong, incomplete, complete = [], {}, []
    for tok in tokens:
        chain = [by_level[n].get(tok) for n in range(len(levels))]
        for s in chain:
            if s is None:
                continue
            if s.parent_span_id in owner and owner[s.parent_span_id] != tok:
                wrong.append((s, "parent is a span of %s" % owner[s.parent_span_id]))
            elif trace_owner.get(s.trace_id, {tok}) - {tok}:
                wrong.append((s, "in the trace of %s" % sorted(trace_owner[s.trace_id] - {tok})))
        if tok in extra:
            incomplete[tok] = "more than one span at a level: %r" % extra[tok]
            continue
        missing = [levels[n].name for n, s in enumerate(chain) if s is None]
        if missing:
            incomplete[tok] = "no span for %s" % ", ".join(missing)
            continue
        want_root = root_parent_of(tok) if root_parent_of else None
        if (chain[0].parent_span_id or None) != want_root:
            incomplete[tok] = "%s has parent %r, not %r" % (levels[0].name,
                                                            chain[0].parent_span_id, want_root)
            continue
        broken = [levels[n + 1].name for n in range(len(chain) - 1)
                  if chain[n + 1].parent_span_id != chain[n].span_id
                  or chain[n + 1].trace_id != chain[0].trace_id]
        if broken:
            incomplete[tok] = "not the child of the hop before: %s" % ", ".join(broken)
            continue
        complete.append(tok)
    return ChainReport(complete, wrong, incomplete, len(tokens))


def wait_chains(case, levels, tokens, timeout=harness.SPAN_TIMEOUT, root_parent_of=None):
    """Waits until every level has a span for every token (or timeout), then
    returns the report over everything received (root_parent_of: as for
    chain_report)."""
    def all_there():
        spans = case.rx.spans()
        return all(sum(1 for s in spans if lv.matches(s) and token_of(s) in tokens) >= len(tokens)
                   for lv in levels)
    harness.wait_until(all_there, timeout)
    time.sleep(0.5)  # a late span linked wrongly must be seen too
    spans = case.rx.spans()
    return chain_report(spans, levels, tokens, root_parent_of)


def print_share(report, what):
    """The share of complete traces, printed whatever the verbosity: the
    closing note gives it per runtime."""
    sys.stderr.write("    | %s\n" % report.line(what))
    sys.stderr.flush()


def spans_per_level(spans, levels):
    """How many of spans each level holds: when a chain misses a span, was
    it lost (its level short), or made with another request's path (the
    level full anyway)?"""
    return [sum(1 for s in spans if lv.matches(s)) for lv in levels]


def describe(report, limit=10):
    out = []
    for s, why in report.wrong[:limit]:
        out.append("WRONG %s: %r" % (why, s))
    for tok, why in list(report.incomplete.items())[:limit]:
        out.append("incomplete %s: %s" % (tok, why))
    return "\n".join(out)
