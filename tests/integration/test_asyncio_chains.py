"""Connected traces through a python asyncio server (issue "Connected traces
through proxies and event-loop servers"): curl -> aiohttp server -> aiohttp
client -> python backend, 8 curl clients x 15 requests, each path unique.

kspan does not link an aiohttp server's SERVER span to the CLIENT spans its
handlers cause: no exact rule exists with libpython's probe-able functions
(README, Connected traces, "python asyncio"). What these tests hold is the
rest: no span is ever linked to another request's span, every hop that
kspan joins across processes is joined (curl -> aiohttp SERVER, aiohttp
CLIENT -> python SERVER), and an aiohttp CLIENT span is either the exact
child of its own request's SERVER span (in-process parenting, while the
loop's thread has not yet interleaved two requests) or a root of a trace of
its own. The share of complete four-span traces is printed; the number of
CLIENT spans left as roots is the unattributed count.

The backend (harness.http_server()) answers these paths 404; the aiohttp
server only needs the call to be made (its answer is 200 whenever the
backend answered)."""

import sys

import chains
import harness
from harness import SPAN_KIND_CLIENT, SPAN_KIND_SERVER


class PathLevel(chains.Level):
    """A level whose spans' url.path also ends with `suffix` (the two calls
    of one request that gathers them)."""

    def __init__(self, name, kind, pids, suffix):
        super().__init__(name, kind, pids)
        self.suffix = suffix

    def matches(self, s):
        return super().matches(s) and (s.attr("url.path") or "").endswith(self.suffix)


class TestAsyncioChains(harness.KspanCase):

    def start_services(self, extra_args=()):
        backend = harness.http_server()
        self.addCleanup(backend.stop)
        middle = harness.ScriptServer("aiohttp_chain_server.py",
                                      args=["--backend", backend.url("")])
        self.addCleanup(middle.stop)
        self.start_kspan(ports=[backend.port, middle.port], extra_args=list(extra_args))
        return backend, middle

    def check_tree(self, what, curl_pids, middle, backend, tokens, client_suffix=""):
        """The four-level report for one CLIENT call per token (the one whose
        path ends with client_suffix), with the assertions every tree here
        must meet; returns the report of the whole chain."""
        curl = chains.Level("curl CLIENT", SPAN_KIND_CLIENT, curl_pids)
        mid_server = chains.Level("aiohttp SERVER", SPAN_KIND_SERVER, middle.pid)
        mid_client = PathLevel("aiohttp CLIENT", SPAN_KIND_CLIENT, middle.pid, client_suffix)
        back = PathLevel("python SERVER", SPAN_KIND_SERVER, backend.pid, client_suffix)
        full = chains.wait_chains(self, [curl, mid_server, mid_client, back], tokens)
        chains.print_share(full, what)
        self.assertEqual(full.wrong, [], chains.describe(full))

        # The hops kspan joins across processes are all joined.
        spans = self.rx.spans()
        front = chains.chain_report(spans, [curl, mid_server], tokens)
        self.assertEqual(front.wrong, [], chains.describe(front))
        self.assertEqual(len(front.complete), len(tokens), chains.describe(front))
        # (Its first level's parent is checked below: a root, or the SERVER.)
        client_of = {chains.token_of(s): s for s in spans if mid_client.matches(s)}
        behind = chains.chain_report(spans, [mid_client, back], tokens,
                                     root_parent_of=lambda tok: client_of[tok].parent_span_id
                                     or None)
        self.assertEqual(behind.wrong, [], chains.describe(behind))
        self.assertEqual(len(behind.complete), len(tokens), chains.describe(behind))

        # In the process: the exact child of its request's SERVER span, or a
        # root (unattributed). Nothing else.
        server_of = {chains.token_of(s): s for s in spans if mid_server.matches(s)}
        roots = 0
        for s in spans:
            if not mid_client.matches(s):
                continue
            tok = chains.token_of(s)
            if tok not in tokens:
                continue
            if not s.parent_span_id:
                roots += 1
                continue
            parent = server_of.get(tok)
            self.assertTrue(parent is not None and s.parent_span_id == parent.span_id
                            and s.trace_id == parent.trace_id,
                            "aiohttp CLIENT %r is neither a root nor the child of its "
                            "request's SERVER span %r" % (s, parent))
        self.assertEqual(roots + len(full.complete), len(tokens), chains.describe(full))
        sys.stderr.write("    | %s: %d aiohttp CLIENT spans unattributed (roots)\n"
                                 % (what, roots))
        return full

    def one_call_each(self, what, extra_args=()):
        backend, middle = self.start_services(extra_args)
        pids = chains.send_parallel(lambda tok: middle.url("/one/" + tok))
        self.check_tree(what, set(pids.values()), middle, backend, sorted(pids))

    def test_one_backend_call_with_insertion(self):
        self.one_call_each("curl -> aiohttp -> python (insertion)")

    def test_one_backend_call_tuple_propagation(self):
        """The host's default (no insertion: the same-node join)."""
        self.one_call_each("curl -> aiohttp -> python (tuple)", ["--propagation", "tuple"])

    def test_gathered_backend_calls(self):
        """A handler that makes two backend calls at once (asyncio.gather):
        each call's tree, with the same guarantees."""
        backend, middle = self.start_services()
        pids = chains.send_parallel(lambda tok: middle.url("/gather/" + tok))
        tokens = sorted(pids)
        for suffix in ("/a", "/b"):
            self.check_tree("curl -> aiohttp -> python, gathered call %s" % suffix,
                            set(pids.values()), middle, backend, tokens, suffix)

