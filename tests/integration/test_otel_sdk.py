"""kspan and the real OpenTelemetry JS SDK (node, @opentelemetry/sdk-trace-node
and @opentelemetry/instrumentation-http, installed by `make integration-tests`
into build/otel-node) join each other's traces, in both directions:

- an SDK-instrumented client calling an unmodified server: kspan's SERVER
  span is in the SDK's trace, under the SDK's CLIENT span, and the request
  (which carries the SDK's traceparent) goes out unmodified;
- an unmodified client (curl) calling an SDK-instrumented server: the SDK's
  SERVER span is in curl's kspan trace, under kspan's CLIENT span, through
  the traceparent kspan inserted.
"""

import json
import os

import harness
from harness import curl, is_client, is_server

NODE_MODULES = os.environ.get("KSPAN_OTEL_NODE_MODULES",
                              os.path.join(harness.REPO, "build", "otel-node", "node_modules"))
SCRIPT = os.path.join(harness.HERE, "node", "otel_http.js")


def node(*args, **kw):
    env = dict(os.environ, KSPAN_OTEL_NODE_MODULES=NODE_MODULES)
    return harness.spawn(["node", SCRIPT] + list(args), env=env, **kw)


def counters(k):
    line = [ln for ln in k.log_text().splitlines() if "counters " in ln][-1]
    return {kv.split("=")[0]: int(kv.split("=")[1]) for kv in line.split()[2:] if "=" in kv}


class TestOtelSdk(harness.KspanCase):

    def setUp(self):
        super().setUp()
        if not os.path.isdir(os.path.join(NODE_MODULES, "@opentelemetry", "sdk-trace-node")):
            self.fail("the OpenTelemetry JS SDK is not installed in %s: run `make "
                      "integration-tests` (it installs the npm packages)" % NODE_MODULES)

    def test_sdk_client_to_unmodified_server(self):
        srv = harness.http_server()
        k = self.start_kspan(ports=[srv.port])
        p = node("client", srv.url("/ok"), stdout=harness.subprocess.PIPE,
                 stderr=harness.subprocess.PIPE)
        out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 0, err)
        sdk = json.loads(out.decode().strip().splitlines()[-1])
        self.assertEqual((sdk["status"], sdk["client_spans"]), (200, 1), sdk)
        s = self.expect_spans(is_server(srv.port, srv.pid), 1, "SERVER span")[0]
        self.assertEqual(s.trace_id, sdk["trace_id"], "SERVER span not in the SDK's trace: %r"
                         % s)
        self.assertEqual(s.parent_span_id, sdk["span_id"], "SERVER span's parent is not the "
                         "SDK's CLIENT span: %r" % s)
        c = self.expect_spans(is_client(srv.port, p.pid), 1, "kspan's CLIENT span of node")[0]
        self.assertEqual((c.trace_id, c.parent_span_id), (sdk["trace_id"], sdk["span_id"]),
                         "kspan's CLIENT span sits under the SDK's: %r" % c)
        k.stop()
        self.assertEqual(counters(k)["traceparent_injected"], 0,
                         "the SDK's request already had a traceparent")

    def test_unmodified_client_to_sdk_server(self):
        p = node("server", "127.0.0.1", stdout=harness.subprocess.PIPE,
                 stderr=harness.subprocess.DEVNULL)
        line = harness._readline_timeout(p.stdout, 30.0)
        self.assertTrue(line.startswith(b"READY "), line)
        port = int(line.split()[1])
        self.start_kspan(ports=[port])
        out = os.path.join(harness.tempdir(), "body")
        r = curl("http://127.0.0.1:%d/hello" % port, output=out)
        self.assertEqual((r.rc, r.http_code), (0, 200), r)
        with open(out) as f:
            sdk = json.load(f)
        c = self.expect_spans(is_client(port, r.pid), 1, "curl's CLIENT span")[0]
        self.assert_ids(c, root=True)
        self.assertEqual(sdk["traceparent"], "00-%s-%s-01" % (c.trace_id, c.span_id), sdk)
        self.assertEqual(sdk["trace_id"], c.trace_id, "the SDK's SERVER span joined curl's "
                         "trace: %r / %r" % (sdk, c))
        self.assertEqual(sdk["parent_span_id"], c.span_id, sdk)
        s = self.expect_spans(is_server(port, p.pid), 1, "kspan's SERVER span of node")[0]
        self.assertEqual((s.trace_id, s.parent_span_id), (c.trace_id, c.span_id), repr(s))
        self.assertNotEqual(s.span_id, sdk["span_id"], "kspan and the SDK each have their "
                            "own SERVER span")
