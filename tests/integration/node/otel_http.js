// An HTTP client or server instrumented with the real OpenTelemetry JS SDK
// (@opentelemetry/sdk-trace-node + @opentelemetry/instrumentation-http), for
// kspan's interoperability tests. The modules come from KSPAN_OTEL_NODE_MODULES
// (installed by `make integration-tests`, never committed).
//
//   node otel_http.js client URL
//       GETs URL; prints one JSON line {"status", "trace_id", "span_id"} with
//       the SDK's CLIENT span context.
//   node otel_http.js server HOST
//       listens on HOST, port 0; prints "READY <port>"; answers every request
//       with JSON {"trace_id", "span_id", "parent_span_id", "traceparent"}:
//       the SDK's SERVER span and the traceparent header that arrived.
'use strict';

const path = require('path');
const modules = process.env.KSPAN_OTEL_NODE_MODULES;
const need = (name) => require(path.join(modules, name));

const { NodeTracerProvider } = need('@opentelemetry/sdk-trace-node');
const { InMemorySpanExporter, SimpleSpanProcessor } = need('@opentelemetry/sdk-trace-base');
const { registerInstrumentations } = need('@opentelemetry/instrumentation');
const { HttpInstrumentation } = need('@opentelemetry/instrumentation-http');
const api = need('@opentelemetry/api');

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
provider.register(); // W3C trace context propagator, async-hooks context manager
registerInstrumentations({ instrumentations: [new HttpInstrumentation()] });

// Required after the instrumentation is registered, so that it is patched.
const http = require('http');

function client(url) {
  http.get(url, (res) => {
    res.resume();
    res.on('end', async () => {
      await provider.forceFlush();
      const spans = exporter.getFinishedSpans().filter((s) => s.kind === api.SpanKind.CLIENT);
      const ctx = spans.length === 1 ? spans[0].spanContext() : {};
      console.log(JSON.stringify({ status: res.statusCode, trace_id: ctx.traceId,
                                   span_id: ctx.spanId, client_spans: spans.length }));
      process.exit(0);
    });
  }).on('error', (e) => { console.error(e); process.exit(1); });
}

function server(host) {
  const srv = http.createServer((req, res) => {
    const span = api.trace.getActiveSpan();
    const ctx = span ? span.spanContext() : {};
    const body = JSON.stringify({
      trace_id: ctx.traceId, span_id: ctx.spanId,
      parent_span_id: span ? (span.parentSpanId || null) : null,
      traceparent: req.headers.traceparent || null,
    });
    res.writeHead(200, { 'Content-Type': 'application/json',
                         'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  });
  srv.listen(0, host, () => console.log('READY ' + srv.address().port));
}

if (process.argv[2] === 'client') client(process.argv[3]);
else server(process.argv[3] || '127.0.0.1');
