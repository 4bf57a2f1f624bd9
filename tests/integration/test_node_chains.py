"""Connected traces through a node HTTP server that calls a backend with
http.get (issue "Connected traces through proxies and event-loop servers"):
curl.CLIENT -> node.SERVER -> node.CLIENT -> python.SERVER, 8 parallel curl
clients x 15 requests, each with a path of its own.

node serves every connection on one thread: kspan links node's CLIENT
requests by the uprobes on node::LibuvStreamWrap::OnUvRead (no code injected
into node; bpf/propagation/node_parent.bpf.h). A backend request written in
the read callback of one request (the handler itself, or a microtask or tick
it queued) is its child; so is the first request on a backend connection
connect()ed in that callback. Every other node CLIENT request starts its own
trace and is counted (kspan_node_client_requests_unattributed_total): no
wrong link, ever."""

import os
import shutil
import subprocess

import chains
import harness
from harness import SPAN_KIND_CLIENT, SPAN_KIND_SERVER

NODE_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node",
                           "backend_caller.js")


class NodeServer(harness.ScriptServer):
    """backend_caller.js: a node http server calling backend_port."""

    def __init__(self, backend_port, style, timeout=20.0):
        self.host = "127.0.0.1"
        self.scheme = "http"
        self.proc = harness.spawn(["node", NODE_SCRIPT, str(backend_port), style],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.pid = self.proc.pid
        line = harness._readline_timeout(self.proc.stdout, timeout)
        if not line.startswith(b"READY "):
            harness._kill(self.proc)
            raise AssertionError("backend_caller.js did not start (got %r)" % line)
        self.port = int(line.split()[1])
        self.names = harness.proc_names(self.pid)


class TestNodeChains(harness.KspanCase):

    def run_chains(self, style, what, **kspan_args):
        backend = harness.http_server()
        k = self.start_kspan(**kspan_args)
        node = NodeServer(backend.port, style)
        # The probes attach when kspan sees node's exec (or at its start):
        # requests before that are not linked, nor counted.
        probed = "node: read callbacks probed in %s" % os.path.realpath(shutil.which("node"))
        self.assertTrue(harness.wait_until(lambda: probed in k.log_text(), 10), k.log_tail())
        pids = chains.send_parallel(lambda tok: node.url("/front/" + tok))
        levels = [chains.Level("curl CLIENT", SPAN_KIND_CLIENT, set(pids.values())),
                  chains.Level("node SERVER", SPAN_KIND_SERVER, node.pid),
                  chains.Level("node CLIENT", SPAN_KIND_CLIENT, node.pid),
                  chains.Level("python SERVER", SPAN_KIND_SERVER, backend.pid)]
        tokens = sorted(pids)
        rep = chains.wait_chains(self, levels, tokens)
        chains.print_share(rep, what)
        self.assertEqual(rep.wrong, [], chains.describe(rep))
        spans = self.rx.spans()
        by = [{chains.token_of(s): s for s in spans if lv.matches(s)} for lv in levels]
        unattributed = []
        for tok in tokens:
            if tok in rep.complete:
                continue
            # Not linked: node's CLIENT span begins a trace of its own, and
            # the rest of the chain is exact on both sides of the gap.
            curl, nsrv, ncli, back = (b.get(tok) for b in by)
            self.assertTrue(all((curl, nsrv, ncli, back)), "%s: %s" % (tok, chains.describe(rep)))
            why = "%s: %r" % (tok, [curl, nsrv, ncli, back])
            self.assertEqual(ncli.parent_span_id or None, None, why)
            self.assertNotEqual(ncli.trace_id, curl.trace_id, why)
            self.assertEqual((curl.parent_span_id or None, nsrv.parent_span_id, nsrv.trace_id),
                             (None, curl.span_id, curl.trace_id), why)
            self.assertEqual((back.parent_span_id, back.trace_id), (ncli.span_id, ncli.trace_id),
                             why)
            unattributed.append(tok)
        # Kernel counters reach /metrics at the agent's next stats tick.
        harness.wait_until(lambda: k.metrics()["kspan_node_client_requests_unattributed_total"]
                           == len(unattributed), 5)
        m = k.metrics()
        # The first requests of the node thread, before it serves a second
        # connection, are linked by thread_requests already.
        self.assertLessEqual(m["kspan_node_client_requests_linked_total"], len(rep.complete),
                             chains.describe(rep))
        self.assertEqual(m["kspan_node_client_requests_unattributed_total"], len(unattributed))
        return rep, unattributed

    def assert_linked_in_callback(self, style, what, whole_heads, **kspan_args):
        """The handler's requests all leave inside the read callback, or on a
        connection connect()ed there: each is linked when its SERVER
        request's head arrived in one read (whole_heads: always, without
        insertion). With insertion, kspan's sk_msg edit of curl's request
        can reach node as two segments, and node may read the request line
        alone: that request is not linked, and counted (run_chains checked
        the shape and the counter)."""
        rep, unattributed = self.run_chains(style, what, **kspan_args)
        self.assertEqual(len(rep.complete) + len(unattributed), chains.CLIENTS * chains.REQUESTS)
        if whole_heads:
            self.assertEqual(unattributed, [], chains.describe(rep))

    def test_callback_handler_insertion(self):
        self.assert_linked_in_callback("callback", "node (callback handler, insertion)", False)

    def test_async_handler_insertion(self):
        self.assert_linked_in_callback("async", "node (async handler, insertion)", False)

    def test_callback_handler_tuple(self):
        self.assert_linked_in_callback("callback", "node (callback handler, tuple)", True,
                                       extra_args=["--propagation", "tuple"],
                                       insert_despite_fionread=False)

    def test_set_immediate_is_unattributed_never_wrong(self):
        """The backend request leaves in a setImmediate callback, after the
        read callback returned (and so does its connect()): kspan cannot
        tell whose it is, so the read callbacks link none and every one is
        counted. (Complete chains, if any, are the node thread's first
        requests, linked by thread_requests before the thread served two
        connections at once: exact by that rule.)"""
        rep, unattributed = self.run_chains("immediate", "node (setImmediate)")
        self.assertEqual(self.kspan.metrics()["kspan_node_client_requests_linked_total"], 0)
        self.assertEqual(len(rep.complete) + len(unattributed), chains.CLIENTS * chains.REQUESTS)
