// node_server.js - the node http server of bench_node.sh (issue 13, target 5):
// answers every request with "ok", and holds no OpenTelemetry code of its own.
//
//   node node_server.js            plain: what kspan traces from the kernel
//   node node_server.js --otel URL the OpenTelemetry JS SDK in-process, as an
//       application would set it up: @opentelemetry/sdk-trace-node with the
//       http instrumentation, the batch span processor (its defaults) and the
//       OTLP/HTTP protobuf exporter to URL (/v1/traces). The modules come from
//       KSPAN_OTEL_NODE_MODULES (`make bench-deps`: build/otel-node-bench).
//
// Listens on 127.0.0.1, port 0; prints "READY <port>".
'use strict';

const path = require('path');

if (process.argv[2] === '--otel') {
  const modules = process.env.KSPAN_OTEL_NODE_MODULES;
  const need = (name) => require(path.join(modules, name));
  const { NodeTracerProvider } = need('@opentelemetry/sdk-trace-node');
  const { BatchSpanProcessor } = need('@opentelemetry/sdk-trace-base');
  const { OTLPTraceExporter } = need('@opentelemetry/exporter-trace-otlp-proto');
  const { registerInstrumentations } = need('@opentelemetry/instrumentation');
  const { HttpInstrumentation } = need('@opentelemetry/instrumentation-http');

  const exporter = new OTLPTraceExporter({ url: process.argv[3] + '/v1/traces' });
  const provider = new NodeTracerProvider({
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  provider.register();
  registerInstrumentations({ instrumentations: [new HttpInstrumentation()] });
  process.on('SIGTERM', () => provider.shutdown().finally(() => process.exit(0)));
} else {
  process.on('SIGTERM', () => process.exit(0));
}

// Required after the instrumentation is registered, so that it is patched.
const http = require('http');

const server = http.createServer((req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': 2 });
  res.end('ok');
});
server.keepAliveTimeout = 75000;
server.listen(0, '127.0.0.1', () => console.log('READY ' + server.address().port));
