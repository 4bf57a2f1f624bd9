"""The connected-trace checker (chains.py) on the simplest tree: 8 curl
clients x 15 requests, each path unique, to one python server on this node.
Every SERVER span is joined to its own CLIENT span (inserted traceparent and
tuple join), none to another's: the baseline the proxy and event-loop tests
(issue "Connected traces through proxies") build their trees on."""

import chains
import harness
from harness import SPAN_KIND_CLIENT, SPAN_KIND_SERVER


class TestChainChecker(harness.KspanCase):

    def test_direct_requests_all_complete_none_wrong(self):
        srv = harness.http_server()
        self.start_kspan(ports=[srv.port])
        pids = chains.send_parallel(lambda tok: srv.url("/direct/" + tok))
        levels = [chains.Level("curl CLIENT", SPAN_KIND_CLIENT, set(pids.values())),
                  chains.Level("python SERVER", SPAN_KIND_SERVER, srv.pid)]
        rep = chains.wait_chains(self, levels, sorted(pids))
        chains.print_share(rep, "curl -> python")
        self.assertEqual(rep.wrong, [], chains.describe(rep))
        self.assertEqual(len(rep.complete), chains.CLIENTS * chains.REQUESTS, chains.describe(rep))

    def test_checker_sees_a_wrong_link(self):
        """A span whose parent is another token's span is reported wrong,
        and its chain is not complete (the checker itself can fail)."""
        class S:
            def __init__(self, tok, kind, pid, span, parent, trace="t"):
                self.kind, self.pid, self.span_id, self.parent_span_id = kind, pid, span, parent
                self.trace_id, self._path = trace, "/x/" + tok

            def attr(self, key):
                return self._path if key == "url.path" else None
        spans = [S("c0r0", SPAN_KIND_CLIENT, 1, "a", ""), S("c0r1", SPAN_KIND_CLIENT, 1, "b", "",
                                                             trace="u"),
                 S("c0r0", SPAN_KIND_SERVER, 2, "c", "b"), S("c0r1", SPAN_KIND_SERVER, 2, "d", "b",
                                                             trace="u")]
        levels = [chains.Level("CLIENT", SPAN_KIND_CLIENT, 1),
                  chains.Level("SERVER", SPAN_KIND_SERVER, 2)]
        rep = chains.chain_report(spans, levels, ["c0r0", "c0r1"])
        self.assertEqual(rep.complete, ["c0r1"])
        self.assertEqual(len(rep.wrong), 1)
        self.assertIn("c0r0", rep.incomplete)
